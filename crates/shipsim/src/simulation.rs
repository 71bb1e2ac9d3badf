//! The one entry point: a scenario on a transport, run with a seed, checked for determinism,
//! swept over seeds, or shrunk to a smaller failure. The seed belongs to each call, never to
//! the builder, so one `Simulation` serves a whole sweep.
//!
//! ```no_run
//! let scenario = shipsim::load(std::path::Path::new("scenarios/partition-heal.yaml")).unwrap();
//! let result = shipsim::Simulation::new(&scenario).run(7).unwrap();
//! assert!(result.passed(), "{}", result.summary);
//! ```

use std::sync::Arc;

use shipsim_trace::Rule;

use crate::scenario::Scenario;
use crate::search::explore::{self, Options, Progress, SeedResult, Sweep};
use crate::search::guided::{self, Guided, GuidedOptions};
use crate::search::shrink::{self, Shrunk};
use crate::sim::{self, RunError, RunResult};
use crate::transport::TransportFactory;
use crate::transport::kinds;

/// A scenario and the transport it runs on.
#[derive(Clone)]
pub struct Simulation<'a> {
    scenario: &'a Scenario,
    factory: Arc<dyn TransportFactory>,
    /// The factory is the one the scenario's `transport.kind` names, so a swarm variant that
    /// names another runs on that one.
    named: bool,
    /// Whether [`Simulation::run`]'s result keeps the run's records ([`Self::keep_records`]).
    keep_records: bool,
}

impl<'a> Simulation<'a> {
    /// `scenario` on the transport its `transport.kind` names (shipper-net's TCP when it names
    /// none).
    pub fn new(scenario: &'a Scenario) -> Self {
        Simulation { scenario, factory: kinds::scenario_factory(scenario), named: true, keep_records: true }
    }

    /// `scenario` on the transports an already shared `factory` builds.
    #[cfg(any(test, feature = "suite"))]
    pub(crate) fn with_factory(scenario: &'a Scenario, factory: Arc<dyn TransportFactory>) -> Self {
        Simulation { scenario, factory, named: false, keep_records: true }
    }

    /// Runs on the transports `factory` builds instead, whatever the scenario's
    /// `transport.kind`.
    pub fn transport(mut self, factory: impl TransportFactory) -> Self {
        self.factory = Arc::new(factory);
        self.named = false;
        self
    }

    /// Whether [`Self::run`] and [`Self::run_traced`] keep the run's records in their result
    /// (`RunResult::records`; the default). Without them the checkers still take in every
    /// record as it is made, so the verdict is the same, but the run's memory is what the
    /// checkers keep, not the whole trace: for long runs whose trace nobody reads. A failing
    /// run is still explained: it keeps the few records a report or a sweep reads
    /// (`RunResult::kept`).
    pub fn keep_records(mut self, keep: bool) -> Self {
        self.keep_records = keep;
        self
    }

    /// Runs the scenario once with `seed` and checks every invariant.
    pub fn run(&self, seed: u64) -> Result<RunResult, RunError> {
        sim::run_traced(self.scenario, seed, self.factory.clone(), None, self.keep_records)
    }

    /// [`Self::run`], writing the trace to `out` as the run makes it (the violations last):
    /// the result's `written` says what was written, or why it could not be.
    pub fn run_traced(&self, seed: u64, out: crate::TraceOut) -> Result<RunResult, RunError> {
        sim::run_traced(self.scenario, seed, self.factory.clone(), Some(out), self.keep_records)
    }

    /// Runs `seed` twice and compares the traces byte for byte: the first run's result, or
    /// [`RunError::Nondeterministic`] naming the first line where the two differ.
    pub fn check_determinism(&self, seed: u64) -> Result<RunResult, RunError> {
        let first = sim::run_with(self.scenario, seed, self.factory.clone())?;
        let second = sim::run_with(self.scenario, seed, self.factory.clone())?;
        match shipsim_trace::first_record_difference(&first.records, &second.records) {
            None => Ok(first),
            Some((line, first, second)) => Err(RunError::Nondeterministic { seed, line, first, second }),
        }
    }

    /// Sweeps the seeds `options` names, as `shipsim explore` does.
    pub fn explore(&self, options: &Options) -> Sweep {
        self.explore_with_progress(options, |_| {})
    }

    /// [`Self::explore`], calling `progress` on this thread after each finished seed.
    pub fn explore_with_progress(&self, options: &Options, progress: impl FnMut(Progress)) -> Sweep {
        explore::explore_with(self.scenario, options, self.explicit(), progress)
    }

    /// Sweeps the scenario guided by coverage (`explore --guided`), calling `progress` on this
    /// thread after each run taken.
    pub fn guided(&self, options: &GuidedOptions, progress: impl FnMut(Progress)) -> Guided {
        guided::guided_with(self.scenario, options, self.explicit(), progress)
    }

