//! The original's five tests (oxirs-stream `event_shipper.rs`), unchanged but for
//! their `use` lines: they pin the original's public API.

use std::sync::Arc;

use shipper::*;
use tokio::sync::mpsc;

fn make_event(shard: ShardId) -> ShippedEvent {
    ShippedEvent::json(shard, "k", &serde_json::json!({"v": 1}), "src").expect("ok")
}

#[tokio::test]
async fn local_delivery_uses_installed_sink() {
    let transport = Arc::new(InProcessShipperTransport::new(10));
    let shipper = EventShipper::new(ShipperConfig { local_node: "self".into() }, transport);
    let (tx, mut rx) = mpsc::channel(10);
    shipper.install_local_sink(tx);
    shipper.ship(&"self".to_string(), make_event(0)).await.expect("ship");
    let received = rx.recv().await.expect("received");
    assert_eq!(received.shard, 0);
    let stats = shipper.stats().snapshot();
    assert_eq!(stats.local, 1);
    assert_eq!(stats.sent, 0);
}

#[tokio::test]
async fn remote_delivery_ships_through_transport() {
    let transport = Arc::new(InProcessShipperTransport::new(10));
    let mut rx_remote = transport.spawn_receiver("remote".into());
    let shipper = EventShipper::new(ShipperConfig { local_node: "self".into() }, transport);

    shipper.ship(&"remote".to_string(), make_event(1)).await.expect("ship");
    let received = rx_remote.recv().await.expect("received");
    assert_eq!(received.shard, 1);
    let stats = shipper.stats().snapshot();
    assert_eq!(stats.sent, 1);
}

#[tokio::test]
async fn unknown_destination_returns_no_route() {
    let transport = Arc::new(InProcessShipperTransport::new(10));
    let shipper = EventShipper::new(ShipperConfig { local_node: "self".into() }, transport);
    let err = shipper.ship(&"missing".to_string(), make_event(2)).await.expect_err("should fail");
    assert!(matches!(err, ShipperError::NoRoute(_)));
}

#[tokio::test]
async fn ship_batch_preserves_order() {
    let transport = Arc::new(InProcessShipperTransport::new(10));
    let mut rx = transport.spawn_receiver("dst".into());
    let shipper = EventShipper::new(ShipperConfig { local_node: "src".into() }, transport);
    let events = (0..5).map(|i| make_event(i as u32)).collect::<Vec<_>>();
    shipper.ship_batch(&"dst".to_string(), events).await.expect("ship");
    let mut received = Vec::new();
    for _ in 0..5 {
        received.push(rx.recv().await.expect("received").shard);
    }
    assert_eq!(received, vec![0, 1, 2, 3, 4]);
}

#[test]
fn json_payload_round_trips() {
    let payload = serde_json::json!({"hello": "world"});
    let event = ShippedEvent::json(0, "k", &payload, "src").expect("ok");
    let back = event.json_payload().expect("decode");
    assert_eq!(back, payload);
}
