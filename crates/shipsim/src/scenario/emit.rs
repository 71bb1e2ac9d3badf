//! Writing scenarios back as YAML.
//!
//! `to_yaml` writes shrunk repros and other generated scenarios: every key explicit (so a
//! repro does not change meaning when a default changes), faults one per line in the flow
//! form the schema reference (`docs/scenarios.md`) uses, and values in forms the loader reads back to an equal [`Scenario`].
//! Reports use the same flow form (`Display` of [`Fault`] and [`FaultAction`]) to show the
//! last faults before a violation, so what a report prints can be pasted into a file.

use std::fmt::{self, Write as _};

use super::duration::format_duration;
use super::model::{
    BrokerSettings, Expect, Fault, FaultAction, HealTarget, Link, Network, Scenario, Sink, TransportSettings,
    Workload,
};
use super::scalars::{format_batch, format_float, format_latency, format_rate};
use super::sizes::{format_count_range, format_size, format_size_range};

/// Writes a scenario as YAML that `parse` reads back to an equal scenario (fault
/// source lines aside, see [`Fault`]).
pub fn to_yaml(s: &Scenario) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = write_yaml(&mut out, s);
    out
}

/// Writes the sections in the order the schema reference lists them, each by its own
/// function; every one ends its last line with a newline.
fn write_yaml(out: &mut String, s: &Scenario) -> fmt::Result {
    write_cluster(out, s)?;
    write_network(out, &s.network)?;
    write_transport(out, &s.transport)?;
    write_sink(out, &s.sink)?;
    write_workload(out, &s.workload)?;
    write_faults(out, &s.faults)?;
    write_expect(out, &s.expect)
}

/// The scenario's identity and cluster: name to `duration:`.
fn write_cluster(out: &mut String, s: &Scenario) -> fmt::Result {
    writeln!(out, "name: {}", Word(&s.name))?;
    writeln!(out, "description: {}", quoted(&s.description))?;
    let seeds: Vec<String> = s.seeds.iter().map(u64::to_string).collect();
    writeln!(out, "seeds: [{}]", seeds.join(", "))?;
    writeln!(out, "nodes: {}", List(&s.nodes))?;
    writeln!(out, "shards: {}", s.shards)?;
    // Absent means every node, a meaning no default change can alter.
    if let Some(members) = &s.members {
        writeln!(out, "members: {}", List(members))?;
    }
    writeln!(out, "membership:")?;
    writeln!(out, "  propagation: {}", format_latency(s.membership.propagation))?;
    writeln!(out, "duration: {}", format_duration(s.duration))
}

/// `network:`, every key explicit but `segment`.
fn write_network(out: &mut String, network: &Network) -> fmt::Result {
    writeln!(out, "network:")?;
    writeln!(out, "  latency: {}", format_latency(network.latency))?;
    writeln!(out, "  loss: {}", format_float(network.loss))?;
    // Absent means off (each write whole), a meaning no default change can alter.
    if let Some(segment) = network.segment {
        writeln!(out, "  segment: {}", format_count_range(segment))?;
    }
    Ok(())
}

/// `transport:`, every key explicit but those whose absence means their default.
fn write_transport(out: &mut String, transport: &TransportSettings) -> fmt::Result {
    writeln!(out, "transport:")?;
    // Absent means the default transport: a file that names none emits unchanged, and a
    // scenario that names its transport (a repro) keeps it.
    if let Some(kind) = transport.kind {
        writeln!(out, "  kind: {kind}")?;
    }
    writeln!(out, "  connections: {}", transport.connections)?;
    writeln!(out, "  ack_timeout: {}", format_duration(transport.ack_timeout))?;
    writeln!(out, "  deadline: {}", format_duration(transport.deadline))?;
    // Written only when set: a file that leaves them out emits unchanged.
    if transport.connect_timeout != TransportSettings::DEFAULT_CONNECT_TIMEOUT {
        writeln!(out, "  connect_timeout: {}", format_duration(transport.connect_timeout))?;
    }
    if transport.backoff != TransportSettings::DEFAULT_BACKOFF {
        writeln!(out, "  backoff: {}", format_latency(transport.backoff))?;
    }
    writeln!(out, "  max_frame: {}", format_size(transport.max_frame))?;
    writeln!(out, "  max_unacked: {}", transport.max_unacked)?;
    write_broker(out, &transport.broker)
}

