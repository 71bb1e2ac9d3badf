//! Every class of malformed scenario file gets its own clear error: the message and the exact
//! `file:line:column` are asserted, so a regression in either shows up here.

use std::path::Path;
use std::time::{Duration, Instant};

use shipsim::scenario::{
    self, ExpectDelivery, FaultAction, HealTarget, LatencyRange, Link, Scenario, ScenarioError, SizeRange,
    TransportKind,
};

/// The full error line for `text`, loaded as `s.yaml`.
fn error(text: &str) -> String {
    match shipsim::parse(text, "s.yaml") {
        Ok(s) => panic!("expected an error, parsed {s:?}"),
        Err(e) => e.to_string(),
    }
}

fn error_bytes(bytes: &[u8]) -> String {
    match shipsim::parse_bytes(bytes, "s.yaml") {
        Ok(s) => panic!("expected an error, parsed {s:?}"),
        Err(e) => e.to_string(),
    }
}

/// A valid head; faults written after it start on line 5.
const HEAD: &str = "name: t\nnodes: [n1, n2, n3]\nduration: 30s\nfaults:\n";

fn with_faults(faults: &[&str]) -> String {
    let mut text = HEAD.to_owned();
    for f in faults {
        text.push_str("  - ");
        text.push_str(f);
        text.push('\n');
    }
    text
}

#[test]
fn unknown_key() {
    assert_eq!(
        error("name: t\nnodes: [n1]\nshard: 3\n"),
        "s.yaml:3:1: unknown key `shard` (expected one of: name, description, seeds, nodes, \
         shards, members, membership, duration, network, transport, sink, workload, faults, expect)"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\nnetwork:\n  latency: 1ms\n  los: 0.1\n"),
        "s.yaml:5:3: unknown key `los` (expected one of: latency, loss, segment)"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, crash: n1, when: now}"])),
        "s.yaml:5:25: unknown key `when` (expected one of: at, partition, partition-oneway, \
         heal, crash, restart, bounce, hold, reorder, release, latency, loss, drop-route, \
         restore-route, join, leave, pause, clock)"
    );
}

#[test]
fn wrong_type() {
    assert_eq!(error("name: t\nnodes: n1\n"), "s.yaml:2:8: expected a list");
    assert_eq!(
        error("name: t\nnodes: [n1]\nnetwork: fast\n"),
        "s.yaml:3:10: expected a mapping (`key: value` lines or `{key: value}`)"
    );
    assert_eq!(
        error("name: [t]\nnodes: [n1]\n"),
        "s.yaml:1:7: expected a single value, found a list or mapping"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\nworkload:\n  events: many\n"),
        "s.yaml:4:11: expected a whole number, found `many`"
    );
}

#[test]
fn unknown_node_name() {
    assert_eq!(
        error(&with_faults(&["{at: 1s, crash: n9}"])),
        "s.yaml:5:21: unknown node `n9` (nodes: n1, n2, n3)"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, partition: [[n1], [n2, n7]]}"])),
        "s.yaml:5:37: unknown node `n7` (nodes: n1, n2, n3)"
    );
}

#[test]
fn overlapping_partition_groups() {
    assert_eq!(
        error(&with_faults(&["{at: 1s, partition: [[n1, n2], [n2, n3]]}"])),
        "s.yaml:5:37: node `n2` is in more than one partition group (groups must not overlap)"
    );
}

#[test]
fn restart_of_a_running_node() {
    assert_eq!(
        error(&with_faults(&["{at: 1s, restart: n2}"])),
        "s.yaml:5:23: restart of `n2`, which is running (crash it first)"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, crash: n2}", "{at: 2s, restart: n2}", "{at: 3s, restart: n2}"])),
        "s.yaml:7:23: restart of `n2`, which is running (crash it first)"
    );
}

#[test]
fn crash_of_a_crashed_node() {
    assert_eq!(
        error(&with_faults(&["{at: 1s, crash: n2}", "{at: 2s, crash: n2}"])),
        "s.yaml:6:21: crash of `n2`, which is already crashed (since 1s)"
    );
}

#[test]
fn heal_of_nothing() {
    assert_eq!(
        error(&with_faults(&["{at: 1s, heal: all}"])),
        "s.yaml:5:20: heal of nothing: no partition is active at 1s"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, partition: [[n1], [n2]]}", "{at: 2s, heal: [n3]}"])),
        "s.yaml:6:21: heal of `n3`, which is in no active partition at 2s"
    );
    assert_eq!(
        error(&with_faults(&[
            "{at: 1s, partition: [[n1], [n2]]}",
            "{at: 2s, heal: all}",
            "{at: 3s, heal: all}"
        ])),
        "s.yaml:7:20: heal of nothing: no partition is active at 3s"
    );
}

