//! The trace's typed names: invariants, their rules, what a transport lacks and the kinds of
//! fault. Each serializes to the string the trace format has always used (`delivery`,
//! `no-loss`, `acks`, `partition-oneway`), so a name is written once, here, and a typo is a
//! compile error rather than a rule that never fires.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Declares a fieldless enum whose variants serialize as the given strings, with `ALL`,
/// `as_str` and `Display`. One macro, so that every name list in the trace has the same
/// shape and cannot drift from its spelling.
macro_rules! names {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name as the trace spells it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value the trace spells `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names! {
    /// A property of a run that the checkers verify. `ALL` is the order reports list them in.
    Invariant {
        /// Every event shipped `Ok` reached its destination's sink once, and nothing else did.
        Delivery = "delivery",
        /// Each batch's events reached the sink in batch order.
        Ordering = "ordering",
        /// Each node's counters agree with what the trace shows.
        Stats = "stats",
        /// Calls end within their deadline, and the cluster converges once faults heal.
        Liveness = "liveness",
        /// Every event goes to its shard's owner under the sender's map.
        Placement = "placement",
        /// The trace itself is well formed.
        Trace = "trace",
    }
}

names! {
    /// Rules of [`Invariant::Delivery`].
    DeliveryRule {
        /// An event acknowledged `Ok` never reached its destination.
        NoLoss = "no-loss",
        /// A delivery that no ship call sent, or with another payload.
        NoFabrication = "no-fabrication",
        /// An event delivered twice to one life.
        NoDuplicate = "no-duplicate",
        /// An event acked to its sender delivered again by the receiver's next life.
        RedeliveryAfterAck = "redelivery-after-ack",
        /// An event reported certainly not delivered was delivered.
        DeliveredDespiteError = "delivered-despite-error",
        /// A call to the sender's own node returned with an event counted shipped that its
        /// sink had not recorded yet.
        OkBeforeDelivery = "ok-before-delivery",
    }
}

names! {
    /// Rules of [`Invariant::Ordering`].
    OrderingRule {
        /// A batch's event delivered while an earlier one of it never was.
        Gap = "gap",
        /// Two events of one batch delivered in the wrong order.
        Swap = "swap",
        /// A call answered `Ok` for a batch not wholly delivered.
        OkIncomplete = "ok-incomplete",
        /// A call reported fewer events shipped than were delivered in order.
        BelowShipped = "below-shipped",
        /// A receiver saw a frame past a gap in its sender's stream.
        StreamGap = "stream-gap",
    }
}

names! {
    /// Rules of [`Invariant::Stats`].
    StatsRule {
        /// The counters do not add up to the events handed to the shipper.
        Attempts = "attempts",
        /// `sent` differs from the remote events shipped.
        Sent = "sent",
        /// `local` differs from the local events shipped.
        Local = "local",
        /// `no_route` differs from the events that failed with `NoRoute`.
        NoRoute = "no-route",
        /// `send_failures` differs from the events certainly not delivered.
        SendFailures = "send-failures",
        /// `ambiguous` differs from the events that may have been delivered.
        Ambiguous = "ambiguous",
        /// The transport's `received` differs from the remote deliveries.
        Received = "received",
        /// The sink's count differs from the deliveries.
        Sink = "sink",
        /// A counter went down within one life.
        Monotone = "monotone",
        /// A life ended without its counters.
        MissingStats = "missing-stats",
        /// The cluster's totals disagree.
        Totals = "totals",
    }
}

names! {
    /// Rules of [`Invariant::Liveness`].
    LivenessRule {
        /// A call outlived its deadline.
        Deadline = "deadline",
        /// A call begun in the settle phase did not end `Ok`.
        SettleOk = "settle-ok",
        /// A call never ended.
        UnfinishedShip = "unfinished-ship",
        /// A node did not route its workload.
        UnfinishedWorkload = "unfinished-workload",
        /// A healed link took longer to carry traffic again than the transport's bound.
        Recovery = "recovery",
        /// The transport reports running with settings other than the ones its documented
        /// contract derives from the declared settings.
        Contract = "contract",
        /// A connection attempt followed a failed one sooner than the declared backoff allows.
        ReconnectSpacing = "reconnect-spacing",
    }
}

names! {
    /// Rules of [`Invariant::Placement`].
    PlacementRule {
        /// An event's shard is not its key's.
        Shard = "shard",
        /// A plan names an epoch no membership record announced.
        UnknownEpoch = "unknown-epoch",
        /// An event went to a node that does not own its shard under the plan's map.
        WrongOwner = "wrong-owner",
        /// A receiver accepted an event it did not own from a sender with no newer map.
        NonOwnerAccepted = "non-owner-accepted",
        /// An adopted map moved shards that did not need to move.
        Moves = "moves",
        /// A node ended the run on an old map.
        StaleAtEnd = "stale-at-end",
    }
}

names! {
    /// Rules of [`Invariant::Trace`]: the ways a trace can be malformed.
    TraceRule {
        /// No `start` record first, or a second one.
        Start = "start",
        /// The trace has no `end` phase.
        Incomplete = "incomplete",
        /// A record names a node the start does not.
        Node = "node",
        /// A record's time is earlier than the one before it.
        TimeOrder = "time-order",
        /// A `ship-begin` that repeats a batch or is otherwise inconsistent.
        ShipBegin = "ship-begin",
        /// A `ship-end` with no matching begin, or inconsistent with it.
        ShipEnd = "ship-end",
        /// An ack of an event its node never shipped.
        Ack = "ack",
    }
}

/// One rule of one invariant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// A rule of [`Invariant::Delivery`].
    Delivery(DeliveryRule),
    /// A rule of [`Invariant::Ordering`].
    Ordering(OrderingRule),
    /// A rule of [`Invariant::Stats`].
    Stats(StatsRule),
    /// A rule of [`Invariant::Liveness`].
    Liveness(LivenessRule),
    /// A rule of [`Invariant::Placement`].
    Placement(PlacementRule),
    /// A rule of [`Invariant::Trace`].
    Trace(TraceRule),
}

impl Rule {
    /// The invariant the rule belongs to.
    pub const fn invariant(self) -> Invariant {
        match self {
            Rule::Delivery(_) => Invariant::Delivery,
            Rule::Ordering(_) => Invariant::Ordering,
            Rule::Stats(_) => Invariant::Stats,
            Rule::Liveness(_) => Invariant::Liveness,
            Rule::Placement(_) => Invariant::Placement,
            Rule::Trace(_) => Invariant::Trace,
        }
    }

    /// The rule's name within its invariant, as the trace spells it (`no-loss`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Rule::Delivery(r) => r.as_str(),
            Rule::Ordering(r) => r.as_str(),
            Rule::Stats(r) => r.as_str(),
            Rule::Liveness(r) => r.as_str(),
            Rule::Placement(r) => r.as_str(),
            Rule::Trace(r) => r.as_str(),
        }
    }

    /// The rule `name` of `invariant`, if it has one.
    pub fn parse(invariant: Invariant, name: &str) -> Option<Rule> {
        Some(match invariant {
            Invariant::Delivery => Rule::Delivery(DeliveryRule::parse(name)?),
            Invariant::Ordering => Rule::Ordering(OrderingRule::parse(name)?),
            Invariant::Stats => Rule::Stats(StatsRule::parse(name)?),
            Invariant::Liveness => Rule::Liveness(LivenessRule::parse(name)?),
            Invariant::Placement => Rule::Placement(PlacementRule::parse(name)?),
            Invariant::Trace => Rule::Trace(TraceRule::parse(name)?),
        })
    }

    /// Every rule of every invariant, invariant by invariant.
    pub fn all() -> impl Iterator<Item = Rule> {
        let delivery = DeliveryRule::ALL.iter().map(|&r| Rule::Delivery(r));
        let ordering = OrderingRule::ALL.iter().map(|&r| Rule::Ordering(r));
        let stats = StatsRule::ALL.iter().map(|&r| Rule::Stats(r));
        let liveness = LivenessRule::ALL.iter().map(|&r| Rule::Liveness(r));
        let placement = PlacementRule::ALL.iter().map(|&r| Rule::Placement(r));
        let trace = TraceRule::ALL.iter().map(|&r| Rule::Trace(r));
        delivery.chain(ordering).chain(stats).chain(liveness).chain(placement).chain(trace)
    }
}

/// Rules order by invariant, then by name: the order reports have always printed counts in.
impl Ord for Rule {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let key = |r: &Rule| (Invariant::ALL.iter().position(|&i| i == r.invariant()), r.as_str());
        key(self).cmp(&key(other))
    }
}

impl PartialOrd for Rule {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// `invariant/rule`, the way a person names a rule on a command line (`delivery/no-loss`).
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.invariant(), self.as_str())
    }
}

impl FaultKind {
    /// The kinds a scenario can script: every kind but the settle phase's healing.
    pub fn scripted() -> impl Iterator<Item = FaultKind> {
        FaultKind::ALL.iter().copied().filter(|&k| k != FaultKind::Settle)
    }

    /// The kinds a simulation carries out: every scripted kind but `pause`, which only real
    /// mode can (a simulation refuses it; `docs/real-mode.md`).
    pub fn simulated() -> impl Iterator<Item = FaultKind> {
        FaultKind::scripted().filter(|&k| k != FaultKind::Pause)
    }
}

macro_rules! rule_from {
    ($($kind:ident => $variant:ident),+) => {
        $(impl From<$kind> for Rule {
            fn from(rule: $kind) -> Rule {
                Rule::$variant(rule)
            }
        }

        impl PartialEq<$kind> for Rule {
            fn eq(&self, other: &$kind) -> bool {
                *self == Rule::$variant(*other)
            }
        })+
    };
}

rule_from!(
    DeliveryRule => Delivery,
    OrderingRule => Ordering,
    StatsRule => Stats,
    LivenessRule => Liveness,
    PlacementRule => Placement,
    TraceRule => Trace
);

names! {
    /// What a run's transport cannot do (the start record's `lacks`): the rules that need it
    /// are skipped, and the report says why.
    Lack {
        /// It reports no acks: `redelivery-after-ack` and `recovery` cannot be checked.
        Acks = "acks",
        /// It has no counters: the stats rule `received` cannot be checked.
        Counters = "counters",
        /// It gave no timing: `recovery` has no bound to check.
        Timing = "timing",
        /// A killed process's counters cannot be read (real mode's SIGKILL): its life has no
        /// `stats` record, and `missing-stats` cannot be checked.
        KilledCounters = "killed-counters",
    }
}

names! {
    /// The kinds of fault a trace records: the scenario's YAML keys, and `settle` for the
    /// settle phase's healing.
    FaultKind {
        /// Groups cut from each other both ways.
        Partition = "partition",
        /// One direction of one link cut.
        PartitionOneway = "partition-oneway",
        /// Partitions repaired.
        Heal = "heal",
        /// A node stopped.
        Crash = "crash",
        /// A crashed node started again.
        Restart = "restart",
        /// A node crashed and restarted at once.
        Bounce = "bounce",
        /// A link's messages wait.
        Hold = "hold",
        /// Held messages go out in a seeded order.
        Reorder = "reorder",
        /// Held messages go out in order.
        Release = "release",
        /// A link's latency set.
        Latency = "latency",
        /// A link's loss rate set.
        Loss = "loss",
        /// A node forgets a route.
        DropRoute = "drop-route",
        /// A node gets a route back.
        RestoreRoute = "restore-route",
        /// A node enters the shard map.
        Join = "join",
        /// A node leaves the shard map.
        Leave = "leave",
        /// A node's process stops for a while, then continues.
        Pause = "pause",
        /// A node's clock jumps forward.
        Clock = "clock",
        /// The settle phase's healing.
        Settle = "settle",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_their_strings() {
        for &kind in FaultKind::ALL {
            assert_eq!(FaultKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{kind}\""));
        }
        for rule in Rule::all() {
            assert_eq!(Rule::parse(rule.invariant(), rule.as_str()), Some(rule));
        }
        assert_eq!(Rule::parse(Invariant::Delivery, "swap"), None);
        assert_eq!(Lack::parse("acks"), Some(Lack::Acks));
        assert_eq!(serde_json::from_str::<Lack>("\"timing\"").unwrap(), Lack::Timing);
        assert!(serde_json::from_str::<Lack>("\"clocks\"").is_err());
    }

    #[test]
    fn rules_order_by_invariant_then_name_and_print_both() {
        let mut rules = [
            Rule::from(StatsRule::Totals),
            Rule::from(StatsRule::Received),
            Rule::from(DeliveryRule::NoLoss),
        ];
        rules.sort();
        let names: Vec<String> = rules.iter().map(Rule::to_string).collect();
        assert_eq!(names, ["delivery/no-loss", "stats/received", "stats/totals"]);
        assert_eq!(Rule::all().count(), 42);
    }
}
