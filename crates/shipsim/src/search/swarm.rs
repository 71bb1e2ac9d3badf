//! Swarm testing (Groce et al., 2012): each seed of a sweep runs its own variant of the
//! scenario, with some groups of fault kinds switched off and the rates varied, so a sweep
//! meets combinations a single timeline never shows.

use std::time::Duration;

use rand::Rng as _;
use shipsim_trace::FaultKind;

use crate::scenario::{FaultAction, LatencyRange, Scenario, Sink, SizeRange, to_yaml};
use crate::seeds;
use knobs::Knobs;
#[cfg(any(test, feature = "proptest"))]
pub(crate) use knobs::set_concurrency_to;
pub(crate) use redraw::{dimension, redraw};

mod knobs;
mod redraw;

/// Kinds that only make sense together: a restart needs its crash, a reorder or release its
/// hold, a heal a partition. Swarm testing switches whole groups on and off so the variant stays
/// a valid scenario in the common case.
const KIND_GROUPS: [&[FaultKind]; 8] = [
    &[FaultKind::Partition, FaultKind::PartitionOneway, FaultKind::Heal],
    &[FaultKind::Crash, FaultKind::Restart],
    &[FaultKind::Bounce],
    &[FaultKind::Hold, FaultKind::Reorder, FaultKind::Release],
    &[FaultKind::Latency],
    &[FaultKind::Loss],
    &[FaultKind::DropRoute, FaultKind::RestoreRoute],
    &[FaultKind::Join, FaultKind::Leave],
];

/// The swarm variant of `scenario` for `seed` (swarm testing: Groce et al., 2012).
///
/// From `seeds::rng(seed, ["swarm"])` alone:
/// - each group of fault kinds in `KIND_GROUPS` present in the timeline is kept with
///   probability 1/2 (its faults are dropped otherwise), so a sweep sees each combination of
///   the scenario's fault kinds, including rare ones, instead of always all of them at once;
/// - the rates are varied: the network latency and each `latency` fault's range are scaled by
///   a factor in 0.5..4, the network loss and each `loss` fault's rate by a factor in 0.25..2
///   (never above max(rate, 0.5), and a zero rate stays zero, so validity does not change);
/// - when the latency grows (factor above 1), every time budget measured against round trips
///   grows by the same factor: the transport's ack timeout and deadline, the settle phase and
///   the run's duration. A scenario's timing is relative to its network (an ack timeout below
///   the round trip declares every connection stuck; a workload paced by round trips needs
///   proportionally longer to finish); without this a sweep would mostly find the limits of
///   the budgets it had just outgrown, not bugs. The transport's own constants (reconnect
///   backoff, connect timeout) are not scaled, so a sweep still meets them at new ratios;
/// - byte streams: with probability 1/4, a scenario that cuts no byte stream and loses no
///   message gets `network.segment: 1..1500` (frames arrive in pieces and reads end inside
///   them; with loss, more pieces per frame would only mean more losses per frame);
/// - the receiving application: with probability 1/2, a scenario that crashes or bounces
///   nodes and has no `sink` section gets a sink of 1ms..2ms per accept (scaled by the
///   latency factor), so a crash can land between an ack and an accept; its ack timeout and
///   deadline grow by a batch's worth of accepts. A scenario's own sink latency is scaled
///   like the network's;
/// - membership: the propagation delay of `join`/`leave` is scaled by a factor in 0..4
///   (0: every node adopts a change at once);
/// - every other setting that changes what runs, each on its own draw (`Knobs`, drawn after
///   the dimensions above, so those keep the values a seed always gave them):
///   `workload.concurrency` with probability 1/2 (2..=16 route calls in flight per node, or
///   1..=2× the scenario's own when it sets one; the deadline grows by one deadline per call
///   that can be ahead of a call on its connection, since each may take that long), and with
///   probability 1/4 each: the transport (gRPC for a scenario that names none: a named one is
///   the user's choice and is kept, as `--transport` names it), `connections` (1..=4),
///   `max_unacked` (never below what a batch needs, or the scenario's own), `connect_timeout`
///   (down to a quarter, never near a round trip), `backoff` (its cap never lower),
///   `max_frame`, a sink that answers busy (probability 1/8: a busy sink lifts the `recovery`
///   bound), the workload's events (down to half), rate (up to 3×), batch sizes (within the
///   scenario's), keys, senders (one fewer), payload sizes (added only over whole writes),
///   `network.segment` (larger pieces: smaller ones only find the budgets' edge), `shards`,
///   the initial `members` (one node in or out) and, with probability 1/8, a `clock` fault: one
///   node's clock jumps 20 ms..2.5 s ahead while the workload runs, or (a third of those) runs
///   50% or 20% slow, 20% or 100% fast for half the workload's healthy time.
///
/// A knob whose value would make the scenario invalid (a payload that does not fit the frame
/// limit, members that contradict a join) is left as it was. If the variant is not a valid
/// scenario (dropping one group can rarely leave another fault that needs it), the fault
/// timeline is kept whole; if that is invalid too, the scenario is used unchanged. The
/// variant is what runs and what a repro records (its transport included), so replaying needs
/// no `--swarm`.
pub fn swarm(scenario: &Scenario, seed: u64) -> Scenario {
    let mut rng = seeds::rng(seed, &[b"swarm"]);
    let keep: Vec<bool> = KIND_GROUPS.iter().map(|_| rng.random_bool(0.5)).collect();
    let latency_factor = rng.random_range(0.5..4.0);
    let loss_factor = rng.random_range(0.25..2.0);
    let mut varied = scenario.clone();
    scale_network(&mut varied, latency_factor, loss_factor);
    // Drawn after the older dimensions, so those keep the values a seed always gave them.
    let segment_on = rng.random_bool(0.25);
    let sink_on = rng.random_bool(0.5);
    let propagation_factor = rng.random_range(0.0..4.0);
    add_segment_and_sink(&mut varied, segment_on, sink_on, latency_factor);
    varied.membership.propagation.min = varied.membership.propagation.min.mul_f64(propagation_factor);
    varied.membership.propagation.max = varied.membership.propagation.max.mul_f64(propagation_factor);
    Knobs::draw(&mut rng).apply(&mut varied);
    fit_duration(&mut varied);
    let mut subset = varied.clone();
    subset.faults.retain(|f| {
        KIND_GROUPS.iter().zip(&keep).all(|(group, kept)| *kept || !group.contains(&f.action.kind()))
    });
    [subset, varied]
        .into_iter()
        .find_map(|candidate| crate::parse(&to_yaml(&candidate), "<swarm>").ok())
        .unwrap_or_else(|| scenario.clone())
}

