//! The harness's own shrinker: makes a failing (scenario, seed) smaller while it still fails the
//! same way.
//!
//! proptest shrinks the *inputs* of its generators; a failure found by `shipsim explore` (or a
//! hand-written scenario) has no generator behind it, so it is shrunk here, on the scenario
//! itself. The search is greedy: it tries the simplifications below in order, keeps the first
//! one that still fails with the same invariant and rule, and starts over from the smaller
//! scenario, until none helps or the budget of runs is spent. Big steps come first (cut the
//! timeline's tail, halve the events) so that the cheap wins are taken before the one-by-one
//! fault drops.
//!
//! "The same way" is the (invariant, rule) pair, not the exact violation: the event ids and
//! times change as the scenario shrinks, but a loss that turns into a duplicate is another bug
//! and must not be chased.
//!
//! Every candidate is re-validated by writing it out and loading it back
//! (`parse(to_yaml(candidate))`): dropping a crash makes its restart invalid, dropping a node
//! can orphan a link, and a scenario the loader rejects would make a repro nobody can replay.
//! Invalid candidates are skipped and cost no run.

use std::sync::Arc;
use std::time::Duration;

use crate::scenario::{self, Fault, FaultAction, HealTarget, Scenario, format_duration, to_yaml};
use crate::transport::TransportFactory;
use shipsim_trace::Rule;

/// A default budget of simulation runs: a few seconds to a minute of shrinking for typical
/// scenarios, and enough for a 12-fault timeline to lose every fault one by one several times.
pub const DEFAULT_BUDGET: usize = 200;

/// What the shrinker did, for the report and the repro's header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Log {
    /// Candidates run (valid ones only; invalid ones are skipped without a run).
    pub tried: usize,
    /// Candidates skipped because the loader rejected them.
    pub invalid: usize,
    /// Simplifications kept, in order, each described ("dropped fault 3 (crash n2 at 2s)").
    pub taken: Vec<String>,
    /// Whether the search stopped because the budget ran out (else: no step helped).
    pub out_of_budget: bool,
}

impl Log {
    /// One line: `shrunk in 5 steps (23 runs, 2 invalid skipped): ...`.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "shrunk in {} steps ({} runs, {} invalid candidates skipped{})",
            self.taken.len(),
            self.tried,
            self.invalid,
            if self.out_of_budget { ", budget spent" } else { "" }
        );
        if !self.taken.is_empty() {
            line.push_str(": ");
            line.push_str(&self.taken.join("; "));
        }
        line
    }
}

/// A shrunk scenario and how it was reached.
#[derive(Debug, Clone)]
pub struct Shrunk {
    /// The smallest failing scenario found.
    pub scenario: Scenario,
    /// The steps that led to it and the runs they cost.
    pub log: Log,
}

/// Shrinks a real failure on the transports `factory` builds: each candidate is simulated with
/// `seed` and kept when it reports a violation of `target`. Runs that error out count as "does
/// not fail that way".
pub(crate) fn shrink_on(
    scenario: &Scenario,
    seed: u64,
    target: &Rule,
    budget: usize,
    factory: &Arc<dyn TransportFactory>,
) -> Shrunk {
    shrink_with(scenario, budget, |candidate| {
        crate::sim::run_with(candidate, seed, factory.clone())
            .is_ok_and(|result| result.violations.iter().any(|v| v.rule == *target))
    })
}

/// Shrinks with any predicate: `fails(candidate)` says whether the candidate still fails the
/// way we are chasing. Separate from [`shrink`] so the search can be tested without simulating.
pub(crate) fn shrink_with(
    scenario: &Scenario,
    budget: usize,
    mut fails: impl FnMut(&Scenario) -> bool,
) -> Shrunk {
    let mut current = scenario.clone();
    let mut log = Log::default();
    'search: loop {
        for (what, candidate) in candidates(&current) {
            let Some(candidate) = revalidate(&candidate) else {
                log.invalid += 1;
                continue;
            };
            if candidate == current {
                continue;
            }
            if log.tried >= budget {
                log.out_of_budget = true;
                break 'search;
            }
            log.tried += 1;
            if fails(&candidate) {
                current = candidate;
                log.taken.push(what);
                continue 'search;
            }
        }
        break;
    }
    Shrunk { scenario: current, log }
}

/// The candidate as the loader sees it, or `None` when the loader rejects it.
fn revalidate(candidate: &Scenario) -> Option<Scenario> {
    scenario::parse(&to_yaml(candidate), "<shrink candidate>").ok()
}

