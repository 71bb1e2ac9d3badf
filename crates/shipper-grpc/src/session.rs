//! The client's end of one connection's `Stream` RPC: every ship call to the destination goes
//! as a request message on it, and its reply comes back on the same stream, matched by the
//! call's key.
//!
//! A unary RPC per call cost an HTTP/2 stream each (HEADERS, trailers, hyper's dispatch and
//! request-body tasks, h2's stream state): about 124,000 instructions a call more than the
//! TCP transport. On one long-lived stream a call is a DATA frame each way (docs/transports.md,
//! the gRPC transport's "Shape").
//!
//! A reply's absence is what a broken stream means: when the RPC ends (an error, the
//! connection gone, the receiver's life ended), every call still waiting learns that its
//! request went out without an answer, and may have been delivered.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use shipper_net::Network;
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use crate::chan::Messages;
use crate::http2::Http2;
use crate::pb;
use crate::pb::shipper_client::ShipperClient;

/// One connection's stream of calls.
pub(crate) struct Session {
    http2: Http2,
    /// The request stream's sending end: when the session is dropped, the requests end, and
    /// the receiver closes the stream once it answered what it was sent.
    requests: mpsc::UnboundedSender<pb::ShipRequest>,
    pending: Arc<Pending>,
}

/// The calls waiting for a reply on one stream.
#[derive(Default)]
struct Pending(Mutex<Waiting>);

#[derive(Default)]
struct Waiting {
    /// By call key: one attempt per call waits on a stream at a time (the next one goes
    /// after its reply, or on a new connection).
    calls: BTreeMap<u64, oneshot::Sender<pb::ShipReply>>,
    /// The stream ended: nothing more is sent on it or answered.
    closed: bool,
}

impl Pending {
    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        // Every change is one insert, remove or clear: poisoning cannot leave it torn.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `reply` to the call waiting for it. A reply nobody waits for (its call gave up
    /// at its deadline) is dropped.
    fn answer(&self, reply: pb::ShipReply) {
        match self.lock().calls.remove(&reply.call) {
            Some(waiting) => drop(waiting.send(reply)),
            None => shipper::probe!("grpc.late-reply"),
        }
    }

    /// The stream ended: every waiting call learns that no reply comes.
    fn close(&self) {
        let mut waiting = self.lock();
        waiting.closed = true;
        waiting.calls.clear();
    }
}

/// An attempt sent on a stream, waiting for its reply. Dropping it (the call gave up) forgets
/// the call, so that a late reply is dropped.
pub(crate) struct Awaiting {
    call: u64,
    reply: oneshot::Receiver<pb::ShipReply>,
    pending: Arc<Pending>,
}

impl Awaiting {
    /// The reply, or `None` when the stream ended without one.
    pub(crate) async fn reply(&mut self) -> Option<pb::ShipReply> {
        (&mut self.reply).await.ok()
    }
}

impl Drop for Awaiting {
    fn drop(&mut self) {
        self.pending.lock().calls.remove(&self.call);
    }
}

impl Session {
    /// Opens the `Stream` RPC on `http2` (requests to `origin`, messages within the limits),
    /// its reply reader spawned on the network.
    pub(crate) fn open<N: Network>(
        net: &N,
        http2: Http2,
        origin: http::Uri,
        limits: (usize, usize),
    ) -> Session {
        let (requests, messages) = Messages::channel();
        let pending = Arc::new(Pending::default());
        let (decoding, encoding) = limits;
        let client = ShipperClient::with_origin(http2.clone(), origin)
            .max_decoding_message_size(decoding)
            .max_encoding_message_size(encoding);
        drop(net.spawn(read_replies(client, messages, pending.clone())));
        Session { http2, requests, pending }
    }

    /// Whether the connection or its stream is gone: no request sent now would be answered.
    pub(crate) fn is_closed(&self) -> bool {
        self.http2.is_closed() || self.pending.lock().closed
    }

    /// Sends an attempt of the call `request.call`; `None` when the stream had ended (nothing
    /// was sent).
    pub(crate) fn submit(&self, request: pb::ShipRequest) -> Option<Awaiting> {
        let call = request.call;
        let (answer, reply) = oneshot::channel();
        {
            let mut waiting = self.pending.lock();
            if waiting.closed {
                return None;
            }
            waiting.calls.insert(call, answer);
        }
        let awaiting = Awaiting { call, reply, pending: self.pending.clone() };
        // Fails only once the reader is gone, which closed the pending calls first.
        self.requests.send(request).ok().map(|()| awaiting)
    }
}

/// Runs the RPC: sends what comes on `messages`, hands each reply to its call, and closes the
/// pending calls when the stream ends.
async fn read_replies(
    mut client: ShipperClient<Http2>,
    messages: Messages<pb::ShipRequest>,
    pending: Arc<Pending>,
) {
    let outcome = async {
        let mut replies = client.stream(messages).await?.into_inner();
        while let Some(reply) = replies.message().await? {
            pending.answer(reply);
        }
        Ok::<(), tonic::Status>(())
    }
    .await;
    if let Err(status) = outcome {
        debug!(status = %status, "the call stream ended");
    }
    pending.close();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(call: u64, delivered: u64) -> pb::ShipReply {
        pb::ShipReply { call, delivered, ..pb::ShipReply::default() }
    }

    fn waiting(pending: &Arc<Pending>, call: u64) -> Awaiting {
        let (answer, reply) = oneshot::channel();
        pending.lock().calls.insert(call, answer);
        Awaiting { call, reply, pending: pending.clone() }
    }

    #[tokio::test]
    async fn a_reply_reaches_its_call_by_key_and_a_closed_stream_answers_none() {
        let pending = Arc::new(Pending::default());
        let (mut one, mut two) = (waiting(&pending, 1), waiting(&pending, 2));
        pending.answer(reply(2, 5));
        pending.answer(reply(9, 1)); // nobody waits for call 9: dropped
        assert_eq!(two.reply().await.map(|r| r.delivered), Some(5));
        assert_eq!(pending.lock().calls.keys().copied().collect::<Vec<_>>(), [1]);
        // The stream ends: the call still waiting learns no reply comes.
        pending.close();
        assert!(one.reply().await.is_none());
        assert!(pending.lock().closed);
    }

    #[test]
    fn a_call_that_gives_up_is_forgotten_and_its_late_reply_dropped() {
        let pending = Arc::new(Pending::default());
        drop(waiting(&pending, 3));
        assert!(pending.lock().calls.is_empty());
        pending.answer(reply(3, 1));
        assert!(pending.lock().calls.is_empty());
    }
}
