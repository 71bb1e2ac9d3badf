//! Semantic checks: from the raw schema to a [`Scenario`] the runner can trust.
//!
//! The YAML parser already rejected wrong types, unknown and duplicate keys. What is left are
//! values that are well-typed but meaningless — a bad name, a 17th node, a reversed range, a
//! probability of 1.5 — each reported at the position of the offending value. Defaults are
//! filled in here, so the model never holds an "absent" value. The fault timeline has its
//! own module (`timeline.rs`).

use std::collections::BTreeMap;

use super::error::{Pos, Problem};
use shipsim_trace::{ExpectDelivery, ExpectOrdering, ExpectPlacement, ExpectStats};

use super::model::{Expect, Membership, Network, Scenario, Sink, TransportKind, TransportSettings, Workload};
use super::raw::{
    Located, Names, RawExpect, RawMembership, RawNetwork, RawScenario, RawSink, RawTransport, RawWorkload,
    located,
};
use super::scalars::{
    check_busy_rate, check_probability, parse_batch, parse_latency, parse_positive_duration, parse_rate,
};
use super::sizes::{format_size, parse_size, parse_size_range};
use super::timeline;

/// A transport's own limits on a scenario (a frame size): `Err` says what does not fit. The
/// loader knows no transport; it reports the error at the sizes that decide it.
pub(crate) type Limits<'a> = &'a dyn Fn(&Scenario) -> Result<(), String>;

/// Checks a parsed file and fills in the defaults.
#[cfg(test)]
pub(crate) fn scenario(raw: RawScenario) -> Result<Scenario, Problem> {
    scenario_within(raw, &|_| Ok(()))
}

/// [`scenario`], then `limits`, reported at `workload.payload`, else `transport.max_frame`,
/// else the node list (the longest name counts too).
pub(crate) fn scenario_within(raw: RawScenario, limits: Limits<'_>) -> Result<Scenario, Problem> {
    let name = check_name(&raw.name, "scenario name")?;
    let description = raw.description.map(|d| d.value).unwrap_or_default();
    let seeds = seeds(raw.seeds)?;
    let nodes = nodes(&raw.nodes)?;
    let shards = match raw.shards {
        None => Scenario::DEFAULT_SHARDS,
        Some(s) if s.value == 0 => return Err(Problem::new(s.pos, "shards must be at least 1")),
        Some(s) => s.value,
    };
    let members = match &raw.members {
        None => None,
        Some(members) => Some(members_of(members, &nodes)?),
    };
    let membership = membership(raw.membership.map(|m| m.value))?;
    let duration = match raw.duration {
        None => Scenario::DEFAULT_DURATION,
        Some(d) => located(&d, parse_positive_duration(&d.value, "duration"))?,
    };
    let network = network(raw.network.map(|n| n.value))?;
    let max_frame_at = raw.transport.as_ref().and_then(|t| t.value.max_frame.as_ref()).map(|m| m.pos);
    let mut raw_transport = raw.transport.map(|t| t.value);
    let raw_broker = raw_transport.as_mut().and_then(|t| t.broker.take());
    let mut transport = transport(raw_transport)?;
    transport.broker = super::broker::settings(raw_broker, transport.kind)?;
    let payload_at = raw.workload.as_ref().and_then(|w| w.value.payload.as_ref()).map(|p| p.pos);
    let sink = sink(raw.sink.map(|s| s.value))?;
    let workload = workload(raw.workload.map(|w| w.value), &nodes)?;
    let sizes_at = payload_at.or(max_frame_at).unwrap_or(raw.nodes.pos);
    let faults = match raw.faults {
        None => Vec::new(),
        Some(faults) => {
            let initial = members.clone().unwrap_or_else(|| nodes.clone());
            let targets = fault_targets(&nodes, transport.kind, raw.nodes.pos)?;
            let faults = timeline::faults(faults.value, &targets, &initial, duration, network.loss)?;
            super::broker::check_faults(&faults)?;
            faults
        }
    };
    let expect = expect(raw.expect.map(|e| e.value))?;
    let scenario = Scenario {
        name,
        description,
        seeds,
        nodes,
        shards,
        members,
        membership,
        duration,
        network,
        transport,
        sink,
        workload,
        faults,
        expect,
    };
    limits(&scenario).map_err(|message| Problem::new(sizes_at, message))?;
    Ok(scenario)
}

