//! One `cargo test` case per scenario file and seed, named
//! `<scenario>::seed-<N>`, plus `<scenario>::deterministic` per file.
//!
//! - `cargo test -- partition-heal` runs one scenario's cases.
//! - `SHIPSIM_SEED=N` runs seed N instead of each file's `seeds`.
//! - `SHIPSIM_SEEDS=N` runs seeds 1..=N of every file (a nightly sweep).
//!
//! A failing case prints the run's report, writes its repro under `target/shipsim/failures/`
//! and prints its path and the command that replays it.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use shipsim::report;
use shipsim::repro;
use shipsim::runner;
use shipsim::scenario::{self, Scenario};
use shipsim::trace::jsonl;

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut trials = Vec::new();
    for path in scenario_files(&root).into_iter().chain(scenario_files(&root.join("regressions"))) {
        trials.extend(trials_for(&path));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// The `.yaml` files of `dir`, sorted so the case list is stable.
fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

fn display(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    path.strip_prefix(&root).unwrap_or(path).display().to_string()
}

fn seeds_for(scenario: &Scenario) -> Vec<u64> {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(seed) = env("SHIPSIM_SEED") {
        vec![seed]
    } else if let Some(n) = env("SHIPSIM_SEEDS") {
        (1..=n).collect()
    } else {
        scenario.seeds.clone()
    }
}

fn trials_for(path: &Path) -> Vec<Trial> {
    let shown = display(path);
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let scenario = match scenario::load(path) {
        Ok(scenario) => scenario,
        Err(err) => {
            let message = err.to_string();
            return vec![Trial::test(format!("{stem}::loads"), move || Err(message.into()))];
        }
    };
    let mut trials = Vec::new();
    for seed in seeds_for(&scenario) {
        let (scenario, shown) = (scenario.clone(), shown.clone());
        trials.push(Trial::test(format!("{}::seed-{seed}", scenario.name), move || {
            run_case(&scenario, &shown, seed)
        }));
    }
    let seed = scenario.seeds[0];
    trials.push(Trial::test(format!("{}::deterministic", scenario.name), move || {
        deterministic(&scenario, seed)
    }));
    trials
}

fn run_case(scenario: &Scenario, shown: &str, seed: u64) -> Result<(), Failed> {
    let result = runner::run(scenario, seed).map_err(|e| format!("{shown} seed {seed}: {e}"))?;
    if result.passed() {
        return Ok(());
    }
    let mut message = report::render(shown, seed, &result, std::time::Duration::ZERO);
    // The failure's repro: the scenario with this seed only, under the workspace's target/.
    match repro::write(&failures_dir(), scenario, seed, result.violations.first(), &[]) {
        Ok(path) => message.push_str(&format!(
            "repro: {}\nreplay: {}\n",
            path.display(),
            repro::replay_command(&path)
        )),
        Err(err) => message.push_str(&format!("(cannot write the repro: {err})\n")),
    }
    Err(message.into())
}

/// The workspace's `target/shipsim/failures` (tests run in `sims/`, not at the root).
fn failures_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("shipsim/failures")
}

fn deterministic(scenario: &Scenario, seed: u64) -> Result<(), Failed> {
    let first = jsonl::to_bytes(&runner::run(scenario, seed)?.records);
    let second = jsonl::to_bytes(&runner::run(scenario, seed)?.records);
    match jsonl::first_difference(&first, &second) {
        None => Ok(()),
        Some((line, a, b)) => {
            Err(format!("two runs of seed {seed} differ at trace line {line}:\n  {a}\n  {b}").into())
        }
    }
}
