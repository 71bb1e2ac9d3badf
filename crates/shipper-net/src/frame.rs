//! What travels on the wire: the frames of the shipping protocol.
//!
//! One connection carries one *stream*: a `Hello` first, then `Event` frames
//! from the sender and `Ack` frames from the receiver. A stream is named by
//! (source node, source life, slot, stream id) and numbers its events 1, 2,
//! 3, …; the receiver delivers a stream strictly in that order, which is what
//! keeps a batch (always sent on one stream) in order with no gaps.

use shipper::{NodeId, ShippedEvent};

/// Version carried by every `Hello`; a receiver refuses any other.
///
/// 1: JSON bodies. 2: binary bodies (see [`crate::codec`]).
pub const PROTOCOL_VERSION: u32 = 2;

/// Default limit on a frame's body, in bytes (1 MiB).
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// Bytes of the length prefix in front of every frame body.
pub const LENGTH_PREFIX: usize = 4;

/// A protocol frame; see [`crate::codec`] for its bytes on the wire.
///
/// Generic over the event so the sender can encode a frame that borrows the
/// event (`Frame<&ShippedEvent>`) and the receiver can decode one that owns
/// it (`Frame<ShippedEvent>`): both have the same wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<E = ShippedEvent> {
    /// First frame of every connection, sender to receiver: which stream the
    /// following events belong to.
    Hello {
        /// Must equal [`PROTOCOL_VERSION`].
        version: u32,
        /// The sending node.
        node: NodeId,
        /// The sending process's life: distinct for every incarnation of the
        /// node and increasing across restarts.
        life: u64,
        /// Which pooled connection of the sender this is.
        slot: u32,
        /// Stream id within (node, life, slot); a new id starts a fresh
        /// sequence and retires the older ids.
        stream: u64,
        /// The lowest sequence number the sender will (re)send on this
        /// connection: every lower one was acknowledged. A receiver that has
        /// no state for the stream (it restarted) starts expecting `base`.
        base: u64,
    },
    /// One event of a ship call, sender to receiver.
    Event {
        /// Position in the stream, from 1.
        seq: u64,
        /// The ship call (batch) it belongs to, unique per sending transport.
        batch: u64,
        /// Position within the batch, from 0.
        index: u32,
        /// The event itself.
        event: E,
    },
    /// Receiver to sender: every event of the stream up to and including
    /// `seq` reached the sink. Acks are cumulative because delivery is in order.
    Ack {
        /// Highest delivered sequence number.
        seq: u64,
    },
}

impl<E> Frame<E> {
    /// The frame's kind, for log messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Frame::Hello { .. } => "hello",
            Frame::Event { .. } => "event",
            Frame::Ack { .. } => "ack",
        }
    }
}
