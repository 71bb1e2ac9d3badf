//! Probe hits per node life: which life of which node each hit of a `shipper::probe!` happened
//! in, and when it first did, for the trace's `life-probes` records and the diagram.
//!
//! Every host runs on one thread, so a hit does not say whose code it was in. turmoil builds a
//! fresh tokio runtime for every life of a host, and each life registers its runtime as it
//! starts ([`life_started`]): the runtime a hit runs on names its life. Code the runner runs
//! outside any host on a node's behalf (an adoption coming due, `membership.rs`) says so with
//! [`as_node`]. Only lookups and `BTreeMap`s: the records come out in the same order every run.
//!
//! A runtime's id is tokio's under `--cfg tokio_unstable` (the workspace's `.cargo/config.toml`
//! sets it); a build without it attributes only the hits made on a node's behalf outside its
//! host, and the run's `probes` record still counts them all.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use shipsim_trace::{LifeProbes, Micros, Record, Text};

/// The identity of a tokio runtime, where this build can tell runtimes apart.
#[cfg(tokio_unstable)]
type RuntimeId = tokio::runtime::Id;
#[cfg(not(tokio_unstable))]
type RuntimeId = ();

/// The current runtime's identity (`None` outside a runtime).
#[cfg(tokio_unstable)]
fn runtime_id() -> Option<RuntimeId> {
    tokio::runtime::Handle::try_current().ok().map(|handle| handle.id())
}

/// `None`: this build cannot tell runtimes apart.
#[cfg(not(tokio_unstable))]
fn runtime_id() -> Option<RuntimeId> {
    None
}

/// A node life: the node's name and the life's number.
type Life = (String, u32);

/// What one run's hook keeps.
#[derive(Default)]
struct Lives {
    /// Each life's runtime, in start order.
    runtimes: Vec<(RuntimeId, Life)>,
    /// The node the runner is acting for outside any host, if any.
    outside: Option<String>,
    /// Each node's latest life.
    latest: BTreeMap<String, u32>,
    /// The simulated time of the current tick.
    now: Micros,
    /// Per life, per probe: hits and the first hit's time.
    hits: BTreeMap<Life, BTreeMap<&'static str, (u64, Micros)>>,
}

impl Lives {
    fn current(&self) -> Option<Life> {
        if let Some(node) = &self.outside {
            return Some((node.clone(), self.latest.get(node).copied().unwrap_or_default()));
        }
        let id = runtime_id()?;
        self.runtimes.iter().rev().find(|(runtime, _)| *runtime == id).map(|(_, life)| life.clone())
    }

    fn hit(&mut self, name: &'static str) {
        let Some(life) = self.current() else { return };
        let now = self.now;
        let entry = self.hits.entry(life).or_default().entry(name).or_insert((0, now));
        entry.0 += 1;
    }
}

thread_local! {
    /// The run attributing hits on this thread, if one is.
    static ACTIVE: RefCell<Option<Rc<RefCell<Lives>>>> = const { RefCell::new(None) };
}

fn with_active(f: impl FnOnce(&mut Lives)) {
    ACTIVE.with(|active| {
        if let Some(lives) = active.borrow().as_ref() {
            f(&mut lives.borrow_mut());
        }
    });
}

/// The hits of each life of one run.
pub(super) struct PerLife(BTreeMap<Life, BTreeMap<&'static str, (u64, Micros)>>);

/// Runs `f` (a whole simulation), attributing every probe hit meanwhile to its node life.
pub(super) fn observe<T>(f: impl FnOnce() -> T) -> (T, PerLife) {
    let lives = Rc::new(RefCell::new(Lives::default()));
    let outer = ACTIVE.with(|active| active.replace(Some(lives.clone())));
    let hook = lives.clone();
    let value = shipper::probes::observe(Box::new(move |name| hook.borrow_mut().hit(name)), f);
    ACTIVE.with(|active| active.replace(outer));
    let hits = std::mem::take(&mut lives.borrow_mut().hits);
    (value, PerLife(hits))
}

/// Life `life` of `node` starts on the current tokio runtime.
pub(super) fn life_started(node: &str, life: u32) {
    with_active(|lives| {
        if let Some(id) = runtime_id() {
            lives.runtimes.push((id, (node.to_owned(), life)));
        }
        lives.latest.insert(node.to_owned(), life);
    });
}

/// Runs `f` on `node`'s behalf from outside its host: its hits count in the node's latest life.
pub(super) fn as_node<T>(node: &str, f: impl FnOnce() -> T) -> T {
    with_active(|lives| lives.outside = Some(node.to_owned()));
    let value = f();
    with_active(|lives| lives.outside = None);
    value
}

/// The simulated time hits are stamped with from now on.
pub(super) fn set_now(now: Micros) {
    with_active(|lives| lives.now = now);
}

impl PerLife {
    /// One `life-probes` record per life that hit any probe, at `t`, in node and life order.
    pub(super) fn records(self, t: Micros) -> impl Iterator<Item = Record> {
        self.0.into_iter().map(move |((node, life), probes)| {
            let hits = probes.iter().map(|(name, (n, _))| (Text::from(*name), *n)).collect();
            let first_us = probes.iter().map(|(name, (_, first))| (Text::from(*name), *first)).collect();
            Record::LifeProbes(Box::new(LifeProbes {
                t,
                node: Text::from(node.as_str()),
                life,
                hits,
                first_us,
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use shipsim_trace::Record;

    /// The hits of each life add up to the run's, and a restarted node's second life has hits
    /// of its own (every-fault crashes and restarts n2 and n3; seed 3 reaches probes after).
    #[test]
    fn each_life_counts_its_own_hits_and_they_add_up_to_the_run() {
        let scenario =
            crate::parse(include_str!("../../../../scenarios/every-fault.yaml"), "every-fault.yaml").unwrap();
        let result = crate::sim::run(&scenario, 3).unwrap();
        let mut summed: BTreeMap<String, u64> = BTreeMap::new();
        let mut lives = Vec::new();
        for record in &result.records {
            if let Record::LifeProbes(life) = record {
                lives.push((life.node.to_string(), life.life));
                for (name, n) in &life.hits {
                    *summed.entry(name.to_string()).or_default() += n;
                    assert!(life.first_us[name] <= life.t, "{life:?}");
                }
            }
        }
        if !cfg!(tokio_unstable) {
            return;
        }
        assert_eq!(summed, result.probes);
        if shipper::probes::ENABLED {
            assert!(lives.contains(&("n2".into(), 2)) && lives.contains(&("n2".into(), 1)), "{lives:?}");
        } else {
            assert!(lives.is_empty());
        }
    }
}
