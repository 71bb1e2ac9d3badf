//! `shipsim`: run, check, explore and replay simulation scenarios.
//!
//! Exit status: 0 every invariant held, 1 a violation (or a nondeterministic
//! run), 2 bad input.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;
mod logging;

#[derive(Parser)]
#[command(name = "shipsim", version, about = "Deterministic simulation testing for the event shipper")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario with each of its seeds (or --seed) and check every invariant.
    Run(cli::run::RunArgs),
    /// Validate a scenario file without running it.
    Check {
        /// The scenario file.
        scenario: PathBuf,
    },
    /// Run many seeds in parallel; shrink the first failure and write its repro.
    Explore(cli::explore::ExploreArgs),
    /// Merge the report files of a sweep's shards (`explore --shard i/n --report-out FILE`)
    /// into one report and one coverage ledger: exit 0 no failure, 1 a failure, 2 bad input.
    Merge(cli::merge::MergeArgs),
    /// Replay a repro file (a scenario that carries its seed): same trace, same violation.
    Replay(cli::run::ReplayArgs),
    /// Re-check a trace file (`run --trace`) with every checker, without simulating: exit 0 every
    /// invariant held, 1 a violation, 2 a malformed or truncated trace (its line is named).
    Verify {
        /// The trace, JSON Lines.
        trace: PathBuf,
    },
    /// Run a scenario simulated and for real, seed by seed, and print both side by side with
    /// every divergence marked.
    Compare(cli::real::CompareArgs),
    /// A node process of a real run (started by `run --real`, not by hand).
    #[command(hide = true)]
    Node {
        /// The harness's arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Measure the performance figures (build with --release): a table, or --json.
    Bench(cli::bench::BenchArgs),
}

fn main() -> ExitCode {
    logging::init();
    let args = Args::parse();
    let status = match args.command {
        Command::Run(run) => cli::run::run(&run),
        Command::Check { scenario } => cli::check(&scenario),
        Command::Explore(explore) => cli::explore::explore(&explore),
        Command::Merge(merge) => cli::merge::merge(&merge),
        Command::Replay(replay) => cli::run::replay(&replay),
        Command::Verify { trace } => cli::verify::verify(&trace),
        Command::Bench(bench) => cli::bench::run(&bench),
        Command::Compare(compare) => cli::real::compare(&compare),
        Command::Node { args } => return ExitCode::from(shipsim::real::node_main(&args).clamp(0, 255) as u8),
    };
    ExitCode::from(status as u8)
}
