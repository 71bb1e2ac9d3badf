//! What each node of a run remembers across its crashes, as a real process keeps it in durable
//! storage: its workload position and its batch numbers, plus what the runner needs to know
//! whether the cluster has gone idle.

use std::collections::BTreeMap;
use std::sync::Arc;

use shipper::ShipperStats;

use crate::scenario::Workload;
use crate::transport::NetCounters;

/// Reads a live transport's counters.
pub(crate) type NetProbe = Box<dyn Fn() -> NetCounters + Send>;

/// What the recorder keeps of one node.
#[derive(Default)]
pub(crate) struct NodeBook {
    /// The current (or last) process life; 0 before the first start.
    pub life: u32,
    /// Whether the node's process is running.
    pub running: bool,
    /// The next workload event to route: survives crashes.
    pub next_seq: u64,
    /// The next batch number: unique per node across lives.
    pub next_batch: u64,
    /// Deliveries the node's sinks recorded in this life.
    pub sink: u64,
    /// `ship_batch` calls begun and not yet returned in this life.
    pub in_flight: u32,
    /// Route calls planned and not yet returned in this life (up to `workload.concurrency`):
    /// a call may be planned before its first `ship_batch` begins, and between two of its
    /// batches none is in flight.
    pub calls: u32,
    /// The router's counters of the current life, read when it ends.
    pub shipper: Option<Arc<ShipperStats>>,
    /// The transport's counters of the current life, read when it ends.
    pub net: Option<NetProbe>,
}

/// Every node's book.
#[derive(Default)]
pub(crate) struct Memory {
    nodes: BTreeMap<String, NodeBook>,
}

impl Memory {
    /// The book of `node`.
    pub(crate) fn node(&mut self, node: &str) -> &mut NodeBook {
        // Called several times per event: allocate the key only on first use.
        if !self.nodes.contains_key(node) {
            self.nodes.insert(node.to_owned(), NodeBook::default());
        }
        self.nodes.get_mut(node).expect("inserted above")
    }

    /// The book of `node`, if it has one.
    pub(crate) fn get(&self, node: &str) -> Option<&NodeBook> {
        self.nodes.get(node)
    }

    /// Whether every node runs, has routed its whole workload and has no route call and no
    /// ship call in flight: nothing is left to converge, and the settle phase may end.
    pub(crate) fn all_idle(&self, nodes: &[String], workload: &Workload) -> bool {
        nodes.iter().all(|node| {
            let target = workload.events_of(node);
            self.nodes
                .get(node)
                .is_some_and(|b| b.running && b.next_seq >= target && b.in_flight == 0 && b.calls == 0)
        })
    }
}
