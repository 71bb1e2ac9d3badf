//! Applying a scenario's faults to the simulated network and hosts, and
//! undoing them all when the settle phase begins.
//!
//! The state kept here (which links are cut, held, lossy or slowed, which
//! nodes are down, which routes are dropped) is what the settle phase must
//! undo; turmoil does not report it. Routes live in the nodes' transports,
//! reached through [`Routes`].

use std::collections::BTreeSet;

use rand::Rng;
use rand::rngs::SmallRng;
use turmoil::Sim;

use crate::scenario::{FaultAction, HealTarget, LatencyRange, Link, Scenario};
use crate::sim::recorder::SharedRecorder;
use crate::sim::routes::Routes;

/// An unordered node pair, smaller name first.
type Pair = (String, String);

fn pair(a: &str, b: &str) -> Pair {
    if a <= b { (a.to_owned(), b.to_owned()) } else { (b.to_owned(), a.to_owned()) }
}

fn link_pair(link: &Link) -> Pair {
    pair(&link.a, &link.b)
}

/// What the faults applied so far have left broken.
#[derive(Debug, Default)]
pub(super) struct FaultState {
    partitioned: BTreeSet<Pair>,
    /// `(from, to)`: messages from `from` to `to` are dropped.
    oneway: BTreeSet<(String, String)>,
    held: BTreeSet<Pair>,
    lossy: BTreeSet<Pair>,
    slowed: BTreeSet<Pair>,
    down: BTreeSet<String>,
    routes: Routes,
    /// A reorder under way: the runner delivers its held messages one per
    /// step ([`deliver_next_held`]) and then releases the link ([`finish_reorder`]).
    reordering: Option<Reordering>,
}

/// The held messages of a link still to deliver in a seeded random order.
#[derive(Debug)]
struct Reordering {
    link: Link,
    wanted: (std::net::IpAddr, std::net::IpAddr),
    remaining: usize,
}

impl FaultState {
    /// The dropped routes, shared with the hosts (each attaches its transport to it).
    pub(super) fn routes(&self) -> &Routes {
        &self.routes
    }
}

/// A directed pair `(from, to)`: ships from `from` to `to`.
pub(super) type Route = (String, String);

/// A [`Route`] borrowing the scenario's node names: the usable pairs of a large cluster are
/// thousands, computed twice per fault, and only the few a fault changes become [`Route`]s. Its
/// order is a [`Route`]'s.
pub(super) type Pairing<'s> = (&'s str, &'s str);

/// `pairs` as owned [`Route`]s, in their order.
pub(super) fn owned<'a, 's: 'a>(pairs: impl IntoIterator<Item = &'a Pairing<'s>>) -> Vec<Route> {
    pairs.into_iter().map(|&(from, to)| (from.to_owned(), to.to_owned())).collect()
}

impl FaultState {
    /// Every directed pair of `scenario`'s nodes a ship could use right now:
    /// both ends up, no partition between them either way, no hold, no loss
    /// (the link's, or the network's while `network_lossy`), and the route
    /// not dropped. What the
    /// `recovery` rule needs to know about the faults (the trace records the
    /// pairs each fault cuts and heals).
    pub(super) fn usable<'s>(&self, scenario: &'s Scenario, network_lossy: bool) -> BTreeSet<Pairing<'s>> {
        if network_lossy {
            return BTreeSet::new();
        }
        // The nodes up, sorted: a node is its index here, and the pairs come out in the set's
        // order, so the set is built in one pass instead of by an insert per pair (a 64-node
        // cluster has 4,032 pairs, computed twice per fault).
        let mut up: Vec<&'s str> =
            scenario.nodes.iter().filter(|n| !self.down.contains(*n)).map(String::as_str).collect();
        up.sort_unstable();
        up.dedup();
        let blocked = self.blocked(&up);
        let n = up.len();
        let pairs = (0..n).flat_map(|i| (0..n).map(move |j| (i, j)));
        pairs.filter(|&(i, j)| i != j && !blocked[i * n + j]).map(|(i, j)| (up[i], up[j])).collect()
    }

    /// For the sorted names `up`, an `n × n` matrix (row `from`, column `to`) of the directed
    /// pairs a fault blocks: a partitioned, held or lossy link both ways (those sets keep the
    /// smaller name first: a pair written otherwise names no link), a one-way partition both
    /// ways, a dropped route its own way.
    fn blocked(&self, up: &[&str]) -> Vec<bool> {
        let n = up.len();
        let mut blocked = vec![false; n * n];
        let mut block = |from: &str, to: &str| {
            if let (Ok(i), Ok(j)) = (up.binary_search(&from), up.binary_search(&to)) {
                blocked[i * n + j] = true;
            }
        };
        for (a, b) in self.partitioned.iter().chain(&self.held).chain(&self.lossy) {
            if a <= b {
                block(a, b);
                block(b, a);
            }
        }
        for (from, to) in &self.oneway {
            block(from, to);
            block(to, from);
        }
        for (from, to) in &self.routes.dropped() {
            block(from, to);
        }
        blocked
    }
}

