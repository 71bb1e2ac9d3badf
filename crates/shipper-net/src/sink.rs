//! Where a receiving node hands delivered events.

use async_trait::async_trait;
use shipper::{NodeId, ShippedEvent};
use tokio::sync::mpsc;

/// The sink refuses events for good (its consumer is gone). The server stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event sink is closed")]
pub struct SinkClosed;

/// The receiving application. The server writes the ack for an event only
/// after [`EventSink::accept`] returned `Ok`: a sender's `Ok` means this
/// method accepted the event.
///
/// `accept` may wait (backpressure); the sender sees it as a slow ack.
/// Events of one stream are accepted one at a time, in order.
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// Takes one event that `from` shipped.
    async fn accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed>;
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
