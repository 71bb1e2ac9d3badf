//! The receiver's fence on turmoil's simulated network: a receiver refuses
//! events of shards it does not own under a map no older than the sender's,
//! admits those of a sender ahead of it, and the stream goes on past a
//! refusal. A refusal is certain only for events no earlier life of the
//! receiver can have delivered.
#![cfg(feature = "turmoil")]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use common::{Delivery, Recorder};
use shipper::{
    BatchError, EventShipper, EventSink, FailureOutcome, Fence, InProcessShipperTransport, NodeId, Refusal,
    Router, ShardId, ShardMap, ShippedEvent, ShipperConfig, ShipperError, ShipperTransport, SinkClosed,
};
use shipper_net::{NetConfig, NetServer, NetStats, NetStatsSnapshot, NetTransport, TurmoilNet};

const NODES: [&str; 2] = ["tx", "rx"];
const SHARDS: u32 = 16;

/// The map both tests' receivers start from: tx and rx, at `epoch`.
fn map(epoch: u64, members: &[&str]) -> ShardMap {
    ShardMap::from_members(SHARDS, members.iter().copied(), epoch).unwrap()
}

/// A shard `owner` owns under `map`.
fn shard_of(map: &ShardMap, owner: &str) -> ShardId {
    (0..SHARDS).find(|&s| map.owner(s).unwrap() == owner).expect("each member owns a shard")
}

fn event(shard: ShardId, call: u32, index: u32) -> ShippedEvent {
    ShippedEvent { shard, key: format!("{call}/{index}"), payload: vec![1, 2, 3], source: "tx".into() }
}

/// Host "rx": a server fenced by a router holding `map`.
fn add_fenced_receiver(
    sim: &mut turmoil::Sim<'static>,
    map: ShardMap,
    log: Arc<Mutex<Vec<Delivery>>>,
    stats: Arc<Mutex<Option<Arc<NetStats>>>>,
) {
    let lives = Arc::new(AtomicU64::new(0));
    sim.host("rx", move || {
        let (map, log, stats, lives) = (map.clone(), log.clone(), stats.clone(), lives.clone());
        async move {
            let life = lives.fetch_add(1, Ordering::SeqCst) + 1;
            let shipper = EventShipper::new(
                ShipperConfig { local_node: "rx".into() },
                Arc::new(InProcessShipperTransport::new(1)),
            );
            let router = Arc::new(Router::new(Arc::new(shipper), map));
            let server =
                NetServer::new(TurmoilNet::new(NODES), NetConfig::new("rx", life)).with_fence(router);
            *stats.lock().unwrap() = Some(server.stats().clone());
            let listener = server.bind().await?;
            server.serve(listener, Arc::new(Recorder::new(log, life))).await?;
            Ok(())
        }
    });
}

/// Runs `client` as host "tx" against a receiver fenced with `map`.
fn run<T: 'static>(
    map: ShardMap,
    client: impl FnOnce(NetTransport<TurmoilNet>) -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>>
    + 'static,
) -> (T, Vec<Delivery>, NetStatsSnapshot) {
    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(30))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(5))
        .rng_seed(7)
        .epoch(UNIX_EPOCH)
        .build();
    let log = Arc::new(Mutex::new(Vec::new()));
    let stats = Arc::new(Mutex::new(None));
    add_fenced_receiver(&mut sim, map, log.clone(), stats.clone());
    let out = Arc::new(Mutex::new(None));
    let slot = out.clone();
    sim.client("tx", async move {
        // One connection: every call on one stream, so later calls must get
        // past the refused numbers.
        let config = NetConfig::new("tx", 1).with_connections(1).with_rng_seed(3);
        let tx = NetTransport::new(TurmoilNet::new(NODES), config);
        *slot.lock().unwrap() = Some(client(tx).await);
        Ok(())
    });
    sim.run().expect("simulation");
    let stats = stats.lock().unwrap().as_ref().expect("receiver ran").snapshot();
    let deliveries = log.lock().unwrap().clone();
    let out = out.lock().unwrap().take().expect("client finished");
    (out, deliveries, stats)
}

fn rx() -> NodeId {
    "rx".into()
}

