//! The receiving side: the `Shipper` service on bare hyper HTTP/2 connections, delivering
//! each call's events in order to the sink, at most once per position and receiving life, and
//! answering only after the sink accepted what the reply counts.
//!
//! Each request's delivery runs in a task of its own, so a caller that gives up (a reset
//! stream, a closed connection) never cuts a sink's accept short: the task finishes the event
//! in hand, stops at the request's deadline, and leaves the call's position right for the
//! retry. Those tasks belong to the receiving life all the same: when `serve` ends (or is
//! dropped, or its task aborted) they stop where they are, as they would if the process died,
//! so a stopped life never delivers behind the back of the next one.

use std::io;
use std::sync::Arc;

use shipper::{Accepting, EventSink, Fence, NodeId, ShippedEvent, SinkClosed, SinkError};
use shipper_net::{NetConfig, NetStats, Network};
use tokio::sync::{Notify, watch};
use tokio::task::{JoinError, JoinHandle, JoinSet};
use tokio::time::Instant;
use tonic::{Request, Response, Status};
use tracing::{debug, info, warn};

use crate::broken::{self, Variant};
use crate::calls::{CallCursor, CallTable, Said, Turned};
use crate::deadline;
use crate::keys::MAX_LISTED_OPEN;
use crate::pb::shipper_server::{Shipper, ShipperServer};
use crate::pb::{ShipReply, ShipRequest};
use crate::rt::{Exec, TokioIo, TokioTimer};
use crate::shared::{Shared, now};
use crate::wire;

/// Serves one node's `Shipper` service. Usually made by [`crate::GrpcTransport::server`], so
/// both directions of a node share counters and observer.
pub struct GrpcServer<N: Network> {
    net: N,
    shared: Arc<Shared>,
    fence: Option<Arc<dyn Fence>>,
}

impl<N: Network> GrpcServer<N> {
    /// A server with its own counters.
    pub fn new(net: N, config: NetConfig) -> Self {
        Self::from_shared(net, Arc::new(Shared::new(config, None)))
    }

    pub(crate) fn from_shared(net: N, shared: Arc<Shared>) -> Self {
        GrpcServer { net, shared, fence: None }
    }

    /// Asks `fence` about every event before the sink sees it (usually the node's
    /// [`shipper::Router`]). A refused event ends its call: the reply carries the fence's map,
    /// and neither it nor the call's later events reach the sink.
    pub fn with_fence(mut self, fence: Arc<dyn Fence>) -> Self {
        self.fence = Some(fence);
        self
    }

    /// The counters this server updates (`received`, `duplicates_dropped`, `refused`,
    /// `sink_busy`, `protocol_errors`).
    pub fn stats(&self) -> &Arc<NetStats> {
        &self.shared.stats
    }

    /// Binds this node's listener.
    pub async fn bind(&self) -> io::Result<N::Listener> {
        self.net.bind().await
    }

    /// Serves connections on `listener` until the sink closes (then `Ok`). One call is one
    /// receiving process life: the memory of delivered calls lives in this future, and
    /// dropping it (or aborting its task) closes every connection it serves and stops every
    /// delivery under way.
    pub async fn serve(self, listener: N::Listener, sink: Arc<dyn EventSink>) -> io::Result<()> {
        let closed = Arc::new(Notify::new());
        // Never sent on: its drop, with this future, is what tells the deliveries the life ended.
        let (_life, ended) = watch::channel(());
        let limit = wire::message_limit(self.shared.config.max_frame);
        let service = ShipperServer::new(Handler {
            net: self.net.clone(),
            shared: self.shared.clone(),
            calls: Arc::default(),
            sink,
            fence: self.fence.clone(),
            closed: closed.clone(),
            ended,
        })
        .max_decoding_message_size(limit)
        .max_encoding_message_size(wire::reply_limit(self.shared.config.max_frame));
        let node = self.shared.config.node.clone();
        info!(node = %node, addr = ?N::local_addr(&listener).ok(), "serving gRPC");
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                () = closed.notified() => {
                    info!(node = %node, "sink closed: server stops");
                    return Ok(());
                }
                Some(done) = connections.join_next(), if !connections.is_empty() => {
                    if let Err(err) = done && err.is_panic() {
                        std::panic::resume_unwind(err.into_panic());
                    }
                }
                accepted = N::accept(&listener) => match accepted {
                    Ok((stream, peer)) => {
                        debug!(node = %node, peer = %peer, "accepted");
                        let connection = self.connection(TokioIo::new(stream), service.clone());
                        self.net.spawn_in(&mut connections, async move {
                            if let Err(err) = connection.await {
                                debug!(peer = %peer, error = %err, "connection ended");
                            }
                        });
                    }
                    Err(err) => {
                        warn!(node = %node, error = %err, "accept failed");
                        tokio::time::sleep(self.shared.config.backoff_min).await;
                    }
                },
            }
        }
    }

    /// One HTTP/2 connection, with keepalive and no `date` header (hyper reads the wall clock
    /// for it, and its HPACK encoding would make the bytes on the wire differ between runs).
    fn connection(
        &self,
        io: TokioIo<N::Stream>,
        service: ShipperServer<Handler<N>>,
    ) -> impl Future<Output = hyper::Result<()>> + Send + 'static {
        let keepalive = crate::Keepalive::server(&self.shared.config);
        hyper::server::conn::http2::Builder::new(Exec(std::sync::Arc::new(self.net.clone())))
            .timer(TokioTimer::new())
            .keep_alive_interval(keepalive.interval)
            .keep_alive_timeout(keepalive.timeout)
            .auto_date_header(false)
            .max_concurrent_streams(u32::try_from(self.shared.config.max_unacked).unwrap_or(u32::MAX))
            .serve_connection(io, hyper_util::service::TowerToHyperService::new(service))
    }
}

