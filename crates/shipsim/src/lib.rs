//! shipsim: deterministic simulation testing for the event shipper.
//!
//! A run takes a [`scenario::Scenario`] and a seed, builds a turmoil
//! simulation with one host per node, drives the faults on their schedule ([`runner`]),
//! records every fact ([`trace`]) and checks the invariants ([`check`]). Same scenario and
//! seed, same trace, byte for byte. The parts that do this (nodes, faults, routes, the
//! recorder, the workload, the seeded random sources) are private to the crate: the
//! scenario, the run's result and the trace are the contract, not how a run is driven.
//!
//! The transport is pluggable ([`transport`]): [`Simulation`] runs a scenario, an explore
//! sweep or a shrink on any `shipper::ShipperTransport` a [`TransportFactory`] builds. A
//! scenario names one of the bundled transports in `transport.kind` ([`TransportKind`],
//! [`factory_for`]); shipper-net's TCP transport ([`tcp`]) is the default.
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
//! let first = shipsim::run(&scenario, 7).unwrap();
//! assert!(first.passed(), "{}", first.summary);
//! let again = shipsim::Simulation::new(&scenario).seed(7).run().unwrap();
//! assert_eq!(first.records, again.records);
//! ```
//!
//! The `shipsim` binary and what only it needs (argument parsing, progress bars, the router
//! benchmark) sit behind the default `cli` feature; `default-features = false` builds the
//! library alone.

#![warn(missing_docs)]

pub mod explore;
pub(crate) mod faults;
pub mod grpc;
pub mod kinds;
pub(crate) mod membership;
pub(crate) mod node;
pub(crate) mod recorder;
pub mod report;
pub mod repro;
pub(crate) mod routes;
pub mod runner;
pub mod scenario;
pub(crate) mod seeds;
pub mod shrink;
pub mod simulation;
pub(crate) mod sink;
#[cfg(feature = "proptest")]
pub mod strategies;
#[cfg(feature = "suite")]
pub mod suite;
pub mod tcp;
pub mod transport;
pub(crate) mod workload;

pub use explore::{Options as ExploreOptions, Sweep};
pub use grpc::GrpcFactory;
pub use kinds::factory_for;
pub use recorder::NetCounters;
pub use runner::{RunError, RunResult};
pub use scenario::{Scenario, ScenarioError, TransportKind, load, parse};
pub use shipsim_check::{self as check, CheckSummary, InvariantResult, Status};
pub use shipsim_trace as trace;
pub use shrink::Shrunk;
pub use simulation::{Simulation, run};
#[cfg(feature = "suite")]
pub use suite::Suite;
pub use tcp::TcpFactory;
pub use transport::{
    AckObserver, Capabilities, EventSink, LifeContext, LocalFuture, NodeTransport, Server, SinkClosed,
    SinkError, Timing, TransportFactory,
};
