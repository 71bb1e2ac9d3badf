//! The fault timeline: each entry checked on its own, then walked in order against the
//! cluster state it would meet.
//!
//! A fault that cannot do anything at its moment — a restart of a running node, a heal when
//! no partition is active, a release of a link that is not held — is almost always a mistake
//! in the scenario, and running it would silently test less than its author thinks. So the
//! walk tracks which nodes are crashed, which links are partitioned (both ways or one way) and
//! which are held, and rejects such faults with the time and position that make them wrong.
//!
//! This module reads each entry on its own (its time, its one action, the nodes it names);
//! the walk (the cluster state, and how each kind of fault changes it) is in
//! `timeline_walk.rs`.

use std::collections::BTreeSet;
use std::time::Duration;

use shipsim_trace::FaultKind;

use super::duration::{format_duration, parse_duration};
use super::error::{Pos, Problem};
use super::model::{Fault, FaultAction, HealTarget, Link};
use super::raw::located;
use super::raw::{Located, Names, RawClock, RawFault, RawHeal, RawLinkLatency, RawLinkLoss, RawOneway, Slot};
use super::scalars::{check_probability, parse_latency};
use super::skew::parse_skew;
use super::timeline_walk::{ActionPos, Walk, show};

/// Converts and checks the `faults:` list of a scenario with these nodes and duration.
pub(crate) fn faults(
    raw: Vec<Located<RawFault>>,
    nodes: &[String],
    members: &[String],
    duration: Duration,
    network_loss: f64,
) -> Result<Vec<Fault>, Problem> {
    let known = Known { nodes };
    let mut walk = Walk::new(members, network_loss);
    let mut faults: Vec<Fault> = Vec::with_capacity(raw.len());
    for entry in raw {
        let pos = entry.pos;
        let at_text = entry.value.at.as_ref().map(|a| (a.value.clone(), a.pos));
        let Some((at_text, at_pos)) = at_text else {
            return Err(Problem::new(pos, "fault has no `at` time (e.g. `at: 2s`)"));
        };
        let at = parse_duration(&at_text).map_err(|m| Problem::new(at_pos, m))?;
        if at > duration {
            return Err(Problem::new(
                at_pos,
                format!(
                    "fault at {} is past the scenario's duration ({})",
                    format_duration(at),
                    format_duration(duration)
                ),
            ));
        }
        if let Some(previous) = faults.last().filter(|f| f.at > at) {
            return Err(Problem::new(
                at_pos,
                format!(
                    "fault at {} comes before the previous fault (at {}): faults must be in \
                     time order",
                    format_duration(at),
                    format_duration(previous.at)
                ),
            ));
        }
        let (action, action_pos) = known.action(entry.value, pos)?;
        walk.apply(&action, &action_pos, at)?;
        faults.push(Fault { at, action, line: pos.line });
    }
    Ok(faults)
}

/// What a fault entry is checked against on its own, before the walk: the scenario's nodes.
struct Known<'a> {
    nodes: &'a [String],
}

