//! The `start` record's expectations, as data. Their JSON strings are the
//! scenario's `expect` values (`exactly-once`, `per-batch`, ...); a trace
//! naming another value does not load (the loader names its line and column)
//! instead of being checked by a guess.

use serde::{Deserialize, Serialize};

/// Which delivery guarantee the checkers hold the run to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectDelivery {
    /// No loss, no duplicate.
    #[default]
    ExactlyOnce,
    /// No loss; duplicates and redeliveries allowed.
    AtLeastOnce,
}

/// Whether per-batch ordering is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectOrdering {
    /// Each batch's events arrive in batch order.
    #[default]
    PerBatch,
    /// Not checked.
    None,
}

/// Whether the nodes' counters are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectStats {
    /// The counters agree with the trace.
    #[default]
    Consistent,
    /// Not checked.
    Ignore,
}

/// Whether every event must go to its shard's owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectPlacement {
    /// Every event goes to its shard's owner (the default, also when a trace names none).
    #[default]
    Owner,
    /// Not checked.
    Ignore,
}

/// `as_str`: each expectation as the scenario and the trace spell it.
macro_rules! spelled {
    ($($name:ident { $($variant:ident => $text:literal),+ })+) => {
        $(impl $name {
            /// The spelling of the scenario's `expect` and of the trace.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        })+
    };
}

spelled! {
    ExpectDelivery { ExactlyOnce => "exactly-once", AtLeastOnce => "at-least-once" }
    ExpectOrdering { PerBatch => "per-batch", None => "none" }
    ExpectStats { Consistent => "consistent", Ignore => "ignore" }
    ExpectPlacement { Owner => "owner", Ignore => "ignore" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(value: impl Serialize) -> String {
        serde_json::to_string(&value).unwrap()
    }

    /// Each expectation serializes as `as_str` spells it (the scenario's spelling).
    #[test]
    fn expectations_serialize_as_they_are_spelled() {
        for mode in [ExpectDelivery::ExactlyOnce, ExpectDelivery::AtLeastOnce] {
            assert_eq!(json(mode), format!("\"{}\"", mode.as_str()));
        }
        for mode in [ExpectOrdering::PerBatch, ExpectOrdering::None] {
            assert_eq!(json(mode), format!("\"{}\"", mode.as_str()));
        }
        for mode in [ExpectStats::Consistent, ExpectStats::Ignore] {
            assert_eq!(json(mode), format!("\"{}\"", mode.as_str()));
        }
        for mode in [ExpectPlacement::Owner, ExpectPlacement::Ignore] {
            assert_eq!(json(mode), format!("\"{}\"", mode.as_str()));
        }
    }

    /// The strings are the scenario's, as traces wrote them before these were typed.
    #[test]
    fn serialized_as_the_scenario_spells_them() {
        assert_eq!(json(ExpectDelivery::ExactlyOnce), r#""exactly-once""#);
        assert_eq!(json(ExpectDelivery::AtLeastOnce), r#""at-least-once""#);
        assert_eq!(json(ExpectOrdering::PerBatch), r#""per-batch""#);
        assert_eq!(json(ExpectOrdering::None), r#""none""#);
        assert_eq!(json(ExpectStats::Consistent), r#""consistent""#);
        assert_eq!(json(ExpectStats::Ignore), r#""ignore""#);
        assert_eq!(json(ExpectPlacement::Owner), r#""owner""#);
        assert_eq!(json(ExpectPlacement::Ignore), r#""ignore""#);
        let err = serde_json::from_str::<ExpectDelivery>(r#""exactly-twice""#).unwrap_err();
        assert!(err.to_string().contains("unknown variant `exactly-twice`"), "{err}");
    }
}
