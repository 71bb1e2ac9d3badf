//! The checkers together: the summary, the gate, relaxations and skips.

use crate::fixtures::*;
use crate::*;
use shipsim_trace::{
    DeliveryRule, ExpectDelivery, ExpectOrdering, ExpectStats, FaultAction, HealTarget, Invariant, Lack,
    Outcome, Phase, Record, TraceRule,
};

fn one(build: impl FnOnce(&mut Tb) -> &mut Tb) -> Record {
    build(&mut Tb { records: Vec::new() }).build().remove(0)
}

#[test]
fn clean_run_holds_everything() {
    let records = clean_run();
    assert_eq!(check_all(&records), vec![]);
    let summary = summarize(&records);
    assert!(summary.held());
    let names: Vec<&str> = summary.results.iter().map(|r| r.invariant.as_str()).collect();
    assert_eq!(names, ["delivery", "ordering", "stats", "liveness", "placement", "trace"]);
    assert!(summary.results.iter().all(|r| r.status == Status::Held || r.invariant == Invariant::Placement));
    assert_eq!(
        summary.to_string(),
        "delivery  held\nordering  held\nstats     held\nliveness  held\n\
         placement skipped (the trace names no shard count)\ntrace     held\n"
    );
}

#[test]
fn check_all_reports_every_invariant_in_time_order() {
    let records = without(clean_run(), delivery_of(3, "n2", 1));
    let found = check_all(&records);
    assert_eq!(
        rules(&found),
        [
            ("delivery", "no-loss"),
            ("ordering", "ok-incomplete"),
            ("stats", "received"),
            ("stats", "sink"),
            ("stats", "totals"),
        ]
    );
    assert!(found.windows(2).all(|w| w[0].t <= w[1].t));
    let summary = summarize(&records);
    assert!(!summary.held());
    assert_eq!(summary.get(Invariant::Stats).total(), 3);
    assert!(summary.to_string().contains("stats     violated: 3 (received 1, sink 1, totals 1)\n"));
}

#[test]
fn at_least_once_relaxes_duplicates_but_not_loss() {
    let at_least_once = |records| with_start(records, |s| s.delivery = ExpectDelivery::AtLeastOnce);
    // A duplicate in n2's first life, which its counters saw.
    let dup =
        with_after(clean_run(), delivery_of(3, "n2", 1), one(|tb| tb.deliver(13 * MS, "n2", 1, "n1", 3)));
    let dup = changed(dup, stats_of("n2", 1), |r| {
        if let Record::Stats { received, sink, .. } = r {
            (*received, *sink) = (5, 5);
        }
    });
    assert_eq!(rules(&check_all(&dup)), [("delivery", "no-duplicate")]);
    let relaxed = at_least_once(dup.clone());
    assert_eq!(check_all(&relaxed), vec![]);
    let summary = summarize(&relaxed);
    assert!(summary.get(Invariant::Delivery).relaxed.as_deref().unwrap().contains("at-least-once"));

    let lost = without(relaxed, delivery_of(6, "n1", 1));
    assert!(rules(&check_all(&lost)).contains(&("delivery", "no-loss")));
}

#[test]
fn ordering_none_skips_ordering() {
    let swapped = swapped(clean_run(), delivery_of(2, "n2", 1), delivery_of(3, "n2", 1));
    assert_eq!(rules(&check_all(&swapped)), [("ordering", "swap")]);
    let unordered = with_start(swapped, |s| s.ordering = ExpectOrdering::None);
    assert_eq!(check_all(&unordered), vec![]);
    let summary = summarize(&unordered);
    assert_eq!(summary.get(Invariant::Ordering).status, Status::Skipped("expect ordering: none".into()));
    assert!(summary.held());
}

#[test]
fn stats_ignore_skips_stats() {
    let off = changed(clean_run(), stats_of("n1", 1), |r| {
        if let Record::Stats { received, .. } = r {
            *received += 1;
        }
    });
    assert_eq!(rules(&check_all(&off)), [("stats", "received")]);
    let ignored = with_start(off, |s| s.stats = ExpectStats::Ignore);
    assert_eq!(check_all(&ignored), vec![]);
    assert!(matches!(summarize(&ignored).get(Invariant::Stats).status, Status::Skipped(_)));
}