#[test]
fn two_actions_in_one_fault() {
    assert_eq!(
        error(&with_faults(&["{at: 2s, crash: n1, restart: n2}"])),
        "s.yaml:5:34: two actions in one fault: `crash` and `restart` (write one fault entry per action)"
    );
}

#[test]
fn no_action() {
    assert_eq!(
        error(&with_faults(&["{at: 2s}"])),
        "s.yaml:5:5: fault has no action (expected one of: partition, partition-oneway, heal, \
         crash, restart, bounce, hold, reorder, release, latency, loss, drop-route, restore-route, join, leave, pause, clock)"
    );
}

#[test]
fn time_past_duration() {
    assert_eq!(
        error(&with_faults(&["{at: 31s, crash: n1}"])),
        "s.yaml:5:10: fault at 31s is past the scenario's duration (30s)"
    );
}

#[test]
fn decreasing_times() {
    assert_eq!(
        error(&with_faults(&["{at: 3s, crash: n1}", "{at: 2500ms, restart: n1}"])),
        "s.yaml:6:10: fault at 2s500ms comes before the previous fault (at 3s): faults must be in time order"
    );
}

#[test]
fn latency_range_reversed() {
    assert_eq!(
        error("name: t\nnodes: [n1]\nnetwork:\n  latency: 20ms..1ms\n"),
        "s.yaml:4:12: latency range `20ms..1ms` is reversed: min 20ms is more than max 1ms"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, latency: {link: [n1, n2], value: 9ms..1ms}}"])),
        "s.yaml:5:47: latency range `9ms..1ms` is reversed: min 9ms is more than max 1ms"
    );
}

#[test]
fn negative_duration() {
    assert_eq!(
        error("name: t\nnodes: [n1]\nduration: -5s\n"),
        "s.yaml:3:11: negative duration `-5s`: durations must be 0 or more"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\nnetwork: {latency: -1ms..2ms}\n"),
        "s.yaml:3:20: negative duration `-1ms`: durations must be 0 or more"
    );
}

#[test]
fn probability_outside_0_1() {
    assert_eq!(
        error("name: t\nnodes: [n1]\nnetwork:\n  loss: 1.5\n"),
        "s.yaml:4:9: loss must be a probability in 0..=1, found 1.5"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, loss: {link: [n1, n2], rate: -0.1}}"])),
        "s.yaml:5:43: loss rate must be a probability in 0..=1, found -0.1"
    );
}

#[test]
fn number_overflow() {
    assert_eq!(
        error("name: t\nnodes: [n1]\nshards: 99999999999\n"),
        "s.yaml:3:9: number `99999999999` is out of range: expected a whole number in 0..=4294967295"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\nseeds: [1, 18446744073709551616]\n"),
        "s.yaml:3:12: number `18446744073709551616` is out of range: expected a whole number in \
         0..=18446744073709551615"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\nduration: 99999999999999999999h\n"),
        "s.yaml:3:11: invalid duration `99999999999999999999h` (write e.g. 250ms, 2s, 1m30s): \
         number too big to parse into 64-bit integer"
    );
}

#[test]
fn missing_required_key() {
    assert_eq!(error("nodes: [n1]\n"), "s.yaml:1:1: missing required key `name`");
    assert_eq!(error("name: t\nseeds: [1]\n"), "s.yaml:1:1: missing required key `nodes`");
}

#[test]
fn duplicate_keys() {
    assert_eq!(error("name: t\nnodes: [n1]\nname: u\n"), "s.yaml:3:1: duplicate key `name`");
    assert_eq!(
        error(&with_faults(&["{at: 1s, crash: n1, crash: n2}"])),
        "s.yaml:5:25: duplicate key `crash`"
    );
}

#[test]
fn tabs() {
    assert_eq!(
        error("name: t\nnodes:\n\t- n1\n"),
        "s.yaml:3:1: tab character in indentation: YAML indents with spaces only"
    );
}

#[test]
fn binary_garbage_and_invalid_utf8() {
    assert_eq!(
        error_bytes(b"name: t\nnodes: [n1, \xff\xfe]\n"),
        "s.yaml:2:13: invalid UTF-8 (byte 0xFF): a scenario file must be UTF-8 text"
    );
    assert_eq!(
        error_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00"),
        "s.yaml:1:1: control character U+007F is not allowed in a scenario file (is this a binary file?)"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\u{0}\n"),
        "s.yaml:2:12: control character U+0000 is not allowed in a scenario file (is this a binary file?)"
    );
}