/// The `Shipper` service of one receiving life.
struct Handler<N> {
    net: N,
    shared: Arc<Shared>,
    calls: Arc<CallTable>,
    sink: Arc<dyn EventSink>,
    fence: Option<Arc<dyn Fence>>,
    /// Told when the sink closed for good: the server stops.
    closed: Arc<Notify>,
    /// Closed when this life's `serve` ended: its deliveries stop.
    ended: watch::Receiver<()>,
}

#[tonic::async_trait]
impl<N: Network> Shipper for Handler<N> {
    async fn ship(&self, request: Request<ShipRequest>) -> Result<Response<ShipReply>, Status> {
        let deadline = self.deadline(&request)?;
        let request = request.into_inner();
        if let Some(why) = malformed(&request) {
            return Err(self.malformed(&request.node, why));
        }
        let cursor = self.open_call(&request)?;
        let first_connection = self.calls.first_connection(&request.node, request.life, request.connection);
        let delivery = Delivery {
            shared: self.shared.clone(),
            sink: self.sink.clone(),
            fence: self.fence.clone(),
            deadline,
            first_connection,
        };
        // broken::GrpcOkOnHeaders: the reply (headers and all) goes out at once, counting the
        // whole call; the sink gets the events a moment later.
        if broken::is(Variant::GrpcOkOnHeaders) {
            return Ok(self.ok_on_headers(delivery, cursor, request));
        }
        let first = request.first;
        let task = self.spawn_delivery(delivery, cursor, request);
        self.answer(task.await, first, first_connection)
    }
}

/// How a delivery task ended: `None` when the receiving life ended first.
type Delivered = Option<Result<ShipReply, SinkGone>>;

impl<N: Network> Handler<N> {
    /// Counts and reports a malformed request, and the status that answers it.
    fn malformed(&self, peer: &str, why: &str) -> Status {
        self.shared.stats.count_protocol_error();
        warn!(node = %self.shared.config.node, peer = %peer, reason = why, "malformed request");
        self.shared.observe(|o| o.on_protocol_error(peer, why));
        Status::invalid_argument(why)
    }

    /// The request's deadline: its `grpc-timeout` from now, never later than
    /// `config.deadline` from now. A malformed header is a malformed request.
    fn deadline(&self, request: &Request<ShipRequest>) -> Result<Instant, Status> {
        let cap = now() + self.shared.config.deadline;
        match request.metadata().get("grpc-timeout") {
            Some(value) => match deadline::parse(value.as_bytes()) {
                Some(timeout) => Ok(cap.min(now() + timeout)),
                None => Err(self.malformed("", "a malformed grpc-timeout header")),
            },
            None => Ok(cap),
        }
    }

    /// The cursor of the call the request is an attempt of, or the status that turns it away
    /// (a stale life or settled call, or a sender with too many calls open).
    fn open_call(&self, request: &ShipRequest) -> Result<Arc<CallCursor>, Status> {
        let said = Said {
            life: request.life,
            call: request.call,
            first: request.first,
            settled_below: request.settled_below,
            issued: request.issued,
            open: &request.open,
        };
        match self.calls.open(&request.node, said) {
            Ok(cursor) => Ok(cursor),
            Err(Turned::Stale(why)) => {
                debug!(peer = %request.node, call = request.call, "turned away: {why}");
                Err(Status::failed_precondition(why))
            }
            Err(Turned::Full) => {
                warn!(peer = %request.node, "too many open calls");
                Err(Status::resource_exhausted("too many open calls from this sender"))
            }
        }
    }

