//! The moment a corpus entry's run reached what was new: the time and node a novel probe first
//! fired, read from the run's `life-probes` records (`search/first_hits.rs`). Mutations add and
//! move faults near it (`mutate.rs`), so that the next run branches where the rare thing
//! happened rather than around faults that may have been far from it.

use std::time::Duration;

use crate::search::first_hits::FirstHits;

/// When and where a novel probe first fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    /// Simulated time from the start of the run.
    pub at: Duration,
    /// The node whose life hit it.
    pub node: String,
}

/// The earliest moment among `novel` (probes, and pairs as `a + b`): a probe's first hit, a
/// pair's the later of its two probes' first hits (the pair exists from then on). `None` when no
/// novel item has a recorded first hit (a harness that cannot tell node lives apart).
pub(super) fn of(novel: &[String], first: &FirstHits) -> Option<Moment> {
    let at = |probe: &str| first.get(probe).cloned();
    novel
        .iter()
        .filter_map(|item| match item.split_once(" + ") {
            Some((a, b)) => {
                let (a, b) = (at(a)?, at(b)?);
                Some(if b.0 > a.0 { b } else { a })
            }
            None => at(item),
        })
        .min_by_key(|(t, _)| *t)
        .map(|(at, node)| Moment { at, node })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first() -> FirstHits {
        [("a", 300, "n1"), ("b", 100, "n2"), ("c", 900, "n3")]
            .into_iter()
            .map(|(p, ms, n)| (p.to_owned(), (Duration::from_millis(ms), n.to_owned())))
            .collect()
    }

    #[test]
    fn a_pair_counts_from_its_later_probe_and_the_earliest_item_wins() {
        let moment = |novel: &[&str]| of(&novel.iter().map(|s| s.to_string()).collect::<Vec<_>>(), &first());
        let at = |ms, node: &str| Some(Moment { at: Duration::from_millis(ms), node: node.into() });
        assert_eq!(moment(&["a + b"]), at(300, "n1"), "the later of the pair");
        assert_eq!(moment(&["b + c", "a"]), at(300, "n1"), "the earliest of the items");
        assert_eq!(moment(&["c", "a + b", "b"]), at(100, "n2"));
        assert_eq!(moment(&["x", "a + x"]), None, "never hit: no moment");
        assert_eq!(moment(&[]), None);
    }
}
