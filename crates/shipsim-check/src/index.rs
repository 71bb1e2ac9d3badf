//! One pass over a trace that every checker shares, fed one record at a time
//! ([`Index::feed`]): batches, the events they shipped, deliveries attributed
//! to the shipment they deliver, acks, lives and phases, plus the ways the
//! trace itself is malformed.
//!
//! The index owns what it keeps, so the records need not be: a run that
//! nobody asked to keep its trace feeds each record here as it is made and
//! drops it. It keeps the facts the checkers read, in compact form (the
//! shipped events, one entry per delivery, per `ship-end` and per ack), and
//! the few records of other kinds (faults, lives, stats, membership, ...)
//! whole; [`Index::items`] gives them back in trace order for the checkers
//! that read the trace as a sequence.
//!
//! Cost: O(R + E) for R records and E shipped events (lookups by id and by
//! (node, batch) in [`DenseMap`]s; a delivery walks the shipments of its id,
//! which is one unless a restarted sender shipped the same event again).
//! Size: O(E), about 160 bytes per event shipped, delivered and acked once: its
//! shipped event (24 bytes: the payload by digest, its text only until the ack),
//! its shipment's links (20), its delivery (32) and its ack (36), and its share of
//! its batch (75 bytes a batch). Exactly-once needs every event's history to the
//! end, since any event may be delivered again; so these lists are [`Table`]s,
//! which keep a few pages in memory and the rest in a temporary file: the memory a
//! run takes does not grow with its length (docs/benchmarks.md, memory). What stays
//! in memory grows with what is in flight (payload texts until their acks) and with
//! the records kept whole.
//!
//! Maps here are for lookup only: nothing iterates them, so no output order
//! depends on them.

use std::collections::BTreeMap;

use shipsim_trace::{
    EventId, EventRef, LifeState, Micros, Outcome, PayloadDigest, Phase, Record, ShippedRecord, Start, Text,
};

use shipsim_trace::{Invariant, TraceRule, fmt_t};

pub(crate) use crate::dense::NONE;
use crate::dense::{DenseMap, FastMap, Numbered};
use crate::findings::Findings;
use crate::jumps::Jumps;
use crate::table::Table;

mod encode;

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
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batch {
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
    /// The epoch of the shard map it was planned with.
    pub epoch: u64,
    /// Shipment number of its first event: shipment `first + i` is event `i`
    /// ([`Index::events`]).
    pub first: u32,
    /// Number of events.
    len: u32,
    /// The `ShipEnd`, if the call returned.
    pub end: Option<End>,
}

impl Batch {
    /// Number of events in the batch.
    pub(crate) fn len(&self) -> u32 {
        self.len
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

/// A shipped event as the checkers read it: its payload by digest. The payload's text is kept
/// only while the shipment is unacknowledged (and to the end for one never acknowledged), so
/// that a delivery altering it is reported byte by byte ([`Delivered::shipped_payload`]); an
/// acknowledged event's text is let go, so the index does not hold every payload of the run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shipped {
    /// The event's id.
    pub id: EventId,
    /// The digest of its payload, as shipped.
    pub digest: PayloadDigest,
    /// Its routing key (an index into the index's keys: [`Index::key`]).
    key: u32,
    /// Its shard, as shipped.
    pub shard: u32,
}

/// A `Deliver` record, as the checkers read it.
#[derive(Debug, Clone, Copy)]
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
    /// The node it claims to come from (an index into the index's sources).
    source: u32,
    // Its id and the digest of what it delivered are its shipment's (found by it), unless
    // they are kept aside ([`Aside`]): most deliveries keep no more than these 32 bytes.
}

/// What a delivery keeps beyond [`Delivery`]: that of a delivery of no shipment, or of a
/// payload other than the shipped one, or whose record keeps the payload.
struct Aside {
    /// The id read from the payload.
    id: Option<EventId>,
    /// The digest of the payload as delivered.
    digest: PayloadDigest,
    /// The payload as delivered, when the record keeps it.
    payload: Option<Text>,
    /// The payload as shipped, when it differs and was still held (see [`Shipped`]).
    shipped_payload: Option<Text>,
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
    /// The payload as shipped, when it differs from the delivered one and was still held
    /// when the delivery came (its shipment not yet acknowledged).
    pub shipped_payload: Option<&'a str>,
}

