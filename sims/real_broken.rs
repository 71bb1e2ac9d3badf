//! Broken variants caught in real mode, on real sockets and OS processes, by the same
//! checkers as a simulation, each within a bounded number of seeds:
//!
//! - `AckBeforeSink` (a receiver that acknowledges an event as soon as it read it and hands it
//!   to its sink only afterwards) on `crash-restart-receiver`: `delivery / no-loss`;
//! - `NatsPublishAsDelivered` (a NATS ship that publishes and answers `Ok` without waiting for
//!   the receiver's reply) on `nats-broker-crash`: what the dead broker dropped was acked,
//!   `delivery / no-loss`;
//! - `NatsRetryWithoutKey` (a NATS retry under a new idempotency key) on `nats-resend-dedup`,
//!   whose slow sink leaves attempts unanswered while it delivers: `delivery / no-duplicate`.
//! - `LocalOkOnQueue` (a local ship `Ok` before its node's own sink has the event) on
//!   `real-smoke`: `delivery / ok-before-delivery`, in a run with no crash in the window.
//!
//! The NATS cases need `nats-server` on PATH: without it they show as ignored, with the
//! install command as the reason, and never pass.
//!
//! This binary is also the executable of its node processes: started as `real_broken node …`
//! by the harness, it switches the variant on for the whole process (`SHIPSIM_BROKEN`) and runs
//! the node. The harness itself runs the correct code; only the nodes are broken.

use std::path::Path;

use shipper::broken::{self, Variant};
use shipsim_trace::{DeliveryRule, Rule};

/// The seeds each variant must be caught within.
const MAX_SEEDS: u64 = 5;
const VARIANT_ENV: &str = "SHIPSIM_BROKEN";

/// A variant, the scenario (under `scenarios/`) that must catch it, the rule, and whether
/// it needs a NATS broker.
struct Case {
    variant: Variant,
    scenario: &'static str,
    rule: DeliveryRule,
    nats: bool,
}

const CASES: [Case; 4] = [
    Case {
        variant: Variant::AckBeforeSink,
        scenario: "crash-restart-receiver.yaml",
        rule: DeliveryRule::NoLoss,
        nats: false,
    },
    Case {
        variant: Variant::NatsPublishAsDelivered,
        scenario: "real/nats-broker-crash.yaml",
        rule: DeliveryRule::NoLoss,
        nats: true,
    },
    Case {
        variant: Variant::NatsRetryWithoutKey,
        scenario: "real/nats-resend-dedup.yaml",
        rule: DeliveryRule::NoDuplicate,
        nats: true,
    },
    Case {
        variant: Variant::LocalOkOnQueue,
        scenario: "real/real-smoke.yaml",
        rule: DeliveryRule::OkBeforeDelivery,
        nats: false,
    },
];

impl Case {
    fn name(&self) -> String {
        let stem = Path::new(self.scenario)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{:?}::real::{stem}", self.variant)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("node") {
        if let Ok(name) = std::env::var(VARIANT_ENV) {
            let variant = Variant::ALL.iter().find(|v| format!("{v:?}") == name).expect("a known variant");
            broken::set_process(*variant);
        }
        std::process::exit(shipsim::real::node_main(&args[2..]));
    }
    // libtest's `--list` and filters.
    if args.iter().any(|a| a == "--list") {
        for case in &CASES {
            println!("{}: test", case.name());
        }
        return;
    }
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    let chosen: Vec<&Case> =
        CASES.iter().filter(|c| filter.is_none_or(|f| c.name().contains(f.as_str()))).collect();
    println!("running {} tests", chosen.len());
    let mut failed = Vec::new();
    for case in chosen {
        if case.nats && !shipsim::real::nats_installed() {
            println!(
                "test {} ... ignored, nats-server is not installed: {}",
                case.name(),
                shipsim::real::NATS_INSTALL
            );
            continue;
        }
        match caught(case) {
            Ok(seed) => println!("test {} ... ok (caught at seed {seed})", case.name()),
            Err(why) => {
                println!("test {} ... FAILED: {why}", case.name());
                failed.push(case.name());
            }
        }
    }
    if !failed.is_empty() {
        eprintln!("failures: {}", failed.join(", "));
        std::process::exit(101);
    }
}

/// The first seed at which real runs of `case.scenario` with the variant's node processes
/// violate `case.rule`.
fn caught(case: &Case) -> Result<u64, String> {
    // SAFETY (edition 2024): no other thread of this process reads the environment while
    // the runs start (each run's runtime is built and dropped inside `real::run`); the node
    // processes inherit it.
    unsafe { std::env::set_var(VARIANT_ENV, format!("{:?}", case.variant)) };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios").join(case.scenario);
    let scenario = shipsim::load(&path).map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let rule = Rule::Delivery(case.rule);
    for seed in 1..=MAX_SEEDS {
        let result = shipsim::real::run(&exe, &path, &scenario, seed).map_err(|e| e.to_string())?;
        if result.violations.iter().any(|v| v.rule == rule) {
            return Ok(seed);
        }
        println!("  {:?} seed {seed}: not caught ({} violations)", case.variant, result.violations.len());
    }
    Err(format!("{:?} was not caught in real mode within {MAX_SEEDS} seeds", case.variant))
}
