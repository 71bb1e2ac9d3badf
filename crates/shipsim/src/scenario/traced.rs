//! A scenario's faults in the trace's own form ([`trace::FaultAction`]): the runner records
//! them so that readers of the trace use data, not display text.

use shipsim_trace::{self as trace, Text};

use super::{FaultAction, HealTarget, Link};

impl FaultAction {
    /// The trace's form of this action.
    pub fn traced(&self) -> trace::FaultAction {
        let text = |s: &String| Text::from(s.as_str());
        let link = |l: &Link| [text(&l.a), text(&l.b)];
        match self {
            FaultAction::Partition(groups) => {
                trace::FaultAction::Partition(groups.iter().map(|g| g.iter().map(text).collect()).collect())
            }
            FaultAction::PartitionOneway { from, to } => {
                trace::FaultAction::PartitionOneway { from: text(from), to: text(to) }
            }
            FaultAction::Heal(HealTarget::All) => trace::FaultAction::Heal(trace::HealTarget::All),
            FaultAction::Heal(HealTarget::Nodes(nodes)) => {
                trace::FaultAction::Heal(trace::HealTarget::Nodes(nodes.iter().map(text).collect()))
            }
            FaultAction::Crash(node) => trace::FaultAction::Crash(text(node)),
            FaultAction::Restart(node) => trace::FaultAction::Restart(text(node)),
            FaultAction::Bounce(node) => trace::FaultAction::Bounce(text(node)),
            FaultAction::Hold(l) => trace::FaultAction::Hold(link(l)),
            FaultAction::Reorder(l) => trace::FaultAction::Reorder(link(l)),
            FaultAction::Release(l) => trace::FaultAction::Release(link(l)),
            FaultAction::Latency { link: l, value } => trace::FaultAction::Latency {
                link: link(l),
                min_us: value.min.as_micros() as u64,
                max_us: value.max.as_micros() as u64,
            },
            FaultAction::Loss { link: l, rate } => trace::FaultAction::Loss { link: link(l), rate: *rate },
            FaultAction::DropRoute { from, to } => {
                trace::FaultAction::DropRoute { from: text(from), to: text(to) }
            }
            FaultAction::RestoreRoute { from, to } => {
                trace::FaultAction::RestoreRoute { from: text(from), to: text(to) }
            }
            FaultAction::Join(node) => trace::FaultAction::Join(text(node)),
            FaultAction::Leave(node) => trace::FaultAction::Leave(text(node)),
            FaultAction::Pause { node, duration } => {
                trace::FaultAction::Pause { node: text(node), for_us: duration.as_micros() as u64 }
            }
            FaultAction::Clock { node, jump } => trace::FaultAction::Clock {
                node: text(node),
                jump_us: jump.as_micros() as u64,
                skew_ppm: None,
            },
            FaultAction::Skew { node, ppm } => {
                trace::FaultAction::Clock { node: text(node), jump_us: 0, skew_ppm: Some(*ppm) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action of the scenario has a trace form of the same kind naming the same nodes.
    #[test]
    fn every_kind_keeps_its_key_and_nodes() {
        let scenario = crate::scenario::parse(
            "name: all\nnodes: [n1, n2, n3]\nduration: 10s\nworkload: {events: 1}\nfaults:\n\
             - {at: 1s, partition: [[n1], [n2, n3]]}\n- {at: 1s, heal: [n1]}\n\
             - {at: 1s, partition-oneway: {from: n1, to: n2}}\n- {at: 1s, heal: all}\n\
             - {at: 1s, hold: [n1, n2]}\n- {at: 1s, reorder: [n1, n2]}\n- {at: 1s, hold: [n1, n3]}\n\
             - {at: 1s, release: [n1, n3]}\n- {at: 1s, latency: {link: [n2, n3], value: 1ms..2ms}}\n\
             - {at: 1s, loss: {link: [n2, n3], rate: 0.5}}\n- {at: 1s, drop-route: {from: n1, to: n3}}\n\
             - {at: 1s, restore-route: {from: n1, to: n3}}\n- {at: 2s, crash: n2}\n\
             - {at: 3s, restart: n2}\n- {at: 4s, bounce: n3}\n",
            "all.yaml",
        )
        .unwrap();
        for fault in &scenario.faults {
            let traced = fault.action.traced();
            assert_eq!(traced.kind(), fault.action.kind());
            let text = fault.to_string();
            for node in traced.nodes() {
                assert!(text.contains(node.as_str()), "{text} names {node}");
            }
        }
        let latency = scenario.faults[8].action.traced();
        assert_eq!(
            latency,
            trace::FaultAction::Latency { link: ["n2".into(), "n3".into()], min_us: 1000, max_us: 2000 }
        );
    }
}
