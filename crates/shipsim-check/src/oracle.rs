//! The placement oracle: which node owns a key, computed from the trace's
//! facts alone (the shard count and a member list), with this module's own
//! code.
//!
//! The placement checker must not ask the system under test where an event
//! belongs: a router that sends to the wrong node would then be its own
//! judge. So the documented placement is written again here, from its
//! definition, not by calling `shipper::ShardMap`:
//!
//! - `shard = fnv1a_64(key) % shards` (FNV-1a, 64 bits, offset basis
//!   `0xcbf29ce484222325`, prime `0x100000001b3`);
//! - a shard's owner is the member with the highest rendezvous score
//!   `splitmix(fnv1a_64(name) ^ splitmix(shard + 0x9e3779b97f4a7c15))`,
//!   where `splitmix` is splitmix64's finaliser; a tie (a 64-bit collision)
//!   goes to the lower name.
//!
//! A test checks that both agree on many keys and memberships.

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// splitmix64's finaliser.
fn splitmix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The shard a key belongs to, out of `shards` (at least 1).
pub(crate) fn shard_of(key: &str, shards: u32) -> u32 {
    (fnv1a(key.as_bytes()) % u64::from(shards.max(1))) as u32
}

/// One membership: who owns each shard.
#[derive(Debug, Clone)]
pub(crate) struct Members {
    /// `(name, fnv1a(name))`, in name order.
    nodes: Vec<(String, u64)>,
}

impl Members {
    /// The members named (duplicates count once).
    pub(crate) fn new<S: AsRef<str>>(names: &[S]) -> Self {
        let mut nodes: Vec<(String, u64)> =
            names.iter().map(|n| (n.as_ref().to_owned(), fnv1a(n.as_ref().as_bytes()))).collect();
        nodes.sort();
        nodes.dedup_by(|a, b| a.0 == b.0);
        Members { nodes }
    }

    /// The owner of `shard`, or `None` when there are no members.
    pub(crate) fn owner(&self, shard: u32) -> Option<&str> {
        let salt = splitmix(u64::from(shard).wrapping_add(0x9e37_79b9_7f4a_7c15));
        let mut best: Option<(&str, u64)> = None;
        // Name order, and only a strictly higher score replaces: ties go to the lower name.
        for (name, hash) in &self.nodes {
            let score = splitmix(hash ^ salt);
            if best.is_none_or(|(_, top)| score > top) {
                best = Some((name, score));
            }
        }
        best.map(|(name, _)| name)
    }

    /// The shards (of `shards`) whose owner differs between `self` and `other`, in order.
    pub(crate) fn moved_to(&self, other: &Members, shards: u32) -> Vec<u32> {
        (0..shards).filter(|&s| self.owner(s) != other.owner(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipper::ShardMap;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    #[test]
    fn agrees_with_the_routers_shard_map_on_many_keys_and_memberships() {
        let mut compared = 0;
        for shards in [1u32, 3, 16, 64, 257] {
            for size in 1..=8 {
                // Every membership of `size` nodes out of 10 whose bits pattern is a window.
                for skip in 0..3 {
                    let members: Vec<String> =
                        names(10).into_iter().skip(skip).step_by(1 + skip).take(size).collect();
                    let map = ShardMap::with_nodes(shards, members.iter().cloned()).unwrap();
                    let oracle = Members::new(&members);
                    for k in 0..200 {
                        let key = format!("key-{k}-{size}");
                        let (shard, owner) = map.locate(&key).unwrap();
                        assert_eq!(shard_of(&key, shards), shard, "shard of {key:?}");
                        assert_eq!(
                            oracle.owner(shard),
                            Some(owner.as_str()),
                            "owner of shard {shard} of {members:?}"
                        );
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared > 20_000);
    }

    #[test]
    fn agrees_with_the_routers_rebalance_plans() {
        let all = names(9);
        let mut map = ShardMap::with_nodes(64, all[..4].iter().cloned()).unwrap();
        let mut members: Vec<String> = all[..4].to_vec();
        for step in 0..12 {
            let before = Members::new(&members);
            let plan = if step % 3 == 2 {
                let leaver = members.remove(step % members.len());
                map.remove_node(&leaver).unwrap()
            } else {
                let joiner = all[4 + step % 5].clone();
                if members.contains(&joiner) {
                    continue;
                }
                members.push(joiner.clone());
                map.add_node(joiner).unwrap()
            };
            let after = Members::new(&members);
            let moved: Vec<u32> = plan.moves.iter().map(|m| m.shard).collect();
            assert_eq!(before.moved_to(&after, 64), moved, "step {step}");
        }
    }

    #[test]
    fn a_join_moves_only_the_shards_the_joiner_wins() {
        let three = Members::new(&["a", "b", "c"]);
        let four = Members::new(&["a", "b", "c", "d"]);
        let moved = three.moved_to(&four, 256);
        assert!(!moved.is_empty(), "a fourth node wins some of 256 shards");
        assert!(moved.iter().all(|&s| four.owner(s) == Some("d")));
        let back = four.moved_to(&three, 256);
        assert_eq!(moved, back, "a leave moves exactly the leaver's shards back");
    }

    #[test]
    fn no_members_no_owner_and_duplicates_count_once() {
        assert_eq!(Members::new::<&str>(&[]).owner(3), None);
        let twice = Members::new(&["b", "a", "b"]);
        let once = Members::new(&["a", "b"]);
        assert!(once.moved_to(&twice, 64).is_empty(), "a duplicate changes no owner");
        assert_eq!(shard_of("anything", 0), 0, "zero shards is read as one");
    }
}
