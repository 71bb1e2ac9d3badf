//! Key → shard → owner, with a placement every node computes alike.
//!
//! oxirs placed shard `s` on `nodes[s % K]` in join order, so two nodes that
//! saw joins in a different order disagreed on every owner, and growing from
//! 3 to 4 nodes moved 9 of 12 shards where 3 would do. Here the owner of a
//! shard is the node with the highest rendezvous score for it (highest random
//! weight hashing): it depends only on the set of nodes, and a join or leave
//! moves only the shards that must move.

use std::collections::BTreeMap;

use thiserror::Error;

use crate::ids::{NodeId, ShardId};

const FNV_OFFSET: u64 = 14695981039346656037;
const FNV_PRIME: u64 = 1099511628211;

/// FNV-1a, 64 bits, with oxirs's constants: `shard = fnv1a_64(key) % n_shards`
/// must pick the same shard oxirs picks for the same key.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME))
}

/// splitmix64's finaliser: FNV alone clusters on short, similar names
/// ("n1", "n2"), which would skew the rendezvous scores.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

fn rendezvous_score(node_hash: u64, shard: ShardId) -> u64 {
    mix(node_hash ^ mix(u64::from(shard).wrapping_add(0x9e3779b97f4a7c15)))
}

/// Why a shard map operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ShardMapError {
    /// A map needs at least one shard (`% 0` has no answer).
    #[error("a shard map needs at least one shard")]
    ZeroShards,
    /// The shard is not `< n_shards`.
    #[error("shard {shard} is out of range (the map has {n_shards} shards)")]
    InvalidShard {
        /// The shard asked for.
        shard: ShardId,
        /// How many shards the map has.
        n_shards: u32,
    },
    /// No node is a member, so no shard has an owner.
    #[error("the shard map has no nodes")]
    NoNodes,
    /// The node is already a member.
    #[error("node {0} is already a member")]
    DuplicateNode(NodeId),
    /// The node is not a member.
    #[error("node {0} is not a member")]
    UnknownNode(NodeId),
}

/// One shard changing owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardMove {
    /// The shard that moves.
    pub shard: ShardId,
    /// Its owner before (`None` if it had none: the map was empty).
    pub from: Option<NodeId>,
    /// Its owner after (`None` if it has none: the last node left).
    pub to: Option<NodeId>,
}

/// The result of a membership change: the new owners and what moved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebalancePlan {
    /// The epoch of the map after the change.
    pub epoch: u64,
    /// Every shard's owner after the change.
    pub new_assignment: BTreeMap<ShardId, NodeId>,
    /// The shards whose owner changed, in shard order.
    pub moves: Vec<ShardMove>,
}

/// Maps keys to shards and shards to owning nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardMap {
    n_shards: u32,
    /// Members, sorted by name, with their hashes (computed once).
    nodes: Vec<(NodeId, u64)>,
    /// `owners[shard]` indexes `nodes`.
    owners: Vec<usize>,
    epoch: u64,
}

impl ShardMap {
    /// An empty map of `n_shards` shards, at epoch 0.
    pub fn new(n_shards: u32) -> Result<Self, ShardMapError> {
        if n_shards == 0 {
            return Err(ShardMapError::ZeroShards);
        }
        Ok(Self { n_shards, nodes: Vec::new(), owners: Vec::new(), epoch: 0 })
    }

    /// A map with the given members, at epoch 0.
    pub fn with_nodes<I, N>(n_shards: u32, nodes: I) -> Result<Self, ShardMapError>
    where
        I: IntoIterator<Item = N>,
        N: Into<NodeId>,
    {
        let mut map = Self::new(n_shards)?;
        for node in nodes {
            let node = node.into();
            match map.position(&node) {
                Ok(_) => return Err(ShardMapError::DuplicateNode(node)),
                Err(at) => {
                    let hash = fnv1a_64(node.as_bytes());
                    map.nodes.insert(at, (node, hash));
                }
            }
        }
        map.place();
        Ok(map)
    }

    /// The map of `members` at `epoch`: what a node that went through
    /// `epoch` membership changes ending with these members holds. Placement
    /// depends only on the member set, so this is the same map, owner for
    /// owner, as the one reached by `add_node`/`remove_node`; it is how a
    /// node rebuilds the map a refusal describes ([`crate::Refusal`]).
    pub fn from_members<I, N>(n_shards: u32, members: I, epoch: u64) -> Result<Self, ShardMapError>
    where
        I: IntoIterator<Item = N>,
        N: Into<NodeId>,
    {
        let mut map = Self::with_nodes(n_shards, members)?;
        map.epoch = epoch;
        Ok(map)
    }

