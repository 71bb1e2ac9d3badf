//! The trace: what happened in a run, one record per fact, in simulated time.
//!
//! Records are written as JSON Lines in field order (serde keeps struct
//! order), so the same run gives the same bytes. Every checker reads only
//! these records: a trace file is enough to re-check a run.
//!
//! A run keeps its records in memory for the checkers, so they are compact:
//! node names, keys and payloads are shared [`Text`], and the rare large
//! records (`Start`, `Violation`, the shipper counters) are boxed so they do
//! not set the size of every record. None of that shows in the JSON.

use crate::units::{EventId, Micros};
use crate::{
    ExpectDelivery, ExpectOrdering, ExpectPlacement, ExpectStats, FaultAction, Invariant, Lack,
    PayloadDigest, Rule, Text,
};
use serde::{Deserialize, Serialize};

/// One fact of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Record {
    /// The first record: what was run and what the checkers expect.
    Start(Box<Start>),
    /// The run moved to another phase.
    Phase {
        /// When.
        t: Micros,
        /// The phase entered.
        phase: Phase,
    },
    /// A fault from the scenario (or the settle phase's healing) was applied.
    Fault {
        /// When.
        t: Micros,
        /// The fault for a person to read: the scenario's YAML flow form,
        /// e.g. `{at: 2s, crash: n2}`. Nothing parses it: readers use `action`.
        fault: String,
        /// What the fault did, as data (boxed: rare, and kept out of the
        /// size of every record).
        action: Box<FaultAction>,
        /// What the fault did to the routes between nodes (boxed: rare, and
        /// kept out of the size of every record; flat in the JSON).
        #[serde(flatten)]
        links: Box<FaultLinks>,
    },
    /// A node's process started (a new life) or stopped.
    Life {
        /// When.
        t: Micros,
        /// The node.
        node: Text,
        /// The process life: 1 for the first start, +1 on each restart.
        life: u32,
        /// Whether the life starts or ends here.
        state: LifeState,
    },
    /// A `ship_batch` call is about to start: one destination's share of a
    /// route call, in batch order.
    ShipBegin {
        /// When.
        t: Micros,
        /// The sending node.
        node: Text,
        /// The sender's process life.
        life: u32,
        /// Batch number, unique per sending node across its lives.
        batch: u64,
        /// The destination node.
        dst: Text,
        /// Whether `dst` is the sender itself.
        local: bool,
        /// The epoch of the shard map the router planned the batch with.
        #[serde(default)]
        epoch: u64,
        /// The events, in batch order (index = position here). A boxed
        /// slice, not a `Vec`: it keeps every record at 80 bytes.
        events: Box<[ShippedRecord]>,
    },
    /// The `ship_batch` call returned.
    ShipEnd {
        /// When.
        t: Micros,
        /// The sending node.
        node: Text,
        /// The sender's process life.
        life: u32,
        /// The batch of the matching `ShipBegin`.
        batch: u64,
        /// How many events of the batch were reported shipped (a prefix).
        shipped: u32,
        /// What the call answered.
        outcome: Outcome,
        /// The error's message, when there was one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The sender's transport received the acknowledgement of an event.
    Ack {
        /// When.
        t: Micros,
        /// The sending node (the one that received the ack).
        node: Text,
        /// The sender's process life.
        life: u32,
        /// The destination that acknowledged.
        dst: Text,
        /// The event acknowledged.
        id: EventId,
    },
    /// A sink accepted an event: it reached the application of `node`.
    Deliver {
        /// When.
        t: Micros,
        /// The receiving node.
        node: Text,
        /// The receiver's process life.
        life: u32,
        /// The node the event claims to come from.
        source: Text,
        /// The event id read from the payload (`None` if the payload had none).
        id: Option<EventId>,
        /// The digest of the payload as delivered: the checker compares it with the digest
        /// of the payload its `ship-begin` carries (from format 4; the payload itself is in
        /// the trace once).
        digest: PayloadDigest,
        /// The payload as delivered, only when its digest is not the shipped one or it has
        /// no id: the bytes a report of the fabrication quotes. Boxed: rare, and kept out of
        /// the size of every record.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payload: Option<Box<Text>>,
    },
    /// A receiver dropped a frame that arrived past a gap in its sender's
    /// stream (a number above the one it expected next): the sender wrote
    /// the stream out of order. The receiver's in-order delivery keeps the
    /// sink's order right, so only this record shows the bug.
    StreamGap {
        /// When.
        t: Micros,
        /// The receiving node.
        node: Text,
        /// The receiver's process life.
        life: u32,
        /// The sending node.
        source: Text,
        /// The stream number that arrived.
        seq: u64,
        /// The number the receiver expected next.
        expected: u64,
    },
    /// A sender's transport began a connection attempt to `dst`, or the attempt failed
    /// without carrying a frame (refused, unreachable, timed out).
    Connect {
        /// When.
        t: Micros,
        /// The sending node.
        node: Text,
        /// The sender's process life.
        life: u32,
        /// The destination.
        dst: Text,
        /// The connection slot (TCP: one of `connections`; gRPC: 0).
        slot: u32,
        /// Whether the attempt begins or failed.
        state: ConnectState,
    },
    /// The coverage probes the run reached (`shipper::probe!`), with their hit counts, by
    /// name; written last, and only by a harness that counts probes.
    Probes {
        /// When (the end of the run).
        t: Micros,
        /// Hits per probe reached; a probe not listed was not reached.
        hits: std::collections::BTreeMap<Text, u64>,
    },
    /// The coverage probes one node life reached (from format 4).
    LifeProbes(Box<crate::LifeProbes>),
    /// Whether a fault had an effect, as the harness observed it (from format 4).
    FaultEffect(Box<crate::FaultEffect>),
    /// Counters of one node's life, read at the end of that life (crash or end of run).
    Stats {
        /// When.
        t: Micros,
        /// The node.
        node: Text,
        /// Its process life.
        life: u32,
        /// The shipper's counters.
        shipper: Box<ShipperCounters>,
        /// Events the transport's server handed to the sink (remote deliveries).
        received: u64,
        /// Duplicates the transport's server dropped.
        duplicates_dropped: u64,
        /// Frames resent after a reconnect or an ack timeout.
        retransmits: u64,
        /// Events the node's sinks (remote and local) recorded.
        sink: u64,
    },
    /// The cluster's shard map changed (a `join` or `leave` fault): the new
    /// epoch and its members. Nodes adopt it later, each after its own
    /// propagation delay (`Adopt`).
    Membership {
        /// When the change was announced.
        t: Micros,
        /// The epoch of the new map (the initial map, in `Start`, is epoch 0).
        epoch: u64,
        /// What changed.
        change: MembershipChange,
        /// The node that joined or left.
        node: Text,
        /// The members of the new map, in name order.
        members: Vec<Text>,
    },
    /// A node's router installed the shard map of `epoch`: after its
    /// propagation delay, at the start of a process life, or learned from a
    /// receiver's refusal.
    Adopt {
        /// When.
        t: Micros,
        /// The node.
        node: Text,
        /// Its process life.
        life: u32,
        /// The epoch installed.
        epoch: u64,
        /// The shards whose owner differs between the node's previous map and
        /// this one, as the node's own `ShardMap` computes them, in shard
        /// order (empty at the start of a life).
        moved: Vec<u32>,
    },
    /// A node's workload progress at the end of the run.
    Workload {
        /// When.
        t: Micros,
        /// The node.
        node: Text,
        /// Events routed (handed to the router) over all lives.
        routed: u64,
        /// Events the scenario asks each node to route.
        target: u64,
    },
    /// An invariant failed (written by the runner after checking).
    Violation(Box<Violation>),
}

