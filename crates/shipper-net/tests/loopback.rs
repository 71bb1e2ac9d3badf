//! The transport on real sockets (127.0.0.1, ephemeral ports, real time).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Recorder, assert_batch_order, assert_no_duplicates_within_a_life, batch, event, keys_of_life};
use shipper::{FailureOutcome, ShipperError, ShipperTransport};
use shipper_net::{NetConfig, NetServer, NetTransport, Network, TokioNet, TransportObserver};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

fn quick(node: &str) -> NetConfig {
    NetConfig::new(node, 1)
        .with_ack_timeout(Duration::from_millis(100))
        .with_backoff(Duration::from_millis(5), Duration::from_millis(50))
        .with_deadline(Duration::from_secs(5))
}

/// A receiver "b" serving on `addr` (port 0: any) with `sink`.
async fn start_receiver(
    addr: SocketAddr,
    sink: Recorder,
) -> (NetServer<TokioNet>, SocketAddr, JoinHandle<()>) {
    start_observed_receiver(addr, sink, Arc::new(Seen::default())).await
}

/// The same, reporting to `observer`.
async fn start_observed_receiver(
    addr: SocketAddr,
    sink: Recorder,
    observer: Arc<Seen>,
) -> (NetServer<TokioNet>, SocketAddr, JoinHandle<()>) {
    let server = NetServer::new(TokioNet::new().listen_on(addr), quick("b")).with_observer(observer);
    let listener = server.bind().await.expect("bind");
    let addr = TokioNet::local_addr(&listener).unwrap();
    let task = tokio::spawn({
        let server = server.clone();
        async move {
            server.serve(listener, Arc::new(sink)).await.unwrap();
        }
    });
    (server, addr, task)
}

/// Counts what an observer is told.
#[derive(Default)]
struct Seen {
    acks: AtomicU64,
    retransmits: AtomicU64,
    reconnects: AtomicU64,
    protocol_errors: Mutex<Vec<String>>,
}

impl TransportObserver for Seen {
    fn on_ack(&self, _dst: &shipper::NodeId, _event: &shipper::ShippedEvent) {
        self.acks.fetch_add(1, Ordering::SeqCst);
    }

    fn on_retransmit(&self, _dst: &shipper::NodeId, _event: &shipper::ShippedEvent) {
        self.retransmits.fetch_add(1, Ordering::SeqCst);
    }

    fn on_reconnect(&self, _dst: &shipper::NodeId) {
        self.reconnects.fetch_add(1, Ordering::SeqCst);
    }

    fn on_protocol_error(&self, _peer: &str, reason: &str) {
        self.protocol_errors.lock().unwrap().push(reason.to_string());
    }
}