#[test]
fn yaml_bomb_fails_fast() {
    let mut bomb = String::from(
        "name: t\nnodes: [n1]\na: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n",
    );
    let mut previous = 'a';
    for level in 'b'..='i' {
        let refs = vec![format!("*{previous}"); 9].join(", ");
        bomb.push_str(&format!("{level}: &{level} [{refs}]\n"));
        previous = level;
    }
    // `seeds` reads the top level as numbers, expanding the aliases as it goes.
    let bomb = bomb.replacen("i: &i", "seeds: &i", 1);
    let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let message = error(&bomb);
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    assert_eq!(
        message,
        "s.yaml:3:1: unknown key `a` (expected one of: name, description, seeds, nodes, shards, members, membership, duration, network, transport, sink, workload, faults, expect)"
    );

    // Bombs the schema does expand: one anchor aliased many times inside a partition.
    let names = vec!["n1"; 5000].join(", ");
    let aliases = vec!["*g"; 500].join(", ");
    let bomb =
        format!("name: t\nnodes: [n1, n2]\nfaults:\n  - {{at: 1s, partition: [&g [{names}], {aliases}]}}\n");
    let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let message = error(&bomb);
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
    assert!(
        message.starts_with("s.yaml:4:20002: aliases expand to too much data for a scenario file"),
        "{message}"
    );
    assert!(message.ends_with("a limit against YAML bombs)"), "{message}");

    let aliases = vec!["*g"; 1000].join(", ");
    let bomb =
        format!("name: t\nnodes: [n1, n2]\nfaults:\n  - {{at: 1s, partition: [&g [n1, n1], {aliases}]}}\n");
    assert_eq!(
        error(&bomb),
        "s.yaml:5:1: too many anchors, aliases or merge keys for a scenario file (a limit against YAML bombs)"
    );
}

#[test]
fn empty_file() {
    assert_eq!(
        error(""),
        "s.yaml:1:1: empty scenario file: expected a mapping with at least `name` and `nodes`"
    );
    assert_eq!(
        error("# just a comment\n\n"),
        "s.yaml:1:1: empty scenario file: expected a mapping with at least `name` and `nodes`"
    );
}

#[test]
fn bad_name() {
    assert_eq!(
        error("name: Partition Heal\nnodes: [n1]\n"),
        "s.yaml:1:7: invalid scenario name `Partition Heal`: use lowercase letters, digits and `-` ([a-z0-9-]+)"
    );
    assert_eq!(
        error("name: t\nnodes: [n1, n_2]\n"),
        "s.yaml:2:13: invalid node name `n_2`: use lowercase letters, digits and `-` ([a-z0-9-]+)"
    );
}

#[test]
fn a_hundred_and_twenty_nine_nodes() {
    let nodes: Vec<String> = (1..=129).map(|i| format!("n{i}")).collect();
    let text = format!("name: t\nnodes: [{}]\n", nodes.join(", "));
    let column = text.find("n129").unwrap() - "name: t\n".len() + 1;
    assert_eq!(
        error(&text),
        format!("s.yaml:2:{column}: too many nodes: 129 listed, at most 128 are supported")
    );
    let most = format!("name: t\nnodes: [{}]\n", nodes[..128].join(", "));
    assert_eq!(shipsim::parse(&most, "s.yaml").unwrap().nodes.len(), 128);
}

#[test]
fn duplicate_node_names() {
    assert_eq!(
        error("name: t\nnodes:\n  - n1\n  - n2\n  - n1\n"),
        "s.yaml:5:5: duplicate node `n1` (first listed at 3:5)"
    );
}

#[test]
fn release_of_a_link_not_held() {
    assert_eq!(
        error(&with_faults(&["{at: 1s, release: [n1, n2]}"])),
        "s.yaml:5:23: release of link [n1, n2], which is not held"
    );
    assert_eq!(
        error(&with_faults(&[
            "{at: 1s, hold: [n1, n2]}",
            "{at: 2s, reorder: [n2, n1]}",
            "{at: 3s, release: [n1, n2]}"
        ])),
        "s.yaml:7:23: release of link [n1, n2], which is not held (the reorder at 2s released it)"
    );
}

#[test]
fn hold_combined_with_oneway_partition() {
    assert_eq!(
        error(&with_faults(&["{at: 1s, partition-oneway: {from: n2, to: n1}}", "{at: 2s, hold: [n1, n2]}"])),
        "s.yaml:6:20: hold of link [n1, n2], which has an active one-way partition (n2 -> n1 since 1s): \
         turmoil keeps one state per link direction, so partitions (one-way ones included) do not \
         combine with hold; heal it first"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, hold: [n1, n2]}", "{at: 2s, partition-oneway: {from: n1, to: n2}}"])),
        "s.yaml:6:32: one-way partition of link [n1, n2], which is held (since 1s): turmoil keeps \
         one state per link direction, so partitions (one-way ones included) do not combine with \
         hold; release the link first"
    );
}

#[test]
fn missing_file_names_the_file() {
    let err = shipsim::load(Path::new("no/such/scenario.yaml")).unwrap_err();
    assert!(matches!(err, ScenarioError::Io { .. }));
    assert!(err.to_string().starts_with("no/such/scenario.yaml: cannot read scenario file: "), "{err}");
}