/// A `ShipEnd` record, every one (a second one of a batch too), for the passes that read
/// the trace in order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EndRecord {
    /// Position of the record.
    pub pos: usize,
    /// The sender (an index into [`Index::names`]).
    pub node: u32,
    /// The sender's life.
    pub life: u32,
    /// The batch number.
    pub batch: u64,
    /// Its outcome.
    pub outcome: Outcome,
}

/// An `Ack` record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AckRecord {
    /// Position of the record.
    pub pos: usize,
    /// Its time.
    pub t: Micros,
    /// The sender that got the ack (an index into [`Index::names`]).
    pub node: u32,
    /// The sender's life.
    pub life: u32,
    /// The destination that sent it (an index into [`Index::names`]).
    pub dst: u32,
    /// The event acknowledged.
    pub id: EventId,
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

/// One record of the trace, as [`Index::items`] gives them back in trace order.
pub(crate) enum Item<'i> {
    /// A record of a kind the index keeps whole.
    Other(&'i Record),
    /// A `ShipBegin`.
    Begin(Batch),
    /// A `ShipEnd`.
    End(EndRecord),
    /// A `Deliver`.
    Deliver(Delivery),
    /// An `Ack`.
    Ack(AckRecord),
}

/// Everything the checkers look up, built one record at a time.
pub(crate) struct Index {
    /// The header.
    start: Option<Box<Start>>,
    start_pos: Option<usize>,
    /// Records fed before the `start` record (a malformed trace), indexed once it comes or
    /// the trace ends, so that its node names are known first.
    early: Vec<(usize, Record)>,
    /// How many records were fed.
    fed: usize,
    /// Node names: the scenario's first (in scenario order), then any other
    /// name the trace mentions, in order of first mention.
    pub names: Vec<Text>,
    name_ix: FastMap<Text, u32>,
    /// The sources deliveries claim, by first mention.
    sources: Numbered,
    /// Every `ship_batch` call, in `ShipBegin` order.
    pub batches: Table<Batch>,
    /// Per node (by index): its batches by number.
    batch_by_key: Vec<DenseMap>,
    /// Per shipment: the event shipped.
    shipped: Table<Shipped>,
    /// Routing keys, by first mention.
    keys: Numbered,
    /// The payload text of each shipment not yet acknowledged, by shipment.
    texts: FastMap<u32, Text>,
    /// Per shipment: its batch.
    pub shipment_batch: Table<u32>,
    /// Per shipment: the shipment of the same id begun just before it, or [`NONE`].
    pub prev_same_id: Table<u32>,
    latest_by_id: DenseMap,
    /// Per shipment: the first delivery attributed to it (an index into
    /// `deliveries`), or [`NONE`].
    pub first_delivery: Table<u32>,
    /// Per shipment: position of the first record telling the sender it was
    /// delivered (its `Ack`, or a `ShipEnd` counting it as shipped), or [`NEVER`].
    pub acked_at: Table<usize>,
    /// Every `Deliver` record, in trace order.
    pub deliveries: Table<Delivery>,
    /// The batch of each `ShipEnd` record that ends its batch as it should (the first end,
    /// in the batch's life), in trace order: the record is the batch's [`Batch::end`].
    ends: Table<u32>,
    /// Every other `ShipEnd` record (of no batch, a second end, an end in another life),
    /// in trace order: a malformed trace's.
    odd_ends: Vec<EndRecord>,
    /// Every `Ack` record, in trace order.
    pub acks: Table<AckRecord>,
    /// The records of the kinds kept whole, with their positions, in trace order.
    others: Vec<(usize, Record)>,
    /// What each delivery that needs it keeps aside, by its record's position.
    aside: BTreeMap<usize, Aside>,
    /// The error text of each `ShipEnd` that has one, by position.
    errors: BTreeMap<usize, String>,
    /// Lives by (node, life).
    pub lives: BTreeMap<(u32, u32), LifeInfo>,
    /// The `Phase settle` record (position, time).
    pub settle: Option<(usize, Micros)>,
    /// The `Phase end` record (position, time).
    pub end: Option<(usize, Micros)>,
    /// The latest time in the trace.
    pub last_t: Micros,
    /// The time of the last record, whatever its kind.
    pub final_t: Micros,
    /// How many `Workload` records there are.
    pub workloads: usize,
    /// How many `Connect` records there are.
    pub connects: usize,
    /// Whether any batch went to another node.
    pub remote: bool,
    /// The nodes' clock jumps (`clock` faults), for the rules that judge waits.
    pub jumps: Jumps,
    /// Ways the trace itself is malformed.
    pub malformed: Findings,
}

