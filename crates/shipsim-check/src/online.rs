//! [`Online`]: the checkers fed one record at a time, as a run makes them or a trace file is
//! read, so that neither has to keep its records: what the checkers need is in their index
//! (`index.rs`), which owns it.
//!
//! [`crate::summarize`] over a slice of records is this, fed each record in turn: one
//! implementation of every invariant, whichever way the trace comes.

use shipsim_trace::{Record, Violation};

use crate::index::Index;
use crate::summary::CheckSummary;

/// Checks a trace fed record by record, in trace order; [`Online::finish`] gives the verdict
/// [`crate::summarize`] gives for the same records.
pub struct Online {
    index: Index,
}

impl Default for Online {
    fn default() -> Self {
        Self::new()
    }
}

impl Online {
    /// Checks of no record yet.
    pub fn new() -> Self {
        Online { index: Index::new() }
    }

    /// The next record of the trace.
    pub fn feed(&mut self, record: &Record) {
        self.index.feed(record);
    }

    /// The trace is over: every invariant's outcome.
    pub fn finish(mut self) -> CheckSummary {
        self.index.finish();
        crate::checker::verdict(self.index)
    }
}

/// Checks every invariant the way the run's `Start` record asks, in the order of
/// [`shipsim_trace::Invariant::ALL`]. Well-formedness is a gate: a malformed trace gives its
/// `trace` violations and skips every other invariant, rather than a cascade of false
/// violations.
pub fn summarize(records: &[Record]) -> CheckSummary {
    let mut online = Online::new();
    for record in records {
        online.feed(record);
    }
    online.finish()
}

/// Every reported violation of every invariant the run's `Start` asks for, in time order.
/// See [`summarize`] for the counts.
pub fn check_all(records: &[Record]) -> Vec<Violation> {
    summarize(records).violations()
}
