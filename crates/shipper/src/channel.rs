//! Bounded-channel sends that never lose the event they fail to send.
//!
//! Shared by the local sink of [`crate::EventShipper`] and by
//! [`crate::InProcessShipperTransport`]: both are a tokio channel, and both
//! must hand a refused event back rather than drop it.

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::batch_error::{BatchError, send_in_order};
use crate::error::{ShipperError, ShipperResult};
use crate::event::ShippedEvent;
use crate::ids::NodeId;

/// Waits for room in `tx` until `deadline`. The event is moved into the
/// channel only once there is room, so a failure never consumes it.
/// A closed channel is [`ShipperError::NoRoute`]: its receiver is gone.
pub(crate) async fn reserve_until<'a>(
    dst: &NodeId,
    tx: &'a mpsc::Sender<ShippedEvent>,
    deadline: Option<Instant>,
) -> ShipperResult<mpsc::Permit<'a, ShippedEvent>> {
    let reserved = match deadline {
        None => tx.reserve().await,
        Some(deadline) => tokio::time::timeout_at(deadline, tx.reserve())
            .await
            .map_err(|_elapsed| ShipperError::Timeout(dst.clone()))?,
    };
    reserved.map_err(|_closed| ShipperError::NoRoute(dst.clone()))
}

/// Sends `events` in order; on the first failure hands back it and the rest.
pub(crate) async fn send_all(
    dst: &NodeId,
    tx: &mpsc::Sender<ShippedEvent>,
    events: Vec<ShippedEvent>,
    deadline: Option<Instant>,
) -> Result<usize, BatchError> {
    send_in_order(events, move |event| async move {
        match reserve_until(dst, tx, deadline).await {
            Ok(permit) => {
                permit.send(event);
                Ok(())
            }
            Err(error) => Err((error, event)),
        }
    })
    .await
}
