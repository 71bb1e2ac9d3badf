//! [`NetTransport`]: the [`ShipperTransport`] over a [`Network`].

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use async_trait::async_trait;
use shipper::{
    BatchError, Fence, NodeId, ShippedEvent, ShipperError, ShipperResult, ShipperTransport, UNFENCED_EPOCH,
};
use tokio::time::Instant;
use tracing::warn;

use crate::broken::{self, Variant};
use crate::codec::event_frame_bound;
use crate::config::NetConfig;
use crate::net::Network;
use crate::observer::TransportObserver;
use crate::server::NetServer;
use crate::shared::Shared;
use crate::slot::SlotHandle;
use crate::stats::NetStats;
use shipper::EventSink;

/// Acknowledged event shipping over TCP, generic over the [`Network`].
///
/// - `Ok` means the destination's sink accepted every event of the call.
/// - An error's [`ShipperError::outcome`] says whether the events may have
///   arrived: `Ambiguous` once any unacknowledged event was written, else a
///   never-sent error (`NoRoute`, `Send` for a failed connection, `Timeout`).
/// - Every call ends by its deadline: `send` uses `config.deadline`, the
///   others the earlier of theirs and that.
/// - A call goes whole onto one of `config.connections` slots, chosen
///   round-robin: a batch stays in order, separate calls may overtake.
///
/// Slot tasks are spawned on first use of a destination, on the current
/// tokio runtime (the simulated host's, under turmoil), and stop once the
/// transport is dropped and their calls are over.
///
/// A route is the network knowing the destination, minus the routes taken
/// away by [`NetTransport::remove_route`] (until `register_route` gives them
/// back): a stale service-discovery entry, as far as the caller can tell.
pub struct NetTransport<N: Network> {
    net: N,
    shared: Arc<Shared>,
    peers: Mutex<BTreeMap<NodeId, Arc<Peer>>>,
    /// Destinations the network knows but that were unregistered.
    removed: Mutex<BTreeSet<NodeId>>,
    next_batch: AtomicU64,
}

/// The slots to one destination.
struct Peer {
    slots: Vec<SlotHandle>,
    next: AtomicUsize,
}

impl Peer {
    /// Where a call goes: the next slot round-robin, the whole call on it.
    fn pick_slot(&self) -> &SlotHandle {
        let turn = self.next.fetch_add(1, Ordering::Relaxed);
        &self.slots[turn % self.slots.len()]
    }
}

impl<N: Network> NetTransport<N> {
    /// A transport for the node `config.node`. Out-of-range settings are
    /// clamped (at least one connection, one unacked frame, …).
    pub fn new(net: N, config: NetConfig) -> Self {
        Self {
            net,
            shared: Arc::new(Shared::new(config, Arc::default(), None)),
            peers: Mutex::default(),
            removed: Mutex::default(),
            next_batch: AtomicU64::new(1),
        }
    }

    /// Forgets the route to `node`: from now on every call to it fails at
    /// once with `NoRoute` (never sent), until `register_route(node)`.
    ///
    /// Calls already under way are not touched: the slots to `node` keep
    /// running and finish (ack, resend, time out) what they accepted, as a
    /// process whose discovery entry expired still owns its open
    /// connections. Only the decision to start new calls changes.
    pub fn remove_route(&self, node: &NodeId) {
        self.removed_mut().insert(node.clone());
    }

    fn removed_mut(&self) -> std::sync::MutexGuard<'_, BTreeSet<NodeId>> {
        // Every change is one insert or remove: poisoning cannot leave it torn.
        self.removed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether a new call to `dst` may start: the network knows it and its
    /// route was not removed.
    fn routes_to(&self, dst: &NodeId) -> bool {
        self.net.knows(dst) && !self.removed_mut().contains(dst)
    }

    /// Reports acks, retransmits, reconnects and protocol errors to
    /// `observer`, from this transport and the servers it makes. Set it
    /// before the first send.
    pub fn with_observer(mut self, observer: Arc<dyn TransportObserver>) -> Self {
        let shared = Shared::new(self.shared.config.clone(), self.shared.stats.clone(), Some(observer));
        self.shared = Arc::new(shared);
        // Slots made earlier hold the old observer: let them go.
        self.peers_mut().clear();
        self
    }

    /// The settings in force (after clamping).
    pub fn config(&self) -> &NetConfig {
        &self.shared.config
    }

