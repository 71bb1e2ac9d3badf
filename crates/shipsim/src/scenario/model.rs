//! The validated scenario: plain Rust values the runner can trust.
//!
//! Everything here has passed the loader's checks (see `validate.rs` and `timeline.rs`): names
//! are well-formed, every node a fault names exists, the fault timeline is ordered and makes
//! sense step by step. No YAML types appear here, so the runner, the shrinker and proptest
//! strategies can build and inspect scenarios without knowing how they are stored.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use shipsim_trace::{ExpectDelivery, ExpectOrdering, ExpectPlacement, ExpectStats, FaultKind};

/// One scenario file: a cluster, its workload, a fault timeline and what must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// `[a-z0-9-]+`; names the test cases `cargo test` runs.
    pub name: String,
    /// What this scenario is aimed at (free text; empty when not given).
    pub description: String,
    /// Seeds `cargo test` runs; default `[1]`, never empty, no duplicates.
    pub seeds: Vec<u64>,
    /// 1..=128 unique node names, each `[a-z0-9-]+`, in the order written.
    pub nodes: Vec<String>,
    /// Number of shards (default 16, at least 1).
    pub shards: u32,
    /// The shard map's members at the start (epoch 0), in the order written; `None` (the
    /// default): every node. Never empty, no duplicates, scenario nodes only. See
    /// [`Scenario::initial_members`].
    pub members: Option<Vec<String>>,
    /// How membership changes (`join`, `leave`) reach the nodes.
    pub membership: Membership,
    /// Simulated time budget for the whole run (default 60s, more than 0).
    pub duration: Duration,
    /// Network defaults applied to every link.
    pub network: Network,
    /// Settings of the shipper's network transport.
    pub transport: TransportSettings,
    /// How each node's receiving application takes events (default: at once, never busy).
    pub sink: Sink,
    /// What each node routes.
    pub workload: Workload,
    /// The fault timeline, ordered by `at`.
    pub faults: Vec<Fault>,
    /// The invariants to check and how long the cluster may take to converge.
    pub expect: Expect,
}

/// A per-message latency: one value (`5ms`, min == max) or a range (`1ms..20ms`); min <= max.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencyRange {
    /// The shortest latency a message gets.
    pub min: Duration,
    /// The longest latency a message gets.
    pub max: Duration,
}

impl LatencyRange {
    /// A fixed latency.
    pub const fn fixed(value: Duration) -> LatencyRange {
        LatencyRange { min: value, max: value }
    }
}

/// A range of byte sizes: one value (`4KiB`, min == max) or `16B..256KiB`; min <= max.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRange {
    /// The smallest size, in bytes.
    pub min: u64,
    /// The largest size, in bytes.
    pub max: u64,
}

/// How a membership change reaches the nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// Each node installs a new shard map this long after the change, a seeded value in this
    /// range per node and change (written `0ms..500ms`, or one value; default 0ms).
    pub propagation: LatencyRange,
}

impl Default for Membership {
    fn default() -> Membership {
        Membership { propagation: LatencyRange::fixed(Duration::ZERO) }
    }
}

/// Network defaults for every link.
#[derive(Debug, Clone, PartialEq)]
pub struct Network {
    /// Default 1ms.
    pub latency: LatencyRange,
    /// Probability that a message is dropped, in 0..=1 (default 0).
    pub loss: f64,
    /// `segment: 1..1500`: every connection's byte stream, both ways, is cut into pieces of
    /// seeded sizes in this range (bytes, within 1..=[`Network::MAX_SEGMENT`]): each write
    /// travels as pieces of at most a drawn size and each read returns at most a drawn number
    /// of bytes, so reads end inside frames and span several. `None` (the default): each write
    /// travels whole and each read returns one write's bytes.
    pub segment: Option<SizeRange>,
}

impl Network {
    /// The largest `segment` size: a link writes at most 64 KiB of queued frames at once.
    pub const MAX_SEGMENT: u64 = 64 * 1024;
}

