//! [`GrpcTransport`]: the [`ShipperTransport`] over gRPC, on a [`Network`].

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shipper::{
    BatchError, EventSink, Fence, NodeId, ShippedEvent, ShipperError, ShipperResult, ShipperTransport,
    UNFENCED_EPOCH,
};
use shipper_net::{NetConfig, NetStats, Network, TransportObserver};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tonic::Code;
use tracing::{debug, warn};

use crate::broken::{self, Variant};
use crate::keys::{CallKey, CallKeys};
use crate::link::{Connection, Link, Unreachable};
use crate::pb;
use crate::server::GrpcServer;
use crate::session::Session;
use crate::shared::{Shared, now};
use crate::wire;

/// Acknowledged event shipping over gRPC, generic over the [`Network`].
///
/// - `Ok` means the destination's sink accepted every event of the call.
/// - An error's [`ShipperError::outcome`] says whether the events may have arrived:
///   `Ambiguous` once an attempt ended without a reply, a never-sent error otherwise
///   (`NoRoute`, `Timeout`, `Send` for a request the receiver turned away).
/// - Every call ends by its deadline (`send` uses `config.deadline`, the others the earlier of
///   theirs and that), and the receiver gets it as the gRPC deadline.
/// - A call is one request message on the connection's `Stream` RPC (several consecutive
///   ones when it is larger than a message may be), answered by one reply on it, and retried
///   on a new connection after a failure with the same idempotency key.
///
/// Of [`NetConfig`]: `ack_timeout` sets the HTTP/2 keepalive, `max_frame` the message size,
/// `max_unacked` the calls in flight per destination; `connections` is not used (one HTTP/2
/// connection multiplexes every call to a destination).
pub struct GrpcTransport<N: Network> {
    net: N,
    shared: Arc<Shared>,
    peers: Mutex<BTreeMap<NodeId, Arc<Peer>>>,
    /// Destinations the network knows whose route was taken away.
    removed: Mutex<BTreeSet<NodeId>>,
    /// The bytes the events of one request may take (see [`wire::room_for_events`]).
    room: usize,
}

/// One destination: its connection, its bound on calls in flight and its call keys.
struct Peer {
    link: Link,
    /// The keys of this life's calls to the destination, and which are open.
    keys: CallKeys,
    in_flight: Arc<Semaphore>,
}

/// How a call ended without every event accepted.
struct Failure {
    acked: usize,
    error: ShipperError,
}

/// How an attempt of a call was cut short.
enum CutShort {
    /// Try again (on a new connection) while the deadline allows.
    Retry,
    /// No further attempt: the deadline came, the destination cannot be reached before it,
    /// or the receiver said no. The call ends with what [`Call::into_result`] makes of it.
    GiveUp,
    /// The call ends now, with this failure (the receiver refused the events).
    Ends(Failure),
}

/// One ship call under way: what it carries, how far the receiver acknowledged it, and
/// what went wrong in its attempts, which decides the error it ends with.
struct Call<'a> {
    dst: &'a NodeId,
    events: &'a [ShippedEvent],
    /// `events` in protobuf form, encoded once for every attempt.
    encoded: Vec<pb::Event>,
    deadline: Instant,
    /// The epoch of the map the call was planned under, for the receiver's fence.
    epoch: u64,
    /// The idempotency key every attempt carries, open until the call returns.
    key: CallKey,
    /// Events the receiver's sink accepted, from the start of the call.
    acked: usize,
    /// How far into the call any attempt wrote (events below it are retransmits).
    written: usize,
    attempts: u32,
    /// An attempt ended without a reply: its events may have arrived.
    uncertain: bool,
    /// How far into the call each attempt that went unanswered reached, and the connection
    /// it went on (end, generation): those events may have arrived in the receiving life at
    /// the other end, which a refusal from another life knows nothing of.
    unanswered: Vec<(usize, u64)>,
    /// The receiver's no (the status message it answered with), if it said one.
    turned_away: Option<String>,
    /// The last connection attempt failed (and nothing was sent since): the deadline came
    /// while the destination could not be reached.
    unreachable: Option<io::Error>,
    /// What went wrong last: the reason of an `Ambiguous` end.
    last: String,
}

