//! One pass over a trace that every checker shares: batches, the events they
//! shipped, deliveries attributed to the shipment they deliver, acks, lives
//! and phases, plus the ways the trace itself is malformed.
//!
//! Cost: O(R + E) for R records and E shipped events (lookups by id and by
//! (node, batch) in [`DenseMap`]s; a delivery walks the shipments of its id,
//! which is one unless a restarted sender shipped the same event again).
//! Memory: about 60 bytes per event shipped and delivered once (25 per
//! shipment, 32 per delivery), plus about 95 per batch; the records' text is
//! borrowed, never copied.
//!
//! Maps here are for lookup only: nothing iterates them, so no output order
//! depends on them.

use std::collections::BTreeMap;

use shipsim_trace::{
    EventId, EventRef, LifeState, Micros, Outcome, PayloadDigest, Phase, Record, ShippedRecord, Start,
};

use shipsim_trace::{Invariant, TraceRule, fmt_t};

pub(crate) use crate::dense::NONE;
use crate::dense::{DenseMap, FastMap};
use crate::findings::Findings;

/// "Never" in the record-position arrays.
pub(crate) const NEVER: usize = usize::MAX;

/// How a `ship_batch` call ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct End {
    /// Position of the `ShipEnd` record.
    pub pos: usize,
    /// Its time.
    pub t: Micros,
    /// The `shipped` it reported.
    pub shipped: u32,
    /// Its outcome.
    pub outcome: Outcome,
}

/// One `ship_batch` call (a `ShipBegin` and its `ShipEnd`, if any).
#[derive(Debug)]
pub(crate) struct Batch<'a> {
    /// Position of the `ShipBegin` record.
    pub pos: usize,
    /// Its time.
    pub t: Micros,
    /// The sender (an index into [`Index::names`]).
    pub node: u32,
    /// The sender's life.
    pub life: u32,
    /// The batch number.
    pub batch: u64,
    /// The destination (an index into [`Index::names`]).
    pub dst: u32,
    /// Whether it was shipped to the local sink.
    pub local: bool,
    /// The events, in batch order.
    pub events: &'a [ShippedRecord],
    /// Shipment number of `events[0]`: shipment `first + i` is `events[i]`.
    pub first: u32,
    /// The `ShipEnd`, if the call returned.
    pub end: Option<End>,
}

impl Batch<'_> {
    /// Number of events in the batch.
    pub(crate) fn len(&self) -> u32 {
        self.events.len() as u32
    }

    /// Events reported shipped (a prefix): all of them on `Ok`, `shipped` on
    /// an error, `None` while the call has not returned.
    pub(crate) fn shipped(&self) -> Option<u32> {
        self.end.map(|end| match end.outcome {
            Outcome::Ok => self.len(),
            _ => end.shipped.min(self.len()),
        })
    }

    /// Whether the call returned an error that certainly did not deliver the
    /// events from `shipped` on.
    pub(crate) fn certainly_failed(&self) -> bool {
        matches!(
            self.end.map(|end| end.outcome),
            Some(Outcome::NoRoute | Outcome::NotDelivered | Outcome::Refused)
        )
    }
}

/// A `Deliver` record: what the checkers look at for every delivery. Its
/// source, id and payload stay in the record ([`Index::delivered`]): there is
/// one of these per delivery, so it is kept small.
#[derive(Debug)]
pub(crate) struct Delivery {
    /// Position of the record.
    pub pos: usize,
    /// Its time.
    pub t: Micros,
    /// The receiving node (an index into [`Index::names`]).
    pub node: u32,
    /// The receiver's life.
    pub life: u32,
    /// The shipment it delivers: the latest one of its id to this node begun
    /// before it, or [`NONE`] if there is no such shipment.
    pub shipment: u32,
}

/// The source, id and payload of a delivery, as its record says.
pub(crate) struct Delivered<'a> {
    /// The node the event claims to come from.
    pub source: &'a str,
    /// The id read from the payload.
    pub id: Option<EventId>,
    /// The digest of the payload as delivered.
    pub digest: PayloadDigest,
    /// The payload as delivered, when the record keeps it (not the shipped bytes, or no id).
    pub payload: Option<&'a str>,
}

