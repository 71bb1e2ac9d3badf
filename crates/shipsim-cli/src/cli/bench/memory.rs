//! Item 5: peak resident memory of a long run, at two lengths, to show whether it grows
//! with the run or only with what is in flight.
//!
//! Each run happens in a child process (this executable, `bench --memory-child`), so the
//! peak (`VmHWM` of `/proc/self/status`, read by the child after the run) is that run's own,
//! not the bench's. The child does what `shipsim run --trace` does, keeping no record: the
//! checkers take each record in as the run makes it, and the trace is encoded as JSON Lines and
//! streamed as it is made (here into a digest rather than a file, so the disk does not time the
//! run). The workload is the soak: 3 nodes shipping to each other
//! (two thirds of the events remote) through a crash and restart, a partition and its heal,
//! and a bounce, spread over the run so a longer run has the same faults, only further apart.

use std::io::Write;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant}; // allow-nondeterminism: a benchmark measures wall time

use serde::{Deserialize, Serialize};
use shipsim::Simulation;
use shipsim::scenario::{
    BatchSize, Expect, Fault, FaultAction, HealTarget, Network, Scenario, Sink, TransportSettings, Workload,
};

use crate::cli::stdout::outln;

/// Target: under 512 MiB at the longest run.
pub const TARGET_KIB: u64 = 512 * 1024;

/// Events per second per node: the run lasts `events / nodes / RATE` simulated seconds.
const RATE: f64 = 5_000.0;

/// Item 5's figures: one run per length, shortest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryFigures {
    pub runs: Vec<MemoryRun>,
}

impl MemoryFigures {
    /// The longest run's peak over the shortest's: 1 when memory is flat in the run's length.
    pub fn growth(&self) -> f64 {
        match (self.runs.first(), self.runs.last()) {
            (Some(a), Some(b)) if a.peak_rss_kib > 0 => b.peak_rss_kib as f64 / a.peak_rss_kib as f64,
            _ => 1.0,
        }
    }

    /// The longest run's peak.
    pub fn peak_kib(&self) -> u64 {
        self.runs.last().map_or(0, |r| r.peak_rss_kib)
    }
}

/// One child's figures (it prints them as one JSON line).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MemoryRun {
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

/// The scenario: `nodes` nodes sharing `events` between them at [`RATE`] each, batches
/// 1..8, 64 keys over 16 shards, and the faults of [`faults`].
pub(crate) fn scenario(events: u64, nodes: usize) -> Scenario {
    let nodes = nodes.clamp(1, Scenario::MAX_NODES);
    let names: Vec<String> = (1..=nodes).map(|i| format!("n{i}")).collect();
    let per_node = events.div_ceil(nodes as u64);
    let length = Duration::from_secs_f64(per_node as f64 / RATE);
    Scenario {
        name: "bench-memory".into(),
        description: "a soak: many events through faults".into(),
        seeds: vec![1],
        faults: faults(&names, length),
        nodes: names,
        shards: 16,
        members: None,
        membership: Default::default(),
        duration: length * 2 + Duration::from_secs(120),
        network: Network::default(),
        transport: TransportSettings::default(),
        sink: Sink::default(),
        workload: Workload {
            events: per_node,
            rate: RATE,
            batch: BatchSize { min: 1, max: 8 },
            keys: 64,
            senders: None,
            payload: None,
            concurrency: 4,
        },
        expect: Expect { settle: Duration::from_secs(60), ..Expect::default() },
    }
}

/// The faults, at fractions of the workload's `length`: the last node crashes and restarts,
/// the first is cut from the others and healed, then bounced (none with one node).
fn faults(nodes: &[String], length: Duration) -> Vec<Fault> {
    let (Some(first), Some(last)) = (nodes.first(), nodes.last()) else { return Vec::new() };
    if nodes.len() < 2 {
        return Vec::new();
    }
    let rest: Vec<String> = nodes[1..].to_vec();
    let at = |fraction: f64| length.mul_f64(fraction);
    let fault = |fraction: f64, action: FaultAction| Fault { at: at(fraction), action, line: 0 };
    vec![
        fault(0.2, FaultAction::Crash(last.clone())),
        fault(0.25, FaultAction::Restart(last.clone())),
        fault(0.5, FaultAction::Partition(vec![vec![first.clone()], rest])),
        fault(0.55, FaultAction::Heal(HealTarget::All)),
        fault(0.8, FaultAction::Bounce(first.clone())),
    ]
}

/// The child's side: run keeping no record, the checkers taking each in as it is made and the
/// trace's encoding streamed into a digest; read the peak, print one JSON line.
pub(crate) fn child(events: u64, nodes: usize) -> Result<(), String> {
    let scenario = scenario(events, nodes);
    let lines = Lines::default();
    let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let result = Simulation::new(&scenario)
        .keep_records(false)
        .run_traced(1, shipsim::TraceOut::new(lines.clone()))
        .map_err(|e| e.to_string())?;
    let (_, trace_bytes) = result.written.clone().ok_or("no trace written")??;
    let wall_s = start.elapsed().as_secs_f64();
    let figures = MemoryRun {
        events: result.counts.routed,
        nodes: scenario.nodes.len(),
        peak_rss_kib: peak_rss_kib().ok_or("no VmHWM in /proc/self/status")?,
        wall_s,
        simulated_s: result.simulated.as_secs_f64(),
        records: lines.0.load(Ordering::Relaxed) as usize,
        trace_bytes: trace_bytes as usize,
        passed: result.passed(),
    };
    outln!("{}", serde_json::to_string(&figures).map_err(|e| e.to_string())?);
    Ok(())
}

/// A trace written nowhere, its lines counted (one per record).
#[derive(Clone, Default)]
struct Lines(Arc<AtomicU64>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let lines = buf.iter().filter(|&&b| b == b'\n').count() as u64;
        self.0.fetch_add(lines, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `VmHWM` of this process, KiB.
pub(crate) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The parent's side: one child per length in `events`, shortest first.
pub(crate) fn run(events: &[u64], nodes: usize) -> Result<MemoryFigures, String> {
    let mut lengths = events.to_vec();
    lengths.sort_unstable();
    let runs = lengths.iter().map(|&n| run_child(n, nodes)).collect::<Result<_, _>>()?;
    Ok(MemoryFigures { runs })
}

/// Runs one child and reads its line.
fn run_child(events: u64, nodes: usize) -> Result<MemoryRun, String> {
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
