//! One run: a scenario and a seed, simulated from the first event to the
//! end of the settle phase, then checked.
//!
//! The runner owns the turmoil `Sim` and the clock: it steps the simulation,
//! applies each fault when its time comes, heals everything for the settle
//! phase, and stops when every node is idle, the settle budget is spent or
//! the scenario's duration runs out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime}; // allow-nondeterminism: SystemTime only names turmoil's fixed epoch

use thiserror::Error;

use super::clock::{TICK, micros};
use crate::scenario::{FaultAction, Scenario};
use crate::seeds;
use crate::sim::effect::Observed;
use crate::sim::faults::{self, FaultState, Pairing, Route};
use crate::sim::life_probes;
use crate::sim::membership::MembershipService;
use crate::sim::node;
use crate::sim::node_clock::NodeClock;
use crate::sim::recorder::{Recorder, SharedRecorder};
use crate::sim::trace_out::TraceOut;
use crate::transport::{self, TransportFactory};
use shipsim_trace::{
    DeclaredTransport, Lack, Phase, Record, SettleText, Start, Text, TransportTiming, Violation,
};

/// turmoil's clock starts here in every run (its default is the wall clock,
/// which would leak into anything that reads the simulated system time).
const EPOCH_SECS: u64 = 1_700_000_000;

