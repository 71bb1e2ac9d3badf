//! Invariant checkers: they read a run's trace and say which invariants held.
//!
//! One module per invariant (`delivery`, `ordering`, `stats`, `liveness`,
//! `placement`, whose owners come from an oracle of its own, `oracle`),
//! each with `check(records) -> Vec<Violation>` that checks it strictly, and
//! [`summarize`] / [`check_all`] that check them all the way the run's
//! `Start` record asks (`ordering: none` skips ordering, `stats: ignore`
//! skips stats, `delivery: at-least-once` allows duplicates), plus the
//! well-formedness of the trace itself (invariant `trace`).
//!
//! Every checker works from one shared index built in a single pass (hash
//! lookups by event id and by (node, batch), never iterated), so a check is
//! linear in the trace, and reports at most [`MAX_PER_RULE`] violations per
//! rule (the earliest ones; the summary counts them all). Output order is
//! deterministic: by time, then by the order the checker found them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt;

use crate::trace::{EventRef, ExpectDelivery, ExpectOrdering, ExpectStats, Micros, Record, Start, Violation};
use crate::transport::{LACKS_ACKS, LACKS_COUNTERS, LACKS_TIMING};

pub mod delivery;
mod dense;
mod index;
pub mod liveness;
mod oracle;
pub mod ordering;
pub mod placement;
pub mod recovery;
pub mod stats;

#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(test)]
mod reship_tests;

pub use delivery::DeliveryMode;

use index::Index;

/// At most this many violations are reported per rule; the summary counts the rest.
pub const MAX_PER_RULE: usize = 20;

/// What the run's `Start` record asks the checkers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    /// `exactly-once` or `at-least-once`.
    pub delivery: DeliveryMode,
    /// Whether per-batch ordering is checked (`per-batch`) or not (`none`).
    pub ordering: bool,
    /// Whether stats are checked (`consistent`) or not (`ignore`).
    pub stats: bool,
}

impl Expect {
    /// The expectations of a run; the strictest where `start` is missing.
    pub fn of(start: Option<&Start>) -> Self {
        Expect {
            delivery: match start.map(|s| s.delivery) {
                Some(ExpectDelivery::AtLeastOnce) => DeliveryMode::AtLeastOnce,
                _ => DeliveryMode::ExactlyOnce,
            },
            ordering: start.is_none_or(|s| s.ordering != ExpectOrdering::None),
            stats: start.is_none_or(|s| s.stats != ExpectStats::Ignore),
        }
    }
}

/// Whether an invariant held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Checked, no violation.
    Held,
    /// Checked, at least one violation.
    Violated,
    /// Not checked, and why.
    Skipped(String),
}

/// The outcome of one invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantResult {
    /// `delivery`, `ordering`, `stats`, `liveness` or `trace`.
    pub invariant: &'static str,
    /// Held, violated or skipped.
    pub status: Status,
    /// How the run's expectations relaxed it, if they did.
    pub relaxed: Option<String>,
    /// The violations reported: at most [`MAX_PER_RULE`] per rule, the
    /// earliest, in time order.
    pub violations: Vec<Violation>,
    /// How many violations each rule found, including those not reported.
    pub counts: BTreeMap<String, u64>,
}

impl InvariantResult {
    fn from_sink(sink: Sink, relaxed: Option<String>) -> Self {
        let invariant = sink.invariant;
        let (violations, counts) = sink.finish();
        let status = if counts.is_empty() { Status::Held } else { Status::Violated };
        InvariantResult { invariant, status, relaxed, violations, counts }
    }

    fn skipped(invariant: &'static str, why: String) -> Self {
        InvariantResult {
            invariant,
            status: Status::Skipped(why),
            relaxed: None,
            violations: Vec::new(),
            counts: BTreeMap::new(),
        }
    }

    /// All violations found, including those not reported.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Whether it held (or was skipped).
    pub fn held(&self) -> bool {
        self.status != Status::Violated
    }
}

/// Every invariant's outcome, in a fixed order: delivery, ordering, stats,
/// liveness, placement, trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSummary {
    /// One per invariant.
    pub results: Vec<InvariantResult>,
}

impl CheckSummary {
    /// Whether every invariant held (or was skipped).
    pub fn held(&self) -> bool {
        self.results.iter().all(InvariantResult::held)
    }

    /// The outcome of `invariant`.
    pub fn get(&self, invariant: &str) -> Option<&InvariantResult> {
        self.results.iter().find(|r| r.invariant == invariant)
    }

