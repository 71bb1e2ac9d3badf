//! Seeded randomness: every random choice in a run comes from the run's seed
//! and a name, never from the OS, so the same seed replays the same run.

use rand::SeedableRng;
use rand::rngs::SmallRng;

/// splitmix64: spreads nearby seeds (1, 2, 3) into unrelated streams.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

/// A seed for the stream named by `parts` within the run seeded `seed`.
pub fn derive(seed: u64, parts: &[&[u8]]) -> u64 {
    parts.iter().fold(mix(seed), |acc, part| mix(acc ^ shipper::fnv1a_64(part)))
}

/// An RNG for the stream named by `parts` within the run seeded `seed`.
pub fn rng(seed: u64, parts: &[&[u8]]) -> SmallRng {
    SmallRng::seed_from_u64(derive(seed, parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_by_name_and_seed_and_repeat() {
        assert_eq!(derive(1, &[b"n1"]), derive(1, &[b"n1"]));
        assert_ne!(derive(1, &[b"n1"]), derive(1, &[b"n2"]));
        assert_ne!(derive(1, &[b"n1"]), derive(2, &[b"n1"]));
        assert_ne!(derive(1, &[b"n1", b"1"]), derive(1, &[b"n1", b"2"]));
    }
}
