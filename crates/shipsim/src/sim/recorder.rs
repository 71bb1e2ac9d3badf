//! The recorder: the one place every fact of a run is written to, stamped with the
//! simulated time. What a node remembers across its crashes is kept beside it (`memory.rs`).
//!
//! Shared by the runner and every host through `Arc<Mutex<_>>`. The
//! simulation is single-threaded, so the lock is never contended; it exists
//! because the transport's hooks must be `Send + Sync`.
//!
//! Memory: a big run holds millions of records, so the recorder shares text
//! between them ([`Text`]): one allocation per node name and per routing key.
//! A delivery carries the digest of its payload, and its bytes only when they
//! are not the shipped ones (`Record::deliver`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use shipper::{ShippedEvent, ShipperStats, ShipperStatsSnapshot};

use super::memory::{Memory, NetProbe, NodeBook};
use super::trace_out::TraceOut;
use super::traffic::Traffic;
use crate::transport::NetCounters;
use shipsim_trace::{
    ConnectState, Counts, EventId, FaultAction, LifeState, MembershipChange, Micros, Outcome, PayloadDigest,
    Phase, Record, ShippedRecord, ShipperCounters, Tally, Text, TextPool,
};

/// Real mode's hook on a node process's recorder: stamps records with the real monotonic clock
/// and writes each one out as it is made (so a killed process loses none it made), with the
/// node's memory. A simulation has none: records are stamped with the runner's time and kept.
pub(crate) trait Tap: Send {
    /// The time to stamp on a record made now.
    fn now(&self) -> Micros;
    /// `record` was made; `memory` is what the nodes remember after it.
    fn record(&mut self, record: &Record, memory: &Memory);
}

/// The run's record of facts.
#[derive(Default)]
pub(crate) struct Recorder {
    now: Micros,
    /// Real mode only (see [`Tap`]).
    tap: Option<Box<dyn Tap>>,
    /// The records kept (all of them, unless [`Recorder::drop_records`]; then only those not
    /// yet released).
    records: Vec<Record>,
    /// How many records were dropped from the front of `records` once released.
    dropped: usize,
    /// Whether released records are dropped rather than kept.
    drop_records: bool,
    /// When they are dropped: the few a violation's report quotes (the faults) and those a
    /// sweep reads (the faults' effects, each life's probes).
    kept: shipsim_check::Quoted,
    /// Where the trace streams as it is made, if anywhere.
    out: Option<TraceOut>,
    /// The checkers, fed each record as it is released, if the run checks as it goes.
    online: Option<shipsim_check::Online>,
    /// What the faults' effects are judged by, fed each record as it is released.
    traffic: Traffic,
    /// The run's counts, fed each record as it is released.
    tally: Tally,
    /// How many of `records` were released: written to `out`, fed to `online` and `traffic`.
    written: usize,
    /// A fault's record waits for what it cut and healed: it and every record after it are
    /// not written out until then.
    held: bool,
    /// What each node remembers across its crashes.
    memory: Memory,
    /// Node names and routing keys, one allocation each.
    names: TextPool,
    /// The payload digest of each shipped event not yet delivered, by id: a
    /// delivery of other bytes keeps them in its record. Bounded by the events
    /// in flight (plus any never delivered).
    in_flight: BTreeMap<EventId, PayloadDigest>,
}

/// The recorder as the hosts and the runner share it.
#[derive(Clone, Default)]
pub(crate) struct SharedRecorder(Arc<Mutex<Recorder>>);

impl SharedRecorder {
    /// Lock the recorder. A panic elsewhere fails the run anyway, so a
    /// poisoned lock is used as it is.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Recorder> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Recorder {
    /// Set the time stamped on the records that follow (the runner calls it
    /// before each simulation step, so stamps are monotone and tick-grained).
    pub(crate) fn set_now(&mut self, now: Micros) {
        self.now = now;
    }

    /// The current stamp.
    pub(crate) fn now(&self) -> Micros {
        match &self.tap {
            Some(tap) => tap.now(),
            None => self.now,
        }
    }

    /// Real mode: stamp and write out every record through `tap`, keeping none.
    pub(crate) fn set_tap(&mut self, tap: Box<dyn Tap>) {
        self.tap = Some(tap);
    }

    /// Simulation: write every record to `out` too, as it is made.
    pub(crate) fn set_out(&mut self, out: TraceOut) {
        self.out = Some(out);
    }

