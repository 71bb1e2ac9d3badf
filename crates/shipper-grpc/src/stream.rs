//! The receiving end of one connection's `Stream` RPC: each request message is an attempt of
//! a call, served as the unary `Ship` serves one (`crate::handler`), and answered by a reply
//! message carrying its call key as soon as its delivery ends.
//!
//! Up to `max_unacked` deliveries run at once per stream (the bound the unary service puts on
//! an HTTP/2 connection's streams); the next request is read when one ends, so a sender that
//! sends more waits in the stream's flow control. When the requests end (the sender closed
//! the stream, or its connection died) the deliveries under way still finish: a caller that
//! gives up never cuts a sink's accept short. When the receiving life ends, they stop.

use std::task::Poll;

use shipper_net::Network;
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinSet};
use tonic::{Status, Streaming};
use tracing::debug;

use crate::handler::{Delivered, Handler};
use crate::pb::{ShipReply, ShipRequest};

/// What the reply stream carries: a reply, or the status that ends the stream (a request
/// that could not be decoded).
pub(crate) type Outgoing = Result<ShipReply, Status>;

/// A delivery that ended, with what its reply needs: the call key, the position of the
/// attempt's first event and the sender's first connection. `None` for a delivery whose reply
/// already went (`broken::GrpcOkOnHeaders`).
type Finished = Option<(u64, u64, u64, Delivered)>;

/// One `Stream` RPC of a receiving life.
pub(crate) struct CallStream<N> {
    handler: Handler<N>,
    replies: mpsc::UnboundedSender<Outgoing>,
}

impl<N: Network> CallStream<N> {
    pub(crate) fn new(handler: Handler<N>, replies: mpsc::UnboundedSender<Outgoing>) -> Self {
        CallStream { handler, replies }
    }

    /// Serves the requests of `inbound` until they end and every delivery answered, or the
    /// receiving life ends.
    pub(crate) async fn run(self, inbound: Streaming<ShipRequest>) {
        let mut ended = self.handler.ended.clone();
        let mut inbound = Some(inbound);
        let mut deliveries: JoinSet<Finished> = JoinSet::new();
        let bound = self.handler.shared.config.max_unacked.max(1);
        // (The life's end is always awaited, so `select!`'s `else` would never run: the loop
        // checks for the end of the requests and deliveries itself.)
        while inbound.is_some() || !deliveries.is_empty() {
            tokio::select! {
                biased;
                _ = ended.changed() => return,
                Some(done) = deliveries.join_next(), if !deliveries.is_empty() => self.finish(done),
                message = next(&mut inbound), if inbound.is_some() && deliveries.len() < bound => {
                    match message {
                        Ok(Some(request)) => self.start(&mut deliveries, request).await,
                        Ok(None) => inbound = None,
                        Err(status) => {
                            // A request that could not be decoded (too large, malformed
                            // protobuf): its call key is unknown, so the stream ends with
                            // the status, and the sender retries what it had no reply for.
                            debug!(status = %status, "a request stream failed");
                            drop(self.replies.send(Err(status)));
                            inbound = None;
                        }
                    }
                }
            }
        }
    }

    /// Starts serving one request: turns it away at once, or starts its delivery. A delivery
    /// that ends at its first poll (the sink took every event at once, the usual case) is
    /// answered at once; one that has to wait goes on in a task of its own. (A task for every
    /// call cost 5.3 M of `baseline`'s 208.6 M instructions on gRPC: `docs/benchmarks.md`.)
    async fn start(&self, deliveries: &mut JoinSet<Finished>, request: ShipRequest) {
        let call = request.call;
        let deadline = self.handler.stream_deadline(request.timeout_nanos);
        let prepared = match self.handler.prepare(request, deadline) {
            Ok(prepared) => prepared,
            Err(status) => return self.send(call, Err(status)),
        };
        if crate::broken::is(crate::broken::Variant::GrpcOkOnHeaders) {
            let reply = self.handler.ok_on_headers(prepared);
            return self.send(call, Ok(reply));
        }
        let (first, first_connection) = (prepared.first(), prepared.first_connection());
        let delivering = self.handler.delivering(prepared);
        let mut delivering = Box::pin(async move { Some((call, first, first_connection, delivering.await)) });
        // Never dropped part-way: finished here, or handed whole to its task.
        match std::future::poll_fn(|cx| Poll::Ready(delivering.as_mut().poll(cx))).await {
            Poll::Ready(finished) => self.finish(Ok(finished)),
            Poll::Pending => drop(self.handler.net.spawn_in(deliveries, delivering)),
        }
    }

    /// Answers a delivery that ended.
    fn finish(&self, done: Result<Finished, JoinError>) {
        match done {
            Ok(Some((call, first, first_connection, delivered))) => {
                let answer = self.handler.answer(Ok(delivered), first, first_connection);
                self.send(call, answer);
            }
            Ok(None) => {}
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            // Aborted only with the set, when this stream is gone.
            Err(_cancelled) => {}
        }
    }

    /// Sends the answer to the call `call`: the reply, or the status as a reply's code. A
    /// sender that is gone gets nothing.
    fn send(&self, call: u64, answer: Result<ShipReply, Status>) {
        let reply = match answer {
            Ok(reply) => ShipReply { call, ..reply },
            Err(status) => ShipReply {
                call,
                code: status.code() as i32,
                message: status.message().to_owned(),
                ..ShipReply::default()
            },
        };
        drop(self.replies.send(Ok(reply)));
    }
}

/// The next request of `inbound` (which the caller checked is there).
async fn next(inbound: &mut Option<Streaming<ShipRequest>>) -> Result<Option<ShipRequest>, Status> {
    match inbound {
        Some(inbound) => inbound.message().await,
        None => Ok(None),
    }
}
