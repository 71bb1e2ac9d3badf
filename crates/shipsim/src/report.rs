//! What a person reads after a run: a short summary, and for a failing run
//! each violation with the event, the faults before it and the command that
//! replays it.

use std::fmt::Write as _;
use std::time::Duration;

use crate::check;
use crate::runner::RunResult;
use crate::trace::{Record, Violation, fmt_t};

/// How many violations the report spells out; the rest are counted.
pub const SHOWN_VIOLATIONS: usize = 5;

/// Counts drawn from a run's records (the diagram's header prints the same).
pub type Summary = crate::trace::Counts;

/// How to replay a run from the command line.
pub fn replay_command(scenario_path: &str, seed: u64) -> String {
    format!("cargo run --release -p shipsim -- run {scenario_path} --seed {seed}")
}

/// The full human report of one run.
pub fn render(scenario_path: &str, seed: u64, result: &RunResult, wall: Duration) -> String {
    let s = Summary::of(&result.records);
    let mut out = String::new();
    let _ = writeln!(out, "scenario {scenario_path}, seed {seed}{}", transport_suffix(&result.records));
    let _ = writeln!(
        out,
        "  events routed {} ({} local, {} remote), deliveries {}, batches {} ({} ok)",
        s.routed,
        s.local,
        s.routed - s.local,
        s.delivered,
        s.batches,
        s.batches_ok
    );
    let _ = writeln!(
        out,
        "  retransmits {}, duplicates dropped {}, faults applied {}, restarts {}",
        s.retransmits, s.duplicates_dropped, s.faults, s.restarts
    );
    if let Some(line) = s.rate_shortfall() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(
        out,
        "  simulated {:.3}s in {:.3}s wall ({:.0}x)",
        result.simulated.as_secs_f64(),
        wall.as_secs_f64(),
        result.simulated.as_secs_f64() / wall.as_secs_f64().max(1e-9)
    );
    for line in result.summary.to_string().lines() {
        let _ = writeln!(out, "  {line}");
    }
    if result.passed() {
        let _ = writeln!(out, "PASS");
        return out;
    }
    for violation in result.violations.iter().take(SHOWN_VIOLATIONS) {
        out.push_str(&render_violation(violation, &result.records));
    }
    if result.violations.len() > SHOWN_VIOLATIONS {
        let _ = writeln!(
            out,
            "  … and {} more violations (see the trace)",
            result.violations.len() - SHOWN_VIOLATIONS
        );
    }
    let _ = writeln!(out, "FAIL: replay with\n  {}", replay_command(scenario_path, seed));
    out
}

/// `, transport tcp`: what a header adds after the seed when the trace's `Start` names the
/// transport the run ran on (empty for a trace from before it was recorded).
pub fn transport_suffix(records: &[Record]) -> String {
    match records.first() {
        Some(Record::Start(start)) if !start.transport_name.is_empty() => {
            format!(", transport {}", start.transport_name)
        }
        _ => String::new(),
    }
}

/// One violation: the invariant, the event, expected and actual, the faults before it.
pub fn render_violation(v: &Violation, records: &[Record]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{} violated ({}) at {}", v.invariant, v.rule, fmt_t(v.t));
    if let Some(e) = &v.event {
        let _ = writeln!(out, "  event    {} (node {}, batch {}, index {})", e.id, e.node, e.batch, e.index);
    }
    let _ = writeln!(out, "  expected {}", v.expected);
    let _ = writeln!(out, "  actual   {}", v.actual);
    let faults = check::first_faults_before(records, v.t, 3);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixtures::Tb;

    #[test]
    fn the_header_names_the_transport_when_the_trace_does() {
        let mut records = Tb::new(&["n1"]).records;
        assert_eq!(transport_suffix(&records), ", transport tcp");
        let Record::Start(start) = &mut records[0] else { panic!("a Start first") };
        start.transport_name = "grpc".into();
        assert_eq!(transport_suffix(&records), ", transport grpc");
        // A trace from before the name was recorded: the header as it was.
        let Record::Start(start) = &mut records[0] else { panic!("a Start first") };
        start.transport_name.clear();
        assert_eq!(transport_suffix(&records), "");
        assert_eq!(transport_suffix(&[]), "");
    }
}
