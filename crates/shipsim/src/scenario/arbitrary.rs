//! proptest strategies for the loader's own tests: arbitrary *valid* scenarios (for the
//! `to_yaml` → `parse` round trip) and arbitrary junk (for "never panics").
//!
//! Valid fault timelines are built by walking the same state the validator walks: each
//! generated step picks an action that can take effect at that moment, or is skipped.

use std::collections::BTreeSet;
use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::select;

use shipsim_trace::{ExpectDelivery, ExpectOrdering, ExpectPlacement, ExpectStats};

use super::model::{
    BatchSize, Expect, Fault, FaultAction, HealTarget, LatencyRange, Link, Membership, Network, Scenario,
    Sink, SizeRange, TransportKind, TransportSettings, Workload,
};

/// The project's original schema example without its contradictory line (the release after a reorder: a
/// reorder releases the link).
pub(super) const EXAMPLE: &str = "\
name: partition-heal
description: One node is cut off mid-batch and comes back.
seeds: [1, 2, 3]
nodes: [n1, n2, n3]
shards: 16
duration: 60s
network:
  latency: 1ms..20ms
  loss: 0.0
transport:
  connections: 2
  ack_timeout: 200ms
  deadline: 5s
workload:
  events: 500
  rate: 200/s
  batch: 1..8
  keys: 64
faults:
  - {at: 2s, partition: [[n1], [n2, n3]]}
  - {at: 3s, partition-oneway: {from: n1, to: n2}}
  - {at: 4s, heal: all}
  - {at: 5s, crash: n2}
  - {at: 6s, restart: n2}
  - {at: 7s, bounce: n3}
  - {at: 8s, hold: [n1, n3]}
  - {at: 9s, reorder: [n1, n3]}
  - {at: 11s, latency: {link: [n1, n2], value: 50ms..200ms}}
  - {at: 12s, loss: {link: [n1, n2], rate: 0.1}}
  - {at: 13s, drop-route: {from: n1, to: n2}}
  - {at: 14s, restore-route: {from: n1, to: n2}}
expect:
  delivery: exactly-once
  ordering: per-batch
  stats: consistent
  placement: owner
  settle: 10s
";

/// Node names, including ones YAML would read as something else if written plain.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z0-9-]{1,6}",
        1 => select(vec![
            "null", "yes", "no", "y", "n", "on", "off", "true", "false", "0x10", "1e3", "0", "-",
            "--", "---", "-1", "0o7", "inf", "nan",
        ])
        .prop_map(str::to_owned),
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        4 => (0u64..100_000, 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        2 => (0u64..10_000).prop_map(Duration::from_millis),
        1 => (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

fn positive_duration() -> impl Strategy<Value = Duration> {
    duration().prop_map(|d| if d.is_zero() { Duration::from_nanos(1) } else { d })
}

fn latency() -> impl Strategy<Value = LatencyRange> {
    (duration(), duration()).prop_map(|(a, b)| LatencyRange { min: a.min(b), max: a.max(b) })
}

fn probability() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64]
}

fn rate() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(200.0),
        0.001..1e6f64,
        proptest::num::f64::POSITIVE | proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL,
    ]
    .prop_filter("finite and positive", |r| r.is_finite() && *r > 0.0)
}

/// An optional size range within `1..=max`.
fn sizes(max: u64) -> impl Strategy<Value = Option<SizeRange>> {
    proptest::option::of((1..=max, 1..=max).prop_map(|(a, b)| SizeRange { min: a.min(b), max: a.max(b) }))
}

/// Route calls in flight per node: mostly 1..=8, sometimes the largest accepted.
fn concurrency() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 1..=8u32, 1 => Just(Workload::MAX_CONCURRENCY)]
}

/// One generated timeline step: an action kind, a time fraction and randomness for its
/// arguments.
type Step = (u8, u32, u64, LatencyRange, f64);