/// The simplifications of `s`, biggest first, each with a description.
fn candidates(s: &Scenario) -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    // Cut the timeline's tail: one step removes many faults when the bug fires early.
    for keep in 0..s.faults.len() {
        let dropped = s.faults.len() - keep;
        if dropped > 1 {
            let mut c = s.clone();
            c.faults.truncate(keep);
            out.push((format!("dropped the last {dropped} faults"), c));
        }
    }
    if s.workload.events > 1 {
        let mut c = s.clone();
        c.workload.events = s.workload.events / 2;
        out.push((format!("halved events {} -> {}", s.workload.events, c.workload.events), c));
    }
    for (i, fault) in s.faults.iter().enumerate() {
        let mut c = s.clone();
        c.faults.remove(i);
        out.push((format!("dropped fault {} ({})", i + 1, describe(fault)), c));
    }
    if s.nodes.len() > 1 {
        for node in &s.nodes {
            if !s.faults.iter().any(|f| mentions(&f.action, node)) {
                let mut c = s.clone();
                c.nodes.retain(|n| n != node);
                if let Some(senders) = &mut c.workload.senders {
                    senders.retain(|n| n != node); // none left: the loader rejects it
                }
                if let Some(members) = &mut c.members {
                    members.retain(|n| n != node); // none left: the loader rejects it
                }
                out.push((format!("dropped node {node}"), c));
            }
        }
    }
    let last = s.faults.last().map_or(Duration::ZERO, |f| f.at);
    let cut = last + s.expect.settle;
    if cut < s.duration && !cut.is_zero() {
        let mut c = s.clone();
        c.duration = cut;
        out.push((format!("cut duration {} -> {}", format_duration(s.duration), format_duration(cut)), c));
    }
    out
}

/// `crash n2 at 2s`: enough to recognise the fault in a log line.
fn describe(fault: &Fault) -> String {
    let what = match &fault.action {
        FaultAction::Partition(groups) => format!("partition {groups:?}"),
        FaultAction::PartitionOneway { from, to }
        | FaultAction::DropRoute { from, to }
        | FaultAction::RestoreRoute { from, to } => format!("{} {from}->{to}", fault.action.kind()),
        FaultAction::Heal(HealTarget::All) => "heal all".to_owned(),
        FaultAction::Heal(HealTarget::Nodes(nodes)) => format!("heal {nodes:?}"),
        FaultAction::Crash(n)
        | FaultAction::Restart(n)
        | FaultAction::Bounce(n)
        | FaultAction::Join(n)
        | FaultAction::Leave(n)
        | FaultAction::Pause { node: n, .. }
        | FaultAction::Clock { node: n, .. }
        | FaultAction::Skew { node: n, .. } => format!("{} {n}", fault.action.kind()),
        FaultAction::Hold(l) | FaultAction::Reorder(l) | FaultAction::Release(l) => {
            format!("{} {}-{}", fault.action.kind(), l.a, l.b)
        }
        FaultAction::Latency { link, .. } | FaultAction::Loss { link, .. } => {
            format!("{} {}-{}", fault.action.kind(), link.a, link.b)
        }
    };
    format!("{what} at {}", format_duration(fault.at))
}

