//! `shipsim run --real` and `shipsim compare`.

use std::path::{Path, PathBuf};
use std::time::Instant; // allow-nondeterminism: wall time for the report only

use clap::Args;
use shipsim::report;
use shipsim::scenario::{Scenario, TransportKind};

use super::files::{html_path, trace_path, worst, write_trace};
use super::stdout::{out, outln};
use super::{ExitStatus, load_simulated};

/// The first line of every real run's report.
pub(crate) const NOT_DETERMINISTIC: &str =
    "REAL RUN: OS processes on 127.0.0.1, not deterministic: the same seed may give another trace";

/// This binary, which node processes run (`shipsim node …`); `None` (said) if it cannot be found.
fn node_exe() -> Option<PathBuf> {
    std::env::current_exe()
        .map_err(|err| eprintln!("error: cannot find the shipsim binary to start nodes with: {err}"))
        .ok()
}

/// `shipsim run --real`: each seed for real.
pub(crate) fn run_seeds(
    path: &Path,
    scenario: &Scenario,
    seeds: &[u64],
    trace: Option<&Path>,
    html: Option<&Path>,
) -> ExitStatus {
    let Some(exe) = node_exe() else { return ExitStatus::BadInput };
    let mut status = ExitStatus::Pass;
    for &seed in seeds {
        let trace = trace.map(|t| trace_path(t, seed, seeds.len()));
        let html = html.map(|h| html_path(h, seed, seeds.len()));
        status = worst(status, run_one(&exe, path, scenario, seed, trace, html));
        if status == ExitStatus::BadInput {
            break;
        }
    }
    status
}

fn run_one(
    exe: &Path,
    path: &Path,
    scenario: &Scenario,
    seed: u64,
    trace: Option<PathBuf>,
    html: Option<PathBuf>,
) -> ExitStatus {
    let started = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let result = match shipsim::real::run(exe, path, scenario, seed) {
        Ok(result) => result,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitStatus::BadInput;
        }
    };
    outln!("{NOT_DETERMINISTIC}");
    out!("{}", report::render(&path.display().to_string(), seed, &result, started.elapsed()));
    if let Some(trace) = &trace {
        match write_trace(trace, &result.records) {
            Ok(_) => outln!("  trace: {} ({} records)", trace.display(), result.records.len()),
            Err(err) => {
                eprintln!("error: cannot write the trace to {}: {err}", trace.display());
                return ExitStatus::BadInput;
            }
        }
    }
    if let Some(html) = &html {
        if let Err(err) = std::fs::write(html, shipsim_check::html_page(&result.records)) {
            eprintln!("error: cannot write the diagram to {}: {err}", html.display());
            return ExitStatus::BadInput;
        }
        outln!("  html: {}", html.display());
    }
    if result.passed() { ExitStatus::Pass } else { ExitStatus::Fail }
}

/// Options of `shipsim compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Compare seeds 1..=N (default: the file's seeds).
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Run on this transport (tcp or grpc) instead of the file's.
    #[arg(long, value_name = "KIND")]
    pub transport: Option<TransportKind>,
}

/// `shipsim compare`: each seed simulated and real, side by side.
pub(crate) fn compare(args: &CompareArgs) -> ExitStatus {
    // Compare runs the scenario simulated too: a real-mode-only transport has nothing to
    // compare with.
    let scenario = match load_simulated(&args.scenario, args.transport) {
        Ok(s) => s,
        Err(status) => return status,
    };
    if let Err(err) = shipsim::real::check(&args.scenario, &scenario) {
        eprintln!("error: {err}");
        return ExitStatus::BadInput;
    }
    let Some(exe) = node_exe() else { return ExitStatus::BadInput };
    let seeds: Vec<u64> = match args.seeds {
        Some(n) => (1..=n).collect(),
        None => scenario.seeds.clone(),
    };
    outln!("{NOT_DETERMINISTIC} (the real column)");
    outln!(
        "a figure diverges when one side is more than {}x the other and they differ by more than {} (counts) or {}ms (times)",
        shipsim::compare::FACTOR,
        shipsim::compare::COUNT_FLOOR,
        shipsim::compare::TIME_FLOOR_US / 1000
    );
    let mut total = 0;
    for seed in seeds {
        let sim = shipsim::Simulation::new(&scenario).run(seed).map_err(|e| e.to_string());
        let real = match shipsim::real::run(&exe, &args.scenario, &scenario, seed) {
            Err(err @ shipsim::real::RealError::Interrupted) => {
                eprintln!("error: {err}");
                return ExitStatus::BadInput;
            }
            real => real.map_err(|e| e.to_string()),
        };
        let figures = |r: &Result<shipsim::RunResult, String>| {
            r.as_ref().map(|r| shipsim::compare::Figures::of(&r.records, &r.summary)).map_err(Clone::clone)
        };
        let (sim_f, real_f) = (figures(&sim), figures(&real));
        let kind = scenario.transport.kind.unwrap_or_default().name();
        let title = format!("{}, seed {seed}, transport {kind}", args.scenario.display());
        let (table, marks) = shipsim::compare::table(
            &title,
            sim_f.as_ref().map_err(String::as_str),
            real_f.as_ref().map_err(String::as_str),
        );
        total += marks;
        out!("{table}");
    }
    outln!("{total} divergences marked");
    ExitStatus::Pass
}
