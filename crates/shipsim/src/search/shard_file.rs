//! A sweep's share as a file: what one shard (`explore --shard i/n --report-out FILE`) found and
//! reached, as JSON, so the shards of a sweep run on many machines can be merged into one report
//! and one ledger (`shipsim merge`). Merging the files of every shard of a sweep gives the
//! failures and the ledger of the whole sweep: shards hold disjoint seeds, and the merge is a
//! sum ([`Ledger::merge`]).

use serde::{Deserialize, Serialize};
use shipsim_trace::Violation;

use super::explore::{SeedOutcome, Sweep};
use super::fault_tally::FaultTally;
use super::ledger::{Ledger, Tally};

/// The version of the file's layout; a file with another does not load.
pub(crate) const FORMAT: u32 = 1;

/// One shard's report, or the merge of several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    /// `FORMAT`.
    pub format: u32,
    /// The scenario's name.
    pub scenario: String,
    /// What the sweep was: `explore --seeds N --first-seed S --swarm`, shard excluded.
    pub sweep: String,
    /// The shards this report holds, as `i/n` (one for a shard's own file, several merged).
    pub shards: Vec<String>,
    /// Seeds the shards were to run.
    pub planned: usize,
    /// Seeds they reported.
    pub ran: usize,
    /// Whether some shard stopped at a failure before running all its seeds.
    pub stopped_early: bool,
    /// Failures and errors, in seed order.
    pub failures: Vec<Failure>,
    /// Seeds the ledger counted.
    pub ledger_seeds: usize,
    /// Every probe with the seeds that reached it.
    pub probes: Vec<ProbeTally>,
    /// Every pair of probes some run reached together.
    pub pairs: Vec<PairTally>,
    /// The reported seeds' faults, by kind and effect.
    pub faults: FaultTally,
}

/// A failing (or erroring) seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// The seed.
    pub seed: u64,
    /// How many violations the run reported (0 for an error).
    pub violations: usize,
    /// The first violation.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub first: Option<Violation>,
    /// Why the run could not be carried out.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// One probe's line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeTally {
    /// The probe's name.
    pub probe: String,
    /// Seeds that reached it.
    pub seeds: usize,
    /// The lowest of them.
    pub first_seed: Option<u64>,
}

/// One pair's line of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairTally {
    /// The two probes, in name order.
    pub pair: (String, String),
    /// Seeds that reached both.
    pub seeds: usize,
    /// The lowest of them.
    pub first_seed: Option<u64>,
}

impl ShardReport {
    /// The report of a sweep of `scenario`; `sweep` names the sweep's options, `shard` its
    /// share (`i/n`).
    pub fn new(scenario: &str, sweep_options: &str, shard: &str, sweep: &Sweep) -> ShardReport {
        let failures = sweep.failures.iter().map(|f| Failure::of(f.seed, &f.outcome)).collect();
        let mut report = ShardReport {
            format: FORMAT,
            scenario: scenario.to_owned(),
            sweep: sweep_options.to_owned(),
            shards: vec![shard.to_owned()],
            planned: sweep.planned,
            ran: sweep.ran,
            stopped_early: sweep.stopped_early,
            failures,
            ledger_seeds: 0,
            probes: Vec::new(),
            pairs: Vec::new(),
            faults: sweep.faults.clone(),
        };
        report.set_ledger(&sweep.ledger);
        report
    }

    /// The ledger the report holds.
    pub fn ledger(&self) -> Ledger {
        let tally = |seeds, first_seed| Tally { seeds, first_seed };
        let mut ledger = Ledger { seeds: self.ledger_seeds, ..Ledger::default() };
        for p in &self.probes {
            ledger.probes.insert(p.probe.clone(), tally(p.seeds, p.first_seed));
        }
        for p in &self.pairs {
            ledger.pairs.insert(p.pair.clone(), tally(p.seeds, p.first_seed));
        }
        ledger
    }

    fn set_ledger(&mut self, ledger: &Ledger) {
        self.ledger_seeds = ledger.seeds;
        self.probes = ledger
            .probes
            .iter()
            .map(|(probe, t)| ProbeTally { probe: probe.clone(), seeds: t.seeds, first_seed: t.first_seed })
            .collect();
        self.pairs = ledger
            .pairs
            .iter()
            .map(|(pair, t)| PairTally { pair: pair.clone(), seeds: t.seeds, first_seed: t.first_seed })
            .collect();
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a shard report serializes")
    }

    /// Reads a report; the error names the line and column.
    pub fn from_json(text: &str) -> Result<ShardReport, String> {
        let report: ShardReport = serde_json::from_str(text)
            .map_err(|e| format!("{}:{}: {}", e.line(), e.column(), strip_position(&e.to_string())))?;
        if report.format != FORMAT {
            return Err(format!("1:1: format {} (this shipsim reads format {FORMAT})", report.format));
        }
        Ok(report)
    }