/// What faults may name: the nodes, and the broker (`broker`) of a NATS scenario, whose
/// nodes may not take its name.
fn fault_targets(nodes: &[String], kind: Option<TransportKind>, at: Pos) -> Result<Vec<String>, Problem> {
    if kind != Some(TransportKind::Nats) {
        return Ok(nodes.to_vec());
    }
    let broker = TransportKind::BROKER;
    if nodes.iter().any(|n| n == broker) {
        return Err(Problem::new(
            at,
            format!("`{broker}` names the NATS broker: call the node something else"),
        ));
    }
    Ok(nodes.iter().cloned().chain([broker.to_owned()]).collect())
}

/// Names of scenarios and nodes: `[a-z0-9-]+`, so they work as test names, file names and
/// YAML plain scalars alike.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn check_name(name: &Located<String>, what: &str) -> Result<String, Problem> {
    if is_name(&name.value) {
        Ok(name.value.clone())
    } else {
        Err(Problem::new(
            name.pos,
            format!("invalid {what} `{}`: use lowercase letters, digits and `-` ([a-z0-9-]+)", name.value),
        ))
    }
}

fn seeds(seeds: Option<Located<Vec<Located<u64>>>>) -> Result<Vec<u64>, Problem> {
    let Some(seeds) = seeds else {
        return Ok(Scenario::DEFAULT_SEEDS.to_vec());
    };
    if seeds.value.is_empty() {
        return Err(Problem::new(seeds.pos, "seeds must not be empty (leave the key out for [1])"));
    }
    let mut seen = BTreeMap::new();
    for seed in &seeds.value {
        if let Some(first) = seen.insert(seed.value, seed.pos) {
            return Err(Problem::new(
                seed.pos,
                format!("seed {} is listed twice (first at {first})", seed.value),
            ));
        }
    }
    Ok(seeds.value.iter().map(|s| s.value).collect())
}

fn nodes(nodes: &Names) -> Result<Vec<String>, Problem> {
    if nodes.value.is_empty() {
        return Err(Problem::new(nodes.pos, "nodes must list at least one node"));
    }
    if let Some(extra) = nodes.value.get(Scenario::MAX_NODES) {
        return Err(Problem::new(
            extra.pos,
            format!(
                "too many nodes: {} listed, at most {} are supported",
                nodes.value.len(),
                Scenario::MAX_NODES
            ),
        ));
    }
    let mut seen: BTreeMap<&str, Pos> = BTreeMap::new();
    for node in &nodes.value {
        check_name(node, "node name")?;
        if let Some(first) = seen.insert(&node.value, node.pos) {
            return Err(Problem::new(
                node.pos,
                format!("duplicate node `{}` (first listed at {first})", node.value),
            ));
        }
    }
    Ok(nodes.value.iter().map(|n| n.value.clone()).collect())
}

/// `members`: at least one scenario node, each once.
fn members_of(members: &Names, nodes: &[String]) -> Result<Vec<String>, Problem> {
    if members.value.is_empty() {
        return Err(Problem::new(
            members.pos,
            "members must list at least one node (leave the key out for every node)",
        ));
    }
    let mut seen: BTreeMap<&str, Pos> = BTreeMap::new();
    for member in &members.value {
        if !nodes.contains(&member.value) {
            return Err(Problem::new(
                member.pos,
                format!("unknown node `{}` in members (nodes: {})", member.value, nodes.join(", ")),
            ));
        }
        if let Some(first) = seen.insert(&member.value, member.pos) {
            return Err(Problem::new(
                member.pos,
                format!("member `{}` is listed twice (first listed at {first})", member.value),
            ));
        }
    }
    Ok(members.value.iter().map(|m| m.value.clone()).collect())
}

fn membership(raw: Option<RawMembership>) -> Result<Membership, Problem> {
    let mut membership = Membership::default();
    let Some(raw) = raw else { return Ok(membership) };
    if let Some(p) = raw.propagation {
        membership.propagation = located(&p, parse_latency(&p.value))?;
    }
    Ok(membership)
}

fn network(raw: Option<RawNetwork>) -> Result<Network, Problem> {
    let mut network = Network::default();
    let Some(raw) = raw else { return Ok(network) };
    if let Some(latency) = raw.latency {
        network.latency = located(&latency, parse_latency(&latency.value))?;
    }
    if let Some(loss) = raw.loss {
        network.loss = located(&loss, check_probability(loss.value, "loss"))?;
    }
    if let Some(segment) = raw.segment {
        let range = located(&segment, parse_size_range(&segment.value))?;
        if range.min == 0 || range.max > Network::MAX_SEGMENT {
            return Err(Problem::new(
                segment.pos,
                format!(
                    "segment `{}` must be within 1..{} bytes (a piece of at least one byte, at most \
                     what a connection writes at once)",
                    segment.value,
                    Network::MAX_SEGMENT
                ),
            ));
        }
        network.segment = Some(range);
    }
    Ok(network)
}

