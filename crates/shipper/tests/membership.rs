//! Membership changes: maps that only move forward, the receiver's fence,
//! learning a map from a refusal and planning the refused events again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shipper::*;
use tokio::time::Instant;

fn shipper_for(node: &str, transport: Arc<dyn ShipperTransport>) -> Arc<EventShipper> {
    Arc::new(EventShipper::new(ShipperConfig { local_node: node.into() }, transport))
}

fn map(members: &[&str], epoch: u64) -> ShardMap {
    ShardMap::from_members(16, members.iter().copied(), epoch).expect("map")
}

/// A transport whose receivers are fenced by their own routers: each event
/// is admitted or refused as `shipper-net`'s server would, the admitted
/// prefix delivered, the rest handed back with `WrongOwner`.
#[derive(Default)]
struct FencedTransport {
    receivers: Mutex<BTreeMap<NodeId, Arc<Router>>>,
    delivered: Mutex<Vec<(NodeId, String)>>,
}

#[async_trait]
impl ShipperTransport for FencedTransport {
    async fn send(&self, dst: &NodeId, event: ShippedEvent) -> ShipperResult<()> {
        self.send_batch_at(dst, vec![event], None, UNFENCED_EPOCH).await.map(drop).map_err(|e| e.error)
    }

    async fn send_batch_at(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        _deadline: Option<Instant>,
        epoch: u64,
    ) -> Result<usize, BatchError> {
        let Some(receiver) = self.receivers.lock().unwrap().get(dst).cloned() else {
            return Err(BatchError {
                shipped: 0,
                error: ShipperError::NoRoute(dst.clone()),
                unshipped: events,
            });
        };
        for (at, event) in events.iter().enumerate() {
            if let Err(Refusal { epoch, members }) = receiver.admit(event.shard, epoch) {
                let error = ShipperError::WrongOwner { node: dst.clone(), epoch, members };
                return Err(BatchError { shipped: at, error, unshipped: events[at..].to_vec() });
            }
            self.delivered.lock().unwrap().push((dst.clone(), event.key.clone()));
            receiver.done(event.shard);
        }
        Ok(events.len())
    }

    async fn send_batch(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
    ) -> Result<usize, BatchError> {
        self.send_batch_at(dst, events, deadline, UNFENCED_EPOCH).await
    }
}

/// A cluster of routers over one fenced transport, each at its own map.
fn cluster(maps: &[(&str, ShardMap)]) -> (Arc<FencedTransport>, BTreeMap<String, Arc<Router>>) {
    let transport = Arc::new(FencedTransport::default());
    let mut routers = BTreeMap::new();
    for (node, map) in maps {
        let router = Arc::new(Router::new(shipper_for(node, transport.clone()), map.clone()));
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        std::mem::forget(rx); // the local sink stays open for the test
        router.shipper().install_local_sink(tx);
        transport.receivers.lock().unwrap().insert((*node).into(), router.clone());
        routers.insert((*node).to_owned(), router);
    }
    (transport, routers)
}

#[test]
fn from_members_is_the_map_reached_by_changes() {
    let mut grown = ShardMap::with_nodes(16, ["n1", "n2", "n3"]).unwrap();
    grown.add_node("n4").unwrap();
    grown.remove_node("n2").unwrap();
    let rebuilt = map(&["n4", "n3", "n1"], 2);
    assert_eq!(rebuilt.assignment(), grown.assignment());
    assert_eq!(rebuilt.epoch(), grown.epoch());
}

#[test]
fn moved_since_names_exactly_the_shards_that_changed_owner() {
    let before = map(&["n1", "n2", "n3"], 0);
    let mut after = before.clone();
    let plan = after.add_node("n4").unwrap();
    let expected: Vec<ShardId> = plan.moves.iter().map(|m| m.shard).collect();
    assert!(!expected.is_empty(), "a fourth node wins some of 16 shards");
    assert_eq!(after.moved_since(&before), expected);
    assert!(after.moved_since(&after).is_empty());
    assert!(after.moved_since(&before).iter().all(|&s| after.owner(s).unwrap() == "n4"));
}