    /// The counters of this transport and of the servers it made.
    pub fn stats(&self) -> &Arc<NetStats> {
        &self.shared.stats
    }

    /// The observer, if any.
    pub fn observer(&self) -> Option<&Arc<dyn TransportObserver>> {
        self.shared.observer()
    }

    /// The network it sends on.
    pub fn network(&self) -> &N {
        &self.net
    }

    /// A server for this node's incoming side, sharing this transport's
    /// settings, counters and observer.
    pub fn server(&self) -> NetServer<N> {
        NetServer::from_shared(self.net.clone(), self.shared.clone())
    }

    /// Binds this node's listener.
    pub async fn bind(&self) -> io::Result<N::Listener> {
        self.net.bind().await
    }

    /// `self.server().serve(listener, sink)`: a future to spawn, running
    /// until the sink closes. See [`NetServer::serve`].
    pub fn serve(
        &self,
        listener: N::Listener,
        sink: Arc<dyn EventSink>,
    ) -> impl Future<Output = io::Result<()>> + Send + 'static {
        self.server().serve(listener, sink)
    }

    /// [`Self::serve`] with every event asked about by `fence` first (the
    /// node's [`shipper::Router`]): see [`NetServer::with_fence`].
    pub fn serve_fenced(
        &self,
        listener: N::Listener,
        sink: Arc<dyn EventSink>,
        fence: Arc<dyn Fence>,
    ) -> impl Future<Output = io::Result<()>> + Send + 'static {
        self.server().with_fence(fence).serve(listener, sink)
    }

    fn peers_mut(&self) -> std::sync::MutexGuard<'_, BTreeMap<NodeId, Arc<Peer>>> {
        // Every change is one insert or clear: poisoning cannot leave it torn.
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The slots to `dst`, started on first use.
    fn peer(&self, dst: &NodeId) -> Arc<Peer> {
        let mut peers = self.peers_mut();
        if let Some(peer) = peers.get(dst) {
            return peer.clone();
        }
        let slots = (0..self.shared.config.connections)
            .map(|index| {
                let index = u32::try_from(index).unwrap_or(u32::MAX);
                SlotHandle::spawn(self.net.clone(), self.shared.clone(), dst.clone(), index)
            })
            .collect();
        let peer = Arc::new(Peer { slots, next: AtomicUsize::new(0) });
        peers.insert(dst.clone(), peer.clone());
        peer
    }

    /// The deadline of a call: `requested`, but never later than
    /// `config.deadline` from now.
    fn deadline(&self, requested: Option<Instant>) -> Instant {
        let cap = Instant::now() + self.shared.config.deadline; // allow-nondeterminism: tokio time, which turmoil simulates
        requested.map_or(cap, |d| d.min(cap))
    }

    /// Ships `events` as one call. Events too large to frame end the call
    /// where the first of them sits: the prefix before it is shipped, it and
    /// the rest come back with an `Encode` error.
    async fn ship(
        &self,
        dst: &NodeId,
        mut events: Vec<ShippedEvent>,
        deadline: Instant,
        epoch: u64,
    ) -> Result<usize, BatchError> {
        if events.is_empty() {
            return Ok(0);
        }
        if !self.routes_to(dst) {
            return Err(BatchError {
                shipped: 0,
                error: ShipperError::NoRoute(dst.clone()),
                unshipped: events,
            });
        }
        let max_frame = self.shared.config.max_frame;
        let too_big = events.iter().position(|e| event_frame_bound(e) > max_frame);
        let rest = too_big.map(|at| events.split_off(at)).unwrap_or_default();
        let result = if events.is_empty() {
            Ok(0)
        } else {
            let peer = self.peer(dst);
            // broken::BatchRoundRobin: the batch's events spread over the pool, one per slot in turn.
            if broken::is(Variant::BatchRoundRobin) {
                return spread_over_slots(&peer, dst, &self.next_batch, events, deadline, epoch).await;
            }
            let batch = self.next_batch.fetch_add(1, Ordering::Relaxed);
            peer.pick_slot().call(dst, batch, epoch, events, deadline).await
        };
        let Some(first) = rest.first() else {
            return result;
        };
        let error = ShipperError::Encode(format!(
            "an event of up to {} bytes does not fit the {max_frame}-byte frame limit",
            event_frame_bound(first)
        ));
        match result {
            Ok(shipped) => Err(BatchError { shipped, error, unshipped: rest }),
            Err(mut err) => {
                err.unshipped.extend(rest);
                Err(err)
            }
        }
    }
}

