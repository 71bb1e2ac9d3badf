//! The names of nodes and shards, which every other module speaks of.

/// A logical node name. Mapping it to an address is the transport's business.
pub type NodeId = String;

/// A shard number, always `< n_shards` of the [`crate::ShardMap`] that produced it.
pub type ShardId = u32;
