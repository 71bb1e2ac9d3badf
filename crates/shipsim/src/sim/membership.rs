//! The cluster's shard-map epochs, the nodes' routers, and the adoptions on their way.
//!
//! A `join` or `leave` fault is a change at the membership service: the runner announces the
//! new epoch (`Membership` record) and schedules each node's adoption at its own seeded
//! propagation delay (`membership.propagation`). Between simulation steps it installs the
//! maps that came due in the nodes' live routers (`Adopt` records). A node's map at epoch `e`
//! is built by the system under test's own [`ShardMap`] code, from the initial members and
//! the changes `1..=e` in turn, so the router computes placement and the checker's oracle
//! judges it. A router never goes back to an older map: of two changes that propagate out of
//! order, the older one is skipped, and no record is written for it.
//!
//! A process that starts (the first time or after a crash) reads the service afresh: it
//! begins with the latest epoch ([`Membership::attach`]), so adoptions still scheduled for
//! it are older and skipped.
//!
//! Shared by the runner and the hosts through `Arc<Mutex<_>>` (single-threaded, never
//! contended), ordered maps only, so nothing depends on hashing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use rand::Rng;
use shipper::{Router, ShardMap, ShardMapError};

use crate::scenario::{FaultAction, LatencyRange, Scenario};
use crate::seeds;
use crate::sim::recorder::SharedRecorder;
use shipsim_trace::MembershipChange;

/// The epochs announced so far and the routers they reach.
#[derive(Clone)]
pub(crate) struct MembershipService(Arc<Mutex<Table>>);

struct Table {
    seed: u64,
    shards: u32,
    propagation: LatencyRange,
    initial: Vec<String>,
    /// Change `e - 1` made epoch `e`.
    changes: Vec<FaultAction>,
    /// Each node's latest router (weak: a crash drops it with its process).
    live: BTreeMap<String, Weak<Router>>,
    /// `(due, node, epoch)`: `node` installs `epoch` once the clock reaches `due`.
    pending: BTreeSet<(Duration, String, u64)>,
}

impl std::fmt::Debug for MembershipService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let table = self.lock();
        f.debug_struct("MembershipService")
            .field("epoch", &table.changes.len())
            .field("pending", &table.pending)
            .finish_non_exhaustive()
    }
}