    /// `broken::GrpcOkOnHeaders`: a reply counting the whole call, made before the delivery,
    /// which a task of its own starts a moment later (unless the life ended by then).
    fn ok_on_headers(
        &self,
        delivery: Delivery,
        cursor: Arc<CallCursor>,
        request: ShipRequest,
    ) -> Response<ShipReply> {
        let delivered = request.first + request.events.len() as u64;
        let first_connection = delivery.first_connection;
        let mut ended = self.ended.clone();
        drop(self.net.spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            tokio::select! {
                biased;
                _ = ended.changed() => {}
                _ = delivery.run(&cursor, request) => {}
            }
        }));
        Response::new(ShipReply { delivered, refused: None, first_connection })
    }

    /// Runs the delivery in a task of its own, so a caller that gives up never cuts a sink's
    /// accept short; the task stops where it is when the receiving life ends.
    fn spawn_delivery(
        &self,
        delivery: Delivery,
        cursor: Arc<CallCursor>,
        request: ShipRequest,
    ) -> JoinHandle<Delivered> {
        let mut ended = self.ended.clone();
        self.net.spawn(async move {
            // The end of the life first: once it ended, not one more event is offered.
            tokio::select! {
                biased;
                _ = ended.changed() => None,
                reply = delivery.run(&cursor, request) => Some(reply),
            }
        })
    }

    /// The answer to an attempt whose events were delivered from position `first`: the reply,
    /// or a status when there is none to send. A sink closed for good stops the server.
    fn answer(
        &self,
        task: Result<Delivered, JoinError>,
        first: u64,
        first_connection: u64,
    ) -> Result<Response<ShipReply>, Status> {
        match task {
            Ok(Some(Ok(reply))) => {
                let limit = wire::reply_limit(self.shared.config.max_frame);
                if prost::Message::encoded_len(&reply) > limit {
                    // tonic would fail to encode it with `OutOfRange`, which the sender takes
                    // for "nothing of the attempt delivered": a status it takes for "maybe".
                    warn!(node = %self.shared.config.node, limit, "a reply too large to send (the refusal's map)");
                    return Err(Status::internal("the reply does not fit the reply size limit"));
                }
                Ok(Response::new(reply))
            }
            Ok(Some(Err(SinkGone { delivered }))) => {
                self.closed.notify_one();
                if delivered > first {
                    // The sink took some of this attempt's events before it closed: the sender
                    // takes `Aborted` for "nothing of the attempt delivered", so the exact
                    // count answers instead (its next attempt finds the server gone).
                    Ok(Response::new(ShipReply { delivered, refused: None, first_connection }))
                } else {
                    Err(Status::aborted("the receiver's sink is closed"))
                }
            }
            // Neither is a status the sender takes for "nothing delivered": some of the
            // attempt may have been.
            Ok(None) => Err(Status::unavailable("the receiver stopped")),
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(_cancelled) => Err(Status::unavailable("the receiver is shutting down")),
        }
    }
}

/// What no correct sender sends.
fn malformed(request: &ShipRequest) -> Option<&'static str> {
    if request.node.is_empty() {
        Some("a request without a sender node")
    } else if request.life == 0 {
        Some("a request with life 0 (lives start at 1)")
    } else if request.call == 0 {
        Some("a request with call 0 (calls start at 1)")
    } else if request.call < request.settled_below {
        Some("a request for a call it says is settled")
    } else if request.first.checked_add(request.events.len() as u64).is_none() {
        Some("a request whose positions overflow")
    } else if request.issued == 0 && !request.open.is_empty() {
        Some("a request listing open calls without saying up to which it was issued")
    } else if request.open.len() > MAX_LISTED_OPEN || !request.open.windows(2).all(|w| w[0] < w[1]) {
        Some("a request whose open calls are more than 64 or not strictly ascending")
    } else if request.call <= request.issued && request.open.binary_search(&request.call).is_err() {
        // (A call past `issued` may be left out: a sender with more open calls than a request
        // lists stops `issued` below the first it leaves out.)
        Some("a request whose open calls leave out its own")
    } else {
        None
    }
}

/// The sink closed for good, the call's position then.
struct SinkGone {
    delivered: u64,
}

/// One request's delivery, run in a task of its own.
struct Delivery {
    shared: Arc<Shared>,
    sink: Arc<dyn EventSink>,
    fence: Option<Arc<dyn Fence>>,
    deadline: Instant,
    /// The lowest connection of the sender this life has seen, for the reply.
    first_connection: u64,
}

impl Delivery {
    /// Delivers the request's events from the call's position on, in order, until the last,
    /// a refusal or the deadline; replies with where the call stands.
    async fn run(&self, cursor: &CallCursor, request: ShipRequest) -> Result<ShipReply, SinkGone> {
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
        Ok(ShipReply { delivered: position.delivered, refused, first_connection: self.first_connection })
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
                        return Ok(false);
                    }
                    tokio::time::sleep_until(retry).await;
                    event = back;
                }
            }
        }
    }
}
