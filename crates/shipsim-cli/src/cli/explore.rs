//! `shipsim explore`: sweep seeds in parallel, shrink the first failure, write its repro.
//!
//! The library (`shipsim`'s `Simulation::explore`) does the sweep; this module adds what a person at a
//! terminal needs: the progress bar, the shrink, the repro file and the throughput.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant}; // allow-nondeterminism: progress and throughput only

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shipsim::repro;
use shipsim::scenario::TransportKind;
use shipsim::trace::Violation;
use shipsim::{
    ExploreOptions as Options, GuidedOptions, SeedOutcome as Outcome, SeedResult, Shard, ShardReport,
    Simulation,
};

use super::stdout::{out, outln};
use super::{ExitStatus, load_simulated};

/// Options of `shipsim explore`.
#[derive(Args)]
pub struct ExploreArgs {
    /// The scenario file (its own `seeds` are ignored).
    pub scenario: PathBuf,
    /// How many seeds the sweep covers: --first-seed .. --first-seed + N (before --shard).
    #[arg(long, value_name = "N")]
    pub seeds: u64,
    /// Worker threads, one simulation each (default: the number of CPUs).
    #[arg(long, value_name = "J")]
    pub jobs: Option<usize>,
    /// The first seed of the sweep.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub first_seed: u64,
    /// Run every seed and report every failure instead of stopping at the first.
    #[arg(long)]
    pub keep_going: bool,
    /// Swarm testing: per seed, keep a random subset of the fault kinds and vary the latency
    /// and loss rates (derived from the seed, so a repro replays without --swarm).
    #[arg(long)]
    pub swarm: bool,
    /// Run only the seeds congruent to i mod n, e.g. job i of an n-job CI matrix.
    #[arg(long, value_name = "i/n", default_value = "0/1")]
    pub shard: Shard,
    /// Run on this transport (tcp or grpc) instead of the one the file's `transport.kind`
    /// names (default tcp); the repros record it, so `shipsim replay` reruns on it.
    #[arg(long, value_name = "KIND")]
    pub transport: Option<TransportKind>,
    /// Where repros are written (default target/shipsim/failures).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// At most this many simulation runs for shrinking the first failure (0: no shrinking).
    #[arg(long, value_name = "RUNS", default_value_t = shipsim::DEFAULT_SHRINK_BUDGET)]
    pub shrink_budget: usize,
    /// Print the coverage ledger: each probe of the code under test with the seeds that
    /// reached it and the first that did (probes never reached first), the rarest pairs, and
    /// the faults by kind and effect (how many did nothing).
    #[arg(long)]
    pub coverage: bool,
    /// Guided exploration: keep a corpus of the variants that reached a probe or a pair of
    /// probes no earlier run had, and derive runs from it (a fault moved, added or dropped,
    /// the latency changed, one swarm setting re-drawn, the other transport); the second run
    /// is the scenario as written, the rest are fresh swarm variants in --swarm's order of
    /// seeds, more of them when mutations stop finding. --seeds runs at most.
    #[arg(long, conflicts_with = "shard")]
    pub guided: bool,
    /// With --guided: stop when this many runs in a row reached nothing new.
    #[arg(long, value_name = "K", requires = "guided")]
    pub plateau: Option<u64>,
    /// Write this shard's failures and ledger as JSON, for `shipsim merge`.
    #[arg(long, value_name = "FILE")]
    pub report_out: Option<PathBuf>,
}

/// `shipsim explore`.
pub(crate) fn explore(args: &ExploreArgs) -> ExitStatus {
    let scenario = match load_simulated(&args.scenario, args.transport) {
        Ok(s) => s,
        Err(status) => return status,
    };
    let jobs =
        args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let options = Options {
        first_seed: args.first_seed,
        seeds: args.seeds,
        jobs,
        keep_going: args.keep_going,
        swarm: args.swarm,
        shard: args.shard,
    };
    let bar = progress_bar(options.seed_list().len());
    let started = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let on_progress = |p: shipsim::Progress| {
        bar.set_position(p.done as u64);
        bar.set_message(format!("failures: {}", p.failures));
    };
    let (sweep, guided) = if args.guided {
        let guided = Simulation::new(&scenario).guided(&guided_options(args, jobs), on_progress);
        (guided.sweep.clone(), Some(guided))
    } else {
        (Simulation::new(&scenario).explore_with_progress(&options, on_progress), None)
    };
    let wall = started.elapsed();
    bar.finish_and_clear();

    out!("{}", sweep.render(&scenario.name));
    if let Some(guided) = &guided {
        out!("{}", guided.render());
    }
    if args.coverage {
        out!("{}", sweep.ledger.render());
        out!("{}", sweep.faults.render());
    }
    outln!("{}", throughput(sweep.ran, wall, jobs));
    if let Some(path) = &args.report_out
        && !write_report(path, &scenario.name, args, &sweep)
    {
        return ExitStatus::BadInput;
    }

    let dir = args.out.clone().unwrap_or_else(repro::default_dir);
    let mut status = ExitStatus::Pass;
    for (i, failure) in sweep.failures.iter().enumerate() {
        let violations = match &failure.outcome {
            Outcome::Fail(v) => v,
            Outcome::Error(_) => {
                status = ExitStatus::BadInput;
                continue;
            }
            Outcome::Pass => continue,
        };
        if status == ExitStatus::Pass {
            status = ExitStatus::Fail;
        }
        // Only the lowest failing seed is shrunk: shrinking costs up to the budget in runs, and
        // with --keep-going the others are written as found.
        let budget = if i == 0 { args.shrink_budget } else { 0 };
        if !write_failure(failure, &violations[0], budget, &dir) {
            status = ExitStatus::BadInput;
        }
    }
    status
}