impl Record {
    /// When the fact happened, in simulated microseconds since the start.
    pub fn t(&self) -> Micros {
        match self {
            Record::Start(start) => start.t,
            Record::Violation(violation) => violation.t,
            Record::LifeProbes(probes) => probes.t,
            Record::FaultEffect(effect) => effect.t,
            Record::Phase { t, .. }
            | Record::Fault { t, .. }
            | Record::Life { t, .. }
            | Record::ShipBegin { t, .. }
            | Record::ShipEnd { t, .. }
            | Record::Ack { t, .. }
            | Record::Deliver { t, .. }
            | Record::Stats { t, .. }
            | Record::StreamGap { t, .. }
            | Record::Connect { t, .. }
            | Record::Probes { t, .. }
            | Record::Membership { t, .. }
            | Record::Adopt { t, .. }
            | Record::Workload { t, .. } => *t,
        }
    }
}

/// The trace format this build writes, in every `Start` record: a reader refuses another one
/// rather than misread it.
pub const FORMAT_VERSION: u32 = 4;

/// The `(from, to)` pairs a fault cut and healed, for the `recovery` rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultLinks {
    /// `[from, to]` pairs a ship from `from` to `to` could use before the
    /// fault and cannot after it (a cut, a hold, loss, a crash, a dropped
    /// route; a bounce cuts and heals its node's pairs at once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cut: Vec<[Text; 2]>,
    /// `[from, to]` pairs usable again after the fault: both ends up, no
    /// partition either way, no hold, no loss, the route known.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub healed: Vec<[Text; 2]>,
}

