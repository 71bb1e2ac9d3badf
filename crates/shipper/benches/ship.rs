//! In-process shipping throughput: ours against the seed, in one run.
//!
//! One destination, 1 M events with small JSON payloads built per event
//! (`ShippedEvent::json`), a current-thread runtime, a consumer task draining
//! the destination's channel. The two shippers alternate over several rounds
//! so drift on a shared machine hits both alike; the best round of each is
//! reported, with the ratio.
//!
//! `cargo bench -p shipper --bench ship` (EVENTS=N and ROUNDS=N override).

use std::sync::Arc;
use std::time::Instant; // allow-nondeterminism: a benchmark measures wall time

/// What the seed imports from its neighbour `shard_manager.rs`.
mod shard_manager {
    pub type NodeId = String;
    pub type ShardId = u32;
}

#[rustfmt::skip]
#[path = "baseline/seed_event_shipper.rs"]
mod seed_event_shipper;

const CAPACITY: usize = 1024;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn payload(i: usize) -> serde_json::Value {
    serde_json::json!({ "id": i, "op": "insert", "v": 42 })
}

/// The same measurement for both shippers: they share the seed's API, so
/// only the module the types come from differs.
macro_rules! measure {
    ($name:ident, $module:path) => {
        async fn $name(events: usize) -> f64 {
            use $module::{EventShipper, InProcessShipperTransport, ShippedEvent, ShipperConfig};
            let transport = Arc::new(InProcessShipperTransport::new(CAPACITY));
            let mut rx = transport.spawn_receiver("dst".into());
            let consumer = tokio::spawn(async move {
                let mut n = 0usize;
                while rx.recv().await.is_some() {
                    n += 1;
                }
                n
            });
            let shipper = EventShipper::new(ShipperConfig { local_node: "src".into() }, transport);
            let dst = "dst".to_string();
            let start = Instant::now(); // allow-nondeterminism: a benchmark measures wall time
            for i in 0..events {
                let event = ShippedEvent::json((i % 16) as u32, "key", &payload(i), "src").expect("encodes");
                shipper.ship(&dst, event).await.expect("ships");
            }
            let elapsed = start.elapsed().as_secs_f64();
            drop(shipper);
            assert_eq!(consumer.await.expect("consumer"), events);
            events as f64 / elapsed
        }
    };
}

measure!(run_ours, shipper);
measure!(run_seed, seed_event_shipper);

fn main() {
    let events = env_or("EVENTS", 1_000_000);
    let rounds = env_or("ROUNDS", 3);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let (mut ours, mut seed) = (0f64, 0f64);
    for _ in 0..rounds {
        seed = seed.max(runtime.block_on(run_seed(events)));
        ours = ours.max(runtime.block_on(run_ours(events)));
    }
    println!("in-process shipping, {events} events, best of {rounds} rounds, current-thread runtime");
    println!("  seed (oxirs-stream 0.3.1): {:>12.0} events/s", seed);
    println!("  shipper (ours):            {:>12.0} events/s", ours);
    println!("  ratio ours/seed:           {:>12.2}", ours / seed);
}
