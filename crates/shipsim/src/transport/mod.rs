//! The transport seam: what the runner needs from a transport on a simulated host, so that
//! any `shipper::ShipperTransport` (not only shipper-net's TCP one, see `tcp.rs`) can be run
//! through the scenarios, the checkers, explore and shrinking.
//!
//! A [`TransportFactory`] builds one [`NodeTransport`] per process life of each node, inside
//! that node's turmoil host (so a transport opens turmoil sockets and spawns tasks on the
//! host's `LocalSet` as it would on a real machine). What a transport cannot do is declared up
//! front in its [`Capabilities`]: the trace's `Start` record lists what is missing (`lacks`)
//! and the checkers report the rules that need it as skipped, with the reason, instead of
//! letting them pass silently.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use shipper::{Fence, NodeId, ShippedEvent, ShipperTransport};
pub use shipper_net::{EventSink, SinkClosed, SinkError};
use shipsim_trace::Lack;

use crate::scenario::Scenario;
use crate::seeds;

pub(crate) mod frames;
pub(crate) mod grpc;
pub(crate) mod kinds;
pub(crate) mod nats;
pub(crate) mod tcp;

/// Counters a node's transport exposes, read at the end of each life into the trace's
/// `stats` record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetCounters {
    /// Events the server handed to the sink.
    pub received: u64,
    /// Duplicates the server dropped.
    pub duplicates_dropped: u64,
    /// Frames the client resent.
    pub retransmits: u64,
}

/// The counters of shipper-net's stats, which its TCP transport and shipper-grpc's both keep.
impl From<shipper_net::NetStatsSnapshot> for NetCounters {
    fn from(s: shipper_net::NetStatsSnapshot) -> Self {
        NetCounters {
            received: s.received,
            duplicates_dropped: s.duplicates_dropped,
            retransmits: s.retransmits,
        }
    }
}

/// A boxed future that stays on the host's thread (turmoil hosts run on a `LocalSet`).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A node's receiving side, bound and ready: the future that serves it. The node spawns it on
/// its host; it runs until the process ends (or the sink closes).
pub type Server = LocalFuture<'static, io::Result<()>>;

/// Builds the transports of a run: one per node and process life. Shared by the runs of an
/// explore sweep, which run on several threads.
///
/// The scenario's transport-side settings are the factory's to apply: shipsim's TCP factory
/// cuts byte streams (`network.segment`) and sets `transport.max_frame`/`max_unacked`; a
/// factory that ignores them runs those variants as the plain run. A sink's busy answers
/// reach a transport only through [`shipper::EventSink::try_accept`]: one that calls `accept`
/// never sees them.
pub trait TransportFactory: Send + Sync + 'static {
    /// Builds `life.node`'s transport for one process life (called inside the turmoil host,
    /// at every start and restart of the node).
    fn build(&self, life: &LifeContext<'_>) -> Arc<dyn NodeTransport>;

    /// What every transport this factory builds can do. Missing capabilities are written into
    /// the trace (`Start.lacks`) and skip the rules that need them. The default: none.
    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// The transport's timing as it runs it under `scenario`, which bounds how fast it
    /// recovers from a healed fault (the liveness rule `recovery`). For a bundled transport
    /// the checkers derive those bounds from the scenario's declared settings through its
    /// documented contract instead, and the rule `contract` compares this timing with them;
    /// a transport whose contract they do not know is bounded by this timing as given (the
    /// report says so). `None` (the default) skips both rules.
    fn timing(&self, _scenario: &Scenario) -> Option<Timing> {
        None
    }

    /// The transport's name, written into the trace's `Start` record (`transport_name`) and
    /// shown in the report's and the diagram's header, so a run says what it ran on. The
    /// bundled factories give their `transport.kind` spelling (`tcp`, `grpc`); the default is
    /// `custom`.
    fn name(&self) -> String {
        "custom".to_owned()
    }

    /// Whether `scenario` fits this transport's own limits (a frame or message size): `Err`
    /// says what does not fit. [`crate::load`] checks a file against the bundled transport
    /// it names and reports the error at the sizes that decide it; a run checks its factory
    /// before it starts. The default: every scenario fits.
    fn check(&self, _scenario: &Scenario) -> Result<(), String> {
        Ok(())
    }

    /// Whether this transport's `Ok` to a call means the receiver's sink accepted every event
    /// the call counts, its answer sent only after the accept. Say so, and the rule
    /// `ok-before-delivery` holds its remote calls to it: a delivery stamped after the call's
    /// end fires it with no crash needed, where only a crash in that window would show the
    /// acknowledged event lost. The default: `false`, for a transport that may answer once a
    /// broker stored the events; its local calls are held to the rule all the same. The
    /// bundled transports are known to the checker by name.
    fn ok_after_accept(&self) -> bool {
        false
    }

    /// Why a simulation cannot run this transport at all (it runs on a real network only,
    /// `shipsim run --real`): a simulated run is refused with it before it starts. The
    /// default: `None`, every transport built on the `Network` seam runs simulated.
    fn real_only(&self) -> Option<String> {
        None
    }
}

/// What a [`NodeTransport`] can do beyond shipping and serving.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// It reports each ack it receives through [`LifeContext::observer`]: checks
    /// `redelivery-after-ack` (an event acked to its sender must not be delivered again after
    /// the receiver restarts) and, with [`TransportFactory::timing`], the liveness rule
    /// `recovery` (its bounds count from each connection's last ack).
    pub acks: bool,
    /// [`NodeTransport::counters`] reads real counters: checks the `stats` rule `received`.
    pub counters: bool,
    /// [`NodeTransport::drop_route`] and [`NodeTransport::restore_route`] work: a scenario
    /// with `drop-route` or `restore-route` faults can run (without, it is refused with an
    /// error before it starts).
    pub routes: bool,
}