prop_compose! {
    pub fn scenario()(
        name in "[a-z0-9-]{1,12}",
        description in prop_oneof![any::<String>(), "[ -~]{0,30}"],
        seeds in proptest::collection::btree_set(any::<u64>(), 1..4),
        nodes in proptest::collection::btree_set(name(), 1..=16),
        shards in 1..=u32::MAX,
        duration in positive_duration(),
        network in (latency(), probability(), sizes(Network::MAX_SEGMENT))
            .prop_map(|(latency, loss, segment)| Network { latency, loss, segment }),
        transport in (
            1usize..=16, positive_duration(), positive_duration(), TransportSettings::MAX_FRAME_RANGE,
            1..=TransportSettings::MAX_UNACKED, positive_duration(), latency(),
            proptest::option::of(select(TransportKind::ALL.to_vec())),
        ).prop_map(|(connections, ack_timeout, deadline, max_frame, max_unacked, connect_timeout, backoff, kind)| {
            TransportSettings {
                kind, connections, ack_timeout, deadline, max_frame, max_unacked, connect_timeout,
                backoff: LatencyRange { min: backoff.min.max(Duration::from_nanos(1)), ..backoff },
                broker: Default::default(),
            }
        }),
        sink in (latency(), prop_oneof![Just(0.0), 0.0..1.0f64]).prop_map(|(latency, busy)| Sink { latency, busy }),
        workload in (any::<u64>(), rate(), 1..=u32::MAX, any::<u32>(), 1..=u32::MAX, sizes(Workload::MAX_PAYLOAD), concurrency())
            .prop_map(|(events, rate, min, extra, keys, payload, concurrency)| Workload {
                events, rate, batch: BatchSize { min, max: min.saturating_add(extra % 64) }, keys,
                senders: None, payload, concurrency }),
        expect in (
            select(vec![ExpectDelivery::ExactlyOnce, ExpectDelivery::AtLeastOnce]),
            select(vec![ExpectOrdering::PerBatch, ExpectOrdering::None]),
            select(vec![ExpectStats::Consistent, ExpectStats::Ignore]),
            select(vec![ExpectPlacement::Owner, ExpectPlacement::Ignore]),
            positive_duration(),
        ).prop_map(|(delivery, ordering, stats, placement, settle)| Expect { delivery, ordering, stats, placement, settle }),
        steps in proptest::collection::vec((0u8..17, any::<u32>(), any::<u64>(), latency(), probability()), 0..24),
        senders in any::<Option<u64>>(),
        members in any::<Option<u64>>(),
        propagation in latency(),
    ) -> Scenario {
        let nodes: Vec<String> = nodes.into_iter().collect();
        let mut workload = workload;
        workload.senders = senders.map(|bits| subset(&nodes, bits));
        let members = members.map(|bits| subset(&nodes, bits));
        let initial = members.clone().unwrap_or_else(|| nodes.clone());
        let faults = timeline(&nodes, &initial, duration, network.loss, steps);
        Scenario {
            name, description, seeds: seeds.into_iter().collect(), nodes, shards, members,
            membership: Membership { propagation }, duration, network, transport, sink, workload, faults, expect,
        }
    }
}

/// A non-empty subset of `nodes`, in their order, chosen by the bits of `bits`.
fn subset(nodes: &[String], bits: u64) -> Vec<String> {
    let chosen: Vec<String> = nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| (bits >> (i % 64)) & 1 == 1)
        .map(|(_, n)| n.clone())
        .collect();
    if chosen.is_empty() { vec![nodes[(bits % nodes.len() as u64) as usize].clone()] } else { chosen }
}

/// A tiny deterministic generator for the arguments of one step.
struct Pick(u64);

impl Pick {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn index(&mut self, len: usize) -> usize {
        (self.next() % len as u64) as usize
    }

    fn one<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() { None } else { Some(items[self.index(items.len())].clone()) }
    }
}

