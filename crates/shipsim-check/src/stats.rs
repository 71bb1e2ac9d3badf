//! Stats: each node life's counters agree with what the trace saw it do.
//!
//! At every `Stats` record of a node life, against that life's records
//! before it:
//! - `attempts`: `shipper.attempts()` = events of its `ship_batch` calls that
//!   returned (a call cut short by a crash is counted nowhere);
//! - `sent` / `local`: the shipped prefixes of its remote / local calls;
//! - `no-route` / `send-failures` / `ambiguous`: the unshipped events of its
//!   calls that failed with that outcome;
//! - `received`: its deliveries from other nodes; `sink`: all its deliveries;
//! - `monotone`: no counter below the same life's previous `Stats`.
//!
//! Once the run is over (`Phase end`):
//! - `missing-stats`: every life that started has a `Stats` record;
//! - `totals`: over all lives, `sent` ≤ remote events delivered and `local`
//!   ≤ local events delivered (each shipment counted once however often it
//!   arrived).
//!
//! Cost: O(R + E) time, O(L) memory for L node lives.

use std::collections::BTreeMap;

use shipsim_trace::ShipperCounters;

#[cfg(test)]
use shipsim_trace::{Invariant, Violation};
use shipsim_trace::{Micros, Outcome, Record, StatsRule};

use crate::findings::Findings;
use crate::index::{Index, Item, NONE};
use shipsim_trace::fmt_t;

/// Checks stats, whatever the trace's `Start` says.
#[cfg(test)]
pub(crate) fn check(records: &[Record]) -> Vec<Violation> {
    crate::fixtures::check_one(records, Invariant::Stats, run)
}

/// What a life's counters should say, from the trace.
#[derive(Debug, Default, Clone, Copy)]
struct Expected {
    attempts: u64,
    sent: u64,
    local: u64,
    no_route: u64,
    send_failures: u64,
    ambiguous: u64,
    received: u64,
    sink: u64,
}

/// A `Stats` record's counters, in report order.
#[derive(Debug, Clone, Copy)]
struct Seen {
    shipper: ShipperCounters,
    received: u64,
    duplicates_dropped: u64,
    retransmits: u64,
    sink: u64,
    t: Micros,
}

