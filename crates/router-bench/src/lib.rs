//! The router benchmark, in one place for both of its front ends
//! (`cargo bench -p router-bench` and `shipsim bench --only router`):
//! in-process shipping of small JSON events to one destination, our
//! `shipper::EventShipper` against the original's code, verbatim
//! ([`original_event_shipper`], oxirs-stream 0.3.1).
//!
//! One destination, payloads built per event (`ShippedEvent::json`), a
//! current-thread runtime, a consumer task draining the destination's
//! channel. The two shippers alternate over several rounds so drift on a
//! shared machine hits both alike; the best round of each is kept.

use std::sync::Arc;
use std::time::Instant; // allow-nondeterminism: a benchmark measures wall time

/// What the original imports from its neighbour `shard_manager.rs`.
mod shard_manager {
    pub type NodeId = String;
    pub type ShardId = u32;
}

/// The original, verbatim. Not to be edited: the comparison must stay honest.
#[rustfmt::skip]
pub mod original_event_shipper;

/// Room in the destination's channel.
const CAPACITY: usize = 1024;

fn payload(i: usize) -> serde_json::Value {
    serde_json::json!({ "id": i, "op": "insert", "v": 42 })
}

/// The same measurement for both shippers: they share the original's API, so
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
measure!(run_original, original_event_shipper);

/// The best round of each shipper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// Events shipped per round.
    pub events: usize,
    /// Rounds run (each shipper once per round).
    pub rounds: usize,
    /// The original's best events/s.
    pub original_events_per_s: f64,
    /// Ours, best events/s.
    pub ours_events_per_s: f64,
}

impl Comparison {
    /// ours / original.
    pub fn ratio(&self) -> f64 {
        self.ours_events_per_s / self.original_events_per_s
    }
}

/// Runs both shippers, alternating, `rounds` times each (at least once).
pub fn compare(events: usize, rounds: usize) -> Comparison {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    let rounds = rounds.max(1);
    let (mut original, mut ours) = (0f64, 0f64);
    for _ in 0..rounds {
        original = original.max(runtime.block_on(run_original(events)));
        ours = ours.max(runtime.block_on(run_ours(events)));
    }
    Comparison { events, rounds, original_events_per_s: original, ours_events_per_s: ours }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_shippers_deliver_every_event() {
        // `measure!` asserts the consumer counted every event.
        let c = compare(2_000, 1);
        assert!(c.original_events_per_s > 0.0 && c.ours_events_per_s > 0.0);
        assert!(c.ratio().is_finite());
    }
}
