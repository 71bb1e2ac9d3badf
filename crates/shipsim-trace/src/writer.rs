//! [`TraceWriter`]: a trace built fact by fact from a system shipsim did not run (a third
//! party's test rig, real processes), to be checked by `shipsim verify` like a simulated one.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::{
    EventId, FORMAT_VERSION, FaultAction, LifeState, Micros, Outcome, PayloadDigest, Phase, Record,
    ShippedRecord, ShipperCounters, Start, Text,
};

/// The event id a payload carries in its `"id"` field, if it carries one (see the crate
/// docs: the id in the payload is part of the trace format).
///
/// Payloads that start with `{"id":N,` (shipsim's own) are read without parsing the whole
/// payload, since this runs for every ship, delivery and ack; anything else is parsed as
/// JSON.
pub fn payload_id(payload: &[u8]) -> Option<EventId> {
    if let Some(rest) = payload.strip_prefix(b"{\"id\":") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0
            && matches!(rest.get(digits), Some(b',' | b'}'))
            && let Some(id) = std::str::from_utf8(&rest[..digits]).ok().and_then(|d| d.parse().ok())
        {
            return Some(id);
        }
    }
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    value.get("id")?.as_u64()
}

/// Builds a trace record by record, in time order, then writes it as JSON Lines.
///
/// ```
/// use shipsim_trace::{Outcome, Phase, Start, TraceWriter};
/// let mut trace = TraceWriter::new(Start::new("my-rig", &["a", "b"], 5_000_000));
/// trace.ship_begin(10, "a", 1, 1, "b", &[(7, "k", 0, r#"{"id":7}"#)]);
/// trace.deliver(12, "b", 1, "a", r#"{"id":7}"#);
/// trace.ack(13, "a", 1, "b", 7);
/// trace.ship_end(13, "a", 1, 1, 1, Outcome::Ok, None);
/// trace.phase(20, Phase::End);
/// let mut file = Vec::new();
/// trace.write(&mut file).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct TraceWriter {
    records: Vec<Record>,
    /// The digest each event was last shipped with, by id.
    shipped: BTreeMap<EventId, PayloadDigest>,
}

impl Start {
    /// A header for a run of `nodes` whose ship calls have `deadline_us` each, checked
    /// strictly (exactly-once, per-batch ordering, consistent stats). Placement is checked
    /// once `shards` is set; the facts only a simulator knows (`settle_us`, `transport`,
    /// `rate`) are absent, and the rules that need them are skipped with the reason.
    pub fn new(scenario: &str, nodes: &[&str], deadline_us: Micros) -> Start {
        Start {
            format: FORMAT_VERSION,
            t: 0,
            scenario: scenario.to_owned(),
            seed: 0,
            nodes: nodes.iter().map(|&n| n.to_owned()).collect(),
            deadline_us,
            tick_us: 1,
            settle_us: None,
            delivery: Default::default(),
            ordering: Default::default(),
            stats: Default::default(),
            shards: 0,
            members: Vec::new(),
            placement: Default::default(),
            rate: 0.0,
            transport_name: String::new(),
            transport: None,
            declared: None,
            lacks: Vec::new(),
            ok_after_accept: false,
        }
    }
}

impl TraceWriter {
    /// A trace that opens with `start` and every node's first life starting at time 0.
    pub fn new(start: Start) -> Self {
        let nodes = start.nodes.clone();
        let mut trace =
            TraceWriter { records: vec![Record::Start(Box::new(start))], shipped: BTreeMap::new() };
        for node in &nodes {
            trace.life(0, node, 1, LifeState::Up);
        }
        trace
    }

    /// Appends any record.
    pub fn record(&mut self, record: Record) -> &mut Self {
        self.records.push(record);
        self
    }

    /// The run entered `phase` (`Settle` once every fault is healed; `End` last).
    pub fn phase(&mut self, t: Micros, phase: Phase) -> &mut Self {
        self.record(Record::Phase { t, phase })
    }

    /// A fault was applied; `text` is how a person reads it.
    pub fn fault(&mut self, t: Micros, text: &str, action: FaultAction) -> &mut Self {
        let action = Box::new(action);
        self.record(Record::Fault { t, fault: text.to_owned(), action, links: Default::default() })
    }

    /// A node's process `life` (1, 2, ...) started or stopped.
    pub fn life(&mut self, t: Micros, node: &str, life: u32, state: LifeState) -> &mut Self {
        self.record(Record::Life { t, node: node.into(), life, state })
    }

    /// A ship call of `node` to `dst` began with `events`, each `(id, key, shard, payload)`.
    pub fn ship_begin(
        &mut self,
        t: Micros,
        node: &str,
        life: u32,
        batch: u64,
        dst: &str,
        events: &[(EventId, &str, u32, &str)],
    ) -> &mut Self {
        for &(id, _, _, payload) in events {
            self.shipped.insert(id, PayloadDigest::of(payload.as_bytes()));
        }
        let events = events
            .iter()
            .map(|&(id, key, shard, payload)| ShippedRecord {
                id,
                key: key.into(),
                shard,
                payload: payload.into(),
            })
            .collect();
        let (node, dst) = (Text::from(node), Text::from(dst));
        let local = node == dst;
        self.record(Record::ShipBegin { t, node, life, batch, dst, local, epoch: 0, events })
    }

    /// The ship call `batch` returned: `shipped` events (a prefix) delivered, then `outcome`.
    #[allow(clippy::too_many_arguments)]
    pub fn ship_end(
        &mut self,
        t: Micros,
        node: &str,
        life: u32,
        batch: u64,
        shipped: u32,
        outcome: Outcome,
        error: Option<&str>,
    ) -> &mut Self {
        let error = error.map(str::to_owned);
        self.record(Record::ShipEnd { t, node: node.into(), life, batch, shipped, outcome, error })
    }