impl MembershipService {
    /// The membership of `scenario` at epoch 0, for the run seeded `seed`.
    pub(crate) fn new(scenario: &Scenario, seed: u64) -> MembershipService {
        MembershipService(Arc::new(Mutex::new(Table {
            seed,
            shards: scenario.shards,
            propagation: scenario.membership.propagation,
            initial: scenario.initial_members(),
            changes: Vec::new(),
            live: BTreeMap::new(),
            pending: BTreeSet::new(),
        })))
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // Every change is one push, insert or remove: poisoning cannot leave it torn.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The latest epoch announced.
    #[cfg(test)]
    pub(super) fn epoch(&self) -> u64 {
        self.lock().changes.len() as u64
    }

    /// The map of the latest epoch, as the service hands it to a starting process.
    pub(super) fn latest(&self) -> Result<ShardMap, ShardMapError> {
        let table = self.lock();
        table.map_at(table.changes.len())
    }

    /// `node`'s new life routes with `router`: later adoptions go to it.
    pub(super) fn attach(&self, node: &str, router: &Arc<Router>) {
        self.lock().live.insert(node.to_owned(), Arc::downgrade(router));
    }

    /// `node`'s process ended: nothing is installed until its next life attaches.
    pub(super) fn detach(&self, node: &str) {
        self.lock().live.remove(node);
    }

    /// A `join` or `leave` at `now`: announces the next epoch and schedules every node's
    /// adoption of it. Other actions are not membership changes and are ignored.
    pub(crate) fn change(
        &self,
        action: &FaultAction,
        now: Duration,
        nodes: &[String],
        recorder: &SharedRecorder,
    ) {
        let Some((kind, node)) = change_of(action) else { return };
        let mut table = self.lock();
        table.changes.push(action.clone());
        let epoch = table.changes.len() as u64;
        let members = table.members_at(table.changes.len());
        recorder.lock().membership(epoch, kind, node, &members);
        for target in nodes {
            let delay = table.delay(target, epoch);
            table.pending.insert((now + delay, target.clone(), epoch));
        }
    }

    /// Real mode: a node process learns a change the harness announced (and recorded). With
    /// `adopt_from`, `node`'s adoption is scheduled after its seeded propagation delay from
    /// then; without (a change made before the process started), the change only counts
    /// towards the latest map.
    pub(crate) fn learn(&self, action: &FaultAction, node: &str, adopt_from: Option<Duration>) {
        if change_of(action).is_none() {
            return;
        }
        let mut table = self.lock();
        table.changes.push(action.clone());
        let epoch = table.changes.len() as u64;
        if let Some(now) = adopt_from {
            let delay = table.delay(node, epoch);
            table.pending.insert((now + delay, node.to_owned(), epoch));
        }
    }

    /// Hands every adoption due by `now` to its router, in (due, node) order; the router
    /// installs it (at once, or after the accepts of shards it gives away end) and its
    /// install observer records the `Adopt`. An adoption for a node with no live process, or
    /// of an epoch not newer than its router's, is dropped.
    pub(crate) fn apply_due(&self, now: Duration) {
        loop {
            let mut table = self.lock();
            let Some(first) = table.pending.first().filter(|(due, _, _)| *due <= now).cloned() else {
                return;
            };
            table.pending.remove(&first);
            let (_, node, epoch) = first;
            let Some(router) = table.live.get(&node).and_then(Weak::upgrade) else { continue };
            let map = match table.map_at(epoch as usize) {
                Ok(map) => map,
                Err(err) => {
                    tracing::error!(node = %node, epoch, error = %err, "cannot build the shard map");
                    continue;
                }
            };
            drop(table);
            // The router's install observer records the `Adopt` (now, or once a staged map's
            // handover completes).
            let installed = super::life_probes::as_node(&node, || router.set_shard_map(map));
            tracing::debug!(node = %node, epoch, installed = installed.is_some(), "adoption due");
        }
    }

    /// Whether no adoption is still on its way.
    pub(super) fn settled(&self) -> bool {
        self.lock().pending.is_empty()
    }
}

/// The kind of membership change `action` is, and its node; `None` for other actions.
fn change_of(action: &FaultAction) -> Option<(MembershipChange, &String)> {
    match action {
        FaultAction::Join(node) => Some((MembershipChange::Join, node)),
        FaultAction::Leave(node) => Some((MembershipChange::Leave, node)),
        _ => None,
    }
}

impl Table {
    /// The map of `epoch`, through the shard map's own membership operations.
    fn map_at(&self, epoch: usize) -> Result<ShardMap, ShardMapError> {
        let mut map = ShardMap::with_nodes(self.shards, self.initial.iter().cloned())?;
        for change in &self.changes[..epoch.min(self.changes.len())] {
            match change {
                FaultAction::Join(node) => {
                    map.add_node(node.clone())?;
                }
                FaultAction::Leave(node) => {
                    map.remove_node(node)?;
                }
                _ => {}
            }
        }
        Ok(map)
    }

    /// The members of `epoch`, in name order.
    fn members_at(&self, epoch: usize) -> Vec<String> {
        let mut members = self.initial.clone();
        for change in &self.changes[..epoch.min(self.changes.len())] {
            match change {
                FaultAction::Join(node) => members.push(node.clone()),
                FaultAction::Leave(node) => members.retain(|m| m != node),
                _ => {}
            }
        }
        members.sort();
        members
    }