impl<'a> Call<'a> {
    fn new(
        dst: &'a NodeId,
        events: &'a [ShippedEvent],
        encoded: Vec<pb::Event>,
        deadline: Instant,
        epoch: u64,
        key: CallKey,
    ) -> Self {
        Call {
            dst,
            events,
            encoded,
            deadline,
            epoch,
            key,
            acked: 0,
            written: 0,
            attempts: 0,
            uncertain: false,
            unanswered: Vec::new(),
            turned_away: None,
            unreachable: None,
            last: String::from("the deadline passed before the events were sent"),
        }
    }

    /// The failure a refusal ends the call with, `acked` events in. Certain (`WrongOwner`) for
    /// the refusing receiving life, which delivered the call up to `acked` and nothing after;
    /// `Ambiguous` when an unanswered attempt reached further on a connection that may have
    /// led to another life.
    fn refused(&self, refusal: pb::Refusal, generation: u64, first_connection: u64) -> Failure {
        let (dst, acked) = (self.dst, self.acked);
        // An attempt that went unanswered on a connection older than the first this life saw
        // (maybe to an earlier life of the receiver, before a restart) may have delivered
        // events past `acked`: for those the call cannot say "not delivered". (This life saw
        // connection `first_connection` and still answers, so it is at the end of every later
        // one.)
        let this_life = |conn: u64| conn == generation || (first_connection != 0 && conn >= first_connection);
        let reach = self.unanswered.iter().filter(|(_, conn)| !this_life(*conn)).map(|(end, _)| *end).max();
        if reach.is_some_and(|reach| reach > acked) {
            let reason = format!(
                "refused at event {acked} after an attempt without a reply on a connection \
                 to what may have been another life of the receiver, which may have \
                 delivered it"
            );
            shipper::probe!("grpc.refusal-ambiguous");
            return Failure { acked, error: ShipperError::Ambiguous { node: dst.clone(), reason } };
        }
        shipper::probe!("grpc.refused");
        let refusal = wire::refusal_from_pb(refusal);
        let error =
            ShipperError::WrongOwner { node: dst.clone(), epoch: refusal.epoch, members: refusal.members };
        Failure { acked, error }
    }

    /// How the call ends once no attempt is left: `Ok` if every event was accepted, else the
    /// failure its attempts point to, the most uncertain first.
    fn into_result(self) -> Result<(), Failure> {
        if self.acked == self.events.len() {
            return Ok(());
        }
        let dst = self.dst;
        let error = if self.uncertain {
            ShipperError::Ambiguous { node: dst.clone(), reason: self.last }
        } else if let Some(why) = self.turned_away {
            ShipperError::Send(format!("{dst} turned the call away: {why}"))
        } else if let Some(err) = self.unreachable {
            ShipperError::Send(format!("could not connect to {dst}: {err}"))
        } else {
            ShipperError::Timeout(dst.clone())
        };
        Err(Failure { acked: self.acked, error })
    }
}

impl<N: Network> GrpcTransport<N> {
    /// A transport for the node `config.node`. Out-of-range settings are clamped.
    pub fn new(net: N, config: NetConfig) -> Self {
        let shared = Arc::new(Shared::new(config, None));
        let room = wire::room_for_events(&shared.config.node, shared.config.max_frame);
        GrpcTransport { net, shared, peers: Mutex::default(), removed: Mutex::default(), room }
    }

    /// Reports acks, retransmits, reconnects and malformed requests to `observer`, from this
    /// transport and the servers it makes. Set it before the first send.
    pub fn with_observer(mut self, observer: Arc<dyn TransportObserver>) -> Self {
        // The peers keep the settings, which stay; never their call keys, which must not
        // start over within a life.
        self.shared = Arc::new(Shared::new(self.shared.config.clone(), Some(observer)));
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

    /// A server for this node's receiving side, sharing this transport's settings, counters
    /// and observer.
    pub fn server(&self) -> GrpcServer<N> {
        GrpcServer::from_shared(self.net.clone(), self.shared.clone())
    }

    /// Binds this node's listener.
    pub async fn bind(&self) -> io::Result<N::Listener> {
        self.net.bind().await
    }

    /// `self.server().serve(listener, sink)`: a future to spawn, running until the sink
    /// closes. See [`GrpcServer::serve`].
    pub fn serve(
        &self,
        listener: N::Listener,
        sink: Arc<dyn EventSink>,
    ) -> impl Future<Output = io::Result<()>> + Send + 'static {
        self.server().serve(listener, sink)
    }