/// `transport.broker`, when any of its limits is set.
fn write_broker(out: &mut String, broker: &BrokerSettings) -> fmt::Result {
    if *broker == BrokerSettings::default() {
        return Ok(());
    }
    writeln!(out, "  broker:")?;
    if let Some(n) = broker.max_payload {
        writeln!(out, "    max_payload: {}", format_size(n))?;
    }
    if let Some(n) = broker.max_pending {
        writeln!(out, "    max_pending: {}", format_size(n))?;
    }
    if let Some(d) = broker.write_deadline {
        writeln!(out, "    write_deadline: {}", format_duration(d))?;
    }
    Ok(())
}

/// Absent means an instant sink that never refuses: the behaviour every file written
/// before the section existed relies on, so no default change can alter it.
fn write_sink(out: &mut String, sink: &Sink) -> fmt::Result {
    if *sink != Sink::default() {
        writeln!(out, "sink:")?;
        writeln!(out, "  latency: {}", format_latency(sink.latency))?;
        writeln!(out, "  busy: {}", format_float(sink.busy))?;
    }
    Ok(())
}

/// `workload:`, every key explicit but those whose absence has a meaning of its own.
fn write_workload(out: &mut String, workload: &Workload) -> fmt::Result {
    writeln!(out, "workload:")?;
    writeln!(out, "  events: {}", workload.events)?;
    writeln!(out, "  rate: {}", format_rate(workload.rate))?;
    writeln!(out, "  batch: {}", format_batch(workload.batch))?;
    writeln!(out, "  keys: {}", workload.keys)?;
    // Absent means every node, a meaning no default change can alter.
    if let Some(senders) = &workload.senders {
        writeln!(out, "  senders: {}", List(senders))?;
    }
    // Absent means the compact payload, which no size range spells.
    if let Some(payload) = workload.payload {
        writeln!(out, "  payload: {}", format_size_range(payload))?;
    }
    // Written only when set: a file that leaves it out (one call at a time) emits unchanged.
    if workload.concurrency != 1 {
        writeln!(out, "  concurrency: {}", workload.concurrency)?;
    }
    Ok(())
}

/// One fault per line in flow form (`Display` of [`Fault`]); none is written `faults: []`.
fn write_faults(out: &mut String, faults: &[Fault]) -> fmt::Result {
    if faults.is_empty() {
        return writeln!(out, "faults: []");
    }
    writeln!(out, "faults:")?;
    for fault in faults {
        writeln!(out, "  - {fault}")?;
    }
    Ok(())
}

/// `expect:`, every key explicit, so a repro checks what it was found with.
fn write_expect(out: &mut String, expect: &Expect) -> fmt::Result {
    writeln!(out, "expect:")?;
    writeln!(out, "  delivery: {}", expect.delivery.as_str())?;
    writeln!(out, "  ordering: {}", expect.ordering.as_str())?;
    writeln!(out, "  stats: {}", expect.stats.as_str())?;
    writeln!(out, "  placement: {}", expect.placement.as_str())?;
    writeln!(out, "  settle: {}", format_duration(expect.settle))
}

/// `{at: 2s, partition: [[n1], [n2, n3]]}`
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{at: {}, {}}}", format_duration(self.at), self.action)
    }
}

/// The action's entry of a fault, without braces: `partition: [[n1], [n2, n3]]`,
/// `heal: all`, `latency: {link: [n1, n2], value: 50ms..200ms}`.
impl fmt::Display for FaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.kind())?;
        match self {
            FaultAction::Partition(groups) => {
                f.write_char('[')?;
                for (i, group) in groups.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", List(group))?;
                }
                f.write_char(']')
            }
            FaultAction::PartitionOneway { from, to }
            | FaultAction::DropRoute { from, to }
            | FaultAction::RestoreRoute { from, to } => {
                write!(f, "{{from: {}, to: {}}}", Word(from), Word(to))
            }
            FaultAction::Heal(HealTarget::All) => f.write_str("all"),
            FaultAction::Heal(HealTarget::Nodes(nodes)) => write!(f, "{}", List(nodes)),
            FaultAction::Crash(node)
            | FaultAction::Restart(node)
            | FaultAction::Bounce(node)
            | FaultAction::Join(node)
            | FaultAction::Leave(node) => write!(f, "{}", Word(node)),
            FaultAction::Hold(link) | FaultAction::Reorder(link) | FaultAction::Release(link) => {
                write!(f, "{link}")
            }
            FaultAction::Latency { link, value } => {
                write!(f, "{{link: {link}, value: {}}}", format_latency(*value))
            }
            FaultAction::Loss { link, rate } => {
                write!(f, "{{link: {link}, rate: {}}}", format_float(*rate))
            }
            FaultAction::Pause { node, duration } => {
                write!(f, "{{node: {}, for: {}}}", Word(node), format_duration(*duration))
            }
            FaultAction::Clock { node, jump } => {
                write!(f, "{{node: {}, jump: {}}}", Word(node), format_duration(*jump))
            }
            FaultAction::Skew { node, ppm } => {
                write!(f, "{{node: {}, skew: {}}}", Word(node), super::skew::format_skew(*ppm))
            }
        }
    }
}

