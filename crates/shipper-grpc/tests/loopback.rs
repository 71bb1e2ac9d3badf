//! The gRPC transport on real sockets (127.0.0.1, ephemeral ports, real time).
//!
//! Time limits here are guards that a call ends at all (a hung test fails instead of hanging),
//! never limits on how fast something runs.

mod common;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use common::{
    Acks, Recorder, assert_batch_order, assert_no_duplicates_within_a_life, batch, event, index_of,
    keys_delivered, keys_of_life,
};
use hyper_util::rt::{TokioExecutor, TokioIo};
use shipper::{EventSink, FailureOutcome, NodeId, ShippedEvent, ShipperError, ShipperTransport};
use shipper_grpc::pb::shipper_client::ShipperClient;
use shipper_grpc::{GrpcServer, GrpcTransport, NetConfig, NetStats, Network, TokioNet, pb};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tonic::Code;

/// Long enough that a call which is going to end has ended: only a hang reaches it.
const GUARD: Duration = Duration::from_secs(30);

/// Past a call's deadline, how long it may take to come back before the test calls it hung:
/// seconds, so only a call that ignores its deadline reaches it, never a slow machine.
const GRACE: Duration = Duration::from_secs(3);

fn quick(node: &str) -> NetConfig {
    NetConfig::new(node, 1)
        .with_ack_timeout(Duration::from_millis(200))
        .with_backoff(Duration::from_millis(5), Duration::from_millis(50))
        .with_deadline(Duration::from_secs(5))
}

fn any_port() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// A receiving life of node "b" serving on `addr` (port 0: any) with `sink`: its counters, its
/// address and its server task.
async fn start_receiver(
    addr: SocketAddr,
    config: NetConfig,
    sink: Arc<dyn EventSink>,
) -> (Arc<NetStats>, SocketAddr, JoinHandle<std::io::Result<()>>) {
    let server = GrpcServer::new(TokioNet::new().listen_on(addr), config);
    let stats = server.stats().clone();
    let listener = server.bind().await.expect("bind");
    let addr = TokioNet::local_addr(&listener).unwrap();
    (stats, addr, tokio::spawn(server.serve(listener, sink)))
}

fn sender_to(addr: SocketAddr, config: NetConfig) -> GrpcTransport<TokioNet> {
    GrpcTransport::new(TokioNet::new().with_peer("b", addr), config)
}

fn b() -> NodeId {
    "b".to_string()
}

async fn guarded<T>(what: &str, call: impl Future<Output = T>) -> T {
    guarded_for(what, GUARD, call).await
}

async fn guarded_for<T>(what: &str, limit: Duration, call: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| panic!("{what} did not end within {limit:?}"))
}

#[tokio::test]
async fn a_batch_is_acked_after_the_sink_has_it_complete_and_in_order() {
    let (into_sink, mut sink) = mpsc::channel::<(NodeId, ShippedEvent)>(128);
    let (server, addr, _task) = start_receiver(any_port(), quick("b"), Arc::new(into_sink)).await;
    let a = sender_to(addr, quick("a"));
    let sent = batch(1, 100);

    assert_eq!(a.send_batch(&b(), sent.clone(), None).await, Ok(100));

    // Ok means the sink already took every event: it is all in the channel, nothing to wait for.
    let mut received = Vec::new();
    while let Ok((from, event)) = sink.try_recv() {
        assert_eq!(from, "a");
        received.push(event);
    }
    assert_eq!(received, sent, "complete, in order, byte for byte");
    let sender = a.stats().snapshot();
    assert_eq!(
        (sender.sent, sender.acked, sender.retransmits, sender.reconnects, sender.protocol_errors),
        (100, 100, 0, 0, 0),
        "{sender:?}"
    );
    let receiver = server.snapshot();
    assert_eq!(
        (receiver.received, receiver.duplicates_dropped, receiver.protocol_errors),
        (100, 0, 0),
        "{receiver:?}"
    );
}