    /// `node`'s propagation delay for `epoch`: seeded, uniform in the range, whole microseconds.
    fn delay(&self, node: &str, epoch: u64) -> Duration {
        let LatencyRange { min, max } = self.propagation;
        if min >= max {
            return min;
        }
        let epoch = epoch.to_string();
        let mut rng = seeds::rng(self.seed, &[b"membership", node.as_bytes(), epoch.as_bytes()]);
        let micros = rng.random_range(min.as_micros() as u64..=max.as_micros() as u64);
        Duration::from_micros(micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipper::{EventShipper, InProcessShipperTransport, ShipperConfig};
    use shipsim_trace::Record;

    fn scenario(propagation: &str) -> Scenario {
        let text = format!(
            "name: m\nnodes: [n1, n2, n3, n4]\nmembers: [n1, n2, n3]\nmembership: {{propagation: {propagation}}}\n\
             faults:\n  - {{at: 1s, join: n4}}\n  - {{at: 1s, leave: n2}}\n"
        );
        crate::scenario::parse(&text, "m.yaml").unwrap()
    }

    /// A router for `node` whose installs are recorded, as `node.rs` sets it up.
    fn router(node: &str, map: ShardMap, recorder: &SharedRecorder) -> Arc<Router> {
        let transport = Arc::new(InProcessShipperTransport::new(1));
        let (recorder, name) = (recorder.clone(), node.to_owned());
        Arc::new(
            Router::new(
                Arc::new(EventShipper::new(ShipperConfig { local_node: node.into() }, transport)),
                map,
            )
            .with_install_observer(Box::new(move |epoch, moved| {
                recorder.lock().adopt(&name, epoch, moved.to_vec())
            })),
        )
    }

    #[test]
    fn changes_reach_each_router_after_its_delay_never_backwards() {
        let s = scenario("0ms..500ms");
        let membership = MembershipService::new(&s, 7);
        let recorder = SharedRecorder::default();
        let routers: Vec<Arc<Router>> = s
            .nodes
            .iter()
            .map(|n| {
                recorder.lock().life_up(n);
                let r = router(n, membership.latest().unwrap(), &recorder);
                membership.attach(n, &r);
                r
            })
            .collect();
        for fault in &s.faults {
            membership.change(&fault.action, fault.at, &s.nodes, &recorder);
        }
        assert_eq!(membership.epoch(), 2);
        assert!(!membership.settled());
        membership.apply_due(Duration::from_millis(1500));
        assert!(membership.settled(), "every delay is at most 500ms");
        let expected = ShardMap::from_members(16, ["n1", "n3", "n4"], 2).unwrap();
        for r in &routers {
            assert_eq!(r.shard_map(), expected);
        }
        let records = recorder.lock().take_records();
        let announced: Vec<u64> = records
            .iter()
            .filter_map(|r| if let Record::Membership { epoch, .. } = r { Some(*epoch) } else { None })
            .collect();
        assert_eq!(announced, [1, 2]);
        // Each node adopted epoch 2 last; an epoch 1 that came due after it was skipped.
        for node in &s.nodes {
            let adopted: Vec<u64> = records
                .iter()
                .filter_map(|r| match r {
                    Record::Adopt { node: n, epoch, .. } if &**n == node => Some(*epoch),
                    _ => None,
                })
                .collect();
            assert_eq!(adopted.last(), Some(&2), "{node}: {adopted:?}");
            assert!(adopted.windows(2).all(|w| w[0] < w[1]), "{node}: {adopted:?}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_delays_and_maps_follow_the_changes() {
        let s = scenario("10ms..900ms");
        let a = MembershipService::new(&s, 3);
        let b = MembershipService::new(&s, 3);
        let delays = |m: &MembershipService| -> Vec<Duration> {
            let t = m.lock();
            s.nodes.iter().map(|n| t.delay(n, 1)).collect()
        };
        assert_eq!(delays(&a), delays(&b));
        assert!(
            delays(&a).iter().all(|d| (Duration::from_millis(10)..=Duration::from_millis(900)).contains(d))
        );
        let recorder = SharedRecorder::default();
        a.change(&s.faults[0].action, Duration::ZERO, &s.nodes, &recorder);
        let latest = a.latest().unwrap();
        assert_eq!((latest.epoch(), latest.nodes().count()), (1, 4));
    }
}