impl Capabilities {
    /// Everything.
    pub const ALL: Capabilities = Capabilities { acks: true, counters: true, routes: true };

    /// The names the trace's `Start.lacks` uses for what is missing, in a fixed order
    /// (`timing` is added by the runner when the factory gives none).
    pub fn lacks(&self) -> Vec<Lack> {
        let mut lacks = Vec::new();
        if !self.acks {
            lacks.push(Lack::Acks);
        }
        if !self.counters {
            lacks.push(Lack::Counters);
        }
        lacks
    }
}

/// The settings that bound a transport's recovery after a healed fault (see the `recovery`
/// rule in `check/recovery.rs` for how each is used).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Connections (slots) per destination; calls go to them round-robin.
    pub connections: u32,
    /// Frames in flight per connection.
    pub max_unacked: u32,
    /// A connection whose writes go unanswered is given up at most this long after the
    /// oldest unanswered write (TCP: an unacked frame this old; gRPC: the keepalive's interval
    /// plus its timeout).
    pub ack_timeout: Duration,
    /// How late an answer (TCP: an ack; gRPC: a keepalive pong) may be before the connection
    /// is given up: a round trip longer than this can kill a healthy connection, and then
    /// nothing bounds recovery (the rule is skipped). TCP: the ack timeout again.
    pub answer_timeout: Duration,
    /// A connection attempt longer than this fails.
    pub connect_timeout: Duration,
    /// First reconnect delay; doubles per consecutive failure, restarts at an ack.
    pub backoff_min: Duration,
    /// Cap of the reconnect delay.
    pub backoff_max: Duration,
}

/// One process life of one node, as its transport is built for it.
pub struct LifeContext<'a> {
    /// The scenario being run.
    pub scenario: &'a Scenario,
    /// The node.
    pub node: &'a str,
    /// Its process life, from 1.
    pub life: u32,
    /// Every node of the scenario, in scenario order (the peers to register).
    pub nodes: &'a [String],
    /// Where the transport reports the acks it receives (if it has [`Capabilities::acks`]).
    pub observer: Arc<dyn AckObserver>,
    pub(crate) run_seed: u64,
}

impl LifeContext<'_> {
    /// A seed for this node and life, derived from the run's seed and `label`: a transport
    /// draws all of its randomness from seeds like this, so the run stays deterministic.
    pub fn seed(&self, label: &str) -> u64 {
        let life = self.life.to_string();
        seeds::derive(self.run_seed, &[self.node.as_bytes(), label.as_bytes(), life.as_bytes()])
    }
}

/// What a transport tells the harness while it runs (the trace records it).
pub trait AckObserver: Send + Sync {
    /// The node's transport got the ack of `event` from `dst` (also one that came after its
    /// ship call gave up).
    fn on_ack(&self, dst: &NodeId, event: &ShippedEvent);

    /// The node's receiving side dropped frame `seq` from `peer` while `expected` was next
    /// (for transports that number their frames).
    fn on_stream_gap(&self, _peer: &NodeId, _seq: u64, _expected: u64) {}

    /// The node's transport begins a connection attempt to `dst` on its connection slot
    /// `slot` (0 for a transport with one connection per destination). With
    /// [`AckObserver::on_connect_failed`] it lets the `reconnect-spacing` rule hold the
    /// transport to its declared backoff; a transport that reports neither has the rule
    /// skipped, and the summary says so.
    fn on_connect_attempt(&self, _dst: &NodeId, _slot: u32) {}

    /// That attempt failed before carrying anything.
    fn on_connect_failed(&self, _dst: &NodeId, _slot: u32) {}
}

/// One node's transport for one process life.
pub trait NodeTransport: Send + Sync {
    /// What the node's `EventShipper` ships through.
    fn shipper_transport(&self) -> Arc<dyn ShipperTransport>;

    /// Binds the receiving side (awaited before the node's workload starts) and returns the
    /// server that hands what arrives to `sink`, asking `fence` (the node's router) about
    /// each event first; the node spawns it.
    fn serve(&self, sink: Arc<dyn EventSink>, fence: Arc<dyn Fence>) -> LocalFuture<'_, io::Result<Server>>;

    /// The transport's counters now (read when the life ends); only with
    /// [`Capabilities::counters`].
    fn counters(&self) -> NetCounters {
        NetCounters::default()
    }

    /// Forget the route to `to`: its calls to `to` fail with `NoRoute` (a stale
    /// service-discovery entry). Only with [`Capabilities::routes`].
    fn drop_route(&self, _to: &str) {}

    /// Know the route to `to` again. Only with [`Capabilities::routes`].
    fn restore_route(&self, _to: &str) {}
}

/// Whether the scenario needs a capability the factory lacks: the run is refused with why.
pub(crate) fn unsupported(scenario: &Scenario, capabilities: Capabilities) -> Option<String> {
    use crate::scenario::FaultAction;
    let routes = scenario
        .faults
        .iter()
        .find(|f| matches!(f.action, FaultAction::DropRoute { .. } | FaultAction::RestoreRoute { .. }));
    match routes {
        Some(fault) if !capabilities.routes => {
            Some(format!("the transport cannot drop or restore routes, which the fault {fault} needs"))
        }
        _ => None,
    }
}