/// Settings of the transport between nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct TransportSettings {
    /// The bundled transport the scenario runs on (`kind: tcp` or `kind: grpc`); `None` (the
    /// key not written): [`TransportKind::default`], TCP. Kept apart from that default so a
    /// file without the key writes back without it, and one that names its transport keeps
    /// it (a repro replays on the transport it failed on).
    pub kind: Option<TransportKind>,
    /// Connection pool size per destination, 1..=16 (default 2).
    pub connections: usize,
    /// How long a sender waits for an ack before retransmitting (default 200ms, more than 0).
    pub ack_timeout: Duration,
    /// How long a ship may take in total (default 5s, more than 0).
    pub deadline: Duration,
    /// Largest frame body the transport sends or accepts, in bytes (default 1MiB, the
    /// transport's own default; within [`TransportSettings::MAX_FRAME_RANGE`]). Every frame the
    /// workload can make must fit.
    pub max_frame: u64,
    /// Frames in flight (written, not yet acknowledged) per connection, within
    /// 1..=[`TransportSettings::MAX_UNACKED`] (default 64, the transport's own default).
    pub max_unacked: usize,
    /// How long one connection attempt may take before it counts as failed (default 1s, more
    /// than 0). Across a partition an attempt's SYN is lost and the attempt waits this long.
    pub connect_timeout: Duration,
    /// The reconnect backoff: first delay `min`, doubling per consecutive failure up to `max`
    /// (written `10ms..500ms`, the default; one value: min == max). The transport caps both at
    /// a quarter of `deadline`.
    pub backoff: LatencyRange,
    /// The NATS broker's server settings (`transport.broker`, `kind: nats` only): what real
    /// mode starts nats-server with. Default: the server's own.
    pub broker: BrokerSettings,
}

/// `transport.broker`: nats-server's limits, each the server's default when not written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BrokerSettings {
    /// The largest message the server takes (`max_payload`, its default 1 MiB); a client
    /// learns it from the server's `INFO`.
    pub max_payload: Option<u64>,
    /// How many bytes may wait for a client before the server cuts it off as a slow
    /// consumer (`max_pending`, its default 64 MiB).
    pub max_pending: Option<u64>,
    /// How long a write to a client may block before the server cuts it off as a slow
    /// consumer (`write_deadline`, its default 10 s).
    pub write_deadline: Option<Duration>,
}

/// A transport shipsim bundles, as `transport.kind` and `--transport` name it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TransportKind {
    /// `tcp`: shipper-net's acked TCP transport (the default).
    #[default]
    Tcp,
    /// `grpc`: the gRPC transport.
    Grpc,
    /// `nats`: shipper-nats's transport through a NATS broker. Real mode only
    /// (`shipsim run --real`): async-nats opens tokio sockets itself, so it cannot run on
    /// turmoil's network; a simulation refuses it. `broker` names the broker in faults.
    Nats,
}

impl TransportKind {
    /// Every bundled transport a simulation runs, in the order cases and help texts list
    /// them: each bundled scenario runs on each.
    pub const ALL: [TransportKind; 2] = [TransportKind::Tcp, TransportKind::Grpc];

    /// Every bundled transport, real-mode-only ones included: what `transport.kind` and
    /// `--transport` accept.
    pub const EVERY: [TransportKind; 3] = [TransportKind::Tcp, TransportKind::Grpc, TransportKind::Nats];

    /// The name faults give the NATS broker (`crash: broker`, `partition: [[n1], [broker]]`);
    /// no node of a NATS scenario may take it.
    pub const BROKER: &'static str = "broker";