/// `[n1, n2]`
impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", Word(&self.a), Word(&self.b))
    }
}

/// A name as a YAML scalar: plain when that is unambiguous, double-quoted otherwise.
struct Word<'a>(&'a str);

impl fmt::Display for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_plain_safe(self.0) { f.write_str(self.0) } else { f.write_str(&quoted(self.0)) }
    }
}

/// `[a, b, c]` of names.
struct List<'a>(&'a [String]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('[')?;
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", Word(item))?;
        }
        f.write_char(']')
    }
}

/// Plain scalars that read back as the same string in any context: a lowercase letter first
/// (no numbers, no `-` indicator), then `[a-z0-9-]`, and none of YAML's null/boolean words.
fn is_plain_safe(s: &str) -> bool {
    const RESERVED: [&str; 9] = ["null", "true", "false", "yes", "no", "on", "off", "y", "n"];
    s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !RESERVED.contains(&s)
}

/// A YAML double-quoted string; everything outside printable ASCII is escaped, so any Rust
/// string survives the trip and the file stays plain ASCII.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c if u32::from(c) <= 0xFFFF => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => {
                let _ = write!(out, "\\U{:08X}", u32::from(c));
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::model::LatencyRange;
    use std::time::Duration;

    /// Every section and every optional key, written: pins the emitter's output byte for
    /// byte, since repros written by older versions are diffed against new ones.
    #[test]
    fn every_key_is_written_in_schema_order() {
        let text = "name: full\ndescription: \"all \\\"keys\\\"\"\nseeds: [7, 9]\nnodes: [n1, n2, n3]\n\
                    shards: 4\nmembers: [n1, n2]\nmembership:\n  propagation: 5ms..50ms\nduration: 30s\n\
                    network:\n  latency: 2ms..9ms\n  loss: 0.01\n  segment: 512..16384\ntransport:\n  \
                    kind: grpc\n  connections: 3\n  ack_timeout: 700ms\n  deadline: 4s\n  \
                    connect_timeout: 250ms\n  backoff: 20ms..900ms\n  max_frame: 64KiB\n  max_unacked: 17\n\
                    sink:\n  latency: 1ms..3ms\n  busy: 0.25\nworkload:\n  events: 300\n  rate: 150/s\n  \
                    batch: 2..6\n  keys: 12\n  senders: [n1, n3]\n  payload: 16B..4KiB\n  concurrency: 6\nfaults:\n  \
                    - {at: 2s, partition: [[n1], [n2, n3]]}\n  - {at: 3s, heal: all}\n  - {at: 4s, join: n3}\n\
                    expect:\n  delivery: at-least-once\n  settle: 12s\n";
        let expected = r#"name: full
description: "all \"keys\""
seeds: [7, 9]
nodes: [n1, n2, n3]
shards: 4
members: [n1, n2]
membership:
  propagation: 5ms..50ms
duration: 30s
network:
  latency: 2ms..9ms
  loss: 0.01
  segment: 512..16384
transport:
  kind: grpc
  connections: 3
  ack_timeout: 700ms
  deadline: 4s
  connect_timeout: 250ms
  backoff: 20ms..900ms
  max_frame: 64KiB
  max_unacked: 17
sink:
  latency: 1ms..3ms
  busy: 0.25
workload:
  events: 300
  rate: 150/s
  batch: 2..6
  keys: 12
  senders: [n1, n3]
  payload: 16B..4KiB
  concurrency: 6
faults:
  - {at: 2s, partition: [[n1], [n2, n3]]}
  - {at: 3s, heal: all}
  - {at: 4s, join: n3}
expect:
  delivery: at-least-once
  ordering: per-batch
  stats: consistent
  placement: owner
  settle: 12s
"#;
        assert_eq!(to_yaml(&crate::scenario::parse(text, "t.yaml").unwrap()), expected);
    }

    /// The defaults, written out: optional sections and keys absent, `faults: []`.
    #[test]
    fn defaults_are_written_explicitly() {
        let expected = r#"name: minimal
description: ""
seeds: [1]
nodes: [n1]
shards: 16
membership:
  propagation: 0s
duration: 1m
network:
  latency: 1ms
  loss: 0.0
transport:
  connections: 2
  ack_timeout: 200ms
  deadline: 5s
  max_frame: 1MiB
  max_unacked: 64
workload:
  events: 100
  rate: 200/s
  batch: 1..8
  keys: 64
faults: []
expect:
  delivery: exactly-once
  ordering: per-batch
  stats: consistent
  placement: owner
  settle: 10s
"#;
        let minimal = crate::scenario::parse("name: minimal\nnodes: [n1]\n", "t.yaml").unwrap();
        assert_eq!(to_yaml(&minimal), expected);
    }

    #[test]
    fn faults_display_in_the_design_flow_form() {
        let n = |s: &str| s.to_owned();
        let fault = |secs, action| Fault { at: Duration::from_secs(secs), action, line: 0 };
        let cases = [
            (
                fault(2, FaultAction::Partition(vec![vec![n("n1")], vec![n("n2"), n("n3")]])),
                "{at: 2s, partition: [[n1], [n2, n3]]}",
            ),
            (
                fault(3, FaultAction::PartitionOneway { from: n("n1"), to: n("n2") }),
                "{at: 3s, partition-oneway: {from: n1, to: n2}}",
            ),
            (fault(4, FaultAction::Heal(HealTarget::All)), "{at: 4s, heal: all}"),
            (
                fault(4, FaultAction::Heal(HealTarget::Nodes(vec![n("n1"), n("n2")]))),
                "{at: 4s, heal: [n1, n2]}",
            ),
            (fault(5, FaultAction::Crash(n("n2"))), "{at: 5s, crash: n2}"),
            (fault(6, FaultAction::Restart(n("n2"))), "{at: 6s, restart: n2}"),
            (fault(7, FaultAction::Bounce(n("n3"))), "{at: 7s, bounce: n3}"),
            (fault(8, FaultAction::Hold(Link::new("n1", "n3"))), "{at: 8s, hold: [n1, n3]}"),
            (fault(9, FaultAction::Reorder(Link::new("n1", "n3"))), "{at: 9s, reorder: [n1, n3]}"),
            (fault(10, FaultAction::Release(Link::new("n1", "n3"))), "{at: 10s, release: [n1, n3]}"),
            (
                fault(
                    11,
                    FaultAction::Latency {
                        link: Link::new("n1", "n2"),
                        value: LatencyRange {
                            min: Duration::from_millis(50),
                            max: Duration::from_millis(200),
                        },
                    },
                ),
                "{at: 11s, latency: {link: [n1, n2], value: 50ms..200ms}}",
            ),
            (
                fault(12, FaultAction::Loss { link: Link::new("n1", "n2"), rate: 0.1 }),
                "{at: 12s, loss: {link: [n1, n2], rate: 0.1}}",
            ),
            (
                fault(13, FaultAction::DropRoute { from: n("n1"), to: n("n2") }),
                "{at: 13s, drop-route: {from: n1, to: n2}}",
            ),
            (
                fault(14, FaultAction::RestoreRoute { from: n("n1"), to: n("n2") }),
                "{at: 14s, restore-route: {from: n1, to: n2}}",
            ),
        ];
        for (fault, text) in cases {
            assert_eq!(fault.to_string(), text);
        }
        assert_eq!(FaultAction::Crash(n("n2")).to_string(), "crash: n2");
    }

    #[test]
    fn ambiguous_names_are_quoted() {
        assert_eq!(Word("n1").to_string(), "n1");
        assert_eq!(Word("a-b").to_string(), "a-b");
        for (name, written) in
            [("1", "\"1\""), ("null", "\"null\""), ("-a", "\"-a\""), ("yes", "\"yes\""), ("", "\"\"")]
        {
            assert_eq!(Word(name).to_string(), written);
        }
    }

    #[test]
    fn quoting_escapes_everything_unusual() {
        assert_eq!(quoted("a \"b\" \\ c"), r#""a \"b\" \\ c""#);
        assert_eq!(quoted("é\u{0}\n\u{1F600}"), r#""\u00E9\u0000\n\U0001F600""#);
    }
}
