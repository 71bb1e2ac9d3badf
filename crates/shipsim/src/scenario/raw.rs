//! The scenario file's schema as written, before any semantic check.
//!
//! These structs mirror the YAML one to one. Every struct denies unknown keys, so a typo such
//! as `shard: 3` is an error instead of a silently ignored line. Values a later check may
//! reject carry their source position ([`Located`]), because "restart of a running node" is
//! only useful with the line it is on. Micro-formats (durations, `1ms..20ms`, `200/s`,
//! `1..8`, the `expect` modes) are kept as text here and parsed in `validate.rs`, so their
//! errors point at the value and say what was expected.
//!
//! Deserializing [`Located`] needs the YAML parser's positions; that one impl lives in
//! `yaml.rs`, the only module that knows the YAML library.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::{Pos, Problem};

/// A value and the position of its first character in the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

/// A list of node names with positions, as used by partition groups, links and heal.
pub(crate) type Names = Located<Vec<Located<String>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawScenario {
    pub name: Located<String>,
    pub description: Option<Located<String>>,
    pub seeds: Option<Located<Vec<Located<u64>>>>,
    pub nodes: Names,
    pub shards: Option<Located<u32>>,
    pub members: Option<Names>,
    pub membership: Option<Located<RawMembership>>,
    pub duration: Option<Located<String>>,
    pub network: Option<Located<RawNetwork>>,
    pub transport: Option<Located<RawTransport>>,
    pub sink: Option<Located<RawSink>>,
    pub workload: Option<Located<RawWorkload>>,
    pub faults: Option<Located<Vec<Located<RawFault>>>>,
    pub expect: Option<Located<RawExpect>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawMembership {
    pub propagation: Option<Located<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawNetwork {
    pub latency: Option<Located<String>>,
    pub loss: Option<Located<f64>>,
    pub segment: Option<Located<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawTransport {
    pub kind: Option<Located<String>>,
    pub connections: Option<Located<usize>>,
    /// Spelled with an underscore, as the schema (`docs/scenarios.md`) spells it: files in
    /// use rely on it.
    #[serde(rename = "ack_timeout")]
    pub ack_timeout: Option<Located<String>>,
    pub deadline: Option<Located<String>>,
    #[serde(rename = "connect_timeout")]
    pub connect_timeout: Option<Located<String>>,
    pub backoff: Option<Located<String>>,
    /// Underscores, like `ack_timeout`, the transport section's spelling.
    #[serde(rename = "max_frame")]
    pub max_frame: Option<Located<String>>,
    #[serde(rename = "max_unacked")]
    pub max_unacked: Option<Located<usize>>,
    /// The NATS broker's server settings (`kind: nats` only).
    pub broker: Option<Located<RawBroker>>,
}

/// `transport.broker`: what real mode starts nats-server with. Underscores, as the
/// transport section spells its keys.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBroker {
    pub max_payload: Option<Located<String>>,
    pub max_pending: Option<Located<String>>,
    pub write_deadline: Option<Located<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawSink {
    pub latency: Option<Located<String>>,
    pub busy: Option<Located<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawWorkload {
    pub events: Option<Located<u64>>,
    pub rate: Option<Located<String>>,
    pub batch: Option<Located<String>>,
    pub keys: Option<Located<u32>>,
    pub senders: Option<Names>,
    pub payload: Option<Located<String>>,
    pub concurrency: Option<Located<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawExpect {
    pub delivery: Option<Located<String>>,
    pub ordering: Option<Located<String>>,
    pub stats: Option<Located<String>>,
    pub placement: Option<Located<String>>,
    pub settle: Option<Located<String>>,
}

/// One fault entry. Every action is an optional key so that "two actions in one fault" and
/// "no action" can be reported with positions by the validator, instead of as an opaque
/// enum mismatch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawFault {
    pub at: Option<Located<String>>,
    #[serde(default)]
    pub partition: Slot<Vec<Names>>,
    #[serde(default)]
    pub partition_oneway: Slot<RawOneway>,
    #[serde(default)]
    pub heal: Slot<RawHeal>,
    #[serde(default)]
    pub crash: Slot<String>,
    #[serde(default)]
    pub restart: Slot<String>,
    #[serde(default)]
    pub bounce: Slot<String>,
    #[serde(default)]
    pub hold: Slot<Vec<Located<String>>>,
    #[serde(default)]
    pub reorder: Slot<Vec<Located<String>>>,
    #[serde(default)]
    pub release: Slot<Vec<Located<String>>>,
    #[serde(default)]
    pub latency: Slot<RawLinkLatency>,
    #[serde(default)]
    pub loss: Slot<RawLinkLoss>,
    #[serde(default)]
    pub drop_route: Slot<RawOneway>,
    #[serde(default)]
    pub restore_route: Slot<RawOneway>,
    #[serde(default)]
    pub join: Slot<String>,
    #[serde(default)]
    pub leave: Slot<String>,
    #[serde(default)]
    pub pause: Slot<RawPause>,
    #[serde(default)]
    pub clock: Slot<RawClock>,
}

/// An optional key that tells "absent" from "present but empty" (`crash:` with no value),
/// which a plain `Option` conflates: the latter deserves "`crash` needs a value" at its
/// position, not "fault has no action".
#[derive(Debug, Default)]
pub(crate) enum Slot<T> {
    #[default]
    Absent,
    Present(Located<Option<T>>),
}

impl<T> Slot<T> {
    /// Where the key's value was written, if the key is present.
    pub(super) fn pos(&self) -> Option<Pos> {
        match self {
            Slot::Absent => None,
            Slot::Present(v) => Some(v.pos),
        }
    }

    /// The value, if present and not empty.
    pub(super) fn into_value(self) -> Option<Located<T>> {
        match self {
            Slot::Present(Located { value: Some(value), pos }) => Some(Located { value, pos }),
            _ => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Slot<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Slot<T>, D::Error> {
        Located::<Option<T>>::deserialize(deserializer).map(Slot::Present)
    }
}

/// `{from: n1, to: n2}`: a direction, as `partition-oneway`, `drop-route` and
/// `restore-route` take it.
/// `pause: {node, for}`: the node's process stops for a while (real mode: SIGSTOP, then
/// SIGCONT).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPause {
    pub node: Located<String>,
    #[serde(rename = "for")]
    pub duration: Located<String>,
}

/// `clock: {node, jump}` (the node's clock jumps forward) or `clock: {node, skew}` (it runs
/// fast or slow from then on; docs/scenarios.md#clock-faults): one of the two.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClock {
    pub node: Located<String>,
    #[serde(default)]
    pub jump: Slot<String>,
    #[serde(default)]
    pub skew: Slot<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOneway {
    pub from: Located<String>,
    pub to: Located<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLinkLatency {
    pub link: Names,
    pub value: Located<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLinkLoss {
    pub link: Names,
    pub rate: Located<f64>,
}

/// `heal:` takes `all` or a list of nodes. The visitor accepts any shape and leaves the
/// judgement to the validator: an error raised inside a visitor would carry no position.
#[derive(Debug)]
pub(crate) enum RawHeal {
    /// A single scalar, e.g. `all` (or a mistake such as `n1`).
    Word(String),
    /// A list of node names.
    Nodes(Vec<Located<String>>),
    /// A mapping, which heal never takes.
    Mapping,
}

impl<'de> Deserialize<'de> for RawHeal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<RawHeal, D::Error> {
        struct HealVisitor;

        impl<'de> Visitor<'de> for HealVisitor {
            type Value = RawHeal;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`all` or a list of node names")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawHeal, E> {
                Ok(RawHeal::Word(v.to_owned()))
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawHeal, E> {
                Ok(RawHeal::Word(v.to_string()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawHeal, E> {
                Ok(RawHeal::Word(v.to_string()))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawHeal, E> {
                Ok(RawHeal::Word(v.to_string()))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawHeal, E> {
                Ok(RawHeal::Word(v.to_string()))
            }

            fn visit_unit<E: de::Error>(self) -> Result<RawHeal, E> {
                Ok(RawHeal::Word(String::new()))
            }

            fn visit_none<E: de::Error>(self) -> Result<RawHeal, E> {
                Ok(RawHeal::Word(String::new()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawHeal, A::Error> {
                let mut nodes = Vec::new();
                while let Some(node) = seq.next_element()? {
                    nodes.push(node);
                }
                Ok(RawHeal::Nodes(nodes))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeal, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawHeal::Mapping)
            }
        }

        deserializer.deserialize_any(HealVisitor)
    }
}

/// Attaches a value's position to a parse result.
pub(crate) fn located<T, U>(at: &Located<T>, result: Result<U, String>) -> Result<U, Problem> {
    result.map_err(|message| Problem::new(at.pos, message))
}