/// The project's original schema example, minus its one contradiction: after `reorder` (which delivers the held
/// messages and releases the link) the `release` of the same link at 10s has nothing to release.
const ORIGINAL_EXAMPLE: &str = "\
name: partition-heal                 # required, [a-z0-9-]+
description: One node is cut off mid-batch and comes back.
seeds: [1, 2, 3]                     # seeds that `cargo test` runs (default [1]); --seed overrides
nodes: [n1, n2, n3]                  # required, 1..=16 unique names
shards: 16                           # default 16
duration: 60s                        # simulated time budget for the whole run
network:
  latency: 1ms..20ms                 # per-message latency range, or one value
  loss: 0.0                          # probability a message is dropped
transport:
  connections: 2                     # pool size per destination
  ack_timeout: 200ms
  deadline: 5s
workload:
  events: 500                        # events each node routes
  rate: 200/s                        # per node
  batch: 1..8                        # events per route_batch call
  keys: 64                           # distinct routing keys
faults:                              # a timeline; `at` is simulated time since start
  - {at: 2s, partition: [[n1], [n2, n3]]}   # groups; every link between groups is cut both ways
  - {at: 3s, partition-oneway: {from: n1, to: n2}}
  - {at: 4s, heal: all}                     # or a list of nodes
  - {at: 5s, crash: n2}
  - {at: 6s, restart: n2}
  - {at: 7s, bounce: n3}                    # crash and restart at once
  - {at: 8s, hold: [n1, n3]}                # messages on the link wait
  - {at: 9s, reorder: [n1, n3]}             # deliver the held messages in a seeded random order
  - {at: 11s, latency: {link: [n1, n2], value: 50ms..200ms}}
  - {at: 12s, loss: {link: [n1, n2], rate: 0.1}}
expect:
  delivery: exactly-once             # or at-least-once
  ordering: per-batch                # or none
  stats: consistent
  settle: 10s                        # after the last fault, everything heals and must converge
";

#[test]
fn design_example_parses() {
    let s = shipsim::parse(ORIGINAL_EXAMPLE, "partition-heal.yaml").unwrap();
    assert_eq!(s.name, "partition-heal");
    assert_eq!(s.description, "One node is cut off mid-batch and comes back.");
    assert_eq!(s.seeds, [1, 2, 3]);
    assert_eq!(s.nodes, ["n1", "n2", "n3"]);
    assert_eq!(s.duration, Duration::from_secs(60));
    assert_eq!(
        s.network.latency,
        LatencyRange { min: Duration::from_millis(1), max: Duration::from_millis(20) }
    );
    assert_eq!(s.transport.ack_timeout, Duration::from_millis(200));
    assert_eq!((s.workload.events, s.workload.rate), (500, 200.0));
    assert_eq!(s.faults.len(), 10);
    assert_eq!(s.faults[0].line, 20);
    assert_eq!(
        s.faults[0].action,
        FaultAction::Partition(vec![vec!["n1".into()], vec!["n2".into(), "n3".into()]])
    );
    assert_eq!(s.faults[2].action, FaultAction::Heal(HealTarget::All));
    assert_eq!(s.faults[7].action, FaultAction::Reorder(Link::new("n1", "n3")));
    assert_eq!(s.faults[9].to_string(), "{at: 12s, loss: {link: [n1, n2], rate: 0.1}}");
    assert_eq!(s.expect.delivery, ExpectDelivery::ExactlyOnce);
    assert_eq!(s.expect.settle, Duration::from_secs(10));

    // The written form reads back to the same scenario.
    let again: Scenario = shipsim::parse(&scenario::to_yaml(&s), "again.yaml").unwrap();
    assert_eq!(again, s);

    // And the contradiction that was removed is reported as such.
    let original = ORIGINAL_EXAMPLE
        .replace("  - {at: 11s, latency", "  - {at: 10s, release: [n1, n3]}\n  - {at: 11s, latency");
    assert_eq!(
        error(&original),
        "s.yaml:28:24: release of link [n1, n3], which is not held (the reorder at 9s released it)"
    );
}

#[test]
fn one_way_partition_with_network_loss() {
    let text = "name: t\nnodes: [n1, n2]\nnetwork:\n  loss: 0.01\nfaults:\n  - {at: 1s, partition-oneway: {from: n1, to: n2}}\n";
    assert_eq!(
        error(text),
        "s.yaml:6:32: one-way partition with `network.loss` 0.01 above 0: turmoil models loss as random link \
         failures whose random repair heals both directions, which would silently end a one-way partition"
    );
}

#[test]
fn route_faults_need_two_known_nodes() {
    assert_eq!(
        error(&with_faults(&["{at: 1s, drop-route: {from: n1, to: n1}}"])),
        "s.yaml:5:41: a drop-route needs two different nodes (a node always reaches itself)"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, restore-route: {from: n2, to: n2}}"])),
        "s.yaml:5:44: a restore-route needs two different nodes (a node always reaches itself)"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, drop-route: {from: n1, to: n9}}"])),
        "s.yaml:5:41: unknown node `n9` (nodes: n1, n2, n3)"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, restore-route: {from: n0, to: n2}}"])),
        "s.yaml:5:36: unknown node `n0` (nodes: n1, n2, n3)"
    );
}