/// A skew sets the pace of the node's host clock (vendor/turmoil/PATCH.md, "Clock pace"): from
/// the next step on, its clock moves by each tick times `1 + ppm / 1,000,000`.
fn set_pace(sim: &mut Sim<'_>, node: &str, ppm: i64) {
    let num = u64::try_from(1_000_000 + ppm).expect("a skew is above -100% (skew.rs)");
    sim.set_clock_pace(node, num, 1_000_000);
}

/// Applies `action` now, without moving the clock: a `reorder` only plans
/// its deliveries, which the runner makes step by step
/// ([`deliver_next_held`], [`finish_reorder`]).
pub(super) fn apply(
    sim: &mut Sim<'_>,
    state: &mut FaultState,
    recorder: &SharedRecorder,
    action: &FaultAction,
) -> turmoil::Result {
    match action {
        FaultAction::Partition(_) => {
            for link in action.cut_links() {
                sim.partition(link.a.as_str(), link.b.as_str());
                state.partitioned.insert(link_pair(&link));
            }
        }
        FaultAction::PartitionOneway { from, to } => {
            sim.partition_oneway(from.as_str(), to.as_str());
            state.oneway.insert((from.clone(), to.clone()));
        }
        FaultAction::Heal(target) => heal(sim, state, target),
        FaultAction::Crash(node) => crash(sim, state, recorder, node),
        FaultAction::Restart(node) => {
            sim.bounce(node.as_str());
            state.down.remove(node);
        }
        FaultAction::Bounce(node) => {
            recorder.lock().life_down(node, true);
            sim.bounce(node.as_str());
            state.down.remove(node);
            state.routes.reset(node);
        }
        // Membership changes are the runner's (`membership.rs`): the network is untouched.
        // A pause is refused before a simulation starts (`runner::run_with`); a clock jump is
        // the node's host's (`node_clock.rs`): the network is untouched.
        FaultAction::Join(_)
        | FaultAction::Leave(_)
        | FaultAction::Pause { .. }
        | FaultAction::Clock { .. } => {}
        FaultAction::Skew { node, ppm } => set_pace(sim, node, *ppm),
        FaultAction::DropRoute { from, to } => state.routes.drop_route(from, to),
        FaultAction::RestoreRoute { from, to } => state.routes.restore_route(from, to),
        FaultAction::Hold(link) => {
            sim.hold(link.a.as_str(), link.b.as_str());
            state.held.insert(link_pair(link));
        }
        FaultAction::Release(link) => {
            sim.release(link.a.as_str(), link.b.as_str());
            state.held.remove(&link_pair(link));
        }
        FaultAction::Reorder(link) => {
            // Only the runner moves the clock: it delivers the held messages
            // one per step and then releases the link.
            let (a, b) = (sim.lookup(link.a.as_str()), sim.lookup(link.b.as_str()));
            let wanted = if a < b { (a, b) } else { (b, a) };
            let remaining = count_held(sim, wanted);
            state.reordering = Some(Reordering { link: link.clone(), wanted, remaining });
        }
        FaultAction::Latency { link, value } => {
            set_latency(sim, link, value);
            state.slowed.insert(link_pair(link));
        }
        FaultAction::Loss { link, rate } => {
            sim.set_link_fail_rate(link.a.as_str(), link.b.as_str(), *rate);
            if *rate > 0.0 {
                state.lossy.insert(link_pair(link));
            } else {
                state.lossy.remove(&link_pair(link));
            }
        }
    }
    Ok(())
}

fn crash(sim: &mut Sim<'_>, state: &mut FaultState, recorder: &SharedRecorder, node: &str) {
    recorder.lock().life_down(node, true);
    sim.crash(node);
    state.down.insert(node.to_owned());
    state.routes.reset(node);
}

