//! `shipsim verify TRACE.jsonl`: every checker over a trace file, with no
//! simulation. The trace's own `violation` records are the verdict of the
//! run that wrote it, not facts, so they are set aside and the invariants
//! are computed afresh.
//!
//! The file is read line by line into the checkers ([`shipsim_check::Online`]): what stays in
//! memory is what the checkers keep, and the few records a report of a violation quotes
//! ([`Context`]), not the trace.

use std::path::Path;

use shipsim::report;
use shipsim_trace::{Micros, Record};

use super::ExitStatus;
use super::stdout::{out, outln};

/// What a violation's report reads of the trace (`shipsim_check::faults_before`): its `fault`
/// records, each after the latest record before it whose time is past every kept one, so that
/// the scan stops where it would stop over the whole trace.
#[derive(Default)]
struct Context {
    kept: Vec<Record>,
    /// The latest time among `kept`.
    kept_t: Micros,
    /// The record since the last kept one with the latest time past `kept_t`, if any.
    latest: Option<Record>,
}

impl Context {
    fn feed(&mut self, record: &Record) {
        match record {
            Record::Fault { .. } => {
                if let Some(latest) = self.latest.take() {
                    self.kept.push(latest);
                }
                self.kept_t = self.kept_t.max(record.t());
                self.kept.push(record.clone());
            }
            Record::Violation(_) => {}
            other => {
                let past = self.latest.as_ref().map_or(self.kept_t, Record::t);
                if other.t() > past {
                    self.latest = Some(other.clone());
                }
            }
        }
    }
}

/// `shipsim verify`.
pub(crate) fn verify(path: &Path) -> ExitStatus {
    let mut online = shipsim_check::Online::new();
    let (mut context, mut recorded, mut count) = (Context::default(), 0usize, 0usize);
    let mut header = None;
    let read = shipsim_trace::read_file_each(path, |record| {
        if matches!(record, Record::Violation(_)) {
            recorded += 1;
            return;
        }
        if let Record::Start(start) = &record
            && header.is_none()
        {
            let transport = shipsim_check::transport_suffix(std::slice::from_ref(&record));
            header = Some((start.scenario.clone(), start.seed, transport));
        }
        count += 1;
        context.feed(&record);
        online.feed(&record);
    });
    if let Err(err) = read {
        eprintln!("error: {err}");
        return ExitStatus::BadInput;
    }
    let (scenario, seed, transport) =
        header.expect("shipsim_trace::read_file_each checks the first record is `start`");
    outln!("trace {}: scenario {scenario}, seed {seed}{transport}, {count} records", path.display());
    if recorded > 0 {
        outln!("  ({recorded} violation records of the run that wrote it set aside: re-checked below)");
    }
    let summary = online.finish();
    for line in summary.to_string().lines() {
        outln!("  {line}");
    }
    let violations = summary.violations();
    if violations.is_empty() {
        outln!("PASS");
        return ExitStatus::Pass;
    }
    for violation in violations.iter().take(report::SHOWN_VIOLATIONS) {
        out!("{}", shipsim_check::render_violation(violation, &context.kept));
    }
    if violations.len() > report::SHOWN_VIOLATIONS {
        outln!("  … and {} more violations", violations.len() - report::SHOWN_VIOLATIONS);
    }
    outln!("FAIL");
    ExitStatus::Fail
}

#[cfg(test)]
mod tests {
    use shipsim_trace::{FaultAction, HealTarget, Phase, Start, TraceWriter};

    use super::*;

    /// A report quotes the same faults from the kept context as from the whole trace, at any
    /// time, time going back in the trace included.
    #[test]
    fn the_context_quotes_the_faults_the_whole_trace_would() {
        let mut trace = TraceWriter::new(Start::new("ctx", &["n1", "n2"], 1_000));
        trace.fault(10, "{at: 10us, crash: n2}", FaultAction::Crash("n2".into()));
        trace.phase(50, Phase::Faults).phase(30, Phase::Faults);
        trace.fault(40, "{at: 40us, heal: all}", FaultAction::Heal(HealTarget::All));
        trace.phase(20, Phase::Settle);
        trace.fault(60, "{at: 60us, restart: n2}", FaultAction::Restart("n2".into()));
        trace.phase(70, Phase::End);
        let records = trace.records();
        let mut context = Context::default();
        for record in records {
            context.feed(record);
        }
        for t in 0..80 {
            for n in 1..4 {
                assert_eq!(
                    shipsim_check::faults_before(&context.kept, t, n),
                    shipsim_check::faults_before(records, t, n),
                    "at {t}, {n} faults"
                );
            }
        }
        assert!(context.kept.len() < records.len());
    }
}