fn transport(raw: Option<RawTransport>) -> Result<TransportSettings, Problem> {
    let mut transport = TransportSettings::default();
    let Some(raw) = raw else { return Ok(transport) };
    if let Some(k) = raw.kind {
        transport.kind = Some(located(&k, k.value.parse())?);
    }
    if let Some(c) = raw.connections {
        if !(1..=Scenario::MAX_CONNECTIONS).contains(&c.value) {
            return Err(Problem::new(c.pos, format!("connections must be in 1..=16, found {}", c.value)));
        }
        transport.connections = c.value;
    }
    if let Some(t) = raw.ack_timeout {
        transport.ack_timeout = located(&t, parse_positive_duration(&t.value, "ack_timeout"))?;
    }
    if let Some(d) = raw.deadline {
        transport.deadline = located(&d, parse_positive_duration(&d.value, "deadline"))?;
    }
    if let Some(m) = raw.max_frame {
        let bytes = located(&m, parse_size(&m.value))?;
        let allowed = TransportSettings::MAX_FRAME_RANGE;
        if !allowed.contains(&bytes) {
            return Err(Problem::new(
                m.pos,
                format!(
                    "max_frame must be within {}..{}, found {}",
                    format_size(*allowed.start()),
                    format_size(*allowed.end()),
                    m.value
                ),
            ));
        }
        transport.max_frame = bytes;
    }
    if let Some(u) = raw.max_unacked {
        if !(1..=TransportSettings::MAX_UNACKED).contains(&u.value) {
            return Err(Problem::new(
                u.pos,
                format!("max_unacked must be in 1..={}, found {}", TransportSettings::MAX_UNACKED, u.value),
            ));
        }
        transport.max_unacked = u.value;
    }
    if let Some(t) = raw.connect_timeout {
        transport.connect_timeout = located(&t, parse_positive_duration(&t.value, "connect_timeout"))?;
    }
    if let Some(b) = raw.backoff {
        let range =
            located(&b, parse_latency(&b.value).map_err(|e| e.replace("latency range", "backoff range")))?;
        if range.min.is_zero() {
            return Err(Problem::new(b.pos, "backoff must start above 0s"));
        }
        transport.backoff = range;
    }
    Ok(transport)
}

fn sink(raw: Option<RawSink>) -> Result<Sink, Problem> {
    let mut sink = Sink::default();
    let Some(raw) = raw else { return Ok(sink) };
    if let Some(latency) = raw.latency {
        sink.latency = located(&latency, parse_latency(&latency.value))?;
    }
    if let Some(busy) = raw.busy {
        sink.busy = located(&busy, check_busy_rate(busy.value))?;
    }
    Ok(sink)
}

fn workload(raw: Option<RawWorkload>, nodes: &[String]) -> Result<Workload, Problem> {
    let mut workload = Workload::default();
    let Some(raw) = raw else { return Ok(workload) };
    if let Some(events) = raw.events {
        workload.events = events.value;
    }
    if let Some(rate) = raw.rate {
        workload.rate = located(&rate, parse_rate(&rate.value))?;
    }
    if let Some(batch) = raw.batch {
        workload.batch = located(&batch, parse_batch(&batch.value))?;
    }
    if let Some(keys) = raw.keys {
        if keys.value == 0 {
            return Err(Problem::new(keys.pos, "keys must be at least 1"));
        }
        workload.keys = keys.value;
    }
    if let Some(senders) = raw.senders {
        workload.senders = Some(senders_of(&senders, nodes)?);
    }
    if let Some(payload) = raw.payload {
        let range = located(&payload, parse_size_range(&payload.value))?;
        if range.min == 0 || range.max > Workload::MAX_PAYLOAD {
            return Err(Problem::new(
                payload.pos,
                format!(
                    "payload `{}` must be within 1B..{}",
                    payload.value,
                    format_size(Workload::MAX_PAYLOAD)
                ),
            ));
        }
        workload.payload = Some(range);
    }
    if let Some(c) = raw.concurrency {
        workload.concurrency = concurrency(&c)?;
    }
    Ok(workload)
}

