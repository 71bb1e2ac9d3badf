//! The coverage ledger of a sweep: which probes of the code under test (`shipper::probe!`) its
//! seeds reached, how many seeds reached each and the first that did, and which pairs of
//! probes one run reached together (the combinations are where bugs live). A green sweep says
//! no invariant failed; the ledger says whether anything rare happened at all.

use std::collections::BTreeMap;

/// How often a probe (or a pair of probes) was reached in a sweep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Seeds whose run reached it.
    pub seeds: usize,
    /// The lowest such seed.
    pub first_seed: Option<u64>,
}

impl Tally {
    fn add(&mut self, seed: u64) {
        self.seeds += 1;
        self.first_seed = Some(self.first_seed.map_or(seed, |first| first.min(seed)));
    }

    /// Adds the seeds another tally of the same probe counted (seeds disjoint from this one's).
    fn absorb(&mut self, other: &Tally) {
        self.seeds += other.seeds;
        self.first_seed = match (self.first_seed, other.first_seed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
}

/// The coverage of a sweep: every declared probe, reached or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    /// Seeds counted.
    pub seeds: usize,
    /// Every probe a simulation can reach (`shipper::probes::simulated`; and any other a run
    /// reached), by name. A real-only probe is not counted as missed by a simulated sweep.
    pub probes: BTreeMap<String, Tally>,
    /// Pairs of probes reached in one run, by their names in order.
    pub pairs: BTreeMap<(String, String), Tally>,
}

impl Default for Ledger {
    fn default() -> Self {
        let probes = shipper::probes::simulated().map(|name| (name.to_owned(), Tally::default())).collect();
        Ledger { seeds: 0, probes, pairs: BTreeMap::new() }
    }
}

impl Ledger {
    /// Counts the run of `seed`, which reached the probes `hits` (by name, any count).
    pub fn add<'a>(&mut self, seed: u64, hits: impl IntoIterator<Item = &'a String>) {
        self.seeds += 1;
        let reached: Vec<&String> = hits.into_iter().collect();
        for (i, a) in reached.iter().enumerate() {
            self.probes.entry((*a).clone()).or_default().add(seed);
            for b in &reached[i + 1..] {
                let pair = if a < b { ((*a).clone(), (*b).clone()) } else { ((*b).clone(), (*a).clone()) };
                self.pairs.entry(pair).or_default().add(seed);
            }
        }
    }

    /// Adds the seeds `other` counted: merged, the ledgers of the shards of a sweep (disjoint
    /// seeds) are the ledger of the whole sweep, whatever the order they are merged in.
    pub fn merge(&mut self, other: &Ledger) {
        self.seeds += other.seeds;
        for (name, tally) in &other.probes {
            self.probes.entry(name.clone()).or_default().absorb(tally);
        }
        for (pair, tally) in &other.pairs {
            self.pairs.entry(pair.clone()).or_default().absorb(tally);
        }
    }

    /// How many probes and how many pairs of probes some counted run reached.
    pub fn reached(&self) -> (usize, usize) {
        (self.probes.values().filter(|t| t.seeds > 0).count(), self.pairs.len())
    }

    /// The probes no counted run reached, in name order.
    pub fn never_reached(&self) -> Vec<&str> {
        self.probes.iter().filter(|(_, t)| t.seeds == 0).map(|(name, _)| name.as_str()).collect()
    }

