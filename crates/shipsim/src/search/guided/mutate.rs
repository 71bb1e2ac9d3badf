//! Guided exploration's mutations: a small change to a variant that reached something new, so
//! that the next run stays close to it (the same faults, mostly) and reaches further.
//!
//! Each mutation keeps the scenario valid: the result is loaded back from its YAML (the same
//! validation a file gets), and a mutation that would make it invalid (a restart moved before
//! its crash, a heal dropped from under a partition the settle phase cannot end) is drawn
//! again, a few times, before the parent is kept as it is with a new seed.

use std::time::Duration;

use rand::Rng;
use rand::rngs::SmallRng;

use super::Moment;
use crate::scenario::{Fault, FaultAction, HealTarget, Link, Scenario, to_yaml};
use crate::search::swarm::{dimension, redraw};

/// Draws of a mutation before it gives up and keeps the parent's scenario.
const ATTEMPTS: usize = 8;

/// What a mutation did, for the log and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    /// One fault moved in time.
    Shift,
    /// The network's latency scaled (and the budgets measured in round trips with it).
    Latency,
    /// A fault added near the moment something happened in the parent's run.
    Add,
    /// One fault dropped.
    Drop,
    /// The entry's faults on a fresh swarm variant's settings (rates, sinks, transport knobs).
    Cross,
    /// One swarm dimension of the entry re-drawn (its transport, sink, a workload or cluster
    /// setting: `swarm/redraw.rs`), everything else kept.
    Redraw,
    /// The entry on the other bundled transport (`twin.rs`), everything else kept: drawn as
    /// the other operators are, and run once, undrawn, for each entry that found a probe of
    /// its transport while the other transport has a probe no run reached.
    Twin,
    /// The scenario kept as it is: only the seed changes.
    Reseed,
}

/// A valid mutation of `parent` (a variant of `base`), of kind `kind` when it can be made,
/// drawn from `rng`. Faults are added and moved near `moment`, when the parent's run recorded
/// when its novel probe fired: the fault then meets the code under test in the rare state it
/// reached. Without a moment, around the parent's own faults, which open the failure paths
/// the probes sit on. A kind that cannot change the parent (a shift without faults, a knob
/// that does not apply) is drawn again a few times, then other kinds are, before the parent
/// is kept with only a new seed. Without `twins` (the sweep's transport is fixed: named by
/// the scenario, or brought by the caller), a twin is a redraw, drawn or fallen back to.
pub(super) fn mutate(
    base: &Scenario,
    parent: &Scenario,
    moment: Option<&Moment>,
    kind: Mutation,
    twins: bool,
    rng: &mut SmallRng,
) -> (Scenario, Mutation) {
    for attempt in 0..ATTEMPTS {
        let drawn = if attempt < ATTEMPTS / 2 { kind } else { any_kind(rng) };
        let kind = if drawn == Mutation::Twin && !twins { Mutation::Redraw } else { drawn };
        let mut child = parent.clone();
        match kind {
            Mutation::Shift if !shift(&mut child, moment, rng) => continue,
            Mutation::Add if !add(&mut child, moment, rng) => continue,
            Mutation::Drop if !drop_one(&mut child, rng) => continue,
            Mutation::Latency => scale_latency(&mut child, rng),
            Mutation::Cross => child = cross(base, parent, rng),
            Mutation::Redraw => {
                redraw(&mut child, base, dimension(rng), rng);
            }
            Mutation::Twin => match super::twin::twin(base, &child) {
                Some(twin) => child = twin,
                None => continue,
            },
            Mutation::Reseed => continue,
            Mutation::Shift | Mutation::Add | Mutation::Drop => {}
        }
        super::super::swarm::fit_duration(&mut child);
        if let Ok(valid) = crate::parse(&to_yaml(&child), "<guided>")
            && valid != *parent
        {
            return (valid, kind);
        }
    }
    (parent.clone(), Mutation::Reseed)
}

