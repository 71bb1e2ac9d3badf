//! How a connection's death is noticed: HTTP/2 keepalive sized from the ack timeout.

use std::time::Duration;

use shipper_net::NetConfig;

/// An HTTP/2 keepalive, derived from the ack timeout: [`Keepalive::of`] (the configured floor),
/// [`Keepalive::adapted`] (a client connection's, its pong limit raised to the measured round
/// trips) and [`Keepalive::server`] (a server connection's, which only reclaims dead ones).
///
/// A ping goes out after `interval` without a frame read, and the connection is given up when
/// its pong is `timeout` late. The pong plays the part of the TCP transport's ack: a healthy
/// connection survives as long as a round trip takes less than the pong limit (the pong waits
/// for no sink, so a slow sink is never taken for a dead link), and a partitioned one is given
/// up at most `interval + timeout` after its last frame.
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

    /// A client connection's keepalive when the answer timeout has adapted to `timeout`
    /// (`shipper_net::Rto`, from the round trips of the connections' handshakes): the pong gets
    /// that long, the ping still goes after half the configured timeout's silence.
    pub fn adapted(config: &NetConfig, timeout: Duration) -> Keepalive {
        Keepalive { timeout: timeout.max(Keepalive::of(config).timeout), ..Keepalive::of(config) }
    }

    /// A server connection's keepalive. The server measures no round trip, and a client that
    /// went silent is the client's to give up (its calls have deadlines): the server only
    /// reclaims a dead connection, within the idle timeout, as the TCP transport's server does.
    /// A pong limit of the configured timeout would kill every connection of a link whose round
    /// trip outgrew it, from the server's side, however well the client adapted.
    pub fn server(config: &NetConfig) -> Keepalive {
        let of = Keepalive::of(config);
        Keepalive { timeout: config.idle_timeout.max(of.timeout), ..of }
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

    #[test]
    fn an_adapted_pong_limit_never_drops_below_the_ack_timeout() {
        let config = NetConfig::new("n1", 1).with_ack_timeout(Duration::from_millis(50));
        let slow = Keepalive::adapted(&config, Duration::from_millis(700));
        assert_eq!((slow.interval, slow.timeout), (Duration::from_millis(25), Duration::from_millis(700)));
        assert_eq!(Keepalive::adapted(&config, Duration::from_millis(5)).timeout, Duration::from_millis(50));
        let server = Keepalive::server(&config.with_idle_timeout(Duration::from_secs(30)));
        assert_eq!(server.timeout, Duration::from_secs(30));
    }
}
