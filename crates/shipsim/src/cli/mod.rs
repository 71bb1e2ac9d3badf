//! The subcommands.

use std::path::Path;

pub mod bench;
pub mod explore;
pub mod run;
pub mod stdout;
pub mod verify;

use stdout::outln;

/// Exit statuses, as documented in `shipsim --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every invariant held.
    Pass = 0,
    /// A violation, or a nondeterministic run.
    Fail = 1,
    /// The input was bad (or a run could not be carried out).
    BadInput = 2,
}

/// Loads a scenario, printing the error (file:line:column: message) on failure.
pub fn load(path: &Path) -> Result<shipsim::scenario::Scenario, Status> {
    shipsim::scenario::load(path).map_err(|err| {
        eprintln!("error: {err}");
        Status::BadInput
    })
}

/// `shipsim check`.
pub fn check(path: &Path) -> Status {
    match load(path) {
        Ok(scenario) => {
            outln!(
                "{}: ok ({} nodes, {} faults, seeds {:?})",
                path.display(),
                scenario.nodes.len(),
                scenario.faults.len(),
                scenario.seeds
            );
            Status::Pass
        }
        Err(status) => status,
    }
}