#[test]
fn the_epoch_never_goes_backwards() {
    let router = Router::new(shipper_for("n1", Arc::new(FencedTransport::default())), map(&["n1", "n2"], 0));
    let moved = router.set_shard_map(map(&["n1", "n2", "n3"], 2)).expect("newer: installed");
    assert_eq!(moved, map(&["n1", "n2", "n3"], 2).moved_since(&map(&["n1", "n2"], 0)));
    assert_eq!(router.set_shard_map(map(&["n1"], 1)), None, "older: ignored");
    assert_eq!(router.set_shard_map(map(&["n1"], 2)), None, "same epoch: ignored");
    let now = router.shard_map();
    assert_eq!((now.epoch(), now.nodes().count()), (2, 3));
}

#[test]
fn the_fence_admits_owners_and_senders_ahead_and_refuses_the_rest() {
    let m = map(&["n1", "n2"], 3);
    let router = Router::new(shipper_for("n1", Arc::new(FencedTransport::default())), m.clone());
    let mine = (0..16).find(|&s| m.owner(s).unwrap() == "n1").unwrap();
    let theirs = (0..16).find(|&s| m.owner(s).unwrap() == "n2").unwrap();
    assert_eq!(router.admit(mine, 0), Ok(()), "an owner takes even a stale sender's event");
    assert_eq!(router.admit(theirs, 4), Ok(()), "a sender ahead of us: we are behind");
    assert_eq!(router.admit(theirs, UNFENCED_EPOCH), Ok(()), "unplanned events are not fenced");
    let refusal = router.admit(theirs, 3).expect_err("same epoch, not the owner");
    assert_eq!(refusal, Refusal { epoch: 3, members: vec!["n1".into(), "n2".into()] });
    assert!(router.admit(theirs, 1).is_err());
}

#[test]
fn learning_installs_only_newer_maps() {
    let router = Router::new(shipper_for("n1", Arc::new(FencedTransport::default())), map(&["n1", "n2"], 1));
    assert_eq!(router.learn(&Refusal { epoch: 1, members: vec!["n1".into()] }), None);
    assert_eq!(router.learn(&Refusal { epoch: 0, members: vec!["n1".into()] }), None);
    let moved = router.learn(&Refusal { epoch: 2, members: vec!["n1".into(), "n2".into(), "n3".into()] });
    assert_eq!(moved, Some(map(&["n1", "n2", "n3"], 2).moved_since(&map(&["n1", "n2"], 1))));
    assert_eq!(router.shard_map(), map(&["n1", "n2", "n3"], 2));
}

#[tokio::test]
async fn a_refused_batch_is_learned_from_and_replanned_to_the_new_owner() {
    // n1 still routes with epoch 0 (n1, n2); n2 and n3 are at epoch 1 (n3 joined).
    let old = map(&["n1", "n2"], 0);
    let new = map(&["n1", "n2", "n3"], 1);
    let (transport, routers) = cluster(&[("n1", old.clone()), ("n2", new.clone()), ("n3", new.clone())]);
    let moved: Vec<ShardId> = new.moved_since(&old);
    let key = (0..1000)
        .map(|i| format!("k{i}"))
        .find(|k| moved.contains(&old.shard_for(k)) && old.locate(k).unwrap().1 == "n2")
        .unwrap();
    assert_eq!(old.locate(&key).unwrap().1, "n2", "a shard that moved from n2 to n3");

    let n1 = &routers["n1"];
    let batches = n1.route_batch(&[(key.clone(), serde_json::json!(1))]).await.expect("routes");
    assert_eq!(batches.len(), 2, "the refused batch and its re-plan");
    let (refused, replanned) = (&batches[0], &batches[1]);
    assert_eq!((refused.node.as_str(), refused.epoch), ("n2", 0));
    let err = refused.result.as_ref().expect_err("refused");
    assert!(
        matches!(&err.error, ShipperError::WrongOwner { node, epoch: 1, members } if node == "n2" && members.len() == 3)
    );
    assert_eq!(err.error.outcome(), FailureOutcome::NotDelivered);
    assert_eq!(
        (replanned.node.as_str(), replanned.epoch, replanned.positions.as_slice()),
        ("n3", 1, &[0][..])
    );
    assert_eq!(replanned.result.as_ref().ok(), Some(&1));
    assert_eq!(n1.shard_map(), new, "n1 learned epoch 1");
    assert_eq!(*transport.delivered.lock().unwrap(), [("n3".to_owned(), key)]);
    let stats = n1.shipper().stats().snapshot();
    assert_eq!(
        (stats.sent, stats.send_failures),
        (1, 1),
        "the refusal is a send failure, the re-plan a send"
    );
}

