//! Item 3: simulation speed of the bundled scenarios (first seed of each).

use std::path::{Path, PathBuf};
use std::time::Instant; // allow-nondeterminism: a benchmark measures wall time

use serde::Serialize;
use shipsim::Simulation;

/// One scenario's figures.
#[derive(Debug, Clone, Serialize)]
pub struct SpeedFigures {
    pub scenario: String,
    pub seed: u64,
    pub wall_s: f64,
    pub simulated_s: f64,
    /// Simulated seconds per wall second.
    pub speedup: f64,
    /// Routed events per wall second.
    pub events_per_s: f64,
    /// Simulated ticks (1 ms each) per wall second.
    pub ticks_per_s: f64,
    pub routed: u64,
    pub passed: bool,
}

/// `dir/*.yaml`, sorted by name.
pub(crate) fn bundled(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && p.is_file())
        .collect();
    paths.sort();
    Ok(paths)
}

/// Runs each scenario's first seed `repeat` times; the fastest run counts.
pub(crate) fn run(paths: &[PathBuf], repeat: usize) -> Result<Vec<SpeedFigures>, String> {
    let mut out = Vec::new();
    for path in paths {
        let scenario = shipsim::load(path).map_err(|e| e.to_string())?;
        let seed = scenario.seeds[0];
        let mut wall_s = f64::INFINITY;
        let mut result = None;
        for _ in 0..repeat.max(1) {
            let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
            let run = Simulation::new(&scenario)
                .keep_records(false)
                .run(seed)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            wall_s = wall_s.min(start.elapsed().as_secs_f64());
            result = Some(run);
        }
        let result = result.expect("at least one run");
        let simulated_s = result.simulated.as_secs_f64();
        let routed = result.counts.routed;
        out.push(SpeedFigures {
            scenario: scenario.name.clone(),
            seed,
            wall_s,
            simulated_s,
            speedup: simulated_s / wall_s,
            events_per_s: routed as f64 / wall_s,
            ticks_per_s: simulated_s / shipsim::TICK.as_secs_f64() / wall_s,
            routed,
            passed: result.passed(),
        });
    }
    Ok(out)
}
