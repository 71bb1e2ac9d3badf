//! The clock faults of a trace (`clock` faults: jumps and skews), for the rules that judge
//! waits.
//!
//! The checkers measure every wait in the trace's time, but a node's code waits on its own
//! clock. A forward jump of `d` on a node fires at once every timer of that node due within
//! `d`, so a wait of that node spanning the jump may legitimately end up to `d` sooner in the
//! trace's time. A skew `s` makes the node's clock move `1 + s` times as far as the trace's
//! time: a wait spanning `T` of the trace's time under it moved the clock `T × s` further (less,
//! for a slow clock). So over a wait `[a, b]` the node's clock moved `ahead(a, b)` further than
//! the trace's time: its jumps inside, plus `s × overlap` for each skew that overlaps it. The
//! harness moves a skewed clock by whole milliseconds, the rest carried (vendor/turmoil/PATCH.md,
//! "Clock pace"), so a wait under a skew may be off by one more millisecond either way.
//!
//! A rule that bounds a wait from below lowers the bound by exactly how far ahead the waiting
//! node's clock moved inside the wait ([`Jumps::within`]); a rule that bounds a wait from above
//! stretches it by how far behind it fell ([`Jumps::behind`]) (docs/scenarios.md, "Clock
//! faults"). Without a skew both are what they were for jumps alone.
//!
//! The harness applies a jump in the tick its fault record is stamped with, and a record is
//! stamped with the start of its tick: a jump stamped `t` may have shortened a wait that began
//! or ended at `t`, so both ends of a wait count. A skew stamped `t` paces the ticks from `t` on.

use shipsim_trace::Micros;

/// How far off a skewed clock may be from its exact pace over a wait: it moves by whole
/// milliseconds.
pub(crate) const PACE_ROUNDING: Micros = 1_000;

/// Parts per million in one.
const PPM: i128 = 1_000_000;

/// Every clock jump and skew, per node (by its index in the trace's names), in time order.
#[derive(Debug, Default)]
pub(crate) struct Jumps {
    /// Per node index: `(t, jump)` in the order recorded.
    by_node: Vec<Vec<(Micros, Micros)>>,
    /// Per node index: `(t, skew in parts per million)` from `t` on, in the order recorded.
    skews: Vec<Vec<(Micros, i64)>>,
    /// The trace's tick: records are stamped with the start of their tick, so a wait between
    /// two stamps may have lasted up to a tick longer, all of it under the skew.
    tick: Micros,
}

impl Jumps {
    /// Node `node`'s clock jumped `jump` ahead at `t`.
    pub(crate) fn add(&mut self, node: u32, t: Micros, jump: Micros) {
        slot(&mut self.by_node, node).push((t, jump));
    }

    /// The trace's tick (its `Start`'s).
    pub(crate) fn set_tick(&mut self, tick: Micros) {
        self.tick = tick;
    }

    /// Node `node`'s clock runs `ppm` parts per million fast (slow, below 0) from `t` on.
    pub(crate) fn add_skew(&mut self, node: u32, t: Micros, ppm: i64) {
        slot(&mut self.skews, node).push((t, ppm));
    }

    /// How far node `node`'s clock jumped between `from` and `to`, both included (jumps only).
    pub(crate) fn jumped(&self, node: u32, from: Micros, to: Micros) -> Micros {
        let Some(jumps) = self.by_node.get(node as usize) else { return 0 };
        jumps.iter().filter(|&&(t, _)| from <= t && t <= to).map(|&(_, jump)| jump).sum()
    }

    /// How much further than the trace's time node `node`'s clock moved between `from` and
    /// `to` (and the tick after it: the wait may have ended late in its tick) from its skews
    /// alone, in `1/1,000,000` microseconds (below 0: less far), and whether any skew other
    /// than 0 overlaps the span.
    fn skewed(&self, node: u32, from: Micros, to: Micros) -> (i128, bool) {
        let Some(skews) = self.skews.get(node as usize) else { return (0, false) };
        let to = to.saturating_add(self.tick);
        let (mut sum, mut any) = (0i128, false);
        for (i, &(t, ppm)) in skews.iter().enumerate() {
            let end = skews.get(i + 1).map_or(Micros::MAX, |&(next, _)| next);
            let overlap = end.min(to).saturating_sub(t.max(from));
            if overlap > 0 && ppm != 0 {
                sum += i128::from(overlap) * i128::from(ppm);
                any = true;
            }
        }
        (sum, any)
    }

