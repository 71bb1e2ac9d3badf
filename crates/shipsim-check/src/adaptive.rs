//! The adaptive answer timeout's contract: how long a correct bundled transport may take to
//! give up a dead connection once its answer timeout has adapted to the round trips it
//! measured, derived from the declared settings and the network's facts alone.
//!
//! Both bundled transports run the declared `ack_timeout` as a floor and raise it to what the
//! measured round trips need (RFC 6298's estimator, `shipper_net::Rto`): `srtt + max(ε, 4 ×
//! rttvar)`, clamped to `[ack_timeout, deadline]`. `srtt` and `rttvar` are weighted means of
//! samples, so with `S` the longest sample the transport can have taken,
//!
//! ```text
//! timeout ≤ T(S) = clamp(5 × S + ε, ack_timeout, max(deadline, ack_timeout))
//! ```
//!
//! What a sample can be, from the trace's facts (`round_trip = 2 × (latency_max + tick) + 2 ×
//! tick`, `hold` the longest any `hold` kept a link's messages back in the run, until its
//! release, reorder or heal). A handshake counts twice its duration (`Rto::handshake_round_trip`),
//! and takes at most a round trip and a hold:
//!
//! | kind | samples | `S` | dead connection given up after |
//! | --- | --- | --- | --- |
//! | `tcp` | a write to its ack (behind at most `max_unacked` accepts), a handshake | `max(2 × (round_trip + hold), round_trip + max_unacked × sink_max + hold)` | `T(S)` |
//! | `grpc` | a handshake (the keepalive's pong waits for no sink) | `2 × (round_trip + hold)` | keepalive interval + `T(S)`: `max(ack_timeout / 2, ε) + T(S)` |
//!
//! A sample timed across a jump of the sender's clock (`clock` fault) is longer by the jump:
//! `S` grows by the most any one node's clock jumped in the run ([`crate::jumps`]). A sample
//! timed on a fast clock (`skew` `s > 0`) is `1 + s` times as long: `S` grows by the fastest
//! skew of the run. A timeout run on a slow clock (`s < 0`) lasts `1 / (1 + s)` times as long
//! in the trace's time: `T(S)` (and gRPC's interval) stretch by the slowest skew of the run.
//!
//! A sink that may answer busy holds a TCP ack back for any number of retries: no sample bound
//! holds, and the timeout may reach the deadline (`T` is the cap).
//!
//! When `T(S)` is the floor (every round trip well inside the declared timeout) this is the
//! fixed timeout of the contract ([`crate::contract`]) exactly. A trace whose transport's
//! contract the checker does not know keeps the timing the transport reports.

use shipsim_trace::{FaultAction, Micros, Record, Start, TransportTiming};

use crate::contract::{self, Kind};
use crate::index::Index;
use crate::jumps::Jumps;

/// RFC 6298's clock granularity and the contract's shortest duration: a millisecond.
const EPSILON: Micros = 1_000;

/// `timing` with its answer timeout and give-up time (`answer_timeout_us`, `ack_timeout_us`)
/// raised to what the adaptive contract allows in this run; unchanged when the contract is
/// unknown.
pub(crate) fn adapted(start: &Start, index: &Index, timing: TransportTiming) -> TransportTiming {
    let Some((kind, declared)) = contract::known(start) else { return timing };
    let floor = declared.ack_timeout_us.max(EPSILON);
    let round_trip = 2 * (timing.latency_max_us + start.tick_us) + 2 * start.tick_us;
    let faults: Vec<&Record> = index.others().filter(|r| matches!(r, Record::Fault { .. })).collect();
    let hold = longest_hold(&faults, index.final_t);
    let handshake = 2 * (round_trip + hold);
    let (longest_sample, interval) = match kind {
        Kind::Tcp if timing.sink_busy => (Micros::MAX, 0),
        Kind::Tcp => {
            let ack = round_trip + u64::from(declared.max_unacked.max(1)) * timing.sink_latency_max_us + hold;
            (handshake.max(ack), 0)
        }
        Kind::Grpc => (handshake, (floor / 2).max(EPSILON)),
    };
    // A sample measured across a jump of the sender's clock is longer by the jump.
    let longest_sample = longest_sample.saturating_add(index.jumps.most());
    // A sample timed on a fast clock is longer by its pace; a timeout waited on a slow clock
    // lasts longer in the trace's time.
    let (fastest, slowest) = index.jumps.extremes();
    let longest_sample = Jumps::paced(longest_sample, fastest);
    let answer = bound(floor, declared.deadline_us, longest_sample);
    let answer = answer.saturating_add(Jumps::stretch(answer, slowest));
    let interval = interval.saturating_add(Jumps::stretch(interval, slowest));
    TransportTiming {
        ack_timeout_us: timing.ack_timeout_us.max(interval + answer),
        answer_timeout_us: timing.answer_timeout_us.max(answer),
        ..timing
    }
}

