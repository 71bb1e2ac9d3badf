//! Ordering per batch: the delivered events of one `ship_batch` call, in
//! delivery order, are a prefix of the batch in batch order.
//!
//! For each batch, take the deliveries attributed to its events (see
//! `delivery`) in trace order and keep the first of each event: their
//! indices must be 0, 1, 2, …, k-1. Rules:
//! - `gap`: an index arrived while an earlier one never did;
//! - `swap`: an index arrived before an earlier one that came later;
//! - `ok-incomplete`: the call returned `Ok` but k < the batch's length;
//! - `below-shipped`: the call failed having reported `shipped` events
//!   shipped, but k < shipped.
//!
//! - `stream-gap`: a receiver's transport dropped a frame that arrived past
//!   a gap in its sender's stream (a `StreamGap` record). The receiver
//!   delivers a stream strictly in order, so the sink never sees the
//!   disorder; but a sender that writes its stream out of order (say, resends
//!   unacked frames newest first after a reconnect) breaks the order the
//!   batch guarantee rests on, and without this rule only a slowdown shows.
//!
//! A batch is reported once, at its first offending index. Batches cut short
//! by a crash of their sender (no `ShipEnd`) are checked for order only.
//!
//! No order is expected *across* batches, and so none across concurrent calls
//! (`workload.concurrency` above 1): the router promises that one call's
//! events of one key share a batch and arrive in call order, not that calls
//! in flight at once arrive in the order they were submitted. Two concurrent
//! calls' events of one key may be delivered in either order, even
//! interleaved (the calls ride different pooled connections, are re-planned
//! separately after a refusal, and end in whichever order their acks come);
//! each call's batches are still prefixes in batch order. Nothing here pairs
//! one batch with another, so the rule reads the same with any number of
//! calls in flight.
//!
//! Cost: O(R + E) time, O(B) memory for B batches.

#[cfg(test)]
use shipsim_trace::{Invariant, Violation};
use shipsim_trace::{OrderingRule, Outcome, Record};

use crate::delivery::outcome_name;
use crate::findings::Findings;
use crate::index::{Batch, Index, NONE};
use crate::table::{Fixed, Table};
use shipsim_trace::fmt_t;

/// Checks per-batch ordering, whatever the trace's `Start` says.
#[cfg(test)]
pub(crate) fn check(records: &[Record]) -> Vec<Violation> {
    crate::fixtures::check_one(records, Invariant::Ordering, run)
}

/// The first out-of-order delivery of a batch.
#[derive(Clone, Copy)]
struct Break {
    /// The delivery (an index into `Index::deliveries`).
    delivery: u32,
    /// The index it delivered.
    got: u32,
}

impl Fixed for Break {
    const BYTES: usize = 8;
    fn put(&self, out: &mut Vec<u8>) {
        self.delivery.put(out);
        self.got.put(out);
    }
    fn take(bytes: &mut &[u8]) -> Self {
        Break { delivery: u32::take(bytes), got: u32::take(bytes) }
    }
}

pub(crate) fn run(index: &Index, findings: &mut Findings) {
    batches(index, findings);
    stream_gaps(index, findings);
}

/// Every `StreamGap` record is a violation.
fn stream_gaps(index: &Index, findings: &mut Findings) {
    for record in index.others() {
        let Record::StreamGap { t, node, life, source, seq, expected } = record else {
            continue;
        };
        findings.add(*t, OrderingRule::StreamGap, || {
            (
                None,
                format!("frames from {source} reach {node} (life {life}) in stream order: number {expected} next"),
                format!(
                    "number {seq} arrived at {} while {expected} was next: {source} wrote its stream out of order, \
                     and {node} dropped the frame unacknowledged",
                    fmt_t(*t)
                ),
            )
        });
    }
}