/// A batch larger than one message goes as consecutive parts of one call: the receiver's own
/// limit is as small as the sender's, so a single message would be turned away.
#[tokio::test]
async fn a_batch_larger_than_a_message_goes_in_parts_in_order() {
    let log = common::Log::default();
    let small = |node| quick(node).with_max_frame(512);
    let (server, addr, _task) =
        start_receiver(any_port(), small("b"), Arc::new(Recorder::new(log.clone(), 1))).await;
    let a = sender_to(addr, small("a"));
    let sent = batch(1, 100);
    let size: usize = sent.iter().map(|e| e.key.len() + e.payload.len() + e.source.len()).sum();
    assert!(size > shipper_grpc::message_limit(512), "the batch must not fit one message");

    assert_eq!(a.send_batch(&b(), sent.clone(), None).await, Ok(100));

    let log = log.lock().unwrap();
    let delivered: Vec<ShippedEvent> = log.iter().map(|d| d.event.clone()).collect();
    assert_eq!(delivered, sent);
    let sender = a.stats().snapshot();
    assert_eq!((sender.sent, sender.acked, sender.retransmits), (100, 100, 0), "a part is no retransmit");
    assert_eq!(server.snapshot().received, 100);
}

/// HTTP/2 multiplexes concurrent calls on one connection: each batch stays in order.
#[tokio::test]
async fn concurrent_batches_each_stay_in_order() {
    let log = common::Log::default();
    let (server, addr, _task) =
        start_receiver(any_port(), quick("b"), Arc::new(Recorder::new(log.clone(), 1))).await;
    let a = Arc::new(sender_to(addr, quick("a")));
    let calls: Vec<_> = (1..=8)
        .map(|call| {
            let a = a.clone();
            tokio::spawn(async move { a.send_batch(&b(), batch(call, 25), None).await })
        })
        .collect();
    for call in calls {
        assert_eq!(guarded("a concurrent batch", call).await.unwrap(), Ok(25));
    }
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 200);
    assert_no_duplicates_within_a_life(&log);
    for call in 1..=8 {
        assert_batch_order(&log, call);
    }
    assert_eq!(a.stats().snapshot().acked, 200);
    assert_eq!(server.snapshot().received, 200);
}

/// A call waits as long as the sink takes, many keepalive intervals: the receiver answers the
/// pings meanwhile, so a slow sink is not taken for a dead link (no reconnect, no resend).
#[tokio::test]
async fn a_slow_sink_is_not_taken_for_a_dead_link() {
    let log = common::Log::default();
    let slow = Recorder { delay: Some(Duration::from_millis(20)), ..Recorder::new(log.clone(), 1) };
    let (server, addr, _task) = start_receiver(any_port(), quick("b"), Arc::new(slow)).await;
    // A keepalive ping every 100 ms without traffic (half the ack timeout); the batch takes
    // about ten of them.
    let a = sender_to(addr, quick("a"));

    assert_eq!(guarded("the batch", a.send_batch(&b(), batch(1, 50), None)).await, Ok(50));
    let stats = a.stats().snapshot();
    assert_eq!((stats.sent, stats.acked, stats.retransmits, stats.reconnects), (50, 50, 0, 0), "{stats:?}");
    assert_eq!(server.snapshot().duplicates_dropped, 0);
    assert_eq!(keys_of_life(&log.lock().unwrap(), 1).len(), 50);
}

