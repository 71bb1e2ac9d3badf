//! Errors, and what each one says about whether the event arrived.

use thiserror::Error;

use crate::fence::Refusal;
use crate::ids::{NodeId, ShardId};

/// Convenience alias.
pub type ShipperResult<T> = std::result::Result<T, ShipperError>;

/// Errors raised by [`crate::EventShipper`] and its transports.
///
/// The original's three variants keep their meaning. The others exist because a
/// caller that wants to retry must know whether the event may already have
/// arrived: see [`ShipperError::outcome`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShipperError {
    /// The destination node has no registered receiver (or no local sink).
    #[error("no route to node {0}")]
    NoRoute(NodeId),
    /// The event was not handed over: the receiver is gone or refused it.
    #[error("send failed: {0}")]
    Send(String),
    /// Local routing rejected the message (bad shard).
    #[error("invalid shard {0}")]
    InvalidShard(ShardId),
    /// The payload could not be encoded; nothing was sent.
    #[error("encode failed: {0}")]
    Encode(String),
    /// The payload could not be decoded.
    #[error("decode failed: {0}")]
    Decode(String),
    /// A live receiver is already registered for this node; replacing it must
    /// be asked for explicitly.
    #[error("node {0} already has a live receiver")]
    RouteExists(NodeId),
    /// The deadline passed before the event was handed over: it was not sent.
    #[error("the deadline passed before the event to {0} was sent")]
    Timeout(NodeId),
    /// The receiver does not own the events' shard under its map, which is
    /// not older than the one the batch was planned with: it refused them,
    /// and they were not delivered. `epoch` and `members` are its map, for
    /// [`crate::Router::learn`].
    #[error("node {node} refused the events: it does not own their shard at epoch {epoch}")]
    WrongOwner {
        /// The refusing node.
        node: NodeId,
        /// The epoch of the refusing node's map.
        epoch: u64,
        /// The refusing node's members, in name order.
        members: Vec<NodeId>,
    },
    /// The event may or may not have been delivered: it was handed over, but no
    /// acknowledgement came back before the deadline.
    #[error("delivery to {node} is unknown: {reason}")]
    Ambiguous {
        /// Destination.
        node: NodeId,
        /// What was waited for and did not come.
        reason: String,
    },
}

/// What a failed ship says about the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// The event was certainly not delivered; a retry cannot duplicate it.
    NotDelivered,
    /// The event may have been delivered; a retry may duplicate it.
    Unknown,
}

impl ShipperError {
    /// The refusal a [`ShipperError::WrongOwner`] carries.
    pub fn refusal(&self) -> Option<Refusal> {
        match self {
            ShipperError::WrongOwner { epoch, members, .. } => {
                Some(Refusal { epoch: *epoch, members: members.clone() })
            }
            _ => None,
        }
    }

    /// Whether the event may have been delivered despite the error.
    pub fn outcome(&self) -> FailureOutcome {
        match self {
            ShipperError::Ambiguous { .. } => FailureOutcome::Unknown,
            _ => FailureOutcome::NotDelivered,
        }
    }

    /// Shorthand for `outcome() == FailureOutcome::Unknown`.
    pub fn is_ambiguous(&self) -> bool {
        self.outcome() == FailureOutcome::Unknown
    }
}