/// A kind drawn with the weights the schedule starts from (`schedule.rs`), for a fallback.
fn any_kind(rng: &mut SmallRng) -> Mutation {
    match rng.random_range(0..16) {
        0..=2 => Mutation::Shift,
        3..=4 => Mutation::Latency,
        5..=7 => Mutation::Add,
        8..=9 => Mutation::Drop,
        10..=11 => Mutation::Cross,
        12..=14 => Mutation::Redraw,
        _ => Mutation::Twin,
    }
}

/// A time within `span` of `at`, in whole milliseconds, never before the start.
fn near(at: Duration, span: Duration, rng: &mut SmallRng) -> Duration {
    let span_ms = span.as_millis().max(1) as i64;
    let at_ms = at.as_millis() as i64 + rng.random_range(-span_ms..=span_ms);
    Duration::from_millis(at_ms.max(0) as u64)
}

/// How far a fault moves or lands from its anchor: a fifth of the time the workload needs on a
/// healthy network, within 20 ms..2 s. Measured against the workload, not the run's duration
/// (mostly settle budget): a fault that lands after the last call reaches nothing.
fn span(s: &Scenario) -> Duration {
    (crate::sim::healthy_time(s) / 5).clamp(Duration::from_millis(20), Duration::from_secs(2))
}

/// How far from a [`Moment`] a fault lands: ten of the network's slowest one-way trips (the
/// state the probe marked lasts a few round trips), within 20..250 ms.
pub(super) fn window(s: &Scenario) -> Duration {
    (s.network.latency.max * 10).clamp(Duration::from_millis(20), Duration::from_millis(250))
}

/// Puts the faults back in time order (stable: faults at one instant keep their order).
fn sort(s: &mut Scenario) {
    s.faults.sort_by_key(|f| f.at);
}

/// Moves one fault: half the time near `moment` when there is one, else within [`span`] of
/// where it was (moving every fault to the moment would undo the timeline of a scenario whose
/// own faults reach most probes: every-fault, partition-heal).
fn shift(s: &mut Scenario, moment: Option<&Moment>, rng: &mut SmallRng) -> bool {
    if s.faults.is_empty() {
        return false;
    }
    let i = rng.random_range(0..s.faults.len());
    let (anchor, span) = match moment {
        Some(m) if rng.random_bool(0.5) => (m.at, window(s)),
        _ => (s.faults[i].at, span(s)),
    };
    s.faults[i].at = near(anchor, span, rng).min(s.duration);
    sort(s);
    true
}

/// Scales the network latency by 0.5..2; when it grows, the budgets measured in round trips
/// grow with it, as the swarm's latency dimension does (`swarm.rs`: otherwise a variant only
/// finds the edge of budgets it has outgrown).
fn scale_latency(s: &mut Scenario, rng: &mut SmallRng) {
    let factor: f64 = rng.random_range(0.5..2.0);
    s.network.latency.min = s.network.latency.min.mul_f64(factor);
    s.network.latency.max = s.network.latency.max.mul_f64(factor);
    if factor > 1.0 {
        for budget in [&mut s.transport.ack_timeout, &mut s.transport.deadline, &mut s.expect.settle] {
            *budget = budget.mul_f64(factor);
        }
    }
}

