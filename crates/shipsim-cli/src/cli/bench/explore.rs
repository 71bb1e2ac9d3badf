//! Item 4: explore throughput, seeds per minute with 1 and 2 jobs.

use std::path::Path;
use std::time::Instant; // allow-nondeterminism: a benchmark measures wall time

use serde::Serialize;
use shipsim::{ExploreOptions as Options, Simulation};

/// Item 4's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ExploreFigures {
    pub scenario: String,
    pub seeds: u64,
    pub jobs1_seeds_per_min: f64,
    pub jobs2_seeds_per_min: f64,
    /// jobs 2 / jobs 1 (2.0 would be perfect scaling on 2 cores).
    pub scaling: f64,
    /// Failing seeds of the jobs-1 sweep (every seed runs: keep going).
    pub failures: usize,
}

fn sweep(scenario: &shipsim::scenario::Scenario, seeds: u64, jobs: usize) -> (f64, usize) {
    let options = Options { seeds, jobs, keep_going: true, ..Options::default() };
    let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let result = Simulation::new(scenario).explore(&options);
    let minutes = start.elapsed().as_secs_f64() / 60.0;
    (result.ran as f64 / minutes, result.failures.len())
}

/// Sweeps `seeds` seeds of `path` with --jobs 1, then --jobs 2.
pub(crate) fn run(path: &Path, seeds: u64) -> Result<ExploreFigures, String> {
    let scenario = shipsim::load(path).map_err(|e| e.to_string())?;
    let (jobs1, failures) = sweep(&scenario, seeds, 1);
    let (jobs2, _) = sweep(&scenario, seeds, 2);
    Ok(ExploreFigures {
        scenario: scenario.name.clone(),
        seeds,
        jobs1_seeds_per_min: jobs1,
        jobs2_seeds_per_min: jobs2,
        scaling: jobs2 / jobs1,
        failures,
    })
}
