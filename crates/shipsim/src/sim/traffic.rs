//! [`Traffic`]: what `effect` judges each fault by, taken in as the records are made (the
//! recorder feeds it every record it releases), so that judging needs no record kept: at each
//! `fault` record, the remote calls in flight and how many crossings each way came before it;
//! after it, each node's next `life` record and the first membership change.
//!
//! Memory: the calls in flight, plus per fault a few entries per pair of nodes.

use std::collections::BTreeMap;

use shipsim_trace::{ConnectState, FaultLinks, LifeState, Record, Text};

/// A directed pair of nodes: what goes from the first to the second.
pub(super) type Way = (Text, Text);

/// What the records said around one `fault` record.
pub(super) struct FaultSeen {
    /// The record, as released (with what it cut and healed).
    pub(super) record: Record,
    /// The ways of the remote calls in flight at it.
    pub(super) open: Vec<Way>,
    /// Crossings before it, per way.
    crossed: Crossings,
    /// Each node's first `life` record after it.
    pub(super) next_life: BTreeMap<Text, LifeState>,
    /// The members of the first `membership` record after it and before the next fault.
    pub(super) membership: Option<Vec<Text>>,
}

impl FaultSeen {
    /// What it cut and healed.
    pub(super) fn links(&self) -> &FaultLinks {
        match &self.record {
            Record::Fault { links, .. } => links,
            _ => unreachable!("only fault records are kept"),
        }
    }
}

/// Crossings per way: by the node they come from, then the node they go to (looked up
/// without building a key: one is counted per delivery).
type Crossings = BTreeMap<Text, BTreeMap<Text, usize>>;

/// The traffic the harness recorded, as the effects of faults are judged by it.
#[derive(Default)]
pub(super) struct Traffic {
    /// The initial members (the start record's, or its nodes).
    pub(super) members: Vec<Text>,
    /// Remote calls in flight, by (sender, batch).
    open: BTreeMap<(Text, u64), Way>,
    /// Calls whose number another call took before they ended: they never end.
    orphans: Vec<Way>,
    /// Something crossed from one node to another so far, per way: a remote ship begun, a
    /// connection attempt begun, a delivery.
    crossed: Crossings,
    /// Every `fault` record so far, in order.
    pub(super) faults: Vec<FaultSeen>,
}

impl Traffic {
    /// Takes in the next record.
    pub(super) fn feed(&mut self, record: &Record) {
        match record {
            Record::Start(start) => {
                let members = if start.members.is_empty() { &start.nodes } else { &start.members };
                self.members = members.iter().map(Text::from).collect();
            }
            Record::ShipBegin { node, batch, dst, local: false, .. } => {
                let way = (node.clone(), dst.clone());
                if let Some(earlier) = self.open.insert((node.clone(), *batch), way) {
                    self.orphans.push(earlier);
                }
                self.cross(node, dst);
            }
            Record::ShipEnd { node, batch, .. } => {
                self.open.remove(&(node.clone(), *batch));
            }
            Record::Life { node, state, .. } => {
                // A crashed sender's calls end with its life.
                if *state == LifeState::Down {
                    self.open.retain(|(from, _), _| from != node);
                }
                for fault in &mut self.faults {
                    fault.next_life.entry(node.clone()).or_insert(*state);
                }
            }
            Record::Connect { node, dst, state: ConnectState::Begin, .. } => {
                self.cross(node, dst);
            }
            Record::Deliver { node, source, .. } if node != source => {
                self.cross(source, node);
            }
            Record::Membership { members, .. } => {
                if let Some(fault) = self.faults.last_mut() {
                    fault.membership.get_or_insert_with(|| members.clone());
                }
            }
            Record::Fault { .. } => self.faults.push(FaultSeen {
                record: record.clone(),
                open: self.orphans.iter().chain(self.open.values()).cloned().collect(),
                crossed: self.crossed.clone(),
                next_life: BTreeMap::new(),
                membership: None,
            }),
            _ => {}
        }
    }

    /// Something crossed from `from` to `to`.
    fn cross(&mut self, from: &Text, to: &Text) {
        if let Some(n) = self.crossed.get_mut(from.as_str()).and_then(|tos| tos.get_mut(to.as_str())) {
            *n += 1;
            return;
        }
        *self.crossed.entry(from.clone()).or_default().entry(to.clone()).or_default() += 1;
    }

    /// Crossings after fault `k` and before fault `to` (the end of the run when `None`) that
    /// go one of `ways`.
    pub(super) fn crossed(&self, k: usize, to: Option<usize>, ways: impl Fn(&Text, &Text) -> bool) -> usize {
        let after = to.map_or(&self.crossed, |j| &self.faults[j].crossed);
        let before = &self.faults[k].crossed;
        let before = |a: &Text, b: &Text| before.get(a.as_str()).and_then(|tos| tos.get(b.as_str())).copied();
        let ways_after = after.iter().flat_map(|(a, tos)| tos.iter().map(move |(b, n)| (a, b, *n)));
        ways_after.filter(|(a, b, _)| ways(a, b)).map(|(a, b, n)| n - before(a, b).unwrap_or(0)).sum()
    }
}
