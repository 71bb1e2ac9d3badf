//! shipsim: deterministic simulation testing for the event shipper.
//!
//! A run takes a [`scenario::Scenario`] and a seed, builds a turmoil
//! simulation with one host per node ([`node`]), drives the faults on their
//! schedule ([`faults`], [`routes`], [`runner`]), records every fact ([`recorder`],
//! [`trace`]) and checks the invariants ([`check`]). Same scenario and seed,
//! same trace, byte for byte.
//!
//! The transport is pluggable ([`transport`]): [`Simulation`] runs a scenario, an explore
//! sweep or a shrink on any `shipper::ShipperTransport` a [`TransportFactory`] builds;
//! shipper-net's TCP transport ([`tcp`]) is the default.

pub mod check;
pub mod explore;
pub mod faults;
pub mod html;
pub mod logging;
pub mod membership;
pub mod node;
pub mod recorder;
pub mod report;
pub mod repro;
pub mod routes;
pub mod runner;
pub mod scenario;
pub mod seeds;
pub mod shrink;
pub mod simulation;
pub mod sink;
pub mod strategies;
pub mod suite;
pub mod tcp;
pub mod trace;
pub mod transport;
pub mod workload;

pub use check::{CheckSummary, InvariantResult, Status};
pub use explore::{Options as ExploreOptions, Sweep};
pub use recorder::NetCounters;
pub use runner::{RunError, RunResult};
pub use scenario::{Scenario, ScenarioError, load, parse};
pub use shrink::{Shrunk, Target};
pub use simulation::{Simulation, run};
pub use suite::Suite;
pub use tcp::TcpFactory;
pub use transport::{
    AckObserver, Capabilities, EventSink, LifeContext, LocalFuture, NodeTransport, Server, SinkClosed,
    SinkError, Timing, TransportFactory,
};
