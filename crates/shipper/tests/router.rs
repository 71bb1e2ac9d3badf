//! Router: key → shard → owner → shipper, local or remote.

use std::sync::Arc;

use shipper::*;
use tokio::sync::mpsc;

fn router_on(node: &str, nodes: &[&str], transport: Arc<InProcessShipperTransport>) -> Router {
    let shipper = Arc::new(EventShipper::new(ShipperConfig { local_node: node.into() }, transport));
    Router::new(shipper, ShardMap::with_nodes(16, nodes.iter().copied()).expect("map"))
}

#[tokio::test]
async fn route_goes_to_the_keys_owner() {
    let transport = Arc::new(InProcessShipperTransport::new(64));
    let mut remote = transport.spawn_receiver("b".into());
    let router = router_on("a", &["a", "b"], transport);
    let (tx, mut local) = mpsc::channel(64);
    router.shipper().install_local_sink(tx);

    let map = router.shard_map();
    let mut saw_local = false;
    let mut saw_remote = false;
    for i in 0..32 {
        let key = format!("key-{i}");
        let routed = router.route(&key, &serde_json::json!({ "i": i })).await.expect("routes");
        let (shard, owner) = map.locate(&key).expect("owner");
        assert_eq!((routed.shard, &routed.node), (shard, owner));
        let got = if routed.local { local.recv().await } else { remote.recv().await }.expect("delivered");
        assert_eq!((got.key.as_str(), got.shard, got.source.as_str()), (key.as_str(), shard, "a"));
        saw_local |= routed.local;
        saw_remote |= !routed.local;
    }
    assert!(saw_local && saw_remote, "32 keys over two nodes should hit both");
}

#[tokio::test]
async fn route_batch_keeps_order_per_destination() {
    let transport = Arc::new(InProcessShipperTransport::new(256));
    let mut remote = transport.spawn_receiver("b".into());
    let router = router_on("a", &["a", "b"], transport);
    let (tx, mut local) = mpsc::channel(256);
    router.shipper().install_local_sink(tx);

    let items: Vec<(String, serde_json::Value)> =
        (0..40).map(|i| (format!("k{}", i % 5), serde_json::json!({ "seq": i }))).collect();
    let batches = router.route_batch(&items).await.expect("all keys route");
    assert_eq!(batches.iter().map(|b| b.positions.len()).sum::<usize>(), 40);
    for batch in &batches {
        assert_eq!(batch.result.as_ref().ok(), Some(&batch.positions.len()));
        assert!(batch.positions.windows(2).all(|w| w[0] < w[1]), "input order kept");
        let rx = if batch.local { &mut local } else { &mut remote };
        for &position in &batch.positions {
            let got = rx.recv().await.expect("delivered");
            assert_eq!(got.json_payload().expect("json")["seq"], serde_json::json!(position));
        }
    }
}

#[tokio::test]
async fn route_reports_unroutable_keys() {
    let transport = Arc::new(InProcessShipperTransport::new(4));
    let router = router_on("a", &[], transport);
    let err = router.route("k", &serde_json::json!(1)).await.expect_err("no nodes");
    assert!(matches!(err, ShipperError::NoRoute(_)), "{err}");
    assert!(router.route_batch(&[("k", serde_json::json!(1))]).await.is_err());
    assert_eq!(router.shipper().stats().snapshot().attempts(), 0, "nothing reached the shipper");
}

#[tokio::test]
async fn encoded_payloads_plan_like_json_ones_and_travel_untouched() {
    let transport = Arc::new(InProcessShipperTransport::new(64));
    let router = router_on("a", &["a", "b"], transport);
    let json: Vec<(String, serde_json::Value)> =
        (0..12).map(|i| (format!("k{i}"), serde_json::json!({ "seq": i }))).collect();
    let encoded: Vec<(String, Vec<u8>)> =
        json.iter().map(|(k, v)| (k.clone(), serde_json::to_vec(v).expect("encodes"))).collect();
    assert_eq!(router.plan_encoded(encoded).expect("routes"), router.plan_batch(&json).expect("routes"));
    let raw = vec![("k1", vec![0xFF, 0x00])];
    let planned = router.plan_encoded(raw).expect("routes");
    assert_eq!(planned[0].events[0].payload, [0xFF, 0x00]);
    let no_nodes = router_on("a", &[], Arc::new(InProcessShipperTransport::new(4)));
    assert!(matches!(no_nodes.plan_encoded(vec![("k", vec![1])]), Err(ShipperError::NoRoute(_))));
}
