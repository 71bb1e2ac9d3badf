//! [`Findings`]: where a checker reports what it found. It counts every violation, keeps the
//! [`MAX_PER_RULE`] earliest of each rule, builds the text of only those, and drops the
//! rules the run cannot check (a transport without acks, a trace without timing), so that a
//! checker never has to know which of its rules were skipped.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use shipsim_trace::{EventRef, Invariant, Micros, Rule, Violation};

/// At most this many violations are reported per rule; the summary counts the rest.
pub const MAX_PER_RULE: usize = 20;

/// One invariant's findings.
pub(crate) struct Findings {
    invariant: Invariant,
    seq: u64,
    skipped: BTreeSet<Rule>,
    rules: BTreeMap<Rule, Found>,
}

#[derive(Default)]
struct Found {
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

impl Findings {
    /// Findings of `invariant`, ignoring the rules in `skipped`.
    pub(crate) fn new(invariant: Invariant, skipped: impl IntoIterator<Item = Rule>) -> Self {
        Findings { invariant, seq: 0, skipped: skipped.into_iter().collect(), rules: BTreeMap::new() }
    }

    /// Reports a violation of `rule` at `t`; `describe` gives its event,
    /// expected and actual text, and runs only if the violation is kept.
    pub(crate) fn add(
        &mut self,
        t: Micros,
        rule: impl Into<Rule>,
        describe: impl FnOnce() -> (Option<EventRef>, String, String),
    ) {
        let rule = rule.into();
        debug_assert_eq!(rule.invariant(), self.invariant, "{rule} reported as {}", self.invariant);
        if self.skipped.contains(&rule) {
            return;
        }
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
        entry.kept.push(Kept { t, seq, violation: Violation { t, rule, event, expected, actual } });
    }

    /// Whether any violation was reported.
    pub(crate) fn any(&self) -> bool {
        !self.rules.is_empty()
    }

    /// The kept violations in (time, order found) order, and every rule's count.
    pub(crate) fn finish(self) -> (Vec<Violation>, BTreeMap<Rule, u64>) {
        let mut kept: Vec<Kept> = Vec::new();
        let mut counts = BTreeMap::new();
        for (rule, entry) in self.rules {
            counts.insert(rule, entry.count);
            kept.extend(entry.kept);
        }
        kept.sort();
        (kept.into_iter().map(|k| k.violation).collect(), counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipsim_trace::{DeliveryRule, StatsRule};

    #[test]
    fn keeps_the_earliest_whatever_order_they_come_in() {
        let mut findings = Findings::new(Invariant::Delivery, []);
        let mut built = 0;
        for t in (0..100u64).rev() {
            findings.add(t, DeliveryRule::NoLoss, || {
                built += 1;
                (None, String::new(), t.to_string())
            });
        }
        let (kept, counts) = findings.finish();
        assert_eq!(counts[&Rule::Delivery(DeliveryRule::NoLoss)], 100);
        let times: Vec<u64> = kept.iter().map(|v| v.t).collect();
        assert_eq!(times, (0..MAX_PER_RULE as u64).collect::<Vec<_>>());
        assert_eq!(built, 100, "in reverse order every one is, for a moment, among the earliest");

        let mut findings = Findings::new(Invariant::Delivery, []);
        let mut built = 0;
        for t in 0..100u64 {
            findings.add(t, DeliveryRule::NoLoss, || {
                built += 1;
                (None, String::new(), String::new())
            });
        }
        assert_eq!(built, MAX_PER_RULE, "text is built only for the kept ones");
    }

    #[test]
    fn a_skipped_rule_is_not_counted() {
        let mut findings = Findings::new(Invariant::Stats, [StatsRule::Received.into()]);
        findings.add(1, StatsRule::Received, || (None, String::new(), String::new()));
        assert!(!findings.any());
        findings.add(1, StatsRule::Sink, || (None, String::new(), String::new()));
        assert_eq!(findings.finish().1.len(), 1);
    }
}
