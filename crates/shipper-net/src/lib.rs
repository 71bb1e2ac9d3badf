//! # shipper-net — acknowledged event shipping over TCP
//!
//! A [`shipper::ShipperTransport`] whose `Ok` means the destination's sink
//! accepted the event, whose errors say whether the event may have arrived,
//! and whose every call ends by a deadline. The protocol is written once,
//! generic over a small [`Network`] trait with two implementations: tokio's
//! sockets ([`TokioNet`]) and turmoil's simulated ones (`TurmoilNet`, cargo
//! feature `turmoil`), so simulations exercise the production code.
//!
//! ## Protocol
//!
//! Each destination gets `connections` slots. A slot carries one *stream* at
//! a time: a connection opens with a [`Frame::Hello`] naming (node, life,
//! slot, stream id) and numbering the connection within the slot, then
//! numbered [`Frame::Event`]s (1, 2, 3, …). A ship
//! call goes whole onto one slot (round-robin), so a batch is contiguous and
//! in order; different calls use different slots and may overtake.
//!
//! The receiver ([`NetServer`]) delivers a stream strictly in order: the next
//! expected number goes to the [`EventSink`] and is acknowledged only after
//! the sink accepted it (a sink that answers busy, [`SinkError::Busy`], is
//! offered the event again every [`NetConfig::busy_retry`], the event
//! unacknowledged meanwhile); a lower number is a duplicate, dropped and
//! acknowledged again; a higher one is dropped unacknowledged. It remembers
//! only the next expected number per stream, and only the newest stream per
//! slot and the newest life per sender.
//!
//! A server may be *fenced* ([`NetServer::with_fence`], usually by the
//! node's [`shipper::Router`]): every event frame carries the epoch of the
//! shard map its batch was planned with, and the fence admits it (this node
//! owns the shard, or the sender's map is newer) or refuses it. A refused
//! event is answered with [`Frame::Refuse`] (the receiver's epoch and
//! members), never handed to the sink and never acknowledged; its number is
//! consumed, so the stream goes on, and every later frame of the same batch
//! on the stream is refused too, so what a batch delivered stays a prefix of
//! it. The receiver remembers refused numbers until a hello shows the sender
//! settled them, so a resent copy is refused again rather than acknowledged
//! as a duplicate. The sender's call ends at the first refusal, the
//! acknowledged prefix counted as shipped, with
//! [`shipper::ShipperError::WrongOwner`] (certain: not delivered) when the
//! refusing life is the only one that can have received the events handed
//! back: the refusal names the first connection of the slot that life saw,
//! which reached it, as did every later one (it still answers). An event
//! first written on an older connection may have reached an earlier life of
//! the receiver and been delivered there before a restart, its ack lost:
//! then the call ends `Ambiguous`.
//!
//! The sender keeps at most `max_unacked` events in flight per slot. When the
//! oldest one's ack is late by the answer timeout ([`Rto`]: `ack_timeout`,
//! raised to what the measured round trips need), or the connection fails, it
//! reconnects (exponential backoff, seeded jitter) and resends the unacked
//! events in order on the same stream, whose duplicates the receiver drops.
//! When a call's deadline passes it fails: `Ambiguous` if any of its
//! unacknowledged events was written, a never-sent error otherwise. Once
//! only such abandoned events are in flight, the slot starts a new stream so
//! later calls do not wait behind the gap they leave; an event is never
//! written on two streams, which is why per-stream dedup suffices.
//!
//! Frames are length-prefixed binary ([`codec`]); anything malformed,
//! oversized, truncated or unexpected closes that connection and is counted.
//!
//! [`Segmented`] wraps any [`Network`] so that its byte streams arrive in
//! seeded pieces: reads end inside frames and span several, as TCP allows.

#![warn(unreachable_pub)]

pub mod codec;
pub mod frame;

mod backoff;
mod broken;
mod config;
mod dedup;
mod idle;
mod link;
mod net;
mod observer;
mod rto;
mod segmented;
mod server;
mod shared;
mod slot;
mod stats;
mod tokio_net;
mod transport;
#[cfg(feature = "turmoil")]
mod turmoil_net;

pub use backoff::Backoff;
pub use codec::FrameError;
pub use config::NetConfig;
pub use frame::{DEFAULT_MAX_FRAME, Frame, PROTOCOL_VERSION};
pub use net::Network;
pub use observer::TransportObserver;
pub use rto::Rto;
pub use segmented::{Segmented, SegmentedListener, SegmentedStream, drawn_sizes, log_uniform};
pub use server::{NetServer, serve};
/// The receiving application's interface, defined in `shipper` so that any
/// transport implements against it; re-exported here for existing users.
pub use shipper::{EventSink, SinkClosed, SinkError};
pub use stats::{NetStats, NetStatsSnapshot};
pub use tokio_net::TokioNet;
pub use transport::NetTransport;
#[cfg(feature = "turmoil")]
pub use turmoil_net::{DEFAULT_PORT, TurmoilNet};
