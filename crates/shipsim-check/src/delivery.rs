//! Delivery: nothing Ok'd is lost, nothing is made up, nothing arrives twice.
//!
//! Rules:
//! - `no-loss`: every event of a `ship_batch` call's shipped prefix (all of
//!   it on `Ok`) has a delivery at its destination (any life of it) after
//!   its `ShipBegin`.
//! - `no-fabrication`: every delivery matches a shipment of its id to the
//!   delivering node, begun before it, from the node it claims as source,
//!   with the same payload (its digest the shipped payload's, from trace format 4). A
//!   delivery without an id is made up.
//! - `no-duplicate`: no event reaches one life of a node twice (more
//!   precisely: not more often than it was shipped there, should a
//!   restarted sender ship the same event again).
//! - `redelivery-after-ack`: an event delivered in an earlier life of its
//!   destination may arrive again in a later life only if some shipment of
//!   it there had not been acknowledged to its sender (by an `Ack`, or a
//!   `ShipEnd` counting it as shipped) before that delivery.
//! - `delivered-despite-error`: an event a call reported certainly not
//!   delivered (outcome `no-route` or `not-delivered`, index ≥ shipped) has
//!   no delivery attributed to that call.
//! - `ok-before-delivery`: a call counts an event shipped only once the
//!   destination's sink has it. A call to the sender's own node: the event's
//!   delivery comes before the call's `ShipEnd` in the trace (one process
//!   wrote both). A remote call on a bundled transport (`tcp`, `grpc`,
//!   `nats`), whose answer is sent after the receiver's sink accepted: the
//!   delivery is stamped no later than the `ShipEnd` (two processes in real
//!   mode, so by time, which every process reads from one clock). An `Ok`
//!   given before the sink has the event is lost by a crash in between, a
//!   window no fault in the trace marks; this rule sees it with no crash
//!   needed (always for a local call; for a remote one, whenever the sink took
//!   the event after the call ended). Another transport is held to it for remote calls only when the
//!   trace's `Start` says its `Ok` means the sink accepted (`ok_after_accept`):
//!   one may answer once a broker stored the event, before any sink has it.
//!
//! A delivery is attributed to the latest shipment of its id to the
//! delivering node begun before it; with unique event ids that is simply
//! "the" shipment.
//!
//! `at-least-once` skips `no-duplicate` and `redelivery-after-ack` only.
//!
//! Cost: O(R + E) time (one pass over the deliveries, one over the
//! shipments), O(E) memory, for R records and E shipped events.

use shipsim_trace::{DeliveryRule, EventId, ExpectDelivery, Outcome, PayloadDigest};
#[cfg(test)]
use shipsim_trace::{Invariant, Record, Violation};

use crate::findings::Findings;
use crate::index::{Batch, Delivered, Delivery, End, Index, NEVER, NONE};
use crate::report::clip;
use crate::table::{Fixed, Table};
use shipsim_trace::fmt_t;

/// Checks every delivery rule (`exactly-once`), whatever the trace's `Start` says.
#[cfg(test)]
pub(crate) fn check(records: &[Record]) -> Vec<Violation> {
    check_with(records, ExpectDelivery::ExactlyOnce)
}

/// Checks the delivery rules `mode` asks for.
#[cfg(test)]
pub(crate) fn check_with(records: &[Record], mode: ExpectDelivery) -> Vec<Violation> {
    crate::fixtures::check_one(records, Invariant::Delivery, |index, findings| run(index, mode, findings))
}

/// Per (event id, destination node): which life last got it, and how often.
/// Kept on the earliest shipment of the id to that node; a `count` of 0 is "never delivered"
/// (no `Option`, so one is 16 bytes: there is one per shipment, in a [`Table`]).
#[derive(Clone, Copy, Default)]
struct Seen {
    life: u32,
    count: u32,
    last_t: u64,
}

impl Fixed for Seen {
    const BYTES: usize = 16;
    fn put(&self, out: &mut Vec<u8>) {
        self.life.put(out);
        self.count.put(out);
        self.last_t.put(out);
    }
    fn take(bytes: &mut &[u8]) -> Self {
        Seen { life: u32::take(bytes), count: u32::take(bytes), last_t: u64::take(bytes) }
    }
}