/// `broken::BatchRoundRobin`: ships each event of `events` as its own call on
/// the next slot round-robin, all at once, so the batch's events race each
/// other over different connections. `Ok` when all were acked; otherwise the
/// acked prefix counts as shipped and the rest comes back.
async fn spread_over_slots(
    peer: &Peer,
    dst: &NodeId,
    next_batch: &AtomicU64,
    events: Vec<ShippedEvent>,
    deadline: Instant,
    epoch: u64,
) -> Result<usize, BatchError> {
    let mut calls: Vec<_> = events
        .iter()
        .map(|event| {
            let batch = next_batch.fetch_add(1, Ordering::Relaxed);
            Box::pin(peer.pick_slot().call(dst, batch, epoch, vec![event.clone()], deadline))
        })
        .collect();
    let mut results: Vec<Option<Result<usize, BatchError>>> = calls.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (call, result) in calls.iter_mut().zip(results.iter_mut()) {
            if result.is_none()
                && let Poll::Ready(done) = call.as_mut().poll(cx)
            {
                *result = Some(done);
            }
        }
        if results.iter().all(Option::is_some) { Poll::Ready(()) } else { Poll::Pending }
    })
    .await;
    let shipped = results.iter().take_while(|r| matches!(r, Some(Ok(_)))).count();
    match results.into_iter().nth(shipped).flatten() {
        None | Some(Ok(_)) => Ok(shipped),
        Some(Err(err)) => Err(BatchError {
            shipped,
            error: err.error,
            unshipped: events.into_iter().skip(shipped).collect(),
        }),
    }
}

#[async_trait]
impl<N: Network> ShipperTransport for NetTransport<N> {
    /// Ok once the destination's sink accepted the event; gives up after
    /// `config.deadline`.
    async fn send(&self, dst: &NodeId, event: ShippedEvent) -> ShipperResult<()> {
        let deadline = self.deadline(None);
        self.ship(dst, vec![event], deadline, UNFENCED_EPOCH).await.map(drop).map_err(|e| e.error)
    }

    /// As `send`, giving up at the earlier of `deadline` and `config.deadline`
    /// from now.
    async fn send_until(&self, dst: &NodeId, event: ShippedEvent, deadline: Instant) -> ShipperResult<()> {
        let deadline = self.deadline(Some(deadline));
        self.ship(dst, vec![event], deadline, UNFENCED_EPOCH).await.map(drop).map_err(|e| e.error)
    }

    /// The whole batch on one connection, in order. `Ok(n)` once every event
    /// was accepted; otherwise `shipped` is the accepted prefix and
    /// `unshipped` the rest, the failed event first.
    async fn send_batch(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
    ) -> Result<usize, BatchError> {
        let deadline = self.deadline(deadline);
        self.ship(dst, events, deadline, UNFENCED_EPOCH).await
    }

    /// As `send_batch`, the events carrying `epoch`: a fenced receiver
    /// that does not own them refuses them ([`ShipperError::WrongOwner`],
    /// certain: the refused events and the rest of the batch were not
    /// delivered; `shipped` is the acknowledged prefix).
    async fn send_batch_at(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
        epoch: u64,
    ) -> Result<usize, BatchError> {
        let deadline = self.deadline(deadline);
        self.ship(dst, events, deadline, epoch).await
    }

    /// Gives back a route taken by [`NetTransport::remove_route`] and
    /// starts the connection slots to `node` now (inside a tokio runtime;
    /// otherwise on first send). A node the network does not know is logged
    /// and ignored: it stays `NoRoute`.
    fn register_route(&self, node: NodeId) {
        if !self.net.knows(&node) {
            warn!(node = %self.shared.config.node, peer = %node, "register_route: the network does not know this node");
            return;
        }
        self.removed_mut().remove(&node);
        if tokio::runtime::Handle::try_current().is_ok() {
            self.peer(&node);
        }
    }

    /// Whether the network knows `node` and its route was not removed (it
    /// may still be unreachable).
    fn has_route(&self, node: &NodeId) -> bool {
        self.routes_to(node)
    }
}
