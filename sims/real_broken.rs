//! A broken variant caught in real mode: a receiver that acknowledges an event as soon as it
//! read it and hands it to its sink only afterwards (`AckBeforeSink`), with a SIGKILL of the
//! receiver while accepts are pending (`crash-restart-receiver`, on real sockets and OS
//! processes). The same checkers must find the acked events that never reached a sink
//! (`delivery / no-loss`) within a bounded number of seeds.
//!
//! This binary is also the executable of its node processes: started as `real_broken node …`
//! by the harness, it switches the variant on for the whole process (`SHIPSIM_BROKEN`) and runs
//! the node. The harness itself runs the correct code; only the nodes are broken.

use std::path::Path;

use shipper::broken::{self, Variant};
use shipsim_trace::{DeliveryRule, Rule};

/// The seeds the variant must be caught within.
const MAX_SEEDS: u64 = 5;
const VARIANT_ENV: &str = "SHIPSIM_BROKEN";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("node") {
        if let Ok(name) = std::env::var(VARIANT_ENV) {
            let variant = Variant::ALL.iter().find(|v| format!("{v:?}") == name).expect("a known variant");
            broken::set_process(*variant);
        }
        std::process::exit(shipsim::real::node_main(&args[2..]));
    }
    // libtest's `--list` and filters: this binary holds one case.
    if args.iter().any(|a| a == "--list") {
        println!("AckBeforeSink::real::crash-restart-receiver: test");
        return;
    }
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !"AckBeforeSink::real::crash-restart-receiver".contains(f.as_str())) {
        println!("running 0 tests");
        return;
    }
    ack_before_sink_is_caught_for_real();
    println!("test AckBeforeSink::real::crash-restart-receiver ... ok");
}

fn ack_before_sink_is_caught_for_real() {
    // SAFETY (edition 2024): set before any thread of this process starts; the node
    // processes inherit it.
    unsafe { std::env::set_var(VARIANT_ENV, "AckBeforeSink") };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/crash-restart-receiver.yaml");
    let scenario = shipsim::load(&path).expect("the bundled scenario loads");
    let exe = std::env::current_exe().expect("this binary");
    let no_loss = Rule::Delivery(DeliveryRule::NoLoss);
    for seed in 1..=MAX_SEEDS {
        let result = shipsim::real::run(&exe, &path, &scenario, seed).expect("the real run is carried out");
        if result.violations.iter().any(|v| v.rule == no_loss) {
            println!("AckBeforeSink caught for real at seed {seed}: delivery / no-loss");
            return;
        }
        println!("seed {seed}: not caught ({} violations)", result.violations.len());
    }
    panic!("AckBeforeSink was not caught in real mode within {MAX_SEEDS} seeds");
}
