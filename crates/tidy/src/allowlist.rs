//! Where each rule applies, and what each tolerates today.
//!
//! Every list here may only shrink: an entry that no longer excuses anything (its
//! function was split or deleted, its line fixed) fails the test until it is removed, so
//! a fixed offender cannot quietly come back.

/// The crates whose long functions [`LONG_FUNCTIONS`] may excuse: the transports and the
/// benchmark (whose seed code is measured verbatim). Nothing else may be allowlisted.
pub const ALLOWLIST_CRATES: &[&str] =
    &["crates/shipper/", "crates/shipper-net/", "crates/shipper-grpc/", "crates/router-bench/"];

/// The harness crates: they hold no allowlisted long function.
pub const HARNESS_CRATES: &[&str] = &["crates/shipsim/", "crates/shipsim-trace/", "crates/shipsim-check/"];

/// The crates a simulation runs, where [`crate::nondeterminism`] applies. The CLI
/// (`crates/shipsim-cli`) and the benchmark (`crates/router-bench`) run outside any
/// simulation and may read the wall clock; a crate listed here that does not exist
/// (yet) is skipped.
pub const SIMULATED_PATH: &[&str] = &[
    "crates/shipper",
    "crates/shipper-net",
    "crates/shipper-grpc",
    "crates/shipsim",
    "crates/shipsim-trace",
    "crates/shipsim-check",
];

/// Folders inside [`SIMULATED_PATH`] crates that no simulation runs: real mode
/// (`shipsim run --real`) starts OS processes, reads the monotonic clock and runs tokio's
/// multi-threaded runtime on purpose. Nothing on the simulated path may import from them (the
/// simulator's modules never name `crate::real`), so their nondeterminism cannot reach a
/// simulated run; [`crate::run::nondeterminism`] skips them.
pub const REAL_MODE: &[&str] = &["crates/shipsim/src/real/"];

/// What each harness crate may not depend on through any chain of normal dependencies
/// ([`crate::dependencies`]): reading and checking a trace needs no runtime, simulator,
/// network stack, generator or YAML parser, and none of the system under test.
pub const DEPENDENCY_LIMITS: &[(&str, &[&str])] = &[
    (
        "shipsim-check",
        &[
            "tokio",
            "turmoil",
            "tonic",
            "hyper",
            "proptest",
            "serde-saphyr",
            "shipper",
            "shipper-net",
            "shipper-grpc",
            "shipper-nats",
            "async-nats",
            "shipsim",
        ],
    ),
    (
        "shipsim-trace",
        &[
            "tokio",
            "turmoil",
            "tonic",
            "hyper",
            "proptest",
            "serde-saphyr",
            "shipper",
            "shipper-net",
            "shipper-grpc",
            "shipper-nats",
            "async-nats",
            "shipsim",
            "shipsim-check",
        ],
    ),
];

/// Functions longer than [`crate::functions::LIMIT`] lines, by `path::Scope::name`, in
/// [`ALLOWLIST_CRATES`] only.
pub const LONG_FUNCTIONS: &[&str] = &[];