    /// The ledger as text: probes never reached first, then the rest from the rarest, then the
    /// number of pairs reached and the rarest of them. Nothing depends on the order seeds ran in.
    pub fn render(&self) -> String {
        let reached = self.probes.values().filter(|t| t.seeds > 0).count();
        let mut out = format!(
            "coverage: {reached} of {} probes reached by {} seeds; {} pairs of probes reached in one run\n",
            self.probes.len(),
            self.seeds,
            self.pairs.len()
        );
        for name in self.never_reached() {
            out.push_str(&format!("  never reached  {name}\n"));
        }
        let mut hit: Vec<(&String, &Tally)> = self.probes.iter().filter(|(_, t)| t.seeds > 0).collect();
        hit.sort_by_key(|(name, t)| (t.seeds, name.as_str()));
        for (name, t) in hit {
            out.push_str(&format!("  {:>5} seeds  {name} (first: seed {})\n", t.seeds, first(t)));
        }
        let mut pairs: Vec<_> = self.pairs.iter().collect();
        pairs.sort_by_key(|((a, b), t)| (t.seeds, a.as_str(), b.as_str()));
        for ((a, b), t) in pairs.into_iter().take(RAREST_PAIRS) {
            out.push_str(&format!("  {:>5} seeds  {a} + {b} (first: seed {})\n", t.seeds, first(t)));
        }
        out
    }
}

/// How many of the rarest pairs the text shows.
const RAREST_PAIRS: usize = 10;

fn first(t: &Tally) -> u64 {
    t.first_seed.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn probes_never_reached_come_first_then_the_rarest() {
        let mut ledger = Ledger::default();
        ledger.add(7, &names(&["tcp.ack-timeout", "tcp.resend-mid-stream"]));
        ledger.add(3, &names(&["tcp.ack-timeout"]));
        let ack = ledger.probes["tcp.ack-timeout"];
        assert_eq!(ack, Tally { seeds: 2, first_seed: Some(3) });
        let pair = ("tcp.ack-timeout".to_owned(), "tcp.resend-mid-stream".to_owned());
        assert_eq!(ledger.pairs[&pair], Tally { seeds: 1, first_seed: Some(7) });
        let text = ledger.render();
        let never = text.find("never reached  fence.refuse-not-owner").expect("listed");
        let rare = text.find("1 seeds  tcp.resend-mid-stream (first: seed 7)").expect("listed");
        let common = text.find("2 seeds  tcp.ack-timeout (first: seed 3)").expect("listed");
        assert!(never < rare && rare < common, "{text}");
        assert!(!ledger.never_reached().contains(&"tcp.ack-timeout"));
        assert!(ledger.never_reached().contains(&"handover.staged"));
    }

    #[test]
    fn a_simulated_sweep_misses_every_simulated_probe_it_did_not_reach_and_no_real_only_one() {
        let ledger = Ledger::default();
        let never: Vec<&str> = ledger.never_reached();
        assert_eq!(never, shipper::probes::simulated().collect::<Vec<_>>());
        let real_only = shipper::probes::ALL.iter().filter(|p| p.reach == shipper::probes::Reach::RealOnly);
        for probe in real_only {
            assert!(!never.contains(&probe.name), "{probe:?} is not the simulation's to reach");
        }
        assert!(never.contains(&"tcp.deadline-ambiguous"));
        assert!(ledger.render().starts_with(&format!("coverage: 0 of {} probes", never.len())));
    }

    #[test]
    fn merged_ledgers_of_disjoint_seeds_are_the_ledger_of_all_of_them() {
        let runs: [(u64, &[&str]); 4] = [
            (1, &["tcp.ack-timeout"]),
            (2, &["tcp.ack-timeout", "handover.staged"]),
            (3, &[]),
            (4, &["handover.staged", "tcp.resend-mid-stream"]),
        ];
        let mut whole = Ledger::default();
        let (mut odd, mut even) = (Ledger::default(), Ledger::default());
        for (seed, hits) in runs {
            whole.add(seed, &names(hits));
            if seed % 2 == 1 { &mut odd } else { &mut even }.add(seed, &names(hits));
        }
        assert_ne!(odd, whole);
        let mut merged = even.clone();
        merged.merge(&odd);
        assert_eq!(merged, whole);
        odd.merge(&even);
        assert_eq!(odd, whole);
        assert_eq!(whole.reached(), (3, 2));
    }
}
