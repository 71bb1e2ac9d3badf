//! `shipsim explore --guided`: exploration steered by coverage (as Antithesis and moonpool
//! do), instead of seeds and swarm variants drawn blindly.
//!
//! A corpus keeps every variant (scenario, swarm variant or mutation, and seed) whose run
//! reached a probe or a pair of probes no earlier run of the sweep had reached, with the
//! [`Moment`] the first of those fired. New runs are mutations of a corpus entry ([`mutate`]:
//! a fault moved or added near that moment and on that node, the latency changed, a fault
//! dropped, its faults on a fresh swarm variant's settings, one swarm dimension re-drawn, the
//! other transport, or only a new seed), chosen the more often the rarer what it found still
//! is, or fresh swarm variants (`swarm.rs`) taken in plain swarm's order of seeds. An entry
//! that reached a branch of its transport also runs once on the other transport, before any
//! drawn mutation, while that one has probes unreached ([`twin`]). How many of each, and which
//! operator, follow what each found lately ([`schedule`]): a corpus that stops finding gives
//! way to plain swarm. The sweep ends after `seeds` runs, at a failure (unless `keep_going`),
//! or when `plateau` runs in a row reached nothing new.
//!
//! Determinism: the sweep is a function of (scenario, options) alone. Its RNG is seeded from
//! the first seed and the budget; runs go in generations of [`GENERATION`], each generation's
//! candidates drawn from the corpus as it stood before it, and results are taken in run order
//! whatever the number of jobs; the corpus is a `Vec` and the ledger ordered maps.

use std::sync::Arc;
use std::sync::mpsc;

use rand::Rng as _;
use rand::rngs::SmallRng;

use super::explore::{Progress, SeedOutcome, SeedResult, Sweep, run_variant};
use super::fault_tally::FaultTally;
use super::ledger::Ledger;
use super::swarm::swarm;
use crate::scenario::Scenario;
use crate::transport::TransportFactory;
pub use moment::Moment;
pub use mutate::Mutation;
use schedule::{Arm, Schedule};

mod moment;
mod mutate;
mod schedule;
mod twin;

/// Runs drawn from one state of the corpus: the unit of parallelism, fixed so that the sweep
/// does not depend on the number of jobs.
pub const GENERATION: usize = 4;

/// Runs that are all fresh swarm variants, plain swarm's first seeds (but for [`WRITTEN`]): the
/// corpus they leave is what the mutations start from, and the rate at which fresh variants
/// found something is what the [`Schedule`] weighs the mutations against.
const WARM_UP: u64 = 2 * GENERATION as u64;

/// The run that is the scenario as written, with the first seed: a fuzzer's seed input. Its
/// author put its faults where the risk is, and swarm, which keeps a random subset of the fault
/// kinds, may not run them all together for many seeds. It comes second, so that swarm's first
/// seed stays guided's first run.
const WRITTEN: u64 = 1;

/// What to sweep and how.
#[derive(Debug, Clone)]
pub struct GuidedOptions {
    /// The first seed: the k-th fresh variant (from 0) is `swarm(scenario, first_seed + k)`
    /// run with that seed, as plain swarm's k-th seed; it seeds the sweep's own RNG too.
    pub first_seed: u64,
    /// At most this many runs.
    pub seeds: u64,
    /// Stop when this many runs in a row reached no new probe or pair.
    pub plateau: Option<u64>,
    /// Worker threads.
    pub jobs: usize,
    /// Run on after a failure.
    pub keep_going: bool,
}

impl Default for GuidedOptions {
    fn default() -> GuidedOptions {
        GuidedOptions { first_seed: 1, seeds: 100, plateau: None, jobs: 1, keep_going: false }
    }
}

/// A variant that reached something new.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The run that found it, numbered from the first seed (the ledger's numbering).
    pub run: u64,
    /// The simulation seed it ran with.
    pub seed: u64,
    /// The scenario it ran.
    pub scenario: Scenario,
    /// What it reached first: probes, and pairs as `a + b`.
    pub novel: Vec<String>,
    /// When and where the earliest of what it found first fired, if the trace says.
    pub moment: Option<Moment>,
    /// How often it was mutated since.
    pub picks: u64,
}

/// Where a run's variant came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The scenario as written.
    Written,
    /// A fresh swarm variant.
    Fresh,
    /// A mutation of the corpus entry at this index.
    Mutated(usize, Mutation),
}