/// Adds a fault: within [`window`] of `moment` on its node, when there is one (and the node
/// is one of the scenario's from the start); else near the time of one of the parent's faults
/// (or anywhere in the workload's time for a scenario without any) on any node. A node
/// bounced, a node cut off from the others and healed, or a link from it held and released;
/// a while after it, the partition heals or the hold releases.
fn add(s: &mut Scenario, moment: Option<&Moment>, rng: &mut SmallRng) -> bool {
    if s.nodes.len() < 2 {
        return false;
    }
    let (anchor, span) = match (moment, s.faults.len()) {
        (Some(m), _) => (m.at, window(s)),
        (None, 0) => {
            let healthy = crate::sim::healthy_time(s);
            (Duration::from_millis(rng.random_range(0..=healthy.as_millis().max(1) as u64)), span(s))
        }
        (None, n) => (s.faults[rng.random_range(0..n)].at, span(s)),
    };
    let at = near(anchor, span, rng).min(s.duration);
    let node = match moment {
        Some(m) if s.nodes.contains(&m.node) => m.node.clone(),
        _ => s.nodes[rng.random_range(0..s.nodes.len())].clone(),
    };
    let other = s.nodes.iter().filter(|n| **n != node).nth(rng.random_range(0..s.nodes.len() - 1));
    let Some(other) = other.cloned() else { return false };
    let lasting = Duration::from_millis(rng.random_range(100..=1500));
    let end = (at + lasting).min(s.duration);
    let fault = |at, action| Fault { at, action, line: 0 };
    match rng.random_range(0..3) {
        0 => s.faults.push(fault(at, FaultAction::Bounce(node))),
        1 => {
            let rest: Vec<String> = s.nodes.iter().filter(|n| **n != node).cloned().collect();
            s.faults.push(fault(at, FaultAction::Partition(vec![vec![node.clone()], rest])));
            s.faults.push(fault(end, FaultAction::Heal(HealTarget::Nodes(vec![node]))));
        }
        _ => {
            s.faults.push(fault(at, FaultAction::Hold(Link::new(node.clone(), other.clone()))));
            s.faults.push(fault(end, FaultAction::Release(Link::new(node, other))));
        }
    }
    sort(s);
    true
}

/// The parent's faults on the settings of a fresh swarm variant of `base`: the faults that found
/// something, met with other rates, sinks and transport settings. Faults past the variant's
/// duration are left out.
fn cross(base: &Scenario, parent: &Scenario, rng: &mut SmallRng) -> Scenario {
    let mut child = super::super::swarm::swarm(base, rng.random());
    child.faults = parent.faults.iter().filter(|f| f.at <= child.duration).cloned().collect();
    child
}

