//! shipper-net's acked TCP transport behind the transport seam (`transport.rs`): the default
//! transport of every run, configured by the scenario's `transport` and `network.segment`.
//! It has every capability: acks, counters, routes and timing.

use std::io;
use std::sync::Arc;

use shipper::{Fence, NodeId, ShippedEvent, ShipperTransport};
use shipper_net::{EventSink, NetConfig, NetTransport, Network, Segmented, TransportObserver, TurmoilNet};

use crate::scenario::{Scenario, TransportKind};
use crate::transport::{
    AckObserver, Capabilities, LifeContext, LocalFuture, NetCounters, NodeTransport, Server, Timing,
    TransportFactory,
};

/// The network of a simulated node: turmoil's, segmenting its streams when the scenario
/// sets `network.segment` ([`Segmented::off`] otherwise).
pub(crate) type NodeNet = Segmented<TurmoilNet>;

/// Builds shipper-net's `NetTransport` over turmoil for each node life.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpFactory;

impl TcpFactory {
    /// The transport settings this factory gives `node`'s life `life` of `scenario` (without
    /// the per-life RNG seed): for a program that runs shipper-net itself, as the harness would.
    pub fn net_config(scenario: &Scenario, node: &str, life: u32) -> NetConfig {
        net_config(scenario, node, life)
    }
}

impl TransportFactory for TcpFactory {
    fn build(&self, life: &LifeContext<'_>) -> Arc<dyn NodeTransport> {
        let net = network(life);
        let config = net_config(life.scenario, life.node, life.life).with_rng_seed(life.seed("transport"));
        let observer = Arc::new(Observer(life.observer.clone()));
        Arc::new(TcpNode::new(Arc::new(NetTransport::new(net, config).with_observer(observer))))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn timing(&self, scenario: &Scenario) -> Option<Timing> {
        let config = net_config(scenario, scenario.nodes.first()?, 1).normalized();
        Some(Timing {
            connections: u32::try_from(config.connections).unwrap_or(u32::MAX),
            max_unacked: u32::try_from(config.max_unacked).unwrap_or(u32::MAX),
            ack_timeout: config.ack_timeout,
            answer_timeout: config.ack_timeout,
            connect_timeout: config.connect_timeout,
            backoff_min: config.backoff_min,
            backoff_max: config.backoff_max,
        })
    }

    /// Every frame the run can send fits `transport.max_frame`: a bigger one would be refused
    /// by the sender, which no scenario that sets sizes means to test.
    fn check(&self, scenario: &Scenario) -> Result<(), String> {
        let transport = &scenario.transport;
        super::frames::check_fit(&scenario.nodes, &scenario.workload, transport.max_frame)
    }

    fn name(&self) -> String {
        TransportKind::Tcp.name().to_owned()
    }
}

/// The transport settings of `node`'s life `life` as the scenario sets them (the jitter seed
/// aside).
pub(crate) fn net_config(scenario: &Scenario, node: &str, life: u32) -> NetConfig {
    let transport = &scenario.transport;
    NetConfig::new(node, u64::from(life))
        .with_connections(transport.connections)
        .with_ack_timeout(transport.ack_timeout)
        .with_deadline(transport.deadline)
        .with_connect_timeout(transport.connect_timeout)
        .with_backoff(transport.backoff.min, transport.backoff.max)
        .with_max_frame(usize::try_from(transport.max_frame).unwrap_or(usize::MAX))
        .with_max_unacked(transport.max_unacked)
}

/// The life's network: turmoil's, its streams cut into seeded pieces when the scenario sets
/// `network.segment` (sizes drawn per connection from the run seed, the node and its life).
pub(crate) fn network(life: &LifeContext<'_>) -> NodeNet {
    let turmoil = TurmoilNet::new(life.scenario.nodes.iter().cloned());
    match life.scenario.network.segment {
        None => Segmented::off(turmoil),
        Some(range) => {
            let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
            Segmented::new(turmoil, size(range.min)..=size(range.max), life.seed("segment"))
        }
    }
}

/// Told the address a life's server bound (real mode reports it to the harness, whose fault
/// proxy forwards to it; a simulated life needs none).
pub(crate) type BoundHook = Arc<dyn Fn(std::net::SocketAddr) + Send + Sync>;

/// One life's `NetTransport`, on turmoil's network or (real mode) on tokio's.
pub(crate) struct TcpNode<N: Network = NodeNet>(Arc<NetTransport<N>>, Option<BoundHook>);

impl<N: Network> TcpNode<N> {
    /// Wraps a built transport.
    pub(crate) fn new(transport: Arc<NetTransport<N>>) -> Self {
        TcpNode(transport, None)
    }

    /// Tells `hook` the address the server binds.
    pub(crate) fn with_bound_hook(mut self, hook: BoundHook) -> Self {
        self.1 = Some(hook);
        self
    }
}

impl<N: Network> NodeTransport for TcpNode<N> {
    fn shipper_transport(&self) -> Arc<dyn ShipperTransport> {
        self.0.clone()
    }

    fn serve(&self, sink: Arc<dyn EventSink>, fence: Arc<dyn Fence>) -> LocalFuture<'_, io::Result<Server>> {
        Box::pin(async move {
            let listener = self.0.bind().await?;
            if let Some(hook) = &self.1 {
                hook(N::local_addr(&listener)?);
            }
            let server: Server = Box::pin(self.0.serve_fenced(listener, sink, fence));
            Ok(server)
        })
    }

    fn counters(&self) -> NetCounters {
        self.0.stats().snapshot().into()
    }

    fn drop_route(&self, to: &str) {
        self.0.remove_route(&to.to_owned());
    }

    fn restore_route(&self, to: &str) {
        self.0.register_route(to.to_owned());
    }
}

/// shipper-net's observer hooks (which the gRPC transport uses too), forwarded to the
/// harness's.
pub(crate) struct Observer(pub(crate) Arc<dyn AckObserver>);

impl TransportObserver for Observer {
    fn on_ack(&self, dst: &NodeId, event: &ShippedEvent) {
        self.0.on_ack(dst, event);
    }

    fn on_late_ack(&self, dst: &NodeId, event: &ShippedEvent) {
        self.0.on_ack(dst, event);
    }

    fn on_stream_gap(&self, peer: &NodeId, seq: u64, expected: u64) {
        self.0.on_stream_gap(peer, seq, expected);
    }

    fn on_connect_attempt(&self, dst: &NodeId, slot: u32) {
        self.0.on_connect_attempt(dst, slot);
    }

    fn on_connect_failed(&self, dst: &NodeId, slot: u32) {
        self.0.on_connect_failed(dst, slot);
    }
}
