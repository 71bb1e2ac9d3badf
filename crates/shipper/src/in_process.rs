//! In-process transport: one bounded tokio channel per destination node.

use std::collections::BTreeMap;
use std::sync::RwLock;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::warn;

use crate::channel::reserve_until;

use crate::batch_error::BatchError;
use crate::error::{ShipperError, ShipperResult};
use crate::event::ShippedEvent;
use crate::ids::NodeId;
use crate::transport::ShipperTransport;

/// In-process shipping transport, interface-compatible with a network one.
///
/// Unlike the original's, a route whose receiver was dropped is noticed and
/// pruned, `register_route` creates a route whose receiver can be claimed
/// later, and replacing a live receiver is either refused
/// ([`InProcessShipperTransport::try_spawn_receiver`]) or logged and counted
/// ([`InProcessShipperTransport::spawn_receiver`]).
pub struct InProcessShipperTransport {
    routes: RwLock<BTreeMap<NodeId, Route>>,
    capacity: usize,
    replaced: std::sync::atomic::AtomicU64,
}

struct Route {
    tx: mpsc::Sender<ShippedEvent>,
    /// Held here between `register_route` and the consumer claiming it, so
    /// events shipped in between are buffered rather than refused.
    unclaimed: Option<mpsc::Receiver<ShippedEvent>>,
}

impl Route {
    fn new(capacity: usize) -> (Self, mpsc::Receiver<ShippedEvent>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Route { tx, unclaimed: None }, rx)
    }

    fn is_live(&self) -> bool {
        !self.tx.is_closed()
    }
}

impl InProcessShipperTransport {
    /// Create a transport with the configured per-node channel capacity (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self { routes: RwLock::new(BTreeMap::new()), capacity: capacity.max(1), replaced: Default::default() }
    }

    /// Hand out the receiver for `node`, creating the route if needed.
    ///
    /// If the route was made by [`ShipperTransport::register_route`], this
    /// returns the receiver that has been buffering for it. If a consumer
    /// already holds a live receiver, the route is replaced: the old
    /// receiver sees the end of its stream after draining what it holds, a
    /// warning is logged and [`Self::replaced_receivers`] counts it. Use
    /// [`Self::try_spawn_receiver`] to refuse instead.
    pub fn spawn_receiver(&self, node: NodeId) -> mpsc::Receiver<ShippedEvent> {
        match self.try_spawn_receiver(node.clone()) {
            Ok(rx) => rx,
            Err(_) => {
                warn!(node = %node, "spawn_receiver replaces a live receiver");
                self.replaced.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let (route, rx) = Route::new(self.capacity);
                self.write_routes().insert(node, route);
                rx
            }
        }
    }

    /// Like [`Self::spawn_receiver`], but refuses with
    /// [`ShipperError::RouteExists`] when a consumer holds a live receiver.
    pub fn try_spawn_receiver(&self, node: NodeId) -> ShipperResult<mpsc::Receiver<ShippedEvent>> {
        let mut routes = self.write_routes();
        if let Some(route) = routes.get_mut(&node) {
            if let Some(rx) = route.unclaimed.take() {
                return Ok(rx);
            }
            if route.is_live() {
                return Err(ShipperError::RouteExists(node));
            }
        }
        let (route, rx) = Route::new(self.capacity);
        routes.insert(node, route);
        Ok(rx)
    }

    /// How many live receivers [`Self::spawn_receiver`] has replaced.
    pub fn replaced_receivers(&self) -> u64 {
        self.replaced.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The sender for `dst`, pruning the route if its receiver is gone.
    fn sender(&self, dst: &NodeId) -> ShipperResult<mpsc::Sender<ShippedEvent>> {
        let tx = self.routes.read().unwrap_or_else(|e| e.into_inner()).get(dst).map(|r| r.tx.clone());
        match tx {
            Some(tx) if !tx.is_closed() => Ok(tx),
            Some(_) => {
                self.prune(dst);
                Err(ShipperError::NoRoute(dst.clone()))
            }
            None => Err(ShipperError::NoRoute(dst.clone())),
        }
    }

    fn prune(&self, dst: &NodeId) {
        let mut routes = self.write_routes();
        if routes.get(dst).is_some_and(|r| !r.is_live()) {
            routes.remove(dst);
        }
    }

    fn write_routes(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<NodeId, Route>> {
        // A panic while holding the lock cannot leave the map half-updated
        // (every write is a single insert or remove), so poisoning is ignored.
        self.routes.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl ShipperTransport for InProcessShipperTransport {
    async fn send(&self, dst: &NodeId, event: ShippedEvent) -> ShipperResult<()> {
        let tx = self.sender(dst)?;
        reserve_until(dst, &tx, None).await?.send(event);
        Ok(())
    }

    /// Waiting for room in the channel is the only way to block, and nothing
    /// is sent until there is room, so a passed deadline is a certain
    /// [`ShipperError::Timeout`], not an ambiguous one.
    async fn send_until(&self, dst: &NodeId, event: ShippedEvent, deadline: Instant) -> ShipperResult<()> {
        let tx = self.sender(dst)?;
        reserve_until(dst, &tx, Some(deadline)).await?.send(event);
        Ok(())
    }

    async fn send_batch(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
    ) -> Result<usize, BatchError> {
        let tx = match self.sender(dst) {
            Ok(tx) => tx,
            Err(error) => return Err(BatchError { shipped: 0, error, unshipped: events }),
        };
        crate::channel::send_all(dst, &tx, events, deadline).await
    }

    /// Creates the route now; events sent before a consumer claims the
    /// receiver with `spawn_receiver` wait in the channel (up to its capacity).
    fn register_route(&self, node: NodeId) {
        let mut routes = self.write_routes();
        if routes.get(&node).is_some_and(Route::is_live) {
            return;
        }
        let (mut route, rx) = Route::new(self.capacity);
        route.unclaimed = Some(rx);
        routes.insert(node, route);
    }

    /// True while the node's receiver is alive; a dead route is pruned here.
    fn has_route(&self, node: &NodeId) -> bool {
        self.sender(node).is_ok()
    }
}
