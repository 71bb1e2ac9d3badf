//! Tidy: the workspace's own lints, run by `cargo test` (after TigerBeetle's `tidy.zig`).
//!
//! Clippy and rustc cannot say "this workspace's simulated code never reads the wall
//! clock" or "no function here is longer than a screen", so these checks live as a test
//! that fails like any other. Each rule is a pure function from one file's source text
//! (and its path) to what it found, so each is unit-tested on synthetic sources here and
//! run over the real workspace by `tests/tidy.rs`:
//!
//! - [`functions`]: no function outside test code is longer than [`functions::LIMIT`]
//!   lines, because a function that fits on a screen can be read whole;
//! - [`nondeterminism`]: the crates a simulation runs ([`allowlist::SIMULATED_PATH`])
//!   read no wall clock, no OS entropy, start no OS thread and `select!` only `biased;`,
//!   because any of those makes a seed's run differ from its replay;
//! - [`visibility`]: a free function in a private module is `pub(crate)`, not `pub`,
//!   unless re-exported, so that `pub` says "part of the crate's API" and nothing else;
//! - [`imports`]: no crate's modules import each other in a loop, because a loop is one
//!   module spread over several files;
//! - [`dependencies`]: the harness crates' normal dependencies, followed through
//!   `Cargo.lock`, stay within [`allowlist::DEPENDENCY_LIMITS`], so that checking a
//!   trace never compiles a runtime, a network stack or the system under test.
//!
//! What each rule tolerates today is listed in [`allowlist`]; every list may only shrink
//! (an entry that matches nothing fails the test too).

pub mod allowlist;
pub mod cargo;
pub mod dependencies;
pub mod functions;
mod graph;
pub mod imports;
pub mod nondeterminism;
pub mod report;
pub mod run;
mod scopes;
mod syntax;
pub mod visibility;
pub mod walk;

pub use report::Violation;
