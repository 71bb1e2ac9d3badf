//! How a connection's death is noticed: HTTP/2 keepalive sized from the ack timeout.

use std::time::Duration;

use shipper_net::NetConfig;

/// The HTTP/2 keepalive both ends of a connection run, derived from the ack timeout.
///
/// A ping goes out after `interval` without a frame read, and the connection is given up when
/// its pong is `timeout` late. The pong plays the part of the TCP transport's ack: a healthy
/// connection survives as long as a round trip takes less than the ack timeout (the pong
/// waits for no sink, so a slow sink is never taken for a dead link), and a partitioned one is
/// given up at most `interval + timeout` after its last frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence before a ping: half the ack timeout.
    pub interval: Duration,
    /// How late a pong may be: the ack timeout.
    pub timeout: Duration,
}

impl Keepalive {
    /// The keepalive a transport with `config` runs.
    pub fn of(config: &NetConfig) -> Keepalive {
        let timeout = config.ack_timeout.max(Duration::from_millis(1));
        Keepalive { interval: (timeout / 2).max(Duration::from_millis(1)), timeout }
    }

    /// The longest a dead connection can go unnoticed after its last frame.
    pub fn detection(&self) -> Duration {
        self.interval + self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pong_gets_the_whole_ack_timeout() {
        let config = NetConfig::new("n1", 1).with_ack_timeout(Duration::from_millis(50));
        let keepalive = Keepalive::of(&config);
        assert_eq!(keepalive.timeout, Duration::from_millis(50));
        assert_eq!(keepalive.interval, Duration::from_millis(25));
        assert_eq!(keepalive.detection(), Duration::from_millis(75));
    }
}