    /// Merges the reports of the shards of one sweep: the failures of all, in seed order, and
    /// the sum of their ledgers. The reports must be of the same scenario and sweep, each shard
    /// once; the error says which is not.
    pub fn merge(reports: &[ShardReport]) -> Result<ShardReport, String> {
        let Some(first) = reports.first() else { return Err("nothing to merge".to_owned()) };
        let mut merged = ShardReport {
            shards: Vec::new(),
            planned: 0,
            ran: 0,
            failures: Vec::new(),
            faults: FaultTally::default(),
            ..first.clone()
        };
        let mut ledger = Ledger::default();
        for (i, report) in reports.iter().enumerate() {
            if (report.scenario.as_str(), report.sweep.as_str())
                != (first.scenario.as_str(), first.sweep.as_str())
            {
                return Err(format!(
                    "report {}: a sweep of {} ({}), not of {} ({})",
                    i + 1,
                    report.scenario,
                    report.sweep,
                    first.scenario,
                    first.sweep
                ));
            }
            if let Some(twice) = report.shards.iter().find(|s| merged.shards.contains(s)) {
                return Err(format!("report {}: shard {twice} is merged twice", i + 1));
            }
            merged.shards.extend(report.shards.iter().cloned());
            merged.planned += report.planned;
            merged.ran += report.ran;
            merged.stopped_early |= report.stopped_early;
            merged.failures.extend(report.failures.iter().cloned());
            ledger.merge(&report.ledger());
            merged.faults.merge(&report.faults);
        }
        merged.failures.sort_by_key(|f| f.seed);
        merged.shards.sort();
        merged.set_ledger(&ledger);
        Ok(merged)
    }

    /// The report text, as `explore` prints it: one line per failing seed and a total.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for failure in &self.failures {
            out.push_str(&failure.line());
            out.push('\n');
        }
        out.push_str(&format!(
            "{}: {} of {} seeds run, {} failed{} (shards {})\n",
            self.scenario,
            self.ran,
            self.planned,
            self.failures.len(),
            if self.stopped_early { " (a shard stopped at its first failure)" } else { "" },
            self.shards.join(", ")
        ));
        out
    }
}

impl Failure {
    fn of(seed: u64, outcome: &SeedOutcome) -> Failure {
        match outcome {
            SeedOutcome::Fail(v) => {
                Failure { seed, violations: v.len(), first: v.first().cloned(), error: None }
            }
            SeedOutcome::Error(err) => Failure { seed, violations: 0, first: None, error: Some(err.clone()) },
            SeedOutcome::Pass => Failure { seed, violations: 0, first: None, error: None },
        }
    }

    /// The line `explore` prints for it.
    fn line(&self) -> String {
        match (&self.first, &self.error) {
            (Some(v), _) => super::explore::fail_line(self.seed, v, self.violations),
            (None, Some(err)) => format!("seed {}: ERROR {err}", self.seed),
            (None, None) => format!("seed {}: FAIL", self.seed),
        }
    }
}

/// serde_json's message without its own " at line L column C" (the caller puts it first).
fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::explore::{Options, Shard, explore_with};
    use super::*;

    /// Seeds per probe, by name: what the assertion prints.
    fn by_probe(report: &ShardReport) -> BTreeMap<String, usize> {
        report.probes.iter().map(|p| (p.probe.clone(), p.seeds)).collect()
    }

    fn scenario() -> crate::scenario::Scenario {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/partition-heal.yaml");
        let mut s = crate::load(&path).unwrap();
        s.workload.events = 60;
        s
    }

    /// The shards' files of `--shard 0/2` and `1/2`, merged, are the report and ledger of the
    /// whole sweep.
    #[test]
    fn merged_shards_are_the_whole_sweep() {
        let s = scenario();
        let base = Options { seeds: 10, jobs: 2, keep_going: true, swarm: true, ..Options::default() };
        let report = |shard: Shard| {
            let sweep = explore_with(&s, &Options { shard, ..base.clone() }, None, |_| {});
            let text = format!("{}/{}", shard.index, shard.count);
            ShardReport::new(&s.name, "--seeds 10 --swarm", &text, &sweep).to_json()
        };
        let whole = ShardReport::from_json(&report(Shard::ALL)).unwrap();
        let halves = [Shard { index: 0, count: 2 }, Shard { index: 1, count: 2 }]
            .map(|shard| ShardReport::from_json(&report(shard)).unwrap());
        assert_ne!(halves[0].ledger(), whole.ledger(), "one shard is not the whole sweep");
        let merged = ShardReport::merge(&halves).unwrap();
        assert_eq!(merged.ledger(), whole.ledger());
        assert!(!whole.faults.kinds.is_empty(), "partition-heal applies faults");
        assert_eq!(merged.faults, whole.faults, "the faults by effect add up too");
        assert!(whole.ledger().reached().0 > 0, "the sweep reached some probe: {:?}", by_probe(&whole));
        assert_eq!(
            (merged.planned, merged.ran, &merged.failures),
            (whole.planned, whole.ran, &whole.failures)
        );
        assert_eq!(merged.shards, ["0/2", "1/2"]);
        let twice = ShardReport::merge(&[halves[0].clone(), halves[0].clone()]).unwrap_err();
        assert!(twice.contains("shard 0/2 is merged twice"), "{twice}");
    }

    #[test]
    fn a_bad_file_names_line_and_column() {
        let err = ShardReport::from_json("{\n  \"format\": 1,\n  \"scenario\": 3\n}").unwrap_err();
        assert!(err.starts_with("3:15: invalid type"), "{err}");
        let mut other = ShardReport::merge(&[]).unwrap_err();
        assert_eq!(other, "nothing to merge");
        let report = ShardReport::new(
            "x",
            "--seeds 1",
            "0/1",
            &Sweep {
                planned: 1,
                ran: 1,
                failures: Vec::new(),
                stopped_early: false,
                ledger: Ledger::default(),
                faults: FaultTally::default(),
            },
        );
        other =
            ShardReport::from_json(&report.to_json().replace("\"format\": 1", "\"format\": 9")).unwrap_err();
        assert!(other.contains("format 9"), "{other}");
    }
}