/// What the trace says about one life of one node.
#[derive(Debug, Default)]
pub(crate) struct LifeInfo {
    /// The `Life up` record (position, time).
    pub up: Option<(usize, Micros)>,
    /// The `Life down` record (position, time).
    pub down: Option<(usize, Micros)>,
    /// Positions of its `Stats` records.
    pub stats: Vec<usize>,
}

/// Everything the checkers look up, built in one pass.
pub(crate) struct Index<'a> {
    /// The trace.
    pub records: &'a [Record],
    /// The header.
    pub start: Option<&'a Start>,
    start_pos: Option<usize>,
    /// Node names: the scenario's first (in scenario order), then any other
    /// name the trace mentions, in order of first mention.
    pub names: Vec<&'a str>,
    name_ix: FastMap<&'a str, u32>,
    /// Every `ship_batch` call, in `ShipBegin` order.
    pub batches: Vec<Batch<'a>>,
    /// Per node (by index): its batches by number.
    batch_by_key: Vec<DenseMap>,
    /// Per shipment: its batch.
    pub shipment_batch: Vec<u32>,
    /// Per shipment: the shipment of the same id begun just before it, or [`NONE`].
    pub prev_same_id: Vec<u32>,
    latest_by_id: DenseMap,
    /// Per shipment: the first delivery attributed to it (an index into
    /// `deliveries`), or [`NONE`].
    pub first_delivery: Vec<u32>,
    /// Per shipment: position of the first record telling the sender it was
    /// delivered (its `Ack`, or a `ShipEnd` counting it as shipped), or [`NEVER`].
    pub acked_at: Vec<usize>,
    /// Every `Deliver` record, in trace order.
    pub deliveries: Vec<Delivery>,
    /// Lives by (node, life).
    pub lives: BTreeMap<(u32, u32), LifeInfo>,
    /// The `Phase settle` record (position, time).
    pub settle: Option<(usize, Micros)>,
    /// The `Phase end` record (position, time).
    pub end: Option<(usize, Micros)>,
    /// The latest time in the trace.
    pub last_t: Micros,
    /// Positions of the `Workload` records.
    pub workloads: Vec<usize>,
    /// Positions of the `StreamGap` records.
    pub stream_gaps: Vec<usize>,
    /// Positions of `Connect` records, in trace order.
    pub connects: Vec<usize>,
    /// Ways the trace itself is malformed.
    pub malformed: Findings,
}

impl<'a> Index<'a> {
    /// Indexes `records`.
    pub(crate) fn build(records: &'a [Record]) -> Self {
        let mut ix = Index {
            records,
            start: None,
            start_pos: None,
            names: Vec::new(),
            name_ix: FastMap::default(),
            batches: Vec::new(),
            batch_by_key: Vec::new(),
            shipment_batch: Vec::new(),
            prev_same_id: Vec::new(),
            latest_by_id: DenseMap::default(),
            first_delivery: Vec::new(),
            acked_at: Vec::new(),
            deliveries: Vec::new(),
            lives: BTreeMap::new(),
            settle: None,
            end: None,
            last_t: 0,
            workloads: Vec::new(),
            stream_gaps: Vec::new(),
            connects: Vec::new(),
            malformed: Findings::new(Invariant::Trace, []),
        };
        ix.header();
        ix.reserve();
        for (pos, record) in records.iter().enumerate() {
            ix.add(pos, record);
        }
        if ix.end.is_none() && !records.is_empty() {
            let t = ix.last_t;
            ix.malformed.add(t, TraceRule::Incomplete, || {
                (None, "a `phase: end` record closing the run".into(), "the trace ends without one".into())
            });
        }
        ix
    }

    /// The well-formedness findings, leaving none behind: the index is read-only after.
    pub(crate) fn take_malformed(&mut self) -> Findings {
        std::mem::replace(&mut self.malformed, Findings::new(Invariant::Trace, []))
    }