#[test]
fn route_faults_follow_the_route_state() {
    assert_eq!(
        error(&with_faults(&[
            "{at: 1s, drop-route: {from: n1, to: n2}}",
            "{at: 2s, drop-route: {from: n1, to: n2}}"
        ])),
        "s.yaml:6:26: drop-route n1 -> n2, which is already dropped (since 1s)"
    );
    assert_eq!(
        error(&with_faults(&["{at: 1s, restore-route: {from: n1, to: n2}}"])),
        "s.yaml:5:29: restore-route n1 -> n2, which is not dropped (drop it first)"
    );
    // A restart re-reads the routes: the crash ended the drop, nothing is left to restore.
    assert_eq!(
        error(&with_faults(&[
            "{at: 1s, drop-route: {from: n1, to: n2}}",
            "{at: 2s, crash: n1}",
            "{at: 3s, restart: n1}",
            "{at: 4s, restore-route: {from: n1, to: n2}}"
        ])),
        "s.yaml:8:29: restore-route n1 -> n2, which is not dropped (the crash of `n1` at 2s ended it: \
         a restarted process reads its routes afresh)"
    );
    let s = shipsim::parse(
        &with_faults(&[
            "{at: 1s, drop-route: {from: n1, to: n2}}",
            "{at: 3s, restore-route: {from: n1, to: n2}}",
        ]),
        "s.yaml",
    )
    .unwrap();
    assert_eq!(s.faults[0].action, FaultAction::DropRoute { from: "n1".into(), to: "n2".into() });
    assert_eq!(s.faults[1].action, FaultAction::RestoreRoute { from: "n1".into(), to: "n2".into() });
}

#[test]
fn workload_senders() {
    let text = |senders: &str| format!("name: t\nnodes: [n1, n2, n3]\nworkload:\n  senders: {senders}\n");
    assert_eq!(error(&text("[n1, n9]")), "s.yaml:4:17: unknown node `n9` (nodes: n1, n2, n3)");
    assert_eq!(
        error(&text("[]")),
        "s.yaml:4:12: senders must list at least one node (leave the key out for every node)"
    );
    assert_eq!(error(&text("[n2, n2]")), "s.yaml:4:17: sender `n2` is listed twice (first listed at 4:13)");
    assert_eq!(error(&text("n1")), "s.yaml:4:12: expected a list");

    let s = shipsim::parse(&text("[n3, n1]"), "s.yaml").unwrap();
    assert_eq!(s.workload.senders, Some(vec!["n3".to_owned(), "n1".to_owned()]));
    assert!(s.workload.sends("n1") && !s.workload.sends("n2"));
    assert_eq!((s.workload.events_of("n3"), s.workload.events_of("n2")), (100, 0));
    assert_eq!(shipsim::parse(&scenario::to_yaml(&s), "again.yaml").unwrap(), s);
    let every = shipsim::parse("name: t\nnodes: [n1, n2]\n", "s.yaml").unwrap();
    assert_eq!(every.workload.senders, None);
    assert!(every.workload.sends("n2"));
}

#[test]
fn unknown_placement_mode() {
    assert_eq!(
        error("name: t\nnodes: [n1]\nexpect:\n  placement: anywhere\n"),
        "s.yaml:4:14: invalid placement `anywhere`: expected one of owner, ignore"
    );
    let s = shipsim::parse("name: t\nnodes: [n1]\nexpect: {placement: ignore}\n", "s.yaml").unwrap();
    assert_eq!(s.expect.placement, scenario::ExpectPlacement::Ignore);
}

#[test]
fn transport_kind() {
    let text =
        |kind: &str| format!("name: t\nnodes: [n1, n2]\ntransport:\n  connections: 1\n  kind: {kind}\n");
    assert_eq!(shipsim::parse(&text("grpc"), "s.yaml").unwrap().transport.kind, Some(TransportKind::Grpc));
    assert_eq!(shipsim::parse(&text("tcp"), "s.yaml").unwrap().transport.kind, Some(TransportKind::Tcp));
    assert_eq!(shipsim::parse("name: t\nnodes: [n1]\n", "s.yaml").unwrap().transport.kind, None);
    assert_eq!(
        error(&text("udp")),
        "s.yaml:5:9: invalid transport kind `udp`: expected one of tcp, grpc, nats"
    );
    assert_eq!(error(&text("[tcp]")), "s.yaml:5:9: expected a single value, found a list or mapping");
    assert_eq!(
        error("name: t\nnodes: [n1]\ntransport: {kinds: tcp}\n"),
        "s.yaml:3:13: unknown key `kinds` (expected one of: kind, connections, ack_timeout, deadline, \
         connect_timeout, backoff, max_frame, max_unacked, broker)"
    );
}