fn pair(a: &str, b: &str) -> (String, String) {
    if a <= b { (a.to_owned(), b.to_owned()) } else { (b.to_owned(), a.to_owned()) }
}

/// Builds a timeline the validator accepts, mirroring its state walk.
/// A valid fault timeline; `network_loss` matters because one-way partitions
/// do not combine with loss.
fn timeline(
    nodes: &[String],
    initial_members: &[String],
    duration: Duration,
    network_loss: f64,
    steps: Vec<Step>,
) -> Vec<Fault> {
    let mut members: BTreeSet<String> = initial_members.iter().cloned().collect();
    let mut times: Vec<Duration> = steps
        .iter()
        .map(|s| {
            let nanos = duration.as_nanos() * u128::from(s.1) / u128::from(u32::MAX);
            Duration::new(
                u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX),
                u32::try_from(nanos % 1_000_000_000).unwrap_or(0),
            )
        })
        .collect();
    times.sort();
    let mut crashed: BTreeSet<String> = BTreeSet::new();
    let mut cut: BTreeSet<(String, String)> = BTreeSet::new();
    let mut oneway: BTreeSet<(String, String)> = BTreeSet::new();
    let mut held: BTreeSet<(String, String)> = BTreeSet::new();
    let mut lossy: BTreeSet<(String, String)> = BTreeSet::new();
    // Routes dropped, (from, to); a crash or bounce of `from` ends them.
    let mut dropped: BTreeSet<(String, String)> = BTreeSet::new();
    let mut faults = Vec::new();
    for ((kind, _, seed, range, prob), at) in steps.into_iter().zip(times) {
        let mut pick = Pick(seed);
        let links: Vec<Link> = nodes
            .iter()
            .enumerate()
            .flat_map(|(i, a)| nodes[i + 1..].iter().map(move |b| Link::new(a.clone(), b.clone())))
            .map(|l| if pick_flip(seed, &l) { Link::new(l.b, l.a) } else { l })
            .collect();
        let blocked = |l: &Link, cut: &BTreeSet<_>, oneway: &BTreeSet<_>| {
            cut.contains(&pair(&l.a, &l.b))
                || oneway.contains(&(l.a.clone(), l.b.clone()))
                || oneway.contains(&(l.b.clone(), l.a.clone()))
        };
        let action = match kind {
            0 => {
                let groups_n = 2 + pick.index(2);
                let mut groups = vec![Vec::new(); groups_n + 1];
                for n in nodes {
                    groups[pick.index(groups_n + 1)].push(n.clone());
                }
                groups.pop(); // the last bucket is "not in any group"
                groups.retain(|g| !g.is_empty());
                let mut crossing = Vec::new();
                for (i, g) in groups.iter().enumerate() {
                    for h in &groups[i + 1..] {
                        for a in g {
                            for b in h {
                                crossing.push(pair(a, b));
                            }
                        }
                    }
                }
                if groups.len() < 2 || crossing.iter().any(|p| held.contains(p)) {
                    None
                } else {
                    cut.extend(crossing);
                    Some(FaultAction::Partition(groups))
                }
            }
            1 if network_loss == 0.0 => pick
                .one(&links)
                .filter(|l| !held.contains(&pair(&l.a, &l.b)) && !lossy.contains(&pair(&l.a, &l.b)))
                .map(|l| {
                    oneway.insert((l.a.clone(), l.b.clone()));
                    FaultAction::PartitionOneway { from: l.a, to: l.b }
                }),
            2 if !cut.is_empty() || !oneway.is_empty() => {
                cut.clear();
                oneway.clear();
                Some(FaultAction::Heal(HealTarget::All))
            }
            3 => {
                let involved: Vec<String> = nodes
                    .iter()
                    .filter(|n| cut.iter().chain(&oneway).any(|(a, b)| a == *n || b == *n))
                    .filter(|_| pick.next() & 1 == 0)
                    .cloned()
                    .collect();
                if involved.is_empty() {
                    None
                } else {
                    cut.retain(|(a, b)| !involved.contains(a) && !involved.contains(b));
                    oneway.retain(|(a, b)| !involved.contains(a) && !involved.contains(b));
                    Some(FaultAction::Heal(HealTarget::Nodes(involved)))
                }
            }
            4 | 6 => {
                let running: Vec<String> = nodes.iter().filter(|n| !crashed.contains(*n)).cloned().collect();
                pick.one(&running).map(|n| {
                    dropped.retain(|(from, _)| *from != n);
                    if kind == 4 {
                        crashed.insert(n.clone());
                        FaultAction::Crash(n)
                    } else {
                        FaultAction::Bounce(n)
                    }
                })
            }
            5 => {
                let down: Vec<String> = crashed.iter().cloned().collect();
                pick.one(&down).map(|n| {
                    crashed.remove(&n);
                    FaultAction::Restart(n)
                })
            }
            7 => {
                let free: Vec<Link> = links
                    .iter()
                    .filter(|l| !held.contains(&pair(&l.a, &l.b)) && !blocked(l, &cut, &oneway))
                    .cloned()
                    .collect();
                pick.one(&free).map(|l| {
                    held.insert(pair(&l.a, &l.b));
                    FaultAction::Hold(l)
                })
            }
            8 | 9 => {
                let holding: Vec<Link> =
                    links.iter().filter(|l| held.contains(&pair(&l.a, &l.b))).cloned().collect();
                pick.one(&holding).map(|l| {
                    held.remove(&pair(&l.a, &l.b));
                    if kind == 8 { FaultAction::Reorder(l) } else { FaultAction::Release(l) }
                })
            }
            10 => pick.one(&links).map(|link| FaultAction::Latency { link, value: range }),
            11 => pick.one(&links).filter(|l| prob == 0.0 || !blocked(l, &BTreeSet::new(), &oneway)).map(
                |link| {
                    if prob == 0.0 {
                        lossy.remove(&pair(&link.a, &link.b));
                    } else {
                        lossy.insert(pair(&link.a, &link.b));
                    }
                    FaultAction::Loss { link, rate: prob }
                },
            ),
            12 => pick
                .one(&links)
                .filter(|l| !crashed.contains(&l.a) && !dropped.contains(&(l.a.clone(), l.b.clone())))
                .map(|l| {
                    dropped.insert((l.a.clone(), l.b.clone()));
                    FaultAction::DropRoute { from: l.a, to: l.b }
                }),
            13 => {
                let routes: Vec<(String, String)> = dropped.iter().cloned().collect();
                pick.one(&routes).map(|(from, to)| {
                    dropped.remove(&(from.clone(), to.clone()));
                    FaultAction::RestoreRoute { from, to }
                })
            }
            14 => {
                let outside: Vec<String> = nodes.iter().filter(|n| !members.contains(*n)).cloned().collect();
                pick.one(&outside).map(|n| {
                    members.insert(n.clone());
                    FaultAction::Join(n)
                })
            }
            15 if members.len() > 1 => {
                let inside: Vec<String> = members.iter().cloned().collect();
                pick.one(&inside).map(|n| {
                    members.remove(&n);
                    FaultAction::Leave(n)
                })
            }
            16 => {
                let running: Vec<String> = nodes.iter().filter(|n| !crashed.contains(*n)).cloned().collect();
                pick.one(&running).map(|node| clock_fault(node, seed))
            }
            _ => None,
        };
        if let Some(action) = action {
            faults.push(Fault { at, action, line: 0 });
        }
    }
    faults
}

