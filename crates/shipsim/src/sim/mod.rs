//! The simulator: one run of a scenario with a seed, on a turmoil network, recorded into a
//! trace and checked.
//!
//! - [`runner`] owns the turmoil `Sim` and the clock, and drives everything below;
//! - `node` is one host: the system under test's router and shipper over the transport, its
//!   sinks (`sink`) and its workload (`workload`);
//! - `faults`, `membership` and `routes` carry out the scenario's timeline, and `effect` judges
//!   whether each fault had an effect;
//! - `recorder` writes every fact into the trace, and `memory` keeps what a node remembers
//!   across its crashes; `observers` are the hooks through which the router and the transport
//!   tell it what they do (the harness records the production path, it does not copy it);
//! - `node_clock` jumps one node's clock forward (a `clock` fault);
//! - `clock` is the simulation's tick and time conversions; `life_probes` tells which node
//!   life each coverage probe hit happened in.

mod clock;
mod effect;
mod faults;
mod life_probes;
mod membership;
mod memory;
mod node;
mod node_clock;
mod observers;
mod recorder;
mod routes;
mod runner;
mod sink;
mod trace_out;
mod traffic;
mod workload;

pub use clock::TICK;
// Real mode (`crate::real`) runs the same node, recorder, membership and routes in OS
// processes.
pub(crate) use membership::MembershipService;
pub(crate) use memory::Memory;
pub(crate) use node::{NodeSpec, run_life};
pub(crate) use recorder::{Recorder, SharedRecorder, Tap};
pub(crate) use routes::Routes;
#[cfg(test)]
pub(crate) use runner::run;
pub(crate) use runner::start_record;
pub use runner::{RunError, RunResult};
pub(crate) use runner::{run_traced, run_with};
pub use trace_out::TraceOut;
pub(crate) use workload::healthy_time;