/// The run header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Start {
    /// The trace format ([`FORMAT_VERSION`] when written by this build).
    #[serde(default)]
    pub format: u32,
    /// Always 0.
    pub t: Micros,
    /// Scenario name.
    pub scenario: String,
    /// The simulation seed.
    pub seed: u64,
    /// The nodes, in scenario order.
    pub nodes: Vec<String>,
    /// Every ship call's deadline.
    pub deadline_us: Micros,
    /// The simulation tick: events are stamped with tick granularity.
    pub tick_us: Micros,
    /// The settle phase's budget; absent from a trace whose run had no settle phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_us: Option<Micros>,
    /// `exactly-once` or `at-least-once`.
    pub delivery: ExpectDelivery,
    /// `per-batch` or `none`.
    pub ordering: ExpectOrdering,
    /// `consistent` or `ignore`.
    pub stats: ExpectStats,
    /// Shards keys are spread over (`fnv1a_64(key) % shards`).
    #[serde(default)]
    pub shards: u32,
    /// The members of the initial shard map (epoch 0); empty means every node.
    #[serde(default)]
    pub members: Vec<String>,
    /// `owner` (every event must go to its shard's owner) or `ignore`.
    #[serde(default)]
    pub placement: ExpectPlacement,
    /// The workload's rate asked for, events per second per sending node
    /// (0 when unknown): the report compares the achieved rate with it.
    #[serde(default)]
    pub rate: f64,
    /// The name of the transport the run ran on (`tcp`, `grpc`, or what another system calls
    /// itself); named apart from `transport`, the key the timing holds.
    #[serde(default)]
    pub transport_name: String,
    /// The transport's settings as it runs them, for the `recovery` rule; absent when the
    /// transport gave none, which skips that rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<TransportTiming>,
    /// The transport settings the run declared (the scenario's `transport`), before the
    /// transport normalized any of them: the `recovery` rule derives its bounds from these
    /// through the bundled transports' documented contract, and the `contract` rule compares
    /// that derivation with `transport`. Absent from traces that declare nothing (the rules
    /// then fall back to `transport`, or are skipped, and the report says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declared: Option<DeclaredTransport>,
    /// What the run's transport cannot do (empty, and absent from the trace, for the bundled
    /// transports): the rules that need it are skipped and the report says why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lacks: Vec<Lack>,
    /// The transport says its `Ok` to a call means the receiver's sink accepted every event
    /// the call counts (it answers only after the accept): the rule `ok-before-delivery` then
    /// holds remote calls too. The bundled transports are known by name; absent (false) from
    /// every other trace that does not say it, whose remote calls may be answered once a broker
    /// stored the events.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ok_after_accept: bool,
}

/// A change of the cluster's membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MembershipChange {
    /// A node entered the shard map.
    Join,
    /// A node left the shard map (its process may keep running).
    Leave,
}

/// The transport settings that bound how fast a correct transport recovers
/// from a healed fault, and the network's worst latency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportTiming {
    /// Connections (slots) per destination; calls go to them round-robin.
    pub connections: u32,
    /// Frames in flight per connection.
    pub max_unacked: u32,
    /// A connection whose writes go unanswered is given up at most this long after the
    /// oldest unanswered write (see `transport::Timing`).
    pub ack_timeout_us: Micros,
    /// How late an answer may be before a connection is given up; 0 (absent) means
    /// `ack_timeout_us`.
    #[serde(default)]
    pub answer_timeout_us: Micros,
    /// A connection attempt longer than this fails.
    pub connect_timeout_us: Micros,
    /// First reconnect delay; doubles per consecutive failure.
    pub backoff_min_us: Micros,
    /// Cap of the reconnect delay.
    pub backoff_max_us: Micros,
    /// The highest one-way message latency any link can have in the run: the
    /// network's and every `latency` fault's maximum.
    pub latency_max_us: Micros,
    /// The receiving application's worst per-accept latency (`sink.latency`):
    /// each event of a ship may wait this long before its ack.
    #[serde(default)]
    pub sink_latency_max_us: Micros,
    /// Whether the sink may answer busy (`sink.busy` above 0): a refusal
    /// repeats with some probability each time, so no bound holds.
    #[serde(default)]
    pub sink_busy: bool,
}