pub(crate) fn run(index: &Index, mode: ExpectDelivery, findings: &mut Findings) {
    let mut seen = Table::filled(index.shipments(), Seen::default());
    let ok_after_accept = index
        .start()
        .is_some_and(|s| s.ok_after_accept || OK_AFTER_ACCEPT.contains(&s.transport_name.as_str()));
    for delivery in index.deliveries.iter() {
        fabrication(index, &delivery, findings);
        if delivery.shipment != NONE && mode == ExpectDelivery::ExactlyOnce {
            duplicates(index, &delivery, &mut seen, findings);
        }
    }
    for batch in index.batches.iter() {
        let (Some(end), Some(shipped)) = (batch.end, batch.shipped()) else { continue };
        for i in 0..batch.len() {
            let first = index.first_delivery.get((batch.first + i) as usize);
            let delivery = (first != NONE).then(|| index.deliveries.get(first as usize));
            match delivery {
                None if i < shipped => lost(index, &batch, end, i, findings),
                Some(d) if i < shipped && delivered_late(&batch, end, &d, ok_after_accept) => {
                    ok_before_delivery(index, &batch, end, i, &d, findings);
                }
                Some(d) if i >= shipped && batch.certainly_failed() => {
                    delivered_despite_error(index, &batch, end, i, &d, findings);
                }
                _ => {}
            }
        }
    }
}

/// `no-loss` for event `i` of `batch`, in its shipped prefix and never delivered.
fn lost(index: &Index, batch: &Batch, end: End, i: u32, findings: &mut Findings) {
    let shipped = batch.shipped().unwrap_or(0);
    findings.add(end.t, DeliveryRule::NoLoss, || {
        let how = match end.outcome {
            Outcome::Ok => "returned Ok".to_owned(),
            outcome => format!("reported {shipped} shipped before failing ({})", outcome_name(outcome)),
        };
        (
            Some(index.event_ref(batch.first + i)),
            format!("delivered to {} (its ship_batch {how} at {})", index.name(batch.dst), fmt_t(end.t)),
            format!("no delivery of event {} at {}", index.event(batch, i).id, index.name(batch.dst)),
        )
    });
}

/// The transports whose answer to a call is sent only after the receiver's sink accepted its
/// events (docs/transports.md): a remote call on them is held to `ok-before-delivery`, as on
/// any transport whose trace says so (`Start::ok_after_accept`).
const OK_AFTER_ACCEPT: [&str; 3] = ["tcp", "grpc", "nats"];

/// Whether `delivery`, the first of an event `batch` counted shipped, came after the call's
/// `end`: by position for a local call, by time for a remote one on a transport that acks
/// after the accept (`ok_after_accept`), never for another transport's remote call.
fn delivered_late(batch: &Batch, end: End, delivery: &Delivery, ok_after_accept: bool) -> bool {
    if batch.node == batch.dst { delivery.pos > end.pos } else { ok_after_accept && delivery.t > end.t }
}

/// `ok-before-delivery` for event `i` of `batch`, in its shipped prefix and delivered (first
/// by `delivery`) only after the call's `ShipEnd`.
fn ok_before_delivery(
    index: &Index,
    batch: &Batch,
    end: End,
    i: u32,
    delivery: &Delivery,
    findings: &mut Findings,
) {
    findings.add(delivery.t, DeliveryRule::OkBeforeDelivery, || {
        (
            Some(index.event_ref(batch.first + i)),
            format!(
                "accepted by {}'s sink before its ship_batch counted it shipped (the call ended at {})",
                index.name(batch.dst),
                fmt_t(end.t)
            ),
            format!("recorded only after the call ended, at {}", fmt_t(delivery.t)),
        )
    });
}

