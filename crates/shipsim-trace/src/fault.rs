//! What a `fault` record did, as data: the trace's own form of a scenario
//! fault (and of the settle phase's healing), so that a reader of the trace
//! (the diagram, the reports) never parses the display text back.
//!
//! It is the trace's own type, not the scenario's: a trace is read without the scenario's
//! YAML types (a third party's trace has no scenario at all), and it keeps its meaning when
//! the scenario's schema grows. The kinds themselves ([`FaultKind`]) are shared.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::units::Micros;
use crate::{FaultKind, Text};

/// A fault as applied. Serialized like the scenario's YAML keys
/// (`{"crash":"n2"}`, `{"partition-oneway":{"from":"n1","to":"n2"}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultAction {
    /// Every link between two different groups is cut both ways.
    Partition(Vec<Vec<Text>>),
    /// Messages from `from` to `to` are dropped.
    PartitionOneway {
        /// The sending end.
        from: Text,
        /// The receiving end.
        to: Text,
    },
    /// Partitions repaired.
    Heal(HealTarget),
    /// A node stopped.
    Crash(Text),
    /// A crashed node started again.
    Restart(Text),
    /// A node crashed and restarted at once.
    Bounce(Text),
    /// The link's messages wait.
    Hold([Text; 2]),
    /// The link's held messages go out in a seeded order; the hold ends.
    Reorder([Text; 2]),
    /// The link's held messages go out in order; the hold ends.
    Release([Text; 2]),
    /// The link's per-message latency is set.
    Latency {
        /// The link.
        link: [Text; 2],
        /// The lowest latency.
        min_us: Micros,
        /// The highest latency.
        max_us: Micros,
    },
    /// The link's loss probability is set (0 ends a loss).
    Loss {
        /// The link.
        link: [Text; 2],
        /// The probability a message is lost.
        rate: f64,
    },
    /// `from` forgets its route to `to`.
    DropRoute {
        /// The node that forgets.
        from: Text,
        /// The destination forgotten.
        to: Text,
    },
    /// `from` gets its route to `to` back.
    RestoreRoute {
        /// The node that remembers.
        from: Text,
        /// The destination.
        to: Text,
    },
    /// A node entered the shard map.
    Join(Text),
    /// A node left the shard map.
    Leave(Text),
    /// A node's process stopped for a while, then continued (real mode: SIGSTOP, SIGCONT).
    Pause {
        /// The node paused.
        node: Text,
        /// For how long, in microseconds.
        for_us: u64,
    },
    /// A node's clock jumped forward (`jump_us`): every timer of its code due within the jump
    /// fired at once, and its deadlines and waits end that much sooner in the trace's time. Or
    /// (`skew_ppm`, `jump_us` 0 and left out) from then on its clock runs that many parts per
    /// million fast or slow, until its next skew: its waits end sooner or later in the trace's
    /// time by that share.
    Clock {
        /// The node whose clock jumped or is skewed.
        node: Text,
        /// How far forward, in microseconds (0 for a skew).
        #[serde(default, skip_serializing_if = "is_zero")]
        jump_us: u64,
        /// The skew from now on, in parts per million (`None` for a jump; `Some(0)` restores
        /// the common pace).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        skew_ppm: Option<i64>,
    },
    /// The settle phase's healing: every partition healed, every hold
    /// released, every loss set to 0, the crashed nodes restarted and the
    /// dropped routes restored. It is no fault of the scenario, but it
    /// changes the network like one, so it is recorded like one.
    Settle {
        /// The nodes restarted, in scenario order.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        restarted: Vec<Text>,
        /// The `[from, to]` routes restored.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        routes: Vec<[Text; 2]>,
    },
}

/// Whether a number is 0: a skew's `jump_us` is left out of the trace.
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What a `heal` repairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HealTarget {
    /// Every partition.
    All,
    /// Every partitioned link touching one of these nodes.
    Nodes(Vec<Text>),
}

