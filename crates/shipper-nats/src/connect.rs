//! The async-nats client of one node life, with the configured reconnect behaviour.

use std::time::Duration;

use async_nats::{Client, ConnectOptions};

use crate::config::NatsConfig;

/// Connects to the broker. The client is returned at once and connects in the background
/// (`retry_on_initial_connect`), reconnecting for ever after a loss with the configured
/// delays; requests made while it is away wait in its buffer.
pub(crate) async fn connect(config: &NatsConfig) -> Result<Client, async_nats::ConnectError> {
    let (min, max) = (config.reconnect_min, config.reconnect_max.max(config.reconnect_min));
    ConnectOptions::new()
        .name(format!("{}-life-{}", config.node, config.life))
        .connection_timeout(config.connect_timeout)
        .ping_interval(config.ping_interval)
        .request_timeout(None)
        .retry_on_initial_connect()
        .max_reconnects(None)
        .ignore_discovered_servers()
        .reconnect_delay_callback(move |attempts| reconnect_delay(min, max, attempts))
        .connect(config.server.as_str())
        .await
}

/// `min` doubled per failed attempt, up to `max`.
fn reconnect_delay(min: Duration, max: Duration, attempts: usize) -> Duration {
    let shift = u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX).min(20);
    min.saturating_mul(1 << shift).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reconnect_delay_doubles_to_its_cap() {
        let ms = Duration::from_millis;
        let d: Vec<Duration> = (1..=7).map(|a| reconnect_delay(ms(10), ms(500), a)).collect();
        assert_eq!(d, [ms(10), ms(20), ms(40), ms(80), ms(160), ms(320), ms(500)]);
    }
}
