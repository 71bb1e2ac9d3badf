//! `shipsim explore`: one scenario, many seeds, in parallel.
//!
//! Each seed is one simulation on its own worker thread (turmoil is single-threaded per `Sim`,
//! so threads are the unit of parallelism). Seeds are handed out in increasing order from a
//! shared counter and results are collected and reported in seed order, so the report does not
//! depend on the number of jobs:
//!
//! - without `keep_going`, a failure stops the handing out of new seeds, the seeds in flight are
//!   finished, and the sweep is cut at the LOWEST failing seed. Every seed below a failing one
//!   was handed out before it (the counter only grows) and is finished, so the lowest failing
//!   seed among the finished ones is the lowest failing seed of the whole sweep, whatever the
//!   number of jobs; seeds above it that happened to be in flight are dropped from the report;
//! - with `keep_going`, every seed runs and every failure is reported.
//!
//! Swarm testing (`swarm`, see [`swarm`]) and sharding (`shard`, see [`Shard`]) are functions
//! of the seed alone, so they keep the run a function of (scenario, seed) too.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rand::Rng as _;

use crate::kinds;
use crate::runner;
use crate::scenario::{self, FaultAction, LatencyRange, Scenario, Sink, SizeRange, to_yaml};
use crate::seeds;
use crate::transport::TransportFactory;
use shipsim_trace::FaultKind;
use shipsim_trace::Violation;

/// Workers get a larger stack than the 2 MiB default: a simulation runs a whole cluster's
/// tasks on one thread, as the main thread (8 MiB) of `shipsim run` does.
const WORKER_STACK: usize = 8 << 20;

/// `--shard i/n`: this process runs the seeds congruent to `i` mod `n`.
///
/// A CI matrix of `n` jobs, job `i` running `shipsim explore s.yaml --seeds N --shard i/n`,
/// covers exactly the seeds of one `--seeds N` sweep, each seed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This process's share, `0..count`.
    pub index: u64,
    /// How many processes split the sweep; 1 runs every seed.
    pub count: u64,
}

impl Shard {
    /// The whole sweep: `0/1`.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Whether `seed` belongs to this shard.
    pub fn contains(self, seed: u64) -> bool {
        seed % self.count == self.index
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("expected i/n with 0 <= i < n, got {text:?}");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// What to sweep and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The first seed of the sweep.
    pub first_seed: u64,
    /// How many seeds the whole sweep covers: `first_seed .. first_seed + seeds` (before
    /// sharding).
    pub seeds: u64,
    /// Worker threads, at least 1.
    pub jobs: usize,
    /// Run every seed instead of stopping at the first failure.
    pub keep_going: bool,
    /// Derive a swarm variant of the scenario per seed ([`swarm`]).
    pub swarm: bool,
    /// The share of the seeds this process runs (`--shard i/n`); [`Shard::ALL`] by default.
    pub shard: Shard,
}

impl Default for Options {
    fn default() -> Options {
        Options { first_seed: 1, seeds: 100, jobs: 1, keep_going: false, swarm: false, shard: Shard::ALL }
    }
}

/// The seeds a sweep runs, in order.
pub fn seed_list(options: &Options) -> Vec<u64> {
    let end = options.first_seed.saturating_add(options.seeds);
    (options.first_seed..end).filter(|&s| options.shard.contains(s)).collect()
}

/// How one seed went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Every invariant held (or was skipped, with its reason).
    Pass,
    /// The violations (never empty).
    Fail(Vec<Violation>),
    /// The run could not be carried out.
    Error(String),
}

/// One seed's result.
#[derive(Debug, Clone)]
pub struct SeedResult {
    /// The seed that ran.
    pub seed: u64,
    /// The scenario that ran: the input, or its swarm variant.
    pub scenario: Scenario,
    /// How the run went.
    pub outcome: Outcome,
}

/// The result of a sweep, independent of the number of jobs.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// Seeds the sweep was to run.
    pub planned: usize,
    /// Seeds reported: all of them, or those up to the lowest failing seed.
    pub ran: usize,
    /// Failures and errors, in seed order (passing seeds are only counted).
    pub failures: Vec<SeedResult>,
    /// Whether the sweep stopped at a failure before running every planned seed.
    pub stopped_early: bool,
}

impl Sweep {
    /// The lowest failing (or erroring) seed.
    pub fn first_failure(&self) -> Option<&SeedResult> {
        self.failures.first()
    }