impl FaultAction {
    /// The scenario's YAML key of the action (`crash`, `partition-oneway`,
    /// ...), `settle` for the settle phase's healing.
    pub fn kind(&self) -> FaultKind {
        match self {
            FaultAction::Partition(_) => FaultKind::Partition,
            FaultAction::PartitionOneway { .. } => FaultKind::PartitionOneway,
            FaultAction::Heal(_) => FaultKind::Heal,
            FaultAction::Crash(_) => FaultKind::Crash,
            FaultAction::Restart(_) => FaultKind::Restart,
            FaultAction::Bounce(_) => FaultKind::Bounce,
            FaultAction::Hold(_) => FaultKind::Hold,
            FaultAction::Reorder(_) => FaultKind::Reorder,
            FaultAction::Release(_) => FaultKind::Release,
            FaultAction::Latency { .. } => FaultKind::Latency,
            FaultAction::Loss { .. } => FaultKind::Loss,
            FaultAction::DropRoute { .. } => FaultKind::DropRoute,
            FaultAction::RestoreRoute { .. } => FaultKind::RestoreRoute,
            FaultAction::Join(_) => FaultKind::Join,
            FaultAction::Leave(_) => FaultKind::Leave,
            FaultAction::Pause { .. } => FaultKind::Pause,
            FaultAction::Clock { .. } => FaultKind::Clock,
            FaultAction::Settle { .. } => FaultKind::Settle,
        }
    }

    /// Every node the action names, in the order written (repeats kept).
    pub fn nodes(&self) -> Vec<&Text> {
        match self {
            FaultAction::Partition(groups) => groups.iter().flatten().collect(),
            FaultAction::PartitionOneway { from, to }
            | FaultAction::DropRoute { from, to }
            | FaultAction::RestoreRoute { from, to } => vec![from, to],
            FaultAction::Heal(HealTarget::All) => Vec::new(),
            FaultAction::Heal(HealTarget::Nodes(nodes)) => nodes.iter().collect(),
            FaultAction::Crash(node)
            | FaultAction::Restart(node)
            | FaultAction::Bounce(node)
            | FaultAction::Join(node)
            | FaultAction::Leave(node)
            | FaultAction::Pause { node, .. }
            | FaultAction::Clock { node, .. } => vec![node],
            FaultAction::Hold(link)
            | FaultAction::Reorder(link)
            | FaultAction::Release(link)
            | FaultAction::Latency { link, .. }
            | FaultAction::Loss { link, .. } => link.iter().collect(),
            FaultAction::Settle { restarted, routes } => {
                restarted.iter().chain(routes.iter().flatten()).collect()
            }
        }
    }

    /// The node and the jump of a `clock` action that jumps, for the checkers that judge waits.
    pub fn clock_jump(&self) -> Option<(&Text, Micros)> {
        match self {
            FaultAction::Clock { node, jump_us, skew_ppm: None } => Some((node, *jump_us)),
            _ => None,
        }
    }

    /// The node and the skew (parts per million) of a `clock` action that skews.
    pub fn clock_skew(&self) -> Option<(&Text, i64)> {
        match self {
            FaultAction::Clock { node, skew_ppm: Some(ppm), .. } => Some((node, *ppm)),
            _ => None,
        }
    }

    /// The `(from, to)` of a route action (`drop-route`, `restore-route`).
    pub fn route(&self) -> Option<(&Text, &Text)> {
        match self {
            FaultAction::DropRoute { from, to } | FaultAction::RestoreRoute { from, to } => Some((from, to)),
            _ => None,
        }
    }
}

/// The display text of the settle phase's healing, for the `fault` field:
/// `{settle: heal all, release all, loss 0, restart [n2], restore routes [n1->n3]}`.
/// Other actions are displayed by the scenario (in its YAML flow form).
pub struct SettleText<'a> {
    /// The nodes restarted.
    pub restarted: &'a [Text],
    /// The routes restored.
    pub routes: &'a [[Text; 2]],
}

