//! [`EventShipper`]: local short-circuit, remote via the transport, and the
//! one place where outcomes are counted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::debug;

use crate::batch_error::BatchError;
use crate::error::{ShipperError, ShipperResult};
use crate::event::ShippedEvent;
use crate::fence::UNFENCED_EPOCH;
use crate::ids::NodeId;
use crate::local_sink::LocalSink;
use crate::sink::EventSink;
use crate::stats::ShipperStats;
use crate::transport::ShipperTransport;

/// Configuration for [`EventShipper`].
///
/// Kept to the original's single field so `ShipperConfig { local_node }` still
/// compiles; options added since are builder methods on [`EventShipper`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipperConfig {
    /// Identifier of this node: the shipper short-circuits when the
    /// destination matches.
    pub local_node: NodeId,
}

/// Cross-shard event shipper: events for the local node go to the installed
/// local sink, the others through a [`ShipperTransport`].
pub struct EventShipper {
    config: ShipperConfig,
    transport: Arc<dyn ShipperTransport>,
    local_in: Mutex<Option<LocalSink>>,
    stats: Arc<ShipperStats>,
    deadline: Option<Duration>,
}

impl EventShipper {
    /// Build a shipper. It has no deadline (as the original): see [`Self::with_deadline`].
    pub fn new(config: ShipperConfig, transport: Arc<dyn ShipperTransport>) -> Self {
        Self {
            config,
            transport,
            local_in: Mutex::new(None),
            stats: Arc::new(ShipperStats::default()),
            deadline: None,
        }
    }

    /// Bound every `ship` and `ship_batch` call by `deadline` (of tokio time,
    /// so simulated time under a simulator). Without one, a full local sink or
    /// a stuck transport blocks the caller for as long as it stays stuck.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The deadline set by [`Self::with_deadline`], if any.
    pub fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    /// Install a local-delivery sink so events targeting the local node are
    /// dispatched through it (the `Receiver` half is held by the operator).
    ///
    /// A local ship is then `Ok` once its event is *queued*, before the operator
    /// took it: a process that dies in between loses events reported shipped.
    /// [`Self::install_local_event_sink`] gives local ships a remote ship's
    /// meaning instead.
    pub fn install_local_sink(&self, sink: mpsc::Sender<ShippedEvent>) {
        self.install(LocalSink::Channel(sink));
    }

    /// Install the receiving application as the local sink: a local ship is
    /// then `Ok` once `sink` accepted its event, as a remote ship is `Ok` once
    /// the receiver's sink accepted it. Accepts of one call happen one at a
    /// time, in batch order; the deadline bounds them, and one cut short by it
    /// is [`ShipperError::Ambiguous`] (the sink may have taken the event).
    pub fn install_local_event_sink(&self, sink: Arc<dyn EventSink>) {
        self.install(LocalSink::Sink(sink));
    }

    fn install(&self, sink: LocalSink) {
        *self.local_in.lock().unwrap_or_else(|e| e.into_inner()) = Some(sink);
    }

    /// Stats accessor; read the counters with [`ShipperStats::snapshot`].
    pub fn stats(&self) -> &Arc<ShipperStats> {
        &self.stats
    }

    /// Local node id.
    pub fn local_node(&self) -> &NodeId {
        &self.config.local_node
    }

    /// The transport remote events go through.
    pub fn transport(&self) -> &Arc<dyn ShipperTransport> {
        &self.transport
    }

    /// Send one event to `dst`: the local sink if `dst` is this node,
    /// otherwise the transport. Counted in exactly one counter.
    pub async fn ship(&self, dst: &NodeId, event: ShippedEvent) -> ShipperResult<()> {
        let deadline = self.deadline_instant();
        let local = dst == &self.config.local_node;
        let result = if local {
            self.ship_local(dst, event, deadline).await
        } else {
            match deadline {
                Some(deadline) => self.transport.send_until(dst, event, deadline).await,
                None => self.transport.send(dst, event).await,
            }
        };
        match &result {
            Ok(()) => {
                self.stats.count_delivered(local, 1);
                debug!(dst = %dst, local, "ship: ok");
            }
            Err(err) => {
                self.stats.count_failed(err, 1);
                debug!(dst = %dst, local, error = %err, "ship: failed");
            }
        }
        result
    }

