//! The shipsim trace: what happened in a run, one record per fact, as JSON Lines.
//!
//! A trace is the contract between whatever ran a system (shipsim's simulator, real
//! processes, or a third party's own test rig) and the checkers of `shipsim-check`, which
//! read nothing else. This crate holds the records ([`Record`]), their one writer and one
//! reader ([`write()`], [`read`], with the [`digest`] that proves two runs identical),
//! [`TraceWriter`] for building a trace from a system shipsim did not run, and the typed
//! names every part of shipsim shares ([`Invariant`], the rule enums, [`Lack`],
//! [`FaultKind`]). It depends on serde alone: no runtime, no simulator.
//!
//! # Event ids in payloads
//! Each event carries a run-wide unique id in its payload, a JSON object with an integer
//! field `"id"` (`{"id":42,"src":"n1",...}`): a receiver reads it back from the bytes it was
//! handed ([`payload_id`]), so a delivery names its event without trusting any metadata the
//! system under test attaches.

#![warn(missing_docs, unreachable_pub)]

mod counts;
mod coverage;
mod expect;
mod fault;
mod fnv;
mod input;
mod jsonl;
mod names;
mod payload;
mod read;
mod record;
mod text;
mod text_pool;
mod units;
mod writer;

pub use counts::{Counts, Tally, fmt_t};
pub use coverage::{FaultEffect, LifeProbes};
pub use expect::{ExpectDelivery, ExpectOrdering, ExpectPlacement, ExpectStats};
pub use fault::{FaultAction, HealTarget, SettleText};
pub use input::InputError;
pub use jsonl::{Digest, digest, first_difference, first_record_difference, to_bytes, write};
pub use names::{
    DeliveryRule, FaultKind, Invariant, Lack, LivenessRule, OrderingRule, PlacementRule, Rule, StatsRule,
    TraceRule,
};
pub use payload::PayloadDigest;
pub use read::{read, read_each, read_file, read_file_each};
pub use record::{
    ConnectState, DeclaredTransport, EventRef, FORMAT_VERSION, FaultLinks, LifeState, MembershipChange,
    Outcome, Phase, Record, ShippedRecord, ShipperCounters, Start, TransportTiming, Violation,
};
pub use text::Text;
pub use text_pool::TextPool;
pub use units::{EventId, Micros};
pub use writer::{TraceWriter, payload_id};
