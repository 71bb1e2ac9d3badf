//! One request's delivery on the receiving side: the call's events from its position on, in
//! order, to the sink, at most once per position and receiving life, and the reply that
//! counts what the sink accepted. The unary `Ship` and the `Stream` RPC share it.

use std::sync::Arc;

use shipper::{Accepting, EventSink, Fence, NodeId, ShippedEvent, SinkClosed, SinkError};
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::broken::{self, Variant};
use crate::calls::CallCursor;
use crate::pb::{ShipReply, ShipRequest};
use crate::shared::{Shared, now};
use crate::wire;

/// The sink closed for good, the call's position then.
pub(crate) struct SinkGone {
    pub(crate) delivered: u64,
}

/// One request's delivery, run in a task of its own.
pub(crate) struct Delivery {
    pub(crate) shared: Arc<Shared>,
    pub(crate) sink: Arc<dyn EventSink>,
    pub(crate) fence: Option<Arc<dyn Fence>>,
    pub(crate) deadline: Instant,
    /// The lowest connection of the sender this life has seen, for the reply.
    pub(crate) first_connection: u64,
}

impl Delivery {
    /// Delivers the request's events from the call's position on, in order, until the last,
    /// a refusal or the deadline; replies with where the call stands.
    pub(crate) async fn run(&self, cursor: &CallCursor, request: ShipRequest) -> Result<ShipReply, SinkGone> {
        let mut position = cursor.position.lock().await;
        let from: NodeId = request.node;
        for (at, event) in (request.first..).zip(request.events) {
            if position.refused.is_some() {
                break;
            }
            if at < position.delivered {
                self.shared.stats.count_duplicate();
                shipper::probe!("grpc.duplicate-key");
                continue;
            }
            if at > position.delivered {
                // The sender resends from its last reply, never past what this life delivered.
                warn!(peer = %from, at, expected = position.delivered, "a gap in a call: not delivered");
                self.shared.observe(|o| o.on_stream_gap(&from, at, position.delivered));
                break;
            }
            if now() >= self.deadline {
                break;
            }
            let event = wire::from_pb(event);
            if let Some(fence) = &self.fence
                && let Err(refusal) = fence.admit(event.shard, request.epoch)
            {
                self.shared.stats.count_refused();
                debug!(peer = %from, at, epoch = request.epoch, own = refusal.epoch, "refused: not the owner");
                position.refused = Some(Arc::new(refusal));
                break;
            }
            let _accepting = self.fence.as_deref().map(|fence| Accepting::new(fence, event.shard));
            match self.offer_until_accepted(&from, event).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(SinkClosed) => return Err(SinkGone { delivered: position.delivered }),
            }
            position.delivered += 1;
            self.shared.stats.count_received();
        }
        let refused = position.refused.as_deref().map(wire::refusal_to_pb);
        Ok(ShipReply {
            delivered: position.delivered,
            refused,
            first_connection: self.first_connection,
            ..ShipReply::default()
        })
    }

    /// Offers `event` until the sink accepts it (`true`), pausing `busy_retry` after each busy
    /// answer; `false` once the deadline passed with the sink still busy.
    async fn offer_until_accepted(&self, from: &NodeId, mut event: ShippedEvent) -> Result<bool, SinkClosed> {
        loop {
            match self.sink.try_accept(from, event).await {
                Ok(()) => return Ok(true),
                Err(SinkError::Closed) => return Err(SinkClosed),
                Err(SinkError::Busy(back)) => {
                    self.shared.stats.count_sink_busy();
                    shipper::probe!("grpc.busy-retry");
                    // broken::GrpcBusyAsAccepted: "busy" read as "queued", the event counted delivered.
                    if broken::is(Variant::GrpcBusyAsAccepted) {
                        return Ok(true);
                    }
                    let retry = now() + self.shared.config.busy_retry;
                    if retry >= self.deadline {
                        shipper::probe!("grpc.busy-past-deadline");
                        return Ok(false);
                    }
                    tokio::time::sleep_until(retry).await;
                    event = back;
                }
            }
        }
    }
}
