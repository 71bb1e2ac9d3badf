//! proptest strategies for whole *runnable* scenarios: what the property test in
//! `sims/generated.rs` feeds the simulator.
//!
//! Unlike the loader's own strategies (`scenario/arbitrary.rs`, which stress the parser with
//! any valid file: huge numbers, odd names), these aim at the system under test: 1–6 nodes,
//! 0–12 faults over the whole fault vocabulary, small workloads so each case runs in a
//! fraction of a second, and settings inside the ranges where a correct shipper must pass
//! every invariant (a generous duration and settle, so "the workload did not finish" can only
//! mean a bug).
//!
//! Validity comes from the loader itself: the timeline is built fault by fault, and a fault is
//! kept only if the scenario so far still passes `parse(to_yaml(..))`. There is no second copy
//! of the validator's rules to drift from it.
//!
//! Choices are listed simplest first (proptest shrinks integers towards 0), so a shrunk case
//! prefers fewer nodes, fewer events, default-ish settings and the simpler fault kinds.

use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;

use shipsim_trace::FaultKind;

use crate::scenario::{
    self, BatchSize, Expect, Fault, FaultAction, HealTarget, LatencyRange, Link, Membership, Network,
    Scenario, Sink, SizeRange, TransportKind, TransportSettings, Workload, to_yaml,
};

/// Fault kinds, simplest first: shrinking moves a fault towards the front of this list.
pub const KINDS_SIMPLEST_FIRST: [FaultKind; 16] = [
    FaultKind::Latency,
    FaultKind::Loss,
    FaultKind::Join,
    FaultKind::Leave,
    FaultKind::Bounce,
    FaultKind::Crash,
    FaultKind::Restart,
    FaultKind::DropRoute,
    FaultKind::RestoreRoute,
    FaultKind::Heal,
    FaultKind::PartitionOneway,
    FaultKind::Partition,
    FaultKind::Hold,
    FaultKind::Release,
    FaultKind::Reorder,
    FaultKind::Clock,
];

/// Faults happen within the first this many milliseconds; the workloads are done by then.
const FAULT_WINDOW_MS: u64 = 6_000;

/// One generated fault step: (kind index into [`KINDS_SIMPLEST_FIRST`], time in ms, a number
/// that picks nodes and links, a latency range, a loss rate).
pub type Step = (usize, u64, u64, LatencyRange, f64);

fn latency() -> impl Strategy<Value = LatencyRange> {
    (0u64..20, 0u64..50).prop_map(|(min, extra)| LatencyRange {
        min: Duration::from_millis(min),
        max: Duration::from_millis(min + extra),
    })
}

fn loss_rate() -> impl Strategy<Value = f64> {
    select(vec![0.0, 0.1, 0.3, 1.0])
}

/// Byte-level settings: `network.segment`, `workload.payload` and `transport.max_unacked`.
/// Mostly today's defaults; otherwise combinations a correct transport must get through within
/// the generated deadlines. No segment of always 1 byte: a simulated TCP window is counted
/// in messages, so a frame of a hundred 1-byte pieces at tens of milliseconds each outlasts a
/// 200 ms deadline and only finds the budget's edge (ranges from 1 still cut frames anywhere,
/// the length prefix included).
fn bytes() -> impl Strategy<Value = (Option<SizeRange>, Option<SizeRange>, usize)> {
    let range = |min, max| Some(SizeRange { min, max });
    let shapes = select(vec![
        (None, None),
        (range(1, 64), None),
        (None, range(16, 4096)),
        (range(1, 1500), range(16, 4096)),
        (range(16, 1500), range(16, 16 << 10)),
    ]);
    (prop_oneof![3 => Just((None, None)), 1 => shapes], select(vec![64usize, 64, 1, 4, 16]))
        .prop_map(|((segment, payload), max_unacked)| (segment, payload, max_unacked))
}

/// A slow or sometimes busy receiving application, small enough next to the generated
/// deadlines (200 ms and up, batches of up to 8 events) that a correct shipper still meets
/// them: at most 8 ms per accept, at most 1 in 10 refused.
fn sink() -> impl Strategy<Value = Sink> {
    (0u64..=3, 0u64..=5, select(vec![0.0, 0.02, 0.1])).prop_map(|(min, extra, busy)| Sink {
        latency: LatencyRange { min: Duration::from_millis(min), max: Duration::from_millis(min + extra) },
        busy,
    })
}

