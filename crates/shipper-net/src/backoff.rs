//! Reconnect delays: exponential, capped, with seeded jitter.

use std::time::Duration;

use crate::broken::{self, Variant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// Delay before the next connection attempt of one slot (of shipper-net) or
/// channel (of shipper-grpc).
///
/// Jitter keeps the slots of many nodes from reconnecting in lockstep after a
/// shared fault; it comes from a [`SmallRng`] seeded from the configuration,
/// never from the OS, so a simulation replays exactly.
#[derive(Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    failures: u32,
    rng: SmallRng,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration, seed: u64) -> Self {
        Self { min, max: max.max(min), failures: 0, rng: SmallRng::seed_from_u64(seed) }
    }

    /// The delay after one more consecutive failure: `min * 2^failures`,
    /// capped at `max`, then scaled by a random factor in [1/2, 1].
    pub fn next_delay(&mut self) -> Duration {
        let base = self.min.saturating_mul(1u32 << self.failures.min(20)).min(self.max);
        // broken::BackoffNeverGrows: the count of failures never moves.
        if !broken::is(Variant::BackoffNeverGrows) {
            self.failures = self.failures.saturating_add(1);
        }
        let nanos = base.as_nanos().min(u64::MAX as u128) as u64;
        Duration::from_nanos(self.rng.random_range(nanos / 2..=nanos))
    }

    /// A connection proved healthy (an ack arrived): start over from `min`.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_to_the_cap_with_jitter_and_replays() {
        let ms = Duration::from_millis;
        let mut a = Backoff::new(ms(10), ms(100), 7);
        let mut b = Backoff::new(ms(10), ms(100), 7);
        let delays: Vec<_> = (0..8).map(|_| a.next_delay()).collect();
        assert_eq!(delays, (0..8).map(|_| b.next_delay()).collect::<Vec<_>>());
        assert!(delays[0] >= ms(5) && delays[0] <= ms(10));
        assert!(delays.iter().all(|d| *d <= ms(100)));
        assert!(delays[7] >= ms(50));
        a.reset();
        assert!(a.next_delay() <= ms(10));
    }
}