fn set_latency(sim: &mut Sim<'_>, link: &Link, value: &LatencyRange) {
    // turmoil sets min and max together, then the max alone.
    sim.set_link_latency(link.a.as_str(), link.b.as_str(), value.min);
    sim.set_link_max_message_latency(link.a.as_str(), link.b.as_str(), value.max);
}

fn heal(sim: &mut Sim<'_>, state: &mut FaultState, target: &HealTarget) {
    let cut: Vec<Pair> = state.partitioned.iter().filter(|(a, b)| target.repairs(a, b)).cloned().collect();
    for (a, b) in cut {
        sim.repair(a.as_str(), b.as_str());
        state.partitioned.remove(&(a, b));
    }
    let oneway: Vec<(String, String)> =
        state.oneway.iter().filter(|(from, to)| target.repairs(from, to)).cloned().collect();
    for (from, to) in oneway {
        sim.repair_oneway(from.as_str(), to.as_str());
        state.oneway.remove(&(from, to));
    }
}

/// A reorder's next held message, picked at random (seeded) among those
/// still held, is delivered at the coming step; `false` when no reorder is
/// under way or every held message went. On a held link every message still
/// on the link is held (turmoil does not expose the status): delivered ones
/// leave it at the next step. TCP re-sequences the segments of one
/// connection, so what changes is the order between connections (the pool)
/// and between directions.
pub(super) fn deliver_next_held(sim: &mut Sim<'_>, state: &mut FaultState, rng: &mut SmallRng) -> bool {
    let Some(reordering) = state.reordering.as_mut().filter(|r| r.remaining > 0) else {
        return false;
    };
    let pick = rng.random_range(0..reordering.remaining);
    let wanted = reordering.wanted;
    sim.links(|links| {
        for link in links.filter(|l| l.pair() == wanted) {
            if let Some(message) = link.into_iter().nth(pick) {
                message.deliver();
            }
        }
    });
    reordering.remaining -= 1;
    true
}

/// Ends a reorder whose held messages all went: the link is released.
pub(super) fn finish_reorder(sim: &mut Sim<'_>, state: &mut FaultState) {
    if let Some(reordering) = state.reordering.take() {
        sim.release(reordering.link.a.as_str(), reordering.link.b.as_str());
        state.held.remove(&link_pair(&reordering.link));
    }
}

fn count_held(sim: &Sim<'_>, wanted: (std::net::IpAddr, std::net::IpAddr)) -> usize {
    let mut count = 0;
    sim.links(|links| {
        for link in links.filter(|l| l.pair() == wanted) {
            count += link.count();
        }
    });
    count
}

/// What the settle phase had to undo besides links.
#[derive(Debug, Default)]
pub(super) struct Healed {
    /// Nodes restarted.
    pub restarted: Vec<String>,
    /// Routes restored, `(from, to)`.
    pub routes: Vec<(String, String)>,
}