/// Whether to write a link's ends in reverse order (links are unordered; both spellings must
/// round-trip).
fn pick_flip(seed: u64, link: &Link) -> bool {
    (seed ^ (link.a.len() as u64) ^ ((link.b.len() as u64) << 3)) % 2 == 1
}

/// Text built from YAML tokens and scenario words, to reach deep into the parser.
pub(super) fn yaml_like_text() -> impl Strategy<Value = String> {
    let tokens = vec![
        "name",
        "nodes",
        "faults",
        "seeds",
        "network",
        "latency",
        "loss",
        "at",
        "partition",
        "partition-oneway",
        "drop-route",
        "restore-route",
        "heal",
        "all",
        "crash",
        "restart",
        "hold",
        "release",
        "reorder",
        "link",
        "value",
        "rate",
        "from",
        "to",
        "expect",
        "settle",
        "n1",
        "n2",
        "2s",
        "1ms..5ms",
        "200/s",
        "1..8",
        "0.5",
        "-1",
        "99999999999999999999",
        ".nan",
        "~",
        "null",
        ":",
        ": ",
        " ",
        "  ",
        "\n",
        "\n  ",
        "\n  - ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ",",
        ", ",
        "&a ",
        "*a",
        "<<: ",
        "? ",
        "#",
        "\"",
        "'",
        "|",
        ">",
        "---",
        "...",
        "!!binary ",
        "!!str ",
        "!x ",
        "%YAML 1.2\n",
        "\t",
        "\r\n",
        "\u{feff}",
        "é",
        "\\",
        "\u{0}",
        "\u{85}",
    ];
    proptest::collection::vec(select(tokens), 0..80).prop_map(|t| t.concat())
}

