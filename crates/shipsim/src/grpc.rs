//! PLACEHOLDER: replaced by the real gRPC factory.

use std::sync::Arc;

use crate::scenario::Scenario;
use crate::tcp::TcpFactory;
use crate::transport::{Capabilities, LifeContext, NodeTransport, Timing, TransportFactory};

/// PLACEHOLDER: runs shipper-net's TCP transport under the name `grpc`.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcFactory;

impl TransportFactory for GrpcFactory {
    fn build(&self, life: &LifeContext<'_>) -> Arc<dyn NodeTransport> {
        TcpFactory.build(life)
    }

    fn capabilities(&self) -> Capabilities {
        TcpFactory.capabilities()
    }

    fn timing(&self, scenario: &Scenario) -> Option<Timing> {
        TcpFactory.timing(scenario)
    }

    fn name(&self) -> String {
        "grpc".to_owned()
    }
}
