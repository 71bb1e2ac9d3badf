//! The library API: run a scenario (or sweep its seeds, or shrink a failure) on any transport
//! from a user's own `cargo test`.
//!
//! ```no_run
//! let scenario = shipsim::load(std::path::Path::new("scenarios/partition-heal.yaml")).unwrap();
//! let result = shipsim::Simulation::new(&scenario).seed(7).run().unwrap();
//! assert!(result.passed(), "{}", result.summary);
//! ```

use std::sync::Arc;

use crate::explore::{self, Options, Progress, Sweep};
use crate::kinds;
use crate::runner::{self, RunError, RunResult};
use crate::scenario::Scenario;
use crate::shrink::{self, Shrunk};
use crate::transport::TransportFactory;
use shipsim_trace::Rule;

/// A scenario, a transport and a seed, ready to run.
#[derive(Clone)]
pub struct Simulation<'a> {
    scenario: &'a Scenario,
    factory: Arc<dyn TransportFactory>,
    seed: u64,
}

impl<'a> Simulation<'a> {
    /// `scenario` on the transport its `transport.kind` names (shipper-net's TCP when it names
    /// none) with seed 1.
    pub fn new(scenario: &'a Scenario) -> Self {
        Simulation { scenario, factory: kinds::scenario_factory(scenario), seed: 1 }
    }

    /// Runs on the transports `factory` builds instead, whatever the scenario's
    /// `transport.kind`.
    pub fn transport(mut self, factory: impl TransportFactory) -> Self {
        self.factory = Arc::new(factory);
        self
    }

    /// Runs with `seed`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Runs the scenario once and checks every invariant.
    pub fn run(&self) -> Result<RunResult, RunError> {
        runner::run_with(self.scenario, self.seed, self.factory.clone())
    }

    /// Sweeps the seeds `options` names (the seed set here is not used), as `shipsim explore`
    /// does.
    pub fn explore(&self, options: &Options) -> Sweep {
        explore::explore_with(self.scenario, options, &self.factory, |_: Progress| {})
    }

    /// Shrinks a failure of this seed to a smaller scenario that still violates `target`,
    /// in at most `budget` runs.
    pub fn shrink(&self, target: &Rule, budget: usize) -> Shrunk {
        shrink::shrink_on(self.scenario, self.seed, target, budget, &self.factory)
    }
}

/// Runs `scenario` with `seed` on the transport its `transport.kind` names.
pub fn run(scenario: &Scenario, seed: u64) -> Result<RunResult, RunError> {
    Simulation::new(scenario).seed(seed).run()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::TransportKind;
    use crate::tcp::TcpFactory;
    use crate::transport::{Capabilities, LifeContext, NodeTransport};

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
        crate::scenario::load(std::path::Path::new(&path)).unwrap()
    }

    #[test]
    fn the_default_transport_is_the_runner_s() {
        let s = scenario("partition-heal");
        let a = run(&s, 3).unwrap();
        let b = runner::run(&s, 3).unwrap();
        assert_eq!(shipsim_trace::to_bytes(&a.records), shipsim_trace::to_bytes(&b.records));
    }

    fn transport_name(result: &RunResult) -> &str {
        match result.records.first() {
            Some(shipsim_trace::Record::Start(start)) => &start.transport_name,
            _ => panic!("a Start first"),
        }
    }

    #[test]
    fn the_scenario_s_kind_picks_the_transport_and_an_explicit_one_overrides_it() {
        let mut s = scenario("baseline");
        s.workload.events = 20;
        assert_eq!(transport_name(&run(&s, 1).unwrap()), "tcp");
        s.transport.kind = Some(TransportKind::Grpc);
        assert_eq!(transport_name(&run(&s, 1).unwrap()), "grpc");
        assert_eq!(transport_name(&runner::run(&s, 1).unwrap()), "grpc");
        let custom = Simulation::new(&s).transport(Modest(Capabilities::ALL)).run().unwrap();
        assert_eq!(transport_name(&custom), "custom");
        assert_eq!(transport_name(&Simulation::new(&s).transport(TcpFactory).run().unwrap()), "tcp");
    }

    #[test]
    fn a_missing_capability_is_named_in_the_trace_and_skips_its_rules() {
        let s = scenario("partition-heal");
        let result = Simulation::new(&s).transport(Modest(Capabilities::default())).run().unwrap();
        let Some(shipsim_trace::Record::Start(start)) = result.records.first() else {
            panic!("a Start first")
        };
        assert_eq!(start.lacks, shipsim_trace::Lack::ALL);
        let text = result.summary.to_string();
        assert!(text.contains("redelivery-after-ack skipped: the transport reports no acks"), "{text}");
        assert!(text.contains("recovery skipped: the transport gave no timing"), "{text}");
        assert!(text.contains("received skipped: the transport has no counters"), "{text}");
    }

    #[test]
    fn a_scenario_needing_routes_is_refused_on_a_transport_without() {
        let s = scenario("stale-route");
        let err = Simulation::new(&s).transport(Modest(Capabilities::default())).run().unwrap_err();
        assert!(matches!(&err, RunError::Unsupported(why) if why.contains("drop-route")), "{err}");
        let routes = Capabilities { routes: true, ..Capabilities::default() };
        assert!(Simulation::new(&s).transport(Modest(routes)).run().is_ok());
    }
}
