//! `shipsim run` and `shipsim replay`.

use std::path::{Path, PathBuf};
use std::time::Instant; // allow-nondeterminism: wall time for the report only

use clap::Args;
use shipsim::report;
use shipsim::repro;
use shipsim::scenario::{Scenario, TransportKind};
use shipsim::{RunError, RunResult, Simulation, TraceOut};
use shipsim_trace::{Invariant, Rule};

use super::files::{html_path, trace_path, worst, write_trace};
use super::stdout::{out, outln};
use super::{ExitStatus, load_on, load_simulated};

/// Options of `shipsim run`.
#[derive(Args)]
pub struct RunArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Run this seed instead of the file's `seeds`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Run on this transport (tcp or grpc; nats with --real) instead of the one the file's
    /// `transport.kind` names (default tcp); a failure's repro records it.
    #[arg(long, value_name = "KIND")]
    pub transport: Option<TransportKind>,
    /// Write the trace as JSON Lines (with several seeds, one file per seed: NAME.seed-N.jsonl).
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Run each seed twice and compare the traces byte for byte.
    #[arg(long)]
    pub check_determinism: bool,
    /// Write the run as a self-contained HTML space-time diagram (with several seeds, one file
    /// per seed: NAME.seed-N.html).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Run for real: one OS process per node on 127.0.0.1, real sockets, faults through a
    /// fault proxy and signals (not deterministic; see docs/real-mode.md).
    #[arg(long, conflicts_with = "check_determinism")]
    pub real: bool,
}

/// Options of `shipsim replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// The repro file: a scenario whose `seeds` names the failing seed.
    pub repro: PathBuf,
    /// Replay on this transport (tcp or grpc) instead of the one the repro's `transport.kind`
    /// names (the one it failed on; tcp when it names none).
    #[arg(long, value_name = "KIND")]
    pub transport: Option<TransportKind>,
    /// Write the trace as JSON Lines.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write the run as a self-contained HTML space-time diagram.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `shipsim run`.
pub(crate) fn run(args: &RunArgs) -> ExitStatus {
    let loaded = if args.real {
        load_on(&args.scenario, args.transport)
    } else {
        load_simulated(&args.scenario, args.transport)
    };
    let scenario = match loaded {
        Ok(s) => s,
        Err(status) => return status,
    };
    let seeds = match args.seed {
        Some(seed) => vec![seed],
        None => scenario.seeds.clone(),
    };
    if args.real {
        return super::real::run_seeds(
            &args.scenario,
            &scenario,
            &seeds,
            args.trace.as_deref(),
            args.html.as_deref(),
        );
    }
    let mode =
        Mode { twice: args.check_determinism, write_repro: true, expect: None, html: args.html.clone() };
    run_seeds(&args.scenario, &scenario, &seeds, args.trace.as_deref(), &mode)
}

/// `shipsim replay`: the repro's own seeds, with the determinism check on.
pub(crate) fn replay(args: &ReplayArgs) -> ExitStatus {
    let scenario = match load_simulated(&args.repro, args.transport) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let seeds = scenario.seeds.clone();
    // The repro's header names the violation it was written for; replay says whether it is
    // the same one. The file is not rewritten: it is the evidence.
    let expect = std::fs::read_to_string(&args.repro).ok().and_then(|text| header_violation(&text));
    let mode = Mode { twice: true, write_repro: false, expect, html: args.html.clone() };
    run_seeds(&args.repro, &scenario, &seeds, args.trace.as_deref(), &mode)
}

/// How `run_seeds` runs: `shipsim run` writes repros of failures, `shipsim replay` checks
/// determinism and compares with the violation its file records.
struct Mode {
    /// Run each seed twice and compare the traces.
    twice: bool,
    /// Write a repro file for each failing seed.
    write_repro: bool,
    /// The rule the replayed repro was written for.
    expect: Option<Rule>,
    /// Write an HTML diagram of each seed here.
    html: Option<PathBuf>,
}

/// The rule of a repro header line `# violation: delivery / no-loss at ...`.
fn header_violation(text: &str) -> Option<Rule> {
    let line =
        text.lines().take_while(|l| l.starts_with('#')).find_map(|l| l.strip_prefix("# violation: "))?;
    let (invariant, rest) = line.split_once(" / ")?;
    let rule = rest.split_whitespace().next()?;
    Rule::parse(Invariant::parse(invariant)?, rule)
}

fn run_seeds(
    path: &Path,
    scenario: &Scenario,
    seeds: &[u64],
    trace: Option<&Path>,
    mode: &Mode,
) -> ExitStatus {
    let mut status = ExitStatus::Pass;
    for &seed in seeds {
        let trace = trace.map(|t| trace_path(t, seed, seeds.len()));
        let html = mode.html.as_deref().map(|h| html_path(h, seed, seeds.len()));
        let outcome = run_one(path, scenario, seed, trace, html, mode);
        status = worst(status, outcome);
    }
    status
}