    /// Simulation: check every record as it is released ([`Recorder::take_online`] gives the
    /// checkers back).
    pub(crate) fn check_online(&mut self) {
        self.online = Some(shipsim_check::Online::new());
    }

    /// Simulation: keep no record once released (written out, checked, and taken in by the
    /// judge of the faults' effects): [`Recorder::take_records`] then gives none.
    pub(crate) fn drop_records(&mut self) {
        self.drop_records = true;
    }

    /// Releases every record made so far, a fault record waiting for its effect included.
    pub(crate) fn release(&mut self) {
        self.held = false;
        self.write_out();
    }

    /// The checkers fed so far, leaving none.
    pub(crate) fn take_online(&mut self) -> Option<shipsim_check::Online> {
        self.online.take()
    }

    /// The counts of the records released so far.
    pub(crate) fn counts(&self) -> Counts {
        self.tally.counts()
    }

    /// What the faults' effects are judged by.
    pub(super) fn traffic(&self) -> &Traffic {
        &self.traffic
    }

    /// Writes out what is not yet written (with no fault record waiting), and gives the
    /// output back.
    pub(crate) fn take_out(&mut self) -> Option<TraceOut> {
        self.release();
        self.out.take()
    }

    /// Append a record (real mode: write it out through the tap instead).
    pub(crate) fn push(&mut self, record: Record) {
        match &mut self.tap {
            Some(tap) => tap.record(&record, &self.memory),
            None => {
                self.records.push(record);
                if !self.held {
                    self.write_out();
                }
            }
        }
    }

    /// Releases the records made since the last call: to `out`, the checkers and the judge
    /// of the faults' effects; then drops them, if none are kept.
    fn write_out(&mut self) {
        for record in &self.records[self.written..] {
            if let Some(out) = &mut self.out {
                out.write(record);
            }
            if let Some(online) = &mut self.online {
                online.feed(record);
            }
            self.traffic.feed(record);
            self.tally.feed(record);
            if self.drop_records {
                match record {
                    Record::FaultEffect(_) | Record::LifeProbes(_) => self.kept.keep(record),
                    _ => self.kept.feed(record),
                }
            }
        }
        self.written = self.records.len();
        if self.drop_records {
            self.dropped += self.records.len();
            self.records.clear();
            self.written = 0;
        }
    }

    /// Every record kept so far.
    #[cfg(test)]
    pub(super) fn records(&self) -> &[Record] {
        &self.records
    }

    /// Take the records out, leaving none.
    pub(crate) fn take_records(&mut self) -> Vec<Record> {
        self.written = 0;
        std::mem::take(&mut self.records)
    }