/// A run that could not be carried out, or did not repeat itself (as opposed to one that
/// found a bug in the system under test).
#[derive(Debug, Error)]
pub enum RunError {
    /// A host's software returned an error or panicked; turmoil's error is the source.
    #[error("the simulation stopped")]
    Simulation(#[source] Box<dyn std::error::Error>),
    /// The scenario needs something the transport cannot do, or does not fit its limits.
    #[error("the scenario cannot run on this transport: {0}")]
    Unsupported(String),
    /// Two runs of the same scenario and seed wrote different traces.
    #[error("two runs of seed {seed} differ at trace line {line}:\n  {first}\n  {second}")]
    Nondeterministic {
        /// The seed run twice.
        seed: u64,
        /// The first line (1-based) where the traces differ.
        line: usize,
        /// That line in the first run's trace.
        first: String,
        /// That line in the second run's trace.
        second: String,
    },
}

/// What a run produced.
#[derive(Debug)]
pub struct RunResult {
    /// Every record, the violations last.
    pub records: Vec<Record>,
    /// The invariants that failed (also at the end of `records`), at most
    /// [`crate::check::MAX_PER_RULE`] per rule.
    pub violations: Vec<Violation>,
    /// Each invariant's outcome, with the full count per rule.
    pub summary: shipsim_check::CheckSummary,
    /// Simulated time the run took.
    pub simulated: Duration,
    /// The coverage probes the run reached, with their hits (empty unless the `probes` feature
    /// is on; `shipper::probes::ALL` lists every probe).
    pub probes: BTreeMap<String, u64>,
    /// The run's counts, every record tallied as it was made (the same as
    /// `Counts::of(&records)` when the records are kept).
    pub counts: shipsim_trace::Counts,
    /// A traced run ([`crate::Simulation::run_traced`]): the digest and length of the trace it
    /// wrote as it went, or why it could not.
    pub written: Option<Result<(u64, u64), String>>,
    /// A run that kept no records ([`crate::Simulation::keep_records`]): the few a report or a
    /// sweep reads of it (its faults, their effects and each life's probes), so that a failure
    /// is explained without running it again keeping all of them
    /// ([`RunResult::records_or_kept`]). Empty when the records are kept.
    pub kept: Vec<Record>,
}

impl RunResult {
    /// Whether every invariant held.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// What a report of a violation or a sweep reads of the run: the records when they were
    /// kept, else the few kept for them ([`RunResult::kept`]).
    pub fn records_or_kept(&self) -> &[Record] {
        if self.records.is_empty() { &self.kept } else { &self.records }
    }
}

/// Run `scenario` with `seed` on the transport its `transport.kind` names (TCP when it names
/// none).
#[cfg(test)]
pub(crate) fn run(scenario: &Scenario, seed: u64) -> Result<RunResult, RunError> {
    run_with(scenario, seed, crate::transport::kinds::scenario_factory(scenario))
}

/// Run `scenario` with `seed` on the transports `factory` builds.
pub(crate) fn run_with(
    scenario: &Scenario,
    seed: u64,
    factory: Arc<dyn TransportFactory>,
) -> Result<RunResult, RunError> {
    run_traced(scenario, seed, factory, None, true)
}

/// [`run_with`], writing the trace to `out` as the run makes it (the violations last, once
/// checked) when there is one; keeping its records in the result only if `keep_records`
/// (the checkers take each record in as it is made either way).
pub(crate) fn run_traced(
    scenario: &Scenario,
    seed: u64,
    factory: Arc<dyn TransportFactory>,
    out: Option<TraceOut>,
    keep_records: bool,
) -> Result<RunResult, RunError> {
    refuse_unsupported(scenario, &*factory)?;
    let start = start_record(scenario, seed, &*factory);
    let recorder = SharedRecorder::default();
    let mut sim = simulator(scenario, seed);
    let mut state = FaultState::default();
    let membership = MembershipService::new(scenario, seed);
    // Only a scenario with `clock` faults gives its nodes a clock to jump: the others run as
    // they always did, without the harness task.
    let jumps = scenario.faults.iter().any(|f| matches!(f.action, FaultAction::Clock { .. }));
    let mut clocks: BTreeMap<String, Arc<NodeClock>> = BTreeMap::new();
    for node in &scenario.nodes {
        let routes = state.routes().clone();
        let spec = node::NodeSpec::new(
            scenario,
            seed,
            node,
            recorder.clone(),
            routes,
            membership.clone(),
            factory.clone(),
        );
        let spec =
            if jumps { spec.with_clock(clocks.entry(node.clone()).or_default().clone()) } else { spec };
        let host = node::host(spec);
        sim.host(node.as_str(), host);
    }
    let clock = Clock { recorder: &recorder, membership: &membership, clocks: &clocks };
    recorder.lock().check_online();
    if !keep_records {
        recorder.lock().drop_records();
    }
    if let Some(out) = out {
        recorder.lock().set_out(out);
    }
    recorder.lock().push(Record::Start(Box::new(start)));
    recorder.lock().phase(Phase::Faults);
    let mut observed = Observed::default();
    let mut timeline =
        Timeline { scenario, sim: &mut sim, state: &mut state, clock: &clock, seed, observed: &mut observed };
    let ((timeline_done, hits), per_life) = life_probes::observe(|| {
        shipper::probes::collect(|| {
            timeline.apply_faults()?;
            timeline.settle()
        })
    });
    timeline_done?;
    let end = micros(sim.elapsed());
    finish(&recorder, scenario, end);
    let mut rec = recorder.lock();
    let probes: BTreeMap<String, u64> = hits.into_iter().map(|(name, n)| (name.to_owned(), n)).collect();
    let summary = conclude(&mut rec, &observed, scenario.shards, end, &probes, per_life);
    let violations = summary.violations();
    for violation in &violations {
        rec.push(Record::Violation(Box::new(violation.clone())));
    }
    let written = rec.take_out().map(|out| out.finish().map_err(|e| e.to_string()));
    let (records, kept) = (rec.take_records(), rec.take_kept());
    let (counts, simulated) = (rec.counts(), sim.elapsed());
    Ok(RunResult { records, violations, summary, simulated, probes, counts, written, kept })
}

/// The run is over: the faults' effects, then (with the `probes` feature) the probes, recorded,
/// and the checkers' verdict over every record.
fn conclude(
    rec: &mut Recorder,
    observed: &Observed,
    shards: u32,
    end: shipsim_trace::Micros,
    probes: &BTreeMap<String, u64>,
    per_life: life_probes::PerLife,
) -> shipsim_check::CheckSummary {
    rec.release();
    let effects = super::effect::effects(rec.traffic(), observed, shards, end);
    for effect in effects {
        rec.push(effect);
    }
    if shipper::probes::ENABLED {
        for record in per_life.records(end) {
            rec.push(record);
        }
        let hits = probes.iter().map(|(name, n)| (Text::from(name.as_str()), *n)).collect();
        rec.push(Record::Probes { t: end, hits });
    }
    rec.take_online().expect("a simulation checks as it goes").finish()
}

/// Why a simulation cannot run `scenario` on what `factory` builds, if it cannot: a transport
/// that runs only for real, a setting the transport lacks, a pause (which needs an OS
/// process), or a limit of the transport's own.
fn refuse_unsupported(scenario: &Scenario, factory: &dyn TransportFactory) -> Result<(), RunError> {
    if let Some(why) = factory.real_only() {
        return Err(RunError::Unsupported(why));
    }
    if let Some(why) = transport::unsupported(scenario, factory.capabilities()) {
        return Err(RunError::Unsupported(why));
    }
    if let Some(fault) = scenario.faults.iter().find(|f| matches!(f.action, FaultAction::Pause { .. })) {
        return Err(RunError::Unsupported(format!(
            "line {}: a simulation cannot stop a host's process, which the fault {fault} needs: run it \
             with --real (docs/real-mode.md)",
            fault.line
        )));
    }
    factory.check(scenario).map_err(RunError::Unsupported)
}

/// turmoil's simulation of `scenario`'s network, seeded by `seed`.
fn simulator(scenario: &Scenario, seed: u64) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECS)) // allow-nondeterminism: a constant epoch, no clock read
        // The runner stops on its own clock; turmoil's limit is only a backstop.
        .simulation_duration(scenario.duration + scenario.expect.settle + Duration::from_secs(60))
        .tick_duration(TICK)
        .min_message_latency(scenario.network.latency.min)
        .max_message_latency(scenario.network.latency.max)
        .fail_rate(scenario.network.loss)
        // A lost message breaks its link until the next one gets through:
        // per-message loss, as close as turmoil's link model comes.
        .repair_rate(1.0)
        .rng_seed(seed)
        // Hosts run in a seeded random order each step (turmoil shuffles
        // them with its seeded rng): the schedule is part of what a seed
        // decides, so a sweep explores interleavings, not only timings.
        .enable_random_order()
        .build()
}