/// One run of `seed` (twice, compared, when `twice`), its trace written to `trace` if given:
/// as the run makes it, or after a run made twice. The trace's digest and length, or why it
/// could not be written. Without a trace and unless `diagram` (which draws the records), the
/// run keeps only the records its report quotes ([`lean`]).
#[allow(clippy::type_complexity)]
fn simulate(
    simulation: &Simulation<'_>,
    seed: u64,
    trace: Option<&Path>,
    twice: bool,
    diagram: bool,
) -> Result<(RunResult, Option<Result<(u64, u64), String>>), RunError> {
    if twice {
        let result = simulation.check_determinism(seed)?;
        let written = trace.map(|t| write_trace(t, &result.records).map_err(|e| e.to_string()));
        return Ok((result, written));
    }
    let Some(trace) = trace else {
        let result = if diagram { simulation.run(seed)? } else { lean(simulation, seed)? };
        return Ok((result, None));
    };
    match std::fs::File::create(trace) {
        Ok(file) => {
            let mut result = simulation.run_traced(seed, TraceOut::new(file))?;
            let written = result.written.take();
            Ok((result, written))
        }
        Err(err) => Ok((simulation.run(seed)?, Some(Err(err.to_string())))),
    }
}

/// One run of `seed` whose records nobody asked for: it keeps none (the checkers take each in
/// as it is made), only the few a report of a violation quotes, so a failing run is explained
/// without running it again, however long it ran.
fn lean(simulation: &Simulation<'_>, seed: u64) -> Result<RunResult, RunError> {
    simulation.clone().keep_records(false).run(seed)
}

fn run_one(
    path: &Path,
    scenario: &Scenario,
    seed: u64,
    trace: Option<PathBuf>,
    html: Option<PathBuf>,
    mode: &Mode,
) -> ExitStatus {
    let started = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let simulated = simulate(&Simulation::new(scenario), seed, trace.as_deref(), mode.twice, html.is_some());
    let (result, written) = match simulated {
        Ok(ran) => ran,
        Err(RunError::Nondeterministic { line, first, second, .. }) => {
            outln!(
                "  NONDETERMINISTIC: the traces differ first at line {line}:\n    run 1: {first}\n    run 2: {second}"
            );
            return ExitStatus::Fail;
        }
        Err(err) => {
            eprintln!("error: {}: seed {seed}: {err}", path.display());
            return ExitStatus::BadInput;
        }
    };
    let wall = started.elapsed();
    out!("{}", report::render(&path.display().to_string(), seed, &result, wall));
    if let (Some(trace), Some(written)) = (&trace, written) {
        let digest = match written {
            Ok((digest, _)) => digest,
            Err(err) => {
                eprintln!("error: cannot write the trace to {}: {err}", trace.display());
                return ExitStatus::BadInput;
            }
        };
        outln!("  trace: {} ({} records, digest {digest:016x})", trace.display(), result.records.len());
    }
    if let Some(html) = &html {
        if let Err(err) = std::fs::write(html, shipsim_check::html_page(&result.records)) {
            eprintln!("error: cannot write the diagram to {}: {err}", html.display());
            return ExitStatus::BadInput;
        }
        outln!("  html: {}", html.display());
    }
    let status = if result.passed() { ExitStatus::Pass } else { ExitStatus::Fail };
    if let Some(expected) = mode.expect {
        let (invariant, rule) = (expected.invariant(), expected.as_str());
        if result.violations.iter().any(|v| v.rule == expected) {
            outln!("  reproduced: {invariant} / {rule}, as the repro records");
        } else {
            outln!("  NOT reproduced: the repro records {invariant} / {rule} (fixed, or another failure)");
        }
    }
    if mode.write_repro && !result.passed() {
        match repro::write(&repro::default_dir(), scenario, seed, result.violations.first(), &[]) {
            Ok(file) => {
                outln!("  repro: {}", file.display());
                outln!("  replay: {}", repro::replay_command(&file));
            }
            Err(err) => eprintln!("error: cannot write the repro: {err}"),
        }
    }
    if mode.twice {
        let (digest, _) = shipsim_trace::Digest::of(&result.records);
        outln!("  deterministic: two runs, same trace (digest {digest:016x})");
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seed run whose records nobody asked for keeps none, failing or not; a failing one
    /// keeps the few its report quotes, and reports as a run that kept them all.
    #[test]
    fn a_lean_run_keeps_records_only_to_explain_a_failure() {
        let text = "name: slow\nnodes: [n1, n2]\nduration: 5s\nworkload:\n  events: 100\n  rate: 10/s\n";
        let with_fault = format!("{text}faults:\n  - {{at: 1s, crash: n2}}\n  - {{at: 2s, restart: n2}}\n");
        let failing = shipsim::parse(&format!("{with_fault}expect:\n  settle: 2s\n"), "slow.yaml").unwrap();
        let kept = Simulation::new(&failing).run(3).unwrap();
        assert!(!kept.passed(), "the workload cannot finish");
        let lean_failure = lean(&Simulation::new(&failing), 3).unwrap();
        assert!(lean_failure.records.is_empty() && !lean_failure.kept.is_empty());
        let render = |r: &RunResult| report::render("slow.yaml", 3, r, std::time::Duration::ZERO);
        assert_eq!(render(&lean_failure), render(&kept));
        assert!(render(&kept).contains("crash: n2"), "{}", render(&kept));
        assert_eq!((lean_failure.summary, lean_failure.counts), (kept.summary, kept.counts));

        let passing = shipsim::parse(&text.replace("100", "20"), "quick.yaml").unwrap();
        let lean_pass = lean(&Simulation::new(&passing), 3).unwrap();
        assert!(lean_pass.passed() && lean_pass.records.is_empty());
        assert_eq!(lean_pass.counts, Simulation::new(&passing).run(3).unwrap().counts);
    }
}
