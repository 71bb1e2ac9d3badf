//! The receiver's fence: what a node does with an event for a shard it does
//! not own.
//!
//! Every event a [`crate::Router`] ships carries the epoch of the shard map
//! its batch was planned with. A receiving transport that has a [`Fence`]
//! asks it about each event before handing it to the sink:
//!
//! - the receiver owns the event's shard under its own map: admitted;
//! - the sender's epoch is newer than the receiver's: admitted. The receiver
//!   is behind; the sender's newer map names it the owner and the receiver
//!   will learn that map soon, so refusing would only bounce the event back
//!   and forth;
//! - otherwise refused with a [`Refusal`]: the receiver's epoch and members.
//!   Placement depends only on the member set (rendezvous hashing), so the
//!   sender rebuilds the receiver's map from it ([`crate::ShardMap::from_members`]),
//!   installs it if it is newer than its own ([`crate::Router::learn`]) and
//!   plans the refused events again ([`crate::Router::replan`]).
//!
//! An admitted event's accept may take time; the fence hears when it ends
//! ([`Fence::done`]), so that a map change taking its shard away waits for
//! it: see `handover.rs`.
//!
//! A refused event is never handed to the sink and never acknowledged: the
//! sender's call ends with [`crate::ShipperError::WrongOwner`], which is
//! certain (the events were not delivered), so re-planning them duplicates
//! nothing.

use crate::ids::{NodeId, ShardId};

/// The epoch of an event shipped without a shard map (a plain
/// [`crate::EventShipper::ship_batch`]): newer than any map, so a fence
/// admits it. Transports that cannot carry an epoch behave the same way.
pub const UNFENCED_EPOCH: u64 = u64::MAX;

/// Why a receiver refused an event: its own map, for the sender to learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The epoch of the receiver's map.
    pub epoch: u64,
    /// The receiver's members, in name order.
    pub members: Vec<NodeId>,
}

/// Decides, per event, whether this node takes events of `shard`.
pub trait Fence: Send + Sync {
    /// Admit an event of `shard` that its sender planned under `sender_epoch`,
    /// or refuse it with this node's map. See the module docs for the rule.
    fn admit(&self, shard: ShardId, sender_epoch: u64) -> Result<(), Refusal>;

    /// The accept of an event admitted by [`Fence::admit`] ended: accepted,
    /// abandoned, or cut short. A fence that holds a map change back until
    /// the accepts of the shards it takes away have ended (as
    /// [`crate::Router`] does) lets it through now. Call it once per admitted
    /// event, on every path.
    fn done(&self, _shard: ShardId) {}
}

/// An admitted event whose accept is under way: tells the fence
/// ([`Fence::done`]) when it ends, on every path, also when the accept is
/// abandoned or its task dropped by a crash. A receiving transport holds one
/// across each accept of an event its fence admitted.
pub struct Accepting<'a> {
    fence: &'a dyn Fence,
    shard: ShardId,
}

impl<'a> Accepting<'a> {
    /// The accept of an event of `shard`, which `fence` admitted, begins.
    pub fn new(fence: &'a dyn Fence, shard: ShardId) -> Self {
        Accepting { fence, shard }
    }
}

impl Drop for Accepting<'_> {
    fn drop(&mut self) {
        self.fence.done(self.shard);
    }
}