/// `delivered-despite-error` for event `i` of `batch`, past its shipped prefix of a
/// call that certainly failed, yet delivered (first by `delivery`).
fn delivered_despite_error(
    index: &Index,
    batch: &Batch,
    end: End,
    i: u32,
    delivery: &Delivery,
    findings: &mut Findings,
) {
    let shipped = batch.shipped().unwrap_or(0);
    findings.add(delivery.t.max(end.t), DeliveryRule::DeliveredDespiteError, || {
        (
            Some(index.event_ref(batch.first + i)),
            format!(
                "not delivered to {}: its ship_batch failed ({}) after {shipped} of {}, so it certainly was not",
                index.name(batch.dst),
                outcome_name(end.outcome),
                batch.len()
            ),
            format!("delivered to {} (life {}) at {}", index.name(delivery.node), delivery.life, fmt_t(delivery.t)),
        )
    });
}

/// What `no-fabrication` expects of every delivery.
const GENUINE: &str = "a delivery of an event shipped to this node, from its sender, byte for byte";

/// How a `no-fabrication` report begins: who accepted the delivery, and when.
fn accepted(index: &Index, d: &Delivery) -> String {
    format!("{} (life {}) accepted at {}", index.name(d.node), d.life, fmt_t(d.t))
}

/// `no-fabrication` for one delivery.
fn fabrication(index: &Index, d: &Delivery, findings: &mut Findings) {
    let delivered = index.delivered(d);
    let Some(id) = delivered.id else {
        findings.add(d.t, DeliveryRule::NoFabrication, || {
            let actual =
                format!("{} a payload without an event id: {}", accepted(index, d), quote(&delivered));
            (None, GENUINE.into(), actual)
        });
        return;
    };
    if d.shipment == NONE {
        unshipped(index, d, id, findings);
    } else {
        altered(index, d, &delivered, id, findings);
    }
}

/// `no-fabrication` for a delivery of `id` attributed to no shipment: the id was
/// never shipped, or only later to this node, or only to other nodes.
fn unshipped(index: &Index, d: &Delivery, id: EventId, findings: &mut Findings) {
    let latest = index.latest_shipment(id);
    findings.add(d.t, DeliveryRule::NoFabrication, || {
        let at = accepted(index, d);
        if latest == NONE {
            return (None, GENUINE.into(), format!("{at} event {id}, which no ship_batch shipped"));
        }
        // Shipped, but not to this node before now.
        let mut g = latest;
        let mut later_here = NONE;
        while g != NONE {
            if index.batch_of(g).dst == d.node {
                later_here = g;
            }
            g = index.prev_same_id.get(g as usize);
        }
        if later_here != NONE {
            let begin = index.batch_of(later_here).t;
            let actual = format!("{at} event {id} before it was shipped (at {})", fmt_t(begin));
            return (Some(index.event_ref(later_here)), GENUINE.into(), actual);
        }
        let dst = index.name(index.batch_of(latest).dst);
        (
            Some(index.event_ref(latest)),
            GENUINE.into(),
            format!("{at} event {id}, which was shipped to {dst}"),
        )
    });
}

/// `no-fabrication` for an attributed delivery: its claimed source must be the
/// shipment's sender, and its payload's digest the shipped payload's.
fn altered(index: &Index, d: &Delivery, delivered: &Delivered<'_>, id: EventId, findings: &mut Findings) {
    let (event, _) = index.event_of(d.shipment);
    let sender = index.name(index.batch_of(d.shipment).node);
    let wrong_source = delivered.source != sender;
    let wrong_payload = delivered.digest != event.digest;
    if !wrong_source && !wrong_payload {
        return;
    }
    findings.add(d.t, DeliveryRule::NoFabrication, || {
        let mut problems = Vec::new();
        if wrong_source {
            problems.push(format!("as coming from {}, but {sender} shipped it", delivered.source));
        }
        if wrong_payload {
            problems.push(payload_difference(event.digest, delivered));
        }
        let actual = format!("{} event {id} {}", accepted(index, d), problems.join("; "));
        (Some(index.event_ref(d.shipment)), GENUINE.into(), actual)
    });
}