    /// [`Self::serve`] with every event asked about by `fence` first: see
    /// [`GrpcServer::with_fence`].
    pub fn serve_fenced(
        &self,
        listener: N::Listener,
        sink: Arc<dyn EventSink>,
        fence: Arc<dyn Fence>,
    ) -> impl Future<Output = io::Result<()>> + Send + 'static {
        self.server().with_fence(fence).serve(listener, sink)
    }

    /// Forgets the route to `node`: new calls to it fail at once with `NoRoute` (never sent)
    /// until `register_route(node)`. Calls under way finish.
    pub fn remove_route(&self, node: &NodeId) {
        self.removed_mut().insert(node.clone());
    }

    fn removed_mut(&self) -> std::sync::MutexGuard<'_, BTreeSet<NodeId>> {
        // Every change is one insert or remove: poisoning cannot leave it torn.
        self.removed.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn peers_mut(&self) -> std::sync::MutexGuard<'_, BTreeMap<NodeId, Arc<Peer>>> {
        // Every change is one insert or clear: poisoning cannot leave it torn.
        self.peers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn routes_to(&self, dst: &NodeId) -> bool {
        self.net.knows(dst) && !self.removed_mut().contains(dst)
    }

    /// The destination's connection and in-flight bound, made on first use. Its backoff
    /// jitter is seeded from `config.rng_seed` and the destination's name.
    fn peer(&self, dst: &NodeId) -> Arc<Peer> {
        let mut peers = self.peers_mut();
        if let Some(peer) = peers.get(dst) {
            return peer.clone();
        }
        let seed = self.shared.config.rng_seed ^ shipper::fnv1a_64(dst.as_bytes());
        let peer = Arc::new(Peer {
            link: Link::new(dst.clone(), &self.shared, seed),
            keys: CallKeys::default(),
            in_flight: Arc::new(Semaphore::new(self.shared.config.max_unacked)),
        });
        peers.insert(dst.clone(), peer.clone());
        peer
    }

    /// The deadline of a call: `requested`, but never later than `config.deadline` from now.
    fn deadline(&self, requested: Option<Instant>) -> Instant {
        let cap = now() + self.shared.config.deadline;
        requested.map_or(cap, |d| d.min(cap))
    }

    /// Ships `events` as one call. An event too large for a message (for the room a message
    /// has for events) ends the call where it sits: the prefix before it is shipped, it and
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
        let room = self.room;
        let mut encoded: Vec<pb::Event> = events.iter().map(wire::to_pb).collect();
        let too_big = encoded.iter().position(|e| wire::event_size(e) > room);
        let rest = too_big.map(|at| {
            encoded.truncate(at);
            events.split_off(at)
        });
        let result =
            if events.is_empty() { Ok(()) } else { self.call(dst, &events, encoded, deadline, epoch).await };
        let mut failure = result.err();
        if let Some(rest) = &rest
            && failure.is_none()
        {
            let size = wire::event_size(&wire::to_pb(&rest[0]));
            let error = ShipperError::Encode(if room < self.shared.config.max_frame {
                format!(
                    "an event of {size} bytes does not fit the {room} bytes a message has for events \
                     beside this node's long name"
                )
            } else {
                format!("an event of {size} bytes does not fit the {room}-byte message limit")
            });
            failure = Some(Failure { acked: events.len(), error });
        }
        match failure {
            None => Ok(events.len()),
            Some(Failure { acked, error }) => {
                let mut unshipped = events.split_off(acked);
                unshipped.extend(rest.unwrap_or_default());
                Err(BatchError { shipped: acked, error, unshipped })
            }
        }
    }

    /// One call: attempts until every event is accepted, the receiver refuses, or the
    /// deadline passes. Each attempt carries the events from the first unacknowledged one on,
    /// as many as fit a message, under the call's key.
    async fn call(
        &self,
        dst: &NodeId,
        events: &[ShippedEvent],
        encoded: Vec<pb::Event>,
        deadline: Instant,
        epoch: u64,
    ) -> Result<(), Failure> {
        let peer = self.peer(dst);
        let Ok(Ok(_permit)) = tokio::time::timeout_at(deadline, peer.in_flight.clone().acquire_owned()).await
        else {
            return Err(Failure { acked: 0, error: ShipperError::Timeout(dst.clone()) });
        };
        // Declared after the permit, so the call's key closes before the permit goes back.
        let mut call = Call::new(dst, events, encoded, deadline, epoch, peer.keys.open());
        while call.acked < events.len() && now() < deadline {
            match self.attempt(&peer, &mut call).await {
                Ok(()) | Err(CutShort::Retry) => {}
                Err(CutShort::GiveUp) => break,
                Err(CutShort::Ends(failure)) => return Err(failure),
            }
        }
        call.into_result()
    }

    /// One attempt of `call`: connect, send the part from the first unacknowledged event on,
    /// take in the reply. `Ok` when the reply was taken in (the call goes on while events are
    /// left); how the attempt was cut short otherwise.
    async fn attempt(&self, peer: &Peer, call: &mut Call<'_>) -> Result<(), CutShort> {
        let connection = self.connect(peer, call).await?;
        let end = self.start_attempt(peer, call);
        let generation = connection.generation;
        let request = self.request(peer, call, end, generation);
        let config = &self.shared.config;
        let reply = self.send(&connection.session, peer, call, request, end, generation).await?;
        peer.link.replied();
        let delivered = self.delivered(call, &reply, end)?;
        let progressed = self.take_acks(call, delivered);
        if let Some(refusal) = reply.refused {
            return Err(CutShort::Ends(call.refused(refusal, generation, reply.first_connection)));
        }
        if !progressed {
            // The receiver stopped short (its sink busy to the deadline): pause, then
            // try again while the deadline allows.
            let pause = now() + config.busy_retry;
            tokio::time::sleep_until(pause.min(call.deadline)).await;
        }
        Ok(())
    }

    /// The destination's connection, made (or waited for) by the call's deadline. A failed
    /// connection attempt is retried while the deadline allows; a backoff that outlasts the
    /// deadline gives up.
    async fn connect(&self, peer: &Peer, call: &mut Call<'_>) -> Result<Connection, CutShort> {
        let connecting = peer.link.connection(&self.net, &self.shared, call.deadline);
        match tokio::time::timeout_at(call.deadline, connecting).await {
            Ok(Ok(connection)) => {
                call.unreachable = None;
                Ok(connection)
            }
            Err(_) | Ok(Err(Unreachable::Backoff)) => Err(CutShort::GiveUp),
            Ok(Err(Unreachable::Failed(err))) => {
                shipper::probe!("grpc.connect-failed");
                call.last = format!("cannot connect: {err}");
                call.unreachable = Some(err);
                Err(CutShort::Retry)
            }
        }
    }

    /// Counts an attempt and the events it writes; returns the end of its part (as many
    /// events from the first unacknowledged one as fit a message).
    fn start_attempt(&self, peer: &Peer, call: &mut Call<'_>) -> usize {
        // broken::GrpcRetryWithoutKey: a retry goes out under a new key, as a new call.
        if call.attempts > 0 && broken::is(Variant::GrpcRetryWithoutKey) {
            call.key = peer.keys.open();
        }
        if call.attempts > 0 && call.written > call.acked {
            shipper::probe!("grpc.retry-same-key");
        }
        call.attempts += 1;
        let end = wire::part_end(&call.encoded, call.acked, self.room);
        self.count_writes(call.dst, &call.events[call.acked..end], call.acked, call.written);
        call.written = call.written.max(end);
        end
    }

    /// The request of an attempt: the call's events from the first unacknowledged one up to
    /// `end`, under the call's key, with what the receiver may forget, on connection
    /// `generation`, and the time left to the deadline as its timeout.
    fn request(&self, peer: &Peer, call: &Call<'_>, end: usize, generation: u64) -> pb::ShipRequest {
        let config = &self.shared.config;
        let settlement = peer.keys.settlement();
        let left = call.deadline.saturating_duration_since(now());
        pb::ShipRequest {
            node: config.node.clone(),
            life: config.life,
            call: call.key.key,
            settled_below: settlement.settled_below,
            epoch: call.epoch,
            events: call.encoded[call.acked..end].to_vec(),
            first: call.acked as u64,
            issued: settlement.issued,
            open: settlement.open,
            connection: generation,
            // At least 1: 0 would say "no timeout".
            timeout_nanos: u64::try_from(left.as_nanos()).unwrap_or(u64::MAX).max(1),
        }
    }

    /// Sends an attempt's request on the connection's stream and waits for its reply until
    /// the deadline. An attempt without a reply (the deadline came, or the stream ended) may
    /// have delivered its events (the call becomes uncertain); a status the receiver answered
    /// with is its definite no; any other status is a connection problem, retried on a new
    /// connection.
    async fn send(
        &self,
        session: &Session,
        peer: &Peer,
        call: &mut Call<'_>,
        request: pb::ShipRequest,
        end: usize,
        generation: u64,
    ) -> Result<pb::ShipReply, CutShort> {
        let Some(mut awaiting) = session.submit(request) else {
            // The stream had ended: nothing of this attempt went out.
            call.last = String::from("the connection closed before the request was sent");
            peer.link.failed(generation);
            return Err(CutShort::Retry);
        };
        let reply = match tokio::time::timeout_at(call.deadline, awaiting.reply()).await {
            Err(elapsed) => Err(elapsed),
            Ok(Some(reply)) if reply.code == 0 => Ok(Ok(reply)),
            Ok(Some(reply)) => Ok(Err(tonic::Status::new(Code::from(reply.code), reply.message))),
            Ok(None) => Ok(Err(tonic::Status::unavailable("the connection's call stream ended"))),
        };
        match reply {
            Err(_elapsed) => {
                shipper::probe!("grpc.deadline-unanswered");
                call.uncertain = true;
                call.unanswered.push((end, generation));
                call.last = String::from("no reply before the deadline");
                // A connection that left a whole call unanswered may be dead without the
                // keepalive knowing yet (its detection can outlast a short deadline): the
                // next call starts on a new one.
                peer.link.failed(generation);
                Err(CutShort::GiveUp)
            }
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(status)) if answered(&status) => {
                call.turned_away = Some(status.message().to_owned());
                Err(CutShort::GiveUp)
            }
            Ok(Err(status)) => {
                shipper::probe!("grpc.stream-broken");
                debug!(peer = %call.dst, status = %status, "call failed: reconnecting");
                call.uncertain = true;
                call.unanswered.push((end, generation));
                call.last = format!("the call failed: {status}");
                peer.link.failed(generation);
                Err(CutShort::Retry)
            }
        }
    }

    /// Where the reply says the call stands: between what was acknowledged and the attempt's
    /// `end`. A reply counting events it was not sent is a protocol error (counted): the call
    /// gives up, uncertain.
    fn delivered(&self, call: &mut Call<'_>, reply: &pb::ShipReply, end: usize) -> Result<usize, CutShort> {
        let (dst, acked) = (call.dst, call.acked);
        let Some(delivered) = usize::try_from(reply.delivered).ok().filter(|d| (acked..=end).contains(d))
        else {
            warn!(peer = %dst, delivered = reply.delivered, acked, end, "a reply counting events it was not sent");
            self.shared.stats.count_protocol_error();
            self.shared.observe(|o| o.on_protocol_error(dst, "a reply counting events it was not sent"));
            call.uncertain = true;
            call.last = String::from("a malformed reply");
            return Err(CutShort::GiveUp);
        };
        Ok(delivered)
    }

    /// Counts and reports the events acknowledged up to `delivered`; whether there were any.
    fn take_acks(&self, call: &mut Call<'_>, delivered: usize) -> bool {
        for event in &call.events[call.acked..delivered] {
            self.shared.stats.count_acked();
            self.shared.observe(|o| o.on_ack(call.dst, event));
        }
        let progressed = delivered > call.acked;
        call.acked = delivered;
        progressed
    }

    /// Counts the events of an attempt starting at position `from`: first writes as sent,
    /// the ones an earlier attempt carried (below `written`) as retransmits.
    fn count_writes(&self, dst: &NodeId, events: &[ShippedEvent], from: usize, written: usize) {
        for (at, event) in (from..).zip(events) {
            if at < written {
                self.shared.stats.count_retransmit();
                self.shared.observe(|o| o.on_retransmit(dst, event));
            } else {
                self.shared.stats.count_sent();
            }
        }
    }
}

