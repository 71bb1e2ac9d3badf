//! The receiver's fence on turmoil's simulated network: a receiver refuses
//! events of shards it does not own under a map no older than the sender's,
//! admits those of a sender ahead of it, and the stream goes on past a
//! refusal.
#![cfg(feature = "turmoil")]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use common::{Delivery, Recorder};
use shipper::{
    BatchError, EventShipper, FailureOutcome, InProcessShipperTransport, NodeId, Router, ShardId, ShardMap,
    ShippedEvent, ShipperConfig, ShipperError, ShipperTransport,
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
