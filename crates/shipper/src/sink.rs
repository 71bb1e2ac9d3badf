//! Where a receiving node hands delivered events: the receiving
//! application's side of every transport. It lives here, next to
//! [`crate::ShipperTransport`], so a transport of any kind (shipper-net's
//! TCP, a gRPC one) implements its receiving side against this crate alone.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::event::ShippedEvent;
use crate::ids::NodeId;

/// The sink refuses events for good (its consumer is gone). The server stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event sink is closed")]
pub struct SinkClosed;

/// Why [`EventSink::try_accept`] did not take an event.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SinkError {
    /// Refused for good, as [`SinkClosed`]: the server stops.
    #[error("the event sink is closed")]
    Closed,
    /// Not now (a full buffer, a rate limit): the event is handed back
    /// untouched and the transport offers it again after a pause (shipper-net:
    /// `NetConfig::busy_retry`), without acknowledging it meanwhile.
    #[error("the event sink is busy")]
    Busy(ShippedEvent),
}

impl From<SinkClosed> for SinkError {
    fn from(_: SinkClosed) -> SinkError {
        SinkError::Closed
    }
}

/// The receiving application. The server writes the ack for an event only
/// after the sink accepted it: a sender's `Ok` means the sink took it.
///
/// `accept` may wait (backpressure); the sender sees it as a slow ack.
/// Events of one stream are accepted one at a time, in order.
///
/// The server calls [`EventSink::try_accept`]; its default calls
/// [`EventSink::accept`], so a sink that never refuses for a moment only
/// implements `accept`.
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Takes one event that `from` shipped.
    async fn accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed>;

    /// Takes one event that `from` shipped, or says it is busy and hands the
    /// event back ([`SinkError::Busy`]): the server retries later, and the
    /// event stays unacknowledged until a retry is accepted.
    async fn try_accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), SinkError> {
        Ok(self.accept(from, event).await?)
    }
}

/// Accepted = queued in the channel (waits for room).
#[async_trait]
impl EventSink for mpsc::Sender<ShippedEvent> {
    async fn accept(&self, _from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        self.send(event).await.map_err(|_| SinkClosed)
    }
}

/// Accepted = queued in the channel (waits for room), with the sender's name.
#[async_trait]
impl EventSink for mpsc::Sender<(NodeId, ShippedEvent)> {
    async fn accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        self.send((from.clone(), event)).await.map_err(|_| SinkClosed)
    }
}
