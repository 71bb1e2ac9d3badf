//! `shipsim compare`: what a simulated and a real run of the same scenario and seed did, side
//! by side, with every divergence marked. A pure function of the two traces.
//!
//! A verdict diverges when it differs (held, violated, skipped). A figure diverges when the
//! larger of the two is more than [`FACTOR`] times the smaller and they differ by more than
//! its floor ([`COUNT_FLOOR`] events or calls, [`TIME_FLOOR_US`] of time): small counts and
//! sub-millisecond times differ between any two runs and say nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use shipsim_check::{CheckSummary, Status};
use shipsim_trace::{Counts, Invariant, Micros, Outcome, Record};

/// How many times larger one figure may be than the other before it is a divergence.
pub const FACTOR: f64 = 3.0;
/// Counts closer than this never diverge.
pub const COUNT_FLOOR: u64 = 10;
/// Times closer than this (microseconds) never diverge.
pub const TIME_FLOOR_US: u64 = 5_000;

/// The figures `compare` shows for one run.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Each invariant's verdict: `held`, `violated: N` or `skipped`.
    pub verdicts: Vec<(Invariant, String)>,
    /// Events delivered.
    pub deliveries: u64,
    /// Frames resent (from the lives whose counters were read).
    pub retransmits: u64,
    /// Duplicates receivers dropped (idem).
    pub duplicates_dropped: u64,
    /// Ship calls that ended `ambiguous`.
    pub ambiguous: u64,
    /// Ship calls refused by their receiver (`refused`).
    pub refused: u64,
    /// Delivery latency (first delivery minus first ship), p50 and p99.
    pub latency: Option<(Micros, Micros)>,
    /// Recovery after each heal (first delivery on each healed pair after it), p50 and p99.
    pub recovery: Option<(Micros, Micros)>,
}

impl Figures {
    /// The figures of a run's trace and checked summary.
    pub fn of(records: &[Record], summary: &CheckSummary) -> Figures {
        let counts = Counts::of(records);
        let verdicts = summary.results.iter().map(|r| (r.invariant, verdict(&r.status, r.total()))).collect();
        let outcomes = |want: Outcome| {
            let ends =
                records.iter().filter(|r| matches!(r, Record::ShipEnd { outcome, .. } if *outcome == want));
            ends.count() as u64
        };
        Figures {
            verdicts,
            deliveries: counts.delivered,
            retransmits: counts.retransmits,
            duplicates_dropped: counts.duplicates_dropped,
            ambiguous: outcomes(Outcome::Ambiguous),
            refused: outcomes(Outcome::Refused),
            latency: percentiles(latencies(records)),
            recovery: percentiles(recoveries(records)),
        }
    }
}

fn verdict(status: &Status, total: u64) -> String {
    match status {
        Status::Held => "held".to_owned(),
        Status::Violated => format!("violated: {total}"),
        Status::Skipped(_) => "skipped".to_owned(),
    }
}

/// Each event's first delivery minus its first shipment.
fn latencies(records: &[Record]) -> Vec<Micros> {
    let mut shipped: BTreeMap<u64, Micros> = BTreeMap::new();
    let mut out = Vec::new();
    for record in records {
        match record {
            Record::ShipBegin { t, events, local: false, .. } => {
                for e in events {
                    shipped.entry(e.id).or_insert(*t);
                }
            }
            Record::Deliver { t, id: Some(id), .. } => {
                if let Some(sent) = shipped.remove(id) {
                    out.push(t.saturating_sub(sent));
                }
            }
            _ => {}
        }
    }
    out
}

/// For each heal and each pair it healed, the time to the first delivery on that pair after
/// it (pairs nothing crossed afterwards give no sample).
fn recoveries(records: &[Record]) -> Vec<Micros> {
    let mut waiting: BTreeMap<(String, String), Micros> = BTreeMap::new();
    let mut out = Vec::new();
    for record in records {
        match record {
            Record::Fault { t, links, .. } => {
                for [from, to] in &links.healed {
                    waiting.insert((from.to_string(), to.to_string()), *t);
                }
            }
            Record::Deliver { t, node, source, .. } => {
                if let Some(healed) = waiting.remove(&(source.to_string(), node.to_string())) {
                    out.push(t.saturating_sub(healed));
                }
            }
            _ => {}
        }
    }
    out
}