    /// Every reported violation, in time order (invariant order within one time).
    pub fn violations(&self) -> Vec<Violation> {
        let mut all: Vec<Violation> =
            self.results.iter().flat_map(|r| r.violations.iter().cloned()).collect();
        all.sort_by_key(|v| v.t);
        all
    }
}

impl fmt::Display for CheckSummary {
    /// One line per invariant, e.g. `ordering  violated: 3 (gap 2, swap 1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for result in &self.results {
            write!(f, "{:<9} ", result.invariant)?;
            match &result.status {
                Status::Held => write!(f, "held")?,
                Status::Skipped(why) => write!(f, "skipped ({why})")?,
                Status::Violated => {
                    let rules: Vec<String> =
                        result.counts.iter().map(|(rule, n)| format!("{rule} {n}")).collect();
                    write!(f, "violated: {} ({})", result.total(), rules.join(", "))?;
                }
            }
            if let Some(relaxed) = &result.relaxed {
                write!(f, " [{relaxed}]")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

/// Checks every invariant the way the run's `Start` record asks.
pub fn summarize(records: &[Record]) -> CheckSummary {
    let index = Index::build(records);
    let expect = Expect::of(index.start);
    let mut results = Vec::with_capacity(6);

    let mut sink = Sink::new(delivery::INVARIANT);
    delivery::run(&index, expect.delivery, &mut sink);
    let relaxed = (expect.delivery == DeliveryMode::AtLeastOnce)
        .then(|| "at-least-once: duplicates and redeliveries allowed".to_owned());
    let relaxed = lacking(relaxed, index.start, LACKS_ACKS, "redelivery-after-ack", "reports no acks");
    results.push(InvariantResult::from_sink(sink, relaxed));

    if expect.ordering {
        let mut sink = Sink::new(ordering::INVARIANT);
        ordering::run(&index, &mut sink);
        results.push(InvariantResult::from_sink(sink, None));
    } else {
        results.push(InvariantResult::skipped(ordering::INVARIANT, "expect ordering: none".into()));
    }

    if expect.stats {
        let mut sink = Sink::new(stats::INVARIANT);
        stats::run(&index, &mut sink);
        let relaxed = lacking(None, index.start, LACKS_COUNTERS, "received", "has no counters");
        results.push(InvariantResult::from_sink(sink, relaxed));
    } else {
        results.push(InvariantResult::skipped(stats::INVARIANT, "expect stats: ignore".into()));
    }

    let mut sink = Sink::new(liveness::INVARIANT);
    liveness::run(&index, &mut sink);
    let relaxed =
        lacking(None, index.start, LACKS_TIMING, recovery::RECOVERY, "gave no timing").or_else(|| {
            // Recovery bounds count from the slot's last ack: without acks, skipped too.
            lacking(None, index.start, LACKS_ACKS, recovery::RECOVERY, "reports no acks")
        });
    results.push(InvariantResult::from_sink(sink, relaxed));

    match placement::skipped(&index) {
        Some(why) => results.push(InvariantResult::skipped(placement::INVARIANT, why)),
        None => {
            let mut sink = Sink::new(placement::INVARIANT);
            placement::run(&index, &mut sink);
            results.push(InvariantResult::from_sink(sink, None));
        }
    }

    results.push(InvariantResult::from_sink(index.malformed, None));
    CheckSummary { results }
}

/// `relaxed`, plus a note that `rule` was skipped when the trace's `Start` says the transport
/// lacks `capability`: a rule that cannot be checked is reported, never silently passed.
fn lacking(
    relaxed: Option<String>,
    start: Option<&Start>,
    capability: &str,
    rule: &str,
    why: &str,
) -> Option<String> {
    if !start.is_some_and(|s| s.lacks.iter().any(|l| l == capability)) {
        return relaxed;
    }
    let note = format!("{rule} skipped: the transport {why}");
    Some(match relaxed {
        Some(relaxed) => format!("{relaxed}; {note}"),
        None => note,
    })
}

/// Runs one checker over `records` on its own, whatever the trace's `Start`
/// asks: what each module's `check` does.
fn check_one(
    records: &[Record],
    invariant: &'static str,
    run: impl FnOnce(&Index<'_>, &mut Sink),
) -> Vec<Violation> {
    let index = Index::build(records);
    let mut sink = Sink::new(invariant);
    run(&index, &mut sink);
    sink.into_violations()
}

/// Every reported violation of every invariant the run's `Start` asks for,
/// in time order. See [`summarize`] for the counts.
pub fn check_all(records: &[Record]) -> Vec<Violation> {
    summarize(records).violations()
}

/// The last `n` faults applied at or before `t`, oldest first, as the trace
/// spells them (`{at: 2s, crash: n2}`).
pub fn first_faults_before(records: &[Record], t: Micros, n: usize) -> Vec<String> {
    let mut last: std::collections::VecDeque<&str> = std::collections::VecDeque::with_capacity(n + 1);
    if n == 0 {
        return Vec::new();
    }
    for record in records {
        match record {
            Record::Fault { t: at, fault, .. } if *at <= t => {
                if last.len() == n {
                    last.pop_front();
                }
                last.push_back(fault);
            }
            // Violation records may be stamped earlier than what precedes them;
            // every other record's time never decreases.
            Record::Violation(_) => {}
            other if other.t() > t => break,
            _ => {}
        }
    }
    last.into_iter().map(str::to_owned).collect()
}

/// Simulated time the way reports print it (one formatter for the whole harness).
pub(crate) use crate::trace::fmt_t;

/// A payload short enough for a report line.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 120;
    if text.len() <= MAX {
        return format!("`{text}`");
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("`{}…` ({} bytes)", &text[..end], text.len())
}

/// Collects one invariant's violations: counts every one, keeps the
/// [`MAX_PER_RULE`] earliest of each rule, and builds the text of only those.
pub(crate) struct Sink {
    invariant: &'static str,
    seq: u64,
    rules: BTreeMap<&'static str, Rule>,
}

#[derive(Default)]
struct Rule {
    count: u64,
    kept: BinaryHeap<Kept>,
}

/// A kept violation, ordered by (time, order found): the heap's top is the
/// latest, the first to give way to an earlier one.
struct Kept {
    t: Micros,
    seq: u64,
    violation: Violation,
}

impl PartialEq for Kept {
    fn eq(&self, other: &Self) -> bool {
        (self.t, self.seq) == (other.t, other.seq)
    }
}

impl Eq for Kept {}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.t, self.seq).cmp(&(other.t, other.seq))
    }
}