    /// Why a simulation cannot run this transport, if it cannot.
    pub fn real_only(self) -> Option<&'static str> {
        match self {
            TransportKind::Nats => Some(
                "the NATS transport runs in real mode only (shipsim run --real): async-nats opens \
                 tokio sockets itself, so it cannot run on the simulated network, and shipsim \
                 has no model of a NATS broker to stand in for nats-server (docs/transports.md#nats)",
            ),
            _ => None,
        }
    }

    /// The YAML and command-line spelling.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Tcp => "tcp",
            TransportKind::Grpc => "grpc",
            TransportKind::Nats => "nats",
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parses the spelling [`TransportKind::name`] gives; the error lists the accepted ones (the
/// loader and `--transport` both say it).
impl FromStr for TransportKind {
    type Err = String;

    fn from_str(s: &str) -> Result<TransportKind, String> {
        TransportKind::EVERY.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<&str> = TransportKind::EVERY.iter().map(|k| k.name()).collect();
            format!("invalid transport kind `{s}`: expected one of {}", names.join(", "))
        })
    }
}

impl TransportSettings {
    /// The `max_frame` values accepted: a frame must hold at least a `Hello`; beyond 1 GiB a
    /// simulation only runs out of memory.
    pub const MAX_FRAME_RANGE: std::ops::RangeInclusive<u64> = 64..=(1 << 30);
    /// The largest `max_unacked`.
    pub const MAX_UNACKED: usize = 1 << 16;
}

/// The receiving application of every node (the scenario's `sink` section): how long each
/// accept of an event that came over the network takes, and how often the application
/// refuses one as busy. Local events (sender and owner the same node) skip it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sink {
    /// Per-accept latency, drawn uniformly per event from the seed (default 0ms). The event
    /// counts as delivered when it ends; a crash of the node meanwhile drops it.
    pub latency: LatencyRange,
    /// Probability that an accept is refused as busy, in 0..1 (default 0; 1 would refuse
    /// everything forever). The transport offers the event again after a short pause.
    pub busy: f64,
}

/// What each node routes.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Events each node routes (default 100).
    pub events: u64,
    /// Events per second per node, finite and more than 0 (written `200/s`, the default).
    pub rate: f64,
    /// Events per `route_batch` call.
    pub batch: BatchSize,
    /// Distinct routing keys, at least 1 (default 64).
    pub keys: u32,
    /// The nodes that route events (`senders: [n1]`); `None` (the default): every node. The
    /// others route nothing and only receive. Never empty, no duplicates, scenario nodes only.
    pub senders: Option<Vec<String>>,
    /// `payload: 16B..256KiB`: each event's JSON payload is padded to a seeded size in this
    /// range (log-uniform by octave, see `workload.rs`; a size below the JSON's own length
    /// leaves it unpadded), within 1..=[`Workload::MAX_PAYLOAD`]. `None` (the default): the
    /// compact payload `{"id":N,"src":"n1","seq":S}`, about 40 bytes.
    pub payload: Option<SizeRange>,
    /// Route calls each node may have in flight at once, 1..=[`Workload::MAX_CONCURRENCY`]
    /// (default 1: each call waits for the one before it). Calls are still issued on the
    /// rate's schedule; a node with this many in flight waits for one to end before planning
    /// the next. Each runs the router's own loop with its own deadline, as a task of its own.
    pub concurrency: u32,
}

impl Workload {
    /// The largest `payload` size (each event is held in memory until checked).
    pub const MAX_PAYLOAD: u64 = 16 << 20;
    /// The most route calls a node may have in flight at once.
    pub const MAX_CONCURRENCY: u32 = 64;

    /// Whether `node` routes events.
    pub fn sends(&self, node: &str) -> bool {
        self.senders.as_ref().is_none_or(|senders| senders.iter().any(|s| s == node))
    }

    /// The events `node` routes: `events` for a sender, 0 for the others.
    pub fn events_of(&self, node: &str) -> u64 {
        if self.sends(node) { self.events } else { 0 }
    }
}

/// Events per `route_batch` call: `4` (min == max) or `1..8`; 1 <= min <= max.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchSize {
    /// The fewest events in one call (at least 1).
    pub min: u32,
    /// The most events in one call.
    pub max: u32,
}