fn sender_to(addr: SocketAddr, config: NetConfig) -> NetTransport<TokioNet> {
    NetTransport::new(TokioNet::new().with_peer("b", addr), config)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(5); // allow-nondeterminism: real sockets, bounded by wall time
    while !done() {
        assert!(Instant::now() < give_up, "timed out waiting for {what}"); // allow-nondeterminism: real sockets, bounded by wall time
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn ship_and_ship_batch_are_acked_and_delivered_in_order() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (server, addr, _task) =
        start_receiver("127.0.0.1:0".parse().unwrap(), Recorder::new(log.clone(), 1)).await;
    let a = Arc::new(sender_to(addr, quick("a")));
    let b = "b".to_string();

    a.send(&b, event(0, 0)).await.expect("send");
    assert_eq!(keys_of_life(&log.lock().unwrap(), 1), ["0/0"], "Ok means the sink already has it");

    assert_eq!(a.send_batch(&b, batch(1, 20), None).await.expect("batch"), 20);
    let until = Instant::now() + Duration::from_secs(1); // allow-nondeterminism: real sockets, bounded by wall time
    a.send_until(&b, event(2, 0), until).await.expect("send_until");

    // Concurrent calls spread over the pool: each batch stays in order.
    let calls: Vec<_> = (3..11)
        .map(|call| {
            let (a, b) = (a.clone(), b.clone());
            tokio::spawn(async move { a.send_batch(&b, batch(call, 10), None).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().expect("concurrent batch"), 10);
    }

    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1 + 20 + 1 + 80);
    assert_no_duplicates_within_a_life(&log);
    for call in 0..11 {
        assert_batch_order(&log, call);
    }
    assert!(log.iter().all(|d| d.from == "a"));
    let sent = a.stats().snapshot();
    assert_eq!((sent.sent, sent.acked, sent.protocol_errors), (102, 102, 0));
    let received = server.stats().snapshot();
    assert_eq!((received.received, received.duplicates_dropped), (102, 0));
}

#[tokio::test]
async fn receiver_killed_mid_batch_and_restarted_resumes_without_duplicates() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let first = Recorder { stall_after: Some(5), ..Recorder::new(log.clone(), 1) };
    let (_, addr, task) = start_receiver("127.0.0.1:0".parse().unwrap(), first.clone()).await;
    let seen = Arc::new(Seen::default());
    let a = Arc::new(sender_to(addr, quick("a")).with_observer(seen.clone()));
    let b = "b".to_string();

    let shipping = tokio::spawn({
        let a = a.clone();
        let b = b.clone();
        async move { a.send_batch(&b, batch(1, 30), None).await }
    });
    // Kill the receiver (its server task and every connection) while its
    // sink is stuck on the sixth event, then restart it on the same port.
    wait_for("5 deliveries", || first.count() == 5).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    task.abort();
    let _ = task.await;
    let (server2, addr2, _task2) = start_receiver(addr, Recorder::new(log.clone(), 2)).await;
    assert_eq!(addr2, addr);

    let result = shipping.await.unwrap();
    assert_eq!(result.expect("the batch completes after the restart"), 30, "Ok: every event delivered");

    let log = log.lock().unwrap();
    assert_no_duplicates_within_a_life(&log);
    assert_batch_order(&log, 1);
    let life1 = keys_of_life(&log, 1);
    let life2 = keys_of_life(&log, 2);
    assert_eq!(life1.len(), 5);
    // Life 2 resumes where the acks the sender got stopped: at most the
    // unacknowledged tail of life 1 arrives again, and the batch ends there.
    let resumed_at: u32 = life2[0].split('/').nth(1).unwrap().parse().unwrap();
    assert!(resumed_at <= 5, "nothing skipped: life 2 starts at {resumed_at}");
    assert_eq!(life2.last().unwrap(), "1/29");
    let stats = a.stats().snapshot();
    assert!(stats.reconnects >= 1 && stats.retransmits >= 1, "{stats:?}");
    assert_eq!(stats.acked, 30);
    assert_eq!(server2.stats().snapshot().received as usize, life2.len());
    assert_eq!(seen.acks.load(Ordering::SeqCst), 30);
    assert_eq!(seen.retransmits.load(Ordering::SeqCst), stats.retransmits);
    assert_eq!(seen.reconnects.load(Ordering::SeqCst), stats.reconnects);
}

#[tokio::test]
async fn receiver_killed_for_good_gives_ambiguous_at_the_deadline() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let first = Recorder { stall_after: Some(3), ..Recorder::new(log.clone(), 1) };
    let (_, addr, task) = start_receiver("127.0.0.1:0".parse().unwrap(), first.clone()).await;
    let a = Arc::new(sender_to(addr, quick("a").with_deadline(Duration::from_millis(400))));
    let b = "b".to_string();
    let started = Instant::now(); // allow-nondeterminism: real sockets, bounded by wall time
    let shipping = tokio::spawn({
        let a = a.clone();
        async move { a.send_batch(&b, batch(1, 10), None).await }
    });
    wait_for("3 deliveries", || first.count() == 3).await;
    task.abort();
    let err = shipping.await.unwrap().expect_err("the receiver is gone");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(400) && elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_eq!(err.error.outcome(), FailureOutcome::Unknown, "{err:?}");
    assert!(err.shipped <= 3);
    assert_eq!(err.shipped + err.unshipped.len(), 10);
    assert_eq!(err.unshipped[0].key, format!("1/{}", err.shipped), "the failed event first");
}

