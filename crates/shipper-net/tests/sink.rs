//! The receiving application's answers on turmoil's simulated network: a sink
//! that says busy delays the ack without losing anything, and an accept that
//! a crash cuts short was never acknowledged (and, with the broken variant
//! `AckBeforeAccept`, was: the event is lost).
#![cfg(feature = "turmoil")]

mod common;

use common::run_client;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use common::{
    Delivery, Recorder, assert_batch_order, assert_no_duplicates_within_a_life, batch, event, keys_of_life,
};
use shipper::{NodeId, ShippedEvent, ShipperError, ShipperTransport};
use shipper_net::{
    EventSink, NetConfig, NetServer, NetStats, NetStatsSnapshot, NetTransport, SinkClosed, SinkError,
    TurmoilNet,
};
use tokio::time::Instant;

const NODES: [&str; 2] = ["tx", "rx"];

fn builder(seed: u64) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(60))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(5))
        .rng_seed(seed)
        .epoch(UNIX_EPOCH)
        .build()
}

/// A sink that answers busy `refusals(n)` times to its n-th event (counting
/// from 0) before taking it, and takes `delay` per accepted event. It marks
/// when an accept is under way (`pending`).
struct Moody {
    inner: Recorder,
    refusals: fn(usize) -> usize,
    /// Events accepted so far, and busy answers given to the current one.
    accepted: AtomicUsize,
    refused: AtomicUsize,
    pending: Arc<AtomicUsize>,
}

