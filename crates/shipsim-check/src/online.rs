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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::clean_run;
    use crate::index::Item;

    /// The index keeps the bulk of a trace (ship calls, deliveries, acks) in its compact
    /// entries, never as whole records, and gives every record the passes read back in trace
    /// order.
    #[test]
    fn the_index_keeps_no_bulk_record_whole_and_gives_the_records_back_in_order() {
        let records = clean_run();
        let index = Index::build(&records);
        // In this crate's tests a table keeps one page of four entries in memory: the
        // checkers' tests read their index back from the file.
        assert!(index.batches.spilled() && index.deliveries.spilled() && index.acks.spilled());
        let bulk = |r: &Record| {
            matches!(
                r,
                Record::ShipBegin { .. }
                    | Record::ShipEnd { .. }
                    | Record::Deliver { .. }
                    | Record::Ack { .. }
            )
        };
        assert!(index.others().all(|r| !bulk(r) && !matches!(r, Record::Start(_) | Record::Violation(_))));
        let read: Vec<Record> = index
            .items()
            .map(|item| match item {
                Item::Other(record) => record.t(),
                Item::Begin(batch) => batch.t,
                Item::End(end) => records[end.pos].t(),
                Item::Deliver(d) => d.t,
                Item::Ack(ack) => ack.t,
            })
            .zip(records.iter().filter(|r| !matches!(r, Record::Start(_))))
            .map(|(t, record)| {
                assert_eq!(t, record.t(), "{record:?}");
                record.clone()
            })
            .collect();
        assert_eq!(read.len(), records.len() - 1, "every record but the start");
        assert_eq!(read.iter().filter(|r| bulk(r)).count(), records.iter().filter(|r| bulk(r)).count());
    }

    /// Fed one record at a time or summarized from a slice: one verdict.
    #[test]
    fn fed_one_at_a_time_it_gives_summarize_s_verdict() {
        let records = clean_run();
        let mut online = Online::new();
        records.iter().for_each(|r| online.feed(r));
        assert_eq!(online.finish(), summarize(&records));
    }
}
