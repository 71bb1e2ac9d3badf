//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shipper::{NodeId, ShippedEvent};
use shipper_net::{EventSink, SinkClosed};

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

/// One delivery as a sink saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub life: u64,
    pub from: NodeId,
    pub event: ShippedEvent,
}

/// Records deliveries (shared across receiver lives). After `stall_after`
/// deliveries in its life it never accepts again (to kill a receiver
/// mid-batch); with `delay` it takes that long per event.
#[derive(Clone)]
pub struct Recorder {
    pub log: Arc<Mutex<Vec<Delivery>>>,
    pub life: u64,
    pub stall_after: Option<usize>,
    pub delay: Option<std::time::Duration>,
    /// Events of this call take this long to accept.
    pub slow_call: Option<(u32, std::time::Duration)>,
}

impl Recorder {
    pub fn new(log: Arc<Mutex<Vec<Delivery>>>, life: u64) -> Self {
        Self { log, life, stall_after: None, delay: None, slow_call: None }
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().iter().filter(|d| d.life == self.life).count()
    }
}

#[async_trait]
impl EventSink for Recorder {
    async fn accept(&self, from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if let Some((call, delay)) = self.slow_call
            && event.shard == call
        {
            tokio::time::sleep(delay).await;
        }
        if self.stall_after.is_some_and(|n| self.count() >= n) {
            std::future::pending::<()>().await;
        }
        self.log.lock().unwrap().push(Delivery { life: self.life, from: from.clone(), event });
        Ok(())
    }
}

/// Keys delivered in `life`, in delivery order.
pub fn keys_of_life(log: &[Delivery], life: u64) -> Vec<String> {
    log.iter().filter(|d| d.life == life).map(|d| d.event.key.clone()).collect()
}

/// Panics if any life saw an event twice.
pub fn assert_no_duplicates_within_a_life(log: &[Delivery]) {
    let mut seen = std::collections::BTreeSet::new();
    for d in log {
        assert!(
            seen.insert((d.life, d.event.key.clone())),
            "{} delivered twice in life {}",
            d.event.key,
            d.life
        );
    }
}

/// Panics unless, in every life, the events of call `call` arrived as a
/// contiguous in-order run of the batch (a prefix or, after a receiver
/// restart, a resumed suffix).
pub fn assert_batch_order(log: &[Delivery], call: u32) {
    let lives: std::collections::BTreeSet<u64> = log.iter().map(|d| d.life).collect();
    for life in lives {
        let indices: Vec<u32> = log
            .iter()
            .filter(|d| d.life == life && d.event.shard == call)
            .map(|d| d.event.key.split('/').nth(1).unwrap().parse().unwrap())
            .collect();
        for pair in indices.windows(2) {
            assert_eq!(pair[1], pair[0] + 1, "call {call} out of order in life {life}: {indices:?}");
        }
    }
}

/// Runs the client (host `tx`) to completion on `sim` and returns what it produced.
#[cfg(feature = "turmoil")]
pub fn run_client<T: 'static>(
    sim: &mut turmoil::Sim<'static>,
    client: impl std::future::Future<Output = T> + 'static,
) -> T {
    let out = Arc::new(Mutex::new(None));
    let slot = out.clone();
    sim.client("tx", async move {
        let value = client.await;
        *slot.lock().unwrap() = Some(value);
        Ok(())
    });
    sim.run().expect("simulation");
    out.lock().unwrap().take().expect("client finished")
}
