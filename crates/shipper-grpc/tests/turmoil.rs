//! The gRPC transport on turmoil's simulated network: partitions that cut a call between the
//! receiver's sink and its reply. The retry carries the call's idempotency key, so the
//! receiver recognises what it already delivered and the sink sees every event once.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use common::{Log, Recorder, Trigger, assert_batch_order, assert_no_duplicates_within_a_life, batch};
use shipper::{BatchError, NodeId, ShippedEvent, ShipperTransport};
use shipper_grpc::{GrpcServer, GrpcTransport, NetConfig, NetStats, NetStatsSnapshot, TurmoilNet};
use tokio::time::Instant;

const NODES: [&str; 2] = ["tx", "rx"];

/// What the receiver host shares with the test across its lives.
#[derive(Clone, Default)]
struct Receiver {
    log: Log,
    lives: Arc<AtomicU64>,
    stats: Arc<Mutex<Vec<Arc<NetStats>>>>,
}

impl Receiver {
    fn events(&self) -> Vec<ShippedEvent> {
        self.log.lock().unwrap().iter().map(|d| d.event.clone()).collect()
    }

    fn stats(&self, life: u64) -> NetStatsSnapshot {
        self.stats.lock().unwrap()[life as usize - 1].snapshot()
    }
}

fn builder(seed: u64) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(60))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(5))
        .rng_seed(seed)
        .epoch(UNIX_EPOCH)
        .build()
}

/// Host "rx": a gRPC server whose sink, made per life by `sink`, records deliveries; every
/// (re)start is a new life.
fn add_receiver(
    sim: &mut turmoil::Sim<'static>,
    rx: &Receiver,
    sink: impl Fn(Log, u64) -> Recorder + 'static,
) {
    let rx = rx.clone();
    let sink = Arc::new(sink);
    sim.host("rx", move || {
        let rx = rx.clone();
        let sink = sink.clone();
        async move {
            let life = rx.lives.fetch_add(1, Ordering::SeqCst) + 1;
            let server = GrpcServer::new(TurmoilNet::new(NODES), NetConfig::new("rx", life));
            rx.stats.lock().unwrap().push(server.stats().clone());
            let listener = server.bind().await?;
            server.serve(listener, Arc::new(sink(rx.log.clone(), life))).await?;
            Ok(())
        }
    });
}

fn sender_config() -> NetConfig {
    NetConfig::new("tx", 1)
        .with_ack_timeout(Duration::from_millis(200))
        .with_backoff(Duration::from_millis(10), Duration::from_millis(200))
        .with_rng_seed(42)
}

fn sender(config: NetConfig) -> GrpcTransport<TurmoilNet> {
    GrpcTransport::new(TurmoilNet::new(NODES), config)
}

fn rx_name() -> NodeId {
    "rx".to_string()
}

/// Runs the client (host `tx`) to completion on `sim` and returns what it produced.
fn run_client<T: 'static>(sim: &mut turmoil::Sim<'static>, client: impl Future<Output = T> + 'static) -> T {
    let out = Arc::new(Mutex::new(None));
    let slot = out.clone();
    sim.client("tx", async move {
        let value = client.await;
        *slot.lock().unwrap() = Some(value);
        Ok(())
    });
    sim.run().expect("simulation");
    out.lock().unwrap().take().expect("client finished")
}

/// Cuts tx from rx the moment the sink accepted its n-th event (before the server can
/// reply), and heals the cut `heal_after` later.
fn cut_after_delivery(heal_after: Duration) -> Trigger {
    Arc::new(move || {
        turmoil::partition("tx", "rx");
        tokio::task::spawn_local(async move {
            tokio::time::sleep(heal_after).await;
            turmoil::repair("tx", "rx");
        });
    })
}

/// One batch from tx to rx; its result, how long it took, and the sender's counters.
fn ship_one_batch(
    sim: &mut turmoil::Sim<'static>,
    config: NetConfig,
    events: Vec<ShippedEvent>,
) -> (Result<usize, BatchError>, Duration, NetStatsSnapshot) {
    run_client(sim, async move {
        let tx = sender(config);
        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let result = tx.send_batch(&rx_name(), events, None).await;
        (result, started.elapsed(), tx.stats().snapshot())
    })
}