/// Whether the action names `node` (such a node cannot be dropped while the fault stays).
fn mentions(action: &FaultAction, node: &str) -> bool {
    match action {
        FaultAction::Partition(groups) => groups.iter().flatten().any(|n| n == node),
        FaultAction::PartitionOneway { from, to }
        | FaultAction::DropRoute { from, to }
        | FaultAction::RestoreRoute { from, to } => from == node || to == node,
        FaultAction::Heal(HealTarget::All) => false,
        FaultAction::Heal(HealTarget::Nodes(nodes)) => nodes.iter().any(|n| n == node),
        FaultAction::Crash(n)
        | FaultAction::Restart(n)
        | FaultAction::Bounce(n)
        | FaultAction::Join(n)
        | FaultAction::Leave(n)
        | FaultAction::Pause { node: n, .. }
        | FaultAction::Clock { node: n, .. }
        | FaultAction::Skew { node: n, .. } => n == node,
        FaultAction::Hold(l) | FaultAction::Reorder(l) | FaultAction::Release(l) => l.touches(node),
        FaultAction::Latency { link, .. } | FaultAction::Loss { link, .. } => link.touches(node),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipsim_trace::FaultKind;

    const SCENARIO: &str = "\
name: shrink-me
nodes: [n1, n2, n3, n4]
duration: 60s
workload:
  events: 400
faults:
  - {at: 1s, crash: n2}
  - {at: 2s, hold: [n1, n3]}
  - {at: 3s, restart: n2}
  - {at: 4s, release: [n1, n3]}
  - {at: 5s, loss: {link: [n1, n3], rate: 0.1}}
expect:
  settle: 5s
";

    fn scenario() -> Scenario {
        scenario::parse(SCENARIO, "shrink-me.yaml").unwrap()
    }

    fn has(s: &Scenario, kind: FaultKind) -> bool {
        s.faults.iter().any(|f| f.action.kind() == kind)
    }

    #[test]
    fn keeps_only_what_the_failure_needs() {
        // "Fails" while the hold is there and at least 10 events are routed.
        let shrunk =
            shrink_with(&scenario(), DEFAULT_BUDGET, |s| has(s, FaultKind::Hold) && s.workload.events >= 10);
        let s = &shrunk.scenario;
        assert_eq!(s.faults.len(), 1, "{:?}", s.faults);
        assert_eq!(s.faults[0].action.kind(), FaultKind::Hold);
        assert_eq!(s.workload.events, 12, "400 halved while >= 10");
        assert_eq!(s.nodes, ["n1", "n3"], "nodes no fault names are dropped");
        assert_eq!(s.duration, Duration::from_secs(7), "last fault at 2s + settle 5s");
        assert!(!shrunk.log.out_of_budget);
        assert!(shrunk.log.tried >= shrunk.log.taken.len());
        assert!(shrunk.log.summary().contains("dropped"), "{}", shrunk.log.summary());
    }

    #[test]
    fn never_offers_an_invalid_scenario() {
        // Keeping the restart needs the crash before it: the shrinker must not drop the crash
        // alone (the loader rejects a restart of a running node).
        let shrunk = shrink_with(&scenario(), DEFAULT_BUDGET, |s| {
            assert!(scenario::parse(&to_yaml(s), "x").is_ok(), "invalid candidate offered");
            has(s, FaultKind::Restart)
        });
        let kinds: Vec<&str> = shrunk.scenario.faults.iter().map(|f| f.action.kind().as_str()).collect();
        assert_eq!(kinds, ["crash", "restart"]);
        assert!(shrunk.log.invalid > 0, "dropping the crash alone should have been skipped");
    }

    #[test]
    fn a_failure_that_needs_everything_is_left_alone() {
        let original = scenario();
        let shrunk = shrink_with(&original, DEFAULT_BUDGET, |s| *s == original);
        assert_eq!(shrunk.scenario, original);
        assert!(shrunk.log.taken.is_empty());
    }

    #[test]
    fn the_budget_bounds_the_runs() {
        let mut runs = 0;
        let shrunk = shrink_with(&scenario(), 3, |_| {
            runs += 1;
            false
        });
        assert_eq!(runs, 3);
        assert!(shrunk.log.out_of_budget);
    }

    /// A real run: a workload that cannot finish within the duration fails liveness
    /// (`unfinished-workload`); the shrinker drops the faults, which do not matter, and halves
    /// the events while the workload still overruns.
    #[test]
    fn shrinks_a_real_liveness_failure() {
        let text = "\
name: overrun
nodes: [n1, n2, n3]
duration: 3s
workload:
  events: 400
  rate: 50/s
faults:
  - {at: 1s, bounce: n3}
  - {at: 2s, latency: {link: [n1, n2], value: 5ms}}
expect:
  settle: 1s
";
        let original = scenario::parse(text, "overrun.yaml").unwrap();
        let result = crate::sim::run(&original, 1).unwrap();
        let target: shipsim_trace::Rule = shipsim_trace::LivenessRule::UnfinishedWorkload.into();
        assert!(result.violations.iter().any(|v| v.rule == target), "{:?}", result.violations);
        let shrunk = crate::Simulation::new(&original).shrink(1, &target, 60);
        assert!(shrunk.scenario.faults.is_empty(), "{:?}", shrunk.scenario.faults);
        assert!(shrunk.scenario.workload.events < 400);
        let again = crate::sim::run(&shrunk.scenario, 1).unwrap();
        assert!(again.violations.iter().any(|v| v.rule == target));
    }
}
