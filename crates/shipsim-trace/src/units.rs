//! The trace's units: time and event ids, which every record uses.

/// Time since the start of the run, in microseconds (simulated time in a simulation; the
/// machine's monotonic clock elsewhere).
pub type Micros = u64;

/// A run-wide event id, carried in the event's payload (see the crate docs).
pub type EventId = u64;
