//! The paired sign test the finding bench judges guided against swarm with.
//!
//! Trial `j` of both modes starts from the same seed, so the trials pair up: each pair says
//! which mode needed fewer seeds, or that they tied. Were the two modes alike, each untied
//! pair would go either way with even odds; the test's p-value is the chance of a split at
//! least as uneven as the one seen. A difference of means over a few trials is often one lucky
//! seed: below 5% the bench names a winner, above it says the trials show no difference rather
//! than reading one into the means (a `:unknown`, not a false verdict).

use serde::Serialize;

/// The level under which a split names a winner.
pub(crate) const LEVEL: f64 = 0.05;

/// How the pairs of trials split, and the two-sided p-value of the split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Paired {
    /// Pairs where guided needed fewer seeds.
    pub guided_fewer: usize,
    /// Pairs where swarm needed fewer seeds.
    pub swarm_fewer: usize,
    /// Pairs where both needed as many.
    pub ties: usize,
    /// The sign test's two-sided p-value (1 when no pair is untied).
    pub p: f64,
}

impl Paired {
    /// The split of `pairs` of (swarm, guided) seeds to the first failure.
    pub(crate) fn of(pairs: impl IntoIterator<Item = (u64, u64)>) -> Paired {
        let (mut guided_fewer, mut swarm_fewer, mut ties) = (0, 0, 0);
        for (swarm, guided) in pairs {
            match guided.cmp(&swarm) {
                std::cmp::Ordering::Less => guided_fewer += 1,
                std::cmp::Ordering::Greater => swarm_fewer += 1,
                std::cmp::Ordering::Equal => ties += 1,
            }
        }
        Paired { guided_fewer, swarm_fewer, ties, p: sign_test(guided_fewer, swarm_fewer) }
    }

    /// What the split shows at [`LEVEL`].
    pub(crate) fn verdict(&self) -> &'static str {
        match (self.p < LEVEL, self.guided_fewer > self.swarm_fewer) {
            (false, _) => "no difference shown",
            (true, true) => "guided fewer",
            (true, false) => "swarm fewer",
        }
    }
}

/// The two-sided p-value of `a` successes against `b` failures at even odds: twice the chance
/// of at most `min(a, b)` of either in `a + b` tries, at most 1.
pub(crate) fn sign_test(a: usize, b: usize) -> f64 {
    let n = a + b;
    let mut choose = 1.0_f64; // C(n, 0)
    let mut tail = 0.0;
    for i in 0..=a.min(b) {
        if i > 0 {
            choose = choose * (n - i + 1) as f64 / i as f64;
        }
        tail += choose;
    }
    (2.0 * tail / 2.0_f64.powi(n as i32)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known values of the two-sided sign test.
    #[test]
    fn the_sign_test_gives_the_binomial_tail() {
        assert_eq!(sign_test(0, 0), 1.0);
        assert_eq!(sign_test(3, 3), 1.0);
        assert_eq!(sign_test(5, 0), 2.0 / 32.0);
        assert_eq!(sign_test(0, 10), 2.0 / 1024.0);
        // 8 of 10: 2 * (1 + 10 + 45) / 1024.
        assert!((sign_test(8, 2) - 112.0 / 1024.0).abs() < 1e-12);
        assert!(sign_test(40, 60) > LEVEL && sign_test(35, 65) < LEVEL);
    }

    /// Ties count apart and decide nothing; a winner needs an uneven enough split.
    #[test]
    fn pairs_split_into_a_verdict() {
        let even = Paired::of([(3, 2), (2, 3), (4, 4)]);
        assert_eq!((even.guided_fewer, even.swarm_fewer, even.ties), (1, 1, 1));
        assert_eq!(even.verdict(), "no difference shown");
        let guided = Paired::of((0..10).map(|j| (5 + j, 2)));
        assert_eq!((guided.guided_fewer, guided.verdict()), (10, "guided fewer"));
        let swarm = Paired::of((0..10).map(|j| (1, 2 + j)).chain([(3, 3)]));
        assert_eq!((swarm.swarm_fewer, swarm.ties, swarm.verdict()), (10, 1, "swarm fewer"));
    }
}