#[tokio::test]
async fn a_receiver_that_keeps_refusing_ends_the_replans() {
    // n2's map is no newer than n1's, yet it disagrees: n1 learns nothing and
    // routes there again. A disagreement (a bug) that must stay bounded.
    let (transport, routers) = cluster(&[("n1", map(&["n1", "n2"], 0)), ("n2", map(&["n1", "n2"], 0))]);
    let m = map(&["n1", "n2"], 0);
    let key = (0..1000).map(|i| format!("k{i}")).find(|k| m.locate(k).unwrap().1 == "n2").unwrap();
    // n2 refuses everything: its router thinks it is not a member.
    let lonely =
        Arc::new(Router::new(shipper_for("n2", Arc::new(FencedTransport::default())), map(&["n1"], 0)));
    transport.receivers.lock().unwrap().insert("n2".into(), lonely);
    let batches = routers["n1"].route_batch(&[(key, serde_json::json!(1))]).await.expect("routes");
    assert_eq!(batches.len(), 1 + Router::MAX_REPLANS);
    assert!(batches.iter().all(|b| b.refused().is_some()));
}

#[tokio::test]
async fn route_follows_a_refusal_too() {
    let old = map(&["n1", "n2", "n3"], 0);
    let new = map(&["n1", "n3"], 1); // n2 left
    let (_transport, routers) = cluster(&[("n1", old.clone()), ("n2", new.clone()), ("n3", new.clone())]);
    let key = (0..1000).map(|i| format!("k{i}")).find(|k| old.locate(k).unwrap().1 == "n2").unwrap();
    let routed = routers["n1"].route(&key, &serde_json::json!(1)).await.expect("delivered after learning");
    assert_eq!(routed.node, *new.locate(&key).unwrap().1);
}

/// A map that takes a shard away while an admitted event of it is still being accepted waits
/// (staged); the fence already refuses that shard with the staged map; the map is installed,
/// and the install observer told, when the accept ends.
#[test]
fn a_map_change_waits_for_accepts_of_the_shards_it_takes_away() {
    let transport: Arc<dyn ShipperTransport> = Arc::new(FencedTransport::default());
    let installs = Arc::new(Mutex::new(Vec::new()));
    let seen = installs.clone();
    let router = Router::new(shipper_for("a", transport), map(&["a", "b"], 0)).with_install_observer(
        Box::new(move |epoch, moved| seen.lock().unwrap().push((epoch, moved.to_vec()))),
    );
    let next = map(&["a", "b", "c"], 1);
    let current = router.shard_map();
    let lost = (0..16)
        .find(|&s| current.owner(s).unwrap() == "a" && next.owner(s).unwrap() == "c")
        .expect("a shard moves");
    let kept = (0..16).find(|&s| next.owner(s).unwrap() == "a").expect("a keeps a shard");

    router.admit(lost, 0).expect("a owns it at epoch 0");
    assert_eq!(router.set_shard_map(next.clone()), None, "staged: an accept of a lost shard is in progress");
    assert_eq!(router.epoch(), 0);
    assert_eq!(
        router.admit(lost, 0),
        Err(Refusal { epoch: 1, members: vec!["a".into(), "b".into(), "c".into()] }),
        "it refuses the shard it is handing over"
    );
    assert_eq!(router.admit(lost, 2), Ok(()), "unless the sender knows a newer map");
    router.done(lost);
    router.admit(kept, 0).expect("a keeps this one");
    assert!(installs.lock().unwrap().is_empty());
    router.done(lost);
    assert_eq!(router.epoch(), 1, "the last accept of the lost shard ended: installed");
    assert_eq!(installs.lock().unwrap().clone(), vec![(1, next.moved_since(&current))]);
    router.done(kept);
    // A map that takes nothing with accepts in progress is installed at once, and told too.
    let after = map(&["a", "c"], 2);
    assert_eq!(router.set_shard_map(after.clone()), Some(after.moved_since(&next)));
    assert_eq!(installs.lock().unwrap().len(), 2);
}