/// How a delivered payload differs from the shipped one (of digest `digest`): at which byte,
/// when the record keeps the delivered bytes and the index still held the shipped ones, else
/// by digest.
fn payload_difference(digest: PayloadDigest, delivered: &Delivered<'_>) -> String {
    let Some(shipped) = delivered.shipped_payload else {
        return format!(
            "with a payload {}, not the shipped one of digest {digest} (delivered after its ack: \
             the shipped bytes are not kept)",
            quote(delivered)
        );
    };
    let Some(got) = delivered.payload else {
        return format!(
            "with a payload of digest {}, not the shipped one's {}: shipped {}",
            delivered.digest,
            digest,
            clip(shipped)
        );
    };
    let (sent, got_bytes) = (shipped.as_bytes(), got.as_bytes());
    let byte =
        sent.iter().zip(got_bytes).position(|(a, b)| a != b).unwrap_or(sent.len().min(got_bytes.len()));
    format!("with a payload differing at byte {byte}: shipped {}, delivered {}", clip(shipped), clip(got))
}

/// A delivered payload for a report: its bytes when the record keeps them, else its digest.
fn quote(delivered: &Delivered<'_>) -> String {
    delivered.payload.map_or_else(|| format!("of digest {}", delivered.digest), clip)
}

/// The shipments of a delivery's id to its node begun before it: the
/// attributed one and the earlier ones in its chain.
struct ShippedHere {
    /// The earliest of them, where [`Seen`] is kept.
    head: u32,
    /// How many of them allow a delivery (not reported certainly not delivered).
    count: u32,
    /// Whether every one of those was acknowledged before the delivery.
    all_acked: bool,
    /// Position of the latest of those acknowledgements.
    last_ack: usize,
    /// The shipment it acknowledged.
    last_acked: u32,
}

impl ShippedHere {
    /// Walks the chain of shipments of `d`'s id from its attributed one back.
    fn of(index: &Index, d: &Delivery) -> Self {
        let mut here =
            ShippedHere { head: d.shipment, count: 0, all_acked: true, last_ack: 0, last_acked: NONE };
        let mut g = d.shipment;
        while g != NONE {
            let batch = index.batch_of(g);
            if batch.dst == d.node {
                here.head = g;
                // A shipment its call reported certainly not delivered (the event
                // in the unshipped rest of a refused or failed batch) allows no
                // delivery: a re-plan back to the same node allows one, not two.
                let (_, at) = index.event_of(g);
                let certainly_not = batch.certainly_failed() && batch.shipped().is_some_and(|n| at >= n);
                if certainly_not {
                    g = index.prev_same_id.get(g as usize);
                    continue;
                }
                here.count += 1;
                let acked = index.acked_at.get(g as usize);
                if acked == NEVER || acked > d.pos {
                    here.all_acked = false;
                } else if acked >= here.last_ack {
                    here.last_ack = acked;
                    here.last_acked = g;
                }
            }
            g = index.prev_same_id.get(g as usize);
        }
        here
    }
}

/// `no-duplicate` and `redelivery-after-ack` for one attributed delivery.
fn duplicates(index: &Index, d: &Delivery, seen: &mut Table<Seen>, findings: &mut Findings) {
    let here = ShippedHere::of(index, d);
    let prev = seen.get(here.head as usize);
    if prev.count > 0 && prev.life == d.life {
        let count = prev.count + 1;
        seen.set(here.head as usize, Seen { count, last_t: d.t, ..prev });
        if count > here.count {
            duplicate(index, d, prev, count, here.count, findings);
        }
        return;
    }
    seen.set(here.head as usize, Seen { life: d.life, count: 1, last_t: d.t });
    if prev.count > 0 && here.all_acked {
        redelivery(index, d, prev, here.last_acked, findings);
    }
}

/// `no-duplicate`: `d` is delivery number `count` to its life, of an event shipped
/// there only `shipped_here` times; `prev` is what that life got before.
fn duplicate(
    index: &Index,
    d: &Delivery,
    prev: Seen,
    count: u32,
    shipped_here: u32,
    findings: &mut Findings,
) {
    let id = index.delivered(d).id.unwrap_or_default();
    let node = index.name(d.node);
    findings.add(d.t, DeliveryRule::NoDuplicate, || {
        let times = if shipped_here == 1 { "once".to_owned() } else { format!("{shipped_here} times") };
        (
            Some(index.event_ref(d.shipment)),
            format!(
                "event {id} delivered at most {times} to life {} of {node} (it was shipped there {times})",
                d.life
            ),
            format!(
                "delivered {count} times to life {} of {node}, the previous at {}",
                d.life,
                fmt_t(prev.last_t)
            ),
        )
    });
}

