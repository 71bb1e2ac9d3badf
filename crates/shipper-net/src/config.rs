//! [`NetConfig`]: one node's transport settings.

use std::time::Duration;

use shipper::NodeId;

use crate::broken::{self, Variant};
use crate::frame::DEFAULT_MAX_FRAME;

/// Settings of one node's [`crate::NetTransport`] and [`crate::NetServer`].
///
/// Build it with [`NetConfig::new`] and adjust with the `with_*` methods; the
/// fields are public so a harness can also fill them from a scenario file.
/// Durations are tokio time (simulated time under turmoil).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetConfig {
    /// This node's name, as the peers' networks know it.
    pub node: NodeId,
    /// This process's life: must differ for every incarnation of the node and
    /// increase across restarts (a restart counter works). Receivers keep
    /// duplicate-suppression state for the newest life of each sender only,
    /// and refuse connections from older lives.
    pub life: u64,
    /// Connections (slots) per destination. Calls are spread round-robin
    /// over them, so calls may overtake each other; a batch stays on one.
    pub connections: usize,
    /// How long the oldest unacknowledged frame of a connection may wait for
    /// its ack before the connection is presumed stuck, closed and its
    /// unacked frames resent on a new one: the floor of the answer timeout,
    /// which rises to what the measured round trips need ([`crate::Rto`]).
    pub ack_timeout: Duration,
    /// The longest a ship call may take; `send_until`/`send_batch` deadlines
    /// are capped by it.
    pub deadline: Duration,
    /// How long a connection attempt may take before it counts as failed.
    pub connect_timeout: Duration,
    /// Largest frame body accepted or sent, in bytes.
    pub max_frame: usize,
    /// Frames in flight (written, not yet acknowledged) per connection;
    /// further events wait, within their deadline.
    pub max_unacked: usize,
    /// First reconnect delay; doubles per consecutive failure.
    pub backoff_min: Duration,
    /// Cap of the reconnect delay. The transport uses at most a quarter of
    /// [`Self::deadline`]: a ship waiting out a longer delay would fail at its
    /// deadline although the peer became reachable meanwhile (found by
    /// `shipsim explore`; see `scenarios/regressions/backoff-past-deadline.yaml`).
    pub backoff_max: Duration,
    /// A receiving connection that carries no frame for this long is closed
    /// (a sender reconnects on demand). Bounds what half-dead connections,
    /// such as one whose data a simulated network lost, can hold.
    pub idle_timeout: Duration,
    /// How long the server waits before offering an event again to a sink
    /// that answered busy ([`crate::SinkError::Busy`]). Fixed rather than
    /// growing: a busy sink expects to be asked again soon, and how long is
    /// too long is the sender's to decide (its ack timeout and deadline see
    /// the missing ack as backpressure).
    pub busy_retry: Duration,
    /// Seed of the reconnect jitter (no OS randomness anywhere).
    pub rng_seed: u64,
}

impl NetConfig {
    /// The defaults: 2 connections, 200 ms ack timeout, 5 s deadline, 1 s
    /// connect timeout, 1 MiB frames, 64 unacked frames per connection,
    /// 10 ms..500 ms backoff, 30 s idle timeout, 5 ms busy retry, seed 0.
    pub fn new(node: impl Into<NodeId>, life: u64) -> Self {
        Self {
            node: node.into(),
            life,
            connections: 2,
            ack_timeout: Duration::from_millis(200),
            deadline: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(1),
            max_frame: DEFAULT_MAX_FRAME,
            max_unacked: 64,
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(500),
            idle_timeout: Duration::from_secs(30),
            busy_retry: Duration::from_millis(5),
            rng_seed: 0,
        }
    }

    /// Sets [`Self::connections`] (at least 1 is used).
    pub fn with_connections(mut self, connections: usize) -> Self {
        self.connections = connections;
        self
    }

    /// Sets [`Self::ack_timeout`].
    pub fn with_ack_timeout(mut self, ack_timeout: Duration) -> Self {
        self.ack_timeout = ack_timeout;
        self
    }

    /// Sets [`Self::deadline`].
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Sets [`Self::connect_timeout`].
    pub fn with_connect_timeout(mut self, connect_timeout: Duration) -> Self {
        self.connect_timeout = connect_timeout;
        self
    }

    /// Sets [`Self::max_frame`].
    pub fn with_max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = max_frame;
        self
    }

    /// Sets [`Self::max_unacked`] (at least 1 is used).
    pub fn with_max_unacked(mut self, max_unacked: usize) -> Self {
        self.max_unacked = max_unacked;
        self
    }

    /// Sets [`Self::backoff_min`] and [`Self::backoff_max`].
    pub fn with_backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// Sets [`Self::idle_timeout`].
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Sets [`Self::busy_retry`] (at least 1 ms is used).
    pub fn with_busy_retry(mut self, busy_retry: Duration) -> Self {
        self.busy_retry = busy_retry;
        self
    }

    /// Sets [`Self::rng_seed`].
    pub fn with_rng_seed(mut self, rng_seed: u64) -> Self {
        self.rng_seed = rng_seed;
        self
    }

    /// The same settings with every value forced into its working range, so
    /// no setting can make the transport divide by zero or spin: the
    /// settings the transport actually runs with (a harness reads its timing
    /// bounds from them).
    pub fn normalized(mut self) -> Self {
        let tick = Duration::from_millis(1);
        self.connections = self.connections.max(1);
        self.max_unacked = self.max_unacked.max(1);
        self.max_frame = self.max_frame.clamp(64, u32::MAX as usize);
        self.ack_timeout = self.ack_timeout.max(tick);
        self.connect_timeout = self.connect_timeout.max(tick);
        self.idle_timeout = self.idle_timeout.max(tick);
        self.busy_retry = self.busy_retry.max(tick);
        let backoff_cap = (self.deadline / 4).max(tick);
        self.backoff_min = self.backoff_min.clamp(tick, backoff_cap);
        // broken::NormalizeBackoffCap: the cap left as declared, not a quarter of the deadline.
        let max_cap = if broken::is(Variant::NormalizeBackoffCap) { Duration::MAX } else { backoff_cap };
        self.backoff_max = self.backoff_max.clamp(self.backoff_min, max_cap);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_is_capped_at_a_quarter_of_the_deadline() {
        let c = NetConfig::new("n1", 1).with_deadline(ms(300)).with_backoff(ms(10), ms(500)).normalized();
        assert_eq!((c.backoff_min, c.backoff_max), (ms(10), ms(75)));
        let tiny = NetConfig::new("n1", 1).with_deadline(ms(20)).with_backoff(ms(10), ms(500)).normalized();
        assert_eq!((tiny.backoff_min, tiny.backoff_max), (ms(5), ms(5)));
    }

    #[test]
    fn a_deadline_far_above_the_backoff_leaves_it_alone() {
        let c = NetConfig::new("n1", 1).with_deadline(ms(5000)).with_backoff(ms(10), ms(500)).normalized();
        assert_eq!((c.backoff_min, c.backoff_max), (ms(10), ms(500)));
    }
}
