//! # shipper-nats — acknowledged event shipping over NATS
//!
//! A [`shipper::ShipperTransport`] on core NATS (the `async-nats` client) with the contract
//! of the other bundled transports: `Ok(n)` only for what the receiver's sink took, a
//! deadline per call, no event delivered twice within a receiver's life, and every failure
//! either certain ("not delivered") or [`shipper::ShipperError::Ambiguous`].
//!
//! ## The shape: core request/reply per ship call, an idempotency key in the headers
//!
//! Node `n` subscribes to `{prefix}.n`. A ship call is a NATS request to the destination's
//! subject; the receiver's reply is the acknowledgement and counts the events its sink took
//! (`wire::Reply`). The headers carry the call's idempotency key (sender node, life, call
//! number) and the position of the payload's first event, so a resent request (after an
//! unanswered one) is recognised and delivered from where the last attempt stopped
//! (`keys.rs`). A batch over the payload limit goes as consecutive requests of one key.
//!
//! Why not JetStream: a stream would persist every event on the broker and acknowledge the
//! sender once the broker stored it, which is not the contract: `Ok` must mean the
//! destination's sink took the event, so the acknowledgement has to come from the receiver
//! anyway, end to end. With it, a persistent stream adds a second copy and a second
//! acknowledgement to keep consistent, and nothing the contract needs: a sender that gets
//! no reply resends under its key until its deadline, as the TCP and gRPC transports do.
//! Core NATS's at-most-once delivery is enough under an end-to-end ack.
//!
//! ## Outcomes
//!
//! - a reply: the events it counts are delivered; a refusal of the receiver's fence is
//!   [`shipper::ShipperError::WrongOwner`] (certain, as below);
//! - "no responders" (the broker knows no subscriber on the subject: the receiver is down or
//!   has not subscribed yet): this attempt was certainly not delivered; retried after a
//!   backoff until the deadline;
//! - no reply within `ack_timeout` (the request or the reply lost to a broker crash, a cut
//!   link, a paused receiver, a slow sink): resent under the same key after a backoff.
//!
//! A call that fails is `Ambiguous` once any of its attempts went unanswered (that attempt
//! may have been delivered by a receiver life that then died), and certain otherwise
//! (`Timeout`, `Encode` for an event over the payload limit, `WrongOwner`, `Send`).
//!
//! ## Settings
//!
//! [`NatsConfig`]: the subject prefix, the attempt timeout (`ack_timeout`), the retry backoff,
//! the payload limit (the broker's `max_payload` from its `INFO` caps it further), and the
//! client's reconnect delays, connection timeout and ping interval. The client reconnects
//! for ever; requests made while it is away wait in its buffer.
//!
//! ## Not simulated
//!
//! async-nats opens tokio sockets itself, so this transport runs on a real broker only:
//! `shipsim run --real` starts a `nats-server` (see `docs/transports.md`).

#![warn(unreachable_pub)]

mod broken;
mod config;
mod connect;
mod keys;
mod server;
mod transport;
pub mod wire;

pub use config::NatsConfig;
pub use shipper_net::{NetStats, NetStatsSnapshot, TransportObserver};
pub use transport::NatsTransport;