/// The latency and loss dimensions: the network's, its faults', and the time budgets that
/// grow with the latency.
fn scale_network(varied: &mut Scenario, latency_factor: f64, loss_factor: f64) {
    let scale_latency = |d: Duration| d.mul_f64(latency_factor);
    let scale_loss = |rate: f64| (rate * loss_factor).min(rate.max(0.5));
    varied.network.latency.min = scale_latency(varied.network.latency.min);
    varied.network.latency.max = scale_latency(varied.network.latency.max);
    varied.network.loss = scale_loss(varied.network.loss);
    let time_factor = latency_factor.max(1.0);
    for budget in [
        &mut varied.transport.ack_timeout,
        &mut varied.transport.deadline,
        &mut varied.expect.settle,
        &mut varied.duration,
    ] {
        *budget = budget.mul_f64(time_factor);
    }
    for fault in &mut varied.faults {
        match &mut fault.action {
            FaultAction::Latency { value, .. } => {
                value.min = scale_latency(value.min);
                value.max = scale_latency(value.max);
            }
            FaultAction::Loss { rate, .. } => *rate = scale_loss(*rate),
            _ => {}
        }
    }
}

/// Grows the run's cap to what the variant's workload needs on its network and the settle
/// budget after it: smaller batches, a higher rate or slower links can make the workload
/// outlast the scenario's `duration`, and a run cut there reports an unfinished workload that
/// is the budget's edge, not a bug (found by a 200-seed sweep of `latency-rises`). A run ends
/// when its work is done, so a longer cap costs nothing otherwise.
pub(super) fn fit_duration(varied: &mut Scenario) {
    let needed = crate::sim::healthy_time(varied) + varied.expect.settle;
    varied.duration = varied.duration.max(needed);
}

