//! Item 8: finding bugs, plain swarm against guided exploration. Each broken variant
//! (`shipper::broken`, the shipsim-cli feature `broken`, never in a release binary) runs under
//! `explore --swarm` seed by seed and under `explore --guided`, both on this thread (a variant
//! is switched on per thread) and both up to N seeds: the seeds (runs) to the first failure, the
//! wall time to it, and the probes and pairs of probes the N seeds reached.
//!
//! One sweep is one sample of a random process: which seed finds a bug first is luck as much as
//! method. So each mode runs `trials` sweeps per variant, trial `j` from first seed
//! `1 + j * N` (swarm's seeds and guided's fresh variants alike), and the figures are means
//! over the trials, as fuzzers are compared (repeated trials, never one run).

use std::path::Path;
use std::time::{Duration, Instant}; // allow-nondeterminism: a benchmark measures wall time

use super::paired::Paired;
use serde::Serialize;
use shipper::broken::{self, Variant};
use shipsim::scenario::{Scenario, TransportKind};
use shipsim::{GuidedOptions, Ledger, SeedOutcome, Simulation};

/// Where each variant is caught: the first case of each in `sims/broken.rs` (its scenario
/// and transport).
const CASES: &[(Variant, &str, TransportKind)] = &[
    (Variant::NoAck, "baseline", TransportKind::Tcp),
    (Variant::NoDedup, "latency-spike", TransportKind::Tcp),
    (Variant::BatchRoundRobin, "baseline", TransportKind::Tcp),
    (Variant::SilentBatchDrop, "partition-heal", TransportKind::Tcp),
    (Variant::StatsDoubleCount, "baseline", TransportKind::Tcp),
    (Variant::NoRouteAsSendFailure, "stale-route", TransportKind::Tcp),
    (Variant::AckBeforeSink, "crash-restart-receiver", TransportKind::Tcp),
    (Variant::NoDeadline, "partition-heal", TransportKind::Tcp),
    (Variant::ResendOutOfOrder, "partition-heal", TransportKind::Tcp),
    (Variant::Misroute, "baseline", TransportKind::Tcp),
    (Variant::SplitReadMishandled, "split-stream", TransportKind::Tcp),
    (Variant::AckBeforeAccept, "slow-sink-crash", TransportKind::Tcp),
    (Variant::StickyBackoff, "flapping-link", TransportKind::Tcp),
    (Variant::TimeoutAsAmbiguous, "tight-deadline", TransportKind::Tcp),
    (Variant::PartialAsOk, "tight-deadline", TransportKind::Tcp),
    (Variant::StaleMap, "scale-out", TransportKind::Tcp),
    (Variant::GrpcRetryWithoutKey, "latency-spike", TransportKind::Grpc),
    (Variant::GrpcOkOnHeaders, "crash-restart-receiver", TransportKind::Grpc),
    (Variant::NoStaleReplan, "membership-partition", TransportKind::Tcp),
    (Variant::NormalizeBackoffCap, "short-deadline-churn", TransportKind::Tcp),
    (Variant::FixedAckTimeout, "latency-rises", TransportKind::Tcp),
    (Variant::BackoffNeverGrows, "partition-heal", TransportKind::Tcp),
    (Variant::HandoverFlag, "concurrent-membership", TransportKind::Tcp),
    (Variant::GrpcBusyAsAccepted, "concurrent-busy-sink", TransportKind::Grpc),
    (Variant::LocalOkOnQueue, "baseline", TransportKind::Tcp),
];

/// One sweep's figures for one variant.
#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    /// Seeds (runs) up to and including the first failing one; `None`: none of the N failed.
    pub seeds_to_failure: Option<u64>,
    /// Wall time up to the end of that run (of all N when none failed).
    pub wall_s: f64,
    /// Probes reached by the N seeds.
    pub probes: usize,
    /// Pairs of probes reached in one run by the N seeds.
    pub pairs: usize,
}

/// One mode's trials for one variant, and their means.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// Each trial, in order of its first seed.
    pub trials: Vec<Trial>,
    /// Mean seeds to the first failure, a trial that found none counting N + 1.
    pub mean_seeds: f64,
    /// Mean wall time to the first failure (to the end, when none).
    pub mean_wall_s: f64,
    /// Trials that found the variant.
    pub found: usize,
    /// Mean probes reached.
    pub mean_probes: f64,
    /// Mean pairs of probes reached.
    pub mean_pairs: f64,
}

impl Side {
    /// The means of `trials`, each sweep of `seeds` seeds.
    fn of(trials: Vec<Trial>, seeds: u64) -> Side {
        let n = trials.len().max(1) as f64;
        let mean = |f: &dyn Fn(&Trial) -> f64| trials.iter().map(f).sum::<f64>() / n;
        Side {
            mean_seeds: mean(&|t| t.seeds_to_failure.unwrap_or(seeds + 1) as f64),
            mean_wall_s: mean(&|t| t.wall_s),
            found: trials.iter().filter(|t| t.seeds_to_failure.is_some()).count(),
            mean_probes: mean(&|t| t.probes as f64),
            mean_pairs: mean(&|t| t.pairs as f64),
            trials,
        }
    }
}

/// One variant, both modes.
#[derive(Debug, Clone, Serialize)]
pub struct VariantFigures {
    pub variant: String,
    pub scenario: String,
    pub swarm: Side,
    pub guided: Side,
    /// Trial `j` of swarm against trial `j` of guided (the same first seed).
    pub paired: Paired,
}