#[tokio::test]
async fn garbage_closes_only_that_connection_and_is_counted() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::new(Seen::default());
    let (server, addr, _task) =
        start_observed_receiver("127.0.0.1:0".parse().unwrap(), Recorder::new(log.clone(), 1), seen.clone())
            .await;

    let hello = shipper_net::codec::encode_frame(
        &shipper_net::Frame::<shipper::ShippedEvent>::Hello {
            version: shipper_net::PROTOCOL_VERSION,
            node: "raw".into(),
            life: 1,
            slot: 0,
            stream: 1,
            base: 1,
            conn: 1,
        },
        1 << 20,
    )
    .unwrap();
    let hello_conn_0 = shipper_net::codec::encode_frame(
        &shipper_net::Frame::<shipper::ShippedEvent>::Hello {
            version: shipper_net::PROTOCOL_VERSION,
            node: "raw".into(),
            life: 1,
            slot: 0,
            stream: 1,
            base: 1,
            conn: 0,
        },
        1 << 20,
    )
    .unwrap();
    let ack = shipper_net::codec::encode_frame(
        &shipper_net::Frame::<shipper::ShippedEvent>::Ack { seq: 1 },
        1 << 20,
    )
    .unwrap();
    let mut not_json = 12u32.to_be_bytes().to_vec();
    not_json.extend_from_slice(b"GET / HTTP/1");
    let oversized = u32::MAX.to_be_bytes().to_vec();
    let mut truncated = 100u32.to_be_bytes().to_vec();
    truncated.extend_from_slice(b"{\"Ack\":");
    let mut ack_after_hello = hello.clone();
    ack_after_hello.extend_from_slice(&ack);
    let attacks: Vec<(&str, Vec<u8>)> = vec![
        ("not json", not_json),
        ("oversized length prefix", oversized),
        ("truncated frame", truncated),
        ("ack instead of hello", ack.clone()),
        ("ack after hello", ack_after_hello),
        ("hello naming connection 0", hello_conn_0),
    ];
    for (i, (what, bytes)) in attacks.iter().enumerate() {
        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(bytes).await.unwrap();
        raw.shutdown().await.unwrap();
        let mut rest = Vec::new();
        // The server closes the connection (EOF, or a reset).
        let closed = tokio::time::timeout(Duration::from_secs(2), raw.read_to_end(&mut rest)).await;
        assert!(closed.is_ok(), "{what}: connection not closed");
        wait_for(what, || server.stats().snapshot().protocol_errors == i as u64 + 1).await;
    }

    // The server still serves a good client.
    let a = sender_to(addr, quick("a"));
    a.send(&"b".to_string(), event(0, 0)).await.expect("a good client is served");
    assert_eq!(log.lock().unwrap().len(), 1);
    assert_eq!(a.stats().snapshot().protocol_errors, 0);
    let reported = seen.protocol_errors.lock().unwrap().clone();
    assert_eq!(reported.len(), 6, "{reported:?}");
    assert!(reported[1].contains("exceeds the limit"), "{reported:?}");
    assert!(reported[5].contains("connection 0"), "{reported:?}");
}

