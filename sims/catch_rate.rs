//! How many seeds of a sweep catch a broken variant: what `shipsim explore`
//! would report if the binary had the variants (it never does).
//!
//! ```sh
//! CATCH_RATE=TimeoutAsAmbiguous:short-deadline-churn:stats/send-failures \
//!     CATCH_SEEDS=200 CATCH_SWARM=1 cargo test --release -p sims --test catch_rate
//! ```
//!
//! `CATCH_RATE` is `Variant:scenario:invariant/rule` (several separated by
//! commas); each seed runs on this thread under `broken::with`, as `explore`
//! would run it (with `CATCH_SWARM=1`, its swarm variant). Prints, per case,
//! the seeds whose run reported the rule and those that failed at all.
//! Without `CATCH_RATE` it does nothing, so `cargo test` passes through it.

use std::path::Path;

use shipper::broken::{self, Variant};
use shipsim::explore::{self, Outcome};
use shipsim::scenario;

fn main() {
    let Ok(cases) = std::env::var("CATCH_RATE") else {
        println!("catch_rate: set CATCH_RATE=Variant:scenario:invariant/rule to measure");
        return;
    };
    let seeds: u64 = std::env::var("CATCH_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(200);
    let swarm = std::env::var("CATCH_SWARM").is_ok_and(|s| s == "1");
    for case in cases.split(',') {
        let parts: Vec<&str> = case.trim().split(':').collect();
        let [variant, name, rule] = parts[..] else {
            panic!("expected Variant:scenario:invariant/rule, got {case}")
        };
        let variant = *Variant::ALL
            .iter()
            .find(|v| format!("{v:?}") == variant)
            .unwrap_or_else(|| panic!("no variant {variant}"));
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.yaml"));
        let scenario = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let (mut caught, mut failed, mut first) = (0, 0, None);
        for seed in 1..=seeds {
            let result = broken::with(variant, || explore::run_seed(&scenario, seed, swarm));
            if let Outcome::Fail(violations) = &result.outcome {
                failed += 1;
                if violations.iter().any(|v| format!("{}/{}", v.invariant, v.rule) == rule) {
                    caught += 1;
                    first.get_or_insert(seed);
                }
            }
        }
        println!(
            "{variant:?} on {name}{}: {rule} in {caught} of {seeds} seeds (first at seed {}), {failed} failing at all",
            if swarm { " --swarm" } else { "" },
            first.map_or("-".to_owned(), |s| s.to_string())
        );
    }
}