#[test]
fn a_stale_epoch_event_is_refused_with_the_receivers_map_and_the_stream_goes_on() {
    let m = map(1, &["rx", "tx"]);
    let (mine, theirs) = (shard_of(&m, "rx"), shard_of(&m, "tx"));
    // Call 1: two events rx owns, one it does not, then one it owns (refused
    // too: a batch's delivered part stays a prefix). Call 2: rx's shard only.
    let first = vec![event(mine, 1, 0), event(mine, 1, 1), event(theirs, 1, 2), event(mine, 1, 3)];
    let second = vec![event(mine, 2, 0), event(mine, 2, 1)];
    let (results, log, stats) = run(m, move |tx| {
        Box::pin(async move {
            let a = tx.send_batch_at(&rx(), first, None, 1).await;
            let b = tx.send_batch_at(&rx(), second, None, 1).await;
            (a, b, tx.stats().snapshot())
        })
    });
    let (first, second, sender) = results;
    let BatchError { shipped, error, unshipped } = first.expect_err("refused part-way");
    assert_eq!(shipped, 2, "the acknowledged prefix");
    assert_eq!(
        error,
        ShipperError::WrongOwner { node: rx(), epoch: 1, members: vec!["rx".into(), "tx".into()] }
    );
    assert_eq!(error.outcome(), FailureOutcome::NotDelivered);
    assert_eq!(unshipped.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["1/2", "1/3"]);
    assert_eq!(second.expect("the stream goes on past the refusal"), 2);
    let keys: Vec<&str> = log.iter().map(|d| d.event.key.as_str()).collect();
    assert_eq!(keys, ["1/0", "1/1", "2/0", "2/1"], "refused events never reach the sink");
    assert_eq!(stats.refused, 2, "{stats:?}");
    assert_eq!(stats.received, 4);
    assert_eq!(sender.acked, 4, "refused events are not acknowledged");
}

#[test]
fn a_receiver_behind_admits_a_newer_epoch_and_unplanned_events() {
    // rx is at epoch 0 and owns nothing (tx is the only member); a sender
    // at epoch 1 knows better.
    let m = map(0, &["tx"]);
    let (results, log, stats) = run(m, |tx| {
        Box::pin(async move {
            let ahead = tx.send_batch_at(&rx(), vec![event(0, 1, 0), event(5, 1, 1)], None, 1).await;
            let unplanned = tx.send_batch(&rx(), vec![event(7, 2, 0)], None).await;
            let stale = tx.send_batch_at(&rx(), vec![event(3, 3, 0)], None, 0).await;
            (ahead, unplanned, stale)
        })
    });
    let (ahead, unplanned, stale) = results;
    assert_eq!(ahead.expect("admitted: the sender is ahead"), 2);
    assert_eq!(unplanned.expect("admitted: no epoch to fence by"), 1);
    let refused = stale.expect_err("same epoch, not the owner");
    assert!(
        matches!(&refused.error, ShipperError::WrongOwner { epoch: 0, members, .. } if members == &["tx".to_owned()])
    );
    assert_eq!(log.len(), 3);
    assert_eq!(stats.refused, 1);
}

#[test]
fn a_refusal_lost_on_the_way_is_repeated_for_the_resent_copy_never_acked() {
    let m = map(1, &["rx", "tx"]);
    let (mine, theirs) = (shard_of(&m, "rx"), shard_of(&m, "tx"));
    let (result, log, stats) = run(m, move |tx| {
        Box::pin(async move {
            tx.send_batch_at(&rx(), vec![event(mine, 0, 0)], None, 1).await.expect("warm-up");
            // The receiver's answers vanish: it refuses, the sender never hears.
            turmoil::partition_oneway("rx", "tx");
            tokio::spawn(async {
                tokio::time::sleep(Duration::from_millis(500)).await;
                turmoil::repair_oneway("rx", "tx");
            });
            tx.send_batch_at(&rx(), vec![event(mine, 1, 0), event(theirs, 1, 1)], None, 1).await
        })
    });
    let err = result.expect_err("refused");
    assert_eq!(err.shipped, 1, "the first event was delivered (its ack came with the resend)");
    assert!(matches!(err.error, ShipperError::WrongOwner { epoch: 1, .. }), "{}", err.error);
    let keys: Vec<&str> = log.iter().map(|d| d.event.key.as_str()).collect();
    assert_eq!(keys, ["0/0", "1/0"]);
    // Refused when it came, and again for every resent copy (never acked as
    // a duplicate, which would have made the sender count it delivered).
    assert!(stats.refused >= 2 && stats.duplicates_dropped >= 1, "{stats:?}");
}

