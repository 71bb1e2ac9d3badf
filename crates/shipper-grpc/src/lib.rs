//! # shipper-grpc — acknowledged event shipping over gRPC
//!
//! A [`shipper::ShipperTransport`] on tonic and hyper's HTTP/2 with the guarantees of
//! shipper-net's TCP transport: `Ok` only after the destination's sink accepted; errors that
//! say whether the events may have arrived; every call ended by its deadline, which reaches
//! the receiver as the gRPC deadline; reconnects with seeded backoff; idempotent retries;
//! per-batch order; a bound on calls in flight; a message size limit. Like shipper-net it is
//! generic over [`shipper_net::Network`], so the same code runs on tokio's sockets
//! ([`shipper_net::TokioNet`]) and on turmoil's (`TurmoilNet`, feature `turmoil`).
//!
//! ## The RPC shape: ship calls as messages on one stream per connection
//!
//! `Shipper.Stream(stream ShipRequest) returns (stream ShipReply)` (`proto/shipper.proto`): a
//! sender opens one such RPC on each HTTP/2 connection it makes (`session`), and every ship
//! call to the destination (an event or a batch) goes as a request message on it; the
//! receiver answers each with one reply message carrying the call's key, as soon as that
//! call's delivery ends (`stream`), so a slow call never holds up a quick one.
//!
//! - The reply is the acknowledgement: it counts the events the sink accepted, so there is no
//!   ack numbering to get wrong, and a partial answer (refused part-way, or the deadline
//!   reached) is exact. A request the receiver turns away (malformed, stale, too many calls
//!   open, its sink closed) is answered by a reply carrying the gRPC status code the unary
//!   RPC would have ended with; the stream goes on.
//! - Each request carries the time its sender waits for the reply (`timeout_nanos`, what a
//!   unary call's `grpc-timeout` says), so the receiver knows when to stop offering events.
//! - A stream that ends (its connection died, the receiving life ended) leaves every call
//!   still waiting without a reply: each is then uncertain and retried on a new connection,
//!   as a unary call whose connection died is. Within a stream a call has at most one attempt
//!   waiting, so the key matches a reply to its attempt.
//! - The receiver serves at most `max_unacked` calls of a stream at once and reads the next
//!   request when one ends: HTTP/2's flow control holds a sender that sends more.
//!
//! Why not one unary `Ship` RPC per call, the first design: each cost an HTTP/2 stream
//! (HEADERS and trailers each way, h2's stream states, hyper's client dispatch and
//! request-body tasks, its server stream task), which made the simulated transport run at 0.6
//! of the TCP transport's speed; a call as a DATA frame each way brought it to 0.85 (by
//! instructions, `docs/benchmarks.md`). What the unary shape gave for free is kept by hand:
//! the deadline travels in the request, the status in the reply. The unary `Ship` still
//! serves the same requests through the same handler (`handler`), for a client in another
//! language that prefers it.
//!
//! A batch larger than one message may be (`max_frame`) is sent as consecutive requests of
//! the same key, each starting where the last reply ended, so it stays in order.
//!
//! ## Idempotent retries
//!
//! Every attempt of a ship call carries the sender's (node, life), the call's key (unique in
//! the life and destination) and the position of its first event in the call. The receiver
//! keeps, per key, how many events its sink accepted, and delivers a position only if it is
//! the next one: a retry after a lost reply drops what was delivered and goes on from there.
//! Keys are forgotten once the sender says they are settled: every request lists the sender's
//! open calls to the receiver (`open`, up to the newest key `issued`) besides the oldest one
//! (`settled_below`), so the receiver's memory is bounded by the calls in flight, also when
//! calls settle out of order (a watermark alone kept every call made since the oldest open
//! one: one slow call made a busy receiver turn calls away).
//!
//! ## Failure detection
//!
//! HTTP/2 keepalive ([`Keepalive`]) pings after half `ack_timeout` without a frame and gives
//! the connection up when the pong is late by `ack_timeout`, raised to what the round trips of
//! the connection handshakes need (`shipper_net::Rto`): the pong is the TCP transport's ack
//! (a round trip within the pong limit keeps a connection), and a partitioned connection is
//! noticed within half an ack timeout plus the pong limit of its last frame; its calls then
//! retry on a new
//! connection after the backoff. A receiver whose sink is slow keeps answering pings, so a
//! slow sink is not mistaken for a dead link. (Both halves at half the ack timeout, the first
//! design, killed every healthy connection whose round trip exceeded half the ack timeout:
//! see `docs/transports.md`.)
//!
//! ## Determinism
//!
//! tonic's `transport` feature is not used: its `Channel` reconnects at once and unseeded
//! and spawns with `tokio::spawn`, and its server spawns each connection on the runtime. This
//! crate drives hyper's HTTP/2 client and server connections itself, spawning every task
//! through the [`shipper_net::Network`] (a simulated host's `LocalSet`) and timing everything
//! on tokio's clock. Two wall-clock reads inside hyper and h2 are switched off: the server's
//! `date` header, and h2's expiry of locally reset streams (none are kept). The rest of
//! hyper, h2 and tonic uses no random state, threads or clock that reaches behaviour; the
//! harness's determinism check runs every scenario twice per transport and compares the
//! traces byte for byte.

#![warn(unreachable_pub)]

pub mod pb;

mod broken;
mod calls;
mod chan;
mod deadline;
#[cfg(all(test, feature = "turmoil"))]
mod deadline_tests;
mod delivery;
mod handler;
mod http2;
mod keepalive;
mod keys;
mod link;
mod rt;
mod server;
mod session;
mod shared;
mod stream;
mod transport;
mod wire;

pub use keepalive::Keepalive;
pub use server::GrpcServer;
#[cfg(feature = "turmoil")]
pub use shipper_net::TurmoilNet;
pub use shipper_net::{NetConfig, NetStats, NetStatsSnapshot, Network, TokioNet, TransportObserver};
pub use transport::GrpcTransport;
pub use wire::{ENVELOPE, REPLY_FLOOR, message_limit, reply_limit};