fn drop_one(s: &mut Scenario, rng: &mut SmallRng) -> bool {
    if s.faults.is_empty() {
        return false;
    }
    let i = rng.random_range(0..s.faults.len());
    s.faults.remove(i);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::bundled::scenario;

    /// Every mutation of every kind keeps the scenario valid, changes it (or says it only
    /// reseeds), and is a function of the RNG's state.
    #[test]
    fn a_mutation_keeps_the_scenario_valid() {
        let mut kinds = std::collections::BTreeSet::new();
        for name in ["every-fault", "crash-restart-receiver", "baseline", "scale-out", "hold-reorder-release"]
        {
            let parent = scenario(name);
            for i in 0..40u64 {
                let mut rng = crate::seeds::rng(i, &[b"test"]);
                let moment =
                    (i % 2 == 1).then(|| Moment { at: parent.duration / 3, node: parent.nodes[0].clone() });
                let drawn = any_kind(&mut rng);
                let (child, kind) = mutate(&parent, &parent, moment.as_ref(), drawn, true, &mut rng);
                let mut again_rng = crate::seeds::rng(i, &[b"test"]);
                let again_kind = any_kind(&mut again_rng);
                let again = mutate(&parent, &parent, moment.as_ref(), again_kind, true, &mut again_rng);
                assert_eq!((&child, kind), (&again.0, again.1), "{name} {i}");
                let reloaded =
                    crate::parse(&to_yaml(&child), "x").unwrap_or_else(|e| panic!("{name} {i}: {e}"));
                assert_eq!(reloaded, child);
                assert_eq!(kind == Mutation::Reseed, child == parent, "{name} {i}: {kind:?}");
                if kind == Mutation::Add {
                    assert!(child.faults.len() > parent.faults.len(), "{name} {i}");
                }
                kinds.insert(format!("{kind:?}"));
            }
        }
        for kind in ["Shift", "Latency", "Add", "Drop", "Cross", "Redraw", "Twin"] {
            assert!(kinds.contains(kind), "{kind} never drawn: {kinds:?}");
        }
    }

    /// Without twins, no kind drawn or fallen back to makes one: a sweep whose transport is
    /// fixed runs no twin, which would only repeat its parent's run.
    #[test]
    fn without_twins_a_mutation_is_never_a_twin() {
        let parent = scenario("every-fault");
        let mut kinds = std::collections::BTreeSet::new();
        for i in 0..60u64 {
            let mut rng = crate::seeds::rng(i, &[b"no-twins"]);
            let drawn = if i % 2 == 0 { Mutation::Twin } else { any_kind(&mut rng) };
            let (_, kind) = mutate(&parent, &parent, None, drawn, false, &mut rng);
            assert_ne!(kind, Mutation::Twin, "{i}");
            kinds.insert(format!("{kind:?}"));
        }
        assert!(kinds.contains("Redraw"), "a drawn twin is a redraw: {kinds:?}");
    }

    /// An added fault starts within the window of the recorded moment, on its node (a bounce
    /// or partition of it, or a hold of a link from it); without a moment it may land anywhere.
    #[test]
    fn an_added_fault_lands_near_the_moment() {
        for name in ["every-fault", "baseline", "partition-heal", "concurrent-membership"] {
            let parent = scenario(name);
            let node = parent.nodes[parent.nodes.len() - 1].clone();
            let moment = Moment { at: Duration::from_millis(1700), node: node.clone() };
            let w = window(&parent);
            assert!(w >= Duration::from_millis(20) && w <= Duration::from_millis(250), "{name}: {w:?}");
            for i in 0..30u64 {
                let mut child = parent.clone();
                assert!(add(&mut child, Some(&moment), &mut crate::seeds::rng(i, &[b"add"])), "{name}");
                let added: Vec<&Fault> = child.faults.iter().filter(|f| !parent.faults.contains(f)).collect();
                let first = added.iter().min_by_key(|f| f.at).unwrap_or_else(|| panic!("{name} {i}"));
                let off = first.at.abs_diff(moment.at);
                assert!(off <= w, "{name} {i}: {:?} is {off:?} from the moment", first.at);
                let touches = match &first.action {
                    FaultAction::Bounce(n) => *n == node,
                    FaultAction::Partition(sides) => sides[0] == vec![node.clone()],
                    FaultAction::Hold(link) => link.a == node || link.b == node,
                    other => panic!("{name} {i}: {other:?}"),
                };
                assert!(touches, "{name} {i}: {:?} does not touch {node}", first.action);
            }
        }
    }

    /// A re-drawn swarm dimension keeps the parent's faults and changes one of its settings;
    /// drawn as `Redraw`, the mutation is a redraw unless none could change the parent.
    #[test]
    fn a_redraw_keeps_the_faults_and_moves_a_setting() {
        let parent = scenario("partition-heal");
        let mut settings = std::collections::BTreeSet::new();
        for i in 0..40u64 {
            let mut rng = crate::seeds::rng(i, &[b"redraw"]);
            let (child, kind) = mutate(&parent, &parent, None, Mutation::Redraw, true, &mut rng);
            if kind != Mutation::Redraw {
                continue;
            }
            assert_eq!(child.faults, parent.faults, "{i}");
            assert_ne!(child, parent, "{i}");
            let what = [
                ("transport", child.transport != parent.transport),
                ("sink", child.sink != parent.sink),
                ("workload", child.workload != parent.workload),
                ("network", child.network != parent.network),
                ("cluster", child.shards != parent.shards || child.members != parent.members),
            ];
            settings.extend(what.iter().filter(|(_, moved)| *moved).map(|(name, _)| *name));
        }
        assert!(settings.len() >= 4, "the redraws moved only {settings:?}");
    }
}
