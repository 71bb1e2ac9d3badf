//! One swarm dimension re-drawn on a scenario that is already a variant: guided exploration's
//! `Redraw` mutation (`guided/mutate.rs`). A corpus entry keeps its faults and every other
//! setting, and meets one other transport, sink, workload or cluster setting, as a swarm seed
//! would have drawn it. Some bugs need a particular draw of the settings (a gRPC transport with
//! a busy sink, a short connect timeout), not a fault at a particular time; a corpus entry that
//! already has half of such a combination reaches it with one re-draw, where a fresh swarm
//! variant has to draw both at once.
//!
//! The knobs keep the swarm's rules (`knobs.rs`: only in the directions that keep a correct
//! system passing, budgets grown with them); the dimensions of `swarm.rs` are toggled
//! (segments, a sink on a scenario that crashes nodes) or scaled (loss, propagation, a sink's
//! latency, never slower than its budgets allow).

use std::time::Duration;

use rand::Rng as _;
use rand::rngs::SmallRng;

use super::knobs::{self, Knobs};
use crate::scenario::{LatencyRange, Scenario, Sink, SizeRange};

/// The dimensions [`redraw`] knows: the knobs, then segments, the sink's latency, the
/// membership propagation delay and the loss rates.
const DIMENSIONS: usize = knobs::COUNT + 4;

/// How often [`dimension`] picks each dimension: the inverse of how often a swarm seed turns
/// it on (a knob on with probability 1/4 weighs 4, the busy sink's 1/8 weighs 8; the loss and
/// propagation factors, always drawn, 1). What swarm rarely draws is what a corpus entry most
/// likely lacks, and what a fresh variant takes longest to bring. The clock knob (17) adds a
/// fault, and a redraw keeps the faults: never drawn here.
const WEIGHTS: [u32; DIMENSIONS] = [2, 4, 4, 4, 4, 4, 4, 8, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0, 4, 2, 1, 1];

/// A dimension for [`redraw`], drawn with its weight in [`WEIGHTS`].
pub(crate) fn dimension(rng: &mut SmallRng) -> usize {
    let mut at = rng.random_range(0..WEIGHTS.iter().sum::<u32>());
    for (i, w) in WEIGHTS.iter().enumerate() {
        if at < *w {
            return i;
        }
        at -= w;
    }
    DIMENSIONS - 1
}

/// Re-draws dimension `which` (below [`DIMENSIONS`]) of `s`, a variant of `base`, from `rng`.
/// The caller checks that the result is a valid scenario and differs from `s` (a knob that
/// does not apply, such as the transport of a scenario that names one, leaves it as it was).
pub(crate) fn redraw(s: &mut Scenario, base: &Scenario, which: usize, rng: &mut SmallRng) {
    match which.checked_sub(knobs::COUNT) {
        None => Knobs::one(rng, which).apply(s),
        Some(0) => toggle_segment(s, base),
        Some(1) => redraw_sink(s, rng),
        Some(2) => {
            let factor = rng.random_range(0.0..4.0);
            let p = &mut s.membership.propagation;
            (p.min, p.max) = (p.min.mul_f64(factor), p.max.mul_f64(factor));
        }
        Some(_) => super::scale_network(s, 1.0, rng.random_range(0.25..2.0)),
    }
}

/// Byte streams cut into pieces of 1..1500 bytes where they were whole, whole where they
/// were cut. Cut only under the swarm's rules: nothing is lost, and the payload sizes are
/// `base`'s own (a payload the swarm drew rides whole writes only: frames of kilobytes cut into
/// small pieces outlast the deadlines of many scenarios, a budget's edge and not a bug).
fn toggle_segment(s: &mut Scenario, base: &Scenario) {
    if s.network.segment.is_some() {
        s.network.segment = None;
    } else if s.network.loss == 0.0
        && !s.faults.iter().any(|f| f.action.kind() == shipsim_trace::FaultKind::Loss)
        && s.workload.payload == base.workload.payload
    {
        s.network.segment = Some(SizeRange { min: 1, max: 1500 });
    }
}