#[async_trait]
impl EventSink for Moody {
    async fn accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        self.pending.fetch_add(1, Ordering::SeqCst);
        let result = self.inner.accept(from, event).await;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        result
    }

    async fn try_accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), SinkError> {
        let n = self.accepted.load(Ordering::SeqCst);
        if self.refused.load(Ordering::SeqCst) < (self.refusals)(n) {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(SinkError::Busy(event));
        }
        self.refused.store(0, Ordering::SeqCst);
        self.accept(from, event).await?;
        self.accepted.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

/// What the receiver host shares with the test across its lives.
#[derive(Clone, Default)]
struct Receiver {
    log: Arc<Mutex<Vec<Delivery>>>,
    lives: Arc<AtomicU64>,
    stats: Arc<Mutex<Vec<Arc<NetStats>>>>,
    pending: Arc<AtomicUsize>,
}

impl Receiver {
    fn deliveries(&self) -> Vec<Delivery> {
        self.log.lock().unwrap().clone()
    }

    fn stats(&self, life: u64) -> NetStatsSnapshot {
        self.stats.lock().unwrap()[life as usize - 1].snapshot()
    }
}

/// Host "rx": a server whose sink is a [`Moody`]; every (re)start is a new life.
fn add_receiver(
    sim: &mut turmoil::Sim<'static>,
    rx: &Receiver,
    refusals: fn(usize) -> usize,
    delay: Duration,
) {
    let rx = rx.clone();
    sim.host("rx", move || {
        let rx = rx.clone();
        async move {
            let life = rx.lives.fetch_add(1, Ordering::SeqCst) + 1;
            let server = NetServer::new(TurmoilNet::new(NODES), NetConfig::new("rx", life));
            rx.stats.lock().unwrap().push(server.stats().clone());
            let listener = server.bind().await?;
            let inner = Recorder { delay: Some(delay), ..Recorder::new(rx.log.clone(), life) };
            let sink = Moody {
                inner,
                refusals,
                accepted: AtomicUsize::new(0),
                refused: AtomicUsize::new(0),
                pending: rx.pending.clone(),
            };
            server.serve(listener, Arc::new(sink)).await?;
            Ok(())
        }
    });
}

fn sender(deadline: Duration) -> NetTransport<TurmoilNet> {
    let config = NetConfig::new("tx", 1)
        .with_ack_timeout(Duration::from_millis(200))
        .with_deadline(deadline)
        .with_backoff(Duration::from_millis(10), Duration::from_millis(200))
        .with_rng_seed(42);
    NetTransport::new(TurmoilNet::new(NODES), config)
}

fn rx_name() -> NodeId {
    "rx".to_string()
}

#[test]
fn a_busy_sink_delays_the_ack_and_loses_nothing() {
    let mut sim = builder(11);
    let rx = Receiver::default();
    // Every event is refused three times: 3 pauses of 5 ms each before it is taken.
    add_receiver(&mut sim, &rx, |_| 3, Duration::from_millis(1));
    let (result, took, stats) = run_client(&mut sim, async {
        let tx = sender(Duration::from_secs(5));
        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let result = tx.send_batch(&rx_name(), batch(1, 10), None).await;
        (result, started.elapsed(), tx.stats().snapshot())
    });
    assert_eq!(result.expect("Ok once the sink took everything"), 10);
    let busy_pause = NetConfig::new("rx", 1).busy_retry;
    assert!(took >= busy_pause * 30, "each ack waited out three busy answers: {took:?}");
    let log = rx.deliveries();
    assert_eq!(keys_of_life(&log, 1), batch(1, 10).iter().map(|e| e.key.clone()).collect::<Vec<_>>());
    assert_no_duplicates_within_a_life(&log);
    let received = rx.stats(1);
    assert_eq!((received.sink_busy, received.received), (30, 10), "{received:?}");
    assert_eq!((stats.acked, stats.retransmits), (10, 0), "{stats:?}");
}

#[test]
fn a_sink_busy_past_the_ack_timeout_is_backpressure_not_loss() {
    let mut sim = builder(12);
    let rx = Receiver::default();
    // The first event is refused for about 300 ms, longer than the 200 ms ack timeout.
    add_receiver(&mut sim, &rx, |n| if n == 0 { 60 } else { 0 }, Duration::from_millis(1));
    let (result, took, stats) = run_client(&mut sim, async {
        let tx = sender(Duration::from_secs(5));
        let started = Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let result = tx.send_batch(&rx_name(), batch(1, 5), None).await;
        (result, started.elapsed(), tx.stats().snapshot())
    });
    assert_eq!(result.expect("Ok within the deadline"), 5);
    assert!(took >= Duration::from_millis(300), "{took:?}");
    // The sender gave up on the connection and resent; the receiver delivered each once.
    assert!(stats.retransmits >= 1, "{stats:?}");
    let log = rx.deliveries();
    assert_eq!(keys_of_life(&log, 1).len(), 5);
    assert_no_duplicates_within_a_life(&log);
    assert_batch_order(&log, 1);
    let received = rx.stats(1);
    assert_eq!((received.sink_busy, received.received), (60, 5), "{received:?}");
}

/// One event to a receiver whose sink takes 50 ms per accept; the receiver
/// crashes (for good) 20 ms into that accept. Returns the send's result and
/// the deliveries.
fn crash_during_a_pending_accept() -> (Result<(), ShipperError>, Vec<Delivery>) {
    let mut sim = builder(13);
    let rx = Receiver::default();
    add_receiver(&mut sim, &rx, |_| 0, Duration::from_millis(50));
    let out = Arc::new(Mutex::new(None));
    let slot = out.clone();
    sim.client("tx", async move {
        let tx = sender(Duration::from_secs(1));
        let result = tx.send(&rx_name(), event(1, 0)).await;
        // Stay up past the crash, however early the answer came.
        tokio::time::sleep(Duration::from_millis(200)).await;
        *slot.lock().unwrap() = Some(result);
        Ok(())
    });
    let mut steps_into_accept = None;
    loop {
        let done = sim.step().expect("simulation");
        if rx.pending.load(Ordering::SeqCst) > 0 {
            let steps = steps_into_accept.get_or_insert(0);
            *steps += 1;
            // 20 steps of 1 ms: the accept is under way, the ack (if any) has arrived.
            if *steps == 20 {
                sim.crash("rx");
            }
        }
        if done {
            break;
        }
    }
    assert_eq!(steps_into_accept.map(|s| s >= 20), Some(true), "the crash landed in the accept");
    let result = out.lock().unwrap().take().expect("client finished");
    (result, rx.deliveries())
}

#[test]
fn a_crash_during_a_pending_accept_was_never_acked() {
    let (result, log) = crash_during_a_pending_accept();
    assert!(log.is_empty(), "the accept was cut short: {log:?}");
    let err = result.unwrap_err();
    assert!(err.is_ambiguous(), "written, never acked: {err:?}");
}

/// The broken variant acks on read: the sender is told `Ok` for an event the
/// crash then took with it.
#[cfg(feature = "broken")]
#[test]
fn ack_before_accept_loses_the_event_a_crash_cuts_short() {
    use shipper::broken::{self, Variant};
    let (result, log) = broken::with(Variant::AckBeforeAccept, crash_during_a_pending_accept);
    assert_eq!(result, Ok(()), "acked before the sink took it");
    assert!(log.is_empty(), "and never delivered: {log:?}");
}
