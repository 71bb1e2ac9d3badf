//! Item 1: the router core against the seed's code, in process. The
//! measurement itself lives in `crates/router-bench` (one copy, shared with
//! `cargo bench -p router-bench`); this is its report form.

use serde::Serialize;

/// Item 1's figures.
#[derive(Debug, Clone, Serialize)]
pub struct RouterFigures {
    pub events: usize,
    pub rounds: usize,
    /// Best round of the seed's code, verbatim.
    pub seed_events_per_s: f64,
    /// Best round of `shipper::EventShipper` + `InProcessShipperTransport`.
    pub ours_events_per_s: f64,
    /// ours / seed; target >= 1.0.
    pub ratio: f64,
}

/// Runs both, alternating, `rounds` times each; keeps the best round of each.
pub(crate) fn run(events: usize, rounds: usize) -> RouterFigures {
    let c = router_bench::compare(events, rounds);
    RouterFigures {
        events: c.events,
        rounds: c.rounds,
        seed_events_per_s: c.seed_events_per_s,
        ours_events_per_s: c.ours_events_per_s,
        ratio: c.ratio(),
    }
}
