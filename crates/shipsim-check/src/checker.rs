//! The [`Checker`] trait, one implementation per invariant, and [`verdict`], which runs
//! them all over one index of the trace.
//!
//! Each checker owns its skip decisions: whether it applies to the run at all
//! ([`Checker::applies`]) and which of its rules the trace cannot support
//! ([`Checker::skipped_rules`]). The same decision both silences those rules (in
//! [`Findings`]) and is said in the summary, so the two cannot drift apart.

use shipsim_trace::{
    DeliveryRule, ExpectDelivery, ExpectOrdering, ExpectPlacement, ExpectStats, Invariant, Lack,
    LivenessRule, Record, Rule, Start, StatsRule,
};

use crate::findings::Findings;
use crate::index::Index;
use crate::summary::{CheckSummary, InvariantResult};
use crate::{contract, delivery, liveness, ordering, placement, recovery, spacing, stats};

/// Why an invariant is not checked for a run.
pub(crate) struct Skip(pub(crate) String);

/// One invariant's checker: a pure function of the trace's index.
pub(crate) trait Checker {
    /// The invariant it checks.
    fn invariant(&self) -> Invariant;

    /// Whether the run asks for this invariant and its trace has what the checker needs.
    fn applies(&self, _start: &Start) -> Result<(), Skip> {
        Ok(())
    }

    /// The rules this trace cannot support, each with why: they are not counted, and the
    /// summary says so.
    fn skipped_rules(&self, _index: &Index) -> Vec<(Rule, String)> {
        Vec::new()
    }

    /// How the run's expectations relax the invariant, if they do.
    fn relaxed(&self, _start: &Start) -> Option<String> {
        None
    }

    /// Reports every violation in the trace.
    fn run(&self, index: &Index, findings: &mut Findings);
}

/// Whether the run's transport lacks `lack`.
fn lacks(index: &Index, lack: Lack) -> bool {
    index.start().is_some_and(|s| s.lacks.contains(&lack))
}

pub(crate) struct Delivery;

impl Checker for Delivery {
    fn invariant(&self) -> Invariant {
        Invariant::Delivery
    }

    fn skipped_rules(&self, index: &Index) -> Vec<(Rule, String)> {
        let why = "the transport reports no acks".to_owned();
        lacks(index, Lack::Acks).then(|| (DeliveryRule::RedeliveryAfterAck.into(), why)).into_iter().collect()
    }

    fn relaxed(&self, start: &Start) -> Option<String> {
        (start.delivery == ExpectDelivery::AtLeastOnce)
            .then(|| "at-least-once: duplicates and redeliveries allowed".to_owned())
    }

    fn run(&self, index: &Index, findings: &mut Findings) {
        delivery::run(index, index.start().map_or(ExpectDelivery::ExactlyOnce, |s| s.delivery), findings);
    }
}

pub(crate) struct Ordering;

impl Checker for Ordering {
    fn invariant(&self) -> Invariant {
        Invariant::Ordering
    }

    fn applies(&self, start: &Start) -> Result<(), Skip> {
        match start.ordering {
            ExpectOrdering::None => Err(Skip("expect ordering: none".into())),
            ExpectOrdering::PerBatch => Ok(()),
        }
    }

    fn run(&self, index: &Index, findings: &mut Findings) {
        ordering::run(index, findings);
    }
}

pub(crate) struct Stats;

impl Checker for Stats {
    fn invariant(&self) -> Invariant {
        Invariant::Stats
    }

    fn applies(&self, start: &Start) -> Result<(), Skip> {
        match start.stats {
            ExpectStats::Ignore => Err(Skip("expect stats: ignore".into())),
            ExpectStats::Consistent => Ok(()),
        }
    }

    fn skipped_rules(&self, index: &Index) -> Vec<(Rule, String)> {
        let why = "the transport has no counters".to_owned();
        let mut skipped: Vec<(Rule, String)> =
            lacks(index, Lack::Counters).then(|| (StatsRule::Received.into(), why)).into_iter().collect();
        if lacks(index, Lack::KilledCounters) {
            let why = "a killed process's counters cannot be read".to_owned();
            skipped.push((StatsRule::MissingStats.into(), why));
        }
        skipped
    }

    fn run(&self, index: &Index, findings: &mut Findings) {
        stats::run(index, findings);
    }
}

