//! The NATS transport's place among the bundled kinds (`transport: {kind: nats}`): its name,
//! capabilities and timing for the trace's start record. It runs in real mode only
//! (`real/transport.rs` builds it on a real broker); a simulation refuses it before it starts
//! ([`TransportFactory::real_only`]), so [`NatsFactory::build`] only builds a stand-in that
//! refuses to serve.

use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use shipper::{Fence, NodeId, ShippedEvent, ShipperError, ShipperResult, ShipperTransport};
use shipper_net::EventSink;

use crate::scenario::TransportKind;
use crate::transport::{Capabilities, LifeContext, LocalFuture, NodeTransport, Server, TransportFactory};

/// The NATS transport's factory for the simulated path: refused by a simulation.
#[derive(Debug, Clone, Copy, Default)]
pub struct NatsFactory;

impl TransportFactory for NatsFactory {
    fn build(&self, _life: &LifeContext<'_>) -> Arc<dyn NodeTransport> {
        Arc::new(RealOnly)
    }

    /// Acks (each reply's count reaches the observer), counters and routes. No timing: its
    /// recovery after a heal is the client's reconnect and the broker's, which the checkers'
    /// transport contract does not describe, so `recovery` is skipped and says so.
    fn capabilities(&self) -> Capabilities {
        Capabilities::ALL
    }

    fn name(&self) -> String {
        TransportKind::Nats.name().to_owned()
    }

    fn real_only(&self) -> Option<String> {
        TransportKind::Nats.real_only().map(str::to_owned)
    }
}

/// What a simulation would get if it did not refuse the transport first: nothing that works.
struct RealOnly;

fn why() -> String {
    TransportKind::Nats.real_only().unwrap_or_default().to_owned()
}

#[async_trait]
impl ShipperTransport for RealOnly {
    async fn send(&self, _dst: &NodeId, _event: ShippedEvent) -> ShipperResult<()> {
        Err(ShipperError::Send(why()))
    }
}

impl NodeTransport for RealOnly {
    fn shipper_transport(&self) -> Arc<dyn ShipperTransport> {
        Arc::new(RealOnly)
    }

    fn serve(
        &self,
        _sink: Arc<dyn EventSink>,
        _fence: Arc<dyn Fence>,
    ) -> LocalFuture<'_, io::Result<Server>> {
        Box::pin(async { Err(io::Error::other(why())) })
    }
}
