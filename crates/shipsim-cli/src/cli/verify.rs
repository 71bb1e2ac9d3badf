//! `shipsim verify TRACE.jsonl`: every checker over a trace file, with no
//! simulation. The trace's own `violation` records are the verdict of the
//! run that wrote it, not facts, so they are set aside and the invariants
//! are computed afresh.

use std::path::Path;

use shipsim::report;
use shipsim_trace::Record;

use super::ExitStatus;
use super::stdout::{out, outln};

/// `shipsim verify`.
pub(crate) fn verify(path: &Path) -> ExitStatus {
    let mut records = match shipsim_trace::read_file(path) {
        Ok(records) => records,
        Err(err) => {
            eprintln!("error: {err}");
            return ExitStatus::BadInput;
        }
    };
    let recorded = records.iter().filter(|r| matches!(r, Record::Violation(_))).count();
    records.retain(|r| !matches!(r, Record::Violation(_)));
    let (scenario, seed) = match &records[0] {
        Record::Start(start) => (start.scenario.clone(), start.seed),
        _ => unreachable!("shipsim_trace::read_file checks the first record is `start`"),
    };
    let transport = shipsim_check::transport_suffix(&records);
    outln!(
        "trace {}: scenario {scenario}, seed {seed}{transport}, {} records",
        path.display(),
        records.len()
    );
    if recorded > 0 {
        outln!("  ({recorded} violation records of the run that wrote it set aside: re-checked below)");
    }
    let summary = shipsim_check::summarize(&records);
    for line in summary.to_string().lines() {
        outln!("  {line}");
    }
    let violations = summary.violations();
    if violations.is_empty() {
        outln!("PASS");
        return ExitStatus::Pass;
    }
    for violation in violations.iter().take(report::SHOWN_VIOLATIONS) {
        out!("{}", shipsim_check::render_violation(violation, &records));
    }
    if violations.len() > report::SHOWN_VIOLATIONS {
        outln!("  … and {} more violations", violations.len() - report::SHOWN_VIOLATIONS);
    }
    outln!("FAIL");
    ExitStatus::Fail
}
