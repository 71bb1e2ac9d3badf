//! shipper-nats behind the transport seam, on a real broker: each node process's client
//! connects to the broker through the fault proxy's listener for (node, `broker`), with the
//! scenario's transport settings.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use shipper::{Fence, ShipperTransport};
use shipper_nats::{NatsConfig, NatsTransport};
use shipper_net::EventSink;

use crate::transport::tcp::BoundHook;
use crate::transport::{LifeContext, LocalFuture, NetCounters, NodeTransport, Server};

/// The settings of `life`'s transport: the scenario's `ack_timeout` (an attempt's wait for
/// its reply), `deadline`, `backoff` (between attempts, and the client's reconnect delays),
/// `connect_timeout` and `max_frame` (the largest request; the broker's `max_payload` caps it).
pub(crate) fn nats_config(life: &LifeContext<'_>, broker: SocketAddr) -> NatsConfig {
    let t = &life.scenario.transport;
    let mut config = NatsConfig::new(life.node, u64::from(life.life), format!("nats://{broker}"));
    config.ack_timeout = t.ack_timeout;
    config.deadline = t.deadline;
    config.backoff_min = t.backoff.min;
    config.backoff_max = t.backoff.max;
    config.reconnect_min = t.backoff.min;
    config.reconnect_max = t.backoff.max;
    config.connect_timeout = t.connect_timeout;
    config.max_payload = usize::try_from(t.max_frame).unwrap_or(usize::MAX);
    config.rng_seed = life.seed("transport");
    config
}

/// One life's `NatsTransport`. Its "server" is a subscription on the broker; the address it
/// reports as bound is the broker's (through the proxy): no node listens for another.
pub(crate) struct NatsNode {
    pub transport: Arc<NatsTransport>,
    pub bound: BoundHook,
    pub broker: SocketAddr,
}

impl NodeTransport for NatsNode {
    fn shipper_transport(&self) -> Arc<dyn ShipperTransport> {
        self.transport.clone()
    }

    fn serve(&self, sink: Arc<dyn EventSink>, fence: Arc<dyn Fence>) -> LocalFuture<'_, io::Result<Server>> {
        Box::pin(async move {
            let server = self.transport.serve_fenced(sink, fence).await?;
            (self.bound)(self.broker);
            let server: Server = Box::pin(server);
            Ok(server)
        })
    }

    fn counters(&self) -> NetCounters {
        self.transport.stats().snapshot().into()
    }

    fn drop_route(&self, to: &str) {
        self.transport.remove_route(&to.to_owned());
    }

    fn restore_route(&self, to: &str) {
        self.transport.register_route(to.to_owned());
    }
}
