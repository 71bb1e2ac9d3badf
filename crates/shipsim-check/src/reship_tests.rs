//! One event in several `ShipBegin`s of one sender life: a batch refused by a node that no
//! longer owns its shard (`refused`) and its re-plan to the new owner. Every rule keeps
//! its meaning: no loss of an acknowledged event, no delivery where a call reported it
//! certainly not sent, no duplicate within a life, and a second shipment only after a certain
//! failure.

use super::fixtures::*;
use super::{check_all, delivery, stats};
use shipsim_trace::{DeliveryRule, Outcome, Phase};

const MS: u64 = 1000;

/// n1 ships [1, 2] to n2, which refuses both (refused after 0); n1 re-plans them to n3,
/// which takes them: ok. Then the run settles and ends with consistent counters.
fn refused_then_replanned() -> Tb {
    let mut tb = Tb::new(&["n1", "n2", "n3"]);
    tb.begin(10 * MS, "n1", 1, 1, "n2", &[1, 2])
        .end(12 * MS, "n1", 1, 1, 0, Outcome::Refused)
        .begin(12 * MS, "n1", 1, 2, "n3", &[1, 2])
        .deliver(14 * MS, "n3", 1, "n1", 1)
        .deliver(14 * MS, "n3", 1, "n1", 2)
        .ack(15 * MS, "n1", 1, "n3", 1)
        .ack(15 * MS, "n1", 1, "n3", 2)
        .end(15 * MS, "n1", 1, 2, 2, Outcome::Ok);
    tb
}

fn finish(tb: &mut Tb, n3_sink: u64) -> Vec<shipsim_trace::Record> {
    tb.phase(20 * MS, Phase::Settle)
        .phase(30 * MS, Phase::End)
        .stats(30 * MS, "n1", 1, [2, 0, 0, 2, 0], 0, 0)
        .stats(30 * MS, "n2", 1, [0; 5], 0, 0)
        .stats(30 * MS, "n3", 1, [0; 5], n3_sink, n3_sink)
        .workload(30 * MS, "n1", 2, 2)
        .workload(30 * MS, "n2", 0, 0)
        .workload(30 * MS, "n3", 0, 0)
        .build()
}

#[test]
fn a_refused_batch_and_its_replan_hold_every_invariant() {
    let records = finish(&mut refused_then_replanned(), 2);
    assert_eq!(check_all(&records), vec![]);
}

#[test]
fn the_refusing_node_delivering_it_anyway_is_delivered_despite_error() {
    let mut tb = refused_then_replanned();
    tb.deliver(16 * MS, "n2", 1, "n1", 1);
    let records = finish(&mut tb, 2);
    let v = only(&delivery::check(&records), DeliveryRule::DeliveredDespiteError);
    assert_eq!(event(&v), (1, "n1", 1, 0));
}

#[test]
fn the_replan_lost_is_loss() {
    let records = without(finish(&mut refused_then_replanned(), 2), delivery_of(2, "n3", 1));
    let v = only(&delivery::check(&records), DeliveryRule::NoLoss);
    assert_eq!(event(&v), (2, "n1", 2, 1));
}

#[test]
fn the_replan_delivered_twice_is_a_duplicate() {
    let mut tb = refused_then_replanned();
    tb.deliver(16 * MS, "n3", 1, "n1", 1);
    let records = finish(&mut tb, 3);
    assert_eq!(rules(&delivery::check(&records)), [("delivery", "no-duplicate")]);
}

#[test]
fn counters_count_the_refusal_and_the_replan_each_once() {
    // `sent` 2 (the re-plan) and `send_failures` 2 (the refusal) hold; counting the
    // refused events as sent does not.
    let records = changed(finish(&mut refused_then_replanned(), 2), stats_of("n1", 1), |r| {
        if let shipsim_trace::Record::Stats { shipper, .. } = r {
            shipper.sent = 4;
            shipper.send_failures = 0;
        }
    });
    let violations = stats::check(&records);
    let found = rules(&violations);
    assert!(found.contains(&("stats", "sent")) && found.contains(&("stats", "send-failures")), "{found:?}");
}

#[test]
fn shipping_again_after_an_ambiguous_outcome_is_malformed() {
    let mut tb = Tb::new(&["n1", "n2", "n3"]);
    tb.begin(10 * MS, "n1", 1, 1, "n2", &[1]).end(12 * MS, "n1", 1, 1, 0, Outcome::Ambiguous).begin(
        12 * MS,
        "n1",
        1,
        2,
        "n3",
        &[1],
    );
    assert!(rules(&check_all(&tb.build())).contains(&("trace", "ship-begin")));
}

#[test]
fn shipping_again_before_the_refused_call_returned_is_malformed() {
    let mut tb = Tb::new(&["n1", "n2", "n3"]);
    tb.begin(10 * MS, "n1", 1, 1, "n2", &[1, 2]).begin(11 * MS, "n1", 1, 2, "n3", &[2]).end(
        12 * MS,
        "n1",
        1,
        1,
        0,
        Outcome::NotDelivered,
    );
    assert!(rules(&check_all(&tb.build())).contains(&("trace", "ship-begin")));
}

#[test]
fn shipping_again_an_event_of_the_acknowledged_prefix_is_malformed() {
    let mut tb = Tb::new(&["n1", "n2", "n3"]);
    tb.begin(10 * MS, "n1", 1, 1, "n2", &[1, 2]).end(12 * MS, "n1", 1, 1, 1, Outcome::NotDelivered).begin(
        12 * MS,
        "n1",
        1,
        2,
        "n3",
        &[1, 2],
    );
    let violations = check_all(&tb.build());
    let found = rules(&violations);
    assert_eq!(found.iter().filter(|r| **r == ("trace", "ship-begin")).count(), 1, "only event 1: {found:?}");
}

/// n2 refuses [1] (it was behind), n1 re-plans it to n2 again once the maps agree, and n2
/// delivers it twice: the refused shipment allowed no delivery, so the second is a duplicate.
#[test]
fn a_replan_back_to_the_refusing_node_allows_one_delivery_not_two() {
    let mut tb = Tb::new(&["n1", "n2"]);
    tb.begin(10 * MS, "n1", 1, 1, "n2", &[1])
        .end(12 * MS, "n1", 1, 1, 0, Outcome::Refused)
        .begin(12 * MS, "n1", 1, 2, "n2", &[1])
        .deliver(14 * MS, "n2", 1, "n1", 1)
        .ack(15 * MS, "n1", 1, "n2", 1)
        .end(15 * MS, "n1", 1, 2, 1, Outcome::Ok);
    let once = tb.records.clone();
    assert_eq!(delivery::check(&once), vec![]);
    tb.deliver(16 * MS, "n2", 1, "n1", 1);
    let v = only(&delivery::check(&tb.build()), DeliveryRule::NoDuplicate);
    assert_eq!(event(&v), (1, "n1", 2, 0));
}
