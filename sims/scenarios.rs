//! One `cargo test` case per scenario file and seed, named
//! `<scenario>::seed-<N>`, plus `<scenario>::deterministic` per file, for the bundled
//! scenarios and the regression repros, through `shipsim::Suite` as a user's `tests/` would.
//!
//! - `cargo test -- partition-heal` runs one scenario's cases.
//! - `SHIPSIM_SEED=N` runs seed N instead of each file's `seeds`.
//! - `SHIPSIM_SEEDS=N` runs seeds 1..=N of every file (a nightly sweep).
//!
//! A failing case prints the run's report, writes its repro under `target/shipsim/failures/`
//! and prints its path and the command that replays it.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scenarios = root.join("scenarios");
    shipsim::Suite::new().dir(&scenarios).dir(scenarios.join("regressions")).relative_to(&root).run()
}