#[test]
fn network_segment() {
    let text = |segment: &str| format!("name: t\nnodes: [n1, n2]\nnetwork:\n  segment: {segment}\n");
    let s = shipsim::parse(&text("1..1500"), "s.yaml").unwrap();
    assert_eq!(s.network.segment, Some(SizeRange { min: 1, max: 1500 }));
    assert_eq!(
        shipsim::parse(&text("64"), "s.yaml").unwrap().network.segment,
        Some(SizeRange { min: 64, max: 64 })
    );
    assert_eq!(shipsim::parse("name: t\nnodes: [n1]\n", "s.yaml").unwrap().network.segment, None);
    assert_eq!(
        error(&text("0..64")),
        "s.yaml:4:12: segment `0..64` must be within 1..65536 bytes (a piece of at least one byte, at \
         most what a connection writes at once)"
    );
    assert!(error(&text("1..1MiB")).starts_with("s.yaml:4:12: segment `1..1MiB` must be within 1..65536"));
    assert_eq!(
        error(&text("64..8")),
        "s.yaml:4:12: size range `64..8` is reversed: min 64B is more than max 8B"
    );
    assert_eq!(
        error(&text("1..lots")),
        "s.yaml:4:12: invalid size `lots`: write a whole number of bytes like `1500`, `16B`, `4KiB` or `1MiB`"
    );
}

#[test]
fn transport_limits() {
    let text = |key: &str| format!("name: t\nnodes: [n1, n2]\ntransport:\n  {key}\n");
    let s = shipsim::parse(&text("max_frame: 64KiB"), "s.yaml").unwrap();
    assert_eq!((s.transport.max_frame, s.transport.max_unacked), (64 << 10, 64));
    let s = shipsim::parse(&text("max_unacked: 2"), "s.yaml").unwrap();
    assert_eq!((s.transport.max_frame, s.transport.max_unacked), (1 << 20, 2));
    assert_eq!(error(&text("max_frame: 10")), "s.yaml:4:14: max_frame must be within 64B..1024MiB, found 10");
    assert_eq!(
        error(&text("max_frame: 2048MiB")),
        "s.yaml:4:14: max_frame must be within 64B..1024MiB, found 2048MiB"
    );
    assert_eq!(
        error(&text("max_frame: 1MB")),
        "s.yaml:4:14: invalid size `1MB`: write a whole number of bytes like `1500`, `16B`, `4KiB` or `1MiB`"
    );
    assert_eq!(error(&text("max_unacked: 0")), "s.yaml:4:16: max_unacked must be in 1..=65536, found 0");
    assert_eq!(
        error(&text("max_unacked: 100000")),
        "s.yaml:4:16: max_unacked must be in 1..=65536, found 100000"
    );
    assert!(error(&text("max-frame: 1MiB")).starts_with("s.yaml:4:3: unknown key `max-frame`"));
}

#[test]
fn workload_payload() {
    let text = |payload: &str, frame: &str| {
        format!(
            "name: t\nnodes: [n1, n2]\ntransport:\n  max_frame: {frame}\nworkload:\n  payload: {payload}\n"
        )
    };
    let s = shipsim::parse(&text("16B..256KiB", "1MiB"), "s.yaml").unwrap();
    assert_eq!(s.workload.payload, Some(SizeRange { min: 16, max: 256 << 10 }));
    assert_eq!(error(&text("0..1KiB", "1MiB")), "s.yaml:6:12: payload `0..1KiB` must be within 1B..16MiB");
    assert_eq!(error(&text("1..32MiB", "1MiB")), "s.yaml:6:12: payload `1..32MiB` must be within 1B..16MiB");
    // The largest payload, the largest key (`k63`), the longest name and 45 bytes of fields
    // must fit the frame limit: 256 KiB does not fit 256 KiB. Reported at the payload.
    assert_eq!(
        error(&text("16B..256KiB", "256KiB")),
        "s.yaml:6:12: an event frame can be 262194 bytes (a payload of up to 262144, its key, its \
         source's name and 45 bytes of fields), more than max_frame 256KiB: payload + key + names \
         must fit max_frame"
    );
    // Without a payload range, a frame limit too small for the compact payload is reported at
    // the limit.
    let small = "name: t\nnodes: [n1, n2]\nworkload:\n  events: 100000\ntransport:\n  max_frame: 64\n";
    assert!(error(small).starts_with("s.yaml:6:14: an event frame can be "), "{}", error(small));
}