/// The cut comes in the middle of a one-message call. The receiver goes on delivering the
/// rest (the sender's giving up never cuts its sink short), but its reply is lost; the retry
/// after the heal carries the same key, so the receiver drops the whole resent batch as
/// delivered and answers with the full count.
#[test]
fn a_partition_cut_mid_call_and_healed_is_ok_without_duplicates() {
    let mut sim = builder(1);
    let rx = Receiver::default();
    let heal_after = Duration::from_secs(1);
    add_receiver(&mut sim, &rx, move |log, life| Recorder {
        delay: Some(Duration::from_millis(5)),
        after: Some((10, cut_after_delivery(heal_after))),
        ..Recorder::new(log, life)
    });
    let sent = batch(1, 30);
    let (result, took, stats) = ship_one_batch(&mut sim, sender_config(), sent.clone());

    assert_eq!(result, Ok(30), "Ok after the heal");
    assert!(took >= heal_after, "cannot be acknowledged while cut off: {took:?}");
    assert_eq!(rx.events(), sent, "every event once, in order");
    assert_eq!(rx.lives.load(Ordering::SeqCst), 1, "the receiver never restarted");
    let received = rx.stats(1);
    assert_eq!(received.received, 30);
    assert!(stats.retransmits >= 30 && stats.reconnects >= 1, "the retry resent the batch: {stats:?}");
    assert_eq!(received.duplicates_dropped, stats.retransmits, "every resent event recognised as delivered");
    assert_eq!(stats.acked, 30);
}

/// A call of three parts, cut right after the sink accepted the last event of the second part,
/// before its reply: the retry resends the second part (the sender has no reply for it) to a
/// receiver that already delivered it, which drops it and answers, and the third part follows.
#[test]
fn a_retry_that_meets_an_already_delivered_part_delivers_only_the_rest() {
    let mut sim = builder(2);
    let rx = Receiver::default();
    let heal_after = Duration::from_secs(1);
    // 11 of these events fit a 400-byte message.
    let per_part = 11;
    add_receiver(&mut sim, &rx, move |log, life| Recorder {
        after: Some((2 * per_part, cut_after_delivery(heal_after))),
        ..Recorder::new(log, life)
    });
    let sent = batch(1, 3 * per_part as u32);
    let config = sender_config().with_max_frame(400);
    let (result, took, stats) = ship_one_batch(&mut sim, config, sent.clone());

    assert_eq!(result, Ok(3 * per_part), "Ok after the heal");
    assert!(took >= heal_after, "{took:?}");
    let log = rx.log.lock().unwrap().clone();
    assert_no_duplicates_within_a_life(&log);
    assert_batch_order(&log, 1);
    assert_eq!(rx.events(), sent, "every event once, in order");
    let received = rx.stats(1);
    assert_eq!(received.received, 3 * per_part as u64);
    // Only the part without a reply went again; the first part, acknowledged, did not.
    assert_eq!(stats.retransmits, per_part as u64, "{stats:?}");
    assert_eq!(received.duplicates_dropped, stats.retransmits, "every resent event recognised as delivered");
    assert_eq!(stats.sent, 3 * per_part as u64, "{stats:?}");
    assert_eq!(stats.acked, 3 * per_part as u64);
}

/// Notes how many events the sink had when the sender first resent one.
struct RetryWitness {
    log: Log,
    delivered_at_retry: Mutex<Option<usize>>,
}

impl shipper_grpc::TransportObserver for RetryWitness {
    fn on_retransmit(&self, _dst: &NodeId, _event: &ShippedEvent) {
        let delivered = self.log.lock().unwrap().len();
        self.delivered_at_retry.lock().unwrap().get_or_insert(delivered);
    }
}