/// One step of the fault timeline.
///
/// `PartialEq` ignores [`Fault::line`]: it records where the fault was written, for reports,
/// and is not part of what the fault does. A scenario written by `to_yaml` and read back is
/// therefore equal to the original even though its faults sit on other lines.
#[derive(Debug, Clone)]
pub struct Fault {
    /// Simulated time since the start of the run; non-decreasing along the timeline and at
    /// most the scenario's `duration`.
    pub at: Duration,
    /// What the fault does.
    pub action: FaultAction,
    /// 1-based line of the fault in its file (0 for faults built in code).
    pub line: usize,
}

impl PartialEq for Fault {
    fn eq(&self, other: &Fault) -> bool {
        self.at == other.at && self.action == other.action
    }
}

/// What a fault does. The variant names mirror the YAML keys (see [`FaultAction::kind`]).
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Groups of nodes; every link between two different groups is cut both ways. Nodes not
    /// listed in any group are unaffected. At least two non-empty, disjoint groups.
    Partition(Vec<Vec<String>>),
    /// Messages from `from` to `to` are dropped; the other direction still works.
    PartitionOneway {
        /// The sender whose messages are dropped.
        from: String,
        /// The receiver they no longer reach.
        to: String,
    },
    /// Repairs partitions (both kinds); holds are not affected.
    Heal(HealTarget),
    /// Stops a running node; its process state is lost.
    Crash(String),
    /// Starts a crashed node again (a new process life).
    Restart(String),
    /// Crash and restart of a running node at the same instant.
    Bounce(String),
    /// Messages on the link wait (in both directions) until a reorder or release.
    Hold(Link),
    /// Delivers the link's held messages one by one in a seeded random order, then releases
    /// the link (it is no longer held afterwards).
    Reorder(Link),
    /// Delivers the link's held messages in order and lets new ones through.
    Release(Link),
    /// Sets the per-message latency of one link.
    Latency {
        /// The link (both directions).
        link: Link,
        /// The latency each message on it gets from now on.
        value: LatencyRange,
    },
    /// Sets the message loss probability (0..=1) of one link.
    Loss {
        /// The link (both directions).
        link: Link,
        /// The probability that one message is lost, 0..=1.
        rate: f64,
    },
    /// `from`'s transport forgets its route to `to` (stale service discovery): `from`'s new
    /// ships to `to` fail at once with `NoRoute`, never sent, until a `restore-route`, a crash
    /// or bounce of `from` (a new process reads its routes afresh) or the settle phase. Calls
    /// already under way finish as usual. The network itself is untouched: `to` still reaches
    /// `from`.
    DropRoute {
        /// The node whose transport forgets the route.
        from: String,
        /// The node it can no longer ship to.
        to: String,
    },
    /// Gives back a route taken by `drop-route`.
    RestoreRoute {
        /// The node whose transport gets the route back.
        from: String,
        /// The node it can ship to again.
        to: String,
    },
    /// The node enters the shard map: the epoch advances, and each node installs the new map
    /// after its propagation delay. The node must not be a member at that point.
    Join(String),
    /// The node leaves the shard map (its process keeps running and receiving what is still
    /// sent to it under older maps). It must be a member, and not the last one.
    Leave(String),
    /// The node's process stops for `duration`, then continues (real mode: SIGSTOP, then
    /// SIGCONT; its sockets stay open, unread). A simulation cannot stop a host's process:
    /// it holds every link of the node for `duration` instead.
    Pause {
        /// The node paused.
        node: String,
        /// How long.
        duration: Duration,
    },
    /// The node's clock jumps `jump` ahead of everyone else's: every timer of its code due
    /// within the jump fires at once, and its clock stays that far ahead (a simulation moves
    /// the node's tokio clock; docs/scenarios.md, "Clock faults"). Forward only.
    Clock {
        /// The node whose clock jumps.
        node: String,
        /// How far forward (more than zero).
        jump: Duration,
    },
    /// From now on the node's clock runs `ppm` parts per million fast (above 0) or slow (below
    /// 0) against everyone else's, until its next skew (`0` restores the common pace; a
    /// simulation sets the pace of the node's host clock; docs/scenarios.md, "Clock faults").
    /// Written `clock: {node, skew}`: its kind is `clock`.
    Skew {
        /// The node whose clock is skewed.
        node: String,
        /// The skew in parts per million, from -900,000 (-90%) to 9,000,000 (+900%).
        ppm: i64,
    },
}