fn step() -> impl Strategy<Value = Step> {
    (0..KINDS_SIMPLEST_FIRST.len(), 0..FAULT_WINDOW_MS, any::<u64>(), latency(), loss_rate())
}

prop_compose! {
    /// A valid, quickly runnable scenario whose `seeds` is the one simulation seed of the case.
    pub fn runnable_scenario()(
        node_count in 1usize..=6,
        seed in any::<u64>(),
        network in (latency(), select(vec![0.0, 0.0, 0.05, 0.2]))
            .prop_map(|(latency, loss)| Network { latency, loss, segment: None }),
        transport in (
            1usize..=4, 50u64..400, 200u64..2_000, select(vec![1_000u64, 50, 200]),
            select(vec![10u64, 1, 50]), select(vec![500u64, 2_000]), select(vec![1u64 << 20, 64 << 10, 4 << 10]),
        ).prop_map(|(connections, ack, deadline, connect, backoff_min, backoff_max, max_frame)| {
            TransportSettings {
                connections,
                ack_timeout: Duration::from_millis(ack),
                deadline: Duration::from_millis(deadline),
                connect_timeout: Duration::from_millis(connect),
                backoff: LatencyRange {
                    min: Duration::from_millis(backoff_min),
                    max: Duration::from_millis(backoff_max),
                },
                max_frame,
                ..TransportSettings::default()
            }
        }),
        // Up to 8 route calls in flight per node; one case in three keeps one at a time.
        workload in (1u64..=40, 50u32..=400, 1u32..=4, 0u32..=4, 1u32..=16, prop_oneof![1 => Just(1u32), 2 => 1u32..=8]).prop_map(
            |(events, rate, min, extra, keys, concurrency)| Workload {
                events,
                rate: f64::from(rate),
                batch: BatchSize { min, max: min + extra },
                keys,
                senders: None,
                payload: None,
                concurrency,
            }
        ),
        shards in 1u32..=16,
        steps in proptest::collection::vec(step(), 0..=12),
        // One case in four routes from some of the nodes only.
        senders in proptest::option::weighted(0.25, any::<u64>()),
        (segment, payload, max_unacked) in bytes(),
        // One case in four has a slow or busy sink (shrinks to the instant one).
        sink in proptest::option::weighted(0.25, sink()),
        // One case in three starts with some nodes outside the shard map (so they can join).
        members in proptest::option::weighted(0.35, any::<u64>()),
        // Half the cases run on gRPC (shrinks to the default transport, TCP).
        kind in proptest::option::weighted(0.5, Just(TransportKind::Grpc)),
        propagation in (0u64..200, 0u64..300).prop_map(|(min, extra)| LatencyRange {
            min: Duration::from_millis(min),
            max: Duration::from_millis(min + extra),
        }),
        // The run's and the settle phase's budgets: generous, so that "the workload did not
        // finish" can only mean a bug.
        (duration, settle) in (select(vec![60u64, 30, 120]), select(vec![10u64, 15, 30])),
    ) -> Scenario {
        let nodes: Vec<String> = (1..=node_count).map(|i| format!("n{i}")).collect();
        let members = members.map(|bits| some_of(&nodes, bits));
        let workload = Workload { senders: senders.map(|bits| some_of(&nodes, bits)), payload, ..workload };
        let network = Network { segment, ..network };
        let mut transport = TransportSettings { max_unacked, kind, ..transport };
        if payload.is_some() {
            // Generated payloads are up to 16 KiB: every frame fits 64 KiB.
            transport.max_frame = transport.max_frame.max(64 << 10);
        }
        if payload.is_some() || segment.is_some() || max_unacked < 8 {
            // A frame of kilobytes, or one cut into pieces, takes several round trips to
            // cross, and a window of a few frames sends a batch a few frames per round trip.
            // An ack timeout or deadline shorter than that declares every connection stuck
            // for good (each resend starts again), which finds the budget's edge, not a bug.
            transport.ack_timeout = transport.ack_timeout.max(Duration::from_millis(400));
            transport.deadline = transport.deadline.max(Duration::from_secs(2));
        }
        let base = Scenario {
            name: "generated".into(),
            description: String::new(),
            seeds: vec![seed],
            nodes,
            shards,
            members,
            membership: Membership { propagation },
            duration: Duration::from_secs(duration),
            network,
            transport,
            sink: sink.unwrap_or_default(),
            workload,
            faults: Vec::new(),
            expect: Expect { settle: Duration::from_secs(settle), ..Expect::default() },
        };
        with_timeline(with_concurrency(base), steps)
    }
}