impl Known<'_> {
    /// The single action of a fault entry, checked on its own, and where it was written.
    fn action(&self, raw: RawFault, entry: Pos) -> Result<(FaultAction, ActionPos), Problem> {
        let (kind, pos) = only_action(&raw, entry)?;
        let mut at = ActionPos { value: pos, nodes: Vec::new() };
        if let Slot::Present(Located { value: Some(RawHeal::Nodes(list)), .. }) = &raw.heal {
            at.nodes = list.iter().map(|n| n.pos).collect();
        }
        match self.convert(raw) {
            Some(action) => Ok((action?, at)),
            // The one action present has an empty value.
            None => Err(Problem::new(pos, format!("`{kind}` needs a value"))),
        }
    }

    /// The entry's one action converted and checked on its own, or `None` if its value is
    /// empty. [`only_action`] has made sure every other key is absent, so at most one item
    /// of the list is `Some`, and only its conversion runs: its errors are the entry's.
    fn convert(&self, raw: RawFault) -> Option<Result<FaultAction, Problem>> {
        let node = |slot: Slot<String>, make: fn(String) -> FaultAction| {
            slot.into_value().map(|n| self.node(&n).map(make))
        };
        let link = |slot: Slot<Vec<Located<String>>>, make: fn(Link) -> FaultAction| {
            slot.into_value().map(|l| self.link(&l).map(make))
        };
        [
            raw.partition.into_value().map(|g| self.groups(g).map(FaultAction::Partition)),
            raw.partition_oneway.into_value().map(|p| self.partition_oneway_action(&p.value)),
            raw.heal.into_value().map(|h| self.heal_target(h).map(FaultAction::Heal)),
            node(raw.crash, FaultAction::Crash),
            node(raw.restart, FaultAction::Restart),
            node(raw.bounce, FaultAction::Bounce),
            link(raw.hold, FaultAction::Hold),
            link(raw.reorder, FaultAction::Reorder),
            link(raw.release, FaultAction::Release),
            raw.latency.into_value().map(|l| self.latency_action(&l.value)),
            raw.loss.into_value().map(|l| self.loss_action(&l.value)),
            raw.drop_route.into_value().map(|r| {
                let (from, to) = self.route(&r.value, "drop-route")?;
                Ok(FaultAction::DropRoute { from, to })
            }),
            raw.restore_route.into_value().map(|r| {
                let (from, to) = self.route(&r.value, "restore-route")?;
                Ok(FaultAction::RestoreRoute { from, to })
            }),
            node(raw.join, FaultAction::Join),
            node(raw.leave, FaultAction::Leave),
            raw.clock.into_value().map(|c| self.clock_action(c.value, c.pos)),
            raw.pause.into_value().map(|p| {
                let node = self.node(&p.value.node)?;
                let duration = located(&p.value.duration, parse_duration(&p.value.duration.value))?;
                Ok(FaultAction::Pause { node, duration })
            }),
        ]
        .into_iter()
        .flatten()
        .next()
    }

    /// `clock: {node, jump}` (a known node and a jump forward of more than zero) or `clock:
    /// {node, skew}` (a signed percentage within the range `skew.rs` allows); not both.
    fn clock_action(&self, raw: RawClock, pos: Pos) -> Result<FaultAction, Problem> {
        let node = self.node(&raw.node)?;
        if let Slot::Present(skew) = raw.skew {
            if let Some(jump) = raw.jump.pos() {
                return Err(Problem::new(
                    jump,
                    "a clock fault either jumps or skews the clock, not both: write two faults",
                ));
            }
            let Some(text) = skew.value else {
                return Err(Problem::new(
                    skew.pos,
                    "`skew` needs a value: how much faster or slower the clock runs, e.g. `+10%` or `-20%`",
                ));
            };
            let ppm = parse_skew(&text).map_err(|m| Problem::new(skew.pos, m))?;
            return Ok(FaultAction::Skew { node, ppm });
        }
        let text = match raw.jump {
            Slot::Present(Located { value: Some(text), pos }) => Located { value: text, pos },
            Slot::Present(Located { value: None, pos }) => {
                return Err(Problem::new(
                    pos,
                    "`jump` needs a value: how far forward the clock jumps, e.g. `500ms`",
                ));
            }
            Slot::Absent => {
                return Err(Problem::new(
                    pos,
                    "a clock fault needs a `jump` (how far forward the node's clock jumps, e.g. `{node: n2, jump: 500ms}`) or a `skew` (how much faster or slower it runs, e.g. `{node: n2, skew: +10%}`)",
                ));
            }
        };
        if text.value.trim().starts_with('-') {
            return Err(Problem::new(
                text.pos,
                format!(
                    "a clock jumps forward only: `{}` would turn it back, which a node's clock (tokio's, \
                     monotonic) cannot do; docs/scenarios.md#clock-faults",
                    text.value
                ),
            ));
        }
        let jump = located(&text, parse_duration(&text.value))?;
        if jump.is_zero() {
            return Err(Problem::new(
                text.pos,
                "a clock jump of 0s does nothing: jump forward by more than zero",
            ));
        }
        Ok(FaultAction::Clock { node, jump })
    }

    /// `partition-oneway: {from, to}`: two known, different nodes.
    fn partition_oneway_action(&self, raw: &RawOneway) -> Result<FaultAction, Problem> {
        let from = self.node(&raw.from)?;
        let to = self.node(&raw.to)?;
        if from == to {
            return Err(Problem::new(raw.to.pos, "a one-way partition needs two different nodes"));
        }
        Ok(FaultAction::PartitionOneway { from, to })
    }

    /// `latency: {link, value}`: the link first, so a wrong node is reported before a wrong
    /// range.
    fn latency_action(&self, raw: &RawLinkLatency) -> Result<FaultAction, Problem> {
        let link = self.link(&raw.link)?;
        let value = located(&raw.value, parse_latency(&raw.value.value))?;
        Ok(FaultAction::Latency { link, value })
    }

    /// `loss: {link, rate}`: the link first, then the rate, which must be a probability.
    fn loss_action(&self, raw: &RawLinkLoss) -> Result<FaultAction, Problem> {
        let link = self.link(&raw.link)?;
        let rate = located(&raw.rate, check_probability(raw.rate.value, "loss rate"))?;
        Ok(FaultAction::Loss { link, rate })
    }

    fn node(&self, name: &Located<String>) -> Result<String, Problem> {
        if self.nodes.contains(&name.value) {
            Ok(name.value.clone())
        } else {
            Err(Problem::new(
                name.pos,
                format!("unknown node `{}` (nodes: {})", name.value, self.nodes.join(", ")),
            ))
        }
    }

    /// The (from, to) of a route fault: two known, different nodes.
    fn route(&self, raw: &RawOneway, kind: &str) -> Result<(String, String), Problem> {
        let from = self.node(&raw.from)?;
        let to = self.node(&raw.to)?;
        if from == to {
            return Err(Problem::new(
                raw.to.pos,
                format!("a {kind} needs two different nodes (a node always reaches itself)"),
            ));
        }
        Ok((from, to))
    }

    fn link(&self, names: &Names) -> Result<Link, Problem> {
        let [a, b] = names.value.as_slice() else {
            return Err(Problem::new(
                names.pos,
                format!("a link is a pair of nodes like [n1, n2], found {} names", names.value.len()),
            ));
        };
        let link = Link::new(self.node(a)?, self.node(b)?);
        if link.a == link.b {
            return Err(Problem::new(
                b.pos,
                format!("a link joins two different nodes, found {}", show(&link)),
            ));
        }
        Ok(link)
    }

    fn groups(&self, groups: Located<Vec<Names>>) -> Result<Vec<Vec<String>>, Problem> {
        if groups.value.len() < 2 {
            return Err(Problem::new(
                groups.pos,
                "a partition needs at least two groups, e.g. [[n1], [n2, n3]]",
            ));
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(groups.value.len());
        for group in &groups.value {
            if group.value.is_empty() {
                return Err(Problem::new(group.pos, "empty partition group"));
            }
            let mut names = Vec::with_capacity(group.value.len());
            for name in &group.value {
                let node = self.node(name)?;
                if !seen.insert(node.clone()) {
                    return Err(Problem::new(
                        name.pos,
                        format!(
                            "node `{node}` is in more than one partition group (groups must not overlap)"
                        ),
                    ));
                }
                names.push(node);
            }
            out.push(names);
        }
        Ok(out)
    }

    fn heal_target(&self, heal: Located<RawHeal>) -> Result<HealTarget, Problem> {
        match heal.value {
            RawHeal::Word(word) if word == "all" => Ok(HealTarget::All),
            RawHeal::Nodes(list) if list.is_empty() => Err(Problem::new(
                heal.pos,
                "heal of nothing: the node list is empty (write `all` or list nodes)",
            )),
            RawHeal::Nodes(list) => {
                let mut nodes: Vec<String> = Vec::with_capacity(list.len());
                for name in &list {
                    let node = self.node(name)?;
                    if nodes.contains(&node) {
                        return Err(Problem::new(name.pos, format!("node `{node}` is listed twice")));
                    }
                    nodes.push(node);
                }
                Ok(HealTarget::Nodes(nodes))
            }
            RawHeal::Word(word) => Err(Problem::new(
                heal.pos,
                format!("heal takes `all` or a list of nodes like [n1, n2], found `{word}`"),
            )),
            RawHeal::Mapping => Err(Problem::new(
                heal.pos,
                "heal takes `all` or a list of nodes like [n1, n2], found a mapping",
            )),
        }
    }
}

