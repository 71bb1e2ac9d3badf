//! Every scenario setting that changes what runs is varied, by swarm testing ([`swarm`]) and by
//! the proptest strategies ([`crate::strategies`]): a setting neither touches is a dimension no
//! sweep and no generated case ever explores, however long they run.
//!
//! The settings are not listed by hand (a list would go stale when a key is added): they are
//! the keys [`to_yaml`] writes for a scenario with every section and every optional key set,
//! `section.key` for the nested ones. A setting is varied when the samples show at least two
//! values of it (absent counts as one). Settings that legitimately are not varied are on
//! [`EXEMPT`], each with its reason.

use std::collections::{BTreeMap, BTreeSet};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;

use crate::scenario::{self, Scenario, to_yaml};
use crate::search::swarm::swarm;
use crate::strategies::runnable_scenario;

/// Settings that are not varied, and why.
const EXEMPT: [(&str, &str); 8] = [
    ("name", "identifies the scenario; nothing runs differently"),
    ("description", "free text"),
    ("seeds", "the seeds a file runs by default: a sweep varies the run's seed itself"),
    ("nodes", "the cluster's names, which the faults name: the generator varies their number"),
    ("expect.delivery", "what is checked, not what runs: varying it would only switch checks off"),
    ("expect.ordering", "what is checked, not what runs"),
    ("expect.stats", "what is checked, not what runs"),
    ("expect.placement", "what is checked, not what runs"),
];

/// Every section and every optional key (`transport.kind` is added for the key list only: a
/// scenario that names its transport keeps it under swarm).
const EVERY_KNOB: &str = "\
name: every-knob
description: Every section and every optional key.
seeds: [1, 2]
nodes: [n1, n2, n3, n4]
shards: 16
members: [n1, n2, n3]
membership:
  propagation: 10ms..100ms
duration: 30s
network:
  latency: 1ms..10ms
  loss: 0.01
  segment: 64..1500
transport:
  connections: 2
  ack_timeout: 300ms
  deadline: 2s
  connect_timeout: 500ms
  backoff: 20ms..400ms
  max_frame: 256KiB
  max_unacked: 32
sink:
  latency: 1ms..3ms
  busy: 0.05
workload:
  events: 200
  rate: 300/s
  batch: 2..8
  keys: 32
  senders: [n1, n2, n3]
  payload: 16B..2KiB
  concurrency: 4
faults:
  - {at: 1s, partition: [[n1], [n2, n3]]}
  - {at: 2s, heal: all}
  - {at: 2500ms, join: n4}
  - {at: 3s, crash: n2}
  - {at: 4s, restart: n2}
  - {at: 5s, latency: {link: [n1, n2], value: 5ms..20ms}}
expect:
  settle: 10s
";

/// Each setting `to_yaml` wrote, `section.key` for nested ones, with its value (`faults`: the
/// whole list).
fn settings(yaml: &str) -> BTreeMap<String, String> {
    let mut found = BTreeMap::new();
    let mut section = String::new();
    for line in yaml.lines() {
        if let Some(fault) = line.strip_prefix("  - ") {
            found.entry(section.clone()).or_insert_with(String::new).push_str(fault);
        } else if let Some(nested) = line.strip_prefix("  ") {
            let (key, value) = nested.split_once(':').expect("a key");
            found.insert(format!("{section}.{key}"), value.trim().to_owned());
        } else {
            let (key, value) = line.split_once(':').expect("a key");
            section = key.to_owned();
            if !value.trim().is_empty() || key == "faults" {
                found.insert(key.to_owned(), value.trim().to_owned());
            }
        }
    }
    found
}

fn every_knob() -> Scenario {
    scenario::parse(EVERY_KNOB, "every-knob.yaml").expect("the fixture is valid")
}

/// The schema's settings: what `to_yaml` writes for a scenario with every optional key set.
fn schema_settings() -> BTreeSet<String> {
    let mut full = every_knob();
    full.transport.kind = Some(scenario::TransportKind::Grpc);
    let keys: BTreeSet<String> = settings(&to_yaml(&full)).into_keys().collect();
    for section in ["membership", "network", "transport", "sink", "workload", "expect"] {
        assert!(keys.iter().any(|k| k.starts_with(&format!("{section}."))), "{section} in {keys:?}");
    }
    keys
}

/// The settings `samples` never show two values of, exempt ones aside.
fn never_varied(samples: impl Iterator<Item = Scenario>) -> Vec<String> {
    let keys = schema_settings();
    let mut values: BTreeMap<&String, BTreeSet<String>> = BTreeMap::new();
    for sample in samples {
        let written = settings(&to_yaml(&sample));
        for key in &keys {
            let value = written.get(key).cloned().unwrap_or_else(|| "<absent>".into());
            values.entry(key).or_default().insert(value);
        }
    }
    let exempt: BTreeSet<&str> = EXEMPT.iter().map(|(key, _)| *key).collect();
    keys.iter()
        .filter(|key| !exempt.contains(key.as_str()) && values.get(key).is_none_or(|v| v.len() < 2))
        .cloned()
        .collect()
}

#[test]
fn the_settings_are_read_from_what_the_emitter_writes() {
    let keys = schema_settings();
    for key in ["shards", "members", "faults", "network.segment", "transport.kind", "workload.concurrency"] {
        assert!(keys.contains(key), "{key} in {keys:?}");
    }
    // The exempt list names only settings that exist.
    for (key, _) in EXEMPT {
        assert!(keys.contains(key), "exempt {key} is no setting");
    }
}

#[test]
fn swarm_varies_every_setting() {
    let base = every_knob();
    let missing = never_varied((0..200).map(|seed| swarm(&base, seed)));
    assert!(missing.is_empty(), "settings swarm never varies over 200 seeds: {missing:?}");
}

#[test]
fn the_strategies_vary_every_setting() {
    let mut runner = TestRunner::deterministic();
    let samples = (0..300).map(|_| runnable_scenario().new_tree(&mut runner).expect("a case").current());
    let missing = never_varied(samples);
    assert!(missing.is_empty(), "settings the strategies never vary over 300 cases: {missing:?}");
}