impl Sink {
    pub(crate) fn new(invariant: &'static str) -> Self {
        Sink { invariant, seq: 0, rules: BTreeMap::new() }
    }

    /// Reports a violation of `rule` at `t`; `describe` gives its event,
    /// expected and actual text, and runs only if the violation is kept.
    pub(crate) fn add(
        &mut self,
        t: Micros,
        rule: &'static str,
        describe: impl FnOnce() -> (Option<EventRef>, String, String),
    ) {
        let seq = self.seq;
        self.seq += 1;
        let entry = self.rules.entry(rule).or_default();
        entry.count += 1;
        if entry.kept.len() >= MAX_PER_RULE {
            match entry.kept.peek() {
                Some(top) if (t, seq) < (top.t, top.seq) => {
                    entry.kept.pop();
                }
                _ => return,
            }
        }
        let (event, expected, actual) = describe();
        let violation = Violation {
            t,
            invariant: self.invariant.to_owned(),
            rule: rule.to_owned(),
            event,
            expected,
            actual,
        };
        entry.kept.push(Kept { t, seq, violation });
    }

    /// The kept violations in (time, order found) order, and every rule's count.
    pub(crate) fn finish(self) -> (Vec<Violation>, BTreeMap<String, u64>) {
        let mut kept: Vec<Kept> = Vec::new();
        let mut counts = BTreeMap::new();
        for (rule, entry) in self.rules {
            counts.insert(rule.to_owned(), entry.count);
            kept.extend(entry.kept);
        }
        kept.sort();
        (kept.into_iter().map(|k| k.violation).collect(), counts)
    }