    /// Sizes the per-batch, per-shipment and per-delivery tables from a quick
    /// count, so that building them never regrows a vector (which cost more
    /// than the count on long traces). The paged id tables grow a page at a
    /// time and need no sizing.
    fn reserve(&mut self) {
        let (mut batches, mut shipments, mut deliveries) = (0usize, 0usize, 0usize);
        for record in self.records {
            match record {
                Record::ShipBegin { events, .. } => {
                    batches += 1;
                    shipments += events.len();
                }
                Record::Deliver { .. } => deliveries += 1,
                _ => {}
            }
        }
        self.batches.reserve_exact(batches);
        for table in [&mut self.shipment_batch, &mut self.prev_same_id, &mut self.first_delivery] {
            table.reserve_exact(shipments);
        }
        self.acked_at.reserve_exact(shipments);
        self.deliveries.reserve_exact(deliveries);
    }

    /// Finds the header and the scenario's node names.
    fn header(&mut self) {
        let records = self.records;
        let first = records.iter().position(|r| matches!(r, Record::Start(_)));
        match first {
            Some(pos) => {
                let Record::Start(start) = &records[pos] else { unreachable!() };
                self.start = Some(start);
                self.start_pos = Some(pos);
                for node in &start.nodes {
                    let next = self.names.len() as u32;
                    self.name_ix.entry(node.as_str()).or_insert_with(|| {
                        self.names.push(node.as_str());
                        next
                    });
                }
                if pos != 0 {
                    self.malformed.add(start.t, TraceRule::Start, || {
                        (None, "the `start` record first".into(), format!("it is record {}", pos + 1))
                    });
                }
            }
            None => self.malformed.add(0, TraceRule::Start, || {
                (None, "a `start` record".into(), "none: default expectations, no deadline check".into())
            }),
        }
    }

    /// The index of node `name`, adding it if new.
    fn intern(&mut self, name: &'a str, t: Micros) -> u32 {
        if let Some(&ix) = self.name_ix.get(name) {
            return ix;
        }
        let ix = self.names.len() as u32;
        self.names.push(name);
        self.name_ix.insert(name, ix);
        if self.start.is_some() {
            self.malformed.add(t, TraceRule::Node, || {
                (None, "only the scenario's nodes".into(), format!("a record names node `{name}`"))
            });
        }
        ix
    }

    /// The index of node `name`, if the trace knows it.
    pub(crate) fn node(&self, name: &str) -> Option<u32> {
        self.name_ix.get(name).copied()
    }

    /// The batch `batch` of node `node`.
    pub(crate) fn batch(&self, node: u32, batch: u64) -> Option<u32> {
        self.batch_by_key.get(node as usize)?.get(batch)
    }

    /// The latest shipment of `id`, or [`NONE`].
    pub(crate) fn latest_shipment(&self, id: EventId) -> u32 {
        self.latest_by_id.get(id).unwrap_or(NONE)
    }

    /// Whether shipment `g`'s call has returned and reported it certainly not delivered
    /// (outcome `no-route` or `not-delivered`, at or past the shipped prefix): the only case
    /// in which its sender may ship the same event again in the same life (a re-plan after a
    /// refusal).
    pub(crate) fn certainly_not_delivered(&self, g: u32) -> bool {
        let batch = self.batch_of(g);
        batch.certainly_failed() && batch.shipped().is_some_and(|shipped| g - batch.first >= shipped)
    }