/// `scenario` with the route calls in flight it was generated with, and a deadline grown to
/// match, as swarm grows it (a queue of calls is not a failure).
fn with_concurrency(mut scenario: Scenario) -> Scenario {
    let concurrency = std::mem::replace(&mut scenario.workload.concurrency, 1);
    crate::search::swarm::set_concurrency_to(&mut scenario, concurrency);
    scenario
}

/// A non-empty subset of `nodes`, in their order: node i is in it when bit i of `bits` is set
/// (the first node when none is).
fn some_of(nodes: &[String], bits: u64) -> Vec<String> {
    let chosen: Vec<String> =
        nodes.iter().enumerate().filter(|(i, _)| (bits >> i) & 1 == 1).map(|(_, n)| n.clone()).collect();
    if chosen.is_empty() { nodes[..1].to_vec() } else { chosen }
}

/// Adds the steps in time order, each only if the scenario stays valid.
pub fn with_timeline(mut scenario: Scenario, mut steps: Vec<Step>) -> Scenario {
    steps.sort_by_key(|s| s.1);
    for (kind, at_ms, pick, range, rate) in steps {
        let kind = KINDS_SIMPLEST_FIRST[kind];
        let action = if kind == FaultKind::RestoreRoute {
            restore(&scenario.faults, pick)
        } else {
            action(&scenario.nodes, kind, pick, range, rate)
        };
        let Some(action) = action else {
            continue;
        };
        scenario.faults.push(Fault { at: Duration::from_millis(at_ms), action, line: 0 });
        match scenario::parse(&to_yaml(&scenario), "<generated>") {
            Ok(valid) => scenario = valid,
            Err(_) => {
                scenario.faults.pop();
            }
        }
    }
    scenario
}

/// A `restore-route` of one of the routes `faults` left dropped, chosen by `pick` (a random
/// one would almost never be dropped, so the kind would hardly ever survive validation).
fn restore(faults: &[Fault], pick: u64) -> Option<FaultAction> {
    let mut dropped: Vec<(String, String)> = Vec::new();
    for fault in faults {
        match &fault.action {
            FaultAction::DropRoute { from, to } => dropped.push((from.clone(), to.clone())),
            FaultAction::RestoreRoute { from, to } => dropped.retain(|r| r != &(from.clone(), to.clone())),
            FaultAction::Crash(node) | FaultAction::Bounce(node) => dropped.retain(|(from, _)| from != node),
            _ => {}
        }
    }
    if dropped.is_empty() {
        return None;
    }
    let (from, to) = dropped.swap_remove((pick % dropped.len() as u64) as usize);
    Some(FaultAction::RestoreRoute { from, to })
}

/// A heal of every partition, or of the nodes `pick`'s bits choose (`None` if none).
fn heal(nodes: &[String], pick: u64) -> Option<FaultAction> {
    if pick.is_multiple_of(2) {
        return Some(FaultAction::Heal(HealTarget::All));
    }
    let chosen: Vec<String> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| (pick >> (i + 1)) & 1 == 1)
        .map(|(_, s)| s.clone())
        .collect();
    (!chosen.is_empty()).then_some(FaultAction::Heal(HealTarget::Nodes(chosen)))
}