/// Statuses the receiver answers with before delivering anything of the attempt (a malformed,
/// stale or oversized request (`OutOfRange`: larger than the receiver's limit, a settings
/// mismatch), too many open calls, a closed sink): a definite no, which no retry changes. Any
/// other status is a connection problem, retried on a new connection. A status tonic made
/// from a transport error (it keeps the error as its source) is one too, whatever its code:
/// an HTTP/2 reset such as `ENHANCE_YOUR_CALM` maps to `ResourceExhausted`, which must not
/// read as the receiver's no.
fn answered(status: &tonic::Status) -> bool {
    std::error::Error::source(status).is_none()
        && matches!(
            status.code(),
            Code::InvalidArgument
                | Code::FailedPrecondition
                | Code::ResourceExhausted
                | Code::OutOfRange
                | Code::Aborted
                | Code::Unimplemented
        )
}

#[async_trait]
impl<N: Network> ShipperTransport for GrpcTransport<N> {
    /// Ok once the destination's sink accepted the event; gives up after `config.deadline`.
    async fn send(&self, dst: &NodeId, event: ShippedEvent) -> ShipperResult<()> {
        let deadline = self.deadline(None);
        self.ship(dst, vec![event], deadline, UNFENCED_EPOCH).await.map(drop).map_err(|e| e.error)
    }

