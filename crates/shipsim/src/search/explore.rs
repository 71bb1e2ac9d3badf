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

use shipsim_trace::Violation;

use super::fault_tally::{self, FaultTally};
use super::first_hits::{FirstHits, first_hits};
use super::ledger::Ledger;
use super::swarm::swarm;
use crate::scenario::Scenario;
use crate::transport::TransportFactory;

/// Workers get a larger stack than the 2 MiB default: a simulation runs a whole cluster's
/// tasks on one thread, as the main thread (8 MiB) of `shipsim run` does.
pub(super) const WORKER_STACK: usize = 8 << 20;

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

impl Options {
    /// The seeds the sweep runs, in order: this shard's share of the whole sweep.
    pub fn seed_list(&self) -> Vec<u64> {
        let end = self.first_seed.saturating_add(self.seeds);
        (self.first_seed..end).filter(|&s| self.shard.contains(s)).collect()
    }
}

/// How one seed went.
#[derive(Debug, Clone, PartialEq)]
pub enum SeedOutcome {
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
    pub outcome: SeedOutcome,
    /// The coverage probes the run reached, with their hits (see `RunResult::probes`).
    pub probes: BTreeMap<String, u64>,
    /// Each scripted fault's kind and whether it had an effect, in scenario order.
    pub faults: Vec<(shipsim_trace::FaultKind, bool)>,
    /// When and on which node each probe reached was first hit (empty for a harness that does
    /// not tell node lives apart): where guided exploration places its faults.
    pub first_hits: FirstHits,
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
    /// Which probes of the code under test the reported seeds reached.
    pub ledger: Ledger,
    /// The reported seeds' faults, by kind and effect.
    pub faults: FaultTally,
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
                SeedOutcome::Fail(violations) => fail_line(failure.seed, &violations[0], violations.len()),
                SeedOutcome::Error(err) => format!("seed {}: ERROR {err}", failure.seed),
                SeedOutcome::Pass => continue,
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

/// The report's line for a failing seed: its first violation and how many there were.
pub(super) fn fail_line(seed: u64, v: &Violation, count: usize) -> String {
    format!(
        "seed {seed}: FAIL {} / {} ({count} violations): expected {}, got {}",
        v.invariant(),
        v.rule.as_str(),
        v.expected,
        v.actual
    )
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

/// Runs the sweep on the transports `factory` builds (`None`: the one each seed's scenario
/// names, which a swarm variant may vary); `progress` is called on the calling thread after
/// each finished seed.
pub(crate) fn explore_with(
    scenario: &Scenario,
    options: &Options,
    factory: Option<&Arc<dyn TransportFactory>>,
    mut progress: impl FnMut(Progress),
) -> Sweep {
    let seeds = options.seed_list();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<(usize, SeedResult)>();
    let mut finished: BTreeMap<usize, SeedResult> = BTreeMap::new();
    let mut lowest_failure: Option<usize> = None;
    let mut failures = 0;
    // allow-nondeterminism: each seed's simulation runs whole on one worker thread; results are reported in seed order
    std::thread::scope(|scope| {
        for worker in 0..options.jobs.max(1).min(seeds.len().max(1)) {
            let (tx, seeds, next, stop) = (tx.clone(), &seeds, &next, &stop);
            // allow-nondeterminism: the worker threads of the sweep, one simulation each
            std::thread::Builder::new()
                .name(format!("explore-{worker}"))
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, move || {
                    while !stop.load(Ordering::SeqCst) {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(&seed) = seeds.get(i) else { break };
                        let result = run_seed_with(scenario, seed, options.swarm, factory.cloned());
                        if tx.send((i, result)).is_err() {
                            break;
                        }
                    }
                })
                .expect("cannot spawn an explore worker thread");
        }
        drop(tx);
        for (i, result) in rx {
            if result.outcome != SeedOutcome::Pass {
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
    let reported: Vec<SeedResult> =
        finished.into_iter().take_while(|(i, _)| cut.is_none_or(|low| *i <= low)).map(|(_, r)| r).collect();
    let mut ledger = Ledger::default();
    let mut faults = FaultTally::default();
    for result in &reported {
        ledger.add(result.seed, result.probes.keys());
        faults.add(result.seed, &result.faults);
    }
    let failures = reported.into_iter().filter(|r| r.outcome != SeedOutcome::Pass).collect();
    Sweep { planned: seeds.len(), ran, failures, stopped_early: ran < seeds.len(), ledger, faults }
}

/// Runs one seed of the sweep on the transports `factory` builds (`None`: the one the seed's
/// scenario names): the scenario's swarm variant for the seed when `swarm_on`.
pub(crate) fn run_seed_with(
    scenario: &Scenario,
    seed: u64,
    swarm_on: bool,
    factory: Option<Arc<dyn TransportFactory>>,
) -> SeedResult {
    let scenario = if swarm_on { swarm(scenario, seed) } else { scenario.clone() };
    run_variant(scenario, seed, factory)
}

/// Runs `scenario` (a variant, as it is) with `seed` on the transports `factory` builds
/// (`None`: the one the scenario names).
pub(super) fn run_variant(
    scenario: Scenario,
    seed: u64,
    factory: Option<Arc<dyn TransportFactory>>,
) -> SeedResult {
    let factory = factory.unwrap_or_else(|| crate::transport::kinds::scenario_factory(&scenario));
    // A sweep reads the verdict, the probes, the faults' effects and the first hits: the run
    // keeps no other record, so a sweep of a long scenario does not hold each run's trace.
    let (outcome, probes, faults, first_hits) =
        match crate::sim::run_traced(&scenario, seed, factory, None, false) {
            Ok(result) => {
                let faults = fault_tally::judged(result.records_or_kept());
                let first_hits = first_hits(result.records_or_kept());
                let outcome = if result.violations.is_empty() {
                    SeedOutcome::Pass
                } else {
                    SeedOutcome::Fail(result.violations)
                };
                (outcome, result.probes, faults, first_hits)
            }
            Err(err) => (SeedOutcome::Error(err.to_string()), BTreeMap::new(), Vec::new(), FirstHits::new()),
        };
    SeedResult { seed, scenario, outcome, probes, faults, first_hits }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two nodes, a few events, and a settle phase so short that some seeds cannot finish the
    /// workload: a mix of passing and failing seeds (of seeds 1..=12, 6 and 10 fail) in a
    /// fraction of a second.
    const TINY: &str = include_str!("../../tests/fixtures/tiny-explore.yaml");

    fn explore(scenario: &Scenario, options: &Options, progress: impl FnMut(Progress)) -> Sweep {
        explore_with(scenario, options, None, progress)
    }

    fn tiny() -> Scenario {
        crate::parse(TINY, "tiny.yaml").unwrap()
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
            .flat_map(|index| Options { shard: Shard { index, count: 3 }, ..base.clone() }.seed_list())
            .collect();
        assert_eq!(Options { shard: Shard { index: 1, count: 3 }, ..base.clone() }.seed_list(), [7, 10, 13]);
        union.sort();
        assert_eq!(union, base.seed_list());
        assert_eq!(base.seed_list(), (5..15).collect::<Vec<_>>());
    }
}
