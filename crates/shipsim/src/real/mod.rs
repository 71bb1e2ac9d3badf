//! Real mode (`shipsim run --real`): the scenario's nodes as OS processes on 127.0.0.1, on the
//! bundled transports over real tokio sockets, their links through a fault proxy the harness
//! owns, the trace merged from every process and checked by the simulation's checkers. See
//! `docs/real-mode.md`.
//!
//! Nothing here runs in a simulation: the tidy test treats this folder as off the simulated
//! path (it reads the wall clock, spawns processes and threads, and is not deterministic).
//! It reuses the simulation's node life (`sim::run_life`), recorder, sink model, workload and
//! router as they are; the seams it needs are the recorder's `Tap` (`sim/recorder.rs`) and the
//! transports' bound-address hook.
//!
//! - `harness` starts and stops processes and talks to them (`control`), `timeline` carries
//!   out the faults (`plan` says which it can; `network` keeps their state; `proxy` applies
//!   the network's), `procs` makes sure no process outlives the run;
//! - `node` is the node process's side (`shipsim node …`), `transport` its transports, `clock`
//!   the monotonic clock every process stamps with.

mod broker;
mod clock;
mod control;
mod error;
mod harness;
mod nats;
mod network;
mod node;
mod plan;
mod procs;
mod proxy;
mod timeline;
mod transport;

use std::path::Path;
use std::time::Duration;

pub use broker::{INSTALL as NATS_INSTALL, installed as nats_installed};
pub use error::{RealError, SCHEDULING_SLACK};
pub use node::main as node_main;

use crate::scenario::Scenario;
use crate::sim::RunResult;

/// Whether real mode can carry out every fault of `scenario` (read from `path`): the first it
/// cannot, as `file:line:column: why`.
pub fn check(path: &Path, scenario: &Scenario) -> Result<(), RealError> {
    plan::check(path, scenario).map_err(RealError::Refused)?;
    crate::transport::kinds::factory_for(scenario.transport.kind.unwrap_or_default())
        .check(scenario)
        .map_err(RealError::Unsupported)
}

/// Runs `scenario` (read from `path`) with `seed` for real: `exe` is the `shipsim` binary
/// the node processes run (`shipsim node …`). Every process it starts has ended when it
/// returns, whatever it returns.
pub fn run(exe: &Path, path: &Path, scenario: &Scenario, seed: u64) -> Result<RunResult, RealError> {
    check(path, scenario)?;
    let dir = std::env::temp_dir().join(format!(
        "shipsim-real-{}-{}-seed-{seed}-{}",
        scenario.name,
        std::process::id(),
        clock::now_ns()
    ));
    std::fs::create_dir_all(&dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = runtime.block_on(timeline::run(exe, path, scenario, seed, dir.clone()));
    runtime.shutdown_timeout(Duration::from_millis(100));
    // Kept after a node failed: its stderr and trace files are the evidence.
    if matches!(result, Ok(_) | Err(RealError::Interrupted | RealError::Refused(_))) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}