fn percentiles(mut samples: Vec<Micros>) -> Option<(Micros, Micros)> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Some((at(0.5), at(0.99)))
}

/// Whether two figures diverge (see the module's rule).
fn diverges(a: u64, b: u64, floor: u64) -> bool {
    let (lo, hi) = (a.min(b), a.max(b));
    hi - lo > floor && hi as f64 > lo as f64 * FACTOR
}

/// The side-by-side table of one seed: `sim` and `real` (either may be an error line instead),
/// with `<< diverges` at every divergence; returns the table and how many divergences it marks.
pub fn table(title: &str, sim: Result<&Figures, &str>, real: Result<&Figures, &str>) -> (String, usize) {
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    let _ = writeln!(out, "  {:<28} {:>16} {:>16}", "", "simulated", "real");
    let (sim, real) = match (sim, real) {
        (Ok(sim), Ok(real)) => (sim, real),
        (sim, real) => {
            let show = |r: Result<&Figures, &str>| if r.is_ok() { "ran" } else { "not run" };
            let _ = writeln!(out, "  {:<28} {:>16} {:>16}  << diverges", "run", show(sim), show(real));
            for (side, why) in [("simulated", sim.err()), ("real", real.err())] {
                if let Some(why) = why {
                    let _ = writeln!(out, "    {side}: {why}");
                }
            }
            return (out, 1);
        }
    };
    let mut marks = 0;
    let mut row = |name: &str, a: String, b: String, differs: bool| {
        let mark = if differs { "  << diverges" } else { "" };
        marks += usize::from(differs);
        let _ = writeln!(out, "  {name:<28} {a:>16} {b:>16}{mark}");
    };
    for ((invariant, a), (_, b)) in sim.verdicts.iter().zip(&real.verdicts) {
        row(invariant.as_str(), a.clone(), b.clone(), a != b);
    }
    let counts = [
        ("deliveries", sim.deliveries, real.deliveries),
        ("retransmits", sim.retransmits, real.retransmits),
        ("duplicates dropped", sim.duplicates_dropped, real.duplicates_dropped),
        ("ambiguous calls", sim.ambiguous, real.ambiguous),
        ("refused calls", sim.refused, real.refused),
    ];
    for (name, a, b) in counts {
        row(name, a.to_string(), b.to_string(), diverges(a, b, COUNT_FLOOR));
    }
    let times = [
        ("delivery latency", sim.latency, real.latency),
        ("recovery after heal", sim.recovery, real.recovery),
    ];
    for (name, a, b) in times {
        for (q, pick) in [("p50", 0), ("p99", 1)] {
            let get = |x: Option<(Micros, Micros)>| x.map(|(p50, p99)| if pick == 0 { p50 } else { p99 });
            let show = |x: Option<Micros>| {
                x.map_or_else(|| "-".to_owned(), |us| format!("{:.1}ms", us as f64 / 1e3))
            };
            let differs = matches!((get(a), get(b)), (Some(x), Some(y)) if diverges(x, y, TIME_FLOOR_US));
            row(&format!("{name} {q}"), show(get(a)), show(get(b)), differs);
        }
    }
    (out, marks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_diverges_past_the_factor_and_the_floor() {
        assert!(!diverges(1, 9, COUNT_FLOOR), "under the floor");
        assert!(!diverges(100, 250, COUNT_FLOOR), "within the factor");
        assert!(diverges(10, 52, COUNT_FLOOR));
        assert_eq!(percentiles(vec![5, 1, 3]), Some((3, 5)));
        assert_eq!(percentiles(Vec::new()), None);
    }
}