/// The retry arrives while the receiver is still delivering the first attempt (a slow sink):
/// it waits for that delivery, then finds every event delivered, never offering one twice.
#[test]
fn a_retry_that_meets_a_delivery_under_way_waits_for_it() {
    let mut sim = builder(3);
    let rx = Receiver::default();
    let witness = Arc::new(RetryWitness { log: rx.log.clone(), delivered_at_retry: Mutex::new(None) });
    let heal_after = Duration::from_millis(500);
    let delay = Duration::from_millis(50);
    add_receiver(&mut sim, &rx, move |log, life| Recorder {
        delay: Some(delay),
        after: Some((5, cut_after_delivery(heal_after))),
        ..Recorder::new(log, life)
    });
    let sent = batch(1, 40);
    let events = sent.clone();
    let observer = witness.clone();
    let (result, took, stats) = run_client(&mut sim, async move {
        let tx = sender(sender_config()).with_observer(observer);
        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let result = tx.send_batch(&rx_name(), events, None).await;
        (result, started.elapsed(), tx.stats().snapshot())
    });

    assert_eq!(result, Ok(40));
    let at_retry = witness.delivered_at_retry.lock().unwrap().expect("a retry");
    assert!((5..39).contains(&at_retry), "the retry went out while the sink was at {at_retry} of 40");
    assert!(took >= delay * 40, "the reply waits for the sink: {took:?}");
    assert_eq!(rx.events(), sent, "every event once, in order");
    let received = rx.stats(1);
    assert_eq!(received.received, 40);
    assert!(stats.retransmits >= 40, "{stats:?}");
    assert_eq!(received.duplicates_dropped, stats.retransmits, "every resent event recognised as delivered");
    assert_eq!(stats.acked, 40);
}

/// As the second test with a hold instead of a partition: the reply is held, not lost, and
/// arrives after the release, by when the sender may have retried. Either way each event
/// reaches the sink once.
#[test]
fn a_held_reply_released_late_is_ok_without_duplicates() {
    let mut sim = builder(4);
    let rx = Receiver::default();
    let per_part = 11;
    let hold: Trigger = Arc::new(|| {
        turmoil::hold("tx", "rx");
        tokio::task::spawn_local(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            turmoil::release("tx", "rx");
        });
    });
    add_receiver(&mut sim, &rx, move |log, life| Recorder {
        after: Some((2 * per_part, hold.clone())),
        ..Recorder::new(log, life)
    });
    let sent = batch(1, 3 * per_part as u32);
    let config = sender_config().with_max_frame(400);
    let (result, _took, stats) = ship_one_batch(&mut sim, config, sent.clone());

    assert_eq!(result, Ok(3 * per_part));
    assert_eq!(rx.events(), sent, "every event once, in order");
    let received = rx.stats(1);
    assert_eq!(received.received, 3 * per_part as u64);
    assert!(stats.retransmits >= 1, "the held reply forced a retry: {stats:?}");
    assert_eq!(received.duplicates_dropped, stats.retransmits, "every resent event recognised as delivered");
    assert_eq!(stats.acked, 3 * per_part as u64);
}

/// A fence that admits every event in the receiver's first life and refuses every event in
/// the later ones (the node lost its shards while it was down).
struct RefuseAfterRestart {
    life: u64,
}

impl shipper::Fence for RefuseAfterRestart {
    fn admit(&self, _shard: shipper::ShardId, _sender_epoch: u64) -> Result<(), shipper::Refusal> {
        if self.life == 1 { Ok(()) } else { Err(shipper::Refusal { epoch: 2, members: vec!["tx".into()] }) }
    }
}

