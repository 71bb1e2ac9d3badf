//! Item 1: the router core against the original's code, in process. The
//! measurement itself lives in `crates/router-bench` (one copy, shared with
//! `cargo bench -p router-bench`); this is its report form.

use serde::Serialize;

/// Item 1's figures.
#[derive(Debug, Clone, Serialize)]
pub struct RouterFigures {
    pub events: usize,
    pub rounds: usize,
    /// Best round of the original's code, verbatim.
    pub original_events_per_s: f64,
    /// Best round of `shipper::EventShipper` + `InProcessShipperTransport`.
    pub ours_events_per_s: f64,
    /// ours / original; target >= 1.0.
    pub ratio: f64,
}

/// Runs both, alternating, `rounds` times each; keeps the best round of each.
pub(crate) fn run(events: usize, rounds: usize) -> RouterFigures {
    let c = router_bench::compare(events, rounds);
    RouterFigures {
        events: c.events,
        rounds: c.rounds,
        original_events_per_s: c.original_events_per_s,
        ours_events_per_s: c.ours_events_per_s,
        ratio: c.ratio(),
    }
}