    /// The records a report or a sweep reads, kept while the others were dropped (none if
    /// every record was kept).
    pub(crate) fn take_kept(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.kept).into_records()
    }

    /// The book of `node`.
    pub(crate) fn node(&mut self, node: &str) -> &mut NodeBook {
        self.memory.node(node)
    }

    /// What every node remembers across its crashes.
    pub(crate) fn memory(&self) -> &Memory {
        &self.memory
    }

    /// The shared text of a node name or routing key.
    fn name(&mut self, name: &str) -> Text {
        self.names.get(name)
    }

    /// A phase change.
    pub(crate) fn phase(&mut self, phase: Phase) {
        let t = self.now();
        self.push(Record::Phase { t, phase });
    }

    /// A fault applied; returns the record's position, for [`Self::fault_effect`].
    pub(crate) fn fault(&mut self, fault: String, action: FaultAction) -> usize {
        let t = self.now();
        self.held = self.tap.is_none();
        self.push(Record::Fault { t, fault, action: Box::new(action), links: Box::default() });
        self.dropped + self.records.len() - 1
    }

    /// What the fault recorded at `pos` did to the routes between nodes:
    /// the `(from, to)` pairs it made unusable and those it made usable.
    pub(crate) fn fault_effect(&mut self, pos: usize, cut: &[(String, String)], healed: &[(String, String)]) {
        let mut texts = |pairs: &[(String, String)]| -> Vec<[Text; 2]> {
            pairs.iter().map(|(from, to)| [self.name(from), self.name(to)]).collect()
        };
        let (cut_t, healed_t) = (texts(cut), texts(healed));
        if let Some(Record::Fault { links, .. }) = self.records.get_mut(pos - self.dropped) {
            links.cut = cut_t;
            links.healed = healed_t;
        }
        self.held = false;
        self.write_out();
    }

    /// A node's process starts: returns its new life.
    pub(super) fn life_up(&mut self, node: &str) -> u32 {
        let t = self.now();
        let book = self.node(node);
        book.life += 1;
        book.running = true;
        book.sink = 0;
        book.in_flight = 0;
        book.calls = 0;
        let life = book.life;
        let node = self.name(node);
        self.push(Record::Life { t, node, life, state: LifeState::Up });
        life
    }

    /// The counters of the node's current life, read when the life ends.
    pub(super) fn attach_counters(&mut self, node: &str, shipper: Arc<ShipperStats>, net: NetProbe) {
        let book = self.node(node);
        book.shipper = Some(shipper);
        book.net = Some(net);
    }

    /// A node's process ends (crash, bounce, or the end of the run): its
    /// counters are read one last time.
    pub(crate) fn life_down(&mut self, node: &str, crashed: bool) {
        let t = self.now();
        let book = self.node(node);
        if !book.running {
            return;
        }
        book.running = false;
        let life = book.life;
        let shipper = book.shipper.take().map(|s| s.snapshot()).unwrap_or_default();
        let net = book.net.take().map(|probe| probe()).unwrap_or_default();
        let sink = book.sink;
        let node = self.name(node);
        self.push(stats_record(t, node.clone(), life, shipper, net, sink));
        if crashed {
            self.push(Record::Life { t, node, life, state: LifeState::Down });
        }
    }

    /// A `ship_batch` of `events`, planned with the shard map of `epoch`, is
    /// about to start; returns its batch number.
    pub(super) fn ship_begin(
        &mut self,
        node: &str,
        dst: &str,
        local: bool,
        epoch: u64,
        events: &[ShippedEvent],
    ) -> u64 {
        let t = self.now();
        let book = self.node(node);
        let (life, batch) = (book.life, book.next_batch);
        book.next_batch += 1;
        book.in_flight += 1;
        let events = events.iter().map(|event| self.shipped_record(event)).collect();
        let (node, dst) = (self.name(node), self.name(dst));
        self.push(Record::ShipBegin { t, node, life, batch, dst, local, epoch, events });
        batch
    }

    /// The cluster's shard map changed to `epoch` with these `members`.
    pub(super) fn membership(
        &mut self,
        epoch: u64,
        change: MembershipChange,
        node: &str,
        members: &[String],
    ) {
        let t = self.now();
        let node = self.name(node);
        let mut members: Vec<Text> = members.iter().map(|m| self.name(m)).collect();
        members.sort();
        self.push(Record::Membership { t, epoch, change, node, members });
    }

    /// `node`'s router installed the map of `epoch`; `moved` are the shards
    /// whose owner its own map says changed.
    pub(super) fn adopt(&mut self, node: &str, epoch: u64, moved: Vec<u32>) {
        let t = self.now();
        let life = self.node(node).life;
        let node = self.name(node);
        self.push(Record::Adopt { t, node, life, epoch, moved });
    }

    /// How the trace shows a shipped event (an event without an id gets
    /// `u64::MAX`, which no workload event has).
    fn shipped_record(&mut self, event: &ShippedEvent) -> ShippedRecord {
        let id = shipsim_trace::payload_id(&event.payload);
        let payload = text_of(&event.payload);
        if let Some(id) = id {
            self.in_flight.insert(id, PayloadDigest::of(&event.payload));
        }
        ShippedRecord { id: id.unwrap_or(u64::MAX), key: self.name(&event.key), shard: event.shard, payload }
    }

    /// A `ship_batch` returned.
    pub(super) fn ship_end(
        &mut self,
        node: &str,
        batch: u64,
        shipped: u32,
        outcome: Outcome,
        error: Option<String>,
    ) {
        let t = self.now();
        let book = self.node(node);
        book.in_flight = book.in_flight.saturating_sub(1);
        let life = book.life;
        let node = self.name(node);
        self.push(Record::ShipEnd { t, node, life, batch, shipped, outcome, error });
    }

    /// The sender `node` got the ack of event `id` from `dst`.
    pub(super) fn ack(&mut self, node: &str, dst: &str, id: EventId) {
        let t = self.now();
        let life = self.node(node).life;
        let (node, dst) = (self.name(node), self.name(dst));
        self.push(Record::Ack { t, node, life, dst, id });
    }

    /// A sink of `node` accepted an event with these payload bytes.
    pub(super) fn deliver(&mut self, node: &str, source: &str, id: Option<EventId>, payload: &[u8]) {
        let t = self.now();
        let book = self.node(node);
        book.sink += 1;
        let life = book.life;
        let shipped = id.and_then(|id| self.in_flight.remove(&id));
        let (node, source) = (self.name(node), self.name(source));
        self.push(Record::deliver(t, node, life, source, payload, shipped));
    }

    /// A receiver `node` dropped frame `seq` from `source` while `expected` was next.
    pub(super) fn stream_gap(&mut self, node: &str, source: &str, seq: u64, expected: u64) {
        let t = self.now();
        let life = self.node(node).life;
        let (node, source) = (self.name(node), self.name(source));
        self.push(Record::StreamGap { t, node, life, source, seq, expected });
    }

    /// `node`'s transport began a connection attempt to `dst` on `slot`, or it failed.
    pub(super) fn connect(&mut self, node: &str, dst: &str, slot: u32, state: ConnectState) {
        let t = self.now();
        let life = self.node(node).life;
        let (node, dst) = (self.name(node), self.name(dst));
        self.push(Record::Connect { t, node, life, dst, slot, state });
    }
}

