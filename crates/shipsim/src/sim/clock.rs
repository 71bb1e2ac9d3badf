//! The simulation's clock: its tick, and simulated time in trace units.

use std::time::Duration;

/// The simulation step: every record is stamped with tick granularity, and a node's timers
/// fire on tick boundaries.
pub const TICK: Duration = Duration::from_millis(1);

/// Simulated time in trace units (microseconds).
pub(crate) fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}
