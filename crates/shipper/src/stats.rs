//! Counters: one per outcome, and every event handed to the shipper lands in
//! exactly one of them.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::ShipperError;

/// Runtime statistics for [`crate::EventShipper`].
///
/// The counters are private (the original's were public atomics anyone could
/// change); read them with [`ShipperStats::snapshot`]. They only grow.
///
/// ```compile_fail
/// let stats = shipper::ShipperStats::default();
/// stats.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed); // private
/// ```
#[derive(Debug, Default)]
pub struct ShipperStats {
    sent: AtomicU64,
    local: AtomicU64,
    no_route: AtomicU64,
    send_failures: AtomicU64,
    ambiguous: AtomicU64,
}

/// Plain serialisable snapshot of [`ShipperStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShipperStatsSnapshot {
    /// Events a remote node acknowledged.
    pub sent: u64,
    /// Events the local sink accepted.
    pub local: u64,
    /// Events with no local sink, or whose destination the transport could not route to.
    pub no_route: u64,
    /// Events certainly not delivered for any other reason (refused, closed, timed out before sending, encode).
    pub send_failures: u64,
    /// Events that may or may not have been delivered (sent, no ack before the deadline).
    #[serde(default)]
    pub ambiguous: u64,
}

impl ShipperStatsSnapshot {
    /// Every event ever handed to the shipper: the counters partition them.
    pub fn attempts(&self) -> u64 {
        self.sent + self.local + self.no_route + self.send_failures + self.ambiguous
    }
}

impl ShipperStats {
    /// Snapshot the counters into a serializable shape.
    pub fn snapshot(&self) -> ShipperStatsSnapshot {
        ShipperStatsSnapshot {
            sent: self.sent.load(Ordering::Relaxed),
            local: self.local.load(Ordering::Relaxed),
            no_route: self.no_route.load(Ordering::Relaxed),
            send_failures: self.send_failures.load(Ordering::Relaxed),
            ambiguous: self.ambiguous.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn count_delivered(&self, local: bool, n: u64) {
        let counter = if local { &self.local } else { &self.sent };
        // broken::StatsDoubleCount: every remote event acknowledged counts twice.
        let n = if !local && crate::broken::is(crate::broken::Variant::StatsDoubleCount) { 2 * n } else { n };
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts `n` events that failed with `err`, in the one counter its kind belongs to.
    pub(crate) fn count_failed(&self, err: &ShipperError, n: u64) {
        let counter = match err {
            // broken::NoRouteAsSendFailure: a NoRoute lands in `send_failures`.
            ShipperError::NoRoute(_) if !crate::broken::is(crate::broken::Variant::NoRouteAsSendFailure) => {
                &self.no_route
            }
            ShipperError::Ambiguous { .. } => &self.ambiguous,
            // broken::TimeoutAsAmbiguous: a never-sent timeout lands in `ambiguous`.
            ShipperError::Timeout(_) if crate::broken::is(crate::broken::Variant::TimeoutAsAmbiguous) => {
                &self.ambiguous
            }
            _ => &self.send_failures,
        };
        counter.fetch_add(n, Ordering::Relaxed);
    }
}
