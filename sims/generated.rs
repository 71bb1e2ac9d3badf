//! Generated scenarios: proptest builds whole scenarios (1–6 nodes, 0–12 faults over the whole
//! fault vocabulary, workload, network and transport settings, and the simulation seed) with
//! `shipsim::strategies`, runs each, and checks that every invariant holds.
//!
//! - `cargo test -p sims --test generated` runs 32 cases; `PROPTEST_CASES=N` runs N.
//! - A failure is shrunk by proptest, persisted to `sims/proptest-regressions/generated.txt`
//!   (committed, so every later run tries it first), and the minimal case is written as a repro
//!   under `target/shipsim/failures/` (replay it with `shipsim replay <file>`).

use std::path::PathBuf;

use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};
use shipsim::scenario::Scenario;
use shipsim::{Simulation, repro, strategies};

/// Cases per `cargo test`: enough to cover every fault kind in a few seconds; a nightly job
/// raises it with `PROPTEST_CASES`.
const DEFAULT_CASES: u32 = 32;

fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_CASES);
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/proptest-regressions/generated.txt"
        )))),
        ..Config::with_cases(cases)
    }
}

/// The workspace's `target/shipsim/failures` (tests run in `sims/`, not at the root).
fn failures_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("shipsim/failures")
}

/// The property: the run completes and every invariant holds.
fn holds(scenario: &Scenario) -> Result<(), TestCaseError> {
    let seed = scenario.seeds[0];
    let result =
        Simulation::new(scenario).run(seed).map_err(|e| TestCaseError::fail(format!("seed {seed}: {e}")))?;
    match result.violations.first() {
        None => Ok(()),
        Some(v) => Err(TestCaseError::fail(format!(
            "seed {seed}: {} / {}: expected {}, got {}",
            v.invariant(),
            v.rule.as_str(),
            v.expected,
            v.actual
        ))),
    }
}

#[test]
fn generated_scenarios_hold_every_invariant() {
    let mut runner = TestRunner::new(config());
    match runner.run(&strategies::runnable_scenario(), |s| holds(&s)) {
        Ok(()) => {}
        Err(TestError::Fail(reason, minimal)) => {
            let seed = minimal.seeds[0];
            let violation =
                Simulation::new(&minimal).run(seed).ok().and_then(|r| r.violations.into_iter().next());
            let written = repro::write(
                &failures_dir(),
                &minimal,
                seed,
                violation.as_ref(),
                &["found by sims/generated.rs (proptest), shrunk by proptest".to_owned()],
            );
            let repro = match written {
                Ok(path) => format!("repro: {}\nreplay: {}", path.display(), repro::replay_command(&path)),
                Err(err) => format!("(cannot write the repro: {err})"),
            };
            panic!("{reason}\n{repro}\nminimal scenario:\n{}", shipsim::scenario::to_yaml(&minimal));
        }
        Err(TestError::Abort(reason)) => panic!("proptest aborted: {reason}"),
    }
}