/// What the restarting receiver shares with a test across its lives.
#[derive(Clone, Default)]
struct Lives {
    log: Arc<Mutex<Vec<Delivery>>>,
    started: Arc<AtomicU64>,
    stats: Arc<Mutex<Vec<Arc<NetStats>>>>,
}

impl Lives {
    fn keys_of(&self, life: u64) -> Vec<String> {
        common::keys_of_life(&self.log.lock().unwrap(), life)
    }

    fn stats(&self, life: u64) -> NetStatsSnapshot {
        self.stats.lock().unwrap()[life as usize - 1].snapshot()
    }
}

/// The fence of a receiver whose shards all moved away while it was down:
/// its first life admits every event, every later life refuses every event
/// (with a map of epoch 2 in which tx owns everything), running `on_refuse`
/// at each refusal.
struct MovedAwayAfterRestart {
    life: u64,
    on_refuse: fn(),
}

impl Fence for MovedAwayAfterRestart {
    fn admit(&self, _shard: ShardId, _sender_epoch: u64) -> Result<(), Refusal> {
        if self.life == 1 {
            return Ok(());
        }
        (self.on_refuse)();
        Err(Refusal { epoch: 2, members: vec!["tx".into()] })
    }
}

/// A sink that records, and cuts the link between tx and rx the moment its
/// first life has accepted the event `cut_at`: the ack never gets out.
struct CutAfter {
    inner: Recorder,
    cut_at: Option<&'static str>,
}

#[async_trait::async_trait]
impl EventSink for CutAfter {
    async fn accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        let cut = self.inner.life == 1 && self.cut_at == Some(event.key.as_str());
        self.inner.accept(from, event).await?;
        if cut {
            turmoil::partition("tx", "rx");
        }
        Ok(())
    }
}

/// Host "rx" fenced by [`MovedAwayAfterRestart`]; every (re)start is a new life.
fn add_restarting_receiver(
    sim: &mut turmoil::Sim<'static>,
    lives: &Lives,
    cut_at: Option<&'static str>,
    on_refuse: fn(),
) {
    let lives = lives.clone();
    sim.host("rx", move || {
        let lives = lives.clone();
        async move {
            let life = lives.started.fetch_add(1, Ordering::SeqCst) + 1;
            let fence = Arc::new(MovedAwayAfterRestart { life, on_refuse });
            let server = NetServer::new(TurmoilNet::new(NODES), NetConfig::new("rx", life)).with_fence(fence);
            lives.stats.lock().unwrap().push(server.stats().clone());
            let listener = server.bind().await?;
            let sink = CutAfter { inner: Recorder::new(lives.log.clone(), life), cut_at };
            server.serve(listener, Arc::new(sink)).await?;
            Ok(())
        }
    });
}

fn restart_sim() -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(30))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(5))
        .rng_seed(11)
        .epoch(UNIX_EPOCH)
        .build()
}

fn restart_sender() -> NetTransport<TurmoilNet> {
    let config = NetConfig::new("tx", 1).with_connections(1).with_rng_seed(5);
    NetTransport::new(TurmoilNet::new(NODES), config)
}

