//! What the sending and receiving halves of one node share.

use std::sync::Arc;

use crate::config::NetConfig;
use crate::observer::TransportObserver;
use crate::stats::NetStats;

/// Settings, counters and the observer of one node's transport, shared by
/// its connection slots and its servers.
pub(crate) struct Shared {
    pub(crate) config: NetConfig,
    pub(crate) stats: Arc<NetStats>,
    observer: Option<Arc<dyn TransportObserver>>,
}

impl Shared {
    pub(crate) fn new(
        config: NetConfig,
        stats: Arc<NetStats>,
        observer: Option<Arc<dyn TransportObserver>>,
    ) -> Self {
        Self { config: config.normalized(), stats, observer }
    }

    pub(crate) fn observer(&self) -> Option<&Arc<dyn TransportObserver>> {
        self.observer.as_ref()
    }

    /// Runs `f` on the observer, if there is one.
    pub(crate) fn observe(&self, f: impl FnOnce(&dyn TransportObserver)) {
        if let Some(observer) = &self.observer {
            f(observer.as_ref());
        }
    }

    /// Counts, logs and reports a connection closed for breaking the protocol.
    pub(crate) fn protocol_error(&self, peer: &str, reason: &str) {
        self.stats.count_protocol_error();
        tracing::warn!(node = %self.config.node, peer = %peer, reason = %reason, "protocol error: closing the connection");
        self.observe(|o| o.on_protocol_error(peer, reason));
    }
}