/// The scenario's timeline carried out on a running simulation: its faults, then the settle
/// phase.
struct Timeline<'r, 's> {
    scenario: &'r Scenario,
    sim: &'r mut turmoil::Sim<'s>,
    state: &'r mut FaultState,
    clock: &'r Clock<'r>,
    seed: u64,
    /// What the network carried as each fault came, for its effect.
    observed: &'r mut Observed,
}

impl Timeline<'_, '_> {
    /// Each fault at its time, with what it cut and healed recorded on its record.
    fn apply_faults(&mut self) -> Result<(), RunError> {
        let scenario = self.scenario;
        let mut fault_rng = seeds::rng(self.seed, &[b"faults"]);
        let network_lossy = scenario.network.loss > 0.0;
        for fault in &scenario.faults {
            self.clock.step_until(self.sim, fault.at)?;
            tracing::info!(t = ?self.sim.elapsed(), fault = %fault, "fault");
            let before = self.state.usable(scenario, network_lossy);
            self.observed.before_fault(self.sim);
            let pos = self.clock.recorder.lock().fault(fault.to_string(), fault.action.traced());
            self.apply(&fault.action)?;
            // A reorder's held messages go out one per step, the runner's steps.
            let mut reordered = 0;
            while faults::deliver_next_held(self.sim, self.state, &mut fault_rng) {
                reordered += 1;
                self.clock.step(self.sim)?;
            }
            if matches!(fault.action, FaultAction::Reorder(_)) {
                self.observed.reordered(reordered);
            }
            faults::finish_reorder(self.sim, self.state);
            let after = self.state.usable(scenario, network_lossy);
            let (cut, healed) = effect(&fault.action, &before, &after);
            self.clock.recorder.lock().fault_effect(pos, &cut, &healed);
        }
        Ok(())
    }

    /// One fault: a membership change goes to the membership service, the rest to the network
    /// and the hosts.
    fn apply(&mut self, action: &FaultAction) -> Result<(), RunError> {
        let (recorder, membership) = (self.clock.recorder, self.clock.membership);
        match action {
            FaultAction::Join(_) | FaultAction::Leave(_) => {
                membership.change(action, self.sim.elapsed(), &self.scenario.nodes, recorder);
            }
            FaultAction::Crash(node) | FaultAction::Bounce(node) => {
                membership.detach(node);
                faults::apply(self.sim, self.state, recorder, action).map_err(sim_error)?;
            }
            // The node's host jumps its own clock at the next step (`node_clock.rs`).
            FaultAction::Clock { node, jump } => {
                if let Some(clock) = self.clock.clocks.get(node) {
                    clock.jump(*jump);
                }
            }
            action => faults::apply(self.sim, self.state, recorder, action).map_err(sim_error)?,
        }
        Ok(())
    }