#[test]
fn a_refusal_by_a_new_life_of_events_the_old_life_delivered_is_not_certain() {
    let mut sim = restart_sim();
    let lives = Lives::default();
    // The first life delivers both events and the link is cut before the
    // second one's ack gets out.
    add_restarting_receiver(&mut sim, &lives, Some("1/1"), || {});
    let deadline = NetConfig::new("tx", 1).deadline;
    let out = Arc::new(Mutex::new(None));
    let slot = out.clone();
    sim.client("tx", async move {
        let tx = restart_sender();
        let started = tokio::time::Instant::now(); // allow-nondeterminism: tokio time under turmoil is simulated
        let result = tx.send_batch_at(&rx(), vec![event(0, 1, 0), event(0, 1, 1)], None, 1).await;
        *slot.lock().unwrap() = Some((result, started.elapsed(), tx.stats().snapshot()));
        Ok(())
    });
    // Then rx crashes and restarts (every shard moved away meanwhile), and
    // the link heals: the sender's resend reaches the new life.
    let mut bounced = false;
    while !sim.step().expect("simulation") {
        if !bounced && lives.keys_of(1).len() == 2 {
            sim.bounce("rx");
            sim.repair("tx", "rx");
            bounced = true;
        }
    }
    let (result, took, sender) = out.lock().unwrap().take().expect("client finished");

    assert!(bounced, "the first life delivered the call");
    assert_eq!(lives.keys_of(1), ["1/0", "1/1"]);
    assert_eq!(lives.started.load(Ordering::SeqCst), 2);
    assert!(lives.stats(2).refused >= 1, "the new life refused the resend: {:?}", lives.stats(2));
    assert!(lives.keys_of(2).is_empty());
    let err = result.expect_err("refused by the new life");
    assert!(err.shipped < 2, "the second event's ack never got out: {err:?}");
    assert!(took < deadline, "the refusal ended the call, not its deadline ({took:?})");
    assert!(sender.reconnects >= 1, "{sender:?}");
    // The events the call hands back were delivered by the first life: the
    // call cannot say they certainly were not.
    assert_eq!(
        err.error.outcome(),
        FailureOutcome::Unknown,
        "{}: refused by a life that never saw the connection they were written on",
        err.error
    );
    assert!(err.error.is_ambiguous(), "{}", err.error);
}

/// Cuts the link between tx and rx at once and heals it half a second later
/// (run inside the receiver host).
fn cut_for_half_a_second() {
    turmoil::partition("tx", "rx");
    tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        turmoil::repair("tx", "rx");
    });
}

#[test]
fn a_refusal_by_a_new_life_of_events_only_it_was_sent_stays_certain_across_a_reconnect() {
    let mut sim = restart_sim();
    let lives = Lives::default();
    // The second life's refusals are lost to a cut: the sender hears one
    // only when it resends on a new connection to the same life.
    add_restarting_receiver(&mut sim, &lives, None, cut_for_half_a_second);
    let warm = Arc::new(AtomicU64::new(0));
    let out = Arc::new(Mutex::new(None));
    let (slot, warmed) = (out.clone(), warm.clone());
    sim.client("tx", async move {
        let tx = restart_sender();
        let first = tx.send_batch_at(&rx(), vec![event(0, 0, 0)], None, 1).await;
        warmed.store(1, Ordering::SeqCst);
        // rx restarts meanwhile; its old connection is reset.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let second = tx.send_batch_at(&rx(), vec![event(0, 1, 0), event(0, 1, 1)], None, 1).await;
        *slot.lock().unwrap() = Some((first, second, tx.stats().snapshot()));
        Ok(())
    });
    let mut bounced = false;
    while !sim.step().expect("simulation") {
        if !bounced && warm.load(Ordering::SeqCst) == 1 {
            sim.bounce("rx");
            bounced = true;
        }
    }
    let (first, second, sender) = out.lock().unwrap().take().expect("client finished");

    assert_eq!(first.expect("delivered by the first life"), 1);
    assert_eq!(lives.keys_of(1), ["0/0"]);
    assert_eq!(lives.started.load(Ordering::SeqCst), 2);
    assert!(lives.keys_of(2).is_empty());
    // Refused when they came, and again when resent after the cut healed.
    assert!(lives.stats(2).refused >= 3, "{:?}", lives.stats(2));
    assert!(sender.reconnects >= 2, "after the restart and after the cut: {sender:?}");
    let err = second.expect_err("refused");
    assert_eq!(err.shipped, 0);
    // Only the new life was ever sent them, and it refused them: certain.
    assert_eq!(err.error, ShipperError::WrongOwner { node: rx(), epoch: 2, members: vec!["tx".into()] });
}