    /// The report text: one line per failing seed and a total, nothing that depends on timing or
    /// on the number of jobs.
    pub fn render(&self, scenario_name: &str) -> String {
        let mut out = String::new();
        for failure in &self.failures {
            let line = match &failure.outcome {
                Outcome::Fail(violations) => {
                    let v = &violations[0];
                    format!(
                        "seed {}: FAIL {} / {} ({} violations): expected {}, got {}",
                        failure.seed,
                        v.invariant(),
                        v.rule,
                        violations.len(),
                        v.expected,
                        v.actual
                    )
                }
                Outcome::Error(err) => format!("seed {}: ERROR {err}", failure.seed),
                Outcome::Pass => continue,
            };
            out.push_str(&line);
            out.push('\n');
        }
        out.push_str(&format!(
            "{scenario_name}: {} of {} seeds run, {} failed{}\n",
            self.ran,
            self.planned,
            self.failures.len(),
            if self.stopped_early { " (stopped at the first failure)" } else { "" }
        ));
        out
    }
}

/// Progress as the collector sees it: seeds finished so far (in any order) and failures among
/// them. For the progress bar only; the report does not use it.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Seeds finished so far.
    pub done: usize,
    /// Seeds among them that failed or could not run.
    pub failures: usize,
}

/// Runs the sweep on the transport the scenario's `transport.kind` names. `progress` is called
/// on the calling thread after each finished seed.
pub fn explore(scenario: &Scenario, options: &Options, progress: impl FnMut(Progress)) -> Sweep {
    explore_with(scenario, options, &kinds::scenario_factory(scenario), progress)
}

/// [`explore`] on the transports `factory` builds.
pub fn explore_with(
    scenario: &Scenario,
    options: &Options,
    factory: &Arc<dyn TransportFactory>,
    mut progress: impl FnMut(Progress),
) -> Sweep {
    let seeds = seed_list(options);
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, SeedResult)>();
    let mut finished: BTreeMap<usize, SeedResult> = BTreeMap::new();
    let mut lowest_failure: Option<usize> = None;
    let mut failures = 0;
    std::thread::scope(|scope| {
        for worker in 0..options.jobs.max(1).min(seeds.len().max(1)) {
            let (tx, seeds, next, stop) = (tx.clone(), &seeds, &next, &stop);
            std::thread::Builder::new()
                .name(format!("explore-{worker}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, move || {
                    while !stop.load(Ordering::SeqCst) {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&seed) = seeds.get(i) else { break };
                        let result = run_seed_with(scenario, seed, options.swarm, factory.clone());
                        if tx.send((i, result)).is_err() {
                            break;
                        }
                    }
                })
                .expect("cannot spawn an explore worker thread");
        }
        drop(tx);
        for (i, result) in rx {
            if result.outcome != Outcome::Pass {
                failures += 1;
                lowest_failure = Some(lowest_failure.map_or(i, |low| low.min(i)));
                if !options.keep_going {
                    stop.store(true, Ordering::SeqCst);
                }
            }
            finished.insert(i, result);
            progress(Progress { done: finished.len(), failures });
        }
    });
    // Without keep_going, report the seeds up to the lowest failure: all of them ran.
    let cut = if options.keep_going { None } else { lowest_failure };
    let ran = cut.map_or(finished.len(), |low| low + 1);
    let failures = finished
        .into_iter()
        .take_while(|(i, _)| cut.is_none_or(|low| *i <= low))
        .map(|(_, r)| r)
        .filter(|r| r.outcome != Outcome::Pass)
        .collect();
    Sweep { planned: seeds.len(), ran, failures, stopped_early: ran < seeds.len() }
}

/// Runs one seed of the sweep, on the transport the scenario's `transport.kind` names.
pub fn run_seed(scenario: &Scenario, seed: u64, swarm_on: bool) -> SeedResult {
    run_seed_with(scenario, seed, swarm_on, kinds::scenario_factory(scenario))
}

/// [`run_seed`] on the transports `factory` builds.
pub fn run_seed_with(
    scenario: &Scenario,
    seed: u64,
    swarm_on: bool,
    factory: Arc<dyn TransportFactory>,
) -> SeedResult {
    let scenario = if swarm_on { swarm(scenario, seed) } else { scenario.clone() };
    let outcome = match runner::run_with(&scenario, seed, factory) {
        Ok(result) if result.violations.is_empty() => Outcome::Pass,
        Ok(result) => Outcome::Fail(result.violations),
        Err(err) => Outcome::Error(err.to_string()),
    };
    SeedResult { seed, scenario, outcome }
}

