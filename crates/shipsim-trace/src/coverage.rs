//! The coverage facts of a run: which probes each node life reached, and whether each fault
//! had an effect. A green run says no invariant failed; these say whether anything rare
//! happened in it, and whether its faults touched anything at all.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Micros, Text};

/// The coverage probes (`shipper::probe!`) one node life reached, written at the end of the run
/// by a harness that counts probes and can tell which life a hit happened in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifeProbes {
    /// When (the end of the run).
    pub t: Micros,
    /// The node.
    pub node: Text,
    /// Its process life.
    pub life: u32,
    /// Hits per probe reached in that life; a probe not listed was not reached.
    pub hits: BTreeMap<Text, u64>,
    /// When each probe listed was first hit in that life.
    pub first_us: BTreeMap<Text, Micros>,
}

/// Whether a fault had an effect, as the harness observed it itself (calls and messages in
/// flight across what it cut, bytes it held, routes it changed), never as the system under test
/// reports it. Written at the end of the run: a fault's effect may show after it (a hold holds
/// what is sent while it lasts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultEffect {
    /// When (the end of the run).
    pub t: Micros,
    /// Which fault: its place among the trace's `fault` records, from 0.
    pub fault: u32,
    /// When that fault was applied.
    pub at: Micros,
    /// Whether it had any effect.
    pub effect: bool,
    /// What the effect was, or why there was none, for a person to read.
    pub why: String,
}