/// `redelivery-after-ack`: `d` reaches a later life than `prev` did, though every
/// shipment of it there was acknowledged (the latest one being `last_acked`'s).
fn redelivery(index: &Index, d: &Delivery, prev: Seen, last_acked: u32, findings: &mut Findings) {
    let id = index.delivered(d).id.unwrap_or_default();
    let node = index.name(d.node);
    findings.add(d.t, DeliveryRule::RedeliveryAfterAck, || {
        let sender = index.name(index.batch_of(d.shipment).node);
        (
            Some(index.event_ref(d.shipment)),
            format!("after a restart of {node}, only events whose ack never reached {sender} delivered again"),
            format!(
                "event {id} delivered to life {} of {node} (last at {}), acknowledged to {sender} at {}, delivered again to life {} at {}",
                prev.life,
                fmt_t(prev.last_t),
                fmt_t(index.acked_t(last_acked)),
                d.life,
                fmt_t(d.t)
            ),
        )
    });
}

/// An outcome as the trace spells it.
pub(crate) fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "ok",
        Outcome::NoRoute => "no-route",
        Outcome::NotDelivered => "not-delivered",
        Outcome::Ambiguous => "ambiguous",
        Outcome::Refused => "refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use shipsim_trace::LifeState;

    #[test]
    fn clean_run_holds() {
        assert_eq!(check(&clean_run()), vec![]);
    }

    #[test]
    fn lost_ok_event_is_loss() {
        let records = without(clean_run(), delivery_of(2, "n2", 1));
        let v = only(&check(&records), DeliveryRule::NoLoss);
        assert_eq!(v.invariant(), Invariant::Delivery);
        assert_eq!(event(&v), (2, "n1", 1, 1));
        assert_eq!(v.t, 14 * MS, "reported when the ship said Ok");
        assert!(v.actual.contains("no delivery of event 2 at n2"), "{}", v.actual);
    }

    #[test]
    fn lost_event_of_the_shipped_prefix_of_an_error_is_loss() {
        let records = without(clean_run(), delivery_of(6, "n1", 1));
        assert_eq!(event(&only(&check(&records), DeliveryRule::NoLoss)), (6, "n2", 1, 0));
    }

    #[test]
    fn unshipped_event_of_an_ambiguous_batch_may_arrive_or_not() {
        let delivered = with_after(clean_run(), delivery_of(6, "n1", 1), deliver(33 * MS, "n1", 1, "n2", 7));
        assert_eq!(check(&delivered), vec![]);
    }

    #[test]
    fn payload_changed_by_one_byte_is_fabrication() {
        let records = changed(clean_run(), delivery_of(3, "n2", 1), |r| {
            if let Record::Deliver { payload, digest, .. } = r {
                let changed = crate::fixtures::payload("n1", 3).replacen("n1", "m1", 1);
                *digest = PayloadDigest::of(changed.as_bytes());
                *payload = Some(Box::new(changed.into()));
            }
        });
        let v = only(&check(&records), DeliveryRule::NoFabrication);
        assert_eq!(event(&v), (3, "n1", 1, 2));
        assert!(v.actual.contains("differing at byte 15"), "{}", v.actual);
    }

    #[test]
    fn payload_changed_is_fabrication_by_digest_when_the_record_keeps_no_bytes() {
        let records = changed(clean_run(), delivery_of(3, "n2", 1), |r| {
            if let Record::Deliver { digest, .. } = r {
                *digest = PayloadDigest(digest.0 ^ 1);
            }
        });
        let v = only(&check(&records), DeliveryRule::NoFabrication);
        assert_eq!(event(&v), (3, "n1", 1, 2));
        assert!(v.actual.contains("with a payload of digest"), "{}", v.actual);
        assert!(
            v.actual.contains("not the shipped one's"),
            "before the ack, the shipped bytes: {}",
            v.actual
        );
    }

    /// A delivery altering the payload after the sender's ack is still fabrication, found by
    /// digest: the index no longer holds the shipped bytes, and the report says so.
    #[test]
    fn payload_changed_after_the_ack_is_fabrication_by_digest() {
        let altered = crate::fixtures::payload("n1", 3).replacen("n1", "m1", 1);
        let late = Record::Deliver {
            t: 16 * MS,
            node: "n2".into(),
            life: 1,
            source: "n1".into(),
            id: Some(3),
            digest: PayloadDigest::of(altered.as_bytes()),
            payload: Some(Box::new(altered.into())),
        };
        let records = with_after(clean_run(), ship_end_of("n1", 1), late);
        let found = check_with(&records, ExpectDelivery::AtLeastOnce);
        let v = only(&found, DeliveryRule::NoFabrication);
        assert_eq!(event(&v), (3, "n1", 1, 2));
        assert!(v.actual.contains("not the shipped one of digest"), "{}", v.actual);
        assert!(v.actual.contains("delivered after its ack"), "{}", v.actual);
    }

    /// A delivery to a restarted node of an event no shipment there allowed (its call said
    /// certainly not delivered) is a redelivery reported with no ack time, not a panic.
    #[test]
    fn redelivery_of_an_event_no_shipment_allowed_reports_no_ack_time() {
        let delivery = |t, life| Record::Deliver {
            t,
            node: "n2".into(),
            life,
            source: "n1".into(),
            id: Some(9),
            digest: PayloadDigest::of(crate::fixtures::payload("n1", 9).as_bytes()),
            payload: None,
        };
        let (once, again) = (delivery(41 * MS, 1), delivery(205 * MS, 2));
        let records = with_after(clean_run(), ship_end_of("n1", 3), once);
        let records = with_after(records, |r| matches!(r, Record::Life { life: 2, .. }), again);
        let found = check(&records);
        let rule = shipsim_trace::Rule::from(DeliveryRule::RedeliveryAfterAck);
        let v = found.iter().find(|v| v.rule == rule).unwrap_or_else(|| panic!("{found:#?}"));
        assert!(v.actual.contains("acknowledged to n1 at 0s"), "{}", v.actual);
    }

    #[test]
    fn wrong_source_is_fabrication() {
        let records = changed(clean_run(), delivery_of(3, "n2", 1), |r| {
            if let Record::Deliver { source, .. } = r {
                *source = "n2".into();
            }
        });
        let v = only(&check(&records), DeliveryRule::NoFabrication);
        assert_eq!(event(&v), (3, "n1", 1, 2));
        assert!(v.actual.contains("as coming from n2, but n1 shipped it"), "{}", v.actual);
    }

    #[test]
    fn unknown_id_and_missing_id_are_fabrication() {
        let unknown = with_after(clean_run(), delivery_of(3, "n2", 1), deliver(13 * MS, "n2", 1, "n1", 99));
        let v = only(&check(&unknown), DeliveryRule::NoFabrication);
        assert_eq!(v.event, None);
        assert!(v.actual.contains("event 99, which no ship_batch shipped"), "{}", v.actual);

        let no_id = with_after(
            clean_run(),
            delivery_of(3, "n2", 1),
            Record::Deliver {
                t: 13 * MS,
                node: "n2".into(),
                life: 1,
                source: "n1".into(),
                id: None,
                digest: PayloadDigest::of(b"garbage"),
                payload: Some(Box::new("garbage".into())),
            },
        );
        let v = only(&check(&no_id), DeliveryRule::NoFabrication);
        assert_eq!(v.event, None);
        assert!(v.actual.contains("without an event id"), "{}", v.actual);
    }

    #[test]
    fn delivery_at_another_node_or_before_the_ship_is_fabrication() {
        // Event 4 was shipped to n1's own sink, not to n2.
        let elsewhere = with_after(clean_run(), delivery_of(4, "n1", 1), deliver(20 * MS, "n2", 1, "n1", 4));
        let v = only(&check(&elsewhere), DeliveryRule::NoFabrication);
        assert_eq!(event(&v), (4, "n1", 2, 0));
        assert!(v.actual.contains("which was shipped to n1"), "{}", v.actual);

        // Event 14 arrives before n2 (life 2) ships it.
        let early = with_after(
            clean_run(),
            |r| matches!(r, Record::Phase { phase: shipsim_trace::Phase::Settle, .. }),
            deliver(300 * MS, "n1", 1, "n2", 14),
        );
        let v = only(&check(&early), DeliveryRule::NoFabrication);
        assert_eq!(event(&v), (14, "n2", 3, 1));
        assert!(v.actual.contains("before it was shipped"), "{}", v.actual);
    }

    #[test]
    fn duplicate_in_one_life() {
        let records = with_after(clean_run(), delivery_of(3, "n2", 1), deliver(13 * MS, "n2", 1, "n1", 3));
        let v = only(&check(&records), DeliveryRule::NoDuplicate);
        assert_eq!(event(&v), (3, "n1", 1, 2));
        assert_eq!(v.t, 13 * MS);
    }

    /// Each duplicate's report names the delivery just before it, not the first.
    #[test]
    fn a_third_delivery_names_the_second_as_the_previous() {
        let mut tb = Tb::new(&["n1", "n2"]);
        tb.begin(10 * MS, "n1", 1, 1, "n2", &[1]).deliver(11 * MS, "n2", 1, "n1", 1);
        tb.deliver(12 * MS, "n2", 1, "n1", 1).deliver(13 * MS, "n2", 1, "n1", 1);
        tb.ack(14 * MS, "n1", 1, "n2", 1).end(14 * MS, "n1", 1, 1, 1, Outcome::Ok);
        let found = check(&tb.build());
        let third = found.iter().find(|v| v.t == 13 * MS).expect("the third delivery is reported");
        let expected = format!("delivered 3 times to life 1 of n2, the previous at {}", fmt_t(12 * MS));
        assert_eq!(third.actual, expected);
    }

    #[test]
    fn redelivery_after_restart_allowed_without_ack_forbidden_after_it() {
        // The clean run redelivers event 11 to n2's second life: its ack never
        // came back before (it came at 211 ms, after the delivery at 210 ms).
        assert_eq!(check(&clean_run()), vec![]);

        let acked = with_after(clean_run(), delivery_of(11, "n2", 1), ack(53 * MS, "n1", 1, "n2", 11));
        let v = only(&check(&acked), DeliveryRule::RedeliveryAfterAck);
        assert_eq!(event(&v), (11, "n1", 4, 0));
        assert_eq!(v.t, 210 * MS);
        assert!(v.actual.contains("acknowledged to n1 at 0.053s"), "{}", v.actual);
    }

    #[test]
    fn ship_end_counting_an_event_shipped_is_its_ack_too() {
        // Event 1's acks are gone, but its Ok ShipEnd told n1 it was delivered.
        let mut records = clean_run();
        records.retain(|r| !matches!(r, Record::Ack { id: 1, .. }));
        let records = with_after(
            records,
            |r| matches!(r, Record::Life { life: 2, .. }),
            deliver(205 * MS, "n2", 2, "n1", 1),
        );
        assert_eq!(event(&only(&check(&records), DeliveryRule::RedeliveryAfterAck)), (1, "n1", 1, 0));
    }

    #[test]
    fn delivered_despite_certain_error() {
        let records = with_after(clean_run(), ship_end_of("n1", 3), deliver(41 * MS, "n2", 1, "n1", 9));
        let v = only(&check(&records), DeliveryRule::DeliveredDespiteError);
        assert_eq!(event(&v), (9, "n1", 3, 1));
        assert!(v.expected.contains("no-route"), "{}", v.expected);
    }

    #[test]
    fn a_local_call_ending_before_its_sink_has_the_event() {
        let late = with_after(
            without(clean_run(), delivery_of(5, "n1", 1)),
            ship_end_of("n1", 2),
            deliver(20 * MS, "n1", 1, "n1", 5),
        );
        let v = only(&check(&late), DeliveryRule::OkBeforeDelivery);
        assert_eq!(event(&v), (5, "n1", 2, 1));
        assert_eq!(check_with(&late, ExpectDelivery::AtLeastOnce).len(), 1);
    }

    /// A remote call on a bundled transport is judged by time: records of two processes are
    /// merged by time, so one stamped alike may come after the end and be on time. Another
    /// transport's Ok may come before any sink has the event (a broker's ack). A delivery
    /// after the end of a call that did not count it shipped is on time.
    #[test]
    fn a_remote_call_is_judged_by_time_and_only_on_a_bundled_transport() {
        let later = |t| {
            with_after(
                without(clean_run(), delivery_of(3, "n2", 1)),
                ship_end_of("n1", 1),
                deliver(t, "n2", 1, "n1", 3),
            )
        };
        assert_eq!(check(&later(14 * MS)), vec![], "stamped alike");
        let late = with_start(later(15 * MS), |s| s.transport_name = "grpc".into());
        assert_eq!(event(&only(&check(&late), DeliveryRule::OkBeforeDelivery)), (3, "n1", 1, 2));
        let broker = with_start(later(15 * MS), |s| s.transport_name = "kafka".into());
        assert_eq!(check(&broker), vec![]);
        let claimed = with_start(broker, |s| s.ok_after_accept = true);
        assert_eq!(rules(&check(&claimed)), [("delivery", "ok-before-delivery")]);
        let mut tb = Tb::new(&["n1"]);
        tb.begin(10 * MS, "n1", 1, 1, "n1", &[1, 2]).deliver(10 * MS, "n1", 1, "n1", 1);
        tb.end(11 * MS, "n1", 1, 1, 1, Outcome::Ambiguous).deliver(12 * MS, "n1", 1, "n1", 2);
        assert_eq!(check(&tb.build()), vec![]);
    }

    #[test]
    fn at_least_once_relaxes_duplicates_but_not_loss() {
        let dup = with_after(clean_run(), delivery_of(3, "n2", 1), deliver(13 * MS, "n2", 1, "n1", 3));
        let acked = with_after(dup, delivery_of(11, "n2", 1), ack(53 * MS, "n1", 1, "n2", 11));
        assert_eq!(
            rules(&check(&acked)),
            [("delivery", "no-duplicate"), ("delivery", "redelivery-after-ack")]
        );
        assert_eq!(check_with(&acked, ExpectDelivery::AtLeastOnce), vec![]);

        let lost = without(acked, delivery_of(2, "n2", 1));
        assert_eq!(rules(&check_with(&lost, ExpectDelivery::AtLeastOnce)), [("delivery", "no-loss")]);
    }

    /// A restarted sender ships the events of its interrupted call again
    /// (same ids): each shipment may reach a life once.
    #[test]
    fn an_event_shipped_again_by_a_restarted_sender_may_arrive_once_per_shipment() {
        let mut tb = Tb::new(&["n1", "n2"]);
        tb.begin(10 * MS, "n2", 1, 1, "n1", &[1])
            .deliver(11 * MS, "n1", 1, "n2", 1)
            .life(12 * MS, "n2", 1, LifeState::Down)
            .life(20 * MS, "n2", 2, LifeState::Up)
            .begin(21 * MS, "n2", 2, 2, "n1", &[1])
            .deliver(22 * MS, "n1", 1, "n2", 1)
            .ack(23 * MS, "n2", 2, "n1", 1)
            .end(23 * MS, "n2", 2, 2, 1, Outcome::Ok);
        let records = tb.build();
        assert_eq!(check(&records), vec![]);

        let third = with_after(records, ship_end_of("n2", 2), deliver(24 * MS, "n1", 1, "n2", 1));
        let v = only(&check(&third), DeliveryRule::NoDuplicate);
        assert_eq!(event(&v), (1, "n2", 2, 0));
        assert!(v.expected.contains("at most 2 times"), "{}", v.expected);
    }

    fn deliver(t: u64, node: &str, life: u32, source: &str, id: u64) -> Record {
        Tb { records: Vec::new() }.deliver(t, node, life, source, id).build().remove(0)
    }

    fn ack(t: u64, node: &str, life: u32, dst: &str, id: u64) -> Record {
        Tb { records: Vec::new() }.ack(t, node, life, dst, id).build().remove(0)
    }
}