    /// As `send`, giving up at the earlier of `deadline` and `config.deadline` from now.
    async fn send_until(&self, dst: &NodeId, event: ShippedEvent, deadline: Instant) -> ShipperResult<()> {
        let deadline = self.deadline(Some(deadline));
        self.ship(dst, vec![event], deadline, UNFENCED_EPOCH).await.map(drop).map_err(|e| e.error)
    }

    /// The whole batch as one call, delivered in order. `Ok(n)` once every event was
    /// accepted; otherwise `shipped` is the accepted prefix and `unshipped` the rest.
    async fn send_batch(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
    ) -> Result<usize, BatchError> {
        let deadline = self.deadline(deadline);
        self.ship(dst, events, deadline, UNFENCED_EPOCH).await
    }

    /// As `send_batch`, the request carrying `epoch`: a fenced receiver that does not own the
    /// events refuses them ([`ShipperError::WrongOwner`], certain: the refused event and the
    /// rest were not delivered; `shipped` is the accepted prefix). A refusal that follows an
    /// unanswered attempt which reached further on a connection not known to lead to the
    /// refusing life (maybe an earlier life of the receiver) is `Ambiguous` instead.
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

    /// Gives back a route taken by [`GrpcTransport::remove_route`]. A node the network does
    /// not know is logged and ignored: it stays `NoRoute`.
    fn register_route(&self, node: NodeId) {
        if !self.net.knows(&node) {
            warn!(node = %self.shared.config.node, peer = %node, "register_route: the network does not know this node");
            return;
        }
        self.removed_mut().remove(&node);
    }

    /// Whether the network knows `node` and its route was not removed (it may still be
    /// unreachable).
    fn has_route(&self, node: &NodeId) -> bool {
        self.routes_to(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receivers_no_is_answered_and_a_transport_error_is_not() {
        assert!(answered(&tonic::Status::invalid_argument("a request with life 0")));
        assert!(answered(&tonic::Status::aborted("the receiver's sink is closed")));
        assert!(!answered(&tonic::Status::unavailable("connection closed")));
        assert!(!answered(&tonic::Status::unknown("http2 error")));
        // The same code, made from a transport error: a connection problem.
        let mut reset = tonic::Status::resource_exhausted("h2 protocol error: enhance your calm");
        reset.set_source(Arc::new(std::io::Error::other("stream reset")));
        assert!(!answered(&reset));
    }
}