#[test]
fn what_the_transport_lacks_is_reported_skipped_not_passed() {
    // Counters off by one: `received` fires, unless the transport has no counters.
    let off = changed(clean_run(), stats_of("n1", 1), |r| {
        if let Record::Stats { received, .. } = r {
            *received += 1;
        }
    });
    assert_eq!(rules(&check_all(&off)), [("stats", "received")]);
    let all = Lack::ALL.to_vec();
    let lacking = with_start(off, |s| s.lacks = all);
    assert_eq!(check_all(&lacking), vec![]);
    let summary = summarize(&lacking);
    let relaxed = |invariant| summary.get(invariant).relaxed.clone().unwrap_or_default();
    assert_eq!(relaxed(Invariant::Delivery), "redelivery-after-ack skipped: the transport reports no acks");
    assert_eq!(
        relaxed(Invariant::Stats),
        "received skipped: the transport has no counters; \
         missing-stats skipped: a killed process's counters cannot be read"
    );
    assert_eq!(
        relaxed(Invariant::Liveness),
        "recovery skipped: the transport gave no timing; contract skipped: the transport gave no timing; \
         reconnect-spacing skipped: the transport gave no timing"
    );
    assert!(summary.to_string().contains("held [received skipped: the transport has no counters; missing"));
    // Another stats rule still fires without counters.
    let sink_off = changed(lacking, stats_of("n1", 1), |r| {
        if let Record::Stats { sink, .. } = r {
            *sink += 1;
        }
    });
    assert_eq!(rules(&check_all(&sink_off)), [("stats", "sink")]);
    // A transport with timing but no acks: recovery and reconnect-spacing are skipped, and
    // say why.
    let no_acks = with_start(clean_run(), |s| s.lacks = vec![Lack::Acks]);
    let summary = summarize(&no_acks);
    assert_eq!(
        summary.get(Invariant::Liveness).relaxed.as_deref(),
        Some(
            "recovery skipped: the transport reports no acks; reconnect-spacing skipped: the transport \
             reports no acks, and an answer the trace does not show may restart the backoff"
        )
    );
    // The TCP transport lacks nothing: no note.
    assert_eq!(summarize(&clean_run()).get(Invariant::Delivery).relaxed, None);
}

/// Real mode's SIGKILL leaves a life without counters: a trace that says so
/// (`lacks: [killed-counters]`) skips `missing-stats`, and says why, rather than passing it.
#[test]
fn a_killed_life_without_counters_is_skipped_when_the_trace_says_so() {
    let killed = without(clean_run(), stats_of("n2", 1));
    assert_eq!(rules(&check_all(&killed)), [("stats", "missing-stats")]);
    let said = with_start(killed, |s| s.lacks = vec![Lack::KilledCounters]);
    assert_eq!(check_all(&said), vec![]);
    let summary = summarize(&said);
    assert_eq!(
        summary.get(Invariant::Stats).relaxed.as_deref(),
        Some("missing-stats skipped: a killed process's counters cannot be read")
    );
}

#[test]
fn violations_are_bounded_per_rule_keeping_the_earliest() {
    let mut tb = Tb::new(&["n1", "n2"]);
    for i in 0..50u64 {
        tb.begin(i * MS, "n1", 1, i, "n2", &[i]).end(i * MS, "n1", 1, i, 1, Outcome::Ok);
    }
    tb.phase(100 * MS, Phase::End);
    let records = tb.build();
    let lost = delivery::check(&records);
    assert_eq!(lost.len(), MAX_PER_RULE);
    let ids: Vec<u64> = lost.iter().map(|v| v.event.as_ref().unwrap().id).collect();
    assert_eq!(ids, (0..MAX_PER_RULE as u64).collect::<Vec<_>>());
    let summary = summarize(&records);
    assert_eq!(summary.get(Invariant::Delivery).count(DeliveryRule::NoLoss), 50);
    assert_eq!(summary.get(Invariant::Delivery).violations.len(), MAX_PER_RULE);
}