#[test]
fn workload_concurrency() {
    let text = |value: &str| format!("name: t\nnodes: [n1, n2]\nworkload:\n  concurrency: {value}\n");
    let s = shipsim::parse(&text("8"), "s.yaml").unwrap();
    assert_eq!(s.workload.concurrency, 8);
    assert_eq!(shipsim::parse(&scenario::to_yaml(&s), "again.yaml").unwrap(), s);
    assert!(scenario::to_yaml(&s).contains("  concurrency: 8\n"));
    let one = shipsim::parse("name: t\nnodes: [n1]\n", "s.yaml").unwrap();
    assert_eq!(one.workload.concurrency, 1, "one call at a time unless the file says otherwise");
    assert!(!scenario::to_yaml(&one).contains("concurrency"), "the default is not written");
    for bad in ["0", "65", "100000000000"] {
        assert_eq!(
            error(&text(bad)),
            format!(
                "s.yaml:4:16: concurrency must be in 1..=64 (route calls in flight per node), found {bad}"
            )
        );
    }
    assert!(error(&text("-1")).starts_with("s.yaml:4:16: "), "{}", error(&text("-1")));
    assert!(error(&text("many")).starts_with("s.yaml:4:16: "), "{}", error(&text("many")));
}

#[test]
fn sink_section() {
    let text = |body: &str| format!("name: t\nnodes: [n1, n2]\nsink:\n{body}");
    assert_eq!(
        error(&text("  busy: 1.5\n")),
        "s.yaml:4:9: busy must be a probability in 0..1 (1 would refuse every event forever), found 1.5"
    );
    assert_eq!(
        error(&text("  busy: -0.05\n")),
        "s.yaml:4:9: busy must be a probability in 0..1 (1 would refuse every event forever), found -0.05"
    );
    assert_eq!(
        error(&text("  busy: 1\n")),
        "s.yaml:4:9: busy must be a probability in 0..1 (1 would refuse every event forever), found 1"
    );
    assert_eq!(error(&text("  busy: often\n")), "s.yaml:4:9: expected a number, found `often`");
    assert_eq!(
        error(&text("  latency: 40ms..5ms\n")),
        "s.yaml:4:12: latency range `40ms..5ms` is reversed: min 40ms is more than max 5ms"
    );
    assert_eq!(
        error(&text("  latency: -5ms\n")),
        "s.yaml:4:12: negative duration `-5ms`: durations must be 0 or more"
    );
    assert!(error(&text("  latency: soon\n")).starts_with("s.yaml:4:12: invalid duration `soon`"));
    assert_eq!(
        error(&text("  latency: 1ms\n  stall: 2s\n")),
        "s.yaml:5:3: unknown key `stall` (expected one of: latency, busy)"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\nsink: slow\n"),
        "s.yaml:3:7: expected a mapping (`key: value` lines or `{key: value}`)"
    );

    let s = shipsim::parse(&text("  latency: 5ms..40ms\n  busy: 0.05\n"), "s.yaml").unwrap();
    assert_eq!(
        s.sink.latency,
        LatencyRange { min: Duration::from_millis(5), max: Duration::from_millis(40) }
    );
    assert_eq!(s.sink.busy, 0.05);
    assert_eq!(shipsim::parse(&scenario::to_yaml(&s), "again.yaml").unwrap(), s);
    let instant = shipsim::parse("name: t\nnodes: [n1]\n", "s.yaml").unwrap();
    assert_eq!(instant.sink, scenario::Sink::default());
}

/// A four-node head with n1..n3 as the initial members; faults start on line 6.
const MEMBERS_HEAD: &str =
    "name: t\nnodes: [n1, n2, n3, n4]\nmembers: [n1, n2, n3]\nduration: 30s\nfaults:\n";

fn with_membership_faults(faults: &[&str]) -> String {
    let mut text = MEMBERS_HEAD.to_owned();
    for f in faults {
        text.push_str("  - ");
        text.push_str(f);
        text.push('\n');
    }
    text
}

#[test]
fn members_must_be_known_distinct_and_non_empty() {
    assert_eq!(
        error("name: t\nnodes: [n1, n2]\nmembers: [n1, n9]\n"),
        "s.yaml:3:15: unknown node `n9` in members (nodes: n1, n2)"
    );
    assert_eq!(
        error("name: t\nnodes: [n1, n2]\nmembers: [n2, n2]\n"),
        "s.yaml:3:15: member `n2` is listed twice (first listed at 3:11)"
    );
    assert_eq!(
        error("name: t\nnodes: [n1, n2]\nmembers: []\n"),
        "s.yaml:3:10: members must list at least one node (leave the key out for every node)"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\nmembership: {propagation: 5ms..1ms}\n").split(": ").next(),
        Some("s.yaml:3:27")
    );
    assert!(error("name: t\nnodes: [n1]\nmembership: {delay: 5ms}\n").contains("`delay`"));
}

