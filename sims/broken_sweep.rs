//! How many seeds each broken variant needs, measured as `shipsim explore` would (seed after
//! seed, `explore::run_seed`) but on this thread, where `broken::with` switches the variant
//! on (the `shipsim` binary never has the feature, and `explore` runs seeds on worker threads).
//!
//! Not part of the default suite (a sweep takes minutes): run it with
//! `SHIPSIM_SWEEP=split-stream,big-payloads:SplitReadMishandled:50 cargo test -p sims --test broken_sweep -- --nocapture`
//! (scenarios, variant, seeds 1..=N). It prints, per scenario, the seeds that fired, how many
//! of N, and the first invariant/rule each failing run reported; it fails only on bad input.

use std::path::Path;

use shipper::broken::{self, Variant};
use shipsim::explore::{self, Outcome};
use shipsim::scenario;

fn main() {
    let Ok(spec) = std::env::var("SHIPSIM_SWEEP") else {
        println!("broken_sweep: set SHIPSIM_SWEEP=<scenario,...>:<Variant>:<seeds> to run a sweep");
        return;
    };
    let mut parts = spec.split(':');
    let (Some(scenarios), Some(variant), Some(seeds)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("SHIPSIM_SWEEP={spec}: expected <scenario,...>:<Variant>:<seeds>");
    };
    let variant = *Variant::ALL
        .iter()
        .find(|v| format!("{v:?}") == variant)
        .unwrap_or_else(|| panic!("unknown variant {variant}"));
    let seeds: u64 = seeds.parse().expect("a number of seeds");
    for name in scenarios.split(',') {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.yaml"));
        let scenario = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut caught = Vec::new();
        let mut rules = std::collections::BTreeMap::<String, usize>::new();
        for seed in 1..=seeds {
            let result = broken::with(variant, || explore::run_seed(&scenario, seed, false));
            match &result.outcome {
                Outcome::Pass => {}
                Outcome::Fail(violations) => {
                    caught.push(seed);
                    let first = &violations[0];
                    *rules.entry(format!("{}/{}", first.invariant, first.rule)).or_default() += 1;
                }
                Outcome::Error(e) => panic!("{name} seed {seed}: {e}"),
            }
        }
        println!(
            "{variant:?} on {name}: caught on {} of {seeds} seeds (first: {:?}); first rule per run: {rules:?}",
            caught.len(),
            caught.first()
        );
    }
}
