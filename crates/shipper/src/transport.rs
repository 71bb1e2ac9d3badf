//! The transport seam: how events leave a node.

use async_trait::async_trait;
use tokio::time::Instant;

use crate::batch_error::BatchError;
use crate::error::{ShipperError, ShipperResult};
use crate::event::ShippedEvent;
use crate::ids::NodeId;

/// Pluggable transport: the in-process one in this crate, the TCP one in
/// `shipper-net`.
///
/// `async_trait` is kept from the original so that existing implementations
/// compile unchanged and `Arc<dyn ShipperTransport>` stays possible.
#[async_trait]
pub trait ShipperTransport: Send + Sync {
    /// Send an event to the destination node.
    ///
    /// `Ok` must mean the destination accepted the event. An `Err` says
    /// through [`crate::ShipperError::outcome`] whether it may have arrived.
    /// Events of different calls may overtake each other.
    async fn send(&self, dst: &NodeId, event: ShippedEvent) -> ShipperResult<()>;

    /// [`ShipperTransport::send`] that gives up at `deadline`.
    ///
    /// The default cannot tell whether the abandoned send went out, so a
    /// passed deadline is [`ShipperError::Ambiguous`]; transports that know
    /// better override it.
    async fn send_until(&self, dst: &NodeId, event: ShippedEvent, deadline: Instant) -> ShipperResult<()> {
        match tokio::time::timeout_at(deadline, self.send(dst, event)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(ShipperError::Ambiguous {
                node: dst.clone(),
                reason: "the transport did not answer before the deadline".into(),
            }),
        }
    }

    /// Send a batch that must arrive in order with no gaps, giving up at
    /// `deadline` if there is one.
    ///
    /// Returns the number of events delivered (all of them on `Ok`). On error
    /// the [`BatchError`] hands back every event not known to be delivered.
    /// The default sends one event at a time and clones each event first so it
    /// can be handed back; transports that can return a refused event
    /// themselves should override it.
    async fn send_batch(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
    ) -> Result<usize, BatchError> {
        let total = events.len();
        let mut events = events.into_iter();
        let mut shipped = 0;
        while let Some(event) = events.next() {
            let result = match deadline {
                Some(deadline) => self.send_until(dst, event.clone(), deadline).await,
                None => self.send(dst, event.clone()).await,
            };
            if let Err(error) = result {
                let mut unshipped = Vec::with_capacity(total - shipped);
                unshipped.push(event);
                unshipped.extend(events);
                return Err(BatchError { shipped, error, unshipped });
            }
            shipped += 1;
        }
        Ok(shipped)
    }

    /// [`ShipperTransport::send_batch`] for a batch planned with the shard
    /// map of `epoch`: a transport that carries the epoch lets a fenced
    /// receiver refuse events it does not own ([`crate::Fence`]) with
    /// [`ShipperError::WrongOwner`]. The default drops the epoch and calls
    /// `send_batch`, so transports that cannot carry one keep working
    /// (their receivers cannot fence).
    async fn send_batch_at(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
        epoch: u64,
    ) -> Result<usize, BatchError> {
        let _ = epoch;
        self.send_batch(dst, events, deadline).await
    }

    /// Make `node` routable. What that involves is the transport's business
    /// (open a channel, resolve an address); a transport that discovers nodes
    /// out of band may ignore it.
    fn register_route(&self, _node: NodeId) {}

    /// Whether the transport currently knows how to reach `node`.
    ///
    /// Advisory: the shipper does not consult it before sending (a route can
    /// die between the check and the send), it lets `send` answer
    /// [`crate::ShipperError::NoRoute`]. The default knows no route, rather
    /// than claiming every node is reachable as the original's default did.
    fn has_route(&self, _node: &NodeId) -> bool {
        false
    }
}
