//! A run's counts, drawn from its records in one pass: the text report and
//! the diagram's header both print these, so they cannot disagree. Also the
//! one way simulated time is printed.

use std::collections::BTreeMap;

use crate::{LifeState, Micros, Outcome, Record};

/// Counts drawn from a run's records.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counts {
    /// Events handed to `ship_batch` (local and remote).
    pub routed: u64,
    /// Of those, to the sender itself.
    pub local: u64,
    /// Deliveries recorded by sinks (duplicates included).
    pub delivered: u64,
    /// `ship_batch` calls.
    pub batches: u64,
    /// `ship_batch` calls that returned Ok.
    pub batches_ok: u64,
    /// Frames resent by the transports.
    pub retransmits: u64,
    /// Duplicates the receivers dropped.
    pub duplicates_dropped: u64,
    /// Fault records (the settle phase's healing included).
    pub faults: u64,
    /// Process starts after the first (restarts).
    pub restarts: u64,
    /// Scripted faults whose effect the trace records (`fault-effect` records).
    pub faults_judged: u64,
    /// Of those, the faults that did nothing.
    pub faults_idle: u64,
    /// The rate the workload asked for (events/s per sending node; 0 if unknown).
    pub rate_asked: f64,
    /// The sending node with the lowest achieved rate, and that rate.
    pub slowest: Option<(String, f64)>,
    /// The transport the `start` record names (empty when it names none).
    pub transport: String,
}

/// How fast a node routed: events over the span from its first call to
/// its last, plus the interval the last call's events take at the asked rate.
#[derive(Debug, Default)]
struct Pace {
    first: Micros,
    last: Micros,
    last_events: u64,
    events: u64,
}

/// [`Counts`] taken in one record at a time, as a run makes them: [`Counts::of`] is this over
/// a slice, so a run that keeps no record counts the same.
#[derive(Debug, Default)]
pub struct Tally {
    counts: Counts,
    paces: BTreeMap<String, Pace>,
}

impl Tally {
    /// Takes in the next record.
    pub fn feed(&mut self, record: &Record) {
        let s = &mut self.counts;
        match record {
            Record::Start(start) => {
                s.rate_asked = start.rate;
                s.transport.clone_from(&start.transport_name);
            }
            Record::ShipBegin { t, node, local, events, .. } => {
                if !self.paces.contains_key(node.as_str()) {
                    self.paces.insert(node.to_string(), Pace { first: *t, ..Pace::default() });
                }
                let pace = self.paces.get_mut(node.as_str()).expect("inserted above");
                if pace.last != *t || pace.events == 0 {
                    pace.last_events = 0;
                }
                pace.last = *t;
                pace.last_events += events.len() as u64;
                pace.events += events.len() as u64;
                s.routed += events.len() as u64;
                if *local {
                    s.local += events.len() as u64;
                }
                s.batches += 1;
            }
            Record::ShipEnd { outcome, .. } => s.batches_ok += u64::from(*outcome == Outcome::Ok),
            Record::Deliver { .. } => s.delivered += 1,
            Record::Stats { retransmits, duplicates_dropped, .. } => {
                s.retransmits += retransmits;
                s.duplicates_dropped += duplicates_dropped;
            }
            Record::Fault { .. } => s.faults += 1,
            Record::FaultEffect(effect) => {
                s.faults_judged += 1;
                s.faults_idle += u64::from(!effect.effect);
            }
            Record::Life { life, state: LifeState::Up, .. } if *life > 1 => s.restarts += 1,
            _ => {}
        }
    }

    /// The counts of every record taken in.
    pub fn counts(&self) -> Counts {
        let mut s = self.counts.clone();
        if s.rate_asked > 0.0 {
            s.slowest = self
                .paces
                .iter()
                .map(|(node, p)| {
                    let span = (p.last - p.first) as f64 / 1e6 + p.last_events as f64 / s.rate_asked;
                    (node.to_string(), p.events as f64 / span.max(1e-9))
                })
                .min_by(|a, b| a.1.total_cmp(&b.1));
        }
        s
    }
}

impl Counts {
    /// Tallies `records`.
    pub fn of(records: &[Record]) -> Self {
        let mut tally = Tally::default();
        for record in records {
            tally.feed(record);
        }
        tally.counts()
    }

    /// The line saying the workload fell short of its rate (by more than
    /// 10%: a rate is a schedule, met up to the grain of its calls), if it did.
    pub fn rate_shortfall(&self) -> Option<String> {
        let (node, achieved) = self.slowest.as_ref()?;
        (*achieved < 0.9 * self.rate_asked).then(|| {
            format!(
                "workload rate {}/s asked, {achieved:.0}/s achieved by {node} (calls slower than the schedule, or time spent down)",
                self.rate_asked
            )
        })
    }
}

/// Simulated time as every report, violation and diagram prints it: seconds,
/// exact to the microsecond, trailing zeros dropped (`1.25s`, `0.0003s`, `0s`).
pub fn fmt_t(t: Micros) -> String {
    let frac = format!("{:06}", t % 1_000_000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { format!("{}s", t / 1_000_000) } else { format!("{}.{frac}s", t / 1_000_000) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FaultAction, Phase};

    #[test]
    fn time_is_exact_and_short() {
        assert_eq!(fmt_t(0), "0s");
        assert_eq!(fmt_t(1_250_000), "1.25s");
        assert_eq!(fmt_t(300), "0.0003s");
        assert_eq!(fmt_t(12_000_345), "12.000345s");
    }

    #[test]
    fn every_fault_record_counts_the_settle_phase_included() {
        let fault = |t, action| Record::Fault {
            t,
            fault: String::new(),
            action: Box::new(action),
            links: Default::default(),
        };
        let records = vec![
            Record::Phase { t: 0, phase: Phase::Faults },
            fault(1, FaultAction::Crash("n2".into())),
            Record::Life { t: 1, node: "n2".into(), life: 1, state: LifeState::Down },
            fault(2, FaultAction::Settle { restarted: vec!["n2".into()], routes: Vec::new() }),
            Record::Life { t: 2, node: "n2".into(), life: 2, state: LifeState::Up },
        ];
        let c = Counts::of(&records);
        assert_eq!((c.faults, c.restarts, c.routed), (2, 1, 0));
    }
}