#[test]
fn joins_and_leaves_follow_the_membership_along_the_timeline() {
    assert_eq!(
        error(&with_membership_faults(&["{at: 1s, join: n2}"])),
        "s.yaml:6:20: join of `n2`, which is already a member (since the start)"
    );
    assert_eq!(
        error(&with_membership_faults(&["{at: 1s, join: n4}", "{at: 2s, join: n4}"])),
        "s.yaml:7:20: join of `n4`, which is already a member (joined at 1s)"
    );
    assert_eq!(
        error(&with_membership_faults(&["{at: 1s, leave: n4}"])),
        "s.yaml:6:21: leave of `n4`, which is not a member at 1s (it never joined)"
    );
    assert_eq!(
        error(&with_membership_faults(&["{at: 1s, leave: n1}", "{at: 2s, leave: n1}"])),
        "s.yaml:7:21: leave of `n1`, which is not a member at 2s (it left at 1s)"
    );
    assert_eq!(
        error("name: t\nnodes: [n1, n2]\nmembers: [n1]\nfaults:\n  - {at: 1s, leave: n1}\n"),
        "s.yaml:5:21: leave of `n1`, the last member: a shard map needs at least one member"
    );
    assert_eq!(
        error(&with_membership_faults(&["{at: 1s, join: n7}"])),
        "s.yaml:6:20: unknown node `n7` (nodes: n1, n2, n3, n4)"
    );
    assert_eq!(
        error(&with_membership_faults(&["{at: 1s, leave: n0}"])),
        "s.yaml:6:21: unknown node `n0` (nodes: n1, n2, n3, n4)"
    );
    // A node that left may join again, and one that joined may leave.
    let ok = with_membership_faults(&[
        "{at: 1s, leave: n1}",
        "{at: 2s, join: n1}",
        "{at: 3s, join: n4}",
        "{at: 4s, leave: n4}",
    ]);
    let s = shipsim::parse(&ok, "s.yaml").unwrap();
    assert_eq!(s.faults.len(), 4);
    assert_eq!(s.epochs().last().map(|(_, m)| m.clone()), Some(vec!["n1".into(), "n2".into(), "n3".into()]));
}

#[test]
fn membership_keys_round_trip_through_the_emitter() {
    let text = "name: t\nnodes: [n1, n2, n3]\nmembers: [n2, n1]\nmembership: {propagation: 10ms..250ms}\n\
                faults:\n  - {at: 1s, join: n3}\n  - {at: 2s, leave: n2}\n";
    let s = shipsim::parse(text, "s.yaml").unwrap();
    assert_eq!(s.members, Some(vec!["n2".into(), "n1".into()]));
    assert_eq!(
        s.membership.propagation,
        LatencyRange { min: Duration::from_millis(10), max: Duration::from_millis(250) }
    );
    assert_eq!(s.faults[0].action, FaultAction::Join("n3".into()));
    let back = shipsim::parse(&scenario::to_yaml(&s), "back.yaml").unwrap();
    assert_eq!(back, s);
    // Absent keys stay absent in meaning: every node is a member, propagation is 0.
    let plain = shipsim::parse("name: t\nnodes: [n1, n2]\n", "s.yaml").unwrap();
    assert_eq!((plain.members.clone(), plain.initial_members()), (None, vec!["n1".into(), "n2".into()]));
    assert_eq!(plain.membership.propagation, LatencyRange::fixed(Duration::ZERO));
    assert_eq!(shipsim::parse(&scenario::to_yaml(&plain), "p.yaml").unwrap(), plain);
}

#[test]
fn transport_connect_timeout_and_backoff() {
    let text = "name: t\nnodes: [n1, n2]\ntransport:\n  connect_timeout: 50ms\n  backoff: 10ms..2s\n";
    let s = shipsim::parse(text, "s.yaml").unwrap();
    assert_eq!(s.transport.connect_timeout, Duration::from_millis(50));
    assert_eq!(
        s.transport.backoff,
        LatencyRange { min: Duration::from_millis(10), max: Duration::from_secs(2) }
    );
    assert_eq!(shipsim::parse(&scenario::to_yaml(&s), "s.yaml").unwrap(), s);
    let defaults = shipsim::parse("name: t\nnodes: [n1]\n", "s.yaml").unwrap();
    assert_eq!(defaults.transport.connect_timeout, Duration::from_secs(1));
    assert!(!scenario::to_yaml(&defaults).contains("backoff"), "defaults are not written");
    assert_eq!(
        error("name: t\nnodes: [n1]\ntransport:\n  connect_timeout: 0s\n"),
        "s.yaml:4:20: connect_timeout must be more than 0s"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\ntransport:\n  backoff: 2s..10ms\n"),
        "s.yaml:4:12: backoff range `2s..10ms` is reversed: min 2s is more than max 10ms"
    );
    assert_eq!(
        error("name: t\nnodes: [n1]\ntransport:\n  backoff: 0s..1s\n"),
        "s.yaml:4:12: backoff must start above 0s"
    );
}
