//! The network faults of a real run as the harness keeps them: which links are cut, held or
//! lossy, which nodes are down or paused and which routes are dropped; from that, what the
//! fault proxy blocks and which directed pairs a ship could use (the pairs each fault record
//! says it cut and healed, as in a simulation).

use std::collections::{BTreeMap, BTreeSet};

use crate::scenario::{FaultAction, HealTarget, Link, Scenario, TransportKind};

use super::proxy::{LinkState, Pair};

/// The network's fault state.
#[derive(Default)]
pub(crate) struct NetFaults {
    pub down: BTreeSet<String>,
    pub paused: BTreeSet<String>,
    /// Links cut both ways, as sorted pairs.
    partitioned: BTreeSet<Pair>,
    /// Directions cut one way.
    oneway: BTreeSet<Pair>,
    /// Links held, as sorted pairs.
    held: BTreeSet<Pair>,
    /// Loss per link, as sorted pairs.
    loss: BTreeMap<Pair, f64>,
    /// Routes dropped, `(from, to)`.
    pub dropped: BTreeSet<Pair>,
    /// `network.loss` (every link), until the settle phase sets it to 0.
    pub network_loss: f64,
}

fn pair(a: &str, b: &str) -> Pair {
    if a <= b { (a.to_owned(), b.to_owned()) } else { (b.to_owned(), a.to_owned()) }
}

fn link(l: &Link) -> Pair {
    pair(&l.a, &l.b)
}

impl NetFaults {
    /// A network fault's change to the state (node and route faults are the harness's).
    pub(crate) fn apply(&mut self, action: &FaultAction) {
        match action {
            FaultAction::Partition(groups) => {
                for (i, g) in groups.iter().enumerate() {
                    for h in &groups[i + 1..] {
                        for a in g {
                            for b in h {
                                self.partitioned.insert(pair(a, b));
                            }
                        }
                    }
                }
            }
            FaultAction::PartitionOneway { from, to } => {
                self.oneway.insert((from.clone(), to.clone()));
            }
            FaultAction::Heal(HealTarget::All) => {
                self.partitioned.clear();
                self.oneway.clear();
            }
            FaultAction::Heal(HealTarget::Nodes(nodes)) => {
                let touches = |p: &Pair| nodes.contains(&p.0) || nodes.contains(&p.1);
                self.partitioned.retain(|p| !touches(p));
                self.oneway.retain(|p| !touches(p));
            }
            FaultAction::Hold(l) => {
                self.held.insert(link(l));
            }
            FaultAction::Release(l) => {
                self.held.remove(&link(l));
            }
            FaultAction::Loss { link: l, rate } => {
                self.loss.insert(link(l), *rate);
            }
            _ => {}
        }
    }

    /// The settle phase's healing of the network: no partition, hold or loss left (latencies
    /// back to the scenario's are the proxy's, see `timeline::heal`).
    pub(crate) fn heal_network(&mut self) {
        self.partitioned.clear();
        self.oneway.clear();
        self.held.clear();
        self.loss.clear();
        self.network_loss = 0.0;
    }

    /// What the proxy must block and lose, written into its state (targets and latencies are
    /// kept).
    pub(crate) fn to_proxy(&self, state: &mut LinkState) {
        state.blocked.clear();
        for (a, b) in self.partitioned.iter().chain(&self.held) {
            state.blocked.insert((a.clone(), b.clone()));
            state.blocked.insert((b.clone(), a.clone()));
        }
        state.blocked.extend(self.oneway.iter().cloned());
        state.loss.clear();
        state.default_loss = self.network_loss;
        for ((a, b), rate) in &self.loss {
            state.loss.insert((a.clone(), b.clone()), *rate);
            state.loss.insert((b.clone(), a.clone()), *rate);
        }
    }

    /// Every directed pair a ship could use now (the simulator's `FaultState::usable`). In a
    /// NATS run every ship crosses the broker: a pair is usable while the broker is up and
    /// both nodes' links to it are.
    pub(crate) fn usable(&self, scenario: &Scenario, network_lossy: bool) -> BTreeSet<Pair> {
        let gone = |n: &String| self.down.contains(n) || self.paused.contains(n);
        let direct = |from: &String, to: &String| {
            let link = pair(from, to);
            !self.partitioned.contains(&link)
                && !self.oneway.contains(&(from.clone(), to.clone()))
                && !self.oneway.contains(&(to.clone(), from.clone()))
                && !self.held.contains(&link)
                && !network_lossy
                && !self.loss.get(&link).is_some_and(|r| *r > 0.0)
        };
        let broker =
            (scenario.transport.kind == Some(TransportKind::Nats)).then(|| TransportKind::BROKER.to_owned());
        let mut usable = BTreeSet::new();
        for from in &scenario.nodes {
            for to in &scenario.nodes {
                let path = match &broker {
                    Some(b) => !gone(b) && direct(from, b) && direct(to, b),
                    None => direct(from, to),
                };
                let ok = from != to
                    && !gone(from)
                    && !gone(to)
                    && path
                    && !self.dropped.contains(&(from.clone(), to.clone()));
                if ok {
                    usable.insert((from.clone(), to.clone()));
                }
            }
        }
        usable
    }
}