impl FaultAction {
    /// The YAML key of this action, e.g. `"partition-oneway"`.
    pub fn kind(&self) -> FaultKind {
        // The trace's form has the same kind: one list of kinds, not two.
        self.traced().kind()
    }

    /// The links a partition cuts (both ways): every pair of nodes in two different groups,
    /// group by group in the order written. Empty for every other action. The one place the
    /// loader's timeline walk and the runner expand groups, so they cannot disagree.
    pub fn cut_links(&self) -> Vec<Link> {
        let FaultAction::Partition(groups) = self else { return Vec::new() };
        let mut links = Vec::new();
        for (i, left) in groups.iter().enumerate() {
            for right in &groups[i + 1..] {
                for a in left {
                    for b in right {
                        links.push(Link::new(a.clone(), b.clone()));
                    }
                }
            }
        }
        links
    }
}

impl HealTarget {
    /// Whether this heal repairs a partition (of either kind) between `a` and `b`: `all`
    /// repairs every one, a node list those with an end in the list. Shared by the loader's
    /// timeline walk and the runner.
    pub fn repairs(&self, a: &str, b: &str) -> bool {
        match self {
            HealTarget::All => true,
            HealTarget::Nodes(nodes) => nodes.iter().any(|n| n == a || n == b),
        }
    }
}

/// What a heal repairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealTarget {
    /// Every partition and one-way partition (`heal: all`).
    All,
    /// Every partitioned link, in either direction, that touches one of these nodes
    /// (`heal: [n1, n2]`).
    Nodes(Vec<String>),
}

/// A link between two different nodes. The link itself is unordered (`[n1, n2]` and
/// `[n2, n1]` are the same link, see [`Link::same_as`]); the fields keep the order written so
/// that a scenario round-trips unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// One end, as written first.
    pub a: String,
    /// The other end.
    pub b: String,
}

impl Link {
    /// The link between `a` and `b` (the same link as between `b` and `a`).
    pub fn new(a: impl Into<String>, b: impl Into<String>) -> Link {
        Link { a: a.into(), b: b.into() }
    }

    /// The two ends in sorted order: the identity of the unordered link.
    pub fn key(&self) -> (&str, &str) {
        if self.a <= self.b { (&self.a, &self.b) } else { (&self.b, &self.a) }
    }

    /// Whether both links join the same two nodes, in whatever order they were written.
    pub fn same_as(&self, other: &Link) -> bool {
        self.key() == other.key()
    }

    /// Whether `node` is one of the link's ends.
    pub fn touches(&self, node: &str) -> bool {
        self.a == node || self.b == node
    }

    /// Both directions, `(from, to)`, in the order written: what a one-way
    /// partition on the link would be keyed by. The loader's checks and the
    /// runner look a link's one-way partitions up through this.
    pub fn directions(&self) -> [(&str, &str); 2] {
        [(&self.a, &self.b), (&self.b, &self.a)]
    }
}

/// What must hold at the end of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// Default `exactly-once`.
    pub delivery: ExpectDelivery,
    /// Default `per-batch`.
    pub ordering: ExpectOrdering,
    /// Default `consistent`.
    pub stats: ExpectStats,
    /// Default `owner`.
    pub placement: ExpectPlacement,
    /// After the last fault everything heals; the cluster must converge within this (default
    /// 10s, more than 0).
    pub settle: Duration,
}

/// Defaults of the optional sections, as `docs/scenarios.md` documents them.
impl Default for Network {
    fn default() -> Network {
        Network { latency: LatencyRange::fixed(Duration::from_millis(1)), loss: 0.0, segment: None }
    }
}