    /// Ship a batch to one destination, in order, with no gaps.
    ///
    /// Returns how many events were shipped (all of them). On failure the
    /// [`BatchError`] says how many were shipped and hands back the rest, the
    /// failed event first, so resuming with `unshipped` duplicates nothing
    /// that was acknowledged. Every event of the batch is counted once:
    /// shipped ones as delivered, the others under the error's kind.
    pub async fn ship_batch(&self, dst: &NodeId, events: Vec<ShippedEvent>) -> Result<usize, BatchError> {
        self.ship_batch_at(dst, events, UNFENCED_EPOCH).await
    }

    /// [`Self::ship_batch`] for a batch planned with the shard map of
    /// `epoch` ([`crate::Router`] does): remote events carry it, so a fenced
    /// receiver that does not own their shard refuses them
    /// ([`ShipperError::WrongOwner`], counted in `send_failures`: certainly
    /// not delivered). Local events are not fenced: the local sink is this
    /// node's, planned with this node's map.
    pub async fn ship_batch_at(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        epoch: u64,
    ) -> Result<usize, BatchError> {
        let deadline = self.deadline_instant();
        let local = dst == &self.config.local_node;
        let total = events.len() as u64;
        let result = if local {
            self.ship_local_batch(dst, events, deadline).await
        } else {
            self.transport.send_batch_at(dst, events, deadline, epoch).await
        };
        // broken::SilentBatchDrop: drop the rest of a failed batch, report all shipped.
        let result = if crate::broken::is(crate::broken::Variant::SilentBatchDrop) {
            result.or(Ok(total as usize))
        } else {
            result
        };
        // broken::PartialAsOk: a batch stopped after an acked prefix answers Ok(prefix).
        let result = match result {
            Err(err) if err.shipped > 0 && crate::broken::is(crate::broken::Variant::PartialAsOk) => {
                Ok(err.shipped)
            }
            result => result,
        };
        match &result {
            Ok(shipped) => self.stats.count_delivered(local, *shipped as u64),
            Err(err) => {
                if err.shipped > 0 {
                    crate::probe!("shipper.batch-partial");
                }
                self.stats.count_delivered(local, err.shipped as u64);
                self.stats.count_failed(&err.error, total - err.shipped as u64);
                debug!(dst = %dst, local, shipped = err.shipped, error = %err.error, "ship_batch: stopped");
            }
        }
        result
    }

    fn deadline_instant(&self) -> Option<Instant> {
        self.deadline.map(|d| Instant::now() + d) // allow-nondeterminism: tokio time, which turmoil simulates
    }

    fn local_sink(&self, dst: &NodeId) -> ShipperResult<LocalSink> {
        let sink = self.local_in.lock().unwrap_or_else(|e| e.into_inner()).clone();
        sink.ok_or_else(|| ShipperError::NoRoute(dst.clone()))
    }

    async fn ship_local(
        &self,
        dst: &NodeId,
        event: ShippedEvent,
        deadline: Option<Instant>,
    ) -> ShipperResult<()> {
        let sink = self.local_sink(dst)?;
        let result = sink.send(dst, event, deadline).await;
        if matches!(result, Err(ShipperError::NoRoute(_))) {
            self.drop_dead_local_sink(&sink);
        }
        result
    }

    async fn ship_local_batch(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
    ) -> Result<usize, BatchError> {
        let sink = match self.local_sink(dst) {
            Ok(sink) => sink,
            Err(error) => return Err(BatchError { shipped: 0, error, unshipped: events }),
        };
        let result = sink.send_batch(dst, events, deadline).await;
        if result.as_ref().is_err_and(|err| matches!(err.error, ShipperError::NoRoute(_))) {
            self.drop_dead_local_sink(&sink);
        }
        result
    }

    /// A local sink found closed is uninstalled, as a dead remote route is
    /// pruned, so later ships fail fast with `NoRoute`; unless another one was
    /// installed meanwhile.
    fn drop_dead_local_sink(&self, dead: &LocalSink) {
        let mut sink = self.local_in.lock().unwrap_or_else(|e| e.into_inner());
        if sink.as_ref().is_some_and(|installed| installed.same(dead)) {
            *sink = None;
        }
    }
}
