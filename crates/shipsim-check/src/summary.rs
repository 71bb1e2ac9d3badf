//! A verdict: each invariant's outcome, kept apart from how it is rendered.

use std::collections::BTreeMap;
use std::fmt;

use shipsim_trace::{Invariant, Rule, Violation};

use crate::findings::Findings;

/// Whether an invariant held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Checked, no violation.
    Held,
    /// Checked, at least one violation.
    Violated,
    /// Not checked, and why: the run did not ask for it, or the trace lacks what it needs.
    Skipped(String),
}

/// The outcome of one invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvariantResult {
    /// The invariant.
    pub invariant: Invariant,
    /// Held, violated or skipped.
    pub status: Status,
    /// How the run's expectations or the trace's gaps relaxed it, if they did (rules
    /// skipped, duplicates allowed).
    pub relaxed: Option<String>,
    /// The violations reported: at most [`crate::MAX_PER_RULE`] per rule, the earliest, in
    /// time order.
    pub violations: Vec<Violation>,
    /// How many violations each rule found, including those not reported.
    pub counts: BTreeMap<Rule, u64>,
}

impl InvariantResult {
    pub(crate) fn found(invariant: Invariant, findings: Findings, relaxed: Option<String>) -> Self {
        let (violations, counts) = findings.finish();
        let status = if counts.is_empty() { Status::Held } else { Status::Violated };
        InvariantResult { invariant, status, relaxed, violations, counts }
    }

    pub(crate) fn skipped(invariant: Invariant, why: String) -> Self {
        InvariantResult {
            invariant,
            status: Status::Skipped(why),
            relaxed: None,
            violations: Vec::new(),
            counts: BTreeMap::new(),
        }
    }

    /// All violations found, including those not reported.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// How many violations `rule` found.
    pub fn count(&self, rule: impl Into<Rule>) -> u64 {
        self.counts.get(&rule.into()).copied().unwrap_or(0)
    }

    /// Whether it held (or was skipped).
    pub fn held(&self) -> bool {
        self.status != Status::Violated
    }
}

/// Every invariant's outcome, in the order of [`Invariant::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSummary {
    /// One per invariant.
    pub results: Vec<InvariantResult>,
}

impl CheckSummary {
    /// Whether every invariant held (or was skipped).
    pub fn held(&self) -> bool {
        self.results.iter().all(InvariantResult::held)
    }

    /// The outcome of `invariant`.
    pub fn get(&self, invariant: Invariant) -> &InvariantResult {
        self.results.iter().find(|r| r.invariant == invariant).expect("a summary has every invariant")
    }

    /// Every reported violation, in time order (invariant order within one time).
    pub fn violations(&self) -> Vec<Violation> {
        let mut all: Vec<Violation> =
            self.results.iter().flat_map(|r| r.violations.iter().cloned()).collect();
        all.sort_by_key(|v| v.t);
        all
    }
}

impl fmt::Display for CheckSummary {
    /// One line per invariant, e.g. `ordering  violated: 3 (gap 2, swap 1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for result in &self.results {
            write!(f, "{:<9} ", result.invariant.as_str())?;
            match &result.status {
                Status::Held => write!(f, "held")?,
                Status::Skipped(why) => write!(f, "skipped ({why})")?,
                Status::Violated => {
                    let rules: Vec<String> =
                        result.counts.iter().map(|(rule, n)| format!("{} {n}", rule.as_str())).collect();
                    write!(f, "violated: {} ({})", result.total(), rules.join(", "))?;
                }
            }
            if let Some(relaxed) = &result.relaxed {
                write!(f, " [{relaxed}]")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
