//! The clock jumps of a trace (`clock` faults), for the rules that judge waits.
//!
//! The checkers measure every wait in the trace's time, but a node's code waits on its own
//! clock. A forward jump of `d` on a node fires at once every timer of that node due within
//! `d`, so a wait of that node spanning the jump may legitimately end up to `d` sooner in the
//! trace's time (docs/scenarios.md, "Clock faults"). A rule that bounds a wait from below
//! lowers the bound by exactly the jumps of the waiting node inside the wait, no more.
//!
//! The harness applies a jump in the tick its fault record is stamped with, and a record is
//! stamped with the start of its tick: a jump stamped `t` may have shortened a wait that began
//! or ended at `t`, so both ends of a wait count.

use shipsim_trace::Micros;

/// Every clock jump, per node (by its index in the trace's names), in time order.
#[derive(Debug, Default)]
pub(crate) struct Jumps {
    /// Per node index: `(t, jump)` in the order recorded.
    by_node: Vec<Vec<(Micros, Micros)>>,
}

impl Jumps {
    /// Node `node`'s clock jumped `jump` ahead at `t`.
    pub(crate) fn add(&mut self, node: u32, t: Micros, jump: Micros) {
        let node = node as usize;
        if self.by_node.len() <= node {
            self.by_node.resize_with(node + 1, Vec::new);
        }
        self.by_node[node].push((t, jump));
    }

    /// How far node `node`'s clock jumped between `from` and `to`, both included: how much
    /// sooner, in the trace's time, a wait of that node over that span may end.
    pub(crate) fn within(&self, node: u32, from: Micros, to: Micros) -> Micros {
        let Some(jumps) = self.by_node.get(node as usize) else { return 0 };
        jumps.iter().filter(|&&(t, _)| from <= t && t <= to).map(|&(_, jump)| jump).sum()
    }

    /// The most any one node's clock jumped in the whole run.
    pub(crate) fn most(&self) -> Micros {
        self.by_node.iter().map(|jumps| jumps.iter().map(|&(_, jump)| jump).sum()).max().unwrap_or(0)
    }
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
        assert_eq!(jumps.most(), 40);
    }
}
