//! Guided exploration's schedule: how many runs are fresh swarm variants, and which operator a
//! mutation gets, adapted to what each has found lately (a bandit over the operators, as
//! AFL++'s MOpt schedules its mutators). A corpus whose mutations stop reaching anything new
//! gives way to fresh swarm variants, up to all of them: a stalled guided sweep degrades to
//! plain swarm (whose seeds it draws in swarm's own order, `guided.rs`), never below it.
//!
//! Each arm remembers whether its last [`WINDOW`] runs reached something new; its rate is the
//! share that did, with one success and one failure assumed (so an arm never tried is neither
//! favoured nor written off). The state changes only in run order (`State::take`), and draws
//! come from the sweep's RNG, so the schedule is a function of the sweep's options.

use std::collections::VecDeque;

use rand::Rng as _;
use rand::rngs::SmallRng;

use super::Mutation;

/// Outcomes remembered per arm: recent enough to follow a corpus that stalls.
const WINDOW: usize = 16;

/// The least share of fresh swarm variants once the corpus has entries.
const MIN_FRESH: f64 = 0.25;

/// Runs in a row that found nothing new after which the share of fresh variants rises
/// towards all of them (1 - STALE / runs since the corpus last grew).
const STALE: u64 = 20;

/// The operators a mutation is drawn from, with their weights before any outcome is known
/// (the faults' operators and a re-drawn swarm dimension first: they find the most; the
/// transport twin, which changes the most, last).
const OPERATORS: [(Mutation, f64); 7] = [
    (Mutation::Shift, 3.0),
    (Mutation::Latency, 2.0),
    (Mutation::Add, 3.0),
    (Mutation::Drop, 2.0),
    (Mutation::Cross, 2.0),
    (Mutation::Redraw, 3.0),
    (Mutation::Twin, 1.0),
];

/// What a run was chosen as: the arm its outcome is credited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arm {
    /// The scenario as written, run once: not a choice of the schedule, so nothing is credited.
    Written,
    /// A transport twin due (`twin.rs`): derived from the corpus, so credited to the
    /// mutations against fresh variants, but to no operator (none was drawn).
    Twin,
    /// A fresh swarm variant.
    Fresh,
    /// A mutation drawn as this operator (it may have fallen back to another: the draw is
    /// credited, since the draw is what the schedule chose).
    Mutate(Mutation),
}

/// Whether an arm's recent runs reached something new.
#[derive(Debug, Clone, Default)]
struct Outcomes(VecDeque<bool>);

impl Outcomes {
    fn record(&mut self, found: bool) {
        if self.0.len() == WINDOW {
            self.0.pop_front();
        }
        self.0.push_back(found);
    }

    /// The share of recent runs that found something, with one of each assumed.
    fn rate(&self) -> f64 {
        let found = self.0.iter().filter(|f| **f).count();
        (found + 1) as f64 / (self.0.len() + 2) as f64
    }
}

/// The schedule's state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Schedule {
    fresh: Outcomes,
    mutated: Outcomes,
    operators: [Outcomes; OPERATORS.len()],
}

impl Schedule {
    /// The chance that the next run is a fresh swarm variant: fresh variants' rate against
    /// mutations', at least [`MIN_FRESH`], and rising towards 1 once `since_growth` runs in a
    /// row found nothing past [`STALE`].
    pub(crate) fn fresh_chance(&self, since_growth: u64) -> f64 {
        let (fresh, mutated) = (self.fresh.rate(), self.mutated.rate());
        let stalled = if since_growth > STALE { 1.0 - STALE as f64 / since_growth as f64 } else { 0.0 };
        (fresh / (fresh + mutated)).max(stalled).clamp(MIN_FRESH, 1.0)
    }

    /// A mutation operator, drawn with its weight times its recent rate.
    pub(crate) fn operator(&self, rng: &mut SmallRng) -> Mutation {
        let weights: Vec<f64> =
            OPERATORS.iter().zip(&self.operators).map(|((_, w), o)| w * o.rate()).collect();
        let mut at = rng.random_range(0.0..weights.iter().sum::<f64>());
        for ((op, _), w) in OPERATORS.iter().zip(&weights) {
            if at < *w {
                return *op;
            }
            at -= w;
        }
        OPERATORS[OPERATORS.len() - 1].0
    }

    /// Credits a run's outcome to the arm it was drawn as.
    pub(crate) fn record(&mut self, arm: Arm, found: bool) {
        match arm {
            Arm::Written => {}
            Arm::Fresh => self.fresh.record(found),
            Arm::Twin => self.mutated.record(found),
            Arm::Mutate(op) => {
                self.mutated.record(found);
                if let Some(i) = OPERATORS.iter().position(|(o, _)| *o == op) {
                    self.operators[i].record(found);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mutations that keep finding nothing give way to fresh variants; a stall past
    /// [`STALE`] drives the share towards plain swarm; it never drops below [`MIN_FRESH`].
    #[test]
    fn a_stalled_corpus_degrades_to_swarm() {
        let mut s = Schedule::default();
        assert_eq!(s.fresh_chance(0), 0.5, "nothing known: even");
        for _ in 0..WINDOW {
            s.record(Arm::Mutate(Mutation::Shift), false);
            s.record(Arm::Fresh, true);
        }
        assert!(s.fresh_chance(0) > 0.9, "{}", s.fresh_chance(0));
        let mut t = Schedule::default();
        for _ in 0..WINDOW {
            t.record(Arm::Mutate(Mutation::Add), true);
            t.record(Arm::Fresh, false);
        }
        assert_eq!(t.fresh_chance(0), MIN_FRESH, "mutations that find: fresh at its floor");
        assert_eq!(t.fresh_chance(STALE * 4), 0.75, "a long stall: mostly fresh");
        assert!(t.fresh_chance(STALE * 100) > 0.98);
    }

    /// An operator that finds is drawn more often than one that does not, and the draws are
    /// a function of the RNG.
    #[test]
    fn operators_that_find_are_drawn_more() {
        let mut s = Schedule::default();
        for _ in 0..WINDOW {
            s.record(Arm::Mutate(Mutation::Redraw), true);
            s.record(Arm::Mutate(Mutation::Shift), false);
        }
        let draws = |seed| {
            let mut rng = crate::seeds::rng(seed, &[b"schedule"]);
            (0..600).map(|_| s.operator(&mut rng)).collect::<Vec<_>>()
        };
        let got = draws(1);
        assert_eq!(got, draws(1));
        let count = |op| got.iter().filter(|o| **o == op).count();
        assert!(count(Mutation::Redraw) > 5 * count(Mutation::Shift), "{got:?}");
        assert!(count(Mutation::Cross) > 0 && count(Mutation::Shift) > 0);
    }
}