    /// Everything healed, then steps until the cluster is idle or the settle budget is spent.
    fn settle(&mut self) -> Result<(), RunError> {
        let scenario = self.scenario;
        // The settle phase begins once every node installed the last membership change (at
        // its own, unstretched, propagation delay), so a batch begun in it is planned with the
        // final map and no receiver refuses it.
        while !self.clock.membership.settled() && self.sim.elapsed() < scenario.duration {
            self.clock.step(self.sim)?;
        }
        self.heal_everything();
        // The budget counts from when the cluster could first converge: the last
        // fault, or the end of the workload on a healthy network if that is later.
        let converge_from = self.sim.elapsed().max(super::workload::healthy_time(scenario));
        let settle_end = (converge_from + scenario.expect.settle).min(scenario.duration);
        let idle = || self.clock.recorder.lock().memory().all_idle(&scenario.nodes, &scenario.workload);
        while self.sim.elapsed() < settle_end && !idle() {
            self.clock.step(self.sim)?;
        }
        Ok(())
    }

    /// The settle phase's healing, recorded like a fault (when the scenario had any).
    fn heal_everything(&mut self) {
        let scenario = self.scenario;
        let network_lossy = scenario.network.loss > 0.0;
        let before = self.state.usable(scenario, network_lossy);
        if !scenario.faults.is_empty() {
            self.observed.before_fault(self.sim);
        }
        let healed = faults::heal_everything(self.sim, self.state, scenario);
        let after = self.state.usable(scenario, false);
        let settle_healed: Vec<Route> = faults::owned(after.difference(&before));
        let mut rec = self.clock.recorder.lock();
        rec.set_now(micros(self.sim.elapsed()));
        if !scenario.faults.is_empty() {
            let restarted: Vec<Text> = healed.restarted.iter().map(Text::from).collect();
            let routes: Vec<[Text; 2]> =
                healed.routes.iter().map(|(from, to)| [Text::from(from), Text::from(to)]).collect();
            let text = SettleText { restarted: &restarted, routes: &routes }.to_string();
            let pos = rec.fault(text, shipsim_trace::FaultAction::Settle { restarted, routes });
            rec.fault_effect(pos, &[], &settle_healed);
        }
        rec.phase(Phase::Settle);
    }
}

/// The `(from, to)` pairs a fault made unusable and usable, from the usable pairs before and
/// after it.
fn effect(
    action: &FaultAction,
    before: &BTreeSet<Pairing<'_>>,
    after: &BTreeSet<Pairing<'_>>,
) -> (Vec<Route>, Vec<Route>) {
    match action {
        // The held messages go out over the next ticks, after this
        // record's time: no heal is claimed (a checker then sees the
        // pair unusable until a later heal: it expects nothing of it).
        FaultAction::Reorder(_) => (Vec::new(), Vec::new()),
        // Down and up within the instant: every pair of the node is cut
        // and healed at once (its connections die with the old life).
        FaultAction::Bounce(node) => {
            let touched = faults::owned(after.iter().filter(|(from, to)| from == node || to == node));
            (touched.clone(), touched)
        }
        _ => (faults::owned(before.difference(after)), faults::owned(after.difference(before))),
    }
}

pub(crate) fn start_record(scenario: &Scenario, seed: u64, factory: &dyn TransportFactory) -> Start {
    let timing = factory.timing(scenario);
    let mut lacks = factory.capabilities().lacks();
    if timing.is_none() {
        lacks.push(Lack::Timing);
    }
    Start {
        format: shipsim_trace::FORMAT_VERSION,
        t: 0,
        scenario: scenario.name.clone(),
        seed,
        nodes: scenario.nodes.clone(),
        deadline_us: micros(scenario.transport.deadline),
        tick_us: micros(TICK),
        settle_us: Some(micros(scenario.expect.settle)),
        delivery: scenario.expect.delivery,
        ordering: scenario.expect.ordering,
        stats: scenario.expect.stats,
        shards: scenario.shards,
        members: scenario.initial_members(),
        placement: scenario.expect.placement,
        rate: scenario.workload.rate,
        transport_name: factory.name(),
        transport: timing.map(|t| transport_timing(scenario, t)),
        declared: Some(declared(scenario)),
        lacks,
        ok_after_accept: factory.ok_after_accept(),
    }
}

/// The transport settings `scenario` declares, as written: what the checkers derive the
/// transport's bounds from (its documented contract), rather than from what it reports.
fn declared(scenario: &Scenario) -> DeclaredTransport {
    let t = &scenario.transport;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    DeclaredTransport {
        connections: count(t.connections),
        max_unacked: count(t.max_unacked),
        ack_timeout_us: micros(t.ack_timeout),
        deadline_us: micros(t.deadline),
        connect_timeout_us: micros(t.connect_timeout),
        backoff_min_us: micros(t.backoff.min),
        backoff_max_us: micros(t.backoff.max),
        max_frame: t.max_frame,
    }
}

