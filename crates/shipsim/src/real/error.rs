//! What can stop a real run, and the slack it gives timing rules.

use std::time::Duration;

use thiserror::Error;

/// The slack real mode gives the timing rules for OS scheduling: written as the trace's
/// `tick_us`, which the liveness rules add to their bounds (a ship call's deadline, each
/// recovery bound) where a simulation adds its tick. Timers fire late by a millisecond or
/// two on an idle machine, more on a loaded one; 20 ms covers what we measured on a shared
/// 2-core machine and keeps the recovery bound checkable (its round trip counts the slack
/// four times, and must stay below the ack timeout).
pub const SCHEDULING_SLACK: Duration = Duration::from_millis(20);

/// A real run that could not be carried out (as opposed to one that found a violation).
#[derive(Debug, Error)]
pub enum RealError {
    /// The scenario has a fault real mode cannot carry out: `file:line:column: why`.
    #[error("{0}")]
    Refused(String),
    /// The scenario does not fit the transport.
    #[error("the scenario cannot run on this transport: {0}")]
    Unsupported(String),
    /// A node process failed to start, exited early or would not die.
    #[error("{0}")]
    Node(String),
    /// The harness's own sockets or files.
    #[error("real run: {0}")]
    Io(#[from] std::io::Error),
    /// Ctrl-C: every process was ended.
    #[error("interrupted: every node process was ended")]
    Interrupted,
}