/// The byte-stream and receiving-application dimensions (see [`swarm`]).
fn add_segment_and_sink(varied: &mut Scenario, segment_on: bool, sink_on: bool, latency_factor: f64) {
    let scale_latency = |d: Duration| d.mul_f64(latency_factor);
    let lossless =
        varied.network.loss == 0.0 && !varied.faults.iter().any(|f| f.action.kind() == FaultKind::Loss);
    if segment_on && lossless && varied.network.segment.is_none() {
        varied.network.segment = Some(SizeRange { min: 1, max: 1500 });
    }
    let crashes =
        varied.faults.iter().any(|f| matches!(f.action, FaultAction::Crash(_) | FaultAction::Bounce(_)));
    if varied.sink == Sink::default() {
        if sink_on && crashes {
            varied.sink.latency = LatencyRange {
                min: scale_latency(Duration::from_millis(1)),
                max: scale_latency(Duration::from_millis(2)),
            };
            let accepts = varied.sink.latency.max * varied.workload.batch.max;
            varied.transport.ack_timeout += accepts;
            varied.transport.deadline += accepts;
        }
    } else {
        varied.sink.latency.min = scale_latency(varied.sink.latency.min);
        varied.sink.latency.max = scale_latency(varied.sink.latency.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    const TINY: &str = include_str!("../../tests/fixtures/tiny-explore.yaml");

    fn tiny() -> Scenario {
        scenario::parse(TINY, "tiny.yaml").unwrap()
    }

    /// How much the concurrency knob grew `v`'s deadline over `s`'s: one deadline per call that
    /// can be ahead of a call on its connection.
    fn concurrency_growth(s: &Scenario, v: &Scenario) -> f64 {
        let ahead = |c: u32| f64::from((c - 1).div_ceil(v.transport.connections as u32));
        let (own, now) = (s.workload.concurrency, v.workload.concurrency);
        if ahead(now) > ahead(own) { (1.0 + ahead(now)) / (1.0 + ahead(own)) } else { 1.0 }
    }

    #[test]
    fn swarm_variants_are_valid_and_a_function_of_the_seed() {
        let s = crate::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scenarios/rolling-restarts.yaml"
        )))
        .unwrap();
        let mut distinct = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let v = swarm(&s, seed);
            assert_eq!(v, swarm(&s, seed));
            assert!(scenario::parse(&to_yaml(&v), "x").is_ok());
            distinct.insert(to_yaml(&v));
        }
        assert!(distinct.len() > 5, "swarm should vary the scenario: {}", distinct.len());
    }

    #[test]
    fn a_variant_runs_long_enough_for_its_workload() {
        // Seed 72 of latency-rises: batches of 1..2 over 100-150 ms links need about 125 s,
        // twice the scenario's 60 s.
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/latency-rises.yaml");
        let s = crate::load(&path).unwrap();
        for seed in [72, 179] {
            let v = swarm(&s, seed);
            let needed = crate::sim::healthy_time(&v) + v.expect.settle;
            assert!(needed > s.duration, "seed {seed}: the variant needs more than the file's duration");
            assert!(v.duration >= needed, "seed {seed}: {:?} < {needed:?}", v.duration);
        }
    }

    #[test]
    fn swarm_scales_time_budgets_with_latency() {
        let s = tiny();
        let (mut slower, mut faster) = (0, 0);
        for seed in 0..40 {
            let v = swarm(&s, seed);
            let factor = v.network.latency.max.as_secs_f64() / s.network.latency.max.as_secs_f64();
            let settle = v.expect.settle.as_secs_f64() / s.expect.settle.as_secs_f64();
            let duration = v.duration.as_secs_f64() / s.duration.as_secs_f64();
            let ack = v.transport.ack_timeout.as_secs_f64() / s.transport.ack_timeout.as_secs_f64();
            let deadline = v.transport.deadline.as_secs_f64()
                / s.transport.deadline.as_secs_f64()
                / concurrency_growth(&s, &v);
            let expected = factor.max(1.0);
            for (what, got) in [("settle", settle), ("ack_timeout", ack), ("deadline", deadline)] {
                assert!((got - expected).abs() < 1e-6, "seed {seed}: {what} x{got}, latency x{factor}");
            }
            // The duration too, unless the variant's workload needs longer (`fit_duration`).
            let fitted = crate::sim::healthy_time(&v) + v.expect.settle;
            assert!(duration >= expected - 1e-6, "seed {seed}: duration x{duration}, latency x{factor}");
            assert!(
                (duration - expected).abs() < 1e-6 || v.duration == fitted,
                "seed {seed}: duration x{duration}"
            );
            if factor > 1.0 { slower += 1 } else { faster += 1 }
        }
        assert!(slower > 0 && faster > 0, "both directions seen: {slower} slower, {faster} faster");
    }

    #[test]
    fn swarm_adds_byte_sink_and_membership_dimensions_on_some_seeds() {
        let load = |name: &str| {
            crate::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name))
                .unwrap()
        };
        let (crashes, joins) = (load("crash-restart-receiver.yaml"), load("scale-out.yaml"));
        assert_eq!(crashes.network.segment, None);
        let (mut segmented, mut with_sink, mut propagation) = (0, 0, std::collections::BTreeSet::new());
        for seed in 0..80 {
            let v = swarm(&crashes, seed);
            segmented += usize::from(v.network.segment.is_some());
            if v.sink.latency.max > crashes.sink.latency.max * 4 {
                panic!("seed {seed}: a sink latency scales like the network's: {:?}", v.sink.latency);
            }
            with_sink += usize::from(v.sink.latency.max != crashes.sink.latency.max);
            propagation.insert(swarm(&joins, seed).membership.propagation.max);
        }
        assert!((5..40).contains(&segmented), "{segmented} of 80 segmented");
        assert!(with_sink > 40, "the scenario's own sink latency is scaled: {with_sink} of 80");
        assert!(propagation.len() > 40, "{propagation:?}");
        // A scenario that bounces nodes and has no sink gets one on about half the seeds,
        // with the ack timeout and deadline grown by a batch's worth of accepts.
        let bounces = load("bounce-sender.yaml");
        assert_eq!(bounces.sink, Sink::default());
        let sinks: Vec<Scenario> = (0..80)
            .map(|seed| swarm(&bounces, seed))
            .filter(|v| v.sink.latency != Sink::default().latency)
            .collect();
        assert!((20..60).contains(&sinks.len()), "{} of 80 with a sink", sinks.len());
        for v in &sinks {
            let factor =
                (v.network.latency.max.as_secs_f64() / bounces.network.latency.max.as_secs_f64()).max(1.0);
            let accepts = v.sink.latency.max * bounces.workload.batch.max;
            let expected = (bounces.transport.deadline.mul_f64(factor) + accepts)
                .mul_f64(concurrency_growth(&bounces, v));
            assert!(v.transport.deadline.abs_diff(expected) < Duration::from_micros(10), "{v:?}");
        }
        // A fault-free scenario gets no accept latency (nothing can land between an ack and an
        // accept); only, now and then, a sink that answers busy.
        let baseline = load("baseline.yaml");
        assert!((0..40).all(|seed| swarm(&baseline, seed).sink.latency == Sink::default().latency));
    }

    /// The clock knob gives about one seed in eight a clock fault: a jump, or (a third of them) a
    /// skew of one node that ends with a `skew: 0%` of the same node later.
    #[test]
    fn the_clock_knob_jumps_or_skews_one_node_on_some_seeds() {
        let s = tiny();
        let (mut jumps, mut skews) = (0, 0);
        for seed in 0..400 {
            let v = swarm(&s, seed);
            let clock: Vec<&FaultAction> =
                v.faults.iter().map(|f| &f.action).filter(|a| a.kind() == FaultKind::Clock).collect();
            match clock.as_slice() {
                [] => {}
                [FaultAction::Clock { .. }] => jumps += 1,
                [FaultAction::Skew { node, ppm }, FaultAction::Skew { node: again, ppm: 0 }] => {
                    assert_eq!(node, again, "seed {seed}");
                    assert_ne!(*ppm, 0, "seed {seed}");
                    skews += 1;
                }
                other => panic!("seed {seed}: {other:?}"),
            }
        }
        assert!((20..80).contains(&(jumps + skews)), "{jumps} jumps, {skews} skews of 400");
        assert!(skews > 5 && jumps > skews, "{jumps} jumps, {skews} skews");
    }
}
