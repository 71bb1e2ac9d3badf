//! A local ship through an [`EventSink`] means what a remote one means: `Ok` once the sink
//! accepted the event, never while it is still on its way inside the process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use shipper::*;
use tokio::sync::Semaphore;

fn event(i: u32) -> ShippedEvent {
    ShippedEvent::json(i, format!("k{i}"), &serde_json::json!({ "i": i }), "me").expect("encodes")
}

fn shipper() -> EventShipper {
    let transport = Arc::new(InProcessShipperTransport::new(1));
    EventShipper::new(ShipperConfig { local_node: "me".into() }, transport)
}

/// Accepts one event per permit, recording each it took; closed, it refuses for good.
struct Gated {
    permits: Semaphore,
    taken: Mutex<Vec<u32>>,
    offers: AtomicUsize,
    closed: bool,
}

impl Gated {
    fn new(permits: usize, closed: bool) -> Arc<Gated> {
        let taken = Mutex::new(Vec::new());
        Arc::new(Gated { permits: Semaphore::new(permits), taken, offers: AtomicUsize::new(0), closed })
    }

    fn taken(&self) -> Vec<u32> {
        self.taken.lock().expect("not poisoned").clone()
    }
}

#[async_trait]
impl EventSink for Gated {
    async fn accept(&self, _from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        self.offers.fetch_add(1, Ordering::SeqCst);
        if self.closed {
            return Err(SinkClosed);
        }
        self.permits.acquire().await.expect("never closed").forget();
        self.taken.lock().expect("not poisoned").push(event.shard);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_local_ship_is_ok_only_once_the_sink_accepted() {
    let shipper = Arc::new(shipper());
    let sink = Gated::new(1, false);
    shipper.install_local_event_sink(sink.clone());
    let call = tokio::spawn({
        let shipper = shipper.clone();
        async move { shipper.ship_batch(&"me".into(), (0..3).map(event).collect()).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!call.is_finished(), "the call waits for the sink's accepts");
    assert_eq!(sink.taken(), vec![0]);
    sink.permits.add_permits(2);
    assert_eq!(call.await.expect("task").expect("all accepted"), 3);
    assert_eq!(sink.taken(), vec![0, 1, 2], "accepted one at a time, in batch order");
    assert_eq!(shipper.stats().snapshot().local, 3);
}

/// A sink may have taken an event whose accept the deadline cut short, as a receiver may have
/// delivered an event whose ack did not come in time; the event comes back for a retry.
#[tokio::test(start_paused = true)]
async fn an_accept_cut_short_by_the_deadline_is_ambiguous_and_hands_the_event_back() {
    let shipper = shipper().with_deadline(Duration::from_millis(50));
    let sink = Gated::new(1, false);
    shipper.install_local_event_sink(sink.clone());
    let err = shipper.ship_batch(&"me".into(), (0..3).map(event).collect()).await.expect_err("stuck");
    assert_eq!(err.shipped, 1);
    assert!(err.error.is_ambiguous(), "{:?}", err.error);
    let back: Vec<u32> = err.unshipped.iter().map(|e| e.shard).collect();
    assert_eq!(back, vec![1, 2], "the cut-short event first");
    let stats = shipper.stats().snapshot();
    assert_eq!((stats.local, stats.ambiguous), (1, 2));

    let single = shipper.ship(&"me".into(), event(9)).await.expect_err("stuck");
    assert!(single.is_ambiguous(), "{single:?}");
}

/// A closed local sink is a missing route, and it is uninstalled: the next ship fails fast,
/// without offering the sink anything.
#[tokio::test]
async fn a_closed_local_sink_is_no_route_and_is_uninstalled() {
    let shipper = shipper();
    let sink = Gated::new(0, true);
    shipper.install_local_event_sink(sink.clone());
    let err = shipper.ship(&"me".into(), event(0)).await.expect_err("closed");
    assert_eq!(err, ShipperError::NoRoute("me".into()));
    let err = shipper.ship_batch(&"me".into(), vec![event(1)]).await.expect_err("uninstalled");
    assert_eq!((err.error, err.unshipped.len()), (ShipperError::NoRoute("me".into()), 1));
    assert_eq!(sink.offers.load(Ordering::SeqCst), 1, "offered once, before it was found closed");
    assert_eq!(shipper.stats().snapshot().no_route, 2);
}

/// Installs another sink as it is offered an event, then says it is closed: the shipper must
/// uninstall the closed sink only, not the one installed meanwhile.
struct Replaced {
    shipper: std::sync::OnceLock<std::sync::Weak<EventShipper>>,
    next: Arc<Gated>,
}

#[async_trait]
impl EventSink for Replaced {
    async fn accept(&self, _from: &NodeId, _event: ShippedEvent) -> Result<(), SinkClosed> {
        if let Some(shipper) = self.shipper.get().and_then(std::sync::Weak::upgrade) {
            shipper.install_local_event_sink(self.next.clone());
        }
        Err(SinkClosed)
    }
}

#[tokio::test]
async fn a_sink_installed_while_the_closed_one_failed_stays_installed() {
    let shipper = Arc::new(shipper());
    let next = Gated::new(1, false);
    let replaced = Arc::new(Replaced { shipper: Default::default(), next: next.clone() });
    replaced.shipper.set(Arc::downgrade(&shipper)).expect("set once");
    shipper.install_local_event_sink(replaced);
    let err = shipper.ship(&"me".into(), event(0)).await.expect_err("closed");
    assert_eq!(err, ShipperError::NoRoute("me".into()));
    shipper.ship(&"me".into(), event(1)).await.expect("the new sink takes it");
    assert_eq!(next.taken(), vec![1]);
}
