//! What the sending and receiving halves of one node share: settings, counters, observer.

use std::sync::Arc;

use shipper_net::{NetConfig, NetStats, TransportObserver};

pub(crate) struct Shared {
    /// The settings, normalized (see [`NetConfig::normalized`]).
    pub(crate) config: NetConfig,
    pub(crate) stats: Arc<NetStats>,
    pub(crate) observer: Option<Arc<dyn TransportObserver>>,
}

impl Shared {
    pub(crate) fn new(config: NetConfig, observer: Option<Arc<dyn TransportObserver>>) -> Self {
        Shared { config: config.normalized(), stats: Arc::default(), observer }
    }

    /// Runs `f` on the observer, if there is one.
    pub(crate) fn observe(&self, f: impl FnOnce(&dyn TransportObserver)) {
        if let Some(observer) = &self.observer {
            f(observer.as_ref());
        }
    }
}

/// Now, on tokio's clock (which turmoil drives in a simulation): the one place this crate
/// reads the time.
pub(crate) fn now() -> tokio::time::Instant {
    tokio::time::Instant::now() // allow-nondeterminism: tokio time, which turmoil simulates
}
