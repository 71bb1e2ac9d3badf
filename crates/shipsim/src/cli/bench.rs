//! `shipsim bench`: the performance figures of the issue "Benchmarks", each
//! next to its baseline, measured in one run (absolute times drift on shared
//! machines; ratios measured side by side do not). Build with `--release`.
//!
//! 1. `router`: in-process shipping, ours against the seed's code, verbatim.
//! 2. `harness`: a 2-node scenario through the full harness against a bare
//!    turmoil program doing the same acked traffic.
//! 3. `speed`: simulated seconds, events and ticks per wall second of every
//!    bundled scenario.
//! 4. `explore`: seeds per minute of `shipsim explore` with 1 and 2 jobs.
//! 5. `memory`: peak resident memory of one run with 1 M events, in a child
//!    process.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::Status;
use super::stdout::{out, outln};

mod explore;
mod harness;
mod memory;
mod router;
mod speed;

/// Every item, in the order of the issue.
const ITEMS: [&str; 5] = ["router", "harness", "speed", "explore", "memory"];

/// Options of `shipsim bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Items to run, comma-separated: router, harness, speed, explore, memory (default: all).
    #[arg(long, value_delimiter = ',', value_name = "ITEMS")]
    pub only: Vec<String>,
    /// Print the figures as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Events per round of `router`.
    #[arg(long, default_value_t = 1_000_000)]
    pub router_events: usize,
    /// Rounds of `router` and `harness` (each side once per round, alternating; the best round counts).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Runs of each scenario of `speed` (the fastest counts).
    #[arg(long, default_value_t = 3)]
    pub speed_repeat: usize,
    /// The scenario `explore` sweeps.
    #[arg(long, default_value = "scenarios/baseline.yaml")]
    pub explore_scenario: PathBuf,
    /// Seeds of each `explore` sweep.
    #[arg(long, default_value_t = 200)]
    pub explore_seeds: u64,
    /// Acked events of `harness`.
    #[arg(long, default_value_t = 20_000)]
    pub harness_events: u64,
    /// Directory of the scenarios `speed` runs (every *.yaml in it).
    #[arg(long, default_value = "scenarios")]
    pub scenarios: PathBuf,
    /// Events of the `memory` run, all nodes together.
    #[arg(long, default_value_t = 1_000_000)]
    pub memory_events: u64,
    /// Nodes of the `memory` run.
    #[arg(long, default_value_t = 1)]
    pub memory_nodes: usize,
    /// Internal: be the child process of `memory` and run that many events.
    #[arg(long, hide = true, value_name = "EVENTS")]
    pub memory_child: Option<u64>,
}

/// Every figure of one `shipsim bench`.
#[derive(Debug, Default, Serialize)]
pub struct BenchReport {
    pub router: Option<router::RouterFigures>,
    pub harness: Option<harness::HarnessFigures>,
    pub speed: Option<Vec<speed::SpeedFigures>>,
    pub explore: Option<explore::ExploreFigures>,
    pub memory: Option<memory::MemoryFigures>,
    /// Items that could not be measured, with the reason.
    pub errors: Vec<String>,
}

/// `shipsim bench`.
pub fn run(args: &BenchArgs) -> Status {
    if let Some(events) = args.memory_child {
        return match memory::child(events, args.memory_nodes) {
            Ok(()) => Status::Pass,
            Err(err) => {
                eprintln!("error: {err}");
                Status::BadInput
            }
        };
    }
    if let Some(unknown) = args.only.iter().find(|item| !ITEMS.contains(&item.as_str())) {
        eprintln!("error: unknown bench item {unknown:?} (items: {})", ITEMS.join(", "));
        return Status::BadInput;
    }
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run `cargo run --release -p shipsim -- bench` for real figures");
    }
    let report = measure(args);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report).expect("figures serialize"));
    } else {
        out!("{}", render(&report));
    }
    if report.errors.is_empty() { Status::Pass } else { Status::Fail }
}

