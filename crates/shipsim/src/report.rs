//! What a person reads after a run: a short summary, and for a failing run
//! each violation with the event, the faults before it and the command that
//! replays it.

use std::fmt::Write as _;
use std::time::Duration;

use crate::sim::RunResult;
use shipsim_check::render_violation;

/// How many violations the report spells out; the rest are counted.
pub const SHOWN_VIOLATIONS: usize = 5;

/// The full human report of one run. A failing run's report ends with `FAIL`: the caller adds
/// the one line that reruns it (a repro's replay, or its own test's name).
pub fn render(scenario_path: &str, seed: u64, result: &RunResult, wall: Duration) -> String {
    let s = &result.counts;
    let mut out = String::new();
    let transport =
        if s.transport.is_empty() { String::new() } else { format!(", transport {}", s.transport) };
    let _ = writeln!(out, "scenario {scenario_path}, seed {seed}{transport}");
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
    if s.faults_judged > 0 {
        let _ = writeln!(out, "  faults that did nothing: {} of {}", s.faults_idle, s.faults_judged);
    }
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
        out.push_str(&render_violation(violation, result.records_or_kept()));
    }
    if result.violations.len() > SHOWN_VIOLATIONS {
        let _ = writeln!(
            out,
            "  … and {} more violations (see the trace)",
            result.violations.len() - SHOWN_VIOLATIONS
        );
    }
    let _ = writeln!(out, "FAIL");
    out
}
