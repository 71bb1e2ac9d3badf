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
//! tick`, the hold the longest any `hold` or `reorder` kept a link's messages back in the run):
//!
//! | kind | samples | `S` | dead connection given up after |
//! | --- | --- | --- | --- |
//! | `tcp` | a write to its ack (behind at most `max_unacked` accepts), a handshake | `round_trip + max_unacked × sink_max + hold` | `T(S)` |
//! | `grpc` | a handshake (the keepalive's pong waits for no sink) | `round_trip + hold` | keepalive interval + `T(S)`: `max(ack_timeout / 2, ε) + T(S)` |
//!
//! When `T(S)` is the floor (every round trip well inside the declared timeout) this is the
//! fixed timeout of the contract ([`crate::contract`]) exactly. A trace whose transport's
//! contract the checker does not know keeps the timing the transport reports.

use shipsim_trace::{FaultAction, Micros, Record, Start, TransportTiming};

use crate::contract::{self, Kind};

/// RFC 6298's clock granularity and the contract's shortest duration: a millisecond.
const EPSILON: Micros = 1_000;

/// `timing` with its answer timeout and give-up time (`answer_timeout_us`, `ack_timeout_us`)
/// raised to what the adaptive contract allows in this run; unchanged when the contract is
/// unknown.
pub(crate) fn adapted(start: &Start, records: &[Record], timing: TransportTiming) -> TransportTiming {
    let Some((kind, declared)) = contract::known(start) else { return timing };
    let floor = declared.ack_timeout_us.max(EPSILON);
    let round_trip = 2 * (timing.latency_max_us + start.tick_us) + 2 * start.tick_us;
    let hold = longest_hold(records);
    let (longest_sample, interval) = match kind {
        Kind::Tcp => (round_trip + u64::from(timing.max_unacked) * timing.sink_latency_max_us + hold, 0),
        Kind::Grpc => (round_trip + hold, (floor / 2).max(EPSILON)),
    };
    let answer = bound(floor, declared.deadline_us, longest_sample);
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

/// The longest any link's messages were held back in the run: from each `hold` (or `reorder`,
/// which holds a link's messages until they go) to the first later fault that healed a pair
/// it cut, or the end of the trace.
fn longest_hold(records: &[Record]) -> Micros {
    let end = records.last().map_or(0, Record::t);
    let mut longest = 0;
    for (pos, record) in records.iter().enumerate() {
        let Record::Fault { t, action, links, .. } = record else { continue };
        if !matches!(**action, FaultAction::Hold(_) | FaultAction::Reorder(_)) {
            continue;
        }
        let healed = records[pos + 1..].iter().find_map(|later| match later {
            Record::Fault { t: healed_at, links: later_links, .. }
                if later_links.healed.iter().any(|pair| links.cut.contains(pair)) =>
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
