//! The bundled transports on real sockets: the simulation's factories' own settings, timing
//! and limits (`transport::kinds`), built over tokio's `TokioNet` instead of turmoil's, each
//! peer's address being the fault proxy's listener for the link to it.

use std::net::SocketAddr;
use std::sync::Arc;

use shipper_grpc::GrpcTransport;
use shipper_nats::NatsTransport;
use shipper_net::{NetTransport, TokioNet};

use super::nats::{NatsNode, nats_config};
use crate::scenario::{Scenario, TransportKind};
use crate::transport::grpc::GrpcNode;
use crate::transport::kinds::factory_for;
use crate::transport::tcp::{BoundHook, Observer, TcpNode, net_config};
use crate::transport::{Capabilities, LifeContext, NodeTransport, Timing, TransportFactory};

/// Builds `kind`'s transport on tokio's sockets for a node process's life.
pub(crate) struct RealFactory {
    kind: TransportKind,
    peers: Vec<(String, SocketAddr)>,
    bound: BoundHook,
}

impl RealFactory {
    /// `peers` are reached at their addresses; `bound` is told where the server listens.
    pub(crate) fn new(
        kind: TransportKind,
        peers: Vec<(String, SocketAddr)>,
        bound: BoundHook,
    ) -> RealFactory {
        RealFactory { kind, peers, bound }
    }
}

impl TransportFactory for RealFactory {
    fn build(&self, life: &LifeContext<'_>) -> Arc<dyn NodeTransport> {
        let net =
            self.peers.iter().fold(TokioNet::new(), |net, (peer, addr)| net.with_peer(peer.as_str(), *addr));
        let config = net_config(life.scenario, life.node, life.life).with_rng_seed(life.seed("transport"));
        let observer = Arc::new(Observer(life.observer.clone()));
        match self.kind {
            TransportKind::Tcp => {
                let transport = Arc::new(NetTransport::new(net, config).with_observer(observer));
                Arc::new(TcpNode::new(transport).with_bound_hook(self.bound.clone()))
            }
            TransportKind::Grpc => {
                let transport = Arc::new(GrpcTransport::new(net, config).with_observer(observer));
                Arc::new(GrpcNode(transport, Some(self.bound.clone())))
            }
            TransportKind::Nats => {
                let broker = self.peers.iter().find(|(p, _)| p == TransportKind::BROKER).map(|(_, a)| *a);
                let broker = broker.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
                let config = nats_config(life, broker);
                let transport = Arc::new(NatsTransport::new(config).with_observer(observer));
                Arc::new(NatsNode { transport, bound: self.bound.clone(), broker })
            }
        }
    }

    fn capabilities(&self) -> Capabilities {
        factory_for(self.kind).capabilities()
    }

    fn timing(&self, scenario: &Scenario) -> Option<Timing> {
        factory_for(self.kind).timing(scenario)
    }

    fn name(&self) -> String {
        factory_for(self.kind).name()
    }

    fn check(&self, scenario: &Scenario) -> Result<(), String> {
        factory_for(self.kind).check(scenario)
    }
}
