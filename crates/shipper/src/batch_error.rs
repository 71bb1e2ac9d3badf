//! The error of a batch that stopped part-way: how far it got, and the events to resume with.

use std::future::Future;

use thiserror::Error;

use crate::error::ShipperError;
use crate::event::ShippedEvent;

/// A batch that stopped part-way.
///
/// `shipped` events (the batch's prefix) were delivered; `unshipped` holds the
/// rest in batch order, the failed event first, so a caller can resume with
/// `unshipped` and duplicate nothing that was acknowledged. When `error` is
/// ambiguous, the failed event (and, on a pipelining transport, later ones)
/// may have been delivered too.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("batch stopped after {shipped} events: {error}")]
pub struct BatchError {
    /// How many events of the batch were delivered, in order, before the failure.
    pub shipped: usize,
    /// Why the batch stopped.
    #[source]
    pub error: ShipperError,
    /// The events not known to be delivered, the failed one first.
    pub unshipped: Vec<ShippedEvent>,
}

/// Lets `ship_batch(..).await?` keep compiling in functions that return
/// [`crate::ShipperResult`], as it did against the original. The unshipped events are
/// dropped by this conversion; keep the [`BatchError`] to resume.
impl From<BatchError> for ShipperError {
    fn from(err: BatchError) -> Self {
        err.error
    }
}

/// Sends `events` one at a time, in order, with `send`, which hands back an event it did not
/// send along with the error. The first failure stops the batch: the [`BatchError`] holds the
/// failed event, then the rest.
pub(crate) async fn send_in_order<F, Fut>(events: Vec<ShippedEvent>, mut send: F) -> Result<usize, BatchError>
where
    F: FnMut(ShippedEvent) -> Fut,
    Fut: Future<Output = Result<(), (ShipperError, ShippedEvent)>>,
{
    let mut events = events.into_iter();
    let mut shipped = 0;
    while let Some(event) = events.next() {
        if let Err((error, failed)) = send(event).await {
            let mut unshipped = vec![failed];
            unshipped.extend(events);
            return Err(BatchError { shipped, error, unshipped });
        }
        shipped += 1;
    }
    Ok(shipped)
}