/// Byte-level edits of a valid file: (where, what, byte).
pub(super) fn edits() -> impl Strategy<Value = Vec<(prop::sample::Index, u8, u8)>> {
    proptest::collection::vec((any::<prop::sample::Index>(), 0u8..4, any::<u8>()), 1..6)
}

pub(super) fn apply_edits(text: &str, edits: &[(prop::sample::Index, u8, u8)]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for (at, op, byte) in edits {
        let i = at.index(bytes.len() + 1);
        match op {
            0 if i < bytes.len() => {
                bytes.remove(i);
            }
            1 => bytes.insert(i, *byte),
            2 => bytes.truncate(i),
            _ if i < bytes.len() => bytes[i] = *byte,
            _ => {}
        }
    }
    bytes
}

/// A clock fault on `node`: a jump of up to 2 s, or, one time in three, a skew for the rest of
/// the run (until the node's next one) of -50% to +100%, both drawn from `seed`.
fn clock_fault(node: String, seed: u64) -> FaultAction {
    if (seed >> 40).is_multiple_of(3) {
        return FaultAction::Skew { node, ppm: super::DRAWN_SKEWS_PPM[((seed >> 44) % 4) as usize] };
    }
    FaultAction::Clock { node, jump: Duration::from_millis(1 + (seed >> 20) % 2_000) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    /// The round-trip property is only as good as the scenarios it sees: every fault kind must
    /// come up, and timelines must be more than a fault or two long.
    #[test]
    fn generated_timelines_cover_every_fault_kind() {
        let mut runner = TestRunner::deterministic();
        let mut kinds = BTreeSet::new();
        let (mut longest, mut jumps, mut skews) = (0, 0, 0);
        for _ in 0..300 {
            let s = scenario().new_tree(&mut runner).unwrap().current();
            longest = longest.max(s.faults.len());
            kinds.extend(s.faults.iter().map(|f| f.action.kind()));
            jumps += s.faults.iter().filter(|f| matches!(f.action, FaultAction::Clock { .. })).count();
            skews += s.faults.iter().filter(|f| matches!(f.action, FaultAction::Skew { .. })).count();
        }
        assert_eq!(kinds.len(), shipsim_trace::FaultKind::simulated().count(), "{kinds:?}");
        assert!(longest >= 10, "{longest}");
        assert!(skews > 0 && jumps > skews, "clock faults: {jumps} jumps, {skews} skews");
    }
}
