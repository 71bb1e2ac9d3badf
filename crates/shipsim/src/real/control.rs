//! The control channel between the harness and a node process: one loopback TCP connection
//! per process life, one JSON object per line each way.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// What a node process tells the harness.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ToHarness {
    /// The life's server is bound at `addr`: the fault proxy may forward to it.
    Ready {
        /// The node.
        node: String,
        /// Its process life.
        life: u32,
        /// Where its server listens.
        addr: SocketAddr,
    },
    /// Whether the node has routed its whole workload and has no call in flight.
    Idle(bool),
    /// The life wrote its counters (its last record) and exits.
    Stopped,
}

/// What the harness tells a node process.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ToNode {
    /// Forget the route to this node (`drop-route`).
    DropRoute(String),
    /// Know it again (`restore-route`).
    RestoreRoute(String),
    /// This node joined the shard map (`join`): adopt the next epoch after the propagation
    /// delay.
    Join(String),
    /// This node left it (`leave`).
    Leave(String),
    /// The run is over: write the life's counters and exit.
    Stop,
}

/// One message as a line.
pub(crate) fn line<T: Serialize>(message: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(message).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
