//! `shipsim verify TRACE.jsonl`: every checker over a trace file, with no
//! simulation. The trace's own `violation` records are the verdict of the
//! run that wrote it, not facts, so they are set aside and the invariants
//! are computed afresh.
//!
//! The file is read line by line into the checkers ([`shipsim_check::Online`]): what stays in
//! memory is what the checkers keep, and the few records a report of a violation quotes
//! ([`shipsim_check::Quoted`]), not the trace.

use std::path::Path;

use shipsim::report;
use shipsim_trace::Record;

use super::ExitStatus;
use super::stdout::{out, outln};

/// `shipsim verify`.
pub(crate) fn verify(path: &Path) -> ExitStatus {
    let mut online = shipsim_check::Online::new();
    let (mut quoted, mut recorded, mut count) = (shipsim_check::Quoted::default(), 0usize, 0usize);
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
        quoted.feed(&record);
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
    let quoted = quoted.into_records();
    for violation in violations.iter().take(report::SHOWN_VIOLATIONS) {
        out!("{}", shipsim_check::render_violation(violation, &quoted));
    }
    if violations.len() > report::SHOWN_VIOLATIONS {
        outln!("  … and {} more violations", violations.len() - report::SHOWN_VIOLATIONS);
    }
    outln!("FAIL");
    ExitStatus::Fail
}
