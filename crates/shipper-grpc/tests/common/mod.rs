//! Helpers shared by the integration tests (the same shapes as shipper-net's, so the two
//! transports' tests read alike).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use shipper::{EventSink, NodeId, ShippedEvent, SinkClosed};
use tokio::sync::watch;

/// An event whose key says where it came from: `"{call}/{index}"`.
pub fn event(call: u32, index: u32) -> ShippedEvent {
    ShippedEvent {
        shard: call,
        key: format!("{call}/{index}"),
        payload: format!("{{\"call\":{call},\"index\":{index}}}").into_bytes(),
        source: "a".into(),
    }
}

pub fn batch(call: u32, len: u32) -> Vec<ShippedEvent> {
    (0..len).map(|i| event(call, i)).collect()
}

/// The index of an event made by [`event`], from its key.
pub fn index_of(key: &str) -> u32 {
    key.split('/').nth(1).and_then(|i| i.parse().ok()).expect("a key made by `event`")
}

/// One delivery as a sink saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub life: u64,
    pub from: NodeId,
    pub event: ShippedEvent,
}

pub type Log = Arc<Mutex<Vec<Delivery>>>;

/// Something to run right after a sink accepted its n-th event of a life.
pub type Trigger = Arc<dyn Fn() + Send + Sync>;

/// A sink recording its deliveries in a log shared across receiver lives.
///
/// `delay` makes every accept take that long (a slow sink); `stall` makes it never return (a
/// stuck one); `close_after` closes it for good after so many accepts; `after` runs a trigger right after the n-th accept of this life, before the
/// server can reply (a fault timed between delivery and acknowledgement). The count of this
/// life's deliveries is published on a watch channel, so a test waits for "n delivered"
/// without polling.
#[derive(Clone)]
pub struct Recorder {
    pub log: Log,
    pub life: u64,
    pub delay: Option<Duration>,
    pub stall: bool,
    /// After this many accepts in its life the sink closes for good (its consumer is gone).
    pub close_after: Option<usize>,
    pub after: Option<(usize, Trigger)>,
    pub count: Arc<watch::Sender<usize>>,
}

impl Recorder {
    pub fn new(log: Log, life: u64) -> Self {
        Self {
            log,
            life,
            delay: None,
            stall: false,
            close_after: None,
            after: None,
            count: Arc::new(watch::Sender::new(0)),
        }
    }

    /// This life's deliveries so far.
    pub fn count(&self) -> usize {
        *self.count.borrow()
    }

    /// Waits until this life delivered at least `n` events.
    pub async fn delivered(&self, n: usize) {
        let mut count = self.count.subscribe();
        count.wait_for(|&c| c >= n).await.expect("the recorder outlives the wait");
    }
}

#[async_trait]
impl EventSink for Recorder {
    async fn accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if self.stall {
            std::future::pending::<()>().await;
        }
        if self.close_after.is_some_and(|n| self.count() >= n) {
            return Err(SinkClosed);
        }
        self.log.lock().unwrap().push(Delivery { life: self.life, from: from.clone(), event });
        let mut n = 0;
        self.count.send_modify(|c| {
            *c += 1;
            n = *c;
        });
        if let Some((at, trigger)) = &self.after
            && *at == n
        {
            trigger();
        }
        Ok(())
    }
}

/// Keys delivered in `life`, in delivery order.
pub fn keys_of_life(log: &[Delivery], life: u64) -> Vec<String> {
    log.iter().filter(|d| d.life == life).map(|d| d.event.key.clone()).collect()
}

/// Every key delivered, in any life.
pub fn keys_delivered(log: &[Delivery]) -> BTreeSet<String> {
    log.iter().map(|d| d.event.key.clone()).collect()
}

/// Panics if any life saw an event twice.
pub fn assert_no_duplicates_within_a_life(log: &[Delivery]) {
    let mut seen = BTreeSet::new();
    for d in log {
        assert!(
            seen.insert((d.life, d.event.key.clone())),
            "{} delivered twice in life {}",
            d.event.key,
            d.life
        );
    }
}

/// Panics unless, in every life, the events of call `call` arrived as a contiguous in-order
/// run of the batch (a prefix or, after a receiver restart, a resumed suffix).
pub fn assert_batch_order(log: &[Delivery], call: u32) {
    let lives: BTreeSet<u64> = log.iter().map(|d| d.life).collect();
    for life in lives {
        let indices: Vec<u32> = log
            .iter()
            .filter(|d| d.life == life && d.event.shard == call)
            .map(|d| index_of(&d.event.key))
            .collect();
        for pair in indices.windows(2) {
            assert_eq!(pair[1], pair[0] + 1, "call {call} out of order in life {life}: {indices:?}");
        }
    }
}

/// Records the keys the sender saw acknowledged, in order.
#[derive(Default)]
pub struct Acks(pub Mutex<Vec<String>>);

impl shipper_grpc::TransportObserver for Acks {
    fn on_ack(&self, _dst: &NodeId, event: &ShippedEvent) {
        self.0.lock().unwrap().push(event.key.clone());
    }
}