/// `workload.concurrency`: 1..=[`Workload::MAX_CONCURRENCY`] calls in flight per node.
fn concurrency(c: &Located<u64>) -> Result<u32, Problem> {
    match u32::try_from(c.value) {
        Ok(n) if (1..=Workload::MAX_CONCURRENCY).contains(&n) => Ok(n),
        _ => Err(Problem::new(
            c.pos,
            format!(
                "concurrency must be in 1..={} (route calls in flight per node), found {}",
                Workload::MAX_CONCURRENCY,
                c.value
            ),
        )),
    }
}

/// `workload.senders`: at least one scenario node, each once.
fn senders_of(senders: &Names, nodes: &[String]) -> Result<Vec<String>, Problem> {
    if senders.value.is_empty() {
        return Err(Problem::new(
            senders.pos,
            "senders must list at least one node (leave the key out for every node)",
        ));
    }
    let mut seen: BTreeMap<&str, Pos> = BTreeMap::new();
    for sender in &senders.value {
        if !nodes.contains(&sender.value) {
            return Err(Problem::new(
                sender.pos,
                format!("unknown node `{}` (nodes: {})", sender.value, nodes.join(", ")),
            ));
        }
        if let Some(first) = seen.insert(&sender.value, sender.pos) {
            return Err(Problem::new(
                sender.pos,
                format!("sender `{}` is listed twice (first listed at {first})", sender.value),
            ));
        }
    }
    Ok(senders.value.iter().map(|s| s.value.clone()).collect())
}

fn expect(raw: Option<RawExpect>) -> Result<Expect, Problem> {
    let mut expect = Expect::default();
    let Some(raw) = raw else { return Ok(expect) };
    if let Some(d) = raw.delivery {
        expect.delivery = one_of(
            &d,
            "delivery",
            &[("exactly-once", ExpectDelivery::ExactlyOnce), ("at-least-once", ExpectDelivery::AtLeastOnce)],
        )?;
    }
    if let Some(o) = raw.ordering {
        expect.ordering = one_of(
            &o,
            "ordering",
            &[("per-batch", ExpectOrdering::PerBatch), ("none", ExpectOrdering::None)],
        )?;
    }
    if let Some(s) = raw.stats {
        expect.stats =
            one_of(&s, "stats", &[("consistent", ExpectStats::Consistent), ("ignore", ExpectStats::Ignore)])?;
    }
    if let Some(p) = raw.placement {
        expect.placement = one_of(
            &p,
            "placement",
            &[("owner", ExpectPlacement::Owner), ("ignore", ExpectPlacement::Ignore)],
        )?;
    }
    if let Some(s) = raw.settle {
        expect.settle = located(&s, parse_positive_duration(&s.value, "settle"))?;
    }
    Ok(expect)
}