    /// One seed of a sweep exactly as an explore worker runs it: on the scenario's swarm
    /// variant for `seed` when `swarm` is on, on the transport the variant names unless one was
    /// given ([`Self::transport`]).
    pub fn explore_seed(&self, seed: u64, swarm: bool) -> SeedResult {
        explore::run_seed_with(self.scenario, seed, swarm, self.explicit().cloned())
    }

    /// The factory given explicitly, if any: otherwise each run takes the one its scenario
    /// names (a swarm variant may name another than the input).
    fn explicit(&self) -> Option<&Arc<dyn TransportFactory>> {
        (!self.named).then_some(&self.factory)
    }

    /// Shrinks a failure of `seed` to a smaller scenario that still violates `target`, in at
    /// most `budget` runs.
    pub fn shrink(&self, seed: u64, target: &Rule, budget: usize) -> Shrunk {
        shrink::shrink_on(self.scenario, seed, target, budget, &self.factory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::TransportKind;
    use crate::search::explore::SeedOutcome;
    use crate::transport::tcp::TcpFactory;
    use crate::transport::{Capabilities, LifeContext, NodeTransport};
    use shipsim_trace::{Lack, Record};

    /// The TCP transport declaring fewer capabilities than it has.
    struct Modest(Capabilities);

    impl TransportFactory for Modest {
        fn build(&self, life: &LifeContext<'_>) -> Arc<dyn NodeTransport> {
            TcpFactory.build(life)
        }

        fn capabilities(&self) -> Capabilities {
            self.0
        }
    }

    fn scenario(name: &str) -> Scenario {
        let path = format!("{}/../../scenarios/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
        crate::load(std::path::Path::new(&path)).unwrap()
    }

    /// What a sweep seed found: its violations' rules (none for a pass).
    fn rules(outcome: &SeedOutcome) -> Vec<String> {
        match outcome {
            SeedOutcome::Pass => Vec::new(),
            SeedOutcome::Fail(violations) => violations.iter().map(|v| v.rule.to_string()).collect(),
            SeedOutcome::Error(err) => vec![err.clone()],
        }
    }

    /// A swarm variant that names gRPC runs on gRPC (what its repro replays), unless a
    /// transport was given explicitly.
    #[test]
    fn a_swarm_variant_runs_on_the_transport_it_names() {
        let s = crate::parse(include_str!("../tests/fixtures/tiny-explore.yaml"), "tiny.yaml").unwrap();
        let mut differs = false;
        for seed in (1..60).filter(|&seed| crate::swarm(&s, seed).transport.kind == Some(TransportKind::Grpc))
        {
            let found = Simulation::new(&s).explore_seed(seed, true);
            let on = |factory: Arc<dyn TransportFactory>| {
                let result = Simulation::with_factory(&found.scenario, factory).run(seed).unwrap();
                result.violations.iter().map(|v| v.rule.to_string()).collect::<Vec<_>>()
            };
            assert_eq!(rules(&found.outcome), on(kinds::factory_for(TransportKind::Grpc)), "seed {seed}");
            let explicit = Simulation::new(&s).transport(TcpFactory).explore_seed(seed, true);
            assert_eq!(rules(&explicit.outcome), on(Arc::new(TcpFactory)), "seed {seed}");
            differs |= rules(&found.outcome) != rules(&explicit.outcome);
        }
        assert!(differs, "some seed tells the transports apart");
    }

    #[test]
    fn the_default_transport_is_the_one_the_scenario_names() {
        let s = scenario("partition-heal");
        let a = Simulation::new(&s).run(3).unwrap();
        let b = Simulation::new(&s).transport(TcpFactory).run(3).unwrap();
        assert_eq!(shipsim_trace::to_bytes(&a.records), shipsim_trace::to_bytes(&b.records));
    }

    fn transport_name(result: &RunResult) -> &str {
        match result.records.first() {
            Some(Record::Start(start)) => &start.transport_name,
            _ => panic!("a Start first"),
        }
    }

    #[test]
    fn the_scenario_s_kind_picks_the_transport_and_an_explicit_one_overrides_it() {
        let mut s = scenario("baseline");
        s.workload.events = 20;
        assert_eq!(transport_name(&Simulation::new(&s).run(1).unwrap()), "tcp");
        s.transport.kind = Some(TransportKind::Grpc);
        assert_eq!(transport_name(&Simulation::new(&s).run(1).unwrap()), "grpc");
        let custom = Simulation::new(&s).transport(Modest(Capabilities::ALL)).run(1).unwrap();
        assert_eq!(transport_name(&custom), "custom");
        assert_eq!(transport_name(&Simulation::new(&s).transport(TcpFactory).run(1).unwrap()), "tcp");
    }

    #[test]
    fn a_missing_capability_is_named_in_the_trace_and_skips_its_rules() {
        let s = scenario("partition-heal");
        let result = Simulation::new(&s).transport(Modest(Capabilities::default())).run(1).unwrap();
        let Some(Record::Start(start)) = result.records.first() else { panic!("a Start first") };
        // Every lack a transport can declare (a killed process's counters are real mode's).
        let declared: Vec<Lack> = Lack::ALL.iter().copied().filter(|&l| l != Lack::KilledCounters).collect();
        assert_eq!(start.lacks, declared);
        let text = result.summary.to_string();
        assert!(text.contains("redelivery-after-ack skipped: the transport reports no acks"), "{text}");
        assert!(text.contains("recovery skipped: the transport gave no timing"), "{text}");
        assert!(text.contains("received skipped: the transport has no counters"), "{text}");
    }

    #[test]
    fn a_scenario_needing_routes_is_refused_on_a_transport_without() {
        let s = scenario("stale-route");
        let err = Simulation::new(&s).transport(Modest(Capabilities::default())).run(1).unwrap_err();
        assert!(matches!(&err, RunError::Unsupported(why) if why.contains("drop-route")), "{err}");
        let routes = Capabilities { routes: true, ..Capabilities::default() };
        assert!(Simulation::new(&s).transport(Modest(routes)).run(1).is_ok());
    }

    #[test]
    fn the_same_seed_is_deterministic_and_the_check_says_so() {
        let mut s = scenario("partition-heal");
        s.workload.events = 40;
        let checked = Simulation::new(&s).check_determinism(2).unwrap();
        let plain = Simulation::new(&s).run(2).unwrap();
        assert_eq!(checked.records, plain.records);
    }

    /// A run that keeps no records checks every record all the same, as it is made: the same
    /// verdict and the same trace (its digest, streamed) as a run that keeps them, whose
    /// records encode to that very digest.
    #[test]
    fn a_run_that_keeps_no_records_gives_the_same_verdict_and_trace() {
        let mut s = scenario("crash-restart-receiver");
        s.workload.events = 80;
        let sink = || crate::TraceOut::new(std::io::sink());
        let kept = Simulation::new(&s).run_traced(2, sink()).unwrap();
        let dropped = Simulation::new(&s).keep_records(false).run_traced(2, sink()).unwrap();
        assert!(dropped.records.is_empty(), "no record kept");
        assert!(!kept.records.is_empty());
        assert_eq!(kept.summary, dropped.summary);
        let (digest, len) = kept.written.clone().unwrap().unwrap();
        assert_eq!(dropped.written.clone().unwrap().unwrap(), (digest, len));
        assert_eq!(shipsim_trace::Digest::of(&kept.records), (digest, len));
        assert!(kept.records.iter().any(|r| matches!(r, Record::FaultEffect(_))), "faults judged");
        assert_eq!(dropped.counts, shipsim_trace::Counts::of(&kept.records));
        assert_eq!(kept.counts, dropped.counts);
        // What a sweep reads of a run (faults, their effects, each life's probes): the same.
        let judged =
            |r: &&Record| matches!(r, Record::Fault { .. } | Record::FaultEffect(_) | Record::LifeProbes(_));
        let of_kept: Vec<&Record> = kept.records.iter().filter(judged).collect();
        assert!(of_kept.iter().any(|r| matches!(r, Record::FaultEffect(_))));
        let of_dropped: Vec<&Record> = dropped.records_or_kept().iter().filter(judged).collect();
        assert_eq!(of_dropped, of_kept);
        assert_eq!(kept.records_or_kept(), &kept.records[..]);
    }

    /// A failing run that keeps no records explains its violations as one that keeps them
    /// does: the same report, the faults before each violation quoted from the few records it
    /// kept for that.
    #[test]
    fn a_failing_run_that_keeps_no_records_reports_as_one_that_keeps_them() {
        let mut s = scenario("crash-restart-receiver");
        s.duration = std::time::Duration::from_millis(1_500);
        s.expect.settle = std::time::Duration::from_millis(100);
        let kept = Simulation::new(&s).run(2).unwrap();
        let dropped = Simulation::new(&s).keep_records(false).run(2).unwrap();
        assert!(!kept.passed(), "the run is cut before its workload ends");
        let render = |r: &RunResult| crate::report::render("s.yaml", 2, r, std::time::Duration::ZERO);
        assert_eq!(render(&kept), render(&dropped));
        assert!(render(&dropped).contains("crash: "), "{}", render(&dropped));
        assert!(dropped.records.is_empty() && dropped.kept.len() < kept.records.len() / 10);
        assert!(kept.kept.is_empty());
    }

    /// A transport too small for the scenario's frames is refused before the run starts.
    #[test]
    fn a_run_checks_its_transport_s_limits() {
        let mut s = scenario("big-payloads");
        s.transport.max_frame = 256;
        let err = Simulation::new(&s).run(1).unwrap_err();
        assert!(matches!(&err, RunError::Unsupported(why) if why.contains("max_frame")), "{err}");
    }
}