/// `T(S)`: the largest timeout the estimator reaches when no sample exceeds `longest_sample`.
fn bound(floor: Micros, deadline: Micros, longest_sample: Micros) -> Micros {
    longest_sample.saturating_mul(5).saturating_add(EPSILON).clamp(floor, deadline.max(floor))
}

/// The longest any link's messages were held back in the run: from each `hold` to the first
/// later fault that releases the link (`release`, or `reorder`, whose held messages then go
/// one per tick) or heals a pair it cut, or the end of the trace. Taken over every link, not
/// per link: a bound, not a measurement.
fn longest_hold(records: &[&Record], end: Micros) -> Micros {
    let mut longest = 0;
    for (pos, record) in records.iter().enumerate() {
        let Record::Fault { t, action, links, .. } = record else { continue };
        let FaultAction::Hold(link) = &**action else { continue };
        let healed = records[pos + 1..].iter().find_map(|later| match *later {
            Record::Fault { t: healed_at, action: later_action, links: later_links, .. }
                if later_links.healed.iter().any(|pair| links.cut.contains(pair))
                    || matches!(&**later_action, FaultAction::Release(l) | FaultAction::Reorder(l) if l == link) =>
            {
                Some(*healed_at)
            }
            _ => None,
        });
        longest = longest.max(healed.unwrap_or(end).saturating_sub(*t));
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Micros = 1_000;

    /// [`super::longest_hold`] of a whole trace's faults.
    fn longest_hold(records: &[Record]) -> Micros {
        let end = records.last().map_or(0, Record::t);
        super::longest_hold(&records.iter().collect::<Vec<_>>(), end)
    }

    fn fault(t: Micros, action: FaultAction, cut: bool) -> Record {
        let pairs: Vec<[shipsim_trace::Text; 2]> =
            vec![["n1".into(), "n2".into()], ["n2".into(), "n1".into()]];
        let links = if cut {
            shipsim_trace::FaultLinks { cut: pairs, healed: vec![] }
        } else {
            shipsim_trace::FaultLinks { cut: vec![], healed: vec![] }
        };
        Record::Fault { t, fault: String::new(), action: Box::new(action), links: Box::new(links) }
    }

    #[test]
    fn a_hold_lasts_until_its_release_or_reorder_and_a_reorder_alone_holds_nothing() {
        let link = || ["n1".into(), "n2".into()];
        let phase = |t| Record::Phase { t, phase: shipsim_trace::Phase::End };
        let released = [
            fault(100 * MS, FaultAction::Hold(link()), true),
            fault(400 * MS, FaultAction::Reorder(link()), false),
            phase(9_000 * MS),
        ];
        assert_eq!(longest_hold(&released), 300 * MS);
        let open = [fault(100 * MS, FaultAction::Hold(link()), true), phase(9_000 * MS)];
        assert_eq!(longest_hold(&open), 8_900 * MS, "never released: until the end");
        let reorder_only = [fault(100 * MS, FaultAction::Reorder(link()), false), phase(9_000 * MS)];
        assert_eq!(longest_hold(&reorder_only), 0);
    }

    #[test]
    fn grpc_adds_the_keepalive_interval_and_a_busy_tcp_sink_lifts_the_bound_to_the_deadline() {
        use crate::fixtures::{DECLARED, TIMING, Tb};
        let records = Tb::new(&["n1", "n2"]).build();
        let Record::Start(start) = &records[0] else { unreachable!() };
        // TCP, 5 ms links, no sink: S = max(2 × 14, 14) = 28 ms, 5 × 28 + 1 = 141 ms > 100 ms.
        let index = Index::build(&records);
        let tcp = adapted(start, &index, TIMING);
        assert_eq!((tcp.ack_timeout_us, tcp.answer_timeout_us), (141 * MS, 141 * MS));
        let grpc_start = Start { transport_name: "grpc".into(), ..(**start).clone() };
        let grpc = adapted(&grpc_start, &index, TIMING);
        assert_eq!((grpc.ack_timeout_us, grpc.answer_timeout_us), (50 * MS + 141 * MS, 141 * MS));
        let busy = adapted(start, &index, TransportTiming { sink_busy: true, ..TIMING });
        assert_eq!(busy.answer_timeout_us, DECLARED.deadline_us);
    }

    #[test]
    fn a_sample_across_a_clock_jump_is_longer_by_the_jump() {
        use crate::fixtures::{TIMING, Tb, with_jump};
        // n1's clock jumped 30 ms (twice 15 ms): a sample timed across both is 28 + 30 = 58 ms
        // long on n1's clock, so the timeout may adapt up to 5 × 58 + 1 = 291 ms.
        let records = Tb::new(&["n1", "n2"]).build();
        let records = with_jump(with_jump(records, "n1", 10 * MS, 15 * MS), "n1", 20 * MS, 15 * MS);
        let Record::Start(start) = &records[0] else { unreachable!() };
        let tcp = adapted(start, &Index::build(&records), TIMING);
        assert_eq!((tcp.ack_timeout_us, tcp.answer_timeout_us), (291 * MS, 291 * MS));
        // Jumps of two nodes are not one sample's: the larger node's total counts.
        let two = with_jump(Tb::new(&["n1", "n2"]).build(), "n2", 10 * MS, 15 * MS);
        let two = with_jump(two, "n1", 20 * MS, 15 * MS);
        assert_eq!(adapted(start, &Index::build(&two), TIMING).answer_timeout_us, 5 * 43 * MS + MS);
    }

    #[test]
    fn a_sample_on_a_fast_clock_is_longer_and_a_timeout_on_a_slow_one_lasts_longer() {
        use crate::fixtures::{TIMING, Tb, with_skew};
        let records = Tb::new(&["n1", "n2"]).build();
        let Record::Start(start) = &records[0] else { unreachable!() };
        // +50%: S = 28 × 1.5 + 1 = 43 ms, T = 5 × 43 + 1 = 216 ms.
        let fast = with_skew(records.clone(), "n1", 10 * MS, 500_000);
        assert_eq!(adapted(start, &Index::build(&fast), TIMING).answer_timeout_us, 216 * MS);
        // -50%: T = 141 ms on the clock, twice that and a millisecond in the trace's time.
        let slow = with_skew(records.clone(), "n2", 10 * MS, -500_000);
        assert_eq!(adapted(start, &Index::build(&slow), TIMING).answer_timeout_us, 283 * MS);
        // No skew (or 0%): the bound of the common pace.
        let even = with_skew(records.clone(), "n2", 10 * MS, 0);
        assert_eq!(adapted(start, &Index::build(&even), TIMING).answer_timeout_us, 141 * MS);
    }

    #[test]
    fn the_floor_holds_while_round_trips_are_short() {
        assert_eq!(bound(200 * MS, 3_000 * MS, 20 * MS), 200 * MS);
    }

    #[test]
    fn a_slow_link_allows_five_round_trips_and_the_deadline_caps_it() {
        assert_eq!(bound(50 * MS, 3_000 * MS, 300 * MS), 1_501 * MS);
        assert_eq!(bound(50 * MS, 1_000 * MS, 300 * MS), 1_000 * MS);
        assert_eq!(bound(50 * MS, 10 * MS, 300 * MS), 50 * MS, "a deadline below the floor");
    }
}