    /// The kept violations in time order.
    pub(crate) fn into_violations(self) -> Vec<Violation> {
        self.finish().0
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::trace::{FaultAction, HealTarget, Outcome, Phase};

    fn one(build: impl FnOnce(&mut Tb) -> &mut Tb) -> Record {
        build(&mut Tb { records: Vec::new() }).build().remove(0)
    }

    #[test]
    fn clean_run_holds_everything() {
        let records = clean_run();
        assert_eq!(check_all(&records), vec![]);
        let summary = summarize(&records);
        assert!(summary.held());
        let names: Vec<&str> = summary.results.iter().map(|r| r.invariant).collect();
        assert_eq!(names, ["delivery", "ordering", "stats", "liveness", "placement", "trace"]);
        assert!(summary.results.iter().all(|r| r.status == Status::Held || r.invariant == "placement"));
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
        assert_eq!(summary.get("stats").unwrap().total(), 3);
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
        assert!(summary.get("delivery").unwrap().relaxed.as_deref().unwrap().contains("at-least-once"));

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
        assert_eq!(summary.get("ordering").unwrap().status, Status::Skipped("expect ordering: none".into()));
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
        assert!(matches!(summarize(&ignored).get("stats").unwrap().status, Status::Skipped(_)));
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
        let all = ["acks", "counters", "timing"].map(String::from).to_vec();
        let lacking = with_start(off, |s| s.lacks = all);
        assert_eq!(check_all(&lacking), vec![]);
        let summary = summarize(&lacking);
        let relaxed = |invariant: &str| summary.get(invariant).unwrap().relaxed.clone().unwrap_or_default();
        assert_eq!(relaxed("delivery"), "redelivery-after-ack skipped: the transport reports no acks");
        assert_eq!(relaxed("stats"), "received skipped: the transport has no counters");
        assert_eq!(relaxed("liveness"), "recovery skipped: the transport gave no timing");
        assert!(summary.to_string().contains("held [received skipped: the transport has no counters]"));
        // Another stats rule still fires without counters.
        let sink_off = changed(lacking, stats_of("n1", 1), |r| {
            if let Record::Stats { sink, .. } = r {
                *sink += 1;
            }
        });
        assert_eq!(rules(&check_all(&sink_off)), [("stats", "sink")]);
        // A transport with timing but no acks: recovery is skipped, and says why.
        let no_acks = with_start(clean_run(), |s| s.lacks = vec!["acks".into()]);
        let summary = summarize(&no_acks);
        assert_eq!(
            summary.get("liveness").unwrap().relaxed.as_deref(),
            Some("recovery skipped: the transport reports no acks")
        );
        // The TCP transport lacks nothing: no note.
        assert_eq!(summarize(&clean_run()).get("delivery").unwrap().relaxed, None);
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
        assert_eq!(summary.get("delivery").unwrap().counts["no-loss"], 50);
        assert_eq!(summary.get("delivery").unwrap().violations.len(), MAX_PER_RULE);
    }

    #[test]
    fn sink_keeps_the_earliest_whatever_order_they_come_in() {
        let mut sink = Sink::new("x");
        let mut built = 0;
        for t in (0..100u64).rev() {
            sink.add(t, "r", || {
                built += 1;
                (None, String::new(), t.to_string())
            });
        }
        let (kept, counts) = sink.finish();
        assert_eq!(counts["r"], 100);
        let times: Vec<u64> = kept.iter().map(|v| v.t).collect();
        assert_eq!(times, (0..MAX_PER_RULE as u64).collect::<Vec<_>>());
        assert_eq!(built, 100, "in reverse order every one is, for a moment, among the earliest");

        let mut sink = Sink::new("x");
        let mut built = 0;
        for t in 0..100u64 {
            sink.add(t, "r", || {
                built += 1;
                (None, String::new(), String::new())
            });
        }
        assert_eq!(built, MAX_PER_RULE, "text is built only for the kept ones");
    }

    #[test]
    fn faults_before_a_time() {
        let records = clean_run();
        assert_eq!(first_faults_before(&records, 50 * MS, 5), Vec::<String>::new());
        assert_eq!(first_faults_before(&records, 100 * MS, 5), ["{at: 100ms, crash: n2}"]);
        assert_eq!(
            first_faults_before(&records, 400 * MS, 5),
            ["{at: 100ms, crash: n2}", "{at: 200ms, restart: n2}"]
        );
        assert_eq!(first_faults_before(&records, 400 * MS, 1), ["{at: 200ms, restart: n2}"]);
        assert_eq!(first_faults_before(&records, 400 * MS, 0), Vec::<String>::new());
    }

    #[test]
    fn malformed_traces_are_reported_as_such() {
        let unbegun = with_after(
            clean_run(),
            ship_end_of("n1", 1),
            one(|tb| tb.end(14 * MS, "n1", 1, 9, 0, Outcome::Ok)),
        );
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

        let stranger =
            with_after(clean_run(), ship_end_of("n1", 1), one(|tb| tb.ack(14 * MS, "n3", 1, "n2", 1)));
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
        assert_eq!(summary.get("delivery").unwrap().counts["no-loss"], 100);
        assert_eq!(summary.get("delivery").unwrap().violations.len(), MAX_PER_RULE);
    }
}
