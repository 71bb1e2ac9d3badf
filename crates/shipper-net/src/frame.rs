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
/// 1: JSON bodies. 2: binary bodies (see [`crate::codec`]). 3: events carry
/// the epoch of the shard map they were planned with; the `Refuse` frame.
/// 4: the `Skip` frame. 5: `Hello` numbers its connection, `Refuse` names
/// the first connection the refusing life saw.
pub const PROTOCOL_VERSION: u32 = 5;

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
        /// This connection's number within (node, life, slot), from 1, one
        /// more for each connection the slot opens, whatever its stream.
        conn: u64,
    },
    /// One event of a ship call, sender to receiver.
    Event {
        /// Position in the stream, from 1.
        seq: u64,
        /// The ship call (batch) it belongs to, unique per sending transport.
        batch: u64,
        /// Position within the batch, from 0.
        index: u32,
        /// The epoch of the shard map the batch was planned with
        /// ([`shipper::UNFENCED_EPOCH`] when it was not): a fenced receiver
        /// admits or refuses the event by it ([`shipper::Fence`]).
        epoch: u64,
        /// The event itself.
        event: E,
    },
    /// Receiver to sender: every event of the stream up to and including
    /// `seq` reached the sink. Acks are cumulative because delivery is in order.
    Ack {
        /// Highest delivered sequence number.
        seq: u64,
    },
    /// Receiver to sender: the event `seq` was refused by the receiver's
    /// fence (it does not own the event's shard) and will never be
    /// delivered; neither will the later events of its batch on this
    /// stream, each refused in turn. The stream goes on past it: later
    /// batches are delivered and acknowledged as usual.
    Refuse {
        /// The refused event's sequence number.
        seq: u64,
        /// The epoch of the receiver's shard map.
        epoch: u64,
        /// The receiver's members, in name order: its map, to learn.
        members: Vec<NodeId>,
        /// The lowest connection number (`Hello::conn`) of the sender's
        /// slot that this receiving life has seen a hello on. That
        /// connection reached this life, which still answers, so every
        /// later connection of the slot reached it too: the refusal is
        /// certain for an event first written on one of them. An event
        /// written on an older connection may have reached an earlier life
        /// of the receiver and been delivered there.
        first_conn: u64,
    },
    /// Sender to receiver, in place of an event resent after a reconnect:
    /// the event `seq` belongs to a call the sender already ended as
    /// refused (certainly not delivered). The receiver consumes the number
    /// and delivers nothing, so a receiver that restarted since the refusal
    /// (and forgot it) cannot deliver what the sender reported undelivered,
    /// while the numbers stay contiguous for the events behind it.
    Skip {
        /// The skipped event's sequence number.
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
            Frame::Refuse { .. } => "refuse",
            Frame::Skip { .. } => "skip",
        }
    }
}