impl Index {
    /// An index of no record yet.
    pub(crate) fn new() -> Self {
        Index {
            start: None,
            start_pos: None,
            early: Vec::new(),
            fed: 0,
            names: Vec::new(),
            name_ix: FastMap::default(),
            sources: Numbered::default(),
            batches: Table::default(),
            batch_by_key: Vec::new(),
            shipped: Table::default(),
            keys: Numbered::default(),
            texts: FastMap::default(),
            shipment_batch: Table::default(),
            prev_same_id: Table::default(),
            latest_by_id: DenseMap::default(),
            first_delivery: Table::default(),
            acked_at: Table::default(),
            deliveries: Table::default(),
            ends: Table::default(),
            odd_ends: Vec::new(),
            acks: Table::default(),
            others: Vec::new(),
            aside: BTreeMap::new(),
            errors: BTreeMap::new(),
            lives: BTreeMap::new(),
            settle: None,
            end: None,
            last_t: 0,
            final_t: 0,
            workloads: 0,
            connects: 0,
            remote: false,
            jumps: Jumps::default(),
            malformed: Findings::new(Invariant::Trace, []),
        }
    }

    /// Indexes `records`.
    pub(crate) fn build(records: &[Record]) -> Self {
        let mut ix = Index::new();
        for record in records {
            ix.feed(record);
        }
        ix.finish();
        ix
    }

    /// Indexes the next record of the trace.
    pub(crate) fn feed(&mut self, record: &Record) {
        let pos = self.fed;
        self.fed += 1;
        self.final_t = record.t();
        if self.start_pos.is_some() {
            self.add(pos, record);
            return;
        }
        match record {
            Record::Start(start) => {
                self.header(pos, start);
                for (pos, early) in std::mem::take(&mut self.early) {
                    self.add(pos, &early);
                }
                self.add(pos, record);
            }
            _ => self.early.push((pos, record.clone())),
        }
    }

    /// The trace is over: indexes what waited for a `start` that never came, and reports a
    /// trace without its end.
    pub(crate) fn finish(&mut self) {
        if self.start_pos.is_none() {
            self.malformed.add(0, TraceRule::Start, || {
                (None, "a `start` record".into(), "none: default expectations, no deadline check".into())
            });
            for (pos, early) in std::mem::take(&mut self.early) {
                self.add(pos, &early);
            }
        }
        if self.end.is_none() && self.fed > 0 {
            let t = self.last_t;
            self.malformed.add(t, TraceRule::Incomplete, || {
                (None, "a `phase: end` record closing the run".into(), "the trace ends without one".into())
            });
        }
    }

    /// The well-formedness findings, leaving none behind: the index is read-only after.
    pub(crate) fn take_malformed(&mut self) -> Findings {
        std::mem::replace(&mut self.malformed, Findings::new(Invariant::Trace, []))
    }

    /// The header, if the trace has one.
    pub(crate) fn start(&self) -> Option<&Start> {
        self.start.as_deref()
    }

    /// The header at `pos`: the scenario's node names.
    fn header(&mut self, pos: usize, start: &Start) {
        self.start = Some(Box::new(start.clone()));
        self.start_pos = Some(pos);
        self.jumps.set_tick(start.tick_us);
        for node in &start.nodes {
            let next = self.names.len() as u32;
            if !self.name_ix.contains_key(node.as_str()) {
                let text = Text::from(node.as_str());
                self.names.push(text.clone());
                self.name_ix.insert(text, next);
            }
        }
        if pos != 0 {
            self.malformed.add(start.t, TraceRule::Start, || {
                (None, "the `start` record first".into(), format!("it is record {}", pos + 1))
            });
        }
    }