/// Kinds that only make sense together: a restart needs its crash, a reorder or release its
/// hold, a heal a partition. Swarm testing switches whole groups on and off so the variant stays
/// a valid scenario in the common case.
const KIND_GROUPS: [&[FaultKind]; 8] = [
    &[FaultKind::Partition, FaultKind::PartitionOneway, FaultKind::Heal],
    &[FaultKind::Crash, FaultKind::Restart],
    &[FaultKind::Bounce],
    &[FaultKind::Hold, FaultKind::Reorder, FaultKind::Release],
    &[FaultKind::Latency],
    &[FaultKind::Loss],
    &[FaultKind::DropRoute, FaultKind::RestoreRoute],
    &[FaultKind::Join, FaultKind::Leave],
];

/// The swarm variant of `scenario` for `seed` (swarm testing: Groce et al., 2012).
///
/// From `seeds::rng(seed, ["swarm"])` alone:
/// - each group of fault kinds in `KIND_GROUPS` present in the timeline is kept with
///   probability 1/2 (its faults are dropped otherwise), so a sweep sees each combination of
///   the scenario's fault kinds, including rare ones, instead of always all of them at once;
/// - the rates are varied: the network latency and each `latency` fault's range are scaled by
///   a factor in 0.5..4, the network loss and each `loss` fault's rate by a factor in 0.25..2
///   (never above max(rate, 0.5), and a zero rate stays zero, so validity does not change);
/// - when the latency grows (factor above 1), every time budget measured against round trips
///   grows by the same factor: the transport's ack timeout and deadline, the settle phase and
///   the run's duration. A scenario's timing is relative to its network (an ack timeout below
///   the round trip declares every connection stuck; a workload paced by round trips needs
///   proportionally longer to finish); without this a sweep would mostly find the limits of
///   the budgets it had just outgrown, not bugs. The transport's own constants (reconnect
///   backoff, connect timeout) are not scaled, so a sweep still meets them at new ratios;
/// - byte streams: with probability 1/4, a scenario that cuts no byte stream and loses no
///   message gets `network.segment: 1..1500` (frames arrive in pieces and reads end inside
///   them; with loss, more pieces per frame would only mean more losses per frame);
/// - the receiving application: with probability 1/2, a scenario that crashes or bounces
///   nodes and has no `sink` section gets a sink of 1ms..2ms per accept (scaled by the
///   latency factor), so a crash can land between an ack and an accept; its ack timeout and
///   deadline grow by a batch's worth of accepts. A scenario's own sink latency is scaled
///   like the network's;
/// - membership: the propagation delay of `join`/`leave` is scaled by a factor in 0..4
///   (0: every node adopts a change at once).
///
/// If the variant is not a valid scenario (dropping one group can rarely leave another fault
/// that needs it), the fault timeline is kept whole and only the rates vary; if that is invalid
/// too, the scenario is used unchanged. The variant is what runs and what a repro records, so
/// replaying needs no `--swarm`.
pub fn swarm(scenario: &Scenario, seed: u64) -> Scenario {
    let mut rng = seeds::rng(seed, &[b"swarm"]);
    let keep: Vec<bool> = KIND_GROUPS.iter().map(|_| rng.random_bool(0.5)).collect();
    let latency_factor = rng.random_range(0.5..4.0);
    let loss_factor = rng.random_range(0.25..2.0);

    let mut varied = scenario.clone();
    let scale_latency = |d: std::time::Duration| d.mul_f64(latency_factor);
    let scale_loss = |rate: f64| (rate * loss_factor).min(rate.max(0.5));
    varied.network.latency.min = scale_latency(varied.network.latency.min);
    varied.network.latency.max = scale_latency(varied.network.latency.max);
    varied.network.loss = scale_loss(varied.network.loss);
    let time_factor = latency_factor.max(1.0);
    for budget in [
        &mut varied.transport.ack_timeout,
        &mut varied.transport.deadline,
        &mut varied.expect.settle,
        &mut varied.duration,
    ] {
        *budget = budget.mul_f64(time_factor);
    }
    // Drawn after the older dimensions, so those keep the values a seed always gave them.
    let segment_on = rng.random_bool(0.25);
    let sink_on = rng.random_bool(0.5);
    let propagation_factor = rng.random_range(0.0..4.0);
    let lossless =
        varied.network.loss == 0.0 && !varied.faults.iter().any(|f| f.action.kind() == FaultKind::Loss);
    if segment_on && lossless && varied.network.segment.is_none() {
        varied.network.segment = Some(SizeRange { min: 1, max: 1500 });
    }
    let crashes =
        varied.faults.iter().any(|f| matches!(f.action, FaultAction::Crash(_) | FaultAction::Bounce(_)));
    if varied.sink == Sink::default() {
        if sink_on && crashes {
            varied.sink.latency = LatencyRange {
                min: scale_latency(Duration::from_millis(1)),
                max: scale_latency(Duration::from_millis(2)),
            };
            let accepts = varied.sink.latency.max * varied.workload.batch.max;
            varied.transport.ack_timeout += accepts;
            varied.transport.deadline += accepts;
        }
    } else {
        varied.sink.latency.min = scale_latency(varied.sink.latency.min);
        varied.sink.latency.max = scale_latency(varied.sink.latency.max);
    }
    varied.membership.propagation.min = varied.membership.propagation.min.mul_f64(propagation_factor);
    varied.membership.propagation.max = varied.membership.propagation.max.mul_f64(propagation_factor);
    for fault in &mut varied.faults {
        match &mut fault.action {
            FaultAction::Latency { value, .. } => {
                value.min = scale_latency(value.min);
                value.max = scale_latency(value.max);
            }
            FaultAction::Loss { rate, .. } => *rate = scale_loss(*rate),
            _ => {}
        }
    }
    let mut subset = varied.clone();
    subset.faults.retain(|f| {
        KIND_GROUPS.iter().zip(&keep).all(|(group, kept)| *kept || !group.contains(&f.action.kind()))
    });
    [subset, varied]
        .into_iter()
        .find_map(|candidate| scenario::parse(&to_yaml(&candidate), "<swarm>").ok())
        .unwrap_or_else(|| scenario.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two nodes, a few events, and a settle phase so short that some seeds cannot finish the
    /// workload: a mix of passing and failing seeds (of seeds 1..=12, 3, 4 and 5 fail) in a
    /// fraction of a second.
    const TINY: &str = include_str!("../tests/fixtures/tiny-explore.yaml");

    fn tiny() -> Scenario {
        scenario::parse(TINY, "tiny.yaml").unwrap()
    }

    fn sweep(jobs: usize, keep_going: bool, swarm: bool) -> String {
        let options = Options { first_seed: 1, seeds: 12, jobs, keep_going, swarm, shard: Shard::ALL };
        explore(&tiny(), &options, |_| {}).render("tiny")
    }

    #[test]
    fn the_report_does_not_depend_on_the_number_of_jobs() {
        for keep_going in [false, true] {
            let one = sweep(1, keep_going, false);
            assert_eq!(one, sweep(2, keep_going, false), "keep_going={keep_going}");
            assert_eq!(one, sweep(3, keep_going, false), "keep_going={keep_going}");
        }
        assert_eq!(sweep(1, true, true), sweep(2, true, true));
    }

    #[test]
    fn stops_at_the_lowest_failing_seed() {
        let all =
            explore(&tiny(), &Options { seeds: 12, jobs: 2, keep_going: true, ..Options::default() }, |_| {});
        let stopped = explore(&tiny(), &Options { seeds: 12, jobs: 2, ..Options::default() }, |_| {});
        let first = all.first_failure().expect("the tiny scenario fails some seed");
        assert!(all.failures.len() < 12, "and passes others");
        let got = stopped.first_failure().expect("a failure");
        assert_eq!(got.seed, first.seed);
        assert_eq!(stopped.failures.len(), 1);
        assert_eq!(stopped.ran as u64, first.seed, "seeds 1..=first ran");
        assert!(stopped.stopped_early);
    }

    #[test]
    fn shards_split_a_sweep_exactly() {
        assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
        for bad in ["3/3", "1/0", "x/2", "1", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        let base = Options { first_seed: 5, seeds: 10, ..Options::default() };
        let mut union: Vec<u64> = (0..3)
            .flat_map(|index| seed_list(&Options { shard: Shard { index, count: 3 }, ..base.clone() }))
            .collect();
        assert_eq!(seed_list(&Options { shard: Shard { index: 1, count: 3 }, ..base.clone() }), [7, 10, 13]);
        union.sort();
        assert_eq!(union, seed_list(&base));
        assert_eq!(seed_list(&base), (5..15).collect::<Vec<_>>());
    }

    #[test]
    fn swarm_variants_are_valid_and_a_function_of_the_seed() {
        let s = scenario::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scenarios/rolling-restarts.yaml"
        )))
        .unwrap();
        let mut distinct = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let v = swarm(&s, seed);
            assert_eq!(v, swarm(&s, seed));
            assert!(scenario::parse(&to_yaml(&v), "x").is_ok());
            distinct.insert(to_yaml(&v));
        }
        assert!(distinct.len() > 5, "swarm should vary the scenario: {}", distinct.len());
    }

    #[test]
    fn swarm_scales_time_budgets_with_latency() {
        let s = tiny();
        let (mut slower, mut faster) = (0, 0);
        for seed in 0..40 {
            let v = swarm(&s, seed);
            let factor = v.network.latency.max.as_secs_f64() / s.network.latency.max.as_secs_f64();
            let settle = v.expect.settle.as_secs_f64() / s.expect.settle.as_secs_f64();
            let duration = v.duration.as_secs_f64() / s.duration.as_secs_f64();
            let ack = v.transport.ack_timeout.as_secs_f64() / s.transport.ack_timeout.as_secs_f64();
            let deadline = v.transport.deadline.as_secs_f64() / s.transport.deadline.as_secs_f64();
            let expected = factor.max(1.0);
            for (what, got) in
                [("settle", settle), ("duration", duration), ("ack_timeout", ack), ("deadline", deadline)]
            {
                assert!((got - expected).abs() < 1e-6, "seed {seed}: {what} x{got}, latency x{factor}");
            }
            if factor > 1.0 { slower += 1 } else { faster += 1 }
        }
        assert!(slower > 0 && faster > 0, "both directions seen: {slower} slower, {faster} faster");
    }

    #[test]
    fn swarm_adds_byte_sink_and_membership_dimensions_on_some_seeds() {
        let load = |name: &str| {
            scenario::load(
                &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name),
            )
            .unwrap()
        };
        let (crashes, joins) = (load("crash-restart-receiver.yaml"), load("scale-out.yaml"));
        assert_eq!(crashes.network.segment, None);
        let (mut segmented, mut with_sink, mut propagation) = (0, 0, std::collections::BTreeSet::new());
        for seed in 0..80 {
            let v = swarm(&crashes, seed);
            segmented += usize::from(v.network.segment.is_some());
            if v.sink.latency.max > crashes.sink.latency.max * 4 {
                panic!("seed {seed}: a sink latency scales like the network's: {:?}", v.sink.latency);
            }
            with_sink += usize::from(v.sink.latency.max != crashes.sink.latency.max);
            propagation.insert(swarm(&joins, seed).membership.propagation.max);
        }
        assert!((5..40).contains(&segmented), "{segmented} of 80 segmented");
        assert!(with_sink > 40, "the scenario's own sink latency is scaled: {with_sink} of 80");
        assert!(propagation.len() > 40, "{propagation:?}");
        // A scenario that bounces nodes and has no sink gets one on about half the seeds,
        // with the ack timeout and deadline grown by a batch's worth of accepts.
        let bounces = load("bounce-sender.yaml");
        assert_eq!(bounces.sink, Sink::default());
        let sinks: Vec<Scenario> =
            (0..80).map(|seed| swarm(&bounces, seed)).filter(|v| v.sink != Sink::default()).collect();
        assert!((20..60).contains(&sinks.len()), "{} of 80 with a sink", sinks.len());
        for v in &sinks {
            let factor =
                (v.network.latency.max.as_secs_f64() / bounces.network.latency.max.as_secs_f64()).max(1.0);
            let accepts = v.sink.latency.max * bounces.workload.batch.max;
            let expected = bounces.transport.deadline.mul_f64(factor) + accepts;
            assert!(v.transport.deadline.abs_diff(expected) < Duration::from_micros(10), "{v:?}");
        }
        // A fault-free scenario gets none (nothing can land between an ack and an accept).
        let baseline = load("baseline.yaml");
        assert!((0..40).all(|seed| swarm(&baseline, seed).sink == Sink::default()));
    }
}
