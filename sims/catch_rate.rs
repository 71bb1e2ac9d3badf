//! How often the harness catches a broken variant: for each variant and the
//! scenario meant to catch it, the seeds of a sweep (plain, and with
//! explore's swarm variants) on which the expected invariant/rule fired.
//!
//! A measurement, not a check: ignored by default, run with
//! `cargo test --release -p sims --test catch_rate -- --ignored --nocapture`
//! (`SHIPSIM_CATCH_SEEDS=N` sweeps seeds 1..=N, default 100). Explore's own
//! sweep runs on worker threads, where a thread-local variant is off, so the
//! seeds run here one by one on this thread through `explore::run_seed`.

use std::path::Path;

use shipper::broken::{self, Variant};
use shipsim::explore::{self, Outcome};
use shipsim::scenario;

/// (variant, scenario, invariant, rule)
const MEASURED: &[(Variant, &str, &str, &str)] = &[
    (Variant::AckBeforeAccept, "slow-sink-crash", "delivery", "no-loss"),
    (Variant::AckBeforeAccept, "crash-restart-receiver", "delivery", "no-loss"),
    (Variant::AckBeforeSink, "crash-restart-receiver", "delivery", "no-loss"),
    (Variant::AckBeforeSink, "slow-sink-crash", "delivery", "no-loss"),
];

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn catch_rates() {
    let seeds: u64 = std::env::var("SHIPSIM_CATCH_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(100);
    println!("| variant | scenario | invariant/rule | sweep | seeds caught | first seed |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for &(variant, name, invariant, rule) in MEASURED {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.yaml"));
        let scenario = scenario::load(&path).expect("a bundled scenario");
        for swarm in [false, true] {
            let caught: Vec<u64> = (1..=seeds)
                .filter(|&seed| {
                    let result = broken::with(variant, || explore::run_seed(&scenario, seed, swarm));
                    matches!(&result.outcome, Outcome::Fail(v) if v.iter().any(|v| v.invariant == invariant && v.rule == rule))
                })
                .collect();
            let first = caught.first().map_or("none".to_owned(), u64::to_string);
            let sweep = if swarm { "swarm" } else { "plain" };
            println!(
                "| {variant:?} | {name} | {invariant}/{rule} | {sweep} | {} of {seeds} | {first} |",
                caught.len()
            );
        }
    }
}