/// The transport settings a run declared, as written (a scenario's `transport`), before any
/// normalization: what the system under test was asked to run with, as opposed to what it
/// reports running with ([`TransportTiming`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredTransport {
    /// Connections (slots) per destination.
    pub connections: u32,
    /// Frames in flight per connection.
    pub max_unacked: u32,
    /// How long the oldest unacknowledged frame may wait for its ack.
    pub ack_timeout_us: Micros,
    /// The longest a ship call may take.
    pub deadline_us: Micros,
    /// How long a connection attempt may take.
    pub connect_timeout_us: Micros,
    /// First reconnect delay.
    pub backoff_min_us: Micros,
    /// Cap of the reconnect delay, as declared.
    pub backoff_max_us: Micros,
    /// Largest frame body, in bytes.
    pub max_frame: u64,
}

/// Phases of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Faults are being applied on their schedule.
    Faults,
    /// Every fault is healed, every node runs: everything must converge.
    Settle,
    /// The run is over; the final stats follow.
    End,
}

/// A connection attempt's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectState {
    /// The attempt begins.
    Begin,
    /// The attempt failed before carrying anything.
    Failed,
}

/// Whether a life begins or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LifeState {
    /// The host's software started.
    Up,
    /// The host crashed (or was bounced).
    Down,
}

/// How a `ship_batch` call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every event was delivered.
    Ok,
    /// Stopped with `NoRoute`: the rest certainly not delivered.
    NoRoute,
    /// Stopped with another error that certainly did not deliver the rest.
    NotDelivered,
    /// Stopped with an ambiguous error: the rest may have been delivered.
    Ambiguous,
    /// Stopped because the receiver refused the rest: it does not own their
    /// shards under its map (`WrongOwner`). Certainly not delivered; the
    /// sender learns the map and re-plans them.
    Refused,
}

/// One event of a `ShipBegin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedRecord {
    /// The event's id.
    pub id: EventId,
    /// Its routing key.
    pub key: Text,
    /// Its shard.
    pub shard: u32,
    /// Its payload (UTF-8 JSON), as shipped.
    pub payload: Text,
}

/// A failed invariant, as reported. In the trace its rule is two strings, `invariant` and
/// `rule` (`"delivery"`, `"no-loss"`); a trace naming a rule no checker has does not load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ViolationJson", try_from = "ViolationJson")]
pub struct Violation {
    /// When it was detected (the time of the offending record, or the end of the run).
    pub t: Micros,
    /// The rule broken, which names its invariant.
    pub rule: Rule,
    /// The event concerned, when there is one.
    pub event: Option<EventRef>,
    /// What should have happened.
    pub expected: String,
    /// What happened.
    pub actual: String,
}

impl Violation {
    /// The invariant broken.
    pub fn invariant(&self) -> Invariant {
        self.rule.invariant()
    }
}

/// A [`Violation`] as the trace spells it.
#[derive(Serialize, Deserialize)]
struct ViolationJson {
    t: Micros,
    invariant: Invariant,
    rule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<EventRef>,
    expected: String,
    actual: String,
}

impl From<Violation> for ViolationJson {
    fn from(v: Violation) -> Self {
        let (invariant, rule) = (v.rule.invariant(), v.rule.as_str().to_owned());
        ViolationJson { t: v.t, invariant, rule, event: v.event, expected: v.expected, actual: v.actual }
    }
}

impl TryFrom<ViolationJson> for Violation {
    type Error = String;

    fn try_from(v: ViolationJson) -> Result<Self, String> {
        let rule = Rule::parse(v.invariant, &v.rule)
            .ok_or_else(|| format!("invariant `{}` has no rule `{}`", v.invariant, v.rule))?;
        Ok(Violation { t: v.t, rule, event: v.event, expected: v.expected, actual: v.actual })
    }
}

/// A node's router counters, read at the end of one life: what the system under test says
/// about itself, which the stats checker compares with what the trace shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipperCounters {
    /// Events a remote node acknowledged.
    pub sent: u64,
    /// Events the local sink accepted.
    pub local: u64,
    /// Events with no local sink, or whose destination the transport could not route to.
    pub no_route: u64,
    /// Events certainly not delivered for any other reason.
    pub send_failures: u64,
    /// Events that may or may not have been delivered.
    #[serde(default)]
    pub ambiguous: u64,
}

impl ShipperCounters {
    /// Every event ever handed to the shipper: the counters partition them.
    pub fn attempts(&self) -> u64 {
        self.sent + self.local + self.no_route + self.send_failures + self.ambiguous
    }
}

/// Names an event the way a person debugging the run looks for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRef {
    /// The event id.
    pub id: EventId,
    /// The sending node.
    pub node: String,
    /// The batch.
    pub batch: u64,
    /// Its index in the batch.
    pub index: u32,
}
