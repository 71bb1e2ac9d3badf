//! One test per weakness of the original (the table in `crates/shipper/README.md`).
//! Each says what the original did; each fails against the original's code
//! (`crates/router-bench/src/original_event_shipper.rs`).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use shipper::*;
use tokio::sync::mpsc;

fn event(i: u32) -> ShippedEvent {
    ShippedEvent::json(i, format!("k{i}"), &serde_json::json!({ "i": i }), "src").expect("encodes")
}

fn shipper_to(transport: Arc<dyn ShipperTransport>) -> EventShipper {
    EventShipper::new(ShipperConfig { local_node: "src".into() }, transport)
}

async fn drain(rx: &mut mpsc::Receiver<ShippedEvent>) -> Vec<u32> {
    let mut out = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        out.push(ev.shard);
    }
    out
}

// ── 1. ship_batch: partial progress is reported, nothing is lost ────────────

/// The original stopped at the first error, said nothing of how far it got and
/// dropped the failed event (and without a deadline, hung on a full channel).
#[tokio::test(start_paused = true)]
async fn ship_batch_reports_progress_and_hands_back_the_rest() {
    let transport = Arc::new(InProcessShipperTransport::new(2));
    let mut rx = transport.spawn_receiver("dst".into());
    let shipper = shipper_to(transport).with_deadline(Duration::from_millis(100));

    let err = shipper
        .ship_batch(&"dst".into(), (0..5).map(event).collect())
        .await
        .expect_err("only two fit before the deadline");
    assert_eq!(err.shipped, 2);
    assert_eq!(err.error, ShipperError::Timeout("dst".into()));
    assert_eq!(err.error.outcome(), FailureOutcome::NotDelivered);
    let shards: Vec<u32> = err.unshipped.iter().map(|e| e.shard).collect();
    assert_eq!(shards, vec![2, 3, 4], "the failed event comes back first");

    // Resuming with what came back duplicates nothing and loses nothing.
    assert_eq!(drain(&mut rx).await, vec![0, 1]);
    let resumed = tokio::spawn(async move {
        let n = shipper.ship_batch(&"dst".into(), err.unshipped).await.expect("room now");
        (n, shipper)
    });
    let mut rest = Vec::new();
    for _ in 0..3 {
        rest.push(rx.recv().await.expect("delivered").shard);
    }
    let (n, shipper) = resumed.await.expect("task");
    assert_eq!(n, 3);
    assert_eq!(rest, vec![2, 3, 4]);
    let stats = shipper.stats().snapshot();
    assert_eq!((stats.sent, stats.send_failures), (5, 3), "3 failed attempts, then 5 delivered");
}

/// `?` on a batch error still works in functions returning `ShipperResult`,
/// as it did against the original.
#[tokio::test]
async fn batch_error_converts_for_question_mark() {
    async fn ship_all(shipper: &EventShipper) -> ShipperResult<usize> {
        Ok(shipper.ship_batch(&"nowhere".into(), vec![event(0)]).await?)
    }
    let shipper = shipper_to(Arc::new(InProcessShipperTransport::new(1)));
    assert_eq!(ship_all(&shipper).await, Err(ShipperError::NoRoute("nowhere".into())));
}

// ── 2. dead routes are noticed; replacement is explicit ─────────────────────

/// The original kept a dropped receiver's sender: `has_route` stayed true and
/// every later send failed as a send failure.
#[tokio::test]
async fn dropped_receiver_is_pruned() {
    let transport = Arc::new(InProcessShipperTransport::new(4));
    let rx = transport.spawn_receiver("dst".into());
    assert!(transport.has_route(&"dst".into()));
    drop(rx);
    assert!(!transport.has_route(&"dst".into()), "a dead receiver is no route");

    let shipper = shipper_to(transport.clone());
    let err = shipper.ship(&"dst".into(), event(0)).await.expect_err("dead");
    assert_eq!(err, ShipperError::NoRoute("dst".into()));
    assert_eq!(shipper.stats().snapshot().no_route, 1);
    // The pruned route can be made again.
    let mut rx = transport.try_spawn_receiver("dst".into()).expect("route was pruned");
    shipper.ship(&"dst".into(), event(1)).await.expect("new receiver");
    assert_eq!(rx.recv().await.map(|e| e.shard), Some(1));
}

/// The original's `spawn_receiver` on a live node silently orphaned the old channel.
#[tokio::test]
async fn replacing_a_live_receiver_is_refused_or_counted() {
    let transport = InProcessShipperTransport::new(4);
    let mut old = transport.spawn_receiver("dst".into());
    assert_eq!(
        transport.try_spawn_receiver("dst".into()).err(),
        Some(ShipperError::RouteExists("dst".into()))
    );
    let mut new = transport.spawn_receiver("dst".into());
    assert_eq!(transport.replaced_receivers(), 1);
    assert!(old.recv().await.is_none(), "the old consumer sees its stream end");
    transport.send(&"dst".into(), event(7)).await.expect("new route");
    assert_eq!(new.recv().await.map(|e| e.shard), Some(7));
}

// ── 3. register_route means something; has_route does not lie ──────────────