    /// How much sooner, in the trace's time, a wait of node `node` over `[from, to]` may end
    /// than on its clock: how much further its clock moved (jumps and fast skews, less slow
    /// skews), at least 0.
    pub(crate) fn within(&self, node: u32, from: Micros, to: Micros) -> Micros {
        let (skewed, any) = self.skewed(node, from, to);
        let ahead = i128::from(self.jumped(node, from, to)) * PPM + skewed;
        let rounding = if any { PACE_ROUNDING } else { 0 };
        clamp(ceil_div(ahead.max(0), PPM)) + rounding
    }

    /// How much later, in the trace's time, a wait of node `node` over `[from, to]` may end
    /// than on its clock: how far its clock fell behind (slow skews, less fast skews and
    /// jumps), at least 0.
    pub(crate) fn behind(&self, node: u32, from: Micros, to: Micros) -> Micros {
        let (skewed, any) = self.skewed(node, from, to);
        let behind = -(i128::from(self.jumped(node, from, to)) * PPM + skewed);
        let rounding = if any { PACE_ROUNDING } else { 0 };
        clamp(ceil_div(behind.max(0), PPM)) + rounding
    }

    /// The slowest skew (parts per million, at most 0) of any of `nodes` in force at some time
    /// from `from` on.
    pub(crate) fn slowest_from(&self, nodes: &[u32], from: Micros) -> i64 {
        let in_force = |skews: &Vec<(Micros, i64)>| {
            let after = skews
                .iter()
                .enumerate()
                .filter(move |&(i, _)| skews.get(i + 1).is_none_or(|&(next, _)| next > from));
            after.map(|(_, &(_, ppm))| ppm).min().unwrap_or(0)
        };
        nodes.iter().filter_map(|&n| self.skews.get(n as usize)).map(in_force).min().unwrap_or(0).min(0)
    }

    /// The fastest skew (parts per million, at least 0) of node `node` in force at some time
    /// inside `[from, to]`.
    pub(crate) fn fastest_in(&self, node: u32, from: Micros, to: Micros) -> i64 {
        let Some(skews) = self.skews.get(node as usize) else { return 0 };
        let overlaps = |i: usize, t: Micros| t <= to && skews.get(i + 1).is_none_or(|&(next, _)| next > from);
        let in_force = skews.iter().enumerate().filter(|&(i, &(t, _))| overlaps(i, t));
        in_force.map(|(_, &(_, ppm))| ppm).max().unwrap_or(0).max(0)
    }

    /// `span` of the trace's time as a clock `ppm` parts per million fast (at least 0) times it,
    /// rounded up, with the millisecond a skewed clock may be off; `span` itself at the common
    /// pace.
    pub(crate) fn paced(span: Micros, ppm: i64) -> Micros {
        if ppm <= 0 || span == Micros::MAX {
            return span;
        }
        let paced = (u128::from(span) * (1_000_000 + ppm as u128)).div_ceil(1_000_000);
        Micros::try_from(paced).unwrap_or(Micros::MAX).saturating_add(PACE_ROUNDING)
    }

    /// A wait of `span` on a clock at the pace `1 + slowest` (parts per million, at most 0)
    /// lasts this much longer in the trace's time (0 at the common pace).
    pub(crate) fn stretch(span: Micros, slowest: i64) -> Micros {
        if slowest >= 0 {
            return 0;
        }
        let pace = PPM + i128::from(slowest);
        clamp(ceil_div(i128::from(span) * PPM, pace) - i128::from(span)) + PACE_ROUNDING
    }

    /// The most any one node's clock jumped in the whole run.
    pub(crate) fn most(&self) -> Micros {
        self.by_node.iter().map(|jumps| jumps.iter().map(|&(_, jump)| jump).sum()).max().unwrap_or(0)
    }

    /// The fastest and the slowest skew any node had in the run, parts per million (0 when
    /// none was faster, or slower, than the common pace).
    pub(crate) fn extremes(&self) -> (i64, i64) {
        let all = || self.skews.iter().flatten().map(|&(_, ppm)| ppm);
        (all().max().unwrap_or(0).max(0), all().min().unwrap_or(0).min(0))
    }
}

