//! Item 5: peak resident memory of one run with 1 M events.
//!
//! The run happens in a child process (this executable, `bench
//! --memory-child`), so the peak (`VmHWM` of `/proc/self/status`, read by the
//! child after the run) is that run's own, not the bench's. The child does
//! what `shipsim run --trace` does: `runner::run`, then the trace encoded as
//! JSON Lines, streamed (here into a digest rather than a file, so the disk
//! does not time the run).

use std::process::Command;
use std::time::{Duration, Instant}; // allow-nondeterminism: a benchmark measures wall time

use serde::{Deserialize, Serialize};
use shipsim::Simulation;
use shipsim::scenario::{BatchSize, Expect, Network, Scenario, Sink, TransportSettings, Workload};
use shipsim::trace::Counts as Summary;

use crate::cli::stdout::outln;

/// Target: under 1 GiB.
pub const TARGET_KIB: u64 = 1024 * 1024;

/// Item 5's figures (the child prints them as one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryFigures {
    /// Events routed in total (all nodes).
    pub events: u64,
    pub nodes: usize,
    /// Peak resident set of the child, KiB.
    pub peak_rss_kib: u64,
    pub wall_s: f64,
    pub simulated_s: f64,
    pub records: usize,
    pub trace_bytes: usize,
    pub passed: bool,
}

/// The scenario: `nodes` nodes sharing `events` between them, batches 1..8,
/// 64 keys, no pacing, no faults.
pub(crate) fn scenario(events: u64, nodes: usize) -> Scenario {
    let nodes = nodes.clamp(1, Scenario::MAX_NODES);
    Scenario {
        name: "bench-memory".into(),
        description: "one run with many events".into(),
        seeds: vec![1],
        nodes: (1..=nodes).map(|i| format!("n{i}")).collect(),
        shards: 16,
        members: None,
        membership: Default::default(),
        duration: Duration::from_secs(3600 * 24),
        network: Network::default(),
        transport: TransportSettings::default(),
        sink: Sink::default(),
        workload: Workload {
            events: events.div_ceil(nodes as u64),
            rate: f64::MAX,
            batch: BatchSize { min: 1, max: 8 },
            keys: 64,
            senders: None,
            payload: None,
            concurrency: 1,
        },
        faults: Vec::new(),
        expect: Expect { settle: Duration::from_secs(3600 * 24), ..Expect::default() },
    }
}

/// The child's side: run, stream the trace's encoding, read the peak, print one JSON line.
pub(crate) fn child(events: u64, nodes: usize) -> Result<(), String> {
    let scenario = scenario(events, nodes);
    let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let result = Simulation::new(&scenario).run(1).map_err(|e| e.to_string())?;
    let (_, trace_bytes) = shipsim_trace::Digest::of(&result.records);
    let wall_s = start.elapsed().as_secs_f64();
    let figures = MemoryFigures {
        events: Summary::of(&result.records).routed,
        nodes: scenario.nodes.len(),
        peak_rss_kib: peak_rss_kib().ok_or("no VmHWM in /proc/self/status")?,
        wall_s,
        simulated_s: result.simulated.as_secs_f64(),
        records: result.records.len(),
        trace_bytes: trace_bytes as usize,
        passed: result.passed(),
    };
    outln!("{}", serde_json::to_string(&figures).map_err(|e| e.to_string())?);
    Ok(())
}

/// `VmHWM` of this process, KiB.
pub(crate) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The parent's side: runs the child and reads its line.
pub(crate) fn run(events: u64, nodes: usize) -> Result<MemoryFigures, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(exe)
        .args(["bench", "--memory-child", &events.to_string(), "--memory-nodes", &nodes.to_string()])
        .output()
        .map_err(|e| format!("cannot start the memory child: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the memory child failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().ok_or("the memory child printed nothing")?;
    serde_json::from_str(line).map_err(|e| format!("the memory child's output: {e}: {line}"))
}
