//! Searching for failures: sweeping seeds in parallel ([`explore`]), varying a scenario
//! per seed ([`swarm`]), and shrinking a failure to a smaller scenario that still fails the
//! same way ([`shrink`]); counting what a sweep reached ([`ledger`]) and which of its
//! faults had an effect ([`fault_tally`]).

pub(crate) mod explore;
pub(crate) mod fault_tally;
pub(crate) mod ledger;
pub(crate) mod shrink;
pub(crate) mod swarm;
