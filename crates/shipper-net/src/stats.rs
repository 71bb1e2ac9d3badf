//! Per-transport counters. Sender and receiver sides of one node share them.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// Counters of a [`crate::NetTransport`] and of the [`crate::NetServer`]s
/// made from it (and of shipper-grpc's transport, which keeps the same
/// counters). Only a transport changes them, through the `count_*` methods;
/// read them with [`NetStats::snapshot`]. They only grow.
#[derive(Debug, Default)]
pub struct NetStats {
    sent: AtomicU64,
    acked: AtomicU64,
    retransmits: AtomicU64,
    reconnects: AtomicU64,
    received: AtomicU64,
    duplicates_dropped: AtomicU64,
    protocol_errors: AtomicU64,
    sink_busy: AtomicU64,
    refused: AtomicU64,
}

/// A copy of [`NetStats`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetStatsSnapshot {
    /// Event frames written for the first time (retransmissions excluded).
    pub sent: u64,
    /// Events acknowledged while their ship call was still waiting: exactly
    /// the events the transport reported delivered (a late ack, arriving
    /// after the call gave up, is not counted).
    pub acked: u64,
    /// Event frames written again on a new connection.
    pub retransmits: u64,
    /// Connections established by a slot after its first one.
    pub reconnects: u64,
    /// Events this node's servers handed to their sink (and acknowledged).
    pub received: u64,
    /// Events this node's servers dropped as already delivered (and
    /// acknowledged again).
    pub duplicates_dropped: u64,
    /// Connections closed because the peer broke the protocol (malformed,
    /// oversized, truncated or unexpected frames), on either side.
    pub protocol_errors: u64,
    /// Times this node's sink answered busy and the server offered the
    /// event again later (the event stayed unacknowledged meanwhile).
    #[serde(default)]
    pub sink_busy: u64,
    /// Event frames this node's servers refused because their fence said
    /// this node does not own the event's shard (each resent copy again).
    #[serde(default)]
    pub refused: u64,
}

impl NetStats {
    /// Reads every counter.
    pub fn snapshot(&self) -> NetStatsSnapshot {
        NetStatsSnapshot {
            sent: self.sent.load(Ordering::Relaxed),
            acked: self.acked.load(Ordering::Relaxed),
            retransmits: self.retransmits.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            duplicates_dropped: self.duplicates_dropped.load(Ordering::Relaxed),
            protocol_errors: self.protocol_errors.load(Ordering::Relaxed),
            sink_busy: self.sink_busy.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }

    /// An event written for the first time.
    pub fn count_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }

    /// An event acknowledged.
    pub fn count_acked(&self) {
        self.acked.fetch_add(1, Ordering::Relaxed);
    }

    /// An event written again (after a reconnect or a retry).
    pub fn count_retransmit(&self) {
        self.retransmits.fetch_add(1, Ordering::Relaxed);
    }

    /// A connection re-established after having had one.
    pub fn count_reconnect(&self) {
        self.reconnects.fetch_add(1, Ordering::Relaxed);
    }

    /// An event handed to the sink and accepted.
    pub fn count_received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// A copy of an event already delivered, dropped.
    pub fn count_duplicate(&self) {
        self.duplicates_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// The sink answered busy.
    pub fn count_sink_busy(&self) {
        self.sink_busy.fetch_add(1, Ordering::Relaxed);
    }

    /// An event the fence refused.
    pub fn count_refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Malformed or unexpected input from a peer.
    pub fn count_protocol_error(&self) {
        self.protocol_errors.fetch_add(1, Ordering::Relaxed);
    }
}