/// The receiver's server task is aborted while a slow sink takes a large batch, and a new life
/// serves on the same port. What the guarantees allow: an event may arrive twice across the
/// two lives when the first life accepted it but its reply was lost; an event acknowledged
/// before the kill never arrives again (the retry resends from the first unacknowledged one);
/// nothing is lost; within each life the batch is one contiguous in-order run. And a killed
/// life stops where it is, as a dead process would: it delivers nothing after the kill.
#[tokio::test]
async fn a_receiver_killed_mid_batch_and_restarted_loses_nothing() {
    let log = common::Log::default();
    let slow = |life| Recorder { delay: Some(Duration::from_millis(5)), ..Recorder::new(log.clone(), life) };
    let first = slow(1);
    // Messages of eleven of these events, so the call is several parts, some acknowledged
    // before the kill, and the kill (at 60) lands inside a part the first life has begun.
    let config = |node| quick(node).with_max_frame(400).with_deadline(Duration::from_secs(60));
    let (_, addr, task) = start_receiver(any_port(), config("b"), Arc::new(first.clone())).await;
    let acks = Arc::new(Acks::default());
    let a = Arc::new(sender_to(addr, config("a")).with_observer(acks.clone()));
    let shipping = tokio::spawn({
        let a = a.clone();
        async move { a.send_batch(&b(), batch(1, 200), None).await }
    });

    guarded("60 deliveries", first.delivered(60)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let acked_at_kill = acks.0.lock().unwrap().clone();
    let delivered_at_kill = first.count();
    let second = slow(2);
    let (server2, addr2, _task2) = start_receiver(addr, config("b"), Arc::new(second.clone())).await;
    assert_eq!(addr2, addr, "the new life listens on the same port");

    let result = guarded("the batch", shipping).await.unwrap();
    assert_eq!(result, Ok(200), "every event delivered");

    let log = log.lock().unwrap();
    assert_no_duplicates_within_a_life(&log);
    assert_batch_order(&log, 1);
    assert_eq!(keys_delivered(&log).len(), 200, "nothing lost");
    let life1 = keys_of_life(&log, 1);
    let life2 = keys_of_life(&log, 2);
    assert!(
        !acked_at_kill.is_empty() && acked_at_kill.len() < delivered_at_kill,
        "the kill must come after some parts were acknowledged and inside a part under way: \
         {} acknowledged, {delivered_at_kill} delivered",
        acked_at_kill.len()
    );
    assert!(acked_at_kill.iter().all(|k| life1.contains(k)), "acknowledged means delivered");
    let resumed = index_of(&life2[0]) as usize;
    assert!(
        resumed >= acked_at_kill.len(),
        "event {resumed} was acknowledged before the kill, yet delivered again"
    );
    assert!(
        resumed <= delivered_at_kill,
        "a gap: life 1 delivered {delivered_at_kill}, life 2 resumed at {resumed}"
    );
    assert_eq!(life2.last().map(String::as_str), Some("1/199"));
    assert_eq!(life1.len(), delivered_at_kill, "the killed life went on delivering");
    let stats = a.stats().snapshot();
    assert_eq!(stats.acked, 200);
    assert!(stats.reconnects >= 1 && stats.retransmits >= 1, "{stats:?}");
    assert_eq!(server2.snapshot().received as usize, life2.len());
    assert_eq!(second.count(), life2.len());
}

#[tokio::test]
async fn a_refused_connection_fails_by_the_deadline_never_sent() {
    // A port with nothing listening: connections are refused.
    let closed = TcpListener::bind(any_port()).await.unwrap().local_addr().unwrap();
    let deadline = Duration::from_millis(500);
    let a = sender_to(closed, quick("a").with_deadline(deadline));

    let err = guarded_for("a send to a closed port", deadline + GRACE, a.send(&b(), event(0, 0)))
        .await
        .unwrap_err();
    assert_eq!(err.outcome(), FailureOutcome::NotDelivered, "{err:?}");
    assert!(!err.is_ambiguous());
    assert!(
        matches!(&err, ShipperError::Send(why) if why.contains("could not connect")),
        "the error says the destination could not be reached: {err:?}"
    );
    let batch_err = a.send_batch(&b(), batch(1, 3), None).await.unwrap_err();
    assert_eq!(batch_err.error.outcome(), FailureOutcome::NotDelivered, "{batch_err:?}");
    assert_eq!((batch_err.shipped, batch_err.unshipped), (0, batch(1, 3)), "every event handed back");
    let stats = a.stats().snapshot();
    assert_eq!((stats.sent, stats.acked), (0, 0), "{stats:?}");

    // An unknown node: NoRoute at once, never sent.
    let err = a.send_batch(&"nobody".to_string(), batch(2, 3), None).await.unwrap_err();
    assert_eq!(err.error, ShipperError::NoRoute("nobody".into()));
    assert_eq!((err.shipped, err.unshipped.len()), (0, 3));
    // An empty batch is trivially shipped.
    assert_eq!(a.send_batch(&b(), Vec::new(), None).await, Ok(0));
}

/// A sink that never returns: the request was sent, so the failure at the deadline is
/// ambiguous.
#[tokio::test]
async fn a_stuck_sink_fails_ambiguously_at_the_deadline() {
    let log = common::Log::default();
    let stuck = Recorder { stall: true, ..Recorder::new(log.clone(), 1) };
    let (_, addr, _task) = start_receiver(any_port(), quick("b"), Arc::new(stuck)).await;
    let a = sender_to(addr, quick("a"));
    let deadline = Duration::from_millis(300);

    let started = Instant::now(); // allow-nondeterminism: real sockets, bounded by wall time
    let err =
        guarded_for("send_until", deadline + GRACE, a.send_until(&b(), event(0, 0), started + deadline))
            .await
            .unwrap_err();
    assert!(started.elapsed() >= deadline, "{:?}", started.elapsed());
    assert!(err.is_ambiguous(), "sent, never answered: {err:?}");
    let stats = a.stats().snapshot();
    assert_eq!((stats.sent, stats.acked), (1, 0), "{stats:?}");
    assert!(log.lock().unwrap().is_empty());
}

/// A peer that accepts TCP connections and never speaks HTTP/2: the request went out, so the
/// failure is ambiguous; the keepalive gives up on each connection meanwhile. (The call may
/// end a little before its deadline: once the backoff before the next attempt reaches past
/// it, there is nothing left to wait for.)
#[tokio::test]
async fn a_silent_peer_fails_ambiguously_by_the_deadline() {
    let listener = TcpListener::bind(any_port()).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let a = sender_to(addr, quick("a").with_ack_timeout(Duration::from_millis(100)));
    let deadline = Duration::from_millis(600);

    let until = Instant::now() + deadline; // allow-nondeterminism: real sockets, bounded by wall time
    let err = guarded_for("send_until", deadline + GRACE, a.send_until(&b(), event(0, 0), until))
        .await
        .unwrap_err();
    assert!(err.is_ambiguous(), "sent, never answered: {err:?}");
    let stats = a.stats().snapshot();
    assert_eq!(stats.acked, 0);
    assert!(
        stats.reconnects >= 1 && stats.retransmits >= 1,
        "the keepalive gave the connection up: {stats:?}"
    );
}

/// hyper's HTTP/2 request handle as the tower service tonic's generated client wants.
#[derive(Clone)]
struct H2(hyper::client::conn::http2::SendRequest<tonic::body::Body>);

impl tower_service::Service<http::Request<tonic::body::Body>> for H2 {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

/// The generated client on a connection of its own, with no limit on what it sends.
async fn raw_client(addr: SocketAddr) -> ShipperClient<H2> {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (send, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    ShipperClient::with_origin(H2(send), "http://b".parse().unwrap()).max_encoding_message_size(usize::MAX)
}

fn good_request(call: u64) -> pb::ShipRequest {
    pb::ShipRequest {
        node: "raw".into(),
        life: 1,
        call,
        settled_below: call,
        epoch: shipper::UNFENCED_EPOCH,
        events: vec![pb::Event {
            shard: 0,
            key: format!("0/{call}"),
            payload: b"{}".to_vec(),
            source: "raw".into(),
        }],
        first: 0,
        issued: 0,
        open: Vec::new(),
        connection: 0,
        timeout_nanos: 0,
    }
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_a_clear_status_and_the_server_goes_on() {
    let log = common::Log::default();
    let config = quick("b").with_max_frame(4096);
    let (server, addr, task) =
        start_receiver(any_port(), config, Arc::new(Recorder::new(log.clone(), 1))).await;
    let mut client = raw_client(addr).await;

    let malformed: Vec<(&str, tonic::Request<pb::ShipRequest>)> = vec![
        ("empty node", tonic::Request::new(pb::ShipRequest { node: String::new(), ..good_request(1) })),
        ("life 0", tonic::Request::new(pb::ShipRequest { life: 0, ..good_request(1) })),
        ("call 0", tonic::Request::new(pb::ShipRequest { call: 0, settled_below: 0, ..good_request(1) })),
        ("a settled call", tonic::Request::new(pb::ShipRequest { settled_below: 2, ..good_request(1) })),
        (
            "positions that overflow",
            tonic::Request::new(pb::ShipRequest { first: u64::MAX, ..good_request(1) }),
        ),
        (
            "open calls without issued",
            tonic::Request::new(pb::ShipRequest { open: vec![1], ..good_request(1) }),
        ),
        (
            "open calls leaving out its own",
            tonic::Request::new(pb::ShipRequest { issued: 2, open: vec![2], ..good_request(1) }),
        ),
        (
            "open calls out of order",
            tonic::Request::new(pb::ShipRequest { issued: 2, open: vec![2, 1], ..good_request(1) }),
        ),
        ("a malformed grpc-timeout", {
            let mut request = tonic::Request::new(good_request(1));
            request.metadata_mut().insert("grpc-timeout", "soon".parse().unwrap());
            request
        }),
    ];
    let cases = malformed.len() as u64;
    for (what, request) in malformed {
        let status = guarded(what, client.ship(request)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{what}: {status:?}");
    }
    assert_eq!(server.snapshot().protocol_errors, cases);

    // One event larger than the receiver's message limit (its max_frame plus the envelope).
    let mut oversized = good_request(1);
    oversized.events[0].payload = vec![b'x'; 4096 + shipper_grpc::ENVELOPE + 1];
    let status = guarded("oversized", client.ship(oversized)).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");

    // The same connection still serves a good request.
    let reply = guarded("a good request", client.ship(good_request(1))).await.expect("a good request");
    assert_eq!(reply.into_inner(), pb::ShipReply { delivered: 1, ..pb::ShipReply::default() });
    assert_eq!(keys_of_life(&log.lock().unwrap(), 1), ["0/1"], "only the good request reached the sink");

    // Bytes that are not HTTP/2 cost only their own connection.
    let mut garbage = TcpStream::connect(addr).await.unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\nHost: b\r\n\r\n").await.unwrap();
    let mut rest = Vec::new();
    guarded("the garbage connection closing", garbage.read_to_end(&mut rest)).await.ok();
    let a = sender_to(addr, quick("a"));
    guarded("a send after garbage", a.send(&b(), event(2, 0))).await.expect("a good client is served");
    assert_eq!(keys_of_life(&log.lock().unwrap(), 1), ["0/1", "2/0"]);
    assert!(!task.is_finished(), "the server is still up (no panic)");
    assert_eq!(server.snapshot().received, 2);
}

/// On the `Stream` RPC (the transport's own), a request the receiver turns away is answered by
/// a reply carrying the status code and its call key, and the same stream goes on: later
/// requests are delivered and answered, each reply matched by its key.
#[tokio::test]
async fn a_stream_answers_a_turned_away_request_by_its_key_and_goes_on() {
    let log = common::Log::default();
    let (server, addr, task) =
        start_receiver(any_port(), quick("b"), Arc::new(Recorder::new(log.clone(), 1))).await;
    let mut client = raw_client(addr).await;
    let (requests, outgoing) = mpsc::unbounded_channel();
    let stream = tonic::codegen::tokio_stream::wrappers::UnboundedReceiverStream::new(outgoing);
    let mut replies =
        guarded("the stream's headers", client.stream(stream)).await.expect("a stream").into_inner();
    let mut next =
        async || guarded("a reply", replies.message()).await.expect("a reply").expect("the stream goes on");

    requests.send(pb::ShipRequest { life: 0, ..good_request(7) }).unwrap();
    let refused = next().await;
    assert_eq!(
        (refused.call, refused.code, refused.delivered),
        (7, Code::InvalidArgument as i32, 0),
        "{refused:?}"
    );
    assert!(refused.message.contains("life 0"), "{refused:?}");

    requests.send(good_request(8)).unwrap();
    let reply = next().await;
    assert_eq!((reply.call, reply.code, reply.delivered), (8, 0, 1), "{reply:?}");
    // A retry of the same call on the same stream delivers nothing again.
    requests.send(good_request(8)).unwrap();
    assert_eq!(next().await.delivered, 1);
    requests.send(pb::ShipRequest { timeout_nanos: 1_000_000_000, ..good_request(9) }).unwrap();
    assert_eq!((next().await.call, server.snapshot().duplicates_dropped), (9, 1));
    assert_eq!(keys_of_life(&log.lock().unwrap(), 1), ["0/8", "0/9"]);
    assert_eq!(server.snapshot().protocol_errors, 1);

    // The sender closing its requests ends the replies once everything was answered.
    drop(requests);
    assert!(guarded("the end of the stream", replies.message()).await.expect("a clean end").is_none());
    assert!(!task.is_finished(), "the server is still up");
}

/// A sink that closes part-way through a batch stops the server. Some events of the attempt
/// reached the sink: the sender may count them as shipped (if the exact count reaches it) or
/// call the failure ambiguous, but never say that events the sink took were not delivered.
///
/// Whether the server's answer reaches the sender before the server tears its connections
/// down is a race, so the test runs on several threads and several rounds: the wrong answer
/// this guards against went out only when the answer won.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_closing_mid_batch_is_never_reported_as_not_delivered() {
    for round in 0..5 {
        let log = common::Log::default();
        let closing = Recorder { close_after: Some(4), ..Recorder::new(log.clone(), 1) };
        let (_, addr, task) = start_receiver(any_port(), quick("b"), Arc::new(closing)).await;
        let a = sender_to(addr, quick("a").with_deadline(Duration::from_millis(300)));

        let err = guarded("the batch", a.send_batch(&b(), batch(1, 10), None)).await.unwrap_err();
        guarded("the server stopping", task).await.unwrap().expect("a closed sink stops the server with Ok");

        let delivered = keys_of_life(&log.lock().unwrap(), 1);
        assert_eq!(delivered, ["1/0", "1/1", "1/2", "1/3"]);
        assert!(err.shipped <= delivered.len(), "round {round}: shipped means delivered: {err:?}");
        assert_eq!(err.shipped + err.unshipped.len(), 10);
        if !err.error.is_ambiguous() {
            assert_eq!(
                err.shipped,
                delivered.len(),
                "round {round}: a certain failure must count every delivered event: {err:?}"
            );
        }
    }
}

/// The request's envelope (mostly the sender's node name) shares the message limit with the
/// events: a long name leaves less room, and parts are cut to what is left rather than to
/// `max_frame`, which every receiver with the same limit would refuse.
#[tokio::test]
async fn a_long_node_name_makes_smaller_parts_not_refused_ones() {
    let log = common::Log::default();
    let config = |node: &str| quick(node).with_max_frame(4096);
    let (server, addr, _task) =
        start_receiver(any_port(), config("b"), Arc::new(Recorder::new(log.clone(), 1))).await;
    let long = "n".repeat(2000);
    let a = sender_to(addr, config(&long));
    let sent = batch(1, 300);

    assert_eq!(guarded("the batch", a.send_batch(&b(), sent.clone(), None)).await, Ok(300));
    let delivered: Vec<ShippedEvent> = log.lock().unwrap().iter().map(|d| d.event.clone()).collect();
    assert_eq!(delivered, sent);
    let stats = a.stats().snapshot();
    assert_eq!((stats.sent, stats.acked, stats.retransmits, stats.reconnects), (300, 300, 0, 0), "{stats:?}");
    assert_eq!(server.snapshot().received, 300);

    // A name longer than the whole limit leaves no room: a clear never-sent error at once.
    let longer = "n".repeat(6000);
    let c = sender_to(addr, config(&longer));
    let err = guarded("the batch", c.send_batch(&b(), batch(2, 3), None)).await.unwrap_err();
    assert!(matches!(err.error, ShipperError::Encode(ref why) if why.contains("long name")), "{err:?}");
    assert_eq!((err.shipped, err.unshipped.len()), (0, 3));
    assert_eq!(c.stats().snapshot().sent, 0);
}

/// A fence that admits the first `admit` events and refuses the rest, with a map of many
/// members with long names.
struct AdmitFirst {
    admit: usize,
    members: usize,
    asked: std::sync::Mutex<usize>,
}

impl shipper::Fence for AdmitFirst {
    fn admit(&self, _shard: shipper::ShardId, _sender_epoch: u64) -> Result<(), shipper::Refusal> {
        let mut asked = self.asked.lock().unwrap();
        *asked += 1;
        if *asked <= self.admit {
            return Ok(());
        }
        let members =
            (0..self.members).map(|n| format!("node-{n:06}.a-rather-long-domain.example")).collect();
        Err(shipper::Refusal { epoch: 2, members })
    }
}

/// A receiver whose fence admits five events and refuses the rest with a map of `members`.
async fn start_fenced_receiver(
    config: NetConfig,
    members: usize,
    log: common::Log,
) -> (SocketAddr, JoinHandle<std::io::Result<()>>) {
    let fence = AdmitFirst { admit: 5, members, asked: std::sync::Mutex::new(0) };
    let server = GrpcServer::new(TokioNet::new().listen_on(any_port()), config).with_fence(Arc::new(fence));
    let listener = server.bind().await.expect("bind");
    let addr = TokioNet::local_addr(&listener).unwrap();
    (addr, tokio::spawn(server.serve(listener, Arc::new(Recorder::new(log, 1)))))
}

/// The receiver delivers five events of a message and refuses the sixth; its refusal carries
/// a map larger than a request may be. The reply must still reach the sender, which learns
/// exactly what was delivered: never "nothing was delivered" for events the sink took.
#[tokio::test]
async fn a_refusal_larger_than_a_request_still_counts_what_was_delivered() {
    let log = common::Log::default();
    let config = |node| quick(node).with_max_frame(400);
    let (addr, _task) = start_fenced_receiver(config("b"), 100, log.clone()).await;
    let a = sender_to(addr, config("a"));
    let sent = batch(1, 8);

    let err = guarded("the batch", a.send_batch(&b(), sent.clone(), None)).await.unwrap_err();

    assert_eq!(keys_of_life(&log.lock().unwrap(), 1).len(), 5, "the sink took five events");
    assert_eq!(err.shipped, 5, "the call counts what the sink took: {err:?}");
    assert_eq!(err.unshipped, sent[5..].to_vec());
    let ShipperError::WrongOwner { epoch, members, .. } = &err.error else {
        panic!("the receiver refused the sixth event: {:?}", err.error);
    };
    assert_eq!((*epoch, members.len()), (2, 100), "the whole map reaches the sender");
}

/// As above with a map beyond even the reply limit ([`shipper_grpc::REPLY_FLOOR`]): the reply
/// cannot be sent, and the sender, which cannot know how much was delivered, says so.
#[tokio::test]
async fn a_refusal_too_large_for_any_reply_is_ambiguous() {
    let log = common::Log::default();
    let config = |node| quick(node).with_max_frame(400).with_deadline(Duration::from_secs(1));
    let members = shipper_grpc::REPLY_FLOOR / 40;
    let (addr, _task) = start_fenced_receiver(config("b"), members, log.clone()).await;
    let a = sender_to(addr, config("a"));

    let err = guarded("the batch", a.send_batch(&b(), batch(1, 8), None)).await.unwrap_err();

    assert_eq!(keys_of_life(&log.lock().unwrap(), 1).len(), 5, "the sink took five events");
    assert_eq!(err.error.outcome(), FailureOutcome::Unknown, "{:?}", err.error);
    assert_eq!(err.shipped, 0, "no reply counted any");
}