impl fmt::Display for SettleText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{settle: heal all, release all, loss 0")?;
        if !self.restarted.is_empty() {
            let names: Vec<&str> = self.restarted.iter().map(Text::as_str).collect();
            write!(f, ", restart [{}]", names.join(", "))?;
        }
        if !self.routes.is_empty() {
            let routes: Vec<String> = self.routes.iter().map(|[from, to]| format!("{from}->{to}")).collect();
            write!(f, ", restore routes [{}]", routes.join(", "))?;
        }
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_like_the_scenario_keys() {
        let crash = FaultAction::Crash("n2".into());
        assert_eq!(serde_json::to_string(&crash).unwrap(), r#"{"crash":"n2"}"#);
        let route = FaultAction::DropRoute { from: "n1".into(), to: "n2".into() };
        assert_eq!(serde_json::to_string(&route).unwrap(), r#"{"drop-route":{"from":"n1","to":"n2"}}"#);
        let clock = FaultAction::Clock { node: "n2".into(), jump_us: 500_000, skew_ppm: None };
        assert_eq!(serde_json::to_string(&clock).unwrap(), r#"{"clock":{"node":"n2","jump_us":500000}}"#);
        assert_eq!(clock.clock_jump(), Some((&"n2".into(), 500_000)));
        assert_eq!(clock.nodes(), ["n2"]);
        assert_eq!(clock.clock_skew(), None);
        let skew = FaultAction::Clock { node: "n3".into(), jump_us: 0, skew_ppm: Some(-200_000) };
        let json = r#"{"clock":{"node":"n3","skew_ppm":-200000}}"#;
        assert_eq!(serde_json::to_string(&skew).unwrap(), json);
        assert_eq!(serde_json::from_str::<FaultAction>(json).unwrap(), skew);
        assert_eq!(skew.clock_skew(), Some((&"n3".into(), -200_000)));
        assert_eq!(skew.clock_jump(), None, "a skew is no jump");
        let heal = FaultAction::Heal(HealTarget::All);
        assert_eq!(serde_json::to_string(&heal).unwrap(), r#"{"heal":"all"}"#);
        let settle = FaultAction::Settle { restarted: Vec::new(), routes: Vec::new() };
        assert_eq!(serde_json::to_string(&settle).unwrap(), r#"{"settle":{}}"#);
        for action in [
            crash,
            route,
            heal,
            settle,
            FaultAction::Heal(HealTarget::Nodes(vec!["n1".into()])),
            FaultAction::Partition(vec![vec!["n1".into()], vec!["n2".into(), "n3".into()]]),
            FaultAction::Loss { link: ["n1".into(), "n2".into()], rate: 0.25 },
            FaultAction::Latency { link: ["n1".into(), "n2".into()], min_us: 5, max_us: 9 },
            FaultAction::Clock { node: "n2".into(), jump_us: 500_000, skew_ppm: None },
            FaultAction::Settle { restarted: vec!["n2".into()], routes: vec![["n1".into(), "n3".into()]] },
        ] {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(serde_json::from_str::<FaultAction>(&json).unwrap(), action, "{json}");
        }
    }

    #[test]
    fn nodes_kind_and_settle_text() {
        let p = FaultAction::Partition(vec![vec!["n1".into()], vec!["n2".into(), "n3".into()]]);
        assert_eq!(p.kind(), FaultKind::Partition);
        assert_eq!(p.nodes(), ["n1", "n2", "n3"]);
        assert!(FaultAction::Heal(HealTarget::All).nodes().is_empty());
        let restarted = ["n2".into()];
        let routes = [["n1".into(), "n3".into()]];
        assert_eq!(
            SettleText { restarted: &restarted, routes: &routes }.to_string(),
            "{settle: heal all, release all, loss 0, restart [n2], restore routes [n1->n3]}"
        );
        assert_eq!(
            SettleText { restarted: &[], routes: &[] }.to_string(),
            "{settle: heal all, release all, loss 0}"
        );
    }
}