    /// The index of node `name`, adding it if new.
    fn intern(&mut self, name: &Text, t: Micros) -> u32 {
        if let Some(&ix) = self.name_ix.get(name.as_str()) {
            return ix;
        }
        let ix = self.names.len() as u32;
        self.names.push(name.clone());
        self.name_ix.insert(name.clone(), ix);
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

    /// The batch whose `ShipBegin` is the record at `pos`, if one is (batches are in trace
    /// order).
    pub(crate) fn batch_at(&self, pos: usize) -> Option<usize> {
        self.batches.binary_search_by_key(&pos, |batch| batch.pos).ok()
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
    pub(crate) fn batch_of(&self, g: u32) -> Batch {
        self.batches.get(self.shipment_batch.get(g as usize) as usize)
    }

    /// The events of `batch`, in batch order.
    pub(crate) fn events(&self, batch: &Batch) -> impl Iterator<Item = Shipped> + '_ {
        self.shipped.range(batch.first as usize..(batch.first + batch.len) as usize)
    }

    /// Event `i` of `batch`.
    pub(crate) fn event(&self, batch: &Batch, i: u32) -> Shipped {
        assert!(i < batch.len, "event {i} of a batch of {}", batch.len);
        self.shipped.get((batch.first + i) as usize)
    }

    /// The event of shipment `g` and its index in its batch.
    pub(crate) fn event_of(&self, g: u32) -> (Shipped, u32) {
        let batch = self.batch_of(g);
        (self.shipped.get(g as usize), g - batch.first)
    }

    /// How a report names shipment `g`.
    pub(crate) fn event_ref(&self, g: u32) -> EventRef {
        let batch = self.batch_of(g);
        let (event, index) = self.event_of(g);
        EventRef { id: event.id, node: self.name(batch.node).to_owned(), batch: batch.batch, index }
    }

    /// The routing key of `event`.
    pub(crate) fn key(&self, event: Shipped) -> &str {
        self.keys.text(event.key)
    }

    /// The name of node `ix`.
    pub(crate) fn name(&self, ix: u32) -> &str {
        &self.names[ix as usize]
    }

    /// The time checks at the end of the run report: the `Phase end`, or the
    /// last record.
    pub(crate) fn end_t(&self) -> Micros {
        self.end.map_or(self.last_t, |(_, t)| t)
    }

    /// The source, id and payload of delivery `d`.
    pub(crate) fn delivered(&self, d: &Delivery) -> Delivered<'_> {
        let aside = self.aside.get(&d.pos);
        let shipped = (d.shipment != NONE).then(|| self.shipped.get(d.shipment as usize));
        Delivered {
            source: self.source_of(d),
            id: aside.map_or(shipped.map(|s| s.id), |a| a.id),
            digest: aside.map_or_else(|| shipped.map(|s| s.digest).unwrap_or_default(), |a| a.digest),
            payload: aside.and_then(|a| a.payload.as_deref()),
            shipped_payload: aside.and_then(|a| a.shipped_payload.as_deref()),
        }
    }

    /// The node delivery `d` claims to come from.
    pub(crate) fn source_of(&self, d: &Delivery) -> &str {
        self.sources.text(d.source)
    }

    /// The error text of the `ShipEnd` at `pos`, if it has one.
    pub(crate) fn error_at(&self, pos: usize) -> Option<&str> {
        self.errors.get(&pos).map(String::as_str)
    }

    /// Number of shipments (events over all `ShipBegin`s).
    pub(crate) fn shipments(&self) -> usize {
        self.shipment_batch.len()
    }

    /// The records of the kinds kept whole (every kind but `start`, `ship-begin`,
    /// `ship-end`, `deliver`, `ack`, `violation` and the coverage records), in trace order.
    pub(crate) fn others(&self) -> impl Iterator<Item = &Record> {
        self.others.iter().map(|(_, record)| record)
    }

    /// The time of the record that first told shipment `g`'s sender it was delivered (see
    /// [`Index::acked_at`]): an `Ack`, or the `ShipEnd` of its batch; 0 for no shipment, or
    /// one never acknowledged. Looked up rather than kept, as only a report needs it.
    pub(crate) fn acked_t(&self, g: u32) -> Micros {
        let Some(pos) = self.acked_at.try_get(g as usize).filter(|&pos| pos != NEVER) else { return 0 };
        match self.acks.binary_search_by_key(&pos, |ack| ack.pos) {
            Ok(a) => self.acks.get(a).t,
            Err(_) => self.batch_of(g).end.map_or(0, |end| end.t),
        }
    }