fn wanted(args: &BenchArgs, item: &str) -> bool {
    args.only.is_empty() || args.only.iter().any(|i| i == item)
}

/// Runs the chosen items, reporting progress on stderr.
pub fn measure(args: &BenchArgs) -> BenchReport {
    let mut report = BenchReport::default();
    if wanted(args, "router") {
        eprintln!("bench: router ({} events x {} rounds x 2 shippers)", args.router_events, args.rounds);
        report.router = Some(router::run(args.router_events, args.rounds));
    }
    if wanted(args, "harness") {
        eprintln!("bench: harness ({} acked events, harness and bare turmoil)", args.harness_events);
        report.harness = Some(harness::run(args.harness_events, args.rounds));
    }
    if wanted(args, "speed") {
        eprintln!("bench: speed (every {}/*.yaml, first seed)", args.scenarios.display());
        match speed::bundled(&args.scenarios).map_err(|e| format!("{}: {e}", args.scenarios.display())) {
            Ok(paths) => match speed::run(&paths, args.speed_repeat) {
                Ok(figures) => report.speed = Some(figures),
                Err(err) => report.errors.push(format!("speed: {err}")),
            },
            Err(err) => report.errors.push(format!("speed: {err}")),
        }
    }
    if wanted(args, "explore") {
        eprintln!(
            "bench: explore ({} seeds of {}, --jobs 1 then --jobs 2)",
            args.explore_seeds,
            args.explore_scenario.display()
        );
        match explore::run(&args.explore_scenario, args.explore_seeds) {
            Ok(figures) => report.explore = Some(figures),
            Err(err) => report.errors.push(format!("explore: {err}")),
        }
    }
    if wanted(args, "memory") {
        eprintln!(
            "bench: memory ({} events, {} node(s), child process)",
            args.memory_events, args.memory_nodes
        );
        match memory::run(args.memory_events, args.memory_nodes) {
            Ok(figures) => report.memory = Some(figures),
            Err(err) => report.errors.push(format!("memory: {err}")),
        }
    }
    report
}

fn met(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}

