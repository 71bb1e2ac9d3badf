//! The transport on turmoil's simulated network: the same protocol code as
//! on real sockets, under partitions, holds, crashes, bounces and loss.
#![cfg(feature = "turmoil")]

mod common;

use common::run_client;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use common::{
    Delivery, Recorder, assert_batch_order, assert_no_duplicates_within_a_life, batch, event, keys_of_life,
};
use shipper::{BatchError, FailureOutcome, NodeId, ShippedEvent, ShipperError, ShipperTransport};
use shipper_net::{
    NetConfig, NetServer, NetStats, NetStatsSnapshot, NetTransport, Segmented, TransportObserver, TurmoilNet,
};
use tokio::time::Instant;

const NODES: [&str; 2] = ["tx", "rx"];

type Log = Arc<Mutex<Vec<Delivery>>>;

/// Each call's number and result.
type CallResults = Vec<(u32, Result<usize, BatchError>)>;

/// What the receiver host shares with the test across its lives.
#[derive(Clone, Default)]
struct Receiver {
    log: Log,
    lives: Arc<AtomicU64>,
    stats: Arc<Mutex<Vec<Arc<NetStats>>>>,
}

impl Receiver {
    fn deliveries(&self) -> Vec<Delivery> {
        self.log.lock().unwrap().clone()
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

/// Host "rx": a server whose sink records deliveries; every (re)start is a
/// new life. `delay` slows the sink down per event.
fn add_receiver(sim: &mut turmoil::Sim<'static>, rx: &Receiver, delay: Option<Duration>) {
    let rx = rx.clone();
    sim.host("rx", move || {
        let rx = rx.clone();
        async move {
            let life = rx.lives.fetch_add(1, Ordering::SeqCst) + 1;
            let server = NetServer::new(TurmoilNet::new(NODES), NetConfig::new("rx", life));
            rx.stats.lock().unwrap().push(server.stats().clone());
            let listener = server.bind().await?;
            let sink = Recorder { delay, ..Recorder::new(rx.log.clone(), life) };
            server.serve(listener, Arc::new(sink)).await?;
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

/// Records the keys the sender saw acknowledged, in order.
#[derive(Default)]
struct Acks(Mutex<Vec<String>>);

impl TransportObserver for Acks {
    fn on_ack(&self, _dst: &NodeId, event: &ShippedEvent) {
        self.0.lock().unwrap().push(event.key.clone());
    }
}

fn sender(config: NetConfig) -> NetTransport<TurmoilNet> {
    NetTransport::new(TurmoilNet::new(NODES), config)
}

fn rx_name() -> NodeId {
    "rx".to_string()
}

#[test]
fn partition_then_repair_within_the_deadline_is_ok() {
    let mut sim = builder(1);
    let rx = Receiver::default();
    add_receiver(&mut sim, &rx, None);
    let (result, took, stats) = run_client(&mut sim, async {
        let tx = sender(sender_config());
        // Warm up both slots so the batch meets an established connection.
        tx.send(&rx_name(), event(0, 0)).await.expect("warm-up");
        tx.send(&rx_name(), event(0, 1)).await.expect("warm-up");
        turmoil::partition("tx", "rx");
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            turmoil::repair("tx", "rx");
        });
        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let result = tx.send_batch(&rx_name(), batch(1, 10), None).await;
        (result, started.elapsed(), tx.stats().snapshot())
    });
    assert_eq!(result.expect("Ok after the repair"), 10);
    assert!(took >= Duration::from_secs(1), "cannot be acked while partitioned: {took:?}");
    let log = rx.deliveries();
    assert_eq!(keys_of_life(&log, 1).len(), 12);
    assert_no_duplicates_within_a_life(&log);
    assert_batch_order(&log, 1);
    assert!(stats.retransmits >= 10 && stats.reconnects >= 1, "{stats:?}");
    assert_eq!(stats.acked, 12);
}

#[test]
fn a_partition_that_outlasts_the_deadline_fails_at_the_deadline() {
    let mut sim = builder(2);
    let rx = Receiver::default();
    add_receiver(&mut sim, &rx, None);
    let deadline = Duration::from_millis(1500);
    let (never_connected, written, after) = run_client(&mut sim, async move {
        let tx = sender(sender_config().with_deadline(deadline));
        // Cut off before any connection: certainly not delivered.
        turmoil::partition("tx", "rx");
        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let never_connected = (tx.send(&rx_name(), event(0, 0)).await, started.elapsed());
        turmoil::repair("tx", "rx");
        tx.send(&rx_name(), event(1, 0)).await.expect("connected");
        tx.send(&rx_name(), event(2, 0)).await.expect("connected");
        // Cut off with connections up: the batch is written, never acked.
        turmoil::partition("tx", "rx");
        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let written = (tx.send_batch(&rx_name(), batch(3, 5), None).await, started.elapsed());
        turmoil::repair("tx", "rx");
        // Both slots work again afterwards: the abandoned stream is not waited on.
        let after = (tx.send(&rx_name(), event(4, 0)).await, tx.send(&rx_name(), event(5, 0)).await);
        (never_connected, written, after)
    });
    let (result, took) = never_connected;
    let err = result.unwrap_err();
    assert!(matches!(err, ShipperError::Send(_)), "refused connections: {err:?}");
    assert_eq!(err.outcome(), FailureOutcome::NotDelivered);
    assert_eq!(took, deadline, "ends exactly at the deadline (simulated time)");

    let (result, took) = written;
    let BatchError { shipped, error, unshipped } = result.unwrap_err();
    assert!(error.is_ambiguous(), "{error:?}");
    assert_eq!((shipped, unshipped.len()), (0, 5));
    assert_eq!(took, deadline);

    assert!(after.0.is_ok() && after.1.is_ok(), "{after:?}");
    let log = rx.deliveries();
    assert_no_duplicates_within_a_life(&log);
    assert!(keys_of_life(&log, 1).iter().all(|k| !k.starts_with("0/")), "the never-sent event never arrived");
}

#[test]
fn hold_then_release_is_ok_and_delivers_once() {
    let mut sim = builder(3);
    let rx = Receiver::default();
    add_receiver(&mut sim, &rx, None);
    let (result, took, stats) = run_client(&mut sim, async {
        let tx = sender(sender_config().with_connections(1));
        tx.send(&rx_name(), event(0, 0)).await.expect("warm-up");
        turmoil::hold("tx", "rx");
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_millis(700)).await;
            turmoil::release("tx", "rx");
        });
        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let result = tx.send(&rx_name(), event(1, 0)).await;
        (result, started.elapsed(), tx.stats().snapshot())
    });
    result.expect("Ok after the release");
    assert!(took >= Duration::from_millis(700), "{took:?}");
    // The held original and the resent copy both arrived: the sink saw one.
    let log = rx.deliveries();
    assert_eq!(keys_of_life(&log, 1), ["0/0", "1/0"]);
    assert!(stats.retransmits >= 1, "{stats:?}");
    assert!(rx.stats(1).duplicates_dropped >= 1, "{:?}", rx.stats(1));
    assert_eq!(rx.stats(1).received, 2);
}

/// Drives `sim` until the client ends, applying `fault` once the receiver's
/// first life has delivered `after` events.
fn run_with_fault(
    sim: &mut turmoil::Sim<'static>,
    rx: &Receiver,
    after: usize,
    fault: impl FnOnce(&mut turmoil::Sim<'static>),
) {
    let mut fault = Some(fault);
    loop {
        let done = sim.step().expect("simulation");
        if fault.is_some() && keys_of_life(&rx.deliveries(), 1).len() >= after {
            (fault.take().unwrap())(sim);
        }
        if done {
            return;
        }
    }
}

#[test]
fn receiver_crash_gives_ambiguous_or_never_sent_and_no_duplicates() {
    let mut sim = builder(4);
    let rx = Receiver::default();
    add_receiver(&mut sim, &rx, Some(Duration::from_millis(5)));
    let deadline = Duration::from_secs(2);
    let out = Arc::new(Mutex::new(None));
    let slot = out.clone();
    sim.client("tx", async move {
        let tx = sender(sender_config().with_deadline(deadline));
        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let result = tx.send_batch(&rx_name(), batch(1, 50), None).await;
        let took = started.elapsed();
        let after = tx.send(&rx_name(), event(2, 0)).await;
        *slot.lock().unwrap() = Some((result, took, after, tx.stats().snapshot()));
        Ok(())
    });
    run_with_fault(&mut sim, &rx, 10, |sim| sim.crash("rx"));
    let (result, took, after, stats) = out.lock().unwrap().take().unwrap();
    let err = result.unwrap_err();
    assert!(err.error.is_ambiguous(), "{err:?}");
    assert_eq!(took, deadline);
    let log = rx.deliveries();
    let delivered = keys_of_life(&log, 1);
    assert_no_duplicates_within_a_life(&log);
    assert_batch_order(&log, 1);
    assert!(delivered.len() >= err.shipped, "shipped means delivered");
    assert_eq!(err.shipped + err.unshipped.len(), 50);
    assert_eq!(stats.acked as usize, err.shipped);
    // With the receiver gone for good, a new call is never sent.
    let after = after.unwrap_err();
    assert_eq!(after.outcome(), FailureOutcome::NotDelivered, "{after:?}");
}

#[test]
fn receiver_bounce_resumes_and_is_ok() {
    let mut sim = builder(5);
    let rx = Receiver::default();
    add_receiver(&mut sim, &rx, Some(Duration::from_millis(5)));
    let acks = Arc::new(Acks::default());
    let out = Arc::new(Mutex::new(None));
    let slot = out.clone();
    let observer = acks.clone();
    sim.client("tx", async move {
        let tx = sender(sender_config()).with_observer(observer);
        let result = tx.send_batch(&rx_name(), batch(1, 50), None).await;
        *slot.lock().unwrap() = Some((result, tx.stats().snapshot()));
        Ok(())
    });
    let mut acked_at_bounce = 0;
    run_with_fault(&mut sim, &rx, 10, |sim| {
        acked_at_bounce = acks.0.lock().unwrap().len();
        sim.bounce("rx");
    });
    let (result, stats) = out.lock().unwrap().take().unwrap();
    assert_eq!(result.expect("Ok after the restart"), 50);
    let log = rx.deliveries();
    assert_no_duplicates_within_a_life(&log);
    assert_batch_order(&log, 1);
    let first = keys_of_life(&log, 1);
    let second = keys_of_life(&log, 2);
    let index = |k: &String| k.split('/').nth(1).unwrap().parse::<usize>().unwrap();
    let resumed = index(&second[0]);
    // No gap, and only events whose ack had not reached the sender arrive again.
    assert!(resumed <= first.len(), "gap: life 1 ended at {}, life 2 resumed at {resumed}", first.len());
    assert!(resumed >= acked_at_bounce, "event {resumed} was acked before the bounce, yet delivered again");
    assert_eq!(index(second.last().unwrap()), 49);
    assert_eq!(stats.acked, 50);
    assert!(stats.reconnects >= 1, "{stats:?}");
    assert_eq!(rx.stats(2).received as usize, second.len());
}

/// Concurrent calls over a lossy link: every Ok delivered exactly once,
/// batches in order, every call ends by its deadline. Returns a trace.
fn lossy_run(seed: u64, rate: f64) -> (Vec<Delivery>, CallResults, NetStatsSnapshot) {
    let mut sim = builder(seed);
    sim.set_fail_rate(rate);
    let rx = Receiver::default();
    add_receiver(&mut sim, &rx, None);
    let deadline = Duration::from_secs(2);
    let (results, stats) = run_client(&mut sim, async move {
        let tx = Arc::new(sender(sender_config().with_deadline(deadline).with_rng_seed(seed)));
        let tasks: Vec<_> = (0..4u32)
            .map(|worker| {
                let tx = tx.clone();
                tokio::task::spawn_local(async move {
                    let mut results = Vec::new();
                    for round in 0..6u32 {
                        let call = worker * 100 + round;
                        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
                        let result = tx.send_batch(&rx_name(), batch(call, 1 + call % 5), None).await;
                        assert!(started.elapsed() <= deadline, "call {call} outlived its deadline");
                        results.push((call, result));
                    }
                    results
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.extend(task.await.unwrap());
        }
        (results, tx.stats().snapshot())
    });
    (rx.deliveries(), results, stats)
}

/// The delivery guarantees over one lossy run: no duplicate, every shipped
/// event delivered, batches in order, a never-sent event never delivered.
fn check_lossy(seed: u64, log: &[Delivery], results: &CallResults) {
    assert_no_duplicates_within_a_life(log);
    let delivered: std::collections::BTreeSet<String> = keys_of_life(log, 1).into_iter().collect();
    for (call, result) in results {
        assert_batch_order(log, *call);
        let len = 1 + call % 5;
        let shipped = match result {
            Ok(n) => *n,
            Err(err) => {
                assert_eq!(err.shipped + err.unshipped.len(), len as usize);
                if !err.error.is_ambiguous() {
                    for event in &err.unshipped {
                        assert!(
                            !delivered.contains(&event.key),
                            "seed {seed}: never-sent {} delivered",
                            event.key
                        );
                    }
                }
                err.shipped
            }
        };
        for index in 0..shipped as u32 {
            assert!(
                delivered.contains(&format!("{call}/{index}")),
                "seed {seed}: {call}/{index} shipped, not delivered"
            );
        }
    }
}

#[test]
fn lossy_link_never_loses_an_ok_nor_duplicates() {
    let (log, results, stats) = lossy_run(6, 0.02);
    check_lossy(6, &log, &results);
    assert!(results.iter().all(|(_, r)| r.is_ok()), "light loss, 2 s deadlines: {results:?}");
    assert!(stats.retransmits > 0, "the loss should have forced retransmits: {stats:?}");
}

#[test]
fn heavy_loss_over_many_seeds_keeps_the_guarantees() {
    for seed in 100..110 {
        let (log, results, _) = lossy_run(seed, 0.1);
        check_lossy(seed, &log, &results);
    }
}

#[test]
fn same_seed_same_run() {
    let first = lossy_run(7, 0.05);
    let second = lossy_run(7, 0.05);
    assert_eq!(first.0, second.0);
    assert_eq!(format!("{:?}", first.1), format!("{:?}", second.1));
    assert_eq!(first.2, second.2);
}

#[test]
fn unknown_nodes_are_no_route_without_touching_turmoil_dns() {
    let mut sim = builder(8);
    let rx = Receiver::default();
    add_receiver(&mut sim, &rx, None);
    let result = run_client(&mut sim, async {
        let tx = sender(sender_config());
        assert!(!tx.has_route(&"typo".to_string()));
        tx.register_route("typo".to_string());
        let result = tx.send(&"typo".to_string(), event(0, 0)).await;
        // An unregistered name still has no address: nothing allocated one.
        let resolved = turmoil::net::TcpStream::connect(("typo", 7000)).await;
        (result, resolved.map(drop).map_err(|e| e.kind()))
    });
    assert_eq!(result.0, Err(ShipperError::NoRoute("typo".into())));
    assert_eq!(result.1, Err(std::io::ErrorKind::NotFound));
}

/// Every byte on its own: each write travels as 1-byte messages and each read
/// returns one byte, so every frame (and every length prefix) is reassembled
/// from single bytes on both sides. Everything arrives once, whole, in order,
/// and neither side sees a protocol error.
#[test]
fn one_byte_segments_deliver_everything_once_in_order() {
    let mut sim = builder(9);
    let rx = Receiver::default();
    let segmented = |seed| Segmented::new(TurmoilNet::new(NODES), 1..=1, seed);
    let host_rx = rx.clone();
    sim.host("rx", move || {
        let rx = host_rx.clone();
        async move {
            let life = rx.lives.fetch_add(1, Ordering::SeqCst) + 1;
            let server = NetServer::new(segmented(life), NetConfig::new("rx", life));
            rx.stats.lock().unwrap().push(server.stats().clone());
            let listener = server.bind().await?;
            server.serve(listener, Arc::new(Recorder::new(rx.log.clone(), life))).await?;
            Ok(())
        }
    });
    let padded = |call: u32, index: u32| {
        let mut e = event(call, index);
        e.payload.extend(std::iter::repeat_n(b' ', 50 * index as usize));
        e
    };
    let sent: Vec<ShippedEvent> = (1..=3).flat_map(|call| (0..8).map(move |i| padded(call, i))).collect();
    let to_send = sent.clone();
    let (results, stats) = run_client(&mut sim, async move {
        let config = sender_config().with_deadline(Duration::from_secs(20));
        let tx = NetTransport::new(segmented(100), config);
        let mut results = Vec::new();
        for call in to_send.chunks(8) {
            results.push(tx.send_batch(&rx_name(), call.to_vec(), None).await);
        }
        (results, tx.stats().snapshot())
    });
    assert!(results.iter().all(|r| matches!(r, Ok(8))), "{results:?}");
    let delivered: Vec<ShippedEvent> = rx.deliveries().into_iter().map(|d| d.event).collect();
    assert_eq!(delivered, sent, "every event once, byte for byte, in order");
    assert_eq!((stats.sent, stats.acked, stats.protocol_errors), (24, 24, 0), "{stats:?}");
    assert_eq!(rx.stats(1).protocol_errors, 0);
    assert_eq!(rx.stats(1).received, 24);
}
