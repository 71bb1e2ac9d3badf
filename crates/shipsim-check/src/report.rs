//! The text rendering of a verdict: each violation with its event, what was expected and
//! what happened, and the faults that came before it. The data ([`crate::CheckSummary`]) is
//! kept apart from this rendering, which only reads it.

use std::collections::VecDeque;
use std::fmt::Write as _;

use shipsim_trace::{Micros, Record, Violation, fmt_t};

/// The last `n` faults applied at or before `t`, oldest first, as the trace spells them
/// (`{at: 2s, crash: n2}`).
pub fn faults_before(records: &[Record], t: Micros, n: usize) -> Vec<String> {
    let mut last: VecDeque<&str> = VecDeque::with_capacity(n + 1);
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

/// What a violation's report quotes of a trace ([`faults_before`]), kept from the trace as it
/// goes by, so that a long run or trace file need not be kept to explain its violations: its
/// `fault` records, each after a time marker (a `phase` record) standing for the latest record
/// before it whose time is past every kept one, so that the scan stops where it would stop
/// over the whole trace.
#[derive(Debug, Default)]
pub struct Quoted {
    kept: Vec<Record>,
    /// The latest time among `kept`.
    kept_t: Micros,
    /// The latest time past `kept_t` since the last kept record, if any.
    latest: Option<Micros>,
}

impl Quoted {
    /// The next record of the trace.
    pub fn feed(&mut self, record: &Record) {
        match record {
            Record::Fault { .. } => self.keep(record),
            Record::Violation(_) => {}
            other => {
                if other.t() > self.latest.unwrap_or(self.kept_t) {
                    self.latest = Some(other.t());
                }
            }
        }
    }

    /// Keeps `record`, the next record of the trace, whatever its kind, for a reader of its
    /// own (a sweep reads each fault's effect). A report reads the same faults: any records of
    /// the trace, kept in their order, leave the scan's stopping place between the same two
    /// faults.
    pub fn keep(&mut self, record: &Record) {
        if let Some(t) = self.latest.take() {
            self.kept.push(Record::Phase { t, phase: shipsim_trace::Phase::Faults });
            self.kept_t = self.kept_t.max(t);
        }
        self.kept_t = self.kept_t.max(record.t());
        self.kept.push(record.clone());
    }

    /// The records kept: [`render_violation`] over them reads what it reads over the whole
    /// trace.
    pub fn into_records(self) -> Vec<Record> {
        self.kept
    }
}

/// One violation: the invariant, the event, expected and actual, the faults before it.
pub fn render_violation(v: &Violation, records: &[Record]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{} violated ({}) at {}", v.invariant(), v.rule.as_str(), fmt_t(v.t));
    if let Some(e) = &v.event {
        let _ = writeln!(out, "  event    {} (node {}, batch {}, index {})", e.id, e.node, e.batch, e.index);
    }
    let _ = writeln!(out, "  expected {}", v.expected);
    let _ = writeln!(out, "  actual   {}", v.actual);
    let faults = faults_before(records, v.t, 3);
    if faults.is_empty() {
        let _ = writeln!(out, "  faults before it: none");
    } else {
        let _ = writeln!(out, "  faults before it:");
        for fault in faults {
            let _ = writeln!(out, "    {fault}");
        }
    }
    out
}

/// `, transport tcp`: what a header adds after the seed when the trace's `Start` names the
/// transport the run ran on (empty when it names none).
pub fn transport_suffix(records: &[Record]) -> String {
    match records.first() {
        Some(Record::Start(start)) if !start.transport_name.is_empty() => {
            format!(", transport {}", start.transport_name)
        }
        _ => String::new(),
    }
}

/// `text` cut to at most `max` bytes (at a character boundary), with `…` when cut: the one
/// truncator of every report and diagram.
pub fn truncate(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

/// A payload short enough for a report line, in backticks, with its length when cut.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 120;
    match truncate(text, MAX) {
        std::borrow::Cow::Borrowed(whole) => format!("`{whole}`"),
        cut => format!("`{cut}` ({} bytes)", text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report quotes the same faults from the kept records as from the whole trace, at any
    /// time, time going back in the trace included.
    #[test]
    fn the_quoted_records_give_the_faults_the_whole_trace_would() {
        use shipsim_trace::{FaultAction, HealTarget, Phase, Start, TraceWriter};
        let mut trace = TraceWriter::new(Start::new("ctx", &["n1", "n2"], 1_000));
        trace.fault(10, "{at: 10us, crash: n2}", FaultAction::Crash("n2".into()));
        trace.phase(50, Phase::Faults).phase(30, Phase::Faults);
        trace.fault(40, "{at: 40us, heal: all}", FaultAction::Heal(HealTarget::All));
        trace.phase(20, Phase::Settle);
        trace.fault(60, "{at: 60us, restart: n2}", FaultAction::Restart("n2".into()));
        trace.phase(70, Phase::End);
        let records = trace.records();
        let mut quoted = Quoted::default();
        records.iter().for_each(|record| quoted.feed(record));
        let kept = quoted.into_records();
        // Any other records kept as well, in their order: the same faults.
        let mut quoted = Quoted::default();
        for record in records {
            match record {
                Record::Phase { phase: Phase::Settle | Phase::End, .. } => quoted.keep(record),
                _ => quoted.feed(record),
            }
        }
        let with_more = quoted.into_records();
        for t in 0..80 {
            for n in 1..4 {
                assert_eq!(faults_before(&kept, t, n), faults_before(records, t, n), "at {t}, {n} faults");
                assert_eq!(faults_before(&with_more, t, n), faults_before(records, t, n), "at {t}, {n}");
            }
        }
        assert!(kept.len() < records.len());
    }
    use crate::fixtures::*;

    #[test]
    fn faults_before_a_time() {
        let records = clean_run();
        assert_eq!(faults_before(&records, 50 * MS, 5), Vec::<String>::new());
        assert_eq!(faults_before(&records, 100 * MS, 5), ["{at: 100ms, crash: n2}"]);
        assert_eq!(
            faults_before(&records, 400 * MS, 5),
            ["{at: 100ms, crash: n2}", "{at: 200ms, restart: n2}"]
        );
        assert_eq!(faults_before(&records, 400 * MS, 1), ["{at: 200ms, restart: n2}"]);
        assert_eq!(faults_before(&records, 400 * MS, 0), Vec::<String>::new());
    }

    #[test]
    fn the_header_names_the_transport_when_the_trace_does() {
        let mut records = Tb::new(&["n1"]).build();
        assert_eq!(transport_suffix(&records), ", transport tcp");
        let Record::Start(start) = &mut records[0] else { panic!("a Start first") };
        start.transport_name.clear();
        assert_eq!(transport_suffix(&records), "");
        assert_eq!(transport_suffix(&[]), "");
    }

    #[test]
    fn clipping_keeps_characters_whole() {
        assert_eq!(clip("short"), "`short`");
        let long = "é".repeat(100);
        let clipped = clip(&long);
        assert!(clipped.ends_with("…` (200 bytes)"), "{clipped}");
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}
