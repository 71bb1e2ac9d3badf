//! # shipper — cross-shard event delivery
//!
//! The event shipper of oxirs-stream (`src/distributed/event_shipper.rs`), kept
//! source-compatible with its public API and fixed where running it showed it
//! loses, duplicates or miscounts events:
//!
//! - [`EventShipper::ship_batch`] reports how many events went out and hands back
//!   the ones that did not, the failed one included, so a caller can resume
//!   without duplicating the prefix ([`BatchError`]).
//! - [`InProcessShipperTransport`] notices dropped receivers and prunes them;
//!   replacing a live receiver is explicit; `register_route` creates a route.
//! - Every event handed to the shipper is counted in exactly one counter, and
//!   only the shipper can change the counters ([`ShipperStats::snapshot`]).
//! - A ship can carry a deadline ([`EventShipper::with_deadline`]), so a full
//!   sink or a stuck transport returns an error instead of hanging.
//! - Errors say whether the event may have been delivered
//!   ([`ShipperError::outcome`]).
//!
//! On top of the shipper sit [`ShardMap`] (key → shard → owner, with a
//! placement that does not depend on join order) and [`Router`].
//!
//! ## Membership changes
//!
//! A map has an epoch that counts membership changes; a router never goes
//! back to an older one ([`Router::set_shard_map`]). Each planned batch
//! carries the epoch it was planned under, and transports that can carry it
//! (`shipper-net`) let the receiver fence its sink ([`Fence`], implemented
//! by [`Router`]): a node admits an event if it owns the event's shard under
//! its own map, or if the sender's map is newer than its own (it is behind
//! and will learn); otherwise it refuses it, unacknowledged and never handed
//! to the sink, with its own epoch and members. The sender's call ends with
//! [`ShipperError::WrongOwner`] (certainly not delivered, counted in
//! `send_failures`), the router learns the newer map from it
//! ([`Router::learn`]) and plans the refused events again ([`Router::replan`]);
//! [`Router::route_batch`] does so at most [`Router::MAX_REPLANS`] times per
//! call, after which the last refusal stands. A batch of the call whose map
//! changed before its turn (learned from a refusal, or adopted) is planned
//! again before it ships ([`Router::route_planned`]). Nothing is lost (a refused
//! event is reported, never acknowledged), and nothing is accepted by a node
//! that knows it is not the owner.
//!
//! This crate depends on no simulator: the network transport lives in
//! `shipper-net`, the harness in `shipsim`.

#![warn(unreachable_pub)]

mod batch_error;
#[doc(hidden)]
pub mod broken;
mod channel;
mod error;
mod event;
mod fence;
mod handover;
mod ids;
mod in_process;
mod local_sink;
pub mod probes;
mod router;
mod shard_map;
mod shipper;
mod sink;
mod stats;
mod transport;

pub use batch_error::BatchError;
pub use error::{FailureOutcome, ShipperError, ShipperResult};
pub use event::ShippedEvent;
pub use fence::{Accepting, Fence, Refusal, UNFENCED_EPOCH};
pub use ids::{NodeId, ShardId};
pub use in_process::InProcessShipperTransport;
pub use router::{DestinationBatch, InstallObserver, PlannedBatch, Replan, Routed, Router, ShipObserver};
pub use shard_map::{RebalancePlan, ShardMap, ShardMapError, ShardMove, fnv1a_64};
pub use shipper::{EventShipper, ShipperConfig};
pub use sink::{EventSink, SinkClosed, SinkError};
pub use stats::{ShipperStats, ShipperStatsSnapshot};
pub use transport::ShipperTransport;