/// Per-batch order of the deliveries: a batch out of order is reported at its first
/// break (`gap` or `swap`); one in order, for delivering less than its call reported
/// shipped (`ok-incomplete`, `below-shipped`).
fn batches(index: &Index, findings: &mut Findings) {
    let (next, broken) = progress(index);
    for (b, batch) in index.batches.iter().enumerate() {
        match broken.get(b) {
            Some(brk) => out_of_order(index, &batch, next.get(b), brk, findings),
            None => incomplete(index, &batch, next.get(b), findings),
        }
    }
}

/// Per batch: the next index expected (the length of its in-order prefix of first
/// deliveries) and the first break in that order, from one pass over the deliveries.
fn progress(index: &Index) -> (Table<u32>, Table<Option<Break>>) {
    let mut next = Table::filled(index.batches.len(), 0u32);
    let mut broken: Table<Option<Break>> = Table::filled(index.batches.len(), None);
    for (k, delivery) in index.deliveries.iter().enumerate() {
        let g = delivery.shipment;
        if g == NONE || index.first_delivery.get(g as usize) != k as u32 {
            continue;
        }
        let b = index.shipment_batch.get(g as usize) as usize;
        if broken.get(b).is_some() {
            continue;
        }
        let got = g - index.batches.get(b).first;
        if got == next.get(b) {
            next.update(b, |next| *next += 1);
        } else {
            broken.set(b, Some(Break { delivery: k as u32, got }));
        }
    }
    (next, broken)
}

/// How a report names `batch`.
fn what(index: &Index, batch: &Batch) -> String {
    format!("batch {} of {} to {}", batch.batch, index.name(batch.node), index.name(batch.dst))
}

/// `gap` or `swap`: `batch` delivered index `brk.got` while index `k` was next;
/// a gap if `k` never arrived, a swap if it arrived later.
fn out_of_order(index: &Index, batch: &Batch, k: u32, brk: Break, findings: &mut Findings) {
    let delivery = index.deliveries.get(brk.delivery as usize);
    let later = index.first_delivery.get((batch.first + k) as usize);
    let rule = if later == NONE { OrderingRule::Gap } else { OrderingRule::Swap };
    findings.add(delivery.t, rule, || {
        let before = match k {
            0 => "as the batch's first delivery".to_owned(),
            1 => "after index 0 only".to_owned(),
            _ => format!("after indices 0..={}", k - 1),
        };
        let fate = match later {
            NONE => "never delivered".to_owned(),
            later => format!("delivered only later, at {}", fmt_t(index.deliveries.get(later as usize).t)),
        };
        (
            Some(index.event_ref(batch.first + brk.got)),
            format!("{} delivered in batch order: index {k} next", what(index, batch)),
            format!(
                "index {} (event {}) delivered at {} {before}; index {k} (event {}) {fate}",
                brk.got,
                index.event(batch, brk.got).id,
                fmt_t(delivery.t),
                index.event(batch, k).id
            ),
        )
    });
}