/// The receiver's first life delivers the whole call, but its reply is cut off and it
/// crashes; its next life, which no longer owns the shards, refuses the retry. The events did
/// arrive (in the first life), so the call must not say they certainly did not: a refusal
/// after an attempt that went unanswered on another connection is `Ambiguous`, not
/// `WrongOwner`.
#[test]
fn a_refusal_by_a_later_life_after_an_unanswered_attempt_is_ambiguous() {
    let mut sim = builder(5);
    let rx = Receiver::default();
    let host_rx = rx.clone();
    sim.host("rx", move || {
        let rx = host_rx.clone();
        async move {
            let life = rx.lives.fetch_add(1, Ordering::SeqCst) + 1;
            let server = GrpcServer::new(TurmoilNet::new(NODES), NetConfig::new("rx", life))
                .with_fence(Arc::new(RefuseAfterRestart { life }));
            rx.stats.lock().unwrap().push(server.stats().clone());
            let listener = server.bind().await?;
            // The first life's reply never gets out: the link is cut the moment its sink has
            // the call's last event.
            let cut: Trigger = Arc::new(|| turmoil::partition("tx", "rx"));
            let sink =
                Recorder { after: (life == 1).then_some((3, cut)), ..Recorder::new(rx.log.clone(), life) };
            server.serve(listener, Arc::new(sink)).await?;
            Ok(())
        }
    });
    let out = Arc::new(Mutex::new(None));
    let slot = out.clone();
    sim.client("tx", async move {
        let tx = sender(sender_config());
        *slot.lock().unwrap() = Some(tx.send_batch(&rx_name(), batch(1, 3), None).await);
        Ok(())
    });
    // Once the first life delivered the call (and the cut kept its reply in), it crashes and
    // restarts, and the link heals.
    let mut bounced = false;
    while !sim.step().expect("simulation") {
        if !bounced && rx.log.lock().unwrap().len() == 3 {
            sim.bounce("rx");
            sim.repair("tx", "rx");
            bounced = true;
        }
    }
    let result = out.lock().unwrap().take().expect("client finished");

    assert!(bounced, "the first life delivered the call");
    assert_eq!(rx.lives.load(Ordering::SeqCst), 2, "the retry reached the second life");
    assert_eq!(rx.stats(2).refused, 1, "the second life refused the retry");
    assert_eq!(rx.events(), batch(1, 3), "the first life delivered all three events");
    let error = result.expect_err("refused by the second life");
    assert_eq!(error.shipped, 0, "no reply counted any event: {error:?}");
    assert_eq!(
        error.error.outcome(),
        shipper::FailureOutcome::Unknown,
        "the events arrived in the first life, so the call cannot say they certainly did not: {}",
        error.error
    );
}

/// A fence that admits the first `admit` events it is asked about, then refuses the rest.
struct AdmitFirst {
    admit: usize,
    asked: Mutex<usize>,
}

impl shipper::Fence for AdmitFirst {
    fn admit(&self, _shard: shipper::ShardId, _sender_epoch: u64) -> Result<(), shipper::Refusal> {
        let mut asked = self.asked.lock().unwrap();
        *asked += 1;
        if *asked <= self.admit {
            Ok(())
        } else {
            Err(shipper::Refusal { epoch: 2, members: vec!["tx".into()] })
        }
    }
}

/// The counterpart of the test above in one receiving life: the reply to the second of three
/// parts is cut off, the retry finds that part delivered, and the third part is refused. The
/// unanswered attempt never carried the refused events, so the refusal stays certain.
#[test]
fn a_refusal_past_everything_an_unanswered_attempt_carried_stays_certain() {
    let mut sim = builder(6);
    let rx = Receiver::default();
    let per_part = 11;
    let host_rx = rx.clone();
    sim.host("rx", move || {
        let rx = host_rx.clone();
        async move {
            let life = rx.lives.fetch_add(1, Ordering::SeqCst) + 1;
            let fence = AdmitFirst { admit: 2 * per_part, asked: Mutex::new(0) };
            let server =
                GrpcServer::new(TurmoilNet::new(NODES), NetConfig::new("rx", life).with_max_frame(400))
                    .with_fence(Arc::new(fence));
            rx.stats.lock().unwrap().push(server.stats().clone());
            let listener = server.bind().await?;
            let sink = Recorder {
                after: Some((2 * per_part, cut_after_delivery(Duration::from_secs(1)))),
                ..Recorder::new(rx.log.clone(), life)
            };
            server.serve(listener, Arc::new(sink)).await?;
            Ok(())
        }
    });
    let config = sender_config().with_max_frame(400);
    let (result, _took, stats) = ship_one_batch(&mut sim, config, batch(1, 3 * per_part as u32));

    let error = result.expect_err("the third part is refused");
    assert_eq!(error.shipped, 2 * per_part, "{error:?}");
    assert!(matches!(error.error, shipper::ShipperError::WrongOwner { .. }), "{}", error.error);
    assert_eq!(rx.lives.load(Ordering::SeqCst), 1);
    assert_eq!(rx.events(), batch(1, 2 * per_part as u32), "two parts delivered once each");
    assert_eq!(stats.retransmits, per_part as u64, "the second part went again: {stats:?}");
}

/// A sink that takes `slow` to accept an event of shard 0, and accepts the rest at once.
struct SlowOnShardZero {
    inner: Recorder,
    slow: Duration,
}