    /// `node`'s sink accepted `payload` from `source`; its id is read from the payload, and
    /// the bytes are kept only when they are not those the event was shipped with.
    pub fn deliver(&mut self, t: Micros, node: &str, life: u32, source: &str, payload: &str) -> &mut Self {
        let shipped = payload_id(payload.as_bytes()).and_then(|id| self.shipped.get(&id).copied());
        self.record(Record::deliver(t, node.into(), life, source.into(), payload.as_bytes(), shipped))
    }

    /// `node` received `dst`'s acknowledgement of event `id`.
    pub fn ack(&mut self, t: Micros, node: &str, life: u32, dst: &str, id: EventId) -> &mut Self {
        self.record(Record::Ack { t, node: node.into(), life, dst: dst.into(), id })
    }

    /// `node`'s counters at the end of `life`: the router's, the events its transport handed
    /// to the sink (`received`) and those its sinks recorded (`sink`).
    pub fn stats(
        &mut self,
        t: Micros,
        node: &str,
        life: u32,
        shipper: ShipperCounters,
        received: u64,
        sink: u64,
    ) -> &mut Self {
        let shipper = Box::new(shipper);
        let (duplicates_dropped, retransmits) = (0, 0);
        self.record(Record::Stats {
            t,
            node: node.into(),
            life,
            shipper,
            received,
            duplicates_dropped,
            retransmits,
            sink,
        })
    }

    /// `node` routed `routed` of the `target` events its workload asked for.
    pub fn workload(&mut self, t: Micros, node: &str, routed: u64, target: u64) -> &mut Self {
        self.record(Record::Workload { t, node: node.into(), routed, target })
    }

    /// The records so far.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The records, leaving the writer empty.
    pub fn take(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }

    /// Writes the records as JSON Lines.
    pub fn write(&self, out: impl Write) -> io::Result<()> {
        crate::write(&self.records, out)
    }
}

impl Record {
    /// A `deliver` record of the `payload` bytes `node` accepted from `source`, its id read
    /// from them. `shipped` is the digest of the payload the event was shipped with, when the
    /// writer knows it: the bytes go into the record only when they differ from it, or carry
    /// no id, so a report of the fabrication can quote them.
    pub fn deliver(
        t: Micros,
        node: Text,
        life: u32,
        source: Text,
        payload: &[u8],
        shipped: Option<PayloadDigest>,
    ) -> Record {
        let id: Option<EventId> = payload_id(payload);
        let digest = PayloadDigest::of(payload);
        let keep = id.is_none() || shipped.is_some_and(|s| s != digest);
        let payload = keep.then(|| Box::new(Text::from(&*String::from_utf8_lossy(payload))));
        Record::Deliver { t, node, life, source, id, digest, payload }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_ids_are_read_fast_or_parsed() {
        assert_eq!(payload_id(br#"{"id":42,"src":"n1"}"#), Some(42));
        assert_eq!(payload_id(br#"{"id":7}"#), Some(7));
        assert_eq!(payload_id(br#"{"src":"n1","id":9}"#), Some(9));
        assert_eq!(payload_id(br#"{"id":"x"}"#), None);
        assert_eq!(payload_id(b"not json"), None);
    }

    #[test]
    fn a_written_trace_reads_back() {
        let mut trace = TraceWriter::new(Start::new("rig", &["a", "b"], 1_000));
        trace.ship_begin(1, "a", 1, 1, "b", &[(3, "k", 0, r#"{"id":3}"#)]).deliver(
            2,
            "b",
            1,
            "a",
            r#"{"id":3}"#,
        );
        trace.ship_end(3, "a", 1, 1, 1, Outcome::Ok, None).phase(4, Phase::End);
        let mut bytes = Vec::new();
        trace.write(&mut bytes).unwrap();
        let back = crate::read(bytes.as_slice(), std::path::Path::new("rig.jsonl")).unwrap();
        assert_eq!(back, trace.records());
        assert!(matches!(&back[4], Record::Deliver { id: Some(3), .. }));
    }

    #[test]
    fn a_delivery_keeps_its_bytes_only_when_they_are_not_the_shipped_ones() {
        let bytes = |r: &Record| match r {
            Record::Deliver { payload, .. } => payload.as_deref().map(|p| p.to_string()),
            _ => unreachable!(),
        };
        let digest = PayloadDigest::of(br#"{"id":1}"#);
        let shipped = Some(digest);
        let same = Record::deliver(1, "n2".into(), 1, "n1".into(), br#"{"id":1}"#, shipped);
        assert_eq!(bytes(&same), None);
        let line = serde_json::to_string(&same).unwrap();
        assert!(line.ends_with(&format!(r#""id":1,"digest":"{}"}}"#, digest)), "{line}");
        let changed = Record::deliver(1, "n2".into(), 1, "n1".into(), br#"{"id":1 }"#, shipped);
        assert_eq!(bytes(&changed).as_deref(), Some(r#"{"id":1 }"#));
        let unknown = Record::deliver(1, "n2".into(), 1, "n1".into(), br#"{"id":1 }"#, None);
        assert_eq!(bytes(&unknown), None, "nothing to compare with: the checker has the shipped digest");
        let no_id = Record::deliver(1, "n2".into(), 1, "n1".into(), b"garbage", shipped);
        assert_eq!(bytes(&no_id).as_deref(), Some("garbage"));
    }
}