/// `ok-incomplete` or `below-shipped`: `batch`, delivered in order up to index `k`
/// only, returned `Ok`, or failed having reported more than `k` shipped.
fn incomplete(index: &Index, batch: &Batch, k: u32, findings: &mut Findings) {
    let (Some(end), Some(shipped)) = (batch.end, batch.shipped()) else { return };
    let (rule, expected) = match end.outcome {
        Outcome::Ok if k < batch.len() => (
            OrderingRule::OkIncomplete,
            format!(
                "all {} events of {} delivered (ship_batch returned Ok)",
                batch.len(),
                what(index, batch)
            ),
        ),
        Outcome::Ok => return,
        outcome if k < shipped => (
            OrderingRule::BelowShipped,
            format!(
                "at least the {shipped} events of {} reported shipped delivered (it failed: {})",
                what(index, batch),
                outcome_name(outcome)
            ),
        ),
        _ => return,
    };
    findings.add(end.t, rule, || {
        let delivered = match k {
            0 => "none of it delivered".to_owned(),
            _ => format!("only indices 0..={} delivered", k - 1),
        };
        (
            Some(index.event_ref(batch.first + k)),
            expected,
            format!("{delivered}; index {k} (event {}) never", index.event(batch, k).id),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;

    #[test]
    fn stream_gap_fires() {
        let records = with_after(
            clean_run(),
            delivery_of(2, "n2", 1),
            Record::StreamGap {
                t: 13 * MS,
                node: "n2".into(),
                life: 1,
                source: "n1".into(),
                seq: 4,
                expected: 3,
            },
        );
        let v = only(&check(&records), OrderingRule::StreamGap);
        assert_eq!(v.invariant(), Invariant::Ordering);
        assert_eq!(v.t, 13 * MS);
        assert!(v.expected.contains("frames from n1 reach n2 (life 1) in stream order"), "{}", v.expected);
        assert!(v.actual.contains("number 4 arrived at 0.013s while 3 was next"), "{}", v.actual);
    }

    #[test]
    fn clean_run_holds() {
        assert_eq!(check(&clean_run()), vec![]);
    }

    #[test]
    fn gap_in_a_batch() {
        let records = without(clean_run(), delivery_of(2, "n2", 1));
        let v = only(&check(&records), OrderingRule::Gap);
        assert_eq!(v.invariant(), Invariant::Ordering);
        assert_eq!(event(&v), (3, "n1", 1, 2));
        assert_eq!(v.t, 13 * MS);
        assert!(v.actual.contains("after index 0 only; index 1 (event 2) never delivered"), "{}", v.actual);
    }

    #[test]
    fn swap_in_a_batch() {
        let records = swapped(clean_run(), delivery_of(2, "n2", 1), delivery_of(3, "n2", 1));
        assert_eq!(crate::check_all(&records).len(), 1, "nothing else is wrong");
        let v = only(&check(&records), OrderingRule::Swap);
        assert_eq!(event(&v), (3, "n1", 1, 2));
        assert!(v.actual.contains("index 1 (event 2) delivered only later"), "{}", v.actual);
    }

    #[test]
    fn first_index_missing_is_a_gap_reported_at_index_one() {
        let records = without(clean_run(), delivery_of(1, "n2", 1));
        let v = only(&check(&records), OrderingRule::Gap);
        assert_eq!(event(&v), (2, "n1", 1, 1));
        assert!(v.actual.contains("as the batch's first delivery"), "{}", v.actual);
    }

    #[test]
    fn only_the_first_delivery_of_each_event_counts() {
        // A redelivery of index 0 after index 2 is not a swap.
        let records = with_after(clean_run(), delivery_of(3, "n2", 1), {
            let mut tb = Tb { records: Vec::new() };
            tb.deliver(13 * MS, "n2", 1, "n1", 1).build().remove(0)
        });
        assert_eq!(check(&records), vec![]);
    }

    #[test]
    fn ok_batch_not_delivered_whole() {
        let records = without(clean_run(), delivery_of(3, "n2", 1));
        let v = only(&check(&records), OrderingRule::OkIncomplete);
        assert_eq!(event(&v), (3, "n1", 1, 2));
        assert_eq!(v.t, 14 * MS);
        assert!(v.actual.contains("only indices 0..=1 delivered"), "{}", v.actual);
    }

    #[test]
    fn err_batch_delivered_less_than_shipped() {
        let records = without(clean_run(), delivery_of(6, "n1", 1));
        let v = only(&check(&records), OrderingRule::BelowShipped);
        assert_eq!(event(&v), (6, "n2", 1, 0));
        assert!(v.expected.contains("at least the 1 events"), "{}", v.expected);
        assert!(v.expected.contains("ambiguous"), "{}", v.expected);
    }

    #[test]
    fn err_batch_may_deliver_more_than_shipped() {
        let records = with_after(clean_run(), delivery_of(6, "n1", 1), {
            let mut tb = Tb { records: Vec::new() };
            tb.deliver(33 * MS, "n1", 1, "n2", 7).build().remove(0)
        });
        assert_eq!(check(&records), vec![]);
    }
}
