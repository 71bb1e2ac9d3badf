//! Item 8: finding bugs, plain swarm against guided exploration. Each broken variant
//! (`shipper::broken`, the shipsim-cli feature `broken`, never in a release binary) runs under
//! `explore --swarm` seed by seed and under `explore --guided`, both on this thread (a variant
//! is switched on per thread) and both up to N seeds: the seeds (runs) to the first failure, the
//! wall time to it, and the probes and pairs of probes the N seeds reached.

use std::path::Path;
use std::time::{Duration, Instant}; // allow-nondeterminism: a benchmark measures wall time

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
];

/// One mode's figures for one variant.
#[derive(Debug, Clone, Serialize)]
pub struct Side {
    /// Seeds (runs) up to and including the first failing one; `None`: none of the N failed.
    pub seeds_to_failure: Option<u64>,
    /// Wall time up to the end of that run (of all N when none failed).
    pub wall_s: f64,
    /// Probes reached by the N seeds.
    pub probes: usize,
    /// Pairs of probes reached in one run by the N seeds.
    pub pairs: usize,
}

/// One variant, both modes.
#[derive(Debug, Clone, Serialize)]
pub struct VariantFigures {
    pub variant: String,
    pub scenario: String,
    pub swarm: Side,
    pub guided: Side,
}

/// Item 8's figures.
#[derive(Debug, Clone, Serialize)]
pub struct FindingFigures {
    /// Seeds of each sweep.
    pub seeds: u64,
    pub variants: Vec<VariantFigures>,
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

    fn side(&self, ledger: &Ledger) -> Side {
        let (probes, pairs) = ledger.reached();
        let wall = self.at.map_or(self.started.elapsed(), |(_, wall)| wall);
        Side { seeds_to_failure: self.at.map(|(seeds, _)| seeds), wall_s: wall.as_secs_f64(), probes, pairs }
    }
}

/// Plain swarm: seeds 1..=N, each `explore --swarm` would run, on this thread.
fn swarm(scenario: &Scenario, variant: Variant, seeds: u64) -> Side {
    let mut first = FirstFailure::new();
    let mut ledger = Ledger::default();
    let mut failures = 0;
    for seed in 1..=seeds {
        let result = broken::with(variant, || Simulation::new(scenario).explore_seed(seed, true));
        failures += usize::from(result.outcome != SeedOutcome::Pass);
        ledger.add(seed, result.probes.keys());
        first.note(seed as usize, failures);
    }
    first.side(&ledger)
}

/// Guided: N runs of `explore --guided --keep-going`, on this thread (one job).
fn guided(scenario: &Scenario, variant: Variant, seeds: u64) -> Side {
    let mut first = FirstFailure::new();
    let options = GuidedOptions { seeds, keep_going: true, jobs: 1, ..GuidedOptions::default() };
    let result = broken::with(variant, || {
        Simulation::new(scenario).guided(&options, |p| first.note(p.done, p.failures))
    });
    first.side(&result.sweep.ledger)
}

/// Every variant's case from `dir` (the bundled scenarios), `seeds` seeds per mode.
pub(crate) fn run(dir: &Path, seeds: u64) -> Result<FindingFigures, String> {
    let mut variants = Vec::new();
    for (variant, name, kind) in CASES {
        let path = dir.join(format!("{name}.yaml"));
        let mut scenario = shipsim::load(&path).map_err(|e| e.to_string())?;
        scenario.transport.kind = Some(*kind);
        eprintln!("bench: finding {variant:?} on {name} ({kind})");
        variants.push(VariantFigures {
            variant: format!("{variant:?}"),
            scenario: format!("{name} ({kind})"),
            swarm: swarm(&scenario, *variant, seeds),
            guided: guided(&scenario, *variant, seeds),
        });
    }
    Ok(FindingFigures { seeds, variants })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_case() {
        for variant in Variant::ALL {
            assert!(CASES.iter().any(|(v, _, _)| *v == variant), "{variant:?} has no case");
        }
    }
}
