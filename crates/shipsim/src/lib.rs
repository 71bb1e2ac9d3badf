//! shipsim: deterministic simulation testing for the event shipper.
//!
//! A run takes a scenario ([`scenario::Scenario`], from [`load`] or [`parse`]) and a seed,
//! builds a turmoil simulation with one host per node, drives the faults on their schedule,
//! records every fact into a trace ([`trace`]) and checks the invariants ([`check`]). Same
//! scenario and seed, same trace, byte for byte. [`Simulation`] is the one entry point: run a
//! seed, check that it is deterministic, sweep seeds, or shrink a failure.
//!
//! The transport is pluggable: a [`TransportFactory`] builds any `shipper::ShipperTransport`
//! for each simulated node. A scenario names one of the bundled ones in `transport.kind`
//! ([`TcpFactory`], the default, and [`GrpcFactory`]).
//!
//! A scenario written inline, run with one seed: every invariant holds, and the same seed gives
//! the same records again.
//!
//! ```
//! let yaml = "
//! name: doc
//! nodes: [n1, n2]
//! duration: 10s
//! workload: {events: 50, rate: 100/s}
//! faults:
//!   - {at: 100ms, partition: [[n1], [n2]]}
//!   - {at: 300ms, heal: all}
//! expect: {settle: 5s}
//! ";
//! let scenario = shipsim::parse(yaml, "doc.yaml").unwrap();
//! let simulation = shipsim::Simulation::new(&scenario);
//! let result = simulation.check_determinism(7).unwrap();
//! assert!(result.passed(), "{}", result.summary);
//! ```
//!
//! How the crate is laid out: `scenario/` (load and validate a file) → `sim/` (the runner,
//! nodes, faults, membership, routes, sinks, workload, recorder) → `transport/` (the seam and
//! the bundled transports) → `search/` (explore, swarm, shrink) → `suite` and `repro`. The
//! `shipsim` command lives in the `shipsim-cli` crate.

#![warn(missing_docs, unreachable_pub)]

#[cfg(test)]
mod bundled;
pub mod compare;
#[cfg(test)]
mod coverage;
mod payload;
pub mod real;
pub mod report;
pub mod repro;
pub mod scenario;
mod search;
mod seeds;
mod sim;
mod simulation;
#[cfg(any(test, feature = "proptest"))]
pub mod strategies;
#[cfg(feature = "suite")]
mod suite;
mod transport;

use std::path::Path;

pub use search::explore::{Options as ExploreOptions, Progress, SeedOutcome, SeedResult, Shard, Sweep};
pub use search::fault_tally::{EffectTally, FaultTally};
pub use search::guided::{
    Entry as CorpusEntry, GENERATION, Guided, GuidedOptions, Moment as CorpusMoment, Mutation, Origin,
};
pub use search::ledger::{Ledger, Tally};
pub use search::shard_file::{Failure as ShardFailure, ShardReport};
pub use search::shrink::{DEFAULT_BUDGET as DEFAULT_SHRINK_BUDGET, Log as ShrinkLog, Shrunk};
pub use search::swarm::swarm;
pub use shipsim_check as check;
pub use shipsim_trace as trace;
pub use sim::{RunError, RunResult, TICK, TraceOut};
pub use simulation::Simulation;
#[cfg(feature = "suite")]
pub use suite::Suite;
pub use transport::grpc::GrpcFactory;
pub use transport::kinds::{factory_for, simulation_refusal};
pub use transport::nats::NatsFactory;
pub use transport::tcp::TcpFactory;
pub use transport::{
    AckObserver, Capabilities, EventSink, LifeContext, LocalFuture, NetCounters, NodeTransport, Server,
    SinkClosed, SinkError, Timing, TransportFactory,
};

use scenario::{Scenario, ScenarioError};

/// Reads and checks a scenario file, including the limits of the bundled transport it names
/// (a frame size): every error names the file, line and column. At most
/// [`scenario::MAX_SOURCE_BYTES`] are read.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    scenario::load_within(path, &transport::kinds::fits)
}

/// [`load`] for a scenario given as text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    scenario::parse_within(text, file, &transport::kinds::fits)
}

/// [`load`] for a scenario given as bytes (e.g. read from stdin); `file` names it in errors.
/// Bytes that are not UTF-8 are reported at the line and column of the first bad one.
pub fn parse_bytes(bytes: &[u8], file: &str) -> Result<Scenario, ScenarioError> {
    scenario::parse_bytes_within(bytes, file, &transport::kinds::fits)
}