/// n1 routes with epoch 0 (n1, n2); n2 and n3 are at epoch 1 (n3 joined). A key n2 owned
/// and n3 won (n2 refuses it, and n1 learns epoch 1 from the refusal), then a key n1 owned
/// and n3 won: by its turn, the plan for n1 itself is stale.
fn refused_then_stale() -> (Arc<FencedTransport>, BTreeMap<String, Arc<Router>>, [String; 2]) {
    let (old, new) = (map(&["n1", "n2"], 0), map(&["n1", "n2", "n3"], 1));
    let key = |from: &str| {
        (0..1000)
            .map(|i| format!("k{i}"))
            .find(|k| old.locate(k).unwrap().1 == from && new.locate(k).unwrap().1 == "n3")
            .expect("a shard that moved to n3")
    };
    let keys = [key("n2"), key("n1")];
    let (transport, routers) = cluster(&[("n1", old.clone()), ("n2", new.clone()), ("n3", new)]);
    (transport, routers, keys)
}

#[tokio::test]
async fn a_plan_whose_map_changed_before_its_turn_is_planned_again_before_it_ships() {
    let (transport, routers, [to_n2, to_n1]) = refused_then_stale();
    let n1 = &routers["n1"];
    let items = [(to_n2.clone(), serde_json::json!(1)), (to_n1.clone(), serde_json::json!(2))];
    let batches = n1.route_batch(&items).await.expect("routes");
    let shipped: Vec<(&str, u64, &[usize])> =
        batches.iter().map(|b| (b.node.as_str(), b.epoch, b.positions.as_slice())).collect();
    // Without the stale check the third batch is ("n1", 0, [1]): n1's own sink takes an event
    // of a shard n1 knows, since the refusal, is n3's (no fence between a node and its sink).
    assert_eq!(shipped, [("n2", 0, &[0][..]), ("n3", 1, &[0][..]), ("n3", 1, &[1][..])]);
    assert_eq!(n1.shipper().stats().snapshot().local, 0, "n1's sink took nothing");
    assert_eq!(*transport.delivered.lock().unwrap(), [("n3".to_owned(), to_n2), ("n3".to_owned(), to_n1)]);
}

/// What a [`ShipObserver`] was told, in order.
#[derive(Clone, Default)]
struct Steps(Arc<Mutex<Vec<String>>>);

impl ShipObserver for Steps {
    fn ship_begin(&self, plan: &PlannedBatch) -> u64 {
        let mut steps = self.0.lock().unwrap();
        steps.push(format!("begin {} {} {:?}", plan.node, plan.epoch, plan.positions));
        steps.iter().filter(|step| step.starts_with("begin")).count() as u64
    }

    fn ship_end(&self, token: u64, done: &DestinationBatch) {
        let outcome = match &done.result {
            Ok(n) => format!("ok {n}"),
            Err(err) => format!(
                "{} of {} shipped, refused {}",
                err.shipped,
                done.positions.len(),
                done.refused().is_some()
            ),
        };
        self.0.lock().unwrap().push(format!("end {token} {outcome}"));
    }

    fn replanned(&self, why: Replan, positions: &[usize], into: &[PlannedBatch]) {
        let into: Vec<String> = into.iter().map(|p| format!("{} {:?}", p.node, p.positions)).collect();
        self.0.lock().unwrap().push(format!("replanned {why:?} {positions:?} into {into:?}"));
    }
}

#[tokio::test]
async fn the_ship_observer_is_told_each_ship_and_each_replan_of_the_routing_loop() {
    let (_transport, routers, [to_n2, to_n1]) = refused_then_stale();
    let steps = Steps::default();
    let n1 = Router::new(routers["n1"].shipper().clone(), routers["n1"].shard_map())
        .with_ship_observer(Box::new(steps.clone()));
    let items = [(to_n2, serde_json::json!(1)), (to_n1, serde_json::json!(2))];
    let batches = n1.route_batch(&items).await.expect("routes");
    assert_eq!(batches.len(), 3);
    assert_eq!(
        *steps.0.lock().unwrap(),
        [
            "begin n2 0 [0]",
            "end 1 0 of 1 shipped, refused true",
            r#"replanned Refused { round: 1 } [0] into ["n3 [0]"]"#,
            "begin n3 1 [0]",
            "end 2 ok 1",
            r#"replanned Stale { planned: 0, current: 1 } [1] into ["n3 [1]"]"#,
            "begin n3 1 [1]",
            "end 3 ok 1",
        ]
    );
}
