//! Handing shards over at a map change without a moment of two owners.
//!
//! A receiver checks its fence when an event arrives, but the application
//! accepts it later (an accept can take time). If the node installed a new
//! map in between that gives the event's shard to another node, it would
//! accept an event for a shard it already knows it lost, while the new
//! owner accepts events of the same shard: the check and the act would not
//! be one step. So a node counts the events it admitted whose accept has not
//! ended, per shard, and a new map that takes away a shard with such events
//! waits (it is *staged*) until they end. Meanwhile the fence already judges
//! by the staged map: an event of a shard the node is giving away is
//! refused, with the staged map for the sender to learn, so the wait ends.

use std::collections::BTreeMap;

use crate::broken::{self, Variant};
use crate::ids::{NodeId, ShardId};
use crate::shard_map::ShardMap;

/// Accepts in progress, and a map waiting for them.
#[derive(Debug, Default)]
pub(crate) struct Handover {
    /// Events admitted and not yet accepted (or abandoned), per shard.
    admitted: BTreeMap<ShardId, u32>,
    /// The newest map received, when installing it must wait.
    pub(crate) staged: Option<ShardMap>,
}

impl Handover {
    /// An event of `shard` was admitted; its accept is in progress.
    pub(crate) fn admit(&mut self, shard: ShardId) {
        *self.admitted.entry(shard).or_default() += 1;
    }

    /// An admitted event's accept ended (accepted, abandoned or cut short).
    pub(crate) fn done(&mut self, shard: ShardId) {
        if let Some(count) = self.admitted.get_mut(&shard) {
            *count -= 1;
            // broken::HandoverFlag: the first accept to end clears the shard, as a flag would.
            if *count == 0 || broken::is(Variant::HandoverFlag) {
                self.admitted.remove(&shard);
            }
        }
    }

    /// Whether installing `next` must wait: a shard with accepts in progress
    /// is not `me`'s under it. Whether `me` owns that shard now does not
    /// matter: an event admitted because its sender's map was newer is
    /// accepted under that map, and a `next` that gives the shard to a third
    /// node must wait for it just the same.
    pub(crate) fn blocks(&self, next: &ShardMap, me: &NodeId) -> bool {
        self.admitted.keys().any(|&shard| !next.owner(shard).is_ok_and(|owner| owner == me))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_shard_being_lost_with_accepts_in_progress_blocks() {
        let current = ShardMap::with_nodes(16, ["a", "b"]).unwrap();
        let mut next = current.clone();
        let plan = next.add_node("c").unwrap();
        let lost = plan.moves.iter().find(|m| m.from.as_deref() == Some("a")).expect("a loses a shard").shard;
        let kept =
            (0..16).find(|&s| current.owner(s).unwrap() == "a" && next.owner(s).unwrap() == "a").unwrap();
        let me = "a".to_owned();
        let mut handover = Handover::default();
        handover.admit(kept);
        assert!(!handover.blocks(&next, &me), "a shard a keeps does not block");
        handover.admit(lost);
        handover.admit(lost);
        assert!(handover.blocks(&next, &me));
        handover.done(lost);
        assert!(handover.blocks(&next, &me), "one accept still in progress");
        handover.done(lost);
        assert!(!handover.blocks(&next, &me));
    }

    #[test]
    fn an_accept_admitted_for_a_newer_sender_blocks_a_map_that_gives_its_shard_away() {
        // a is behind (b owns the shard in a's map); a sender on a newer map sent it here.
        let current = ShardMap::with_nodes(16, ["a", "b"]).unwrap();
        let shard = (0..16).find(|&s| current.owner(s).unwrap() == "b").unwrap();
        let mut handover = Handover::default();
        handover.admit(shard);
        let elsewhere = ShardMap::from_members(16, ["b"], 3).unwrap();
        assert!(handover.blocks(&elsewhere, &"a".to_owned()), "a map giving it to b waits");
        let mine = ShardMap::from_members(16, ["a"], 5).unwrap();
        assert!(!handover.blocks(&mine, &"a".to_owned()), "a map giving it to a does not wait");
    }
}
