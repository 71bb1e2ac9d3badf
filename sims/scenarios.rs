//! One `cargo test` case per scenario file, transport and seed, named
//! `<scenario>::<kind>::seed-<N>`, plus `<scenario>::<kind>::deterministic` per file and
//! transport, for the bundled scenarios and the regression repros, through `shipsim::Suite` as
//! a user's `tests/` would. Each file runs on every bundled transport (`tcp`, `grpc`), so a
//! scenario written for one is a test of all; a file whose `transport.kind` is written runs on
//! that one only.
//!
//! - `cargo test -- partition-heal` runs one scenario's cases, `cargo test -- ::grpc::` one
//!   transport's.
//! - `SHIPSIM_SEED=N` runs seed N instead of each file's `seeds`.
//! - `SHIPSIM_SEEDS=N` runs seeds 1..=N of every file (a nightly sweep).
//!
//! A failing case prints the run's report, writes its repro (which names the transport) under
//! `target/shipsim/failures/` and prints its path and the command that replays it.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scenarios = root.join("scenarios");
    shipsim::Suite::new().dir(&scenarios).each_transport().coverage().relative_to(&root).run()
}