/// The list of node `node`, made if missing.
fn slot<T>(lists: &mut Vec<Vec<T>>, node: u32) -> &mut Vec<T> {
    let node = node as usize;
    if lists.len() <= node {
        lists.resize_with(node + 1, Vec::new);
    }
    &mut lists[node]
}

/// `a / b` rounded up, for `a ≥ 0` and `b > 0`.
fn ceil_div(a: i128, b: i128) -> i128 {
    (a + b - 1) / b
}

/// A non-negative count of microseconds, saturated.
fn clamp(us: i128) -> Micros {
    Micros::try_from(us.max(0)).unwrap_or(Micros::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_counts_the_jumps_of_its_node_inside_it_both_ends_included() {
        let mut jumps = Jumps::default();
        jumps.add(1, 100, 7);
        jumps.add(1, 200, 5);
        jumps.add(3, 150, 40);
        assert_eq!(jumps.within(1, 100, 200), 12);
        assert_eq!(jumps.within(1, 101, 199), 0);
        assert_eq!(jumps.within(1, 150, 250), 5);
        assert_eq!(jumps.within(0, 0, 1_000), 0, "another node's jump shortens nothing");
        assert_eq!(jumps.within(9, 0, 1_000), 0);
        assert_eq!(jumps.behind(1, 100, 200), 0, "a jump makes no wait longer");
        assert_eq!(jumps.most(), 40);
    }

    /// A fast skew puts the clock ahead by its share of the overlap, a slow one behind; each
    /// with a millisecond for the clock's whole-millisecond moves; another node's skew, or a
    /// skew ended before the wait, counts nothing.
    #[test]
    fn a_wait_counts_the_skews_of_its_node_over_the_overlap() {
        let mut jumps = Jumps::default();
        jumps.add_skew(1, 100_000, 100_000); // n1 +10% from 100 ms
        jumps.add_skew(1, 300_000, 0); // back at 300 ms
        jumps.add_skew(2, 0, -200_000); // n2 -20% from the start
        // 100 ms of the wait under +10%: 10 ms ahead, plus the rounding.
        assert_eq!(jumps.within(1, 0, 200_000), 10_000 + PACE_ROUNDING);
        assert_eq!(jumps.within(1, 150_000, 500_000), 15_000 + PACE_ROUNDING);
        assert_eq!(jumps.within(1, 300_000, 900_000), 0, "the skew ended before the wait");
        assert_eq!(jumps.behind(1, 0, 200_000), PACE_ROUNDING, "a fast clock: the rounding only");
        assert_eq!(jumps.behind(2, 100_000, 200_000), 20_000 + PACE_ROUNDING);
        assert_eq!(jumps.within(2, 100_000, 200_000), PACE_ROUNDING, "a slow clock: the rounding only");
        assert_eq!(jumps.within(3, 0, 900_000), 0, "another node's skew counts nothing");
        // A jump and a slow skew in one wait: the net.
        jumps.add(2, 150_000, 50_000);
        assert_eq!(jumps.within(2, 100_000, 200_000), 30_000 + PACE_ROUNDING);
        assert_eq!(jumps.behind(2, 100_000, 200_000), PACE_ROUNDING);
        assert_eq!(jumps.slowest_from(&[1, 2], 0), -200_000);
        assert_eq!(jumps.slowest_from(&[1], 0), 0);
        assert_eq!(jumps.extremes(), (100_000, -200_000));
        assert_eq!(jumps.fastest_in(1, 0, 100_000), 100_000);
        assert_eq!(jumps.fastest_in(1, 300_000, 400_000), 0, "ended at 300 ms");
        assert_eq!(jumps.fastest_in(2, 0, 400_000), 0, "a slow clock");
        // 80 ms on a clock at 0.8 of the pace take 100 ms.
        assert_eq!(Jumps::stretch(80_000, -200_000), 20_000 + PACE_ROUNDING);
        assert_eq!(Jumps::stretch(80_000, 0), 0);
        // A wait stamped `[0, 200 ms]` may have ended late in its 1 ms tick, under the skew too.
        jumps.set_tick(1_000);
        assert_eq!(jumps.within(1, 0, 200_000), 10_100 + PACE_ROUNDING);
        assert_eq!(jumps.within(1, 0, 0), 0, "the skew began later");
    }
}
