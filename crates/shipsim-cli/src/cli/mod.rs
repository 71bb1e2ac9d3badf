//! The subcommands.

use std::path::Path;

pub mod bench;
pub mod explore;
mod files;
pub mod merge;
pub mod real;
pub mod run;
pub mod stdout;
pub mod verify;

use stdout::outln;

/// Exit statuses, as documented in `shipsim --help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Every invariant held.
    Pass = 0,
    /// A violation, or a nondeterministic run.
    Fail = 1,
    /// The input was bad (or a run could not be carried out).
    BadInput = 2,
}

/// Loads a scenario, printing the error (file:line:column: message) on failure.
pub(crate) fn load(path: &Path) -> Result<shipsim::scenario::Scenario, ExitStatus> {
    shipsim::load(path).map_err(|err| {
        eprintln!("error: {err}");
        ExitStatus::BadInput
    })
}

/// Loads a scenario and, with `--transport`, sets its `transport.kind`: the run, its report
/// and any repro written from it then name that transport.
pub(crate) fn load_on(
    path: &Path,
    transport: Option<shipsim::scenario::TransportKind>,
) -> Result<shipsim::scenario::Scenario, ExitStatus> {
    let mut scenario = load(path)?;
    if let Some(kind) = transport {
        scenario.transport.kind = Some(kind);
    }
    Ok(scenario)
}

/// [`load_on`] for a simulated run: a scenario whose transport runs in real mode only is
/// refused at its `kind:` key (exit 2).
pub(crate) fn load_simulated(
    path: &Path,
    transport: Option<shipsim::scenario::TransportKind>,
) -> Result<shipsim::scenario::Scenario, ExitStatus> {
    let scenario = load_on(path, transport)?;
    match shipsim::simulation_refusal(path, &scenario) {
        Some(why) => {
            eprintln!("error: {why}");
            Err(ExitStatus::BadInput)
        }
        None => Ok(scenario),
    }
}

/// `shipsim check`.
pub(crate) fn check(path: &Path) -> ExitStatus {
    match load(path) {
        Ok(scenario) => {
            outln!(
                "{}: ok ({} nodes, {} faults, seeds {:?})",
                path.display(),
                scenario.nodes.len(),
                scenario.faults.len(),
                scenario.seeds
            );
            ExitStatus::Pass
        }
        Err(status) => status,
    }
}