impl Seen {
    fn counters(&self) -> [(&'static str, u64); 9] {
        [
            ("sent", self.shipper.sent),
            ("local", self.shipper.local),
            ("no_route", self.shipper.no_route),
            ("send_failures", self.shipper.send_failures),
            ("ambiguous", self.shipper.ambiguous),
            ("received", self.received),
            ("duplicates_dropped", self.duplicates_dropped),
            ("retransmits", self.retransmits),
            ("sink", self.sink),
        ]
    }
}

pub(crate) fn run(index: &Index, findings: &mut Findings) {
    // Per (node, life): what its counters should say so far, and its latest `Stats`.
    let mut expected: BTreeMap<(u32, u32), Expected> = BTreeMap::new();
    let mut last: BTreeMap<(u32, u32), Seen> = BTreeMap::new();
    for item in index.items() {
        match item {
            Item::End(end) => count_ship_end(index, end.pos, end.node, end.batch, &mut expected),
            Item::Deliver(d) => {
                let e = expected.entry((d.node, d.life)).or_default();
                e.sink += 1;
                if index.source_of(&d) != index.name(d.node) {
                    e.received += 1;
                }
            }
            Item::Other(record @ Record::Stats { .. }) => {
                stats(index, record, &expected, &mut last, findings)
            }
            _ => {}
        }
    }
    let Some((_, end_t)) = index.end else { return };
    missing_stats(index, end_t, findings);
    totals(index, &last, end_t, findings);
}

/// Counts the `ShipEnd` at `pos` (batch `batch` of `node`) into its sender life's
/// expected counters: every event an attempt, the shipped prefix sent (or local),
/// the rest under the counter of the call's outcome.
fn count_ship_end(
    index: &Index,
    pos: usize,
    node: u32,
    batch: u64,
    expected: &mut BTreeMap<(u32, u32), Expected>,
) {
    let Some(b) = index.batch(node, batch) else { return };
    let batch = index.batches.get(b as usize);
    let (Some(end), Some(shipped)) = (batch.end, batch.shipped()) else { return };
    if end.pos != pos {
        return; // a second ShipEnd: malformed, counted once
    }
    let e = expected.entry((batch.node, batch.life)).or_default();
    let (len, shipped) = (u64::from(batch.len()), u64::from(shipped));
    e.attempts += len;
    *(if batch.local { &mut e.local } else { &mut e.sent }) += shipped;
    match end.outcome {
        Outcome::Ok => {}
        Outcome::NoRoute => e.no_route += len - shipped,
        // A refusal is a send failure to the shipper's counters.
        Outcome::NotDelivered | Outcome::Refused => e.send_failures += len - shipped,
        Outcome::Ambiguous => e.ambiguous += len - shipped,
    }
}

/// A `Stats` record: its counters against what the trace saw its life do so far,
/// and against the same life's previous `Stats` (kept in `last`).
fn stats(
    index: &Index,
    record: &Record,
    expected: &BTreeMap<(u32, u32), Expected>,
    last: &mut BTreeMap<(u32, u32), Seen>,
    findings: &mut Findings,
) {
    let Record::Stats { t, node, life, shipper, received, duplicates_dropped, retransmits, sink } = record
    else {
        return;
    };
    let Some(n) = index.node(node) else { return };
    let seen = Seen {
        shipper: **shipper,
        received: *received,
        duplicates_dropped: *duplicates_dropped,
        retransmits: *retransmits,
        sink: *sink,
        t: *t,
    };
    let e = expected.get(&(n, *life)).copied().unwrap_or_default();
    compare(node, *life, &seen, &e, findings);
    if let Some(prev) = last.insert((n, *life), seen) {
        monotone(node, *life, &prev, &seen, findings);
    }
}

/// `missing-stats`: every life that started has a `Stats` record by the end of
/// the run (at `end_t`).
fn missing_stats(index: &Index, end_t: Micros, findings: &mut Findings) {
    for (&(node, life), info) in &index.lives {
        if info.up.is_some() && info.stats.is_empty() {
            findings.add(end_t, StatsRule::MissingStats, || {
                let name = index.name(node);
                (
                    None,
                    format!("a Stats record for life {life} of {name}"),
                    format!("none by the end of the run ({})", fmt_t(end_t)),
                )
            });
        }
    }
}

/// The per-life equalities at one `Stats` record.
/// A transport without counters reports zeros: its `received` is skipped by [`Findings`]
/// (the checker says so), and its zeros stay monotone.
fn compare(node: &str, life: u32, seen: &Seen, e: &Expected, findings: &mut Findings) {
    let checks: [(StatsRule, &str, u64, u64, &str); 8] = [
        (
            StatsRule::Attempts,
            "attempts()",
            seen.shipper.attempts(),
            e.attempts,
            "events of its ship_batch calls that returned, each counted in exactly one counter",
        ),
        (
            StatsRule::Sent,
            "sent",
            seen.shipper.sent,
            e.sent,
            "events its remote ship_batch calls reported shipped",
        ),
        (
            StatsRule::Local,
            "local",
            seen.shipper.local,
            e.local,
            "events its local ship_batch calls reported shipped",
        ),
        (
            StatsRule::NoRoute,
            "no_route",
            seen.shipper.no_route,
            e.no_route,
            "unshipped events of its calls that failed with no-route",
        ),
        (
            StatsRule::SendFailures,
            "send_failures",
            seen.shipper.send_failures,
            e.send_failures,
            "unshipped events of its calls that failed with not-delivered",
        ),
        (
            StatsRule::Ambiguous,
            "ambiguous",
            seen.shipper.ambiguous,
            e.ambiguous,
            "unshipped events of its calls that failed ambiguously",
        ),
        (StatsRule::Received, "received", seen.received, e.received, "its deliveries from other nodes"),
        (StatsRule::Sink, "sink", seen.sink, e.sink, "all its deliveries, remote and local"),
    ];
    for (rule, counter, got, want, meaning) in checks {
        if got != want {
            findings.add(seen.t, rule, || {
                (
                    None,
                    format!("{node} life {life}: {counter} = {want} ({meaning})"),
                    format!("its Stats at {} says {counter} = {got}", fmt_t(seen.t)),
                )
            });
        }
    }
}

/// `monotone` between two `Stats` of one life.
fn monotone(node: &str, life: u32, prev: &Seen, seen: &Seen, findings: &mut Findings) {
    for ((counter, before), (_, now)) in prev.counters().into_iter().zip(seen.counters()) {
        if now < before {
            findings.add(seen.t, StatsRule::Monotone, || {
                (
                    None,
                    format!("{node} life {life}: counters that never decrease"),
                    format!("{counter} was {before} at {} and is {now} at {}", fmt_t(prev.t), fmt_t(seen.t)),
                )
            });
        }
    }
}

/// `totals` at the end of the run, from each life's last `Stats`.
fn totals(index: &Index, last: &BTreeMap<(u32, u32), Seen>, end_t: Micros, findings: &mut Findings) {
    let sent: u64 = last.values().map(|s| s.shipper.sent).sum();
    let local: u64 = last.values().map(|s| s.shipper.local).sum();
    let (mut remote_delivered, mut local_delivered) = (0u64, 0u64);
    for batch in index.batches.iter() {
        let range = batch.first as usize..(batch.first + batch.len()) as usize;
        let delivered = index.first_delivery.range(range).filter(|&d| d != NONE).count() as u64;
        *(if batch.local { &mut local_delivered } else { &mut remote_delivered }) += delivered;
    }
    for (counter, total, delivered, kind) in
        [("sent", sent, remote_delivered, "remote"), ("local", local, local_delivered, "local")]
    {
        if total > delivered {
            findings.add(end_t, StatsRule::Totals, || {
                (
                    None,
                    format!(
                        "the sum of {counter} over all node lives ≤ {kind} events delivered ({delivered})"
                    ),
                    format!("the Stats say {counter} = {total} in all"),
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use shipsim_trace::Rule;

    #[test]
    fn clean_run_holds() {
        assert_eq!(check(&clean_run()), vec![]);
    }

    fn rule_set(violations: &[Violation]) -> Vec<Rule> {
        let mut rules: Vec<Rule> = violations.iter().map(|v| v.rule).collect();
        rules.sort();
        rules.dedup();
        rules
    }

    #[test]
    fn each_shipper_counter_off_by_one() {
        type Change = fn(&mut ShipperCounters);
        let cases: [(StatsRule, Change); 5] = [
            (StatsRule::Sent, |s| s.sent += 1),
            (StatsRule::Local, |s| s.local += 1),
            (StatsRule::NoRoute, |s| s.no_route += 1),
            (StatsRule::SendFailures, |s| s.send_failures += 1),
            (StatsRule::Ambiguous, |s| s.ambiguous -= 1),
        ];
        for (rule, change) in cases {
            // n2's first life has ambiguous = 1; n1's life has the others.
            let (node, life) = if rule == StatsRule::Ambiguous { ("n2", 1) } else { ("n1", 1) };
            let records = changed(clean_run(), stats_of(node, life), |r| {
                if let Record::Stats { shipper, .. } = r {
                    change(shipper);
                }
            });
            let violations = check(&records);
            let mut want: Vec<Rule> = vec![StatsRule::Attempts.into(), rule.into()];
            want.sort();
            // `totals` may also see an extra `sent`.
            let got: Vec<Rule> =
                rule_set(&violations).into_iter().filter(|r| *r != StatsRule::Totals).collect();
            assert_eq!(got, want, "{rule}: {violations:#?}");
            let v = violations.iter().find(|v| v.rule == rule).unwrap();
            assert_eq!(v.invariant(), Invariant::Stats);
            assert!(v.expected.starts_with(&format!("{node} life {life}: ")), "{}", v.expected);
        }
    }

    #[test]
    fn a_no_route_counted_as_a_send_failure() {
        // n1 b3 ([8, 9]) ended `no-route`: its two events belong in `no_route`. Moving them to
        // `send_failures` keeps `attempts` right, so only the two counters' rules see it.
        let records = changed(clean_run(), stats_of("n1", 1), |r| {
            if let Record::Stats { shipper, .. } = r {
                shipper.no_route -= 2;
                shipper.send_failures += 2;
            }
        });
        let violations = check(&records);
        assert_eq!(rule_set(&violations), [StatsRule::NoRoute, StatsRule::SendFailures]);
        let v = violations.iter().find(|v| v.rule == StatsRule::NoRoute).unwrap();
        assert!(
            v.expected.contains("no_route = 2 (unshipped events of its calls that failed with no-route)"),
            "{}",
            v.expected
        );
        assert!(v.actual.contains("no_route = 0"), "{}", v.actual);
    }

    #[test]
    fn a_batch_cut_short_by_a_crash_counts_nowhere() {
        // n2 b2 ([13]) never returned: counting it in life 1 is wrong.
        let records = changed(clean_run(), stats_of("n2", 1), |r| {
            if let Record::Stats { shipper, .. } = r {
                shipper.ambiguous += 1;
            }
        });
        assert_eq!(rule_set(&check(&records)), [StatsRule::Ambiguous, StatsRule::Attempts]);
    }

    #[test]
    fn received_and_sink_mismatch() {
        let received = changed(clean_run(), stats_of("n1", 1), |r| {
            if let Record::Stats { received, .. } = r {
                *received += 1;
            }
        });
        let v = only(&check(&received), StatsRule::Received);
        assert!(v.expected.contains("received = 3"), "{}", v.expected);
        assert!(v.actual.contains("received = 4"), "{}", v.actual);

        // n1's local deliveries count in sink, not in received.
        let sink = changed(clean_run(), stats_of("n1", 1), |r| {
            if let Record::Stats { sink, .. } = r {
                *sink -= 2;
            }
        });
        assert!(only(&check(&sink), StatsRule::Sink).expected.contains("sink = 5"));
    }

    #[test]
    fn missing_stats_for_a_life() {
        let records = without(clean_run(), stats_of("n2", 2));
        let v = only(&check(&records), StatsRule::MissingStats);
        assert!(v.expected.contains("life 2 of n2"), "{}", v.expected);
        let records = without(clean_run(), stats_of("n2", 1));
        assert!(only(&check(&records), StatsRule::MissingStats).expected.contains("life 1 of n2"));
    }

    #[test]
    fn counters_never_decrease_within_a_life() {
        let stats = |t, retransmits| Record::Stats {
            t,
            node: "n2".into(),
            life: 2,
            shipper: Box::default(),
            received: 1,
            duplicates_dropped: 0,
            retransmits,
            sink: 1,
        };
        let agreeing = with_after(clean_run(), ship_end_of("n1", 4), stats(250 * MS, 0));
        assert_eq!(check(&agreeing), vec![], "a mid-life Stats agrees with the trace so far");
        // The final Stats of n2 life 2 says retransmits = 0.
        let decreasing = with_after(clean_run(), ship_end_of("n1", 4), stats(250 * MS, 5));
        let v = only(&check(&decreasing), StatsRule::Monotone);
        assert_eq!(v.t, 400 * MS);
        assert!(v.actual.contains("retransmits was 5"), "{}", v.actual);
    }

    #[test]
    fn totals_balance_at_the_end() {
        // A lost Ok'd event: n1's sent counts it, no delivery exists. n2's
        // receiver counters agree with its deliveries, so only totals see it.
        let records = without(clean_run(), delivery_of(2, "n2", 1));
        let records = changed(records, stats_of("n2", 1), |r| {
            if let Record::Stats { received, sink, .. } = r {
                *received -= 1;
                *sink -= 1;
            }
        });
        let v = only(&check(&records), StatsRule::Totals);
        assert!(v.expected.contains("remote events delivered (6)"), "{}", v.expected);
        assert!(v.actual.contains("sent = 7"), "{}", v.actual);
    }
}