/// The action of one step, its nodes and links chosen by `pick`; `None` when the cluster is
/// too small for the kind.
fn action(
    nodes: &[String],
    kind: FaultKind,
    pick: u64,
    range: LatencyRange,
    rate: f64,
) -> Option<FaultAction> {
    let n = nodes.len() as u64;
    let node = |k: u32| nodes[((pick >> k) % n) as usize].clone();
    let link = || {
        let a = (pick % n) as usize;
        let b = (a + 1 + ((pick >> 8) % (n - 1)) as usize) % nodes.len();
        Link::new(nodes[a].clone(), nodes[b].clone())
    };
    let two = n >= 2;
    Some(match kind {
        FaultKind::Latency if two => FaultAction::Latency { link: link(), value: range },
        FaultKind::Loss if two => FaultAction::Loss { link: link(), rate },
        FaultKind::Bounce => FaultAction::Bounce(node(0)),
        FaultKind::Crash => FaultAction::Crash(node(0)),
        FaultKind::Restart => FaultAction::Restart(node(0)),
        FaultKind::Heal => heal(nodes, pick)?,
        FaultKind::PartitionOneway if two => {
            let l = link();
            FaultAction::PartitionOneway { from: l.a, to: l.b }
        }
        FaultKind::Partition if two => {
            // Each node lands in group 0, group 1, or (1 in 3) no group.
            let mut groups = vec![Vec::new(), Vec::new()];
            for (i, name) in nodes.iter().enumerate() {
                match (pick >> (2 * i)) % 3 {
                    0 => groups[0].push(name.clone()),
                    1 => groups[1].push(name.clone()),
                    _ => {}
                }
            }
            if groups.iter().any(Vec::is_empty) {
                return None;
            }
            FaultAction::Partition(groups)
        }
        FaultKind::Hold if two => FaultAction::Hold(link()),
        FaultKind::Release if two => FaultAction::Release(link()),
        FaultKind::Reorder if two => FaultAction::Reorder(link()),
        FaultKind::Join => FaultAction::Join(node(0)),
        // A jump of up to a second (past the ack timeouts and backoffs the generator draws,
        // within its deadlines), or, one time in three, a skew of -50% to +100% for the rest
        // of the run.
        FaultKind::Clock if (pick >> 40).is_multiple_of(3) => FaultAction::Skew {
            node: node(0),
            ppm: crate::scenario::DRAWN_SKEWS_PPM[((pick >> 44) % 4) as usize],
        },
        FaultKind::Clock => {
            FaultAction::Clock { node: node(0), jump: Duration::from_millis(1 + (pick >> 20) % 1_000) }
        }
        FaultKind::Leave if two => FaultAction::Leave(node(0)),
        FaultKind::DropRoute if two => {
            let l = link();
            FaultAction::DropRoute { from: l.a, to: l.b }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    use std::collections::BTreeSet;

    /// The property test is only as good as what it generates: every fault kind comes up,
    /// timelines get long, and every scenario is valid and small.
    #[test]
    fn generated_scenarios_are_valid_small_and_cover_every_kind() {
        let mut runner = TestRunner::deterministic();
        let mut kinds = BTreeSet::new();
        let mut longest = 0;
        let mut sizes = BTreeSet::new();
        let (mut segmented, mut padded, mut windows) = (0, 0, BTreeSet::new());
        let (mut slow_sinks, mut jumps, mut skews) = (0, 0, 0);
        for _ in 0..400 {
            let s = runnable_scenario().new_tree(&mut runner).unwrap().current();
            assert!(scenario::parse(&to_yaml(&s), "x").is_ok());
            assert!((1..=6).contains(&s.nodes.len()) && s.faults.len() <= 12 && s.workload.events <= 40);
            assert_eq!(s.seeds.len(), 1);
            sizes.insert(s.nodes.len());
            slow_sinks += usize::from(s.sink != Sink::default());
            longest = longest.max(s.faults.len());
            kinds.extend(s.faults.iter().map(|f| f.action.kind()));
            jumps += s.faults.iter().filter(|f| matches!(f.action, FaultAction::Clock { .. })).count();
            skews += s.faults.iter().filter(|f| matches!(f.action, FaultAction::Skew { .. })).count();
            segmented += usize::from(s.network.segment.is_some());
            padded += usize::from(s.workload.payload.is_some());
            windows.insert(s.transport.max_unacked);
        }
        assert!((40..200).contains(&segmented), "{segmented} of 400 segmented");
        assert!((25..200).contains(&padded), "{padded} of 400 with payload sizes");
        assert_eq!(windows.len(), 4, "{windows:?}");
        assert_eq!(kinds.len(), FaultKind::simulated().count(), "{kinds:?}");
        assert_eq!(sizes.len(), 6);
        assert!(longest >= 6, "{longest}");
        assert!((40..=160).contains(&slow_sinks), "{slow_sinks} of 400 with a sink model");
        assert!(skews > 0 && jumps > skews, "clock faults: {jumps} jumps, {skews} skews");
    }
}