    /// The shards whose owner differs between `older` and this map, in shard
    /// order (a shard with no owner in one of them counts as moved). What a
    /// node hands over or takes on when it installs this map over `older`.
    pub fn moved_since(&self, older: &ShardMap) -> Vec<ShardId> {
        (0..self.n_shards.max(older.n_shards))
            .filter(|&shard| self.owner(shard).ok() != older.owner(shard).ok())
            .collect()
    }

    /// This map's owners under another epoch number. Only for
    /// `broken::StaleMap`, which keeps its owners while the epoch advances.
    pub(crate) fn relabelled(mut self, epoch: u64) -> Self {
        self.epoch = epoch;
        self
    }

    /// How many shards keys are spread over.
    pub fn n_shards(&self) -> u32 {
        self.n_shards
    }

    /// Increases by one on every membership change, so a holder of an old
    /// map can tell it is stale.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The members, in name order.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeId> {
        self.nodes.iter().map(|(name, _)| name)
    }

    /// Whether `node` is a member.
    pub fn contains(&self, node: &str) -> bool {
        self.position(node).is_ok()
    }

    /// The shard a key belongs to: `fnv1a_64(key) % n_shards`.
    pub fn shard_for(&self, key: &str) -> ShardId {
        (fnv1a_64(key.as_bytes()) % u64::from(self.n_shards)) as ShardId
    }

    /// The node that owns `shard`.
    pub fn owner(&self, shard: ShardId) -> Result<&NodeId, ShardMapError> {
        if shard >= self.n_shards {
            return Err(ShardMapError::InvalidShard { shard, n_shards: self.n_shards });
        }
        match self.owners.get(shard as usize) {
            Some(&index) => Ok(&self.nodes[index].0),
            None => Err(ShardMapError::NoNodes),
        }
    }

    /// The shard of `key` and the node that owns it.
    pub fn locate(&self, key: &str) -> Result<(ShardId, &NodeId), ShardMapError> {
        let shard = self.shard_for(key);
        Ok((shard, self.owner(shard)?))
    }

    /// Every shard's owner (empty when there are no nodes).
    pub fn assignment(&self) -> BTreeMap<ShardId, NodeId> {
        self.owners
            .iter()
            .enumerate()
            .map(|(shard, &index)| (shard as ShardId, self.nodes[index].0.clone()))
            .collect()
    }

    /// Add a member; only shards whose highest score is now the new node's move.
    pub fn add_node(&mut self, node: impl Into<NodeId>) -> Result<RebalancePlan, ShardMapError> {
        let node = node.into();
        let at = match self.position(&node) {
            Ok(_) => return Err(ShardMapError::DuplicateNode(node)),
            Err(at) => at,
        };
        let before = self.assignment();
        let hash = fnv1a_64(node.as_bytes());
        self.nodes.insert(at, (node, hash));
        Ok(self.rebalance(before))
    }

    /// Remove a member; only the shards it owned move.
    pub fn remove_node(&mut self, node: &str) -> Result<RebalancePlan, ShardMapError> {
        let at = self.position(node).map_err(|_| ShardMapError::UnknownNode(node.to_owned()))?;
        let before = self.assignment();
        self.nodes.remove(at);
        Ok(self.rebalance(before))
    }

    fn position(&self, node: &str) -> Result<usize, usize> {
        self.nodes.binary_search_by(|(name, _)| name.as_str().cmp(node))
    }

    fn rebalance(&mut self, before: BTreeMap<ShardId, NodeId>) -> RebalancePlan {
        self.epoch += 1;
        self.place();
        let new_assignment = self.assignment();
        let moves = (0..self.n_shards)
            .filter_map(|shard| {
                let from = before.get(&shard);
                let to = new_assignment.get(&shard);
                (from != to).then(|| ShardMove { shard, from: from.cloned(), to: to.cloned() })
            })
            .collect();
        RebalancePlan { epoch: self.epoch, new_assignment, moves }
    }

    /// Recomputes every owner: the member with the highest score, ties (which
    /// need a 64-bit collision) going to the lower name.
    fn place(&mut self) {
        self.owners.clear();
        if self.nodes.is_empty() {
            return;
        }
        for shard in 0..self.n_shards {
            let mut best = 0;
            let mut best_score = rendezvous_score(self.nodes[0].1, shard);
            for (index, (_, hash)) in self.nodes.iter().enumerate().skip(1) {
                let score = rendezvous_score(*hash, shard);
                if score > best_score {
                    best = index;
                    best_score = score;
                }
            }
            self.owners.push(best);
        }
    }
}
