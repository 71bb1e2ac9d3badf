//! Searching for failures: sweeping seeds in parallel ([`explore`]), steering a sweep by
//! the coverage it reaches ([`guided`]), varying a scenario
//! per seed ([`swarm`]), and shrinking a failure to a smaller scenario that still fails the
//! same way ([`shrink`]); counting what a sweep reached ([`ledger`]) and which of its
//! faults had an effect ([`fault_tally`]) and when each probe was first hit ([`first_hits`]); a shard's failures and ledger as a file, merged
//! with the other shards' ([`shard_file`]).

pub(crate) mod explore;
pub(crate) mod fault_tally;
pub(crate) mod first_hits;
pub(crate) mod guided;
pub(crate) mod ledger;
pub(crate) mod shard_file;
pub(crate) mod shrink;
pub(crate) mod swarm;