impl TransportSettings {
    /// The transport's own default connect timeout.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
    /// The transport's own default reconnect backoff.
    pub const DEFAULT_BACKOFF: LatencyRange =
        LatencyRange { min: Duration::from_millis(10), max: Duration::from_millis(500) };
}

impl Default for TransportSettings {
    fn default() -> TransportSettings {
        TransportSettings {
            kind: None,
            connections: 2,
            ack_timeout: Duration::from_millis(200),
            deadline: Duration::from_secs(5),
            max_frame: shipper_net::DEFAULT_MAX_FRAME as u64,
            max_unacked: 64,
            connect_timeout: TransportSettings::DEFAULT_CONNECT_TIMEOUT,
            backoff: TransportSettings::DEFAULT_BACKOFF,
            broker: BrokerSettings::default(),
        }
    }
}

impl Default for Sink {
    fn default() -> Sink {
        Sink { latency: LatencyRange::fixed(Duration::ZERO), busy: 0.0 }
    }
}

impl Default for BatchSize {
    fn default() -> BatchSize {
        BatchSize { min: 1, max: 8 }
    }
}

impl Default for Workload {
    fn default() -> Workload {
        Workload {
            events: 100,
            rate: 200.0,
            batch: BatchSize::default(),
            keys: 64,
            senders: None,
            payload: None,
            concurrency: 1,
        }
    }
}

impl Default for Expect {
    fn default() -> Expect {
        Expect {
            delivery: ExpectDelivery::ExactlyOnce,
            ordering: ExpectOrdering::PerBatch,
            stats: ExpectStats::Consistent,
            placement: ExpectPlacement::Owner,
            settle: Duration::from_secs(10),
        }
    }
}

impl Scenario {
    /// The seeds run when the file gives no `seeds`.
    pub const DEFAULT_SEEDS: [u64; 1] = [1];
    /// The shard count when the file gives no `shards`.
    pub const DEFAULT_SHARDS: u32 = 16;
    /// The run's length when the file gives no `duration`.
    pub const DEFAULT_DURATION: Duration = Duration::from_secs(60);
    /// At most this many nodes. Each node keeps a connection pool to every other, so a cluster
    /// holds up to n(n-1) x `connections` connections, and turmoil steps every host at every
    /// tick: 128 nodes (up to 32,512 pooled connections) keep a run's memory well under 1 GiB and
    /// its cost per event within a few times a 4-node cluster's (docs/scenarios.md, "nodes").
    pub const MAX_NODES: usize = 128;
    /// At most this many pooled connections per destination.
    pub const MAX_CONNECTIONS: usize = 16;

    /// The shard map's members at epoch 0: `members`, or every node.
    pub fn initial_members(&self) -> Vec<String> {
        self.members.clone().unwrap_or_else(|| self.nodes.clone())
    }

