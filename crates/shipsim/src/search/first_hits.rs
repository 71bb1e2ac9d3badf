//! When and where each probe of a run was first hit, read from the run's `life-probes` records
//! (`sim/life_probes.rs`): guided exploration places its faults near the moment a rare probe
//! fired (`guided/moment.rs`), not only near the faults the run already had.

use std::collections::BTreeMap;
use std::time::Duration;

use shipsim_trace::Record;

/// Per probe: the earliest first hit over all node lives, and the node of that life.
pub(crate) type FirstHits = BTreeMap<String, (Duration, String)>;

/// The first hits of `records`' `life-probes`. Of two lives that first hit a probe at the same
/// instant, the earlier record (node, then life order) wins: the records' order is fixed, so the
/// answer is too.
pub(crate) fn first_hits(records: &[Record]) -> FirstHits {
    let mut first = FirstHits::new();
    for record in records {
        let Record::LifeProbes(life) = record else { continue };
        for (name, us) in &life.first_us {
            let at = Duration::from_micros(*us);
            let slot = first.entry(name.to_string()).or_insert_with(|| (at, life.node.to_string()));
            if at < slot.0 {
                *slot = (at, life.node.to_string());
            }
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use shipsim_trace::{LifeProbes, Text};

    use super::*;

    fn life(node: &str, life: u32, first: &[(&str, u64)]) -> Record {
        Record::LifeProbes(Box::new(LifeProbes {
            t: 9_000_000,
            node: Text::from(node),
            life,
            hits: first.iter().map(|(p, _)| (Text::from(*p), 1)).collect(),
            first_us: first.iter().map(|(p, us)| (Text::from(*p), *us)).collect(),
        }))
    }

    /// A probe hit in several lives takes the earliest first hit and that life's node.
    #[test]
    fn the_earliest_life_wins() {
        let records = [
            life("n1", 1, &[("a", 500), ("b", 100)]),
            life("n2", 1, &[("a", 200)]),
            life("n2", 2, &[("a", 900), ("c", 700)]),
        ];
        let first = first_hits(&records);
        assert_eq!(first["a"], (Duration::from_micros(200), "n2".into()));
        assert_eq!(first["b"], (Duration::from_micros(100), "n1".into()));
        assert_eq!(first["c"], (Duration::from_micros(700), "n2".into()));
        assert_eq!(first.len(), 3);
    }
}
