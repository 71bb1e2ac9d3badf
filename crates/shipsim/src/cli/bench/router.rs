//! Item 1: the router core against the seed's algorithm, in process.
//!
//! One destination, small JSON payloads built per event, a current-thread
//! runtime and a consumer task draining the destination's channel. The seed's
//! algorithm is rewritten below ([`seed`]) because its verbatim copy
//! (`crates/shipper/benches/baseline/`) needs `parking_lot`, which this crate
//! does not depend on: std's `RwLock` and `Mutex` stand in for parking_lot's.

use std::sync::Arc;
use std::time::Instant; // allow-nondeterminism: a benchmark measures wall time

use serde::Serialize;
use shipper::ShippedEvent;

/// Channel capacity of the destination, as in `cargo bench -p shipper`.
const CAPACITY: usize = 1024;

/// The seed's shipping path: `HashMap<NodeId, mpsc::Sender>` behind a
/// `RwLock`, a `has_route` check, then `send().await` through an
/// `async_trait` transport, counted in `AtomicU64`s.
mod seed {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, RwLock};

    use shipper::{NodeId, ShippedEvent};
    use tokio::sync::mpsc;

    /// The seed's error (its `InvalidShard` is never raised on this path).
    #[derive(Debug)]
    #[allow(dead_code)] // read only through Debug, as the seed's were
    pub enum SeedError {
        NoRoute(NodeId),
        Send(String),
    }

    #[async_trait::async_trait]
    pub trait Transport: Send + Sync {
        async fn send(&self, dst: &NodeId, event: ShippedEvent) -> Result<(), SeedError>;
        fn has_route(&self, _node: &NodeId) -> bool {
            true
        }
    }

    pub struct InProcess {
        senders: RwLock<HashMap<NodeId, mpsc::Sender<ShippedEvent>>>,
        capacity: usize,
    }

    impl InProcess {
        pub fn new(capacity: usize) -> Self {
            Self { senders: RwLock::new(HashMap::new()), capacity: capacity.max(1) }
        }

        pub fn spawn_receiver(&self, node: NodeId) -> mpsc::Receiver<ShippedEvent> {
            let (tx, rx) = mpsc::channel(self.capacity);
            self.senders.write().expect("lock").insert(node, tx);
            rx
        }
    }

    #[async_trait::async_trait]
    impl Transport for InProcess {
        async fn send(&self, dst: &NodeId, event: ShippedEvent) -> Result<(), SeedError> {
            let sender = self.senders.read().expect("lock").get(dst).cloned();
            match sender {
                Some(tx) => tx.send(event).await.map_err(|e| SeedError::Send(e.to_string())),
                None => Err(SeedError::NoRoute(dst.clone())),
            }
        }

        fn has_route(&self, node: &NodeId) -> bool {
            self.senders.read().expect("lock").contains_key(node)
        }
    }

    #[derive(Default)]
    pub struct Stats {
        pub sent: AtomicU64,
        pub local: AtomicU64,
        pub no_route: AtomicU64,
        pub send_failures: AtomicU64,
    }

    pub struct Shipper {
        local_node: NodeId,
        transport: Arc<dyn Transport>,
        local_in: Mutex<Option<mpsc::Sender<ShippedEvent>>>,
        pub stats: Arc<Stats>,
    }

    impl Shipper {
        pub fn new(local_node: NodeId, transport: Arc<dyn Transport>) -> Self {
            Self { local_node, transport, local_in: Mutex::new(None), stats: Arc::default() }
        }

        pub async fn ship(&self, dst: &NodeId, event: ShippedEvent) -> Result<(), SeedError> {
            if dst == &self.local_node {
                let sink = self.local_in.lock().expect("lock").as_ref().cloned();
                return match sink {
                    Some(tx) => {
                        tx.send(event).await.map_err(|e| {
                            self.stats.send_failures.fetch_add(1, Ordering::Relaxed);
                            SeedError::Send(e.to_string())
                        })?;
                        self.stats.local.fetch_add(1, Ordering::Relaxed);
                        Ok(())
                    }
                    None => {
                        self.stats.no_route.fetch_add(1, Ordering::Relaxed);
                        Err(SeedError::NoRoute(dst.clone()))
                    }
                };
            }
            if !self.transport.has_route(dst) {
                self.stats.no_route.fetch_add(1, Ordering::Relaxed);
                return Err(SeedError::NoRoute(dst.clone()));
            }
            match self.transport.send(dst, event).await {
                Ok(()) => {
                    self.stats.sent.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(dst = %dst, "ship: ok");
                    Ok(())
                }
                Err(err) => {
                    self.stats.send_failures.fetch_add(1, Ordering::Relaxed);
                    Err(err)
                }
            }
        }
    }
}

/// Item 1's figures.
#[derive(Debug, Clone, Serialize)]
pub struct RouterFigures {
    pub events: usize,
    pub rounds: usize,
    /// Best round of the seed's algorithm.
    pub seed_events_per_s: f64,
    /// Best round of `shipper::EventShipper` + `InProcessShipperTransport`.
    pub ours_events_per_s: f64,
    /// ours / seed; target >= 1.0.
    pub ratio: f64,
}

fn event(i: usize) -> ShippedEvent {
    let payload = serde_json::json!({ "id": i, "op": "insert", "v": 42 });
    ShippedEvent::json((i % 16) as u32, "key", &payload, "src").expect("encodes")
}

async fn drain(mut rx: tokio::sync::mpsc::Receiver<ShippedEvent>) -> usize {
    let mut n = 0;
    while rx.recv().await.is_some() {
        n += 1;
    }
    n
}

async fn run_ours(events: usize) -> f64 {
    use shipper::{EventShipper, InProcessShipperTransport, ShipperConfig};
    let transport = Arc::new(InProcessShipperTransport::new(CAPACITY));
    let consumer = tokio::spawn(drain(transport.spawn_receiver("dst".into())));
    let shipper = EventShipper::new(ShipperConfig { local_node: "src".into() }, transport);
    let dst = "dst".to_string();
    let start = Instant::now();
    for i in 0..events {
        shipper.ship(&dst, event(i)).await.expect("ships");
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(shipper);
    assert_eq!(consumer.await.expect("consumer"), events);
    events as f64 / elapsed
}

async fn run_seed(events: usize) -> f64 {
    let transport = Arc::new(seed::InProcess::new(CAPACITY));
    let consumer = tokio::spawn(drain(transport.spawn_receiver("dst".into())));
    let shipper = seed::Shipper::new("src".into(), transport);
    let dst = "dst".to_string();
    let start = Instant::now();
    for i in 0..events {
        shipper.ship(&dst, event(i)).await.expect("ships");
    }
    let elapsed = start.elapsed().as_secs_f64();
    let sent = shipper.stats.sent.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(sent as usize, events);
    drop(shipper);
    assert_eq!(consumer.await.expect("consumer"), events);
    events as f64 / elapsed
}

/// Runs both, alternating, `rounds` times each; keeps the best round of each.
pub fn run(events: usize, rounds: usize) -> RouterFigures {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let rounds = rounds.max(1);
    let (mut seed, mut ours) = (0f64, 0f64);
    for _ in 0..rounds {
        seed = seed.max(runtime.block_on(run_seed(events)));
        ours = ours.max(runtime.block_on(run_ours(events)));
    }
    RouterFigures { events, rounds, seed_events_per_s: seed, ours_events_per_s: ours, ratio: ours / seed }
}