    /// The members after each membership change of the timeline: index `e` holds the member
    /// set of epoch `e` (index 0: [`Self::initial_members`]), each in name order, with the
    /// change (`join`/`leave` and node) that made it. Epoch `e` is the e-th join or leave.
    pub fn epochs(&self) -> Vec<(Option<&FaultAction>, Vec<String>)> {
        let mut members = self.initial_members();
        members.sort();
        let mut epochs = vec![(None, members.clone())];
        for fault in &self.faults {
            match &fault.action {
                FaultAction::Join(node) => {
                    if let Err(at) = members.binary_search(node) {
                        members.insert(at, node.clone());
                    }
                }
                FaultAction::Leave(node) => members.retain(|m| m != node),
                _ => continue,
            }
            epochs.push((Some(&fault.action), members.clone()));
        }
        epochs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_equality_ignores_the_source_line() {
        let a = Fault { at: Duration::from_secs(1), action: FaultAction::Crash("n1".into()), line: 4 };
        let b = Fault { line: 40, ..a.clone() };
        assert_eq!(a, b);
        let c = Fault { at: Duration::from_secs(2), ..a.clone() };
        assert_ne!(a, c);
        let d = Fault { action: FaultAction::Restart("n1".into()), ..a.clone() };
        assert_ne!(a, d);
    }

    #[test]
    fn kind_is_the_yaml_key() {
        let link = Link::new("n1", "n2");
        let actions = [
            FaultAction::Partition(vec![]),
            FaultAction::PartitionOneway { from: "a".into(), to: "b".into() },
            FaultAction::Heal(HealTarget::All),
            FaultAction::Crash("a".into()),
            FaultAction::Restart("a".into()),
            FaultAction::Bounce("a".into()),
            FaultAction::Hold(link.clone()),
            FaultAction::Reorder(link.clone()),
            FaultAction::Release(link.clone()),
            FaultAction::Latency { link: link.clone(), value: LatencyRange::fixed(Duration::ZERO) },
            FaultAction::Loss { link, rate: 0.5 },
            FaultAction::DropRoute { from: "a".into(), to: "b".into() },
            FaultAction::RestoreRoute { from: "a".into(), to: "b".into() },
            FaultAction::Join("a".into()),
            FaultAction::Leave("a".into()),
            FaultAction::Pause { node: "a".into(), duration: Duration::from_millis(1) },
            FaultAction::Clock { node: "a".into(), jump: Duration::from_millis(1) },
        ];
        let kinds: Vec<FaultKind> = actions.iter().map(FaultAction::kind).collect();
        assert_eq!(kinds, FaultKind::scripted().collect::<Vec<_>>());
    }

    #[test]
    fn transport_kinds_parse_what_they_display() {
        for kind in TransportKind::ALL {
            assert_eq!(kind.to_string(), kind.name());
            assert_eq!(kind.name().parse::<TransportKind>(), Ok(kind));
        }
        assert_eq!(TransportKind::ALL.map(TransportKind::name), ["tcp", "grpc"]);
        assert_eq!(TransportKind::default(), TransportKind::Tcp);
        assert_eq!(
            "GRPC".parse::<TransportKind>(),
            Err("invalid transport kind `GRPC`: expected one of tcp, grpc, nats".to_owned())
        );
    }

    #[test]
    fn a_link_has_two_directions_in_the_order_written() {
        assert_eq!(Link::new("n1", "n2").directions(), [("n1", "n2"), ("n2", "n1")]);
    }

    #[test]
    fn links_are_unordered() {
        let ab = Link::new("n1", "n2");
        let ba = Link::new("n2", "n1");
        assert!(ab.same_as(&ba));
        assert_eq!(ab.key(), ("n1", "n2"));
        assert_eq!(ba.key(), ("n1", "n2"));
        assert!(!ab.same_as(&Link::new("n1", "n3")));
        assert!(ab.touches("n2") && !ab.touches("n3"));
    }

    #[test]
    fn a_partition_cuts_every_pair_across_groups_and_nothing_else() {
        let groups =
            vec![vec!["n1".to_owned()], vec!["n2".to_owned(), "n3".to_owned()], vec!["n4".to_owned()]];
        let keys: Vec<(String, String)> =
            FaultAction::Partition(groups).cut_links().iter().map(|l| (l.a.clone(), l.b.clone())).collect();
        let want = [("n1", "n2"), ("n1", "n3"), ("n1", "n4"), ("n2", "n4"), ("n3", "n4")];
        assert_eq!(keys, want.map(|(a, b)| (a.to_owned(), b.to_owned())));
        assert!(FaultAction::Crash("n1".to_owned()).cut_links().is_empty());
    }

    #[test]
    fn a_heal_of_nodes_repairs_only_pairs_with_a_listed_end() {
        let heal = HealTarget::Nodes(vec!["n2".to_owned()]);
        assert!(heal.repairs("n1", "n2") && heal.repairs("n2", "n3"));
        assert!(!heal.repairs("n1", "n3"));
        assert!(HealTarget::All.repairs("n1", "n3"));
    }
}
