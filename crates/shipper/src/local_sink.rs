//! Where [`crate::EventShipper`] hands the events it ships to its own node.
//!
//! Two kinds, chosen by how the local sink is installed:
//! - a channel ([`crate::EventShipper::install_local_sink`], the original's API): a ship is
//!   `Ok` once the event is queued on it. The consumer takes it later, so a process that dies
//!   in between loses an event its caller was told was shipped.
//! - an [`EventSink`] ([`crate::EventShipper::install_local_event_sink`]): a ship is `Ok` once
//!   the sink accepted the event, as a remote ship is `Ok` once the receiver's sink accepted
//!   it. Nothing reported shipped is still in flight inside the process.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::batch_error::{BatchError, send_in_order};
use crate::channel::{reserve_until, send_all};
use crate::error::{ShipperError, ShipperResult};
use crate::event::ShippedEvent;
use crate::ids::NodeId;
use crate::sink::EventSink;

/// The installed local sink.
#[derive(Clone)]
pub(crate) enum LocalSink {
    /// `Ok` = queued on the channel.
    Channel(mpsc::Sender<ShippedEvent>),
    /// `Ok` = accepted by the sink.
    Sink(Arc<dyn EventSink>),
}

impl LocalSink {
    /// Hands one event to the sink, by `deadline`. A channel takes it only once there is
    /// room ([`ShipperError::Timeout`] if none came: not sent). A sink's accept cut short by
    /// the deadline may have taken it, as a remote ship unanswered by its deadline may have
    /// been delivered: [`ShipperError::Ambiguous`]. A closed channel or sink is
    /// [`ShipperError::NoRoute`].
    pub(crate) async fn send(
        &self,
        node: &NodeId,
        event: ShippedEvent,
        deadline: Option<Instant>,
    ) -> ShipperResult<()> {
        match self {
            LocalSink::Channel(tx) => {
                reserve_until(node, tx, deadline).await?.send(event);
                Ok(())
            }
            LocalSink::Sink(sink) => accept_until(node, sink, event, deadline).await,
        }
    }

    /// Hands `events` to the sink in order; on the first failure hands back it and the rest.
    pub(crate) async fn send_batch(
        &self,
        node: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
    ) -> Result<usize, BatchError> {
        let sink = match self {
            LocalSink::Channel(tx) => return send_all(node, tx, events, deadline).await,
            LocalSink::Sink(sink) => sink,
        };
        send_in_order(events, move |event| async move {
            // Kept to hand back should the accept fail: the sink takes the event by value.
            let kept = event.clone();
            accept_until(node, sink, event, deadline).await.map_err(|error| (error, kept))
        })
        .await
    }

    /// Whether this is the sink `other` is: a failed sink is uninstalled only if it is still
    /// the installed one.
    pub(crate) fn same(&self, other: &LocalSink) -> bool {
        match (self, other) {
            (LocalSink::Channel(a), LocalSink::Channel(b)) => a.same_channel(b),
            (LocalSink::Sink(a), LocalSink::Sink(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The sink's accept of `event` (sent by this node to itself), cut short at `deadline`.
async fn accept_until(
    node: &NodeId,
    sink: &Arc<dyn EventSink>,
    event: ShippedEvent,
    deadline: Option<Instant>,
) -> ShipperResult<()> {
    // broken::LocalOkOnQueue: the accept left to a task of its own, the ship Ok at once.
    if crate::broken::is(crate::broken::Variant::LocalOkOnQueue) {
        let (sink, node) = (sink.clone(), node.clone());
        tokio::spawn(async move { sink.accept(&node, event).await });
        return Ok(());
    }
    let accepted = match deadline {
        None => sink.accept(node, event).await,
        Some(deadline) => {
            tokio::time::timeout_at(deadline, sink.accept(node, event)).await.map_err(|_elapsed| {
                ShipperError::Ambiguous {
                    node: node.clone(),
                    reason: "the local sink had not accepted the event by the deadline".to_owned(),
                }
            })?
        }
    };
    accepted.map_err(|_closed| ShipperError::NoRoute(node.clone()))
}