/// A payload as the trace shows it: its bytes as UTF-8, invalid sequences replaced.
fn text_of(payload: &[u8]) -> Text {
    Text::from(&*String::from_utf8_lossy(payload))
}

fn stats_record(
    t: Micros,
    node: Text,
    life: u32,
    shipper: ShipperStatsSnapshot,
    net: NetCounters,
    sink: u64,
) -> Record {
    Record::Stats {
        t,
        node,
        life,
        shipper: Box::new(ShipperCounters {
            sent: shipper.sent,
            local: shipper.local,
            no_route: shipper.no_route,
            send_failures: shipper.send_failures,
            ambiguous: shipper.ambiguous,
        }),
        received: net.received,
        duplicates_dropped: net.duplicates_dropped,
        retransmits: net.retransmits,
        sink,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, payload: &str) -> ShippedEvent {
        assert_eq!(shipsim_trace::payload_id(payload.as_bytes()), Some(id), "the payload carries id {id}");
        ShippedEvent { shard: 3, key: "k1".into(), payload: payload.as_bytes().to_vec(), source: "n1".into() }
    }

    /// The bytes each delivery record keeps, and its digest.
    fn delivered(records: &[Record]) -> Vec<(Option<String>, PayloadDigest)> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::Deliver { payload, digest, .. } => {
                    Some((payload.as_deref().map(|p| p.to_string()), *digest))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_delivery_keeps_its_bytes_only_when_they_are_not_the_shipped_ones() {
        let mut rec = Recorder::default();
        rec.life_up("n1");
        let shipped = [event(1, r#"{"id":1,"v":"a"}"#), event(2, r#"{"id":2,"v":"b"}"#)];
        rec.ship_begin("n1", "n2", false, 0, &shipped);
        rec.deliver("n2", "n1", Some(1), br#"{"id":1,"v":"a"}"#);
        rec.deliver("n2", "n1", Some(2), br#"{"id":2,"v":"B"}"#);
        rec.deliver("n2", "n1", Some(1), br#"{"id":1,"v":"a"}"#);
        let delivered = delivered(rec.records());
        assert_eq!(
            delivered[0],
            (None, PayloadDigest::of(br#"{"id":1,"v":"a"}"#)),
            "the shipped bytes: a digest"
        );
        assert_eq!(
            delivered[1].0.as_deref(),
            Some(r#"{"id":2,"v":"B"}"#),
            "changed bytes are kept as delivered"
        );
        assert_eq!(delivered[2], delivered[0], "a duplicate: the same digest");
        assert!(rec.in_flight.is_empty(), "delivered events are forgotten");
        // Node names are one allocation each, however many records name them.
        let names: Vec<&Text> = rec
            .records()
            .iter()
            .filter_map(|r| match r {
                Record::Deliver { source, .. } => Some(source),
                Record::ShipBegin { node, .. } | Record::Life { node, .. } => Some(node),
                _ => None,
            })
            .collect();
        assert_eq!(names.len(), 5);
        assert!(names.iter().all(|n| n.shares(names[0])));
    }

    #[test]
    fn records_stay_compact() {
        // The size of every record in memory: a million-event run holds
        // millions of them. Grows only with a reason.
        assert!(std::mem::size_of::<Record>() <= 80, "{} bytes", std::mem::size_of::<Record>());
        assert!(std::mem::size_of::<ShippedRecord>() <= 48);
    }
}