#[tokio::test]
async fn backpressure_bounds_the_frames_in_flight() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let stuck = Recorder { stall_after: Some(0), ..Recorder::new(log.clone(), 1) };
    let (_, addr, _task) = start_receiver("127.0.0.1:0".parse().unwrap(), stuck).await;
    let config = quick("a")
        .with_connections(1)
        .with_max_unacked(3)
        .with_ack_timeout(Duration::from_secs(10))
        .with_deadline(Duration::from_millis(300));
    let a = Arc::new(sender_to(addr, config));
    let shipping = tokio::spawn({
        let a = a.clone();
        async move { a.send_batch(&"b".to_string(), batch(1, 10), None).await }
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(a.stats().snapshot().sent, 3, "only the window is written while nothing is acked");
    // A second call queues behind the window and is never written.
    let until = Instant::now() + Duration::from_millis(100); // allow-nondeterminism: real sockets, bounded by wall time
    let err = a.send_until(&"b".to_string(), event(2, 0), until).await.unwrap_err();
    assert_eq!(err, ShipperError::Timeout("b".into()), "waited for room, never sent");
    let err = shipping.await.unwrap().unwrap_err();
    assert!(err.error.is_ambiguous(), "{err:?}");
    assert_eq!((err.shipped, err.unshipped.len()), (0, 10));
    assert_eq!(a.stats().snapshot().sent, 3);
}

#[tokio::test]
async fn a_restarted_sender_is_a_new_life_and_an_old_life_is_refused() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (server, addr, _task) =
        start_receiver("127.0.0.1:0".parse().unwrap(), Recorder::new(log.clone(), 1)).await;
    let b = "b".to_string();
    let first = sender_to(addr, quick("a"));
    assert_eq!(first.send_batch(&b, batch(1, 3), None).await.unwrap(), 3);
    drop(first);
    // Same node, next life: its sequence numbers start over, and are not
    // mistaken for duplicates of the first life's.
    let second = sender_to(addr, NetConfig { life: 2, ..quick("a") });
    assert_eq!(second.send_batch(&b, batch(2, 3), None).await.unwrap(), 3);
    assert_eq!(log.lock().unwrap().len(), 6);
    // A process claiming the old life again is refused, not deduplicated
    // against the old life's numbers.
    let stale = sender_to(addr, NetConfig { life: 1, deadline: Duration::from_millis(300), ..quick("a") });
    let err = stale.send(&b, event(3, 0)).await.unwrap_err();
    assert!(err.is_ambiguous(), "{err:?}");
    assert_eq!(log.lock().unwrap().len(), 6);
    assert_eq!(server.stats().snapshot().duplicates_dropped, 0);
}

#[tokio::test]
async fn a_receiver_that_never_reads_makes_the_send_fail_at_its_deadline() {
    // Accepts connections and holds them without ever reading.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let deadline = Duration::from_millis(300);
    let a = sender_to(addr, quick("a").with_deadline(deadline).with_ack_timeout(Duration::from_millis(50)));
    let started = Instant::now(); // allow-nondeterminism: real sockets, bounded by wall time
    let err = a.send(&"b".to_string(), event(0, 0)).await.expect_err("never acked");
    let elapsed = started.elapsed();
    assert!(elapsed >= deadline && elapsed < deadline + Duration::from_secs(1), "{elapsed:?}");
    assert!(err.is_ambiguous(), "written but never acked: {err:?}");
    let stats = a.stats().snapshot();
    assert!(stats.reconnects >= 1 && stats.retransmits >= 1, "the ack timeout reconnected: {stats:?}");
    assert_eq!(stats.acked, 0);

    // send_until: the earlier deadline wins.
    let started = Instant::now(); // allow-nondeterminism: real sockets, bounded by wall time
    let err =
        a.send_until(&"b".to_string(), event(0, 1), started + Duration::from_millis(100)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(300) + Duration::from_millis(200), "{err:?}");
}

#[tokio::test]
async fn never_sent_errors_say_so() {
    // A port with nothing listening: connections are refused.
    let closed_port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
    let a = sender_to(closed_port, quick("a").with_deadline(Duration::from_millis(200)));
    let started = Instant::now(); // allow-nondeterminism: real sockets, bounded by wall time
    let err = a.send(&"b".to_string(), event(0, 0)).await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(matches!(err, ShipperError::Send(ref why) if why.contains("could not connect")), "{err:?}");
    assert_eq!(err.outcome(), FailureOutcome::NotDelivered);

    // An unknown node: NoRoute at once, the events handed back.
    let err = a.send_batch(&"nobody".to_string(), batch(1, 3), None).await.unwrap_err();
    assert_eq!(err.error, ShipperError::NoRoute("nobody".into()));
    assert_eq!((err.shipped, err.unshipped.len()), (0, 3));
    assert!(!a.has_route(&"nobody".to_string()) && a.has_route(&"b".to_string()));

    // An empty batch is trivially shipped.
    assert_eq!(a.send_batch(&"b".to_string(), Vec::new(), None).await.unwrap(), 0);
}

