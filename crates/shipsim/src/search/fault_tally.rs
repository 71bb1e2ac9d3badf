//! Faults by effect over a sweep: for each kind of fault, how often it was applied, how often it
//! had an effect and how often it did nothing (the runner judges each fault, `sim/effect.rs`).
//! A kind that mostly did nothing is a blind spot of the sweep, however green it is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use shipsim_trace::{FaultKind, Record};

/// One kind's counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectTally {
    /// Faults of the kind applied.
    pub applied: usize,
    /// Of those, the ones that did nothing.
    pub idle: usize,
    /// The lowest seed with one that had an effect.
    pub first_effect: Option<u64>,
}

/// Faults by kind and effect over the seeds counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultTally {
    /// Per kind of fault, by name.
    pub kinds: BTreeMap<FaultKind, EffectTally>,
}

impl FaultTally {
    /// Counts the faults of one run of `seed`: each kind, and whether it had an effect.
    pub fn add(&mut self, seed: u64, faults: &[(FaultKind, bool)]) {
        for &(kind, effect) in faults {
            let tally = self.kinds.entry(kind).or_default();
            tally.applied += 1;
            if effect {
                tally.first_effect = Some(tally.first_effect.map_or(seed, |first| first.min(seed)));
            } else {
                tally.idle += 1;
            }
        }
    }

    /// Adds `other`, the tally of other seeds (another shard's), to this one.
    pub fn merge(&mut self, other: &FaultTally) {
        for (kind, theirs) in &other.kinds {
            let ours = self.kinds.entry(*kind).or_default();
            ours.applied += theirs.applied;
            ours.idle += theirs.idle;
            ours.first_effect = match (ours.first_effect, theirs.first_effect) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }

    /// The text: a total, then each kind, those that never had an effect first.
    pub fn render(&self) -> String {
        let applied: usize = self.kinds.values().map(|t| t.applied).sum();
        let idle: usize = self.kinds.values().map(|t| t.idle).sum();
        let mut out = format!("faults by effect: {applied} applied, {idle} did nothing\n");
        let mut kinds: Vec<_> = self.kinds.iter().collect();
        kinds.sort_by_key(|(kind, t)| (t.first_effect.is_some(), kind.as_str()));
        for (kind, t) in kinds {
            let first = t.first_effect.map_or("never".to_owned(), |seed| format!("first: seed {seed}"));
            out.push_str(&format!(
                "  {:<17} {:>5} applied, {:>5} with an effect, {:>5} did nothing ({first})\n",
                kind.as_str(),
                t.applied,
                t.applied - t.idle,
                t.idle
            ));
        }
        out
    }
}

/// Each judged fault of a run's `records`: its kind and whether it had an effect.
pub(crate) fn judged(records: &[Record]) -> Vec<(FaultKind, bool)> {
    let kinds: Vec<FaultKind> = records
        .iter()
        .filter_map(|r| match r {
            Record::Fault { action, .. } => Some(action.kind()),
            _ => None,
        })
        .collect();
    records
        .iter()
        .filter_map(|r| match r {
            Record::FaultEffect(e) => kinds.get(e.fault as usize).map(|kind| (*kind, e.effect)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_that_never_had_an_effect_come_first() {
        let mut tally = FaultTally::default();
        tally.add(4, &[(FaultKind::Crash, true), (FaultKind::Hold, false)]);
        tally.add(2, &[(FaultKind::Crash, false), (FaultKind::Crash, true)]);
        assert_eq!(
            tally.kinds[&FaultKind::Crash],
            EffectTally { applied: 3, idle: 1, first_effect: Some(2) }
        );
        let text = tally.render();
        assert!(text.starts_with("faults by effect: 4 applied, 2 did nothing\n"), "{text}");
        let hold = text.find("hold").expect("listed");
        let crash = text.find("crash").expect("listed");
        assert!(hold < crash, "{text}");
        assert!(text.contains("1 did nothing (never)"), "{text}");
    }
}