/// The options of `--guided`.
fn guided_options(args: &ExploreArgs, jobs: usize) -> GuidedOptions {
    GuidedOptions {
        first_seed: args.first_seed,
        seeds: args.seeds,
        plateau: args.plateau,
        jobs,
        keep_going: args.keep_going,
    }
}

/// Writes the shard's report (`--report-out`) for `shipsim merge`; `false` when it cannot.
fn write_report(path: &Path, scenario: &str, args: &ExploreArgs, sweep: &shipsim::Sweep) -> bool {
    let mode = match (args.guided, args.swarm) {
        (true, _) => " --guided",
        (false, true) => " --swarm",
        (false, false) => "",
    };
    let what = format!("--seeds {} --first-seed {}{mode}", args.seeds, args.first_seed);
    let shard = format!("{}/{}", args.shard.index, args.shard.count);
    let report = ShardReport::new(scenario, &what, &shard, sweep);
    match std::fs::write(path, report.to_json()) {
        Ok(()) => true,
        Err(err) => {
            eprintln!("error: cannot write {}: {err}", path.display());
            false
        }
    }
}

/// Shrinks a failure within `budget` runs (none: as found), writes its repro under `dir` with
/// the diagram of its run beside it, and prints where; `false` when the repro cannot be
/// written.
fn write_failure(failure: &SeedResult, first: &Violation, budget: usize, dir: &Path) -> bool {
    let (shrunk, notes) = if budget > 0 {
        let shrunk = Simulation::new(&failure.scenario).shrink(failure.seed, &first.rule, budget);
        outln!("seed {}: {}", failure.seed, shrunk.log.summary());
        let notes = vec![shrunk.log.summary()];
        (shrunk.scenario, notes)
    } else {
        (failure.scenario.clone(), Vec::new())
    };
    // The header names the violation of the written (possibly shrunk) scenario.
    let rerun = Simulation::new(&shrunk).run(failure.seed).ok();
    let shown =
        rerun.as_ref().and_then(|r| r.violations.iter().find(|v| v.rule == first.rule)).unwrap_or(first);
    match repro::write(dir, &shrunk, failure.seed, Some(shown), &notes) {
        Ok(path) => {
            outln!("seed {}: repro written to {}", failure.seed, path.display());
            // The diagram of the written repro's run, next to it.
            if let Some(run) = &rerun {
                let html = path.with_extension("html");
                match std::fs::write(&html, shipsim_check::html_page(&run.records)) {
                    Ok(()) => outln!("  diagram: {}", html.display()),
                    Err(err) => eprintln!("warning: cannot write {}: {err}", html.display()),
                }
            }
            outln!("  replay: {}", repro::replay_command(&path));
            true
        }
        Err(err) => {
            eprintln!("error: cannot write the repro under {}: {err}", dir.display());
            false
        }
    }
}

/// The bar draws on stderr only when it is a terminal, so logs and CI output stay clean.
fn progress_bar(len: usize) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len as u64), target);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} seeds, {per_sec}, {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("failures: 0");
    bar
}

/// `600 seeds in 12.0s: 3000 seeds/min (2 jobs)`.
fn throughput(seeds: usize, wall: Duration, jobs: usize) -> String {
    let per_min = seeds as f64 * 60.0 / wall.as_secs_f64().max(1e-9);
    format!("{seeds} seeds in {:.1}s: {per_min:.0} seeds/min ({jobs} jobs)", wall.as_secs_f64())
}