fn one_of<T: Copy>(value: &Located<String>, key: &str, choices: &[(&str, T)]) -> Result<T, Problem> {
    choices.iter().find(|(word, _)| *word == value.value).map(|(_, v)| *v).ok_or_else(|| {
        let words: Vec<&str> = choices.iter().map(|(w, _)| *w).collect();
        Problem::new(
            value.pos,
            format!("invalid {key} `{}`: expected one of {}", value.value, words.join(", ")),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::super::model::TransportKind;
    use super::super::yaml::parse_raw;
    use super::*;
    use std::time::Duration;

    fn check(text: &str) -> Result<Scenario, Problem> {
        scenario(parse_raw(text).unwrap())
    }

    fn err(text: &str) -> (Pos, String) {
        let p = check(text).unwrap_err();
        (p.pos, p.message)
    }

    #[test]
    fn minimal_file_gets_the_documented_defaults() {
        let s = check("name: tiny\nnodes: [n1]\n").unwrap();
        assert_eq!(s.description, "");
        assert_eq!(s.seeds, vec![1]);
        assert_eq!(s.shards, 16);
        assert_eq!(s.duration, Duration::from_secs(60));
        assert_eq!(s.network, Network::default());
        assert_eq!(s.network.latency.max, Duration::from_millis(1));
        assert_eq!(s.transport.kind, None);
        assert_eq!(s.transport.connections, 2);
        assert_eq!(s.transport.ack_timeout, Duration::from_millis(200));
        assert_eq!(s.transport.deadline, Duration::from_secs(5));
        assert_eq!(s.sink, Sink::default());
        assert_eq!((s.sink.latency.max, s.sink.busy), (Duration::ZERO, 0.0));
        assert_eq!((s.workload.events, s.workload.rate, s.workload.keys), (100, 200.0, 64));
        assert_eq!((s.workload.batch.min, s.workload.batch.max), (1, 8));
        assert!(s.faults.is_empty());
        assert_eq!(s.expect, Expect::default());
        assert_eq!(s.expect.settle, Duration::from_secs(10));
    }

    #[test]
    fn names() {
        assert!(is_name("partition-heal-2"));
        assert!(!is_name("Partition") && !is_name("a b") && !is_name("") && !is_name("a_b"));
        assert_eq!(
            err("name: Big Bang\nnodes: [n1]\n"),
            (
                Pos::new(1, 7),
                "invalid scenario name `Big Bang`: use lowercase letters, digits and `-` ([a-z0-9-]+)".into()
            )
        );
        assert_eq!(
            err("name: x\nnodes: [n1, N2]\n").1,
            "invalid node name `N2`: use lowercase letters, digits and `-` ([a-z0-9-]+)"
        );
    }

    #[test]
    fn node_lists() {
        assert_eq!(err("name: x\nnodes: []\n"), (Pos::new(2, 8), "nodes must list at least one node".into()));
        assert_eq!(
            err("name: x\nnodes: [a, b, a]\n"),
            (Pos::new(2, 15), "duplicate node `a` (first listed at 2:9)".into())
        );
        let many: Vec<String> = (1..=129).map(|i| format!("n{i}")).collect();
        let (pos, msg) = err(&format!(
            "name: x\nnodes:\n{}",
            many.iter().map(|n| format!("  - {n}\n")).collect::<String>()
        ));
        assert_eq!(
            (pos, msg.as_str()),
            (Pos::new(131, 5), "too many nodes: 129 listed, at most 128 are supported")
        );
    }

    #[test]
    fn seeds_must_be_non_empty_and_distinct() {
        assert_eq!(check("name: x\nnodes: [a]\nseeds: [7, 3]\n").unwrap().seeds, vec![7, 3]);
        assert_eq!(
            err("name: x\nnodes: [a]\nseeds: []\n").1,
            "seeds must not be empty (leave the key out for [1])"
        );
        assert_eq!(
            err("name: x\nnodes: [a]\nseeds: [3, 3]\n"),
            (Pos::new(3, 12), "seed 3 is listed twice (first at 3:9)".into())
        );
    }

    #[test]
    fn numeric_bounds() {
        assert_eq!(
            err("name: x\nnodes: [a]\nshards: 0\n"),
            (Pos::new(3, 9), "shards must be at least 1".into())
        );
        assert_eq!(
            err("name: x\nnodes: [a]\ntransport: {connections: 17}\n"),
            (Pos::new(3, 26), "connections must be in 1..=16, found 17".into())
        );
        assert_eq!(err("name: x\nnodes: [a]\nworkload: {keys: 0}\n").1, "keys must be at least 1");
        assert_eq!(err("name: x\nnodes: [a]\nduration: 0s\n").1, "duration must be more than 0s");
        assert_eq!(err("name: x\nnodes: [a]\nexpect: {settle: 0ms}\n").1, "settle must be more than 0s");
        assert_eq!(
            err("name: x\nnodes: [a]\nnetwork:\n  loss: .nan\n"),
            (Pos::new(4, 9), "loss must be a probability in 0..=1, found NaN".into())
        );
    }

    #[test]
    fn transport_kind() {
        let s = check("name: x\nnodes: [a]\ntransport:\n  kind: grpc\n  connections: 3\n").unwrap();
        assert_eq!((s.transport.kind, s.transport.connections), (Some(TransportKind::Grpc), 3));
        let s = check("name: x\nnodes: [a]\ntransport: {kind: tcp}\n").unwrap();
        assert_eq!(s.transport.kind, Some(TransportKind::Tcp));
        assert_eq!(
            err("name: x\nnodes: [a]\ntransport:\n  deadline: 1s\n  kind: quic\n"),
            (Pos::new(5, 9), "invalid transport kind `quic`: expected one of tcp, grpc, nats".into())
        );
    }

    #[test]
    fn expect_modes() {
        let s =
            check("name: x\nnodes: [a]\nexpect: {delivery: at-least-once, ordering: none, stats: ignore}\n")
                .unwrap();
        assert_eq!(s.expect.delivery, ExpectDelivery::AtLeastOnce);
        assert_eq!(s.expect.ordering, ExpectOrdering::None);
        assert_eq!(s.expect.stats, ExpectStats::Ignore);
        assert_eq!(
            err("name: x\nnodes: [a]\nexpect:\n  delivery: twice\n"),
            (Pos::new(4, 13), "invalid delivery `twice`: expected one of exactly-once, at-least-once".into())
        );
    }
}