    /// The batch of shipment `g`.
    pub(crate) fn batch_of(&self, g: u32) -> &Batch<'a> {
        &self.batches[self.shipment_batch[g as usize] as usize]
    }

    /// The event of shipment `g` and its index in its batch.
    pub(crate) fn event_of(&self, g: u32) -> (&'a ShippedRecord, u32) {
        let batch = self.batch_of(g);
        let index = g - batch.first;
        (&batch.events[index as usize], index)
    }

    /// How a report names shipment `g`.
    pub(crate) fn event_ref(&self, g: u32) -> EventRef {
        let batch = self.batch_of(g);
        let (event, index) = self.event_of(g);
        EventRef { id: event.id, node: self.names[batch.node as usize].to_owned(), batch: batch.batch, index }
    }

    /// The name of node `ix`.
    pub(crate) fn name(&self, ix: u32) -> &'a str {
        self.names[ix as usize]
    }

    /// The time of the record at `pos`.
    pub(crate) fn t_at(&self, pos: usize) -> Micros {
        self.records[pos].t()
    }

    /// The time checks at the end of the run report: the `Phase end`, or the
    /// last record.
    pub(crate) fn end_t(&self) -> Micros {
        self.end.map_or(self.last_t, |(_, t)| t)
    }

    /// The source, id and payload of delivery `d`.
    pub(crate) fn delivered(&self, d: &Delivery) -> Delivered<'a> {
        match &self.records[d.pos] {
            Record::Deliver { source, id, digest, payload, .. } => Delivered {
                source,
                id: *id,
                digest: *digest,
                payload: payload.as_deref().map(|p| p.as_str()),
            },
            _ => unreachable!("deliveries are built from `Deliver` records only"),
        }
    }

    /// Number of shipments (events over all `ShipBegin`s).
    pub(crate) fn shipments(&self) -> usize {
        self.shipment_batch.len()
    }

    /// Indexes one record: checks its time against the last, then files it by kind.
    fn add(&mut self, pos: usize, record: &'a Record) {
        if matches!(record, Record::Violation(_)) {
            // Written after checking, stamped with the time of what they
            // report: outside the time order, and nothing to check.
            return;
        }
        let t = record.t();
        self.time_order(pos, t);
        match record {
            Record::Start(_) => {
                if Some(pos) != self.start_pos {
                    self.malformed.add(t, TraceRule::Start, || {
                        (None, "one `start` record".into(), format!("another one at record {}", pos + 1))
                    });
                }
            }
            Record::Phase { phase, .. } => self.phase(pos, t, *phase),
            // Placement reads these itself (`placement.rs`).
            Record::Fault { .. }
            | Record::Probes { .. }
            | Record::LifeProbes(_)
            | Record::FaultEffect(_)
            | Record::Violation(_)
            | Record::Membership { .. }
            | Record::Adopt { .. } => {}
            Record::Life { node, life, state, .. } => self.life(pos, t, node, *life, *state),
            Record::ShipBegin { node, life, batch, dst, local, events, .. } => {
                self.ship_begin(pos, t, node, *life, *batch, dst, *local, events)
            }
            Record::ShipEnd { node, life, batch, shipped, outcome, .. } => {
                self.ship_end(pos, t, node, *life, *batch, *shipped, *outcome)
            }
            Record::Ack { node, dst, id, .. } => self.ack(pos, t, node, dst, *id),
            Record::Deliver { node, life, id, .. } => self.deliver(pos, t, node, *life, *id),
            Record::Stats { node, life, .. } => {
                let node = self.intern(node, t);
                self.lives.entry((node, *life)).or_default().stats.push(pos);
            }
            Record::Workload { node, .. } => {
                self.intern(node, t);
                self.workloads.push(pos);
            }
            Record::StreamGap { node, .. } => {
                self.intern(node, t);
                self.stream_gaps.push(pos);
            }
            Record::Connect { node, dst, .. } => {
                self.intern(node, t);
                self.intern(dst, t);
                self.connects.push(pos);
            }
        }
    }

    /// A `Phase` record: the first `settle` and the first `end` count.
    fn phase(&mut self, pos: usize, t: Micros, phase: Phase) {
        match phase {
            Phase::Faults => {}
            Phase::Settle => {
                self.settle.get_or_insert((pos, t));
            }
            Phase::End => {
                self.end.get_or_insert((pos, t));
            }
        }
    }

    /// Reports record `pos` if its time `t` is before the latest so far, and
    /// advances the latest: every later check reads times as ordered.
    fn time_order(&mut self, pos: usize, t: Micros) {
        if t < self.last_t {
            let last = self.last_t;
            self.malformed.add(t, TraceRule::TimeOrder, || {
                (
                    None,
                    "record times that never decrease".into(),
                    format!("record {} at {} follows one at {}", pos + 1, fmt_t(t), fmt_t(last)),
                )
            });
        }
        self.last_t = self.last_t.max(t);
    }

    /// A `Life` record: the first `up` and the first `down` of each life count.
    fn life(&mut self, pos: usize, t: Micros, node: &'a str, life: u32, state: LifeState) {
        let node = self.intern(node, t);
        let info = self.lives.entry((node, life)).or_default();
        let slot = match state {
            LifeState::Up => &mut info.up,
            LifeState::Down => &mut info.down,
        };
        slot.get_or_insert((pos, t));
    }

    /// A `Deliver` record, attributed to the latest shipment of its id to this
    /// node (walking back past shipments of the same id to other nodes).
    fn deliver(&mut self, pos: usize, t: Micros, node: &'a str, life: u32, id: Option<EventId>) {
        let node = self.intern(node, t);
        let mut shipment = id.map_or(NONE, |id| self.latest_shipment(id));
        while shipment != NONE && self.batch_of(shipment).dst != node {
            shipment = self.prev_same_id[shipment as usize];
        }
        if shipment != NONE && self.first_delivery[shipment as usize] == NONE {
            self.first_delivery[shipment as usize] = self.deliveries.len() as u32;
        }
        self.deliveries.push(Delivery { pos, t, node, life, shipment });
    }

    /// A `ShipBegin` record: checks its `local` flag and batch number, then
    /// adds the batch and one shipment per event.
    #[allow(clippy::too_many_arguments)]
    fn ship_begin(
        &mut self,
        pos: usize,
        t: Micros,
        node: &'a str,
        life: u32,
        batch: u64,
        dst: &'a str,
        local: bool,
        events: &'a [ShippedRecord],
    ) {
        let node_ix = self.intern(node, t);
        let dst_ix = self.intern(dst, t);
        if local != (node_ix == dst_ix) {
            self.malformed.add(t, TraceRule::ShipBegin, || {
                (
                    None,
                    "`local` true exactly when the destination is the sender".into(),
                    format!("batch {batch} of {node} to {dst} has local: {local}"),
                )
            });
        }
        let b = self.batches.len() as u32;
        self.number_batch(t, node, node_ix, batch, b);
        let first = self.shipment_batch.len() as u32;
        for event in events {
            self.add_shipment(t, node, node_ix, life, batch, b, event.id);
        }
        self.batches.push(Batch {
            pos,
            t,
            node: node_ix,
            life,
            batch,
            dst: dst_ix,
            local,
            events,
            first,
            end: None,
        });
    }

    /// Files batch `b` as number `batch` of node `node_ix`, or reports the
    /// number taken. The first of two batches of one number keeps it: the
    /// `ShipEnd`s match that one.
    fn number_batch(&mut self, t: Micros, node: &'a str, node_ix: u32, batch: u64, b: u32) {
        if self.batch_by_key.len() <= node_ix as usize {
            self.batch_by_key.resize_with(node_ix as usize + 1, DenseMap::default);
        }
        let numbers = &mut self.batch_by_key[node_ix as usize];
        if numbers.get(batch).is_none() {
            numbers.insert(batch, b);
        } else {
            self.malformed.add(t, TraceRule::ShipBegin, || {
                (
                    None,
                    "batch numbers unique per node".into(),
                    format!("batch {batch} of {node} begins twice"),
                )
            });
        }
    }

    /// Adds the next shipment (event `id` in batch `b`), linked to the
    /// previous shipment of its id, and reports it if the same life shipped
    /// that id before without being told it certainly was not delivered.
    #[allow(clippy::too_many_arguments)]
    fn add_shipment(
        &mut self,
        t: Micros,
        node: &'a str,
        node_ix: u32,
        life: u32,
        batch: u64,
        b: u32,
        id: EventId,
    ) {
        let g = self.shipment_batch.len() as u32;
        self.shipment_batch.push(b);
        let prev = self.latest_by_id.insert(id, g).unwrap_or(NONE);
        self.prev_same_id.push(prev);
        self.first_delivery.push(NONE);
        self.acked_at.push(NEVER);
        // Batch `b` is filed after its shipments: an id listed twice in it is caught here,
        // before anything looks the batch up.
        if prev != NONE && self.shipment_batch[prev as usize] == b {
            self.malformed.add(t, TraceRule::ShipBegin, || {
                (
                    None,
                    "each event once per batch".into(),
                    format!("event {id} listed twice in batch {batch} of {node}"),
                )
            });
            return;
        }
        if prev != NONE
            && self.batch_of(prev).node == node_ix
            && self.batch_of(prev).life == life
            && !self.certainly_not_delivered(prev)
        {
            self.malformed.add(t, TraceRule::ShipBegin, || {
                (
                    None,
                    "event ids unique (one life ships an event again only after a call \
                     reported it certainly not delivered, e.g. refused by a non-owner)"
                        .into(),
                    format!("event {id} shipped again by {node} in the same life, in batch {batch}"),
                )
            });
        }
    }

    /// A `ShipEnd` record: checks it against its batch's `ShipBegin`, then
    /// records the end and counts its shipped prefix as acked.
    #[allow(clippy::too_many_arguments)]
    fn ship_end(
        &mut self,
        pos: usize,
        t: Micros,
        node: &'a str,
        life: u32,
        batch: u64,
        shipped: u32,
        outcome: Outcome,
    ) {
        let node_ix = self.intern(node, t);
        let Some(b) = self.batch(node_ix, batch) else {
            self.malformed.add(t, TraceRule::ShipEnd, || {
                (
                    None,
                    "a `ship-begin` before each `ship-end`".into(),
                    format!("batch {batch} of {node} ends unbegun"),
                )
            });
            return;
        };
        let entry = &self.batches[b as usize];
        let len = entry.len();
        let problem = if entry.end.is_some() {
            Some(format!("batch {batch} of {node} ends twice"))
        } else if entry.life != life {
            Some(format!("batch {batch} of {node} begins in life {} and ends in life {life}", entry.life))
        } else if shipped > len {
            Some(format!("batch {batch} of {node} reports {shipped} shipped of {len}"))
        } else {
            None
        };
        if let Some(problem) = problem {
            self.malformed.add(t, TraceRule::ShipEnd, || {
                (None, "one `ship-end` per batch, in its life, shipped ≤ len".into(), problem)
            });
        }
        let entry = &mut self.batches[b as usize];
        if entry.end.is_some() {
            return;
        }
        entry.end = Some(End { pos, t, shipped, outcome });
        let (first, shipped) = (entry.first as usize, entry.shipped().unwrap_or(0) as usize);
        for acked in &mut self.acked_at[first..first + shipped] {
            *acked = (*acked).min(pos);
        }
    }

    /// An `Ack` record, attributed to the latest shipment of its id from
    /// `node` to `dst`.
    fn ack(&mut self, pos: usize, t: Micros, node: &'a str, dst: &'a str, id: EventId) {
        let node_ix = self.intern(node, t);
        let dst_ix = self.intern(dst, t);
        let mut g = self.latest_shipment(id);
        while g != NONE && (self.batch_of(g).node != node_ix || self.batch_of(g).dst != dst_ix) {
            g = self.prev_same_id[g as usize];
        }
        if g == NONE {
            self.malformed.add(t, TraceRule::Ack, || {
                (
                    None,
                    "acks only of shipped events".into(),
                    format!("{node} got an ack from {dst} for event {id}, which it never shipped there"),
                )
            });
            return;
        }
        let acked = &mut self.acked_at[g as usize];
        *acked = (*acked).min(pos);
    }
}