#[test]
fn malformed_traces_are_reported_as_such() {
    let unbegun =
        with_after(clean_run(), ship_end_of("n1", 1), one(|tb| tb.end(14 * MS, "n1", 1, 9, 0, Outcome::Ok)));
    assert_eq!(rules(&check_all(&unbegun)), [("trace", "ship-end")]);

    let mut backwards = clean_run();
    backwards.insert(
        find(&backwards, ship_end_of("n1", 1)) + 1,
        one(|tb| tb.fault(MS, "{at: 1ms, heal: all}", FaultAction::Heal(HealTarget::All))),
    );
    assert_eq!(rules(&check_all(&backwards)), [("trace", "time-order")]);

    let endless = without(clean_run(), |r| matches!(r, Record::Phase { phase: Phase::End, .. }));
    assert_eq!(rules(&check_all(&endless)), [("trace", "incomplete")]);

    let headless = without(clean_run(), |r| matches!(r, Record::Start(_)));
    assert_eq!(rules(&check_all(&headless)), [("trace", "start")]);

    let stranger = with_after(clean_run(), ship_end_of("n1", 1), one(|tb| tb.ack(14 * MS, "n3", 1, "n2", 1)));
    assert_eq!(rules(&check_all(&stranger)), [("trace", "node"), ("trace", "ack")]);
}

#[test]
fn a_trace_with_its_violations_rechecks_the_same() {
    let records = without(clean_run(), delivery_of(2, "n2", 1));
    let found = check_all(&records);
    assert!(!found.is_empty());
    let mut rechecked = records.clone();
    rechecked.extend(found.iter().cloned().map(|v| Record::Violation(Box::new(v))));
    assert_eq!(check_all(&rechecked), found);
}

#[test]
fn same_trace_same_summary() {
    let records = without(clean_run(), delivery_of(2, "n2", 1));
    assert_eq!(summarize(&records), summarize(&records));
}

/// 100 000 events through three nodes, every check in one go: a
/// quadratic checker would not finish here.
#[test]
fn large_clean_run() {
    const BATCHES: u64 = 20_000;
    let nodes = ["n1", "n2", "n3"];
    let mut tb = Tb::new(&nodes);
    let mut sent = [0u64; 3];
    let mut received = [0u64; 3];
    let mut id = 0;
    for b in 0..BATCHES {
        let (src, dst) = ((b % 3) as usize, ((b + 1) % 3) as usize);
        let ids: Vec<u64> = (id..id + 5).collect();
        id += 5;
        let t = b * 10;
        tb.begin(t, nodes[src], 1, b, nodes[dst], &ids);
        for &i in &ids {
            tb.deliver(t + 1, nodes[dst], 1, nodes[src], i);
        }
        for &i in &ids {
            tb.ack(t + 2, nodes[src], 1, nodes[dst], i);
        }
        tb.end(t + 2, nodes[src], 1, b, 5, Outcome::Ok);
        sent[src] += 5;
        received[dst] += 5;
    }
    let end = BATCHES * 10;
    tb.phase(end, Phase::Settle).phase(end, Phase::End);
    for (n, node) in nodes.iter().enumerate() {
        tb.stats(end, node, 1, [sent[n], 0, 0, 0, 0], received[n], received[n]);
        tb.workload(end, node, sent[n], sent[n]);
    }
    let records = tb.build();
    assert_eq!(check_all(&records), vec![]);

    // The same run with every 1000th delivery gone.
    let mut k = 0;
    let lossy: Vec<Record> = records
        .into_iter()
        .filter(|r| {
            !matches!(r, Record::Deliver { .. }) || {
                k += 1;
                k % 1000 != 0
            }
        })
        .collect();
    let summary = summarize(&lossy);
    assert_eq!(summary.get(Invariant::Delivery).count(DeliveryRule::NoLoss), 100);
    assert_eq!(summary.get(Invariant::Delivery).violations.len(), MAX_PER_RULE);
}

/// A `ship-begin` listing one event twice is a malformed trace, reported as such: the
/// checkers never panic on a trace, whatever it holds.
#[test]
fn an_event_listed_twice_in_one_batch_is_malformed_not_a_panic() {
    let mut tb = Tb::new(&["n1", "n2"]);
    tb.begin(MS, "n1", 1, 1, "n2", &[4, 4]).end(2 * MS, "n1", 1, 1, 0, Outcome::NotDelivered);
    tb.phase(3 * MS, Phase::End);
    let records = tb.build();
    let summary = summarize(&records);
    assert_eq!(summary.get(Invariant::Trace).count(TraceRule::ShipBegin), 1, "{summary}");
    assert!(!summary.held());
}