/// The transport's timing as it runs it, and the worst latency any link can have in this
/// scenario.
fn transport_timing(scenario: &Scenario, config: transport::Timing) -> TransportTiming {
    let latency_max = scenario
        .faults
        .iter()
        .filter_map(|f| match &f.action {
            FaultAction::Latency { value, .. } => Some(value.max),
            _ => None,
        })
        .fold(scenario.network.latency.max, Duration::max);
    TransportTiming {
        connections: config.connections,
        max_unacked: config.max_unacked,
        ack_timeout_us: micros(config.ack_timeout),
        answer_timeout_us: micros(config.answer_timeout),
        connect_timeout_us: micros(config.connect_timeout),
        backoff_min_us: micros(config.backoff_min),
        backoff_max_us: micros(config.backoff_max),
        latency_max_us: micros(latency_max),
        sink_latency_max_us: micros(scenario.sink.latency.max),
        sink_busy: scenario.sink.busy > 0.0,
    }
}

/// Ends every life still running (reading its counters) and records each workload's progress.
fn finish(recorder: &SharedRecorder, scenario: &Scenario, now: u64) {
    let mut rec = recorder.lock();
    rec.set_now(now);
    rec.phase(Phase::End);
    for node in &scenario.nodes {
        rec.life_down(node, false);
    }
    for node in &scenario.nodes {
        let routed = rec.node(node).next_seq;
        let t = rec.now();
        let target = scenario.workload.events_of(node);
        rec.push(Record::Workload { t, node: node.into(), routed, target });
    }
}

/// What happens between ticks: the recorder's clock, and the shard maps that came due; and
/// each node's clock, which a `clock` fault jumps.
struct Clock<'a> {
    recorder: &'a SharedRecorder,
    membership: &'a MembershipService,
    clocks: &'a BTreeMap<String, Arc<NodeClock>>,
}

impl Clock<'_> {
    fn step_until(&self, sim: &mut turmoil::Sim<'_>, at: Duration) -> Result<(), RunError> {
        while sim.elapsed() < at {
            self.step(sim)?;
        }
        self.recorder.lock().set_now(micros(sim.elapsed()));
        life_probes::set_now(micros(sim.elapsed()));
        self.membership.apply_due(sim.elapsed());
        Ok(())
    }

    /// One tick, after installing the maps due by its start. Records made during it are
    /// stamped with its start.
    fn step(&self, sim: &mut turmoil::Sim<'_>) -> Result<(), RunError> {
        self.recorder.lock().set_now(micros(sim.elapsed()));
        life_probes::set_now(micros(sim.elapsed()));
        self.membership.apply_due(sim.elapsed());
        sim.step().map(|_| ()).map_err(sim_error)
    }
}

fn sim_error(err: Box<dyn std::error::Error>) -> RunError {
    RunError::Simulation(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each fault record carries the scenario's fault as data next to its
    /// text; the settle phase's healing is a typed `settle` action naming
    /// what it restarted and restored.
    #[test]
    fn fault_records_carry_their_action() {
        let scenario = crate::scenario::parse(
            "name: typed\nnodes: [n1, n2, n3]\nduration: 10s\nworkload: {events: 5}\nfaults:\n\
             - {at: 100ms, crash: n2}\n- {at: 200ms, drop-route: {from: n1, to: n3}}\n",
            "typed.yaml",
        )
        .unwrap();
        let result = run(&scenario, 1).unwrap();
        let faults: Vec<(&str, &shipsim_trace::FaultAction)> = result
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Fault { fault, action, .. } => Some((fault.as_str(), &**action)),
                _ => None,
            })
            .collect();
        let settle = shipsim_trace::FaultAction::Settle {
            restarted: vec!["n2".into()],
            routes: vec![["n1".into(), "n3".into()]],
        };
        assert_eq!(
            faults,
            [
                ("{at: 100ms, crash: n2}", &shipsim_trace::FaultAction::Crash("n2".into())),
                (
                    "{at: 200ms, drop-route: {from: n1, to: n3}}",
                    &shipsim_trace::FaultAction::DropRoute { from: "n1".into(), to: "n3".into() }
                ),
                ("{settle: heal all, release all, loss 0, restart [n2], restore routes [n1->n3]}", &settle),
            ]
        );
    }
}
