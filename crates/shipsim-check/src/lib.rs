//! shipsim's invariant checkers: each a pure function of a trace, reading nothing but
//! `shipsim-trace` (no runtime, no simulator, not even the router under test), so a trace
//! written by any system can be checked.
//!
//! One module per invariant (`delivery`, `ordering`, `stats`, `liveness` with `recovery`,
//! `placement`, whose owners come from an oracle of its own), each behind the `Checker`
//! trait that says when it applies and which of its rules a trace cannot support.
//! [`summarize`] runs them all the way the trace's `start` record asks, after the
//! well-formedness of the trace itself (invariant `trace`), which gates the rest.
//!
//! Every checker works from one shared index built in a single pass (lookups by event id
//! and by (node, batch), never iterated), so a check is linear in the trace, and reports at
//! most [`MAX_PER_RULE`] violations per rule (the earliest ones; the summary counts them
//! all). Output order is deterministic: by time, then by the order the checker found them.
//!
//! The verdict ([`CheckSummary`]) is data; [`render_violation`] and [`html_page`] render it.

#![warn(missing_docs, unreachable_pub)]

mod adaptive;
mod checker;
mod contract;
mod delivery;
mod dense;
mod findings;
mod html;
mod index;
mod jumps;
mod liveness;
mod online;
mod oracle;
mod ordering;
mod placement;
mod recovery;
mod report;
mod spacing;
mod stats;
mod summary;
mod table;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod reship_tests;
#[cfg(test)]
mod tests;

pub use checker::check_invariant;
pub use findings::MAX_PER_RULE;
pub use html::page as html_page;
pub use online::{Online, check_all, summarize};
pub use report::{Quoted, faults_before, render_violation, transport_suffix, truncate};
pub use summary::{CheckSummary, InvariantResult, Status};

/// The shards (of `shards`) whose owner differs between the members `before` and `after`, by
/// the checkers' own placement oracle (not the router's code): what a membership change moves.
pub fn shards_moved<S: AsRef<str>>(before: &[S], after: &[S], shards: u32) -> Vec<u32> {
    oracle::Members::new(before).moved_to(&oracle::Members::new(after), shards)
}