#[tokio::test]
async fn an_event_too_big_to_frame_ends_the_batch_there() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (_, addr, _task) =
        start_receiver("127.0.0.1:0".parse().unwrap(), Recorder::new(log.clone(), 1)).await;
    let a = sender_to(addr, quick("a").with_max_frame(4096));
    let mut events = batch(1, 4);
    events[2].payload = vec![b'x'; 8192];
    let err = a.send_batch(&"b".to_string(), events, None).await.unwrap_err();
    assert!(matches!(err.error, ShipperError::Encode(_)), "{err:?}");
    assert_eq!(err.shipped, 2);
    assert_eq!(err.unshipped.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["1/2", "1/3"]);
    assert_eq!(keys_of_life(&log.lock().unwrap(), 1), ["1/0", "1/1"]);
}

/// With a pool, a later call can overtake an earlier one that is stuck in
/// the receiver; on a single connection it cannot (one stream, in order).
#[tokio::test]
async fn calls_on_different_slots_can_overtake() {
    for connections in [2, 1] {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink =
            Recorder { slow_call: Some((1, Duration::from_millis(200))), ..Recorder::new(log.clone(), 1) };
        let (_, addr, _task) = start_receiver("127.0.0.1:0".parse().unwrap(), sink).await;
        let config = quick("a").with_connections(connections).with_ack_timeout(Duration::from_secs(2));
        let a = Arc::new(sender_to(addr, config));
        let slow = tokio::spawn({
            let a = a.clone();
            async move { a.send(&"b".to_string(), event(1, 0)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        a.send(&"b".to_string(), event(2, 0)).await.expect("second call");
        slow.await.unwrap().expect("first call");
        let order = keys_of_life(&log.lock().unwrap(), 1);
        let expected = if connections == 2 { ["2/0", "1/0"] } else { ["1/0", "2/0"] };
        assert_eq!(order, expected, "with {connections} connection(s)");
    }
}

#[tokio::test]
async fn a_removed_route_is_no_route_for_new_calls_only_until_registered_again() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut sink = Recorder::new(log.clone(), 1);
    sink.delay = Some(Duration::from_millis(40));
    let (_server, addr, _task) = start_receiver("127.0.0.1:0".parse().unwrap(), sink).await;
    let a = Arc::new(sender_to(addr, quick("a")));
    let b = "b".to_string();

    // A call under way when the route goes keeps going: its slot finishes it.
    let under_way = tokio::spawn({
        let (a, b) = (a.clone(), b.clone());
        async move { a.send_batch(&b, batch(0, 4), None).await }
    });
    wait_for("the first event of the call under way", || !log.lock().unwrap().is_empty()).await;
    a.remove_route(&b);
    assert!(!a.has_route(&b));

    // New calls fail at once, never sent, every event handed back.
    let err = a.send_batch(&b, batch(1, 3), None).await.unwrap_err();
    assert_eq!(err.error, ShipperError::NoRoute(b.clone()));
    assert_eq!(err.error.outcome(), FailureOutcome::NotDelivered);
    assert_eq!((err.shipped, err.unshipped.len()), (0, 3));
    assert_eq!(a.send(&b, event(2, 0)).await.unwrap_err(), ShipperError::NoRoute(b.clone()));
    assert_eq!(under_way.await.unwrap().expect("the call under way"), 4);
    let stats = a.stats().snapshot();
    assert_eq!((stats.sent, stats.acked), (4, 4), "only the call under way was written: {stats:?}");
    assert!(keys_of_life(&log.lock().unwrap(), 1).iter().all(|k| k.starts_with("0/")));

    // Registering gives the route back.
    a.register_route(b.clone());
    assert!(a.has_route(&b));
    a.send(&b, event(3, 0)).await.expect("send after register_route");
    assert_eq!(keys_of_life(&log.lock().unwrap(), 1).last().map(String::as_str), Some("3/0"));
}

/// A `Skip` consumes its number and delivers nothing: what a sender resends in place of an
/// event whose call it already ended as refused, so a receiver that restarted since (and
/// forgot the refusal) cannot deliver it, while the events behind it go on.
#[tokio::test]
async fn a_skip_consumes_its_number_without_delivering() {
    use shipper_net::Frame;
    use shipper_net::codec::{encode_frame, read_frame_into};
    let log = Arc::new(Mutex::new(Vec::new()));
    let (_server, addr, _task) =
        start_receiver("127.0.0.1:0".parse().unwrap(), Recorder::new(log.clone(), 1)).await;
    let frame = |f: Frame<shipper::ShippedEvent>| encode_frame(&f, 1 << 20).unwrap();
    let mut bytes = frame(Frame::Hello {
        version: shipper_net::PROTOCOL_VERSION,
        node: "a".into(),
        life: 1,
        slot: 0,
        stream: 1,
        base: 1,
        conn: 1,
    });
    bytes.extend(frame(Frame::Skip { seq: 1 }));
    bytes.extend(frame(Frame::Event {
        seq: 2,
        batch: 2,
        index: 0,
        epoch: shipper::UNFENCED_EPOCH,
        event: event(2, 0),
    }));
    // A skip of a number already passed is a duplicate: ignored.
    bytes.extend(frame(Frame::Skip { seq: 1 }));
    bytes.extend(frame(Frame::Event {
        seq: 3,
        batch: 3,
        index: 0,
        epoch: shipper::UNFENCED_EPOCH,
        event: event(3, 0),
    }));
    let mut raw = TcpStream::connect(addr).await.unwrap();
    raw.write_all(&bytes).await.unwrap();
    let mut reader = tokio::io::BufReader::new(raw);
    let mut body = Vec::new();
    let mut acks = Vec::new();
    while acks.last() != Some(&3) {
        match tokio::time::timeout(Duration::from_secs(2), read_frame_into(&mut reader, 1 << 20, &mut body))
            .await
        {
            Ok(Ok(Some(Frame::Ack { seq }))) => acks.push(seq),
            other => panic!("expected acks, got {other:?} after {acks:?}"),
        }
    }
    assert_eq!(acks, [2, 3], "no ack for the skipped number");
    let keys: Vec<String> = log.lock().unwrap().iter().map(|d| d.event.key.clone()).collect();
    assert_eq!(keys, ["2/0", "3/0"], "the skipped number delivered nothing");
}

/// A receiver whose refusal names connection 0 (connections are numbered
/// from 1) or a first connection later than the one it came on (no life
/// can have seen it first) broke the protocol: the sender counts it,
/// believes none of it, and the call ends at its deadline, ambiguous (its
/// event was written), never `WrongOwner`.
#[tokio::test]
async fn a_refusal_naming_an_impossible_first_connection_is_a_protocol_error() {
    use shipper_net::Frame;
    use shipper_net::codec::{encode_frame, read_frame_into};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _liar = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            let mut reader = tokio::io::BufReader::new(stream);
            let mut body = Vec::new();
            let Ok(Some(Frame::Hello { conn, .. })) = read_frame_into(&mut reader, 1 << 20, &mut body).await
            else {
                continue;
            };
            let Ok(Some(Frame::Event { seq, .. })) = read_frame_into(&mut reader, 1 << 20, &mut body).await
            else {
                continue;
            };
            // The first connection is answered with 0, the later ones with the next one's number.
            let first_conn = if conn == 1 { 0 } else { conn + 1 };
            let refuse: Frame = Frame::Refuse { seq, epoch: 1, members: vec!["a".into()], first_conn };
            let _ = reader.get_mut().write_all(&encode_frame(&refuse, 1 << 20).unwrap()).await;
            held.push(reader);
        }
    });
    let deadline = Duration::from_millis(300);
    let a = sender_to(addr, quick("a").with_connections(1).with_deadline(deadline));
    let err = a.send(&"b".to_string(), event(0, 0)).await.expect_err("never acked");
    assert!(err.is_ambiguous(), "written, and the refusal is not believed: {err:?}");
    assert!(a.stats().snapshot().protocol_errors >= 2, "both lies counted: {:?}", a.stats().snapshot());
}