/// The original's `register_route` was a no-op: a registered node had no route.
#[tokio::test]
async fn register_route_creates_a_buffering_route() {
    let transport = Arc::new(InProcessShipperTransport::new(4));
    transport.register_route("late".into());
    assert!(transport.has_route(&"late".into()));
    let shipper = shipper_to(transport.clone());
    shipper.ship(&"late".into(), event(3)).await.expect("buffered until claimed");
    let mut rx = transport.spawn_receiver("late".into());
    assert_eq!(rx.recv().await.map(|e| e.shard), Some(3));
    assert_eq!(transport.replaced_receivers(), 0, "claiming is not replacing");
}

struct Answer(fn(&NodeId) -> ShipperResult<()>);

#[async_trait]
impl ShipperTransport for Answer {
    async fn send(&self, dst: &NodeId, _event: ShippedEvent) -> ShipperResult<()> {
        (self.0)(dst)
    }
}

/// The original's trait default answered `has_route == true` for every node.
#[test]
fn default_has_route_claims_nothing() {
    let transport = Answer(|_| Ok(()));
    assert!(!transport.has_route(&"anything".into()));
}

// ── 7. every ship is counted once, in the right counter ────────────────────

/// The original counted a transport's `NoRoute` as a send failure (and a missing
/// local sink as `no_route`): the same condition, two counters.
#[tokio::test]
async fn transport_no_route_counts_as_no_route() {
    let shipper = shipper_to(Arc::new(Answer(|dst| Err(ShipperError::NoRoute(dst.clone())))));
    shipper.ship(&"remote".into(), event(0)).await.expect_err("no route");
    shipper.ship(&"src".into(), event(1)).await.expect_err("no local sink");
    let stats = shipper.stats().snapshot();
    assert_eq!(stats.no_route, 2);
    assert_eq!(stats.send_failures, 0);
}

#[tokio::test]
async fn every_attempt_lands_in_exactly_one_counter() {
    let transport = Arc::new(InProcessShipperTransport::new(8));
    let _rx = transport.spawn_receiver("dst".into());
    let shipper = shipper_to(transport);
    let (tx, _local_rx) = mpsc::channel(8);
    shipper.install_local_sink(tx);

    shipper.ship(&"dst".into(), event(0)).await.expect("remote");
    shipper.ship(&"src".into(), event(1)).await.expect("local");
    shipper.ship(&"gone".into(), event(2)).await.expect_err("no route");
    shipper.ship_batch(&"dst".into(), (3..6).map(event).collect()).await.expect("batch");
    shipper.ship_batch(&"gone".into(), (6..8).map(event).collect()).await.expect_err("no route");

    let stats = shipper.stats().snapshot();
    assert_eq!(stats.attempts(), 8, "one count per event handed over");
    assert_eq!((stats.sent, stats.local, stats.no_route), (4, 1, 3));
    let ambiguous = shipper_to(Arc::new(Answer(|dst| {
        Err(ShipperError::Ambiguous { node: dst.clone(), reason: "no ack".into() })
    })));
    ambiguous.ship(&"x".into(), event(0)).await.expect_err("ambiguous");
    let stats = ambiguous.stats().snapshot();
    assert_eq!((stats.ambiguous, stats.send_failures, stats.attempts()), (1, 0, 1));
}

// ── 4. deadlines: nothing blocks forever ────────────────────────────────────

/// The original awaited a full local sink forever.
#[tokio::test(start_paused = true)]
async fn full_local_sink_times_out_without_sending() {
    let shipper =
        shipper_to(Arc::new(InProcessShipperTransport::new(1))).with_deadline(Duration::from_millis(50));
    let (tx, mut rx) = mpsc::channel(1);
    shipper.install_local_sink(tx);
    shipper.ship(&"src".into(), event(0)).await.expect("fits");
    let err = shipper.ship(&"src".into(), event(1)).await.expect_err("full");
    assert_eq!(err, ShipperError::Timeout("src".into()));
    assert_eq!(shipper.stats().snapshot().send_failures, 1);
    assert_eq!(drain(&mut rx).await, vec![0], "the timed-out event was not sent");
}

struct Stuck;

#[async_trait]
impl ShipperTransport for Stuck {
    async fn send(&self, _dst: &NodeId, _event: ShippedEvent) -> ShipperResult<()> {
        std::future::pending().await
    }
}

/// The original awaited a stuck transport forever. Whether the stuck send went
/// out is unknowable, so the error says so.
#[tokio::test(start_paused = true)]
async fn stuck_transport_is_ambiguous_at_the_deadline() {
    let shipper = shipper_to(Arc::new(Stuck)).with_deadline(Duration::from_secs(1));
    let started = tokio::time::Instant::now(); // allow-nondeterminism: tokio time, paused: virtual, not the wall clock
    let err = shipper.ship(&"dst".into(), event(0)).await.expect_err("stuck");
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert!(err.is_ambiguous(), "{err}");
    let err = shipper.ship_batch(&"dst".into(), vec![event(1), event(2)]).await.expect_err("stuck");
    assert_eq!((err.shipped, err.unshipped.len()), (0, 2));
    assert_eq!(shipper.stats().snapshot().ambiguous, 3);
}