/// Undo every fault: the settle phase's starting point.
pub(super) fn heal_everything(sim: &mut Sim<'_>, state: &mut FaultState, scenario: &Scenario) -> Healed {
    heal(sim, state, &HealTarget::All);
    let routes = state.routes.restore_all();
    for (a, b) in std::mem::take(&mut state.held) {
        sim.release(a.as_str(), b.as_str());
    }
    for (a, b) in std::mem::take(&mut state.lossy) {
        sim.set_link_fail_rate(a.as_str(), b.as_str(), 0.0);
    }
    for (a, b) in std::mem::take(&mut state.slowed) {
        set_latency(sim, &Link { a, b }, &scenario.network.latency);
    }
    sim.set_fail_rate(0.0);
    let restarted: Vec<String> = std::mem::take(&mut state.down).into_iter().collect();
    for node in &restarted {
        sim.bounce(node.as_str());
    }
    Healed { restarted, routes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The definition `usable` computes, pair by pair.
    fn reference<'s>(state: &FaultState, scenario: &'s Scenario) -> BTreeSet<Pairing<'s>> {
        let dropped = state.routes.dropped();
        let mut usable = BTreeSet::new();
        for from in scenario.nodes.iter().filter(|n| !state.down.contains(*n)) {
            for to in scenario.nodes.iter().filter(|n| !state.down.contains(*n)) {
                let link = if from <= to { (from.clone(), to.clone()) } else { (to.clone(), from.clone()) };
                let directed = (from.clone(), to.clone());
                let ok = from != to
                    && !state.partitioned.contains(&link)
                    && !state.oneway.contains(&directed)
                    && !state.oneway.contains(&(to.clone(), from.clone()))
                    && !state.held.contains(&link)
                    && !state.lossy.contains(&link)
                    && !dropped.contains(&directed);
                if ok {
                    usable.insert((from.as_str(), to.as_str()));
                }
            }
        }
        usable
    }

    /// Random fault states on 12 nodes (names deliberately not in sorted order): the usable
    /// pairs are exactly the reference's; a dropped route blocks its own direction only.
    #[test]
    fn usable_pairs_match_the_definition() {
        let nodes: Vec<String> = (0..12).map(|i| format!("n{}", (i * 7) % 12)).collect();
        let text =
            format!("name: usable\nnodes: [{}]\nduration: 1s\nworkload: {{events: 1}}\n", nodes.join(", "));
        let scenario = crate::scenario::parse(&text, "usable.yaml").unwrap();
        let mut rng = SmallRng::seed_from_u64(7);
        let any = |rng: &mut SmallRng| nodes[rng.random_range(0..nodes.len())].clone();
        for round in 0..200 {
            let mut state = FaultState::default();
            for _ in 0..rng.random_range(0..6) {
                let (a, b) = (any(&mut rng), any(&mut rng));
                match rng.random_range(0..6) {
                    0 => state.partitioned.insert(pair(&a, &b)),
                    1 => state.oneway.insert((a, b)),
                    2 => state.held.insert(pair(&a, &b)),
                    3 => state.lossy.insert(pair(&a, &b)),
                    4 => state.down.insert(a),
                    _ => {
                        state.routes.drop_route(&a, &b);
                        true
                    }
                };
            }
            assert_eq!(state.usable(&scenario, false), reference(&state, &scenario), "round {round}");
            assert!(state.usable(&scenario, true).is_empty());
        }
        let state = FaultState::default();
        state.routes.drop_route("n1", "n2");
        assert!(!state.usable(&scenario, false).contains(&("n1", "n2")));
        assert!(state.usable(&scenario, false).contains(&("n2", "n1")));
    }

    /// How long n1's first call held up on a held link waited before it gave up, in
    /// microseconds of the trace's time, with n1's clock
    /// skewed by `skew` from the start (3 s deadline, 1 s ack timeout, held from 50 ms to 9 s).
    fn first_give_up(skew: &str) -> u64 {
        let text = format!(
            "name: skew\nnodes: [n1, n2]\nduration: 30s\nnetwork: {{latency: 1ms}}\n\
             transport: {{deadline: 3s, ack_timeout: 1s}}\n\
             workload: {{events: 40, rate: 100/s, senders: [n1]}}\nshards: 1\nmembers: [n2]\n\
             faults:\n- {{at: 0s, clock: {{node: n1, skew: {skew}}}}}\n- {{at: 50ms, hold: [n1, n2]}}\n\
             - {{at: 9s, release: [n1, n2]}}\n"
        );
        let scenario = crate::scenario::parse(&text, "skew.yaml").unwrap();
        let result = crate::sim::run(&scenario, 1).unwrap();
        use shipsim_trace::{Outcome, Record};
        let failed = result.records.iter().find_map(|r| match r {
            Record::ShipEnd { t, node, outcome, batch, .. } if node == "n1" && *outcome != Outcome::Ok => {
                Some((*t, *batch))
            }
            _ => None,
        });
        let (end, batch) = failed.expect("a held call gave up");
        let begun = result.records.iter().find_map(|r| match r {
            Record::ShipBegin { t, node, batch: b, .. } if node == "n1" && *b == batch => Some(*t),
            _ => None,
        });
        end - begun.expect("the call began")
    }

    /// A skew paces the node's timers: a held call gives up at its 3 s deadline divided by the
    /// pace, in the trace's time (to the tick of rounding).
    #[test]
    fn a_skewed_clock_gives_up_held_calls_sooner_or_later_by_its_pace() {
        let (even, fast, slow) = (first_give_up("0%"), first_give_up("+100%"), first_give_up("-50%"));
        let near = |got: u64, want: u64| got.abs_diff(want) <= 2_000;
        assert!(near(even, 3_000_000), "even {even}");
        assert!(near(fast, 1_500_000), "fast {fast}");
        assert!(near(slow, 6_000_000), "slow {slow}");
    }
}