    /// The `ShipEnd` record that ended batch `b`, in its life.
    fn end_record(&self, b: u32) -> EndRecord {
        let batch = self.batches.get(b as usize);
        let end = batch.end.expect("a batch listed in `ends` has ended");
        EndRecord {
            pos: end.pos,
            node: batch.node,
            life: batch.life,
            batch: batch.batch,
            outcome: end.outcome,
        }
    }

    /// Every record the checkers read, in trace order.
    pub(crate) fn items(&self) -> Items<'_> {
        Items::new(self)
    }

    /// Indexes one record: checks its time against the last, then files it by kind.
    fn add(&mut self, pos: usize, record: &Record) {
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
                return;
            }
            // Nothing checks these.
            Record::Probes { .. } | Record::LifeProbes(_) | Record::FaultEffect(_) | Record::Violation(_) => {
                return;
            }
            Record::ShipBegin { node, life, batch, dst, local, epoch, events, .. } => {
                let begin = Begin { node, life: *life, batch: *batch, dst, local: *local, epoch: *epoch };
                self.ship_begin(pos, t, begin, events);
                return;
            }
            Record::ShipEnd { node, life, batch, shipped, outcome, error, .. } => {
                let node = self.intern(node, t);
                if let Some(error) = error {
                    self.errors.insert(pos, error.clone());
                }
                let end = EndRecord { pos, node, life: *life, batch: *batch, outcome: *outcome };
                match self.ship_end(end, t, *shipped) {
                    Some(b) => self.ends.push(b),
                    None => self.odd_ends.push(end),
                }
                return;
            }
            Record::Ack { node, life, dst, id, .. } => {
                self.ack(pos, t, node, *life, dst, *id);
                return;
            }
            Record::Deliver { .. } => {
                self.deliver(pos, t, record);
                return;
            }
            // Placement and recovery read these themselves, in order (`Index::items`).
            Record::Fault { action, .. } => self.fault(t, action),
            Record::Membership { .. } | Record::Adopt { .. } => {}
            Record::Phase { phase, .. } => self.phase(pos, t, *phase),
            Record::Life { node, life, state, .. } => self.life(pos, t, node, *life, *state),
            Record::Stats { node, life, .. } => {
                let node = self.intern(node, t);
                self.lives.entry((node, *life)).or_default().stats.push(pos);
            }
            Record::Workload { node, .. } => {
                self.intern(node, t);
                self.workloads += 1;
            }
            Record::StreamGap { node, .. } => {
                self.intern(node, t);
            }
            Record::Connect { node, dst, .. } => {
                self.intern(node, t);
                self.intern(dst, t);
                self.connects += 1;
            }
        }
        self.others.push((pos, record.clone()));
    }

    /// A `Fault` record: a clock jump or skew is filed for the rules that judge waits; the rest are
    /// read in order by the rules that need them (`Index::items`).
    fn fault(&mut self, t: Micros, action: &shipsim_trace::FaultAction) {
        if let Some((node, jump)) = action.clock_jump() {
            let node = self.intern(node, t);
            self.jumps.add(node, t, jump);
        }
        if let Some((node, ppm)) = action.clock_skew() {
            let node = self.intern(node, t);
            self.jumps.add_skew(node, t, ppm);
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
    fn life(&mut self, pos: usize, t: Micros, node: &Text, life: u32, state: LifeState) {
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
    fn deliver(&mut self, pos: usize, t: Micros, record: &Record) {
        let Record::Deliver { node, life, source, id, digest, payload, .. } = record else { return };
        let node = self.intern(node, t);
        let source = self.sources.number(source);
        let mut shipment = id.map_or(NONE, |id| self.latest_shipment(id));
        while shipment != NONE && self.batch_of(shipment).dst != node {
            shipment = self.prev_same_id.get(shipment as usize);
        }
        if shipment != NONE && self.first_delivery.get(shipment as usize) == NONE {
            self.first_delivery.set(shipment as usize, self.deliveries.len() as u32);
        }
        let differs = (shipment == NONE) || self.shipped.get(shipment as usize).digest != *digest;
        if differs || payload.is_some() {
            let aside = Aside {
                id: *id,
                digest: *digest,
                payload: payload.as_deref().cloned(),
                // No text is filed under NONE: a delivery of nothing shipped gets none.
                shipped_payload: differs.then(|| self.texts.get(&shipment).cloned()).flatten(),
            };
            self.aside.insert(pos, aside);
        }
        self.deliveries.push(Delivery { pos, t, node, life: *life, shipment, source });
    }

    /// A `ShipBegin` record: checks its `local` flag and batch number, then
    /// adds the batch and one shipment per event.
    fn ship_begin(&mut self, pos: usize, t: Micros, begin: Begin<'_>, events: &[ShippedRecord]) {
        let Begin { node, life, batch, dst, local, epoch } = begin;
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
        self.remote |= !local;
        let b = self.batches.len() as u32;
        self.number_batch(t, node, node_ix, batch, b);
        let first = self.shipment_batch.len() as u32;
        for event in events {
            self.add_shipment(t, node, node_ix, life, batch, b, event);
        }
        let len = events.len() as u32;
        self.batches.push(Batch {
            pos,
            t,
            node: node_ix,
            life,
            batch,
            dst: dst_ix,
            local,
            epoch,
            first,
            len,
            end: None,
        });
    }

    /// Files batch `b` as number `batch` of node `node_ix`, or reports the
    /// number taken. The first of two batches of one number keeps it: the
    /// `ShipEnd`s match that one.
    fn number_batch(&mut self, t: Micros, node: &str, node_ix: u32, batch: u64, b: u32) {
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
        node: &str,
        node_ix: u32,
        life: u32,
        batch: u64,
        b: u32,
        event: &ShippedRecord,
    ) {
        let id = event.id;
        let g = self.shipment_batch.len() as u32;
        self.shipment_batch.push(b);
        let key = self.keys.number(&event.key);
        let digest = PayloadDigest::of(event.payload.as_bytes());
        self.shipped.push(Shipped { id, digest, key, shard: event.shard });
        self.texts.insert(g, event.payload.clone());
        let prev = self.latest_by_id.insert(id, g).unwrap_or(NONE);
        self.prev_same_id.push(prev);
        self.first_delivery.push(NONE);
        self.acked_at.push(NEVER);
        // Batch `b` is filed after its shipments: an id listed twice in it is caught here,
        // before anything looks the batch up.
        if prev != NONE && self.shipment_batch.get(prev as usize) == b {
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
    /// records the end and counts its shipped prefix as acked. Gives the batch when this is
    /// its first end, in its life: `ends` lists that batch, where `odd_ends` lists any other
    /// end's record.
    fn ship_end(&mut self, end: EndRecord, t: Micros, shipped: u32) -> Option<u32> {
        let EndRecord { pos, node: node_ix, life, batch, outcome } = end;
        let node = self.names[node_ix as usize].clone();
        let Some(b) = self.batch(node_ix, batch) else {
            self.malformed.add(t, TraceRule::ShipEnd, || {
                (
                    None,
                    "a `ship-begin` before each `ship-end`".into(),
                    format!("batch {batch} of {node} ends unbegun"),
                )
            });
            return None;
        };
        let entry = self.batches.get(b as usize);
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
        if entry.end.is_some() {
            return None;
        }
        let end = Some(End { pos, t, shipped, outcome });
        self.batches.update(b as usize, |batch| batch.end = end);
        let entry = Batch { end, ..entry };
        let in_life = entry.life == life;
        let (first, shipped) = (entry.first as usize, entry.shipped().unwrap_or(0) as usize);
        for g in first..first + shipped {
            self.acked(g, pos);
        }
        in_life.then_some(b)
    }

    /// An `Ack` record, attributed to the latest shipment of its id from
    /// `node` to `dst`.
    fn ack(&mut self, pos: usize, t: Micros, node: &Text, life: u32, dst: &Text, id: EventId) {
        let node_ix = self.intern(node, t);
        let dst_ix = self.intern(dst, t);
        self.acks.push(AckRecord { pos, t, node: node_ix, life, dst: dst_ix, id });
        let mut g = self.latest_shipment(id);
        while g != NONE && (self.batch_of(g).node != node_ix || self.batch_of(g).dst != dst_ix) {
            g = self.prev_same_id.get(g as usize);
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
        self.acked(g as usize, pos);
    }

    /// Shipment `g` was acknowledged by the record at `pos`: the first one counts, and its
    /// payload text is let go.
    fn acked(&mut self, g: usize, pos: usize) {
        let mut first = false;
        self.acked_at.update(g, |acked_at| {
            first = *acked_at == NEVER;
            *acked_at = pos.min(*acked_at);
        });
        if first {
            self.texts.remove(&(g as u32));
        }
    }
}

/// A `ShipBegin` record's fields but its events.
struct Begin<'r> {
    node: &'r Text,
    life: u32,
    batch: u64,
    dst: &'r Text,
    local: bool,
    epoch: u64,
}

/// The records [`Index::items`] gives back, merged in trace order from the index's lists.
pub(crate) struct Items<'i> {
    ix: &'i Index,
    /// The next entry of each list: others, batches, ends, odd ends, deliveries, acks.
    next: [usize; 6],
    /// Each list's next entry, read, with its record's position.
    heads: [Option<(usize, Item<'i>)>; 6],
}

impl<'i> Items<'i> {
    fn new(ix: &'i Index) -> Self {
        let mut items = Items { ix, next: [0; 6], heads: [None, None, None, None, None, None] };
        (0..6).for_each(|list| items.read(list));
        items
    }

    /// Reads the next entry of `list` into its head.
    fn read(&mut self, list: usize) {
        let (ix, i) = (self.ix, self.next[list]);
        self.heads[list] = match list {
            0 => ix.others.get(i).map(|(pos, record)| (*pos, Item::Other(record))),
            1 => ix.batches.try_get(i).map(|batch| (batch.pos, Item::Begin(batch))),
            2 => ix.ends.try_get(i).map(|b| ix.end_record(b)).map(|end| (end.pos, Item::End(end))),
            3 => ix.odd_ends.get(i).map(|end| (end.pos, Item::End(*end))),
            4 => ix.deliveries.try_get(i).map(|delivery| (delivery.pos, Item::Deliver(delivery))),
            _ => ix.acks.try_get(i).map(|ack| (ack.pos, Item::Ack(ack))),
        };
    }
}

impl<'i> Iterator for Items<'i> {
    type Item = Item<'i>;

    fn next(&mut self) -> Option<Item<'i>> {
        let (list, _) = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(list, head)| head.as_ref().map(|(pos, _)| (list, *pos)))
            .min_by_key(|&(_, pos)| pos)?;
        let (_, item) = self.heads[list].take()?;
        self.next[list] += 1;
        self.read(list);
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::clean_run;

    /// A payload's text is held while its shipment is unacknowledged, and only that long:
    /// the index of a long run does not keep every payload.
    #[test]
    fn payload_texts_are_held_only_until_the_ack() {
        let index = Index::build(&clean_run());
        let unacked: Vec<u32> =
            (0..index.shipments() as u32).filter(|&g| index.acked_at.get(g as usize) == NEVER).collect();
        let mut held: Vec<u32> = index.texts.keys().copied().collect();
        held.sort_unstable();
        assert_eq!(held, unacked);
        assert!(!unacked.is_empty() && unacked.len() < index.shipments(), "{unacked:?}");
    }

    /// The time of a shipment's first acknowledgement is its `Ack`'s, or its batch's `ShipEnd`'s
    /// where no `Ack` came first (a local batch).
    #[test]
    fn a_shipment_is_acknowledged_at_its_ack_or_its_batch_s_end() {
        use crate::fixtures::MS;
        let index = Index::build(&clean_run());
        let by_ack = index.latest_shipment(11);
        let by_end = index.latest_shipment(4);
        assert!(index.batch_of(by_end).local);
        assert_eq!((index.acked_t(by_ack), index.acked_t(by_end)), (211 * MS, 20 * MS));
        let never = index.latest_shipment(7);
        assert_eq!(index.acked_at.get(never as usize), NEVER);
        assert_eq!((index.acked_t(never), index.acked_t(NONE)), (0, 0), "never acknowledged, or no shipment");
    }
}
