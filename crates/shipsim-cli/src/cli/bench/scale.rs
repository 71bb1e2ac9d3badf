//! Item 7: wall time per routed event as the cluster grows.
//!
//! The same scenario on 4, 16 and 64 nodes (`--scale-nodes`): the same total of events
//! (`--scale-events`, 12,000) shared by the nodes, the same rate per node (200/s), batches of
//! 1..8 events over 1,024 keys and 256 shards, 1..10 ms latency, and the same faults at the
//! same times: the cluster cut in two halves from 500 ms to 1 s, then `n2` crashed from 1.2 s to
//! 1.5 s. Each size runs `--rounds` times (sizes alternating), the fastest run counting. The
//! figure is wall time per routed event; the target is that the largest cluster costs at most
//! twice per event what the smallest does.

use std::fmt::Write as _;
use std::time::Instant; // allow-nondeterminism: a benchmark measures wall time

use serde::Serialize;
use shipsim::Simulation;
use shipsim::scenario::Scenario;

/// Target: the largest cluster's cost per event over the smallest's.
pub const TARGET_RATIO: f64 = 2.0;

/// Item 7's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleFigures {
    /// Events of each run, all nodes together.
    pub events: u64,
    pub rounds: usize,
    /// One row per cluster size, smallest first.
    pub sizes: Vec<ScaleSize>,
    /// Wall time per event of the largest cluster over the smallest's.
    pub ratio: f64,
}

/// One cluster size's best run.
#[derive(Debug, Clone, Serialize)]
pub struct ScaleSize {
    pub nodes: usize,
    pub routed: u64,
    /// Of those, shipped to another node.
    pub remote: u64,
    pub simulated_s: f64,
    pub wall_s: f64,
    /// Wall microseconds per routed event.
    pub us_per_event: f64,
    pub passed: bool,
}

/// The scenario of one cluster size, as a file would write it.
pub(crate) fn yaml(nodes: usize, events: u64) -> String {
    let names: Vec<String> = (1..=nodes.max(2)).map(|i| format!("n{i}")).collect();
    let (left, right) = names.split_at(names.len() / 2);
    let mut text = String::new();
    let _ = writeln!(text, "name: bench-scale-{}", names.len());
    let _ = writeln!(text, "nodes: [{}]", names.join(", "));
    text.push_str("shards: 256\nduration: 120s\nnetwork: {latency: 1ms..10ms}\ntransport: {deadline: 1s}\n");
    let per_node = events.div_ceil(names.len() as u64);
    let _ = writeln!(text, "workload: {{events: {per_node}, rate: 200/s, batch: 1..8, keys: 1024}}");
    let _ = writeln!(
        text,
        "faults:\n  - {{at: 500ms, partition: [[{}], [{}]]}}",
        left.join(", "),
        right.join(", ")
    );
    text.push_str("  - {at: 1s, heal: all}\n  - {at: 1200ms, crash: n2}\n  - {at: 1500ms, restart: n2}\n");
    text.push_str("expect: {settle: 10s}\n");
    text
}

/// The scenario of one cluster size.
pub(crate) fn scenario(nodes: usize, events: u64) -> Result<Scenario, String> {
    shipsim::parse(&yaml(nodes, events), "bench-scale.yaml").map_err(|e| e.to_string())
}

/// Runs every size `rounds` times, sizes alternating; the fastest run of each counts.
pub(crate) fn run(sizes: &[usize], events: u64, rounds: usize) -> Result<ScaleFigures, String> {
    let mut sizes: Vec<usize> = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.is_empty() {
        return Err("no cluster sizes".to_owned());
    }
    let scenarios: Vec<Scenario> = sizes.iter().map(|&n| scenario(n, events)).collect::<Result<_, _>>()?;
    let mut best: Vec<Option<ScaleSize>> = vec![None; sizes.len()];
    for _ in 0..rounds.max(1) {
        for (scenario, slot) in scenarios.iter().zip(&mut best) {
            let size = measure(scenario)?;
            if slot.as_ref().is_none_or(|b| size.wall_s < b.wall_s) {
                *slot = Some(size);
            }
        }
    }
    let sizes: Vec<ScaleSize> = best.into_iter().flatten().collect();
    let ratio = sizes.last().map_or(0.0, |l| l.us_per_event) / sizes[0].us_per_event;
    Ok(ScaleFigures { events, rounds: rounds.max(1), sizes, ratio })
}

/// One run of `scenario`, timed.
fn measure(scenario: &Scenario) -> Result<ScaleSize, String> {
    let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let result = Simulation::new(scenario)
        .keep_records(false)
        .run(1)
        .map_err(|e| format!("{}: {e}", scenario.name))?;
    let wall_s = start.elapsed().as_secs_f64();
    let summary = &result.counts;
    Ok(ScaleSize {
        nodes: scenario.nodes.len(),
        routed: summary.routed,
        remote: summary.routed - summary.local,
        simulated_s: result.simulated.as_secs_f64(),
        wall_s,
        us_per_event: wall_s * 1e6 / summary.routed.max(1) as f64,
        passed: result.passed(),
    })
}
