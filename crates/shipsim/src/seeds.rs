//! Seeded randomness: every random choice in a run comes from the run's seed
//! and a name, never from the OS, so the same seed replays the same run.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

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

/// A size in `min..=max`, log-uniform by octave: every octave `2^k..2^(k+1)` the range covers
/// whole is drawn as often as any other, one it covers in part in proportion, and a size is
/// uniform within its octave. So `16B..256KiB` makes payloads under 32 bytes about as often as
/// ones over 128 KiB, with integer arithmetic only (no float rounding to differ between
/// machines). `min` is taken as at least 1 and `max` as at least `min`.
pub fn log_uniform(rng: &mut SmallRng, min: u64, max: u64) -> u64 {
    let min = min.max(1);
    let max = max.max(min);
    if min == max {
        return min;
    }
    let octave_of = |n: u64| u64::BITS - 1 - n.leading_zeros();
    let (first, last) = (octave_of(min), octave_of(max));
    let bounds = |k: u32| ((1u64 << k).max(min), (1u64 << k).saturating_mul(2).saturating_sub(1).min(max));
    // An octave's weight: the share of it inside the range, scaled to integers.
    let weight = |k: u32| {
        let (low, high) = bounds(k);
        u128::from(high - low + 1) << (last - k)
    };
    let mut pick = rng.random_range(0..(first..=last).map(weight).sum::<u128>());
    for k in first..=last {
        let w = weight(k);
        if pick < w {
            let (low, high) = bounds(k);
            return rng.random_range(low..=high);
        }
        pick -= w;
    }
    max
}

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