/// A sink of 1..2 ms per accept, scaled by 0.5..4, where there was none (the ack timeout and
/// deadline grow by a batch's worth of accepts, as the swarm's do); a sink's latency scaled by
/// 0.25..1 where there was one (slower would outgrow the budgets it was given).
fn redraw_sink(s: &mut Scenario, rng: &mut SmallRng) {
    if s.sink.latency == Sink::default().latency {
        let factor = rng.random_range(0.5..4.0);
        let ms = |n: f64| Duration::from_millis(1).mul_f64(n * factor);
        s.sink.latency = LatencyRange { min: ms(1.0), max: ms(2.0) };
        let accepts = s.sink.latency.max * s.workload.batch.max;
        s.transport.ack_timeout += accepts;
        s.transport.deadline += accepts;
    } else {
        let factor = rng.random_range(0.25..1.0);
        s.sink.latency.min = s.sink.latency.min.mul_f64(factor);
        s.sink.latency.max = s.sink.latency.max.mul_f64(factor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::to_yaml;

    use crate::bundled::scenario;

    /// Every dimension, re-drawn, changes some bundled scenario into a valid one, changes only
    /// what it names (one knob on, not the seed's other draws), and is a function of the RNG.
    #[test]
    fn every_dimension_changes_a_scenario_and_keeps_it_valid() {
        let names = ["baseline", "crash-restart-receiver", "scale-out", "lossy-link", "split-stream"];
        for which in 0..DIMENSIONS {
            let mut changed = 0;
            for name in names {
                let s = scenario(name);
                for i in 0..8u64 {
                    let rng = || crate::seeds::rng(i, &[b"redraw", name.as_bytes()]);
                    let mut one = s.clone();
                    redraw(&mut one, &s, which, &mut rng());
                    let mut two = s.clone();
                    redraw(&mut two, &s, which, &mut rng());
                    assert_eq!(one, two, "dimension {which} on {name}: a function of the RNG");
                    if one != s && crate::parse(&to_yaml(&one), "x").is_ok() {
                        changed += 1;
                    }
                }
            }
            assert!(changed > 0, "dimension {which} never changed a scenario");
        }
    }

    /// The transport knob alone: a scenario that names no transport goes to gRPC, with its
    /// faults, sink, workload and budgets as they were.
    #[test]
    fn a_redrawn_transport_changes_nothing_else() {
        let s = scenario("partition-heal");
        assert_eq!(s.transport.kind, None);
        let mut v = s.clone();
        redraw(&mut v, &s, 1, &mut crate::seeds::rng(7, &[b"redraw"]));
        assert_eq!(v.transport.kind, Some(crate::scenario::TransportKind::Grpc));
        v.transport.kind = None;
        assert_eq!(v, s, "only the transport moved");
        // The busy knob (7) makes a sink that never answered busy answer busy now and then.
        let mut busy = s.clone();
        redraw(&mut busy, &s, 7, &mut crate::seeds::rng(7, &[b"redraw"]));
        assert!(busy.sink.busy > 0.0 && s.sink.busy == 0.0, "{:?}", busy.sink);
    }

    /// A segment toggles both ways; a sink gets added with its budgets, or gets faster.
    #[test]
    fn segments_toggle_and_sinks_never_outgrow_their_budgets() {
        let s = scenario("crash-restart-receiver");
        let mut cut = s.clone();
        let base = cut.clone();
        toggle_segment(&mut cut, &base);
        assert_eq!(cut.network.segment, Some(SizeRange { min: 1, max: 1500 }));
        toggle_segment(&mut cut, &base);
        assert_eq!(cut.network.segment, None);
        // A payload the swarm drew (not the scenario's own) keeps its writes whole.
        cut.workload.payload = Some(SizeRange { min: 16, max: 4096 });
        assert_ne!(cut.workload.payload, base.workload.payload);
        toggle_segment(&mut cut, &base);
        assert_eq!(cut.network.segment, None, "kilobyte frames are not cut where the swarm drew them");
        let s = scenario("bounce-sender");
        assert_eq!(s.sink, Sink::default());
        let mut rng = crate::seeds::rng(3, &[b"redraw"]);
        let mut sink = s.clone();
        redraw_sink(&mut sink, &mut rng);
        assert!(sink.sink.latency.max > Duration::ZERO);
        assert!(sink.transport.ack_timeout > s.transport.ack_timeout);
        let before = sink.clone();
        redraw_sink(&mut sink, &mut rng);
        assert!(sink.sink.latency.max <= before.sink.latency.max);
        assert_eq!(sink.transport, before.transport);
    }

    /// The busy sink (1/8 in swarm) is re-drawn twice as often as the transport (1/4), which
    /// is re-drawn four times as often as the loss rates (always drawn).
    #[test]
    fn rarely_drawn_dimensions_are_redrawn_more() {
        let mut rng = crate::seeds::rng(1, &[b"dimension"]);
        let mut counts = [0u32; DIMENSIONS];
        for _ in 0..20_000 {
            counts[dimension(&mut rng)] += 1;
        }
        let ratio = |a: usize, b: usize| f64::from(counts[a]) / f64::from(counts[b]);
        assert!((1.6..2.4).contains(&ratio(7, 1)), "{counts:?}");
        assert!((3.0..5.0).contains(&ratio(1, DIMENSIONS - 1)), "{counts:?}");
    }
}