/// The result of a guided sweep.
#[derive(Debug, Clone)]
pub struct Guided {
    /// Failures and the ledger, as a plain sweep reports them; the ledger counts runs,
    /// numbered from the first seed.
    pub sweep: Sweep,
    /// The corpus, in the order it grew.
    pub corpus: Vec<Entry>,
    /// Each run's origin, in run order.
    pub origins: Vec<Origin>,
    /// Whether the sweep ended at its plateau.
    pub plateaued: bool,
}

impl Guided {
    /// The summary line: runs, corpus, where the runs came from, why it ended.
    pub fn render(&self) -> String {
        let count = |origin: Origin| self.origins.iter().filter(|o| **o == origin).count();
        let (written, fresh) = (count(Origin::Written), count(Origin::Fresh));
        format!(
            "guided: {} runs ({} as written, {} fresh swarm variants, {} mutations), corpus of {}{}\n",
            self.origins.len(),
            written,
            fresh,
            self.origins.len() - written - fresh,
            self.corpus.len(),
            if self.plateaued { ", stopped at the plateau" } else { "" }
        )
    }
}

/// A run to carry out.
struct Candidate {
    scenario: Scenario,
    seed: u64,
    origin: Origin,
    arm: Arm,
}

/// The sweep's state between generations.
struct State {
    rng: SmallRng,
    ledger: Ledger,
    faults: FaultTally,
    corpus: Vec<Entry>,
    /// Per corpus entry: whether it ran on the other transport with its own seed (or could
    /// not): its twin would repeat a run.
    twinned: Vec<bool>,
    /// Whether a variant may change transport: not when the scenario names its transport, nor
    /// when the caller brought a transport of its own (every variant runs on it).
    twins: bool,
    origins: Vec<Origin>,
    failures: Vec<SeedResult>,
    since_growth: u64,
    /// Fresh swarm variants drawn so far: the next is swarm's seed `first_seed + fresh`.
    fresh: u64,
    schedule: Schedule,
}

/// Runs the guided sweep of `scenario`; `progress` after each run taken.
pub(crate) fn guided_with(
    scenario: &Scenario,
    options: &GuidedOptions,
    factory: Option<&Arc<dyn TransportFactory>>,
    mut progress: impl FnMut(Progress),
) -> Guided {
    let seed_bytes = options.seeds.to_le_bytes();
    let mut state = State {
        rng: crate::seeds::rng(options.first_seed, &[b"guided", &seed_bytes]),
        ledger: Ledger::default(),
        faults: FaultTally::default(),
        corpus: Vec::new(),
        twinned: Vec::new(),
        twins: factory.is_none() && scenario.transport.kind.is_none(),
        origins: Vec::new(),
        failures: Vec::new(),
        since_growth: 0,
        fresh: 0,
        schedule: Schedule::default(),
    };
    let (mut run, mut stop, mut plateaued) = (0, false, false);
    while run < options.seeds && !stop {
        let n = (options.seeds - run).min(GENERATION as u64);
        let candidates: Vec<Candidate> =
            (run..run + n).map(|r| state.candidate(scenario, options.first_seed, r)).collect();
        for (candidate, result) in candidates.iter().zip(run_all(&candidates, options.jobs, factory)) {
            let failed = state.take(options.first_seed + run, candidate, result);
            run += 1;
            progress(Progress { done: run as usize, failures: state.failures.len() });
            plateaued = options.plateau.is_some_and(|k| state.since_growth >= k);
            if plateaued || (failed && !options.keep_going) {
                stop = true;
                break;
            }
        }
    }
    let sweep = Sweep {
        planned: options.seeds as usize,
        ran: run as usize,
        failures: state.failures,
        stopped_early: run < options.seeds,
        ledger: state.ledger,
        faults: state.faults,
    };
    Guided { sweep, corpus: state.corpus, origins: state.origins, plateaued }
}

