//! The `Shipper` service's work on one request, for one receiving life: check it, find its
//! call, deliver it in a task of its own, and make the reply. The unary `Ship`
//! (`crate::server`) and the `Stream` RPC (`crate::stream`) both go through it.
//!
//! Each request's delivery runs in a task of its own, so a caller that gives up (a reset
//! stream, a closed connection) never cuts a sink's accept short: the task finishes the event
//! in hand, stops at the request's deadline, and leaves the call's position right for the
//! retry. Those tasks belong to the receiving life all the same: when `serve` ends (or is
//! dropped, or its task aborted) they stop where they are, as they would if the process died,
//! so a stopped life never delivers behind the back of the next one.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use shipper::{EventSink, Fence};
use shipper_net::Network;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinError, JoinHandle};
use tokio::time::Instant;
use tonic::{Request, Status};
use tracing::{debug, warn};

use crate::calls::{CallCursor, CallTable, Said, Turned};
use crate::deadline;
use crate::delivery::{Delivery, SinkGone};
use crate::keys::MAX_LISTED_OPEN;
use crate::pb::{ShipReply, ShipRequest};
use crate::shared::{Shared, now};
use crate::wire;

/// The `Shipper` service of one receiving life.
pub(crate) struct Handler<N> {
    pub(crate) net: N,
    pub(crate) shared: Arc<Shared>,
    pub(crate) calls: Arc<CallTable>,
    pub(crate) sink: Arc<dyn EventSink>,
    pub(crate) fence: Option<Arc<dyn Fence>>,
    /// Told when the sink closed for good: the server stops.
    pub(crate) closed: Arc<Notify>,
    /// Closed when this life's `serve` ended: its deliveries stop.
    pub(crate) ended: watch::Receiver<()>,
}

impl<N: Network> Clone for Handler<N> {
    fn clone(&self) -> Self {
        Handler {
            net: self.net.clone(),
            shared: self.shared.clone(),
            calls: self.calls.clone(),
            sink: self.sink.clone(),
            fence: self.fence.clone(),
            closed: self.closed.clone(),
            ended: self.ended.clone(),
        }
    }
}

/// How a delivery task ended: `None` when the receiving life ended first.
pub(crate) type Delivered = Option<Result<ShipReply, SinkGone>>;

/// A request ready for delivery: its call found, its deadline set.
pub(crate) struct Prepared {
    delivery: Delivery,
    cursor: Arc<CallCursor>,
    request: ShipRequest,
}

impl Prepared {
    /// The position of the request's first event in its call.
    pub(crate) fn first(&self) -> u64 {
        self.request.first
    }

    /// The lowest connection of the sender this life has seen, for the reply.
    pub(crate) fn first_connection(&self) -> u64 {
        self.delivery.first_connection
    }
}

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
    pub(crate) fn deadline(&self, request: &Request<ShipRequest>) -> Result<Instant, Status> {
        let cap = now() + self.shared.config.deadline;
        match request.metadata().get("grpc-timeout") {
            Some(value) => match deadline::parse(value.as_bytes()) {
                Some(timeout) => Ok(cap.min(now() + timeout)),
                None => Err(self.malformed("", "a malformed grpc-timeout header")),
            },
            None => Ok(cap),
        }
    }

    /// The deadline of a request on the `Stream` RPC: its `timeout_nanos` from now (0: not
    /// said), never later than `config.deadline` from now.
    pub(crate) fn stream_deadline(&self, timeout_nanos: u64) -> Instant {
        let cap = now() + self.shared.config.deadline;
        match timeout_nanos {
            0 => cap,
            nanos => cap.min(now() + Duration::from_nanos(nanos)),
        }
    }

    /// Checks `request` and finds its call: what its delivery needs, or the status that turns
    /// it away (malformed, stale, too many calls open).
    pub(crate) fn prepare(&self, request: ShipRequest, deadline: Instant) -> Result<Prepared, Status> {
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
        Ok(Prepared { delivery, cursor, request })
    }

    /// `broken::GrpcOkOnHeaders`: a reply counting the whole call, made before the delivery,
    /// which a task of its own starts a moment later (unless the life ended by then). On the
    /// `Stream` RPC it is the same bug: the call's ack leaves as soon as its request is read.
    pub(crate) fn ok_on_headers(&self, prepared: Prepared) -> ShipReply {
        let Prepared { delivery, cursor, request } = prepared;
        let delivered = request.first + request.events.len() as u64;
        let first_connection = delivery.first_connection;
        let mut ended = self.ended.clone();
        drop(self.net.spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            tokio::select! {
                biased;
                _ = ended.changed() => {}
                _ = delivery.run(&cursor, request) => {}
            }
        }));
        ShipReply { delivered, first_connection, ..ShipReply::default() }
    }

    /// The delivery of `prepared`, to run in a task of its own so that a caller that gives up
    /// never cuts a sink's accept short; it stops where it is when the receiving life ends.
    pub(crate) fn delivering(&self, prepared: Prepared) -> impl Future<Output = Delivered> + Send + 'static {
        let mut ended = self.ended.clone();
        let Prepared { delivery, cursor, request } = prepared;
        async move {
            // The end of the life first: once it ended, not one more event is offered.
            tokio::select! {
                biased;
                _ = ended.changed() => None,
                reply = delivery.run(&cursor, request) => Some(reply),
            }
        }
    }

    /// [`Self::delivering`], spawned on the network.
    pub(crate) fn spawn_delivery(&self, prepared: Prepared) -> JoinHandle<Delivered> {
        self.net.spawn(self.delivering(prepared))
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

    /// The answer to an attempt whose events were delivered from position `first`: the reply,
    /// or a status when there is none to send. A sink closed for good stops the server.
    pub(crate) fn answer(
        &self,
        task: Result<Delivered, JoinError>,
        first: u64,
        first_connection: u64,
    ) -> Result<ShipReply, Status> {
        match task {
            Ok(Some(Ok(reply))) => {
                let limit = wire::reply_limit(self.shared.config.max_frame);
                if prost::Message::encoded_len(&reply) > limit {
                    // tonic would fail to encode it with `OutOfRange`, which the sender takes
                    // for "nothing of the attempt delivered": a status it takes for "maybe".
                    warn!(node = %self.shared.config.node, limit, "a reply too large to send (the refusal's map)");
                    return Err(Status::internal("the reply does not fit the reply size limit"));
                }
                Ok(reply)
            }
            Ok(Some(Err(SinkGone { delivered }))) => {
                self.closed.notify_one();
                if delivered > first {
                    // The sink took some of this attempt's events before it closed: the sender
                    // takes `Aborted` for "nothing of the attempt delivered", so the exact
                    // count answers instead (its next attempt finds the server gone).
                    Ok(ShipReply { delivered, first_connection, ..ShipReply::default() })
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
