//! Searching for failures: sweeping seeds in parallel ([`explore`]), varying a scenario
//! per seed ([`swarm`]), and shrinking a failure to a smaller scenario that still fails the
//! same way ([`shrink`]); counting what a sweep reached ([`ledger`]).

pub(crate) mod explore;
pub(crate) mod ledger;
pub(crate) mod shrink;
pub(crate) mod swarm;