impl State {
    /// The next run, run `run` of the sweep: a fresh swarm variant (all of the first
    /// [`WARM_UP`] and until the corpus has an entry, then as often as the [`Schedule`] says),
    /// the next in plain swarm's order, so that guided never skips what swarm would try first;
    /// or a mutation of an entry picked by rarity, with an operator the schedule draws.
    fn candidate(&mut self, scenario: &Scenario, first_seed: u64, run: u64) -> Candidate {
        if run == WRITTEN {
            let written = scenario.clone();
            return Candidate {
                scenario: written,
                seed: first_seed,
                origin: Origin::Written,
                arm: Arm::Written,
            };
        }
        let chance = self.schedule.fresh_chance(self.since_growth);
        if self.corpus.is_empty() || run < WARM_UP || self.rng.random_bool(chance) {
            let seed = first_seed + self.fresh;
            self.fresh += 1;
            return Candidate {
                scenario: swarm(scenario, seed),
                seed,
                origin: Origin::Fresh,
                arm: Arm::Fresh,
            };
        }
        if let Some(twin) = self.twin(scenario) {
            return twin;
        }
        let operator = self.schedule.operator(&mut self.rng);
        let parent = self.pick();
        self.corpus[parent].picks += 1;
        let entry = &self.corpus[parent];
        let (child, mutation) = mutate::mutate(
            scenario,
            &entry.scenario,
            entry.moment.as_ref(),
            operator,
            self.twins,
            &mut self.rng,
        );
        // Half the mutations keep the parent's seed (the same random sources, so the run stays
        // close to the parent's); a reseed always takes a new one, and so does a twin that would
        // repeat the entry's run on the other transport.
        let repeat = mutation == Mutation::Twin && self.twinned[parent];
        let keep_seed = mutation != Mutation::Reseed && !repeat && self.rng.random_bool(0.5);
        let seed = if keep_seed { self.corpus[parent].seed } else { first_seed + run };
        if keep_seed && mutation == Mutation::Twin {
            self.twinned[parent] = true;
        }
        Candidate {
            scenario: child,
            seed,
            origin: Origin::Mutated(parent, mutation),
            arm: Arm::Mutate(operator),
        }
    }

    /// The transport twin of the first entry due one ([`twin::due`]), with the entry's seed:
    /// the same random sources meet the other transport's code. The entry is marked whether
    /// or not its twin is a valid scenario.
    fn twin(&mut self, scenario: &Scenario) -> Option<Candidate> {
        if !self.twins {
            return None;
        }
        loop {
            let found = self.corpus.iter().map(|e| (&e.scenario, e.novel.as_slice()));
            let parent = twin::due(found, &self.ledger, &self.twinned)?;
            self.twinned[parent] = true;
            if let Some(child) = twin::twin(scenario, &self.corpus[parent].scenario) {
                self.corpus[parent].picks += 1;
                return Some(Candidate {
                    scenario: child,
                    seed: self.corpus[parent].seed,
                    origin: Origin::Mutated(parent, Mutation::Twin),
                    arm: Arm::Twin,
                });
            }
        }
    }

    /// A corpus entry, drawn with a weight that falls as what it found first becomes common
    /// (the runs that reached it since) and as it is mutated.
    fn pick(&mut self) -> usize {
        let weights: Vec<u64> =
            self.corpus.iter().map(|e| 1_000_000 / (self.rarity(e) + e.picks).max(1)).collect();
        let total: u64 = weights.iter().sum();
        let mut at = self.rng.random_range(0..total.max(1));
        for (i, w) in weights.iter().enumerate() {
            if at < *w {
                return i;
            }
            at -= w;
        }
        self.corpus.len() - 1
    }

    /// How many runs reached the rarest of what `entry` found first.
    fn rarity(&self, entry: &Entry) -> u64 {
        let count = |item: &String| match item.split_once(" + ") {
            Some((a, b)) => self.ledger.pairs.get(&(a.to_owned(), b.to_owned())).map_or(0, |t| t.seeds),
            None => self.ledger.probes.get(item).map_or(0, |t| t.seeds),
        };
        entry.novel.iter().map(count).min().unwrap_or(1) as u64
    }

    /// Takes a run's result: the ledger, the corpus when it reached something new, the
    /// failures. Whether it failed.
    fn take(&mut self, label: u64, candidate: &Candidate, result: SeedResult) -> bool {
        let novel = novelty(&self.ledger, &result);
        self.ledger.add(label, result.probes.keys());
        self.faults.add(label, &result.faults);
        self.origins.push(candidate.origin);
        self.schedule.record(candidate.arm, !novel.is_empty());
        if novel.is_empty() {
            self.since_growth += 1;
        } else {
            self.since_growth = 0;
            let moment = moment::of(&novel, &result.first_hits);
            // A twin with its parent's seed: its own twin would be its parent's run again.
            let repeats_parent = matches!(candidate.origin,
                Origin::Mutated(p, Mutation::Twin) if self.corpus[p].seed == candidate.seed);
            self.twinned.push(repeats_parent);
            self.corpus.push(Entry {
                run: label,
                seed: candidate.seed,
                scenario: candidate.scenario.clone(),
                novel,
                moment,
                picks: 0,
            });
        }
        let failed = result.outcome != SeedOutcome::Pass;
        if failed {
            self.failures.push(result);
        }
        failed
    }
}

