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
pub(crate) fn derive(seed: u64, parts: &[&[u8]]) -> u64 {
    parts.iter().fold(mix(seed), |acc, part| mix(acc ^ shipper::fnv1a_64(part)))
}

/// An RNG for the stream named by `parts` within the run seeded `seed`.
pub(crate) fn rng(seed: u64, parts: &[&[u8]]) -> SmallRng {
    SmallRng::seed_from_u64(derive(seed, parts))
}

/// A size in `min..=max`, log-uniform by octave (payload sizes): the transport's own
/// definition, so the harness and `network.segment` draw one distribution.
pub(crate) use shipper_net::log_uniform;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_uniform_covers_the_range_by_octave() {
        let mut r = rng(1, &[b"sizes"]);
        let sizes: Vec<u64> = (0..14_000).map(|_| log_uniform(&mut r, 16, 256 << 10)).collect();
        assert!(sizes.iter().all(|s| (16..=256 << 10).contains(s)));
        // 14 whole octaves (16..32 up to 128Ki..256Ki) and the single size 256Ki: about 1 in
        // 14 draws falls in each octave, the top size almost never.
        let below_32 = sizes.iter().filter(|&&s| s < 32).count();
        let above_128k = sizes.iter().filter(|&&s| s >= 128 << 10).count();
        assert!((700..1300).contains(&below_32), "{below_32}");
        assert!((700..1300).contains(&above_128k), "{above_128k}");
        assert!(sizes.iter().filter(|&&s| s == 256 << 10).count() < 10);
        // A range straddling an octave boundary by one value each side stays uniform-ish.
        let edge: Vec<u64> = (0..1000).map(|_| log_uniform(&mut r, 1023, 1024)).collect();
        assert!(edge.contains(&1023) && edge.contains(&1024));
        assert_eq!(log_uniform(&mut r, 7, 7), 7);
        assert!((0..100).all(|_| (5..=6).contains(&log_uniform(&mut r, 5, 6))));
    }

    #[test]
    fn streams_differ_by_name_and_seed_and_repeat() {
        assert_eq!(derive(1, &[b"n1"]), derive(1, &[b"n1"]));
        assert_ne!(derive(1, &[b"n1"]), derive(1, &[b"n2"]));
        assert_ne!(derive(1, &[b"n1"]), derive(2, &[b"n1"]));
        assert_ne!(derive(1, &[b"n1", b"1"]), derive(1, &[b"n1", b"2"]));
    }
}