/// The one action key of a fault entry and where its value was written. No key, or two,
/// is an error: at the entry for none, at the second key in the file for two (whatever
/// the struct's field order), so the message points at the key to move.
fn only_action(raw: &RawFault, entry: Pos) -> Result<(&'static str, Pos), Problem> {
    let mut present: Vec<(&str, Pos)> =
        action_keys(raw).into_iter().filter_map(|(kind, pos)| pos.map(|p| (kind, p))).collect();
    present.sort_by_key(|(_, pos)| *pos);
    match present.as_slice() {
        [] => Err(Problem::new(
            entry,
            format!(
                "fault has no action (expected one of: {})",
                FaultKind::scripted().map(FaultKind::as_str).collect::<Vec<_>>().join(", ")
            ),
        )),
        [one] => Ok(*one),
        [(first, _), (second, pos), ..] => Err(Problem::new(
            *pos,
            format!("two actions in one fault: `{first}` and `{second}` (write one fault entry per action)"),
        )),
    }
}

/// Every action key of a fault entry, as the file spells it, with where its value was
/// written if present. Destructured field by field so that a new action key does not
/// compile until it is listed here.
fn action_keys(raw: &RawFault) -> [(&'static str, Option<Pos>); 17] {
    let RawFault {
        at: _,
        partition,
        partition_oneway,
        heal,
        crash,
        restart,
        bounce,
        hold,
        reorder,
        release,
        latency,
        loss,
        drop_route,
        restore_route,
        join,
        leave,
        pause,
        clock,
    } = raw;
    [
        ("partition", partition.pos()),
        ("partition-oneway", partition_oneway.pos()),
        ("heal", heal.pos()),
        ("crash", crash.pos()),
        ("restart", restart.pos()),
        ("bounce", bounce.pos()),
        ("hold", hold.pos()),
        ("reorder", reorder.pos()),
        ("release", release.pos()),
        ("latency", latency.pos()),
        ("loss", loss.pos()),
        ("drop-route", drop_route.pos()),
        ("restore-route", restore_route.pos()),
        ("join", join.pos()),
        ("leave", leave.pos()),
        ("pause", pause.pos()),
        ("clock", clock.pos()),
    ]
}

#[cfg(test)]
mod tests {
    use super::super::validate::scenario;
    use super::super::yaml::parse_raw;
    use super::*;

    const HEAD: &str = "name: t\nnodes: [n1, n2, n3]\nduration: 20s\nfaults:\n";

    /// The faults of a scenario whose `faults:` list is `lines` (each a `  - {...}` entry).
    fn run(lines: &[&str]) -> Result<Vec<Fault>, Problem> {
        let text = format!("{HEAD}{}", lines.iter().map(|l| format!("  - {l}\n")).collect::<String>());
        scenario(parse_raw(&text).expect("parses")).map(|s| s.faults)
    }

    /// The error for `lines`: (fault number counted from 1, column, message).
    fn err(lines: &[&str]) -> (usize, usize, String) {
        let p = run(lines).unwrap_err();
        (p.pos.line - 4, p.pos.column, p.message)
    }

    /// Asserts that `lines` fail with `message` at the first `needle` of fault number `fault`.
    #[track_caller]
    fn fails(lines: &[&str], (fault, needle): (usize, &str), message: &str) {
        let column = lines[fault - 1].find(needle).expect("needle in line") + "  - ".len() + 1;
        assert_eq!(err(lines), (fault, column, message.to_owned()));
    }

    fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// `pause: {node, for}` (real mode's SIGSTOP): a running node, a duration; it prints as
    /// it is written, so a repro keeps it.
    #[test]
    fn a_pause_names_a_running_node_and_a_duration() {
        let faults = run(&["{at: 1s, pause: {node: n2, for: 400ms}}"]).unwrap();
        let action = FaultAction::Pause { node: "n2".into(), duration: Duration::from_millis(400) };
        assert_eq!(faults[0].action, action);
        assert_eq!(faults[0].to_string(), "{at: 1s, pause: {node: n2, for: 400ms}}");
        fails(
            &["{at: 1s, crash: n2}", "{at: 2s, pause: {node: n2, for: 1s}}"],
            (2, "{node"),
            "pause of `n2`, which is crashed (since 1s)",
        );
        fails(
            &["{at: 1s, pause: {node: n2, for: soon}}"],
            (1, "soon"),
            &err(&["{at: 1s, pause: {node: n2, for: soon}}"]).2,
        );
    }

    /// `clock: {node, skew}`: a running node and a signed percentage within range, printed
    /// back as it reads; out of range, not a percentage, empty, beside a `jump` or on a crashed
    /// node it is refused where it is written, saying why.
    #[test]
    fn a_clock_skew_runs_a_running_nodes_clock_fast_or_slow_and_refuses_the_rest_with_the_reason() {
        let faults = run(&[
            "{at: 1s, clock: {node: n2, skew: +10%}}",
            "{at: 2s, clock: {node: n3, skew: -20%}}",
            "{at: 3s, clock: {node: n2, skew: 0%}}",
        ])
        .unwrap();
        assert_eq!(faults[0].action, FaultAction::Skew { node: "n2".into(), ppm: 100_000 });
        assert_eq!(faults[1].action, FaultAction::Skew { node: "n3".into(), ppm: -200_000 });
        assert_eq!(faults[2].to_string(), "{at: 3s, clock: {node: n2, skew: +0%}}");
        assert_eq!(faults[1].to_string(), "{at: 2s, clock: {node: n3, skew: -20%}}");
        assert_eq!(faults[0].action.kind(), FaultKind::Clock);
        fails(
            &["{at: 1s, clock: {node: n2, skew: -100%}}"],
            (1, "-100%"),
            &err(&["{at: 1s, clock: {node: n2, skew: -100%}}"]).2,
        );
        assert!(err(&["{at: 1s, clock: {node: n2, skew: -100%}}"]).2.contains("stops"));
        assert!(err(&["{at: 1s, clock: {node: n2, skew: +5000%}}"]).2.contains("too fast"));
        let fast = ["{at: 1s, clock: {node: n2, skew: fast}}"];
        let message = err(&fast).2;
        assert!(message.contains("`fast` is not a clock skew: write a signed percentage"), "{message}");
        fails(&fast, (1, "fast"), &message);
        fails(
            &["{at: 1s, clock: {node: n2, skew: }}"],
            (1, ": }}"),
            "`skew` needs a value: how much faster or slower the clock runs, e.g. `+10%` or `-20%`",
        );
        fails(
            &["{at: 1s, clock: {node: n2, skew: 5%, jump: 1s}}"],
            (1, "1s}}"),
            "a clock fault either jumps or skews the clock, not both: write two faults",
        );
        fails(
            &["{at: 1s, crash: n2}", "{at: 2s, clock: {node: n2, skew: 5%}}"],
            (2, "{node"),
            "clock of `n2`, which is crashed (since 1s)",
        );
    }

    /// `clock: {node, jump}`: a running node and a jump forward; it prints as it is written.
    /// A zero, negative or missing jump and an unknown or crashed node are refused
    /// where they are written, each saying why (docs/scenarios.md, "Clock faults").
    #[test]
    fn a_clock_fault_jumps_a_running_node_forward_and_refuses_the_rest_with_the_reason() {
        let faults = run(&["{at: 1s, clock: {node: n2, jump: 500ms}}"]).unwrap();
        let action = FaultAction::Clock { node: "n2".into(), jump: Duration::from_millis(500) };
        assert_eq!(faults[0].action, action);
        assert_eq!(faults[0].to_string(), "{at: 1s, clock: {node: n2, jump: 500ms}}");
        fails(
            &["{at: 1s, clock: {node: n2, jump: 0ms}}"],
            (1, "0ms"),
            "a clock jump of 0s does nothing: jump forward by more than zero",
        );
        fails(
            &["{at: 1s, clock: {node: n2, jump: -5ms}}"],
            (1, "-5ms"),
            "a clock jumps forward only: `-5ms` would turn it back, which a node's clock (tokio's, \
             monotonic) cannot do; docs/scenarios.md#clock-faults",
        );
        fails(
            &["{at: 1s, clock: {node: n2}}"],
            (1, "{node"),
            "a clock fault needs a `jump` (how far forward the node's clock jumps, e.g. `{node: n2, jump: \
             500ms}`) or a `skew` (how much faster or slower it runs, e.g. `{node: n2, skew: +10%}`)",
        );
        fails(
            &["{at: 1s, clock: {node: n2, jump: }}"],
            (1, ": }}"),
            "`jump` needs a value: how far forward the clock jumps, e.g. `500ms`",
        );
        fails(&["{at: 1s, clock: {node: n9, jump: 1s}}"], (1, "n9"), "unknown node `n9` (nodes: n1, n2, n3)");
        fails(
            &["{at: 1s, crash: n2}", "{at: 2s, clock: {node: n2, jump: 1s}}"],
            (2, "{node"),
            "clock of `n2`, which is crashed (since 1s)",
        );
        let tilt = format!("{HEAD}  - {{at: 1s, clock: {{node: n2, jump: 1s, tilt: 2}}}}\n");
        let unknown = parse_raw(&tilt).unwrap_err();
        assert_eq!(unknown.message, "unknown key `tilt` (expected one of: node, jump, skew)");
        assert_eq!((unknown.pos.line, unknown.pos.column), (5, 42));
        assert_eq!(
            err(&["{at: 1s, clock: {node: n2, jump: 1s}, crash: n1}"]).2,
            "two actions in one fault: `clock` and `crash` (write one fault entry per action)"
        );
    }

    #[test]
    fn every_action_converts() {
        let faults = run(&[
            "{at: 1s, partition: [[n1], [n2, n3]]}",
            "{at: 1s, partition-oneway: {from: n1, to: n2}}",
            "{at: 2s, heal: all}",
            "{at: 2s, partition: [[n1], [n2]]}",
            "{at: 3s, heal: [n2]}",
            "{at: 4s, crash: n2}",
            "{at: 5s, restart: n2}",
            "{at: 6s, bounce: n3}",
            "{at: 7s, hold: [n1, n3]}",
            "{at: 8s, reorder: [n3, n1]}",
            "{at: 8s, hold: [n1, n3]}",
            "{at: 9s, release: [n1, n3]}",
            "{at: 10s, latency: {link: [n1, n2], value: 50ms..200ms}}",
            "{at: 11s, loss: {link: [n1, n2], rate: 0.1}}",
            "{at: 12s, drop-route: {from: n3, to: n1}}",
            "{at: 13s, restore-route: {from: n3, to: n1}}",
        ])
        .unwrap();
        let actions: Vec<&FaultAction> = faults.iter().map(|f| &f.action).collect();
        assert_eq!(
            actions[0],
            &FaultAction::Partition(vec![vec!["n1".into()], vec!["n2".into(), "n3".into()]])
        );
        assert_eq!(actions[1], &FaultAction::PartitionOneway { from: "n1".into(), to: "n2".into() });
        assert_eq!(actions[2], &FaultAction::Heal(HealTarget::All));
        assert_eq!(actions[4], &FaultAction::Heal(HealTarget::Nodes(vec!["n2".into()])));
        assert_eq!(actions[9], &FaultAction::Reorder(Link::new("n3", "n1")));
        assert_eq!(
            actions[12],
            &FaultAction::Latency {
                link: Link::new("n1", "n2"),
                value: super::super::model::LatencyRange {
                    min: Duration::from_millis(50),
                    max: Duration::from_millis(200)
                }
            }
        );
        assert_eq!(actions[13], &FaultAction::Loss { link: Link::new("n1", "n2"), rate: 0.1 });
        assert_eq!(faults[0].at, s(1));
        assert_eq!(faults[0].line, 5);
        assert_eq!(faults[13].line, 18);
        assert_eq!(actions[14], &FaultAction::DropRoute { from: "n3".into(), to: "n1".into() });
        assert_eq!(actions[15], &FaultAction::RestoreRoute { from: "n3".into(), to: "n1".into() });
    }

    #[test]
    fn entry_shape_errors() {
        fails(
            &["{at: 2s}"],
            (1, "{"),
            "fault has no action (expected one of: partition, partition-oneway, heal, crash, restart, bounce, hold, reorder, release, latency, loss, drop-route, restore-route, join, leave, pause, clock)",
        );
        fails(&["{crash: n1}"], (1, "{"), "fault has no `at` time (e.g. `at: 2s`)");
        fails(
            &["{at: 2s, crash: n1, restart: n2}"],
            (1, "n2"),
            "two actions in one fault: `crash` and `restart` (write one fault entry per action)",
        );
        fails(
            &["{at: 2s, restart: n2, crash: n1}"],
            (1, "n1"),
            "two actions in one fault: `restart` and `crash` (write one fault entry per action)",
        );
        fails(&["{at: 2s, crash: n4}"], (1, "n4"), "unknown node `n4` (nodes: n1, n2, n3)");
        fails(&["{at: 2s, crash: }"], (1, ": }"), "`crash` needs a value");
        fails(&["{at: 2s, hold: ~}"], (1, "~"), "`hold` needs a value");
        assert_eq!(
            err(&["{at: 2s, hold: [n1]}"]).2,
            "a link is a pair of nodes like [n1, n2], found 1 names"
        );
        fails(&["{at: 2s, hold: [n1, n1]}"], (1, "n1]"), "a link joins two different nodes, found [n1, n1]");
        assert_eq!(
            err(&["{at: 2s, partition: [[n1, n2, n3]]}"]).2,
            "a partition needs at least two groups, e.g. [[n1], [n2, n3]]"
        );
        fails(&["{at: 2s, partition: [[n1], []]}"], (1, "[]"), "empty partition group");
        fails(
            &["{at: 2s, partition: [[n1, n2], [n2, n3]]}"],
            (1, "n2, n3"),
            "node `n2` is in more than one partition group (groups must not overlap)",
        );
        assert_eq!(
            err(&["{at: 2s, partition-oneway: {from: n1, to: n1}}"]).2,
            "a one-way partition needs two different nodes"
        );
        assert_eq!(
            err(&["{at: 2s, heal: n1}"]).2,
            "heal takes `all` or a list of nodes like [n1, n2], found `n1`"
        );
        assert_eq!(
            err(&["{at: 2s, heal: {a: 1}}"]).2,
            "heal takes `all` or a list of nodes like [n1, n2], found a mapping"
        );
        fails(
            &["{at: 2s, loss: {link: [n1, n2], rate: 2}}"],
            (1, "2}"),
            "loss rate must be a probability in 0..=1, found 2",
        );
        assert_eq!(
            err(&["{at: 2s, latency: {link: [n1, n2], value: 9ms..1ms}}"]).2,
            "latency range `9ms..1ms` is reversed: min 9ms is more than max 1ms"
        );
    }

    #[test]
    fn times_are_ordered_and_within_duration() {
        fails(&["{at: 21s, crash: n1}"], (1, "21s"), "fault at 21s is past the scenario's duration (20s)");
        assert!(run(&["{at: 20s, crash: n1}"]).is_ok());
        fails(
            &["{at: 3s, crash: n1}", "{at: 2s, restart: n1}"],
            (2, "2s"),
            "fault at 2s comes before the previous fault (at 3s): faults must be in time order",
        );
        assert!(run(&["{at: 3s, crash: n1}", "{at: 3s, restart: n1}"]).is_ok());
        assert!(err(&["{at: -1s, crash: n1}"]).2.starts_with("negative duration `-1s`"));
    }

    #[test]
    fn node_state_walk() {
        fails(&["{at: 1s, restart: n1}"], (1, "n1"), "restart of `n1`, which is running (crash it first)");
        assert_eq!(
            err(&["{at: 1s, crash: n1}", "{at: 2s, crash: n1}"]).2,
            "crash of `n1`, which is already crashed (since 1s)"
        );
        assert_eq!(
            err(&["{at: 1s, crash: n1}", "{at: 2s, bounce: n1}"]).2,
            "bounce of `n1`, which is crashed (since 1s): use restart"
        );
        assert!(run(&["{at: 1s, bounce: n1}", "{at: 2s, bounce: n1}", "{at: 3s, crash: n1}"]).is_ok());
    }

    #[test]
    fn heal_needs_something_to_heal() {
        fails(&["{at: 1s, heal: all}"], (1, "all"), "heal of nothing: no partition is active at 1s");
        fails(
            &["{at: 1s, partition: [[n1], [n2]]}", "{at: 2s, heal: [n1, n3]}"],
            (2, "n3"),
            "heal of `n3`, which is in no active partition at 2s",
        );
        assert_eq!(
            err(&["{at: 1s, heal: []}"]).2,
            "heal of nothing: the node list is empty (write `all` or list nodes)"
        );
        // Healing n1 repairs every link that touches it, so a second heal of n2 has nothing left.
        assert_eq!(
            err(&["{at: 1s, partition: [[n1], [n2]]}", "{at: 2s, heal: [n1]}", "{at: 3s, heal: [n2]}"]).2,
            "heal of `n2`, which is in no active partition at 3s"
        );
        // One-way partitions count, and heal all clears them.
        assert!(run(&["{at: 1s, partition-oneway: {from: n2, to: n3}}", "{at: 2s, heal: [n3]}"]).is_ok());
        assert_eq!(
            err(&[
                "{at: 1s, partition-oneway: {from: n2, to: n3}}",
                "{at: 2s, heal: all}",
                "{at: 3s, heal: all}"
            ])
            .2,
            "heal of nothing: no partition is active at 3s"
        );
        // Holds are not partitions.
        assert_eq!(
            err(&["{at: 1s, hold: [n1, n2]}", "{at: 2s, heal: all}"]).2,
            "heal of nothing: no partition is active at 2s"
        );
    }

    #[test]
    fn hold_release_reorder_walk() {
        fails(&["{at: 1s, release: [n1, n2]}"], (1, "["), "release of link [n1, n2], which is not held");
        assert_eq!(
            err(&["{at: 1s, reorder: [n1, n2]}"]).2,
            "reorder of link [n1, n2], which is not held (hold it first)"
        );
        assert_eq!(
            err(&["{at: 1s, hold: [n1, n2]}", "{at: 2s, hold: [n2, n1]}"]).2,
            "hold of link [n2, n1], which is already held (since 1s)"
        );
        assert_eq!(
            err(&["{at: 1s, hold: [n1, n2]}", "{at: 2s, reorder: [n1, n2]}", "{at: 3s, release: [n1, n2]}"])
                .2,
            "release of link [n1, n2], which is not held (the reorder at 2s released it)"
        );
        assert!(
            run(&["{at: 1s, hold: [n1, n2]}", "{at: 2s, release: [n2, n1]}", "{at: 3s, hold: [n1, n2]}"])
                .is_ok()
        );
    }

    #[test]
    fn one_way_partitions_do_not_combine_with_loss() {
        let msg = err(&[
            "{at: 1s, loss: {link: [n1, n2], rate: 0.1}}",
            "{at: 2s, partition-oneway: {from: n2, to: n1}}",
        ])
        .2;
        assert!(
            msg.starts_with(
                "one-way partition of link [n2, n1], which is lossy (since 1s): turmoil models loss"
            ),
            "{msg}"
        );
        let msg = err(&[
            "{at: 1s, partition-oneway: {from: n2, to: n1}}",
            "{at: 2s, loss: {link: [n1, n2], rate: 0.1}}",
        ])
        .2;
        assert!(
            msg.starts_with(
                "loss on link [n1, n2], which has an active one-way partition (n2 -> n1 since 1s)"
            ),
            "{msg}"
        );
        // A loss set back to 0 frees the link; other links stay usable.
        assert!(
            run(&[
                "{at: 1s, loss: {link: [n1, n2], rate: 0.1}}",
                "{at: 2s, partition-oneway: {from: n1, to: n3}}",
                "{at: 3s, loss: {link: [n1, n2], rate: 0.0}}",
                "{at: 4s, partition-oneway: {from: n1, to: n2}}",
            ])
            .is_ok()
        );
    }

    #[test]
    fn hold_does_not_combine_with_partitions() {
        fails(
            &["{at: 1s, partition-oneway: {from: n2, to: n1}}", "{at: 2s, hold: [n1, n2]}"],
            (2, "["),
            "hold of link [n1, n2], which has an active one-way partition (n2 -> n1 since 1s): turmoil keeps one state per link direction, so partitions (one-way ones included) do not combine with hold; heal it first",
        );
        let msg = err(&["{at: 1s, hold: [n1, n2]}", "{at: 2s, partition-oneway: {from: n1, to: n2}}"]).2;
        assert!(
            msg.starts_with("one-way partition of link [n1, n2], which is held (since 1s): turmoil"),
            "{msg}"
        );
        let msg = err(&["{at: 1s, partition: [[n1], [n3]]}", "{at: 2s, hold: [n3, n1]}"]).2;
        assert!(msg.starts_with("hold of link [n3, n1], which is partitioned (since 1s)"), "{msg}");
        let msg = err(&["{at: 1s, hold: [n1, n3]}", "{at: 2s, partition: [[n1, n2], [n3]]}"]).2;
        assert!(msg.starts_with("partition cuts link [n1, n3], which is held (since 1s)"), "{msg}");
        // After a heal the link may be held.
        assert!(
            run(&[
                "{at: 1s, partition-oneway: {from: n1, to: n2}}",
                "{at: 2s, heal: all}",
                "{at: 3s, hold: [n1, n2]}"
            ])
            .is_ok()
        );
    }

    #[test]
    fn route_walk() {
        fails(
            &["{at: 1s, drop-route: {from: n1, to: n1}}"],
            (1, "n1}"),
            "a drop-route needs two different nodes (a node always reaches itself)",
        );
        fails(
            &["{at: 1s, restore-route: {from: n4, to: n1}}"],
            (1, "n4"),
            "unknown node `n4` (nodes: n1, n2, n3)",
        );
        fails(
            &["{at: 1s, drop-route: {from: n1, to: n2}}", "{at: 2s, drop-route: {from: n1, to: n2}}"],
            (2, "{from"),
            "drop-route n1 -> n2, which is already dropped (since 1s)",
        );
        fails(
            &["{at: 1s, restore-route: {from: n1, to: n2}}"],
            (1, "{from"),
            "restore-route n1 -> n2, which is not dropped (drop it first)",
        );
        // A route is one direction: n2 -> n1 is another route.
        assert_eq!(
            err(&["{at: 1s, drop-route: {from: n1, to: n2}}", "{at: 2s, restore-route: {from: n2, to: n1}}"])
                .2,
            "restore-route n2 -> n1, which is not dropped (drop it first)"
        );
        assert_eq!(
            err(&[
                "{at: 1s, drop-route: {from: n1, to: n2}}",
                "{at: 2s, restore-route: {from: n1, to: n2}}",
                "{at: 3s, restore-route: {from: n1, to: n2}}"
            ])
            .2,
            "restore-route n1 -> n2, which is not dropped (the restore-route at 2s restored it)"
        );
        // A crash or bounce of `from` ends its dropped routes; one of `to` does not.
        assert_eq!(
            err(&[
                "{at: 1s, drop-route: {from: n1, to: n2}}",
                "{at: 2s, crash: n1}",
                "{at: 3s, restart: n1}",
                "{at: 4s, restore-route: {from: n1, to: n2}}"
            ])
            .2,
            "restore-route n1 -> n2, which is not dropped (the crash of `n1` at 2s ended it: a restarted \
             process reads its routes afresh)"
        );
        assert_eq!(
            err(&[
                "{at: 1s, drop-route: {from: n1, to: n2}}",
                "{at: 2s, bounce: n1}",
                "{at: 4s, restore-route: {from: n1, to: n2}}"
            ])
            .2,
            "restore-route n1 -> n2, which is not dropped (the bounce of `n1` at 2s ended it: a restarted \
             process reads its routes afresh)"
        );
        assert!(
            run(&[
                "{at: 1s, drop-route: {from: n1, to: n2}}",
                "{at: 2s, bounce: n2}",
                "{at: 3s, crash: n2}",
                "{at: 4s, restore-route: {from: n1, to: n2}}"
            ])
            .is_ok()
        );
        assert_eq!(
            err(&["{at: 1s, crash: n1}", "{at: 2s, drop-route: {from: n1, to: n3}}"]).2,
            "drop-route n1 -> n3 while `n1` is crashed (since 1s): a crashed node has no routes to drop, \
             and its restart reads them afresh"
        );
        // Dropped again after a bounce; heals do not restore routes.
        assert!(
            run(&[
                "{at: 1s, drop-route: {from: n1, to: n2}}",
                "{at: 2s, bounce: n1}",
                "{at: 2s, drop-route: {from: n1, to: n2}}",
                "{at: 3s, restore-route: {from: n1, to: n2}}"
            ])
            .is_ok()
        );
        assert_eq!(
            err(&["{at: 1s, drop-route: {from: n1, to: n2}}", "{at: 2s, heal: all}"]).2,
            "heal of nothing: no partition is active at 2s"
        );
    }
}