pub(crate) struct Liveness;

impl Checker for Liveness {
    fn invariant(&self) -> Invariant {
        Invariant::Liveness
    }

    fn skipped_rules(&self, index: &Index) -> Vec<(Rule, String)> {
        let mut skipped = Vec::new();
        if let Some(why) = index.start().and_then(recovery::skipped) {
            skipped.push((LivenessRule::Recovery.into(), why));
        }
        if let Some(why) = index.start().and_then(contract::skipped) {
            skipped.push((LivenessRule::Contract.into(), why));
        }
        if let Some(why) = spacing::skipped(index) {
            skipped.push((LivenessRule::ReconnectSpacing.into(), why));
        }
        if index.workloads == 0 {
            let why = "the trace records no workload".to_owned();
            skipped.push((LivenessRule::UnfinishedWorkload.into(), why));
        }
        skipped
    }

    fn relaxed(&self, start: &Start) -> Option<String> {
        recovery::note(start)
    }

    fn run(&self, index: &Index, findings: &mut Findings) {
        liveness::run(index, findings);
    }
}

pub(crate) struct Placement;

impl Checker for Placement {
    fn invariant(&self) -> Invariant {
        Invariant::Placement
    }

    fn applies(&self, start: &Start) -> Result<(), Skip> {
        if start.placement == ExpectPlacement::Ignore {
            return Err(Skip("expect placement: ignore".into()));
        }
        if start.shards == 0 {
            return Err(Skip("the trace names no shard count".into()));
        }
        Ok(())
    }

    fn run(&self, index: &Index, findings: &mut Findings) {
        placement::run(index, findings);
    }
}

/// The checker of each invariant but `trace`, whose well-formedness the index itself checks.
pub(crate) fn checker(invariant: Invariant) -> Option<&'static dyn Checker> {
    match invariant {
        Invariant::Delivery => Some(&Delivery),
        Invariant::Ordering => Some(&Ordering),
        Invariant::Stats => Some(&Stats),
        Invariant::Liveness => Some(&Liveness),
        Invariant::Placement => Some(&Placement),
        Invariant::Trace => None,
    }
}

/// [`crate::summarize`] over a whole trace's index.
pub(crate) fn verdict(mut index: Index) -> CheckSummary {
    let malformed = index.take_malformed();
    let gate = malformed.any();
    let mut results: Vec<InvariantResult> = Vec::with_capacity(Invariant::ALL.len());
    for &invariant in Invariant::ALL {
        let result = match (checker(invariant), index.start()) {
            (None, _) => continue,
            (Some(_), _) if gate => {
                InvariantResult::skipped(invariant, "the trace is malformed: see `trace`".into())
            }
            (Some(checker), Some(start)) => run_checker(checker, &index, start),
            (Some(_), None) => unreachable!("a trace without a start record is malformed"),
        };
        results.push(result);
    }
    results.push(InvariantResult::found(Invariant::Trace, malformed, None));
    CheckSummary { results }
}

/// One checker's result: skipped whole, or run with its unsupported rules silenced.
fn run_checker(checker: &dyn Checker, index: &Index, start: &Start) -> InvariantResult {
    let invariant = checker.invariant();
    if let Err(Skip(why)) = checker.applies(start) {
        return InvariantResult::skipped(invariant, why);
    }
    let skipped = checker.skipped_rules(index);
    let mut findings = Findings::new(invariant, skipped.iter().map(|(rule, _)| *rule));
    checker.run(index, &mut findings);
    let notes = checker
        .relaxed(start)
        .into_iter()
        .chain(skipped.iter().map(|(rule, why)| format!("{} skipped: {why}", rule.as_str())));
    let notes: Vec<String> = notes.collect();
    InvariantResult::found(invariant, findings, (!notes.is_empty()).then(|| notes.join("; ")))
}

/// Runs the checker of `invariant` alone, strictly: every rule, whatever the trace's `Start`
/// asks (`trace` gives the well-formedness violations).
pub fn check_invariant(records: &[Record], invariant: Invariant) -> Vec<shipsim_trace::Violation> {
    let mut index = Index::build(records);
    let findings = match checker(invariant) {
        Some(checker) => {
            let mut findings = Findings::new(invariant, []);
            checker.run(&index, &mut findings);
            findings
        }
        None => index.take_malformed(),
    };
    findings.finish().0
}
