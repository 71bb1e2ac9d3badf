//! shipper-grpc's transport behind the transport seam (`transport.rs`): tonic's generated
//! client and server over hyper's HTTP/2, on turmoil's TCP, configured by the same scenario
//! settings as the TCP transport (`tcp.rs`). `transport: {kind: grpc}` in a scenario, or
//! `--transport grpc`, runs it. It has every capability: acks, counters, routes and timing.

use std::io;
use std::sync::Arc;

use shipper::{Fence, ShipperTransport};
use shipper_grpc::{GrpcTransport, Keepalive};
use shipper_net::{EventSink, Network};

use crate::scenario::{Scenario, TransportKind};
use crate::transport::tcp::{BoundHook, NodeNet, Observer, net_config, network};
use crate::transport::{
    Capabilities, LifeContext, LocalFuture, NetCounters, NodeTransport, Server, Timing, TransportFactory,
};

/// Builds shipper-grpc's `GrpcTransport` over turmoil for each node life.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcFactory;

impl TransportFactory for GrpcFactory {
    /// Every frame the run can send fits `transport.max_frame`: a bigger one would be refused
    /// by the sender, which no scenario that sets sizes means to test.
    fn check(&self, scenario: &Scenario) -> Result<(), String> {
        let transport = &scenario.transport;
        super::frames::check_fit(&scenario.nodes, &scenario.workload, transport.max_frame)
    }

    fn name(&self) -> String {
        TransportKind::Grpc.name().to_owned()
    }

    fn build(&self, life: &LifeContext<'_>) -> Arc<dyn NodeTransport> {
        let config = net_config(life.scenario, life.node, life.life).with_rng_seed(life.seed("transport"));
        let observer = Arc::new(Observer(life.observer.clone()));
        Arc::new(GrpcNode(Arc::new(GrpcTransport::new(network(life), config).with_observer(observer)), None))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    /// One connection per destination; a call's parts go one round trip after another, so
    /// the bound counts a round trip per event (`max_unacked: 1`). The HTTP/2 keepalive
    /// gives a dead connection up within its interval plus its timeout of the last frame, and
    /// a pong later than its timeout kills a connection (see `shipper_grpc::Keepalive`).
    fn timing(&self, scenario: &Scenario) -> Option<Timing> {
        let config = net_config(scenario, scenario.nodes.first()?, 1).normalized();
        let keepalive = Keepalive::of(&config);
        Some(Timing {
            connections: 1,
            max_unacked: 1,
            ack_timeout: keepalive.detection(),
            answer_timeout: keepalive.timeout,
            connect_timeout: config.connect_timeout,
            backoff_min: config.backoff_min,
            backoff_max: config.backoff_max,
        })
    }
}

/// One life's `GrpcTransport`, on turmoil's network or (real mode) on tokio's, with the hook
/// told the address its server binds.
pub(crate) struct GrpcNode<N: Network = NodeNet>(
    pub(crate) Arc<GrpcTransport<N>>,
    pub(crate) Option<BoundHook>,
);

impl<N: Network> NodeTransport for GrpcNode<N> {
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