/// The probes and pairs `result` reached that `ledger` has not counted.
fn novelty(ledger: &Ledger, result: &SeedResult) -> Vec<String> {
    let hit: Vec<&String> = result.probes.keys().collect();
    let mut novel: Vec<String> = hit
        .iter()
        .filter(|p| ledger.probes.get(**p).is_none_or(|t| t.seeds == 0))
        .map(|p| (*p).clone())
        .collect();
    for (i, a) in hit.iter().enumerate() {
        for b in &hit[i + 1..] {
            // Probe names come sorted (a BTreeMap's keys): (a, b) is the ledger's order.
            if !ledger.pairs.contains_key(&((*a).clone(), (*b).clone())) {
                novel.push(format!("{a} + {b}"));
            }
        }
    }
    novel
}

/// Runs a generation's candidates, on `jobs` worker threads (on this one for a single job),
/// and gives their results in the candidates' order.
fn run_all(
    candidates: &[Candidate],
    jobs: usize,
    factory: Option<&Arc<dyn TransportFactory>>,
) -> Vec<SeedResult> {
    let run = |c: &Candidate| run_variant(c.scenario.clone(), c.seed, factory.cloned());
    if jobs <= 1 {
        return candidates.iter().map(run).collect();
    }
    let (tx, rx) = mpsc::channel::<(usize, SeedResult)>();
    let next = std::sync::atomic::AtomicUsize::new(0);
    // allow-nondeterminism: each run is whole on one worker thread; results are taken in run order
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(candidates.len()) {
            let (tx, next, run) = (tx.clone(), &next, &run);
            // allow-nondeterminism: the worker threads of a generation, one simulation each
            std::thread::Builder::new()
                .stack_size(super::explore::WORKER_STACK)
                .spawn_scoped(scope, move || {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(c) = candidates.get(i) else { break };
                        if tx.send((i, run(c))).is_err() {
                            break;
                        }
                    }
                })
                .expect("cannot spawn a guided worker thread");
        }
    });
    drop(tx);
    let mut results: Vec<(usize, SeedResult)> = rx.into_iter().collect();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str) -> Scenario {
        let mut s = crate::bundled::scenario(name);
        s.workload.events = s.workload.events.min(80);
        s
    }

    /// What a sweep did, as comparable text: each run's origin, the corpus, the ledger.
    fn fingerprint(g: &Guided) -> String {
        let corpus: Vec<String> = g
            .corpus
            .iter()
            .map(|e| format!("{} {} {:?} {}", e.run, e.seed, e.novel, crate::scenario::to_yaml(&e.scenario)))
            .collect();
        format!("{:?}\n{corpus:?}\n{}{}", g.origins, g.sweep.ledger.render(), g.sweep.render("x"))
    }

    #[test]
    fn the_same_options_give_the_same_sweep() {
        let s = scenario("crash-restart-receiver");
        let options = GuidedOptions { seeds: 12, keep_going: true, ..GuidedOptions::default() };
        let one = guided_with(&s, &options, None, |_| {});
        assert!(one.origins.iter().any(|o| matches!(o, Origin::Mutated(..))), "{:?}", one.origins);
        let two = guided_with(&s, &GuidedOptions { jobs: 2, ..options.clone() }, None, |_| {});
        assert_eq!(fingerprint(&one), fingerprint(&two), "one job or two, the same sweep");
        let other = guided_with(&s, &GuidedOptions { first_seed: 5, ..options }, None, |_| {});
        assert_ne!(fingerprint(&one), fingerprint(&other), "another first seed, another sweep");
    }

    /// An entry joins the corpus exactly when its run reached a probe or pair no earlier run
    /// had; a run that reached nothing new leaves it as it was.
    #[test]
    fn the_corpus_grows_only_on_novelty() {
        let s = scenario("every-fault");
        let g = guided_with(
            &s,
            &GuidedOptions { seeds: 12, keep_going: true, ..GuidedOptions::default() },
            None,
            |_| {},
        );
        let mut seen = Ledger::default();
        let mut expected = 0;
        for (i, entry) in g.corpus.iter().enumerate() {
            assert!(!entry.novel.is_empty(), "entry {i}");
            let replay = run_variant(entry.scenario.clone(), entry.seed, None);
            assert_eq!(novelty(&seen, &replay), entry.novel, "entry {i} replays what it found");
            assert_eq!(moment::of(&entry.novel, &replay.first_hits), entry.moment, "entry {i}");
            seen.add(entry.run, replay.probes.keys());
            expected += 1;
        }
        assert_eq!(g.corpus.len(), expected);
        if cfg!(tokio_unstable) && shipper::probes::ENABLED {
            assert!(g.corpus.iter().any(|e| e.moment.is_some()), "the trace gives the corpus its moments");
        }
        assert!(g.corpus.len() < g.origins.len(), "some run found nothing new: {}", g.render());
        let (probes, pairs) = g.sweep.ledger.reached();
        let (corpus_probes, corpus_pairs) = seen.reached();
        assert_eq!((probes, pairs), (corpus_probes, corpus_pairs), "the corpus holds all the sweep reached");
        // A run of a variant already in the corpus is never novel.
        let first = &g.corpus[0];
        assert!(novelty(&g.sweep.ledger, &run_variant(first.scenario.clone(), first.seed, None)).is_empty());
    }

    /// A sweep's first run is swarm's first seed, its second the scenario as written with that
    /// seed, and fresh variants go on in swarm's order: swarm's second seed comes third.
    #[test]
    fn the_second_run_is_the_scenario_as_written() {
        let s = scenario("partition-heal");
        let options = GuidedOptions { first_seed: 7, seeds: 3, keep_going: true, ..GuidedOptions::default() };
        let g = guided_with(&s, &options, None, |_| {});
        assert_eq!(g.origins, [Origin::Fresh, Origin::Written, Origin::Fresh]);
        let as_written = run_variant(s.clone(), 7, None);
        let first_swarm = run_variant(swarm(&s, 7), 7, None);
        let second_swarm = run_variant(swarm(&s, 8), 8, None);
        let mut expected = Ledger::default();
        for (label, run) in [(7, &first_swarm), (8, &as_written), (9, &second_swarm)] {
            expected.add(label, run.probes.keys());
        }
        assert_eq!(g.sweep.ledger.render(), expected.render());
        assert!(g.render().contains("(1 as written, 2 fresh swarm variants, 0 mutations)"), "{}", g.render());
    }

    /// A sweep runs transport twins, each of an entry on the other transport; none on a
    /// scenario that names its transport. No entry repeats an earlier run.
    #[test]
    fn twins_run_on_the_other_transport_unless_the_scenario_names_one() {
        let s = scenario("crash-restart-receiver");
        let options = GuidedOptions { seeds: 40, keep_going: true, ..GuidedOptions::default() };
        let g = guided_with(&s, &options, None, |_| {});
        let is_twin = |o: &Origin| matches!(o, Origin::Mutated(_, Mutation::Twin));
        assert!(g.origins.iter().any(is_twin), "{}", g.render());
        let kind = |e: &Entry| e.scenario.transport.kind.unwrap_or_default();
        for twin in &g.corpus {
            if let Origin::Mutated(parent, Mutation::Twin) = g.origins[(twin.run - 1) as usize] {
                assert_ne!(kind(twin), kind(&g.corpus[parent]), "run {}", twin.run);
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for e in &g.corpus {
            let run = (crate::scenario::to_yaml(&e.scenario), e.seed);
            assert!(seen.insert(run), "run {} repeats a run", e.run);
        }
        let mut named = s.clone();
        named.transport.kind = Some(crate::scenario::TransportKind::Tcp);
        let g = guided_with(&named, &options, None, |_| {});
        assert!(!g.origins.iter().any(is_twin), "{:?}", g.origins);
    }

    #[test]
    fn a_plateau_ends_the_sweep() {
        let s = scenario("baseline");
        let g = guided_with(
            &s,
            &GuidedOptions { seeds: 40, plateau: Some(3), keep_going: true, ..GuidedOptions::default() },
            None,
            |_| {},
        );
        assert!(g.plateaued && g.sweep.ran < 40, "{}", g.render());
        assert_eq!(g.origins.len(), g.sweep.ran);
    }
}