/// Item 8's figures.
#[derive(Debug, Clone, Serialize)]
pub struct FindingFigures {
    /// Seeds of each sweep.
    pub seeds: u64,
    /// Sweeps per variant and mode.
    pub trials: u64,
    pub variants: Vec<VariantFigures>,
    /// Every variant's pairs of trials together.
    pub pooled: Paired,
}

/// The pairs of (swarm, guided) seeds to the first failure of one variant's trials, a trial that
/// found nothing counting N + 1.
fn pairs(swarm: &Side, guided: &Side, seeds: u64) -> impl Iterator<Item = (u64, u64)> {
    let count = move |t: &Trial| t.seeds_to_failure.unwrap_or(seeds + 1);
    swarm.trials.iter().zip(&guided.trials).map(move |(s, g)| (count(s), count(g)))
}

/// What a sweep's progress says of its first failure: runs and wall time to it.
struct FirstFailure {
    started: Instant,
    at: Option<(u64, Duration)>,
}

impl FirstFailure {
    fn new() -> FirstFailure {
        FirstFailure { started: Instant::now(), at: None } // allow-nondeterminism: wall time
    }

    fn note(&mut self, done: usize, failures: usize) {
        if failures > 0 && self.at.is_none() {
            self.at = Some((done as u64, self.started.elapsed()));
        }
    }

    fn trial(&self, ledger: &Ledger) -> Trial {
        let (probes, pairs) = ledger.reached();
        let wall = self.at.map_or(self.started.elapsed(), |(_, wall)| wall);
        Trial { seeds_to_failure: self.at.map(|(seeds, _)| seeds), wall_s: wall.as_secs_f64(), probes, pairs }
    }
}

/// Plain swarm: seeds `first_seed..first_seed + N`, each `explore --swarm` would run, on this
/// thread.
fn swarm(scenario: &Scenario, variant: Variant, first_seed: u64, seeds: u64) -> Trial {
    let mut first = FirstFailure::new();
    let mut ledger = Ledger::default();
    let mut failures = 0;
    for (k, seed) in (first_seed..first_seed + seeds).enumerate() {
        let result = broken::with(variant, || Simulation::new(scenario).explore_seed(seed, true));
        failures += usize::from(result.outcome != SeedOutcome::Pass);
        ledger.add(seed, result.probes.keys());
        first.note(k + 1, failures);
    }
    first.trial(&ledger)
}

/// Guided: N runs of `explore --guided --keep-going --first-seed first_seed`, on this thread
/// (one job).
fn guided(scenario: &Scenario, variant: Variant, first_seed: u64, seeds: u64) -> Trial {
    let mut first = FirstFailure::new();
    let options = GuidedOptions { first_seed, seeds, keep_going: true, jobs: 1, ..GuidedOptions::default() };
    let result = broken::with(variant, || {
        Simulation::new(scenario).guided(&options, |p| first.note(p.done, p.failures))
    });
    first.trial(&result.sweep.ledger)
}

/// Every variant's case from `dir` (the bundled scenarios): `trials` sweeps of `seeds` seeds per
/// mode, trial `j` from first seed `1 + j * seeds`.
pub(crate) fn run(dir: &Path, seeds: u64, trials: u64) -> Result<FindingFigures, String> {
    let mut variants = Vec::new();
    for (variant, name, kind) in CASES {
        let path = dir.join(format!("{name}.yaml"));
        let mut scenario = shipsim::load(&path).map_err(|e| e.to_string())?;
        scenario.transport.kind = Some(*kind);
        eprintln!("bench: finding {variant:?} on {name} ({kind})");
        let firsts = (0..trials).map(|j| 1 + j * seeds);
        let swarm = firsts.clone().map(|first| swarm(&scenario, *variant, first, seeds)).collect();
        let guided = firsts.map(|first| guided(&scenario, *variant, first, seeds)).collect();
        let (swarm, guided) = (Side::of(swarm, seeds), Side::of(guided, seeds));
        let paired = Paired::of(pairs(&swarm, &guided, seeds));
        let (variant, scenario) = (format!("{variant:?}"), format!("{name} ({kind})"));
        variants.push(VariantFigures { variant, scenario, swarm, guided, paired });
    }
    let pooled = Paired::of(variants.iter().flat_map(|v| pairs(&v.swarm, &v.guided, seeds)));
    Ok(FindingFigures { seeds, trials, variants, pooled })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The means are over every trial, one that found nothing counting N + 1.
    #[test]
    fn a_side_averages_its_trials() {
        let trial =
            |seeds_to_failure, probes| Trial { seeds_to_failure, wall_s: 1.0, probes, pairs: 2 * probes };
        let side = Side::of(vec![trial(Some(2), 3), trial(None, 5), trial(Some(6), 4)], 30);
        assert_eq!(side.mean_seeds, (2.0 + 31.0 + 6.0) / 3.0);
        assert_eq!((side.found, side.mean_probes, side.mean_pairs), (2, 4.0, 8.0));
    }

    /// Every variant a simulation can run (real mode's have no simulated network).
    #[test]
    fn every_variant_has_a_case() {
        for variant in Variant::ALL.into_iter().filter(|v| !Variant::REAL_MODE.contains(v)) {
            assert!(CASES.iter().any(|(v, _, _)| *v == variant), "{variant:?} has no case");
        }
    }
}