/// Thousands separators: 2533684 -> "2,533,684".
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The human table (Markdown, so it can go into the README as it is).
pub fn render(report: &BenchReport) -> String {
    let mut out = String::new();
    if let Some(r) = &report.router {
        let _ = writeln!(
            out,
            "1. router core, in process: {} events to one destination, current-thread runtime, best of {} alternating rounds\n",
            r.events, r.rounds
        );
        let _ = writeln!(out, "| shipper | events/s |\n| --- | ---: |");
        let _ = writeln!(
            out,
            "| seed's code, verbatim (oxirs-stream 0.3.1) | {} |",
            grouped(r.seed_events_per_s)
        );
        let _ = writeln!(
            out,
            "| ours (EventShipper + InProcessShipperTransport) | {} |",
            grouped(r.ours_events_per_s)
        );
        let _ = writeln!(
            out,
            "| ratio ours/seed (target >= 1.0) | {:.2} (met: {}) |\n",
            r.ratio,
            met(r.ratio >= 1.0)
        );
    }
    if let Some(h) = &report.harness {
        let _ = writeln!(
            out,
            "2. harness vs bare turmoil: {} acked events one at a time over a fixed 1 ms link, tick 1 ms\n",
            h.events
        );
        let _ = writeln!(out, "| program | wall s | simulated s |\n| --- | ---: | ---: |");
        let _ = writeln!(
            out,
            "| shipsim scenario, full harness ({} remote + {} local events, checks {}) | {:.3} | {:.3} |",
            h.harness_remote_events,
            h.harness_local_events,
            if h.harness_passed { "held" } else { "VIOLATED" },
            h.harness_wall_s,
            h.harness_simulated_s
        );
        let _ = writeln!(
            out,
            "| bare turmoil (128-byte messages, 1-byte acks) | {:.3} | {:.3} |",
            h.bare_wall_s, h.bare_simulated_s
        );
        let _ = writeln!(
            out,
            "| ratio harness/bare (target <= 1.5, goal <= 1.2) | {:.2} (met: {}) | |\n",
            h.ratio,
            met(h.ratio <= 1.5)
        );
    }
    if let Some(speed) = &report.speed {
        let _ = writeln!(out, "3. simulation speed, first seed of each scenario\n");
        let _ = writeln!(
            out,
            "| scenario | routed | simulated s | wall s | sim s / wall s | events/s | ticks/s | checks |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
        );
        for s in speed {
            let _ = writeln!(
                out,
                "| {} | {} | {:.3} | {:.3} | {:.0} | {} | {} | {} |",
                s.scenario,
                s.routed,
                s.simulated_s,
                s.wall_s,
                s.speedup,
                grouped(s.events_per_s),
                grouped(s.ticks_per_s),
                if s.passed { "held" } else { "VIOLATED" }
            );
        }
        out.push('\n');
    }
    if let Some(e) = &report.explore {
        let _ = writeln!(
            out,
            "4. explore throughput: {} seeds of {} ({} failing), every seed run\n",
            e.seeds, e.scenario, e.failures
        );
        let _ = writeln!(out, "| jobs | seeds/min |\n| --- | ---: |");
        let _ = writeln!(out, "| 1 | {} |", grouped(e.jobs1_seeds_per_min));
        let _ = writeln!(out, "| 2 | {} |", grouped(e.jobs2_seeds_per_min));
        let _ = writeln!(out, "| scaling jobs 2 / jobs 1 | {:.2} |\n", e.scaling);
    }
    if let Some(m) = &report.memory {
        let _ = writeln!(
            out,
            "5. memory: one run of {} events on {} node(s) ({} records, trace {} bytes, checks {}), in a child process\n",
            m.events,
            m.nodes,
            m.records,
            m.trace_bytes,
            if m.passed { "held" } else { "VIOLATED" }
        );
        let _ = writeln!(out, "| figure | value |\n| --- | ---: |");
        let _ = writeln!(
            out,
            "| peak RSS (VmHWM), target < 1 GiB | {:.0} MiB (met: {}) |",
            m.peak_rss_kib as f64 / 1024.0,
            met(m.peak_rss_kib < memory::TARGET_KIB)
        );
        let _ = writeln!(out, "| wall s (run + trace encoding) | {:.3} |", m.wall_s);
        let _ = writeln!(out, "| simulated s | {:.3} |\n", m.simulated_s);
    }
    for err in &report.errors {
        let _ = writeln!(out, "error: {err}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(only: &[&str]) -> BenchArgs {
        BenchArgs {
            only: only.iter().map(|s| s.to_string()).collect(),
            json: false,
            router_events: 200,
            rounds: 1,
            harness_events: 10,
            speed_repeat: 1,
            explore_scenario: PathBuf::new(),
            explore_seeds: 1,
            scenarios: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios"),
            memory_events: 100,
            memory_nodes: 1,
            memory_child: None,
        }
    }

    #[test]
    fn tiny_bench_produces_the_table_and_json() {
        let report = measure(&tiny(&["router", "harness"]));
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let h = report.harness.as_ref().expect("harness figures");
        assert_eq!(h.harness_remote_events, 10);
        assert!(h.harness_passed);
        let table = render(&report);
        assert!(table.contains("ratio ours/seed"), "{table}");
        assert!(table.contains("ratio harness/bare"), "{table}");
        let json: serde_json::Value = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["router"]["events"], 200);
        assert_eq!(json["harness"]["events"], 10);
        assert!(json["speed"].is_null());
    }

    #[test]
    fn memory_scenario_splits_the_events_and_grouping_reads() {
        let s = memory::scenario(1_000_000, 2);
        assert_eq!(s.nodes, ["n1", "n2"]);
        assert_eq!(s.workload.events, 500_000);
        assert_eq!(grouped(2533684.4), "2,533,684");
        assert_eq!(grouped(12.0), "12");
    }
}
