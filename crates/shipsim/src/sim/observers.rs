//! What the system under test tells the recorder as it runs: each `ship_batch` its router
//! begins and ends ([`ShipRecorder`], the router's `ShipObserver`) and each ack its transport
//! receives ([`AckRecorder`]). The maps a router installs reach the recorder through the
//! router's install observer (`node.rs`).
//!
//! The harness records the production path, it does not copy it: the workload calls
//! `Router::route_planned`, the router's own loop (stale plans and refusals planned again,
//! at most `Router::MAX_REPLANS` rounds), and these hooks turn what that loop does into
//! records. Nothing here decides what is shipped where.

use shipper::{DestinationBatch, NodeId, PlannedBatch, Replan, ShipObserver, ShippedEvent, ShipperError};
use shipsim_trace::{ConnectState, Outcome};

use crate::sim::recorder::SharedRecorder;
use crate::transport::AckObserver;

/// Records each `ship_batch` a node's router begins (`ShipBegin`, numbered) and ends
/// (`ShipEnd`).
pub(super) struct ShipRecorder {
    pub(super) node: NodeId,
    pub(super) recorder: SharedRecorder,
}

impl ShipObserver for ShipRecorder {
    fn ship_begin(&self, plan: &PlannedBatch) -> u64 {
        self.recorder.lock().ship_begin(&self.node, &plan.node, plan.local, plan.epoch, &plan.events)
    }

    fn ship_end(&self, batch: u64, done: &DestinationBatch) {
        let (shipped, outcome, error) = match &done.result {
            Ok(n) => (*n as u32, Outcome::Ok, None),
            Err(err) => (err.shipped as u32, outcome_of(&err.error), Some(err.error.to_string())),
        };
        tracing::debug!(node = %self.node, batch, shipped, ?outcome, error = error.as_deref(), "ship_batch returned");
        self.recorder.lock().ship_end(&self.node, batch, shipped, outcome, error);
    }

    fn replanned(&self, why: Replan, positions: &[usize], into: &[PlannedBatch]) {
        tracing::debug!(node = %self.node, ?why, events = positions.len(), batches = into.len(), "planned again");
    }
}

/// How the trace names a failed `ship_batch`'s error.
fn outcome_of(err: &ShipperError) -> Outcome {
    match err {
        ShipperError::NoRoute(_) => Outcome::NoRoute,
        ShipperError::WrongOwner { .. } => Outcome::Refused,
        err if err.is_ambiguous() => Outcome::Ambiguous,
        _ => Outcome::NotDelivered,
    }
}

/// Records the acks a sender's transport receives.
pub(super) struct AckRecorder {
    pub(super) node: NodeId,
    pub(super) recorder: SharedRecorder,
}

impl AckRecorder {
    fn record(&self, dst: &NodeId, event: &ShippedEvent) {
        if let Some(id) = shipsim_trace::payload_id(&event.payload) {
            self.recorder.lock().ack(&self.node, dst, id);
        }
    }
}

impl AckObserver for AckRecorder {
    fn on_ack(&self, dst: &NodeId, event: &ShippedEvent) {
        self.record(dst, event);
    }

    fn on_stream_gap(&self, peer: &NodeId, seq: u64, expected: u64) {
        self.recorder.lock().stream_gap(&self.node, peer, seq, expected);
    }

    fn on_connect_attempt(&self, dst: &NodeId, slot: u32) {
        self.recorder.lock().connect(&self.node, dst, slot, ConnectState::Begin);
    }

    fn on_connect_failed(&self, dst: &NodeId, slot: u32) {
        self.recorder.lock().connect(&self.node, dst, slot, ConnectState::Failed);
    }
}