#[async_trait::async_trait]
impl shipper::EventSink for SlowOnShardZero {
    async fn accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), shipper::SinkClosed> {
        if event.shard == 0 {
            tokio::time::sleep(self.slow).await;
        }
        self.inner.accept(from, event).await
    }
}

/// One call held open (to `stuck_at`) while the sender makes `CALLS` quick calls to "rx",
/// far more than the receiver keeps per sender (`MAX_OPEN_CALLS`, 4096). Returns how many of
/// the quick calls succeeded, the first failure, and what rx received.
fn quick_calls_beside_a_stuck_one(stuck_at: &'static str) -> (usize, Option<shipper::ShipperError>, u64) {
    const CALLS: usize = 5000;
    let nodes = ["tx", "rx", "gone"];
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(600))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(2))
        .rng_seed(7)
        .epoch(UNIX_EPOCH)
        .build();
    let rx = Receiver::default();
    for host in ["rx", "gone"] {
        let rx = rx.clone();
        sim.host(host, move || {
            let rx = rx.clone();
            async move {
                let server = GrpcServer::new(TurmoilNet::new(nodes), NetConfig::new(host, 1));
                if host == "rx" {
                    rx.stats.lock().unwrap().push(server.stats().clone());
                }
                let listener = server.bind().await?;
                // An event of shard 0 takes the sink longer than the whole run.
                let sink = SlowOnShardZero {
                    inner: Recorder::new(rx.log.clone(), 1),
                    slow: Duration::from_secs(500),
                };
                server.serve(listener, Arc::new(sink)).await?;
                Ok(())
            }
        });
    }
    let (ok, failure) = run_client(&mut sim, async move {
        // "gone" never answers: a call to it waits for its deadline.
        turmoil::partition("tx", "gone");
        let config = sender_config().with_deadline(Duration::from_secs(300));
        let tx = Arc::new(GrpcTransport::new(TurmoilNet::new(nodes), config));
        let stuck = tokio::task::spawn_local({
            let tx = tx.clone();
            async move { tx.send(&stuck_at.to_string(), common::event(0, 0)).await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut calls = tokio::task::JoinSet::new();
        for n in 0..CALLS {
            let tx = tx.clone();
            calls.spawn_local(async move { tx.send(&rx_name(), common::event(1, n as u32)).await });
        }
        let mut ok = 0;
        let mut failure = None;
        while let Some(result) = calls.join_next().await {
            match result.expect("a call's task") {
                Ok(()) => ok += 1,
                Err(err) => {
                    failure.get_or_insert(err);
                }
            }
        }
        stuck.abort();
        (ok, failure)
    });
    (ok, failure, rx.stats(1).received)
}

/// A call to a destination cut off from the sender stays open to its deadline; the sender's
/// calls to a healthy destination meanwhile must all succeed, however many: what a receiver
/// remembers may not grow with the calls made since the sender's oldest open call, least of
/// all one to another destination.
#[test]
fn a_call_stuck_on_one_destination_does_not_make_another_turn_calls_away() {
    let (ok, failure, received) = quick_calls_beside_a_stuck_one("gone");
    assert_eq!(ok, 5000, "the first failure: {failure:?}");
    assert_eq!(received, 5000);
}

/// As above with the long call on the same destination (its event takes the sink a long
/// time): the quick calls around it are settled, and the receiver may forget them.
#[test]
fn a_slow_call_does_not_make_its_destination_turn_later_calls_away() {
    let (ok, failure, received) = quick_calls_beside_a_stuck_one("rx");
    assert_eq!(ok, 5000, "the first failure: {failure:?}");
    assert_eq!(received, 5000, "the slow event is still in the sink");
}

/// The counterpart in one receiving life over two connections: the receiver delivers two
/// events of a call and refuses the third, and the link is cut before its reply gets out; the
/// retry after the heal goes over a new connection to the same life, which answers with the
/// same refusal. The sender knows the first connection led to that life (an earlier call's
/// reply on it said so), so the refusal stays certain.
#[test]
fn a_refusal_by_the_same_life_over_a_new_connection_stays_certain() {
    let mut sim = builder(9);
    let rx = Receiver::default();
    let host_rx = rx.clone();
    sim.host("rx", move || {
        let rx = host_rx.clone();
        async move {
            let life = rx.lives.fetch_add(1, Ordering::SeqCst) + 1;
            // One event of a first call, then two of the second, then refusals.
            let fence = AdmitFirst { admit: 3, asked: Mutex::new(0) };
            let server = GrpcServer::new(TurmoilNet::new(NODES), NetConfig::new("rx", life))
                .with_fence(Arc::new(fence));
            rx.stats.lock().unwrap().push(server.stats().clone());
            let listener = server.bind().await?;
            let sink = Recorder {
                after: Some((3, cut_after_delivery(Duration::from_secs(1)))),
                ..Recorder::new(rx.log.clone(), life)
            };
            server.serve(listener, Arc::new(sink)).await?;
            Ok(())
        }
    });
    let (first, second, stats) = run_client(&mut sim, async move {
        let tx = sender(sender_config());
        let first = tx.send_batch(&rx_name(), batch(1, 1), None).await;
        let second = tx.send_batch(&rx_name(), batch(2, 5), None).await;
        (first, second, tx.stats().snapshot())
    });

    assert_eq!(first, Ok(1));
    let error = second.expect_err("the third event is refused");
    assert_eq!(error.shipped, 2, "{error:?}");
    assert!(matches!(error.error, shipper::ShipperError::WrongOwner { .. }), "{}", error.error);
    assert_eq!(rx.lives.load(Ordering::SeqCst), 1, "one receiving life");
    assert!(stats.reconnects >= 1, "the retry went over a new connection: {stats:?}");
}

/// `calls` single-event calls at once from a sender whose in-flight bound is `calls`, to a
/// receiver whose bound (and so its HTTP/2 stream limit) is `receiver_bound` and whose sink
/// takes 50 ms per event; what each call returned, and the receiver's counters.
fn concurrent_calls(
    calls: u32,
    receiver_bound: usize,
) -> (Vec<Result<(), shipper::ShipperError>>, NetStatsSnapshot) {
    let mut sim = builder(8);
    let rx = Receiver::default();
    let host_rx = rx.clone();
    sim.host("rx", move || {
        let rx = host_rx.clone();
        async move {
            let config = NetConfig::new("rx", 1).with_max_unacked(receiver_bound);
            let server = GrpcServer::new(TurmoilNet::new(NODES), config);
            rx.stats.lock().unwrap().push(server.stats().clone());
            let listener = server.bind().await?;
            let sink =
                Recorder { delay: Some(Duration::from_millis(50)), ..Recorder::new(rx.log.clone(), 1) };
            server.serve(listener, Arc::new(sink)).await?;
            Ok(())
        }
    });
    let results = run_client(&mut sim, async move {
        let tx = Arc::new(sender(sender_config().with_max_unacked(calls as usize)));
        let mut running = tokio::task::JoinSet::new();
        for n in 0..calls {
            let tx = tx.clone();
            running.spawn_local(async move { tx.send(&rx_name(), common::event(1, n)).await });
        }
        let mut results = Vec::new();
        while let Some(result) = running.join_next().await {
            results.push(result.expect("a call's task"));
        }
        results
    });
    (results, rx.stats(1))
}

/// More calls open to one destination at once than a request lists (64): a call beyond the
/// listed ones is served like the others.
#[test]
fn more_open_calls_than_a_request_lists_are_all_served() {
    let (results, received) = concurrent_calls(100, 100);
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "{} of 100 failed, the first: {:?}", failed.len(), failed.first());
    assert_eq!((received.received, received.protocol_errors), (100, 0));
}

/// A sender allowed more calls in flight than the receiver allows streams: before the
/// receiver's HTTP/2 settings arrive, a new connection opens more streams than it takes, and
/// the receiver refuses the rest (`REFUSED_STREAM`: not processed). Those calls are retried,
/// and every call succeeds.
#[test]
fn calls_beyond_the_receivers_stream_limit_are_retried_not_failed() {
    let (results, received) = concurrent_calls(100, 64);
    let failed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(failed.is_empty(), "{} of 100 failed, the first: {:?}", failed.len(), failed.first());
    assert_eq!(received.received, 100);
}
