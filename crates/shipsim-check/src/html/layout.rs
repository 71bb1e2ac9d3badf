//! The layout model of a run's space-time diagram, built from its trace records alone.
//!
//! One lane per node (with its process lives), one arrow per shipped event (send to delivery,
//! classified by outcome), fault marks, the settle phase's start and the violations. Everything
//! is in trace order, so the same records give the same layout.

use std::collections::BTreeMap;

use super::marks::{AdoptMark, EffectMark, Marks, ProbeMark};
use shipsim_trace::{
    Counts, EventId, FaultAction, FaultKind, HealTarget, Invariant, LifeState, Micros, Outcome, Phase,
    Record, Violation,
};

/// Above this many arrows the layout keeps every k-th one (and says so).
pub(super) const MAX_ARROWS: usize = 10_000;

/// The whole diagram.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// Scenario name (empty when the trace has no start record).
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// The transport the run ran on (empty when the trace does not name it).
    pub transport: String,
    /// The last record's time: the right edge of the diagram.
    pub end: Micros,
    /// One lane per node, scenario order first.
    pub lanes: Vec<Lane>,
    /// The acks, sampled like the arrows.
    pub acks: Vec<AckMark>,
    /// The arrows drawn (all of them, or a sample: see `sample_every`).
    pub arrows: Vec<Arrow>,
    /// How many arrows the run had before sampling.
    pub total_arrows: usize,
    /// `Some(k)`: only every k-th arrow is kept (plus the violating ones).
    pub sample_every: Option<usize>,
    /// Faults applied, in order.
    pub faults: Vec<FaultMark>,
    /// When the settle phase started.
    pub settle: Option<Micros>,
    /// The violations, in trace order.
    pub violations: Vec<ViolationMark>,
    /// Each invariant: held, skipped or violated.
    pub invariants: Vec<InvariantMark>,
    /// Run counts for the header: the text report's, from the same pass.
    pub counts: Counts,
    /// Deliveries of an event beyond those its sends account for (duplicate arrows).
    pub duplicates: usize,
    /// Each probe's first hit in each node life, in time order.
    pub probes: Vec<ProbeMark>,
    /// Each node's adoption of each membership epoch, in trace order.
    pub adoptions: Vec<AdoptMark>,
}

/// An invariant's outcome, as far as the records tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InvariantMark {
    /// `delivery`, `ordering`, ...
    pub name: Invariant,
    /// Violation records of it (0: held, unless skipped).
    pub violations: usize,
    /// Why it was not checked (the scenario's `expect` turned it off, or the trace cannot
    /// tell), as the checkers say it.
    pub skipped: Option<String>,
    /// What of it was not checked although the rest was (a rule the transport gave no facts
    /// for, an at-least-once relaxation), as the report says it.
    pub note: Option<String>,
}

/// A node's lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lane {
    /// The node.
    pub node: String,
    /// Its process lives, in order.
    pub lives: Vec<LifeSpan>,
}

/// One process life of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LifeSpan {
    /// The life number.
    pub life: u32,
    /// When it started.
    pub up: Micros,
    /// When it stopped (`None`: it ran to the end).
    pub down: Option<Micros>,
}

/// How a shipped event ended, which decides its arrow's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum ArrowClass {
    /// Reported shipped: within the shipped prefix of its batch.
    Acked,
    /// Not reported shipped, and the call ended ambiguously (or never returned), or it was
    /// delivered anyway.
    Ambiguous,
    /// Not reported shipped and never delivered.
    NeverSent,
    /// A second (or later) delivery of the same event.
    Duplicate,
}

impl ArrowClass {
    /// The CSS class name.
    pub(crate) fn css(self) -> &'static str {
        match self {
            ArrowClass::Acked => "acked",
            ArrowClass::Ambiguous => "ambiguous",
            ArrowClass::NeverSent => "never-sent",
            ArrowClass::Duplicate => "duplicate",
        }
    }
}

/// One shipped event, from its send to its delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arrow {
    /// The event id.
    pub id: EventId,
    /// The sending node's lane.
    pub src: usize,
    /// The destination's lane.
    pub dst: usize,
    /// The batch.
    pub batch: u64,
    /// Index in the batch.
    pub index: u32,
    /// Routing key.
    pub key: String,
    /// Send time (the `ShipBegin`).
    pub sent: Micros,
    /// Delivery time (`None`: never delivered).
    pub delivered: Option<Micros>,
    /// Colour class.
    pub class: ArrowClass,
    /// Whether `dst` is the sender itself.
    pub local: bool,
    /// Whether a violation names this event.
    pub violated: bool,
}

/// An ack reaching its sender: drawn from the event's delivery at `from`
/// to the moment the sender's transport got the ack, shown on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AckMark {
    /// The event acknowledged.
    pub id: EventId,
    /// The acknowledging (receiving) node's lane.
    pub from: usize,
    /// The sender's lane.
    pub to: usize,
    /// When the event was first delivered at `from` (`None`: no delivery recorded).
    pub delivered: Option<Micros>,
    /// When the sender got the ack.
    pub acked: Micros,
}

/// A fault applied.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FaultMark {
    /// When.
    pub t: Micros,
    /// The fault as written in the trace, for a person to read.
    pub text: String,
    /// What it did: the record's typed action, which everything below is computed from.
    pub action: FaultAction,
    /// Its kind: `crash`, `partition`, `heal`, ..., `settle` for the settle phase's healing.
    pub kind: FaultKind,
    /// The lanes of the nodes it names (a route's: its sender's only).
    pub lanes: Vec<usize>,
    /// For a fault that lasts (partition, one-way partition, hold, reorder, loss, latency,
    /// dropped route): when it ends (the first later heal of a partition or release of a hold
    /// or reorder naming all or one of its nodes, the same kind of fault on the same nodes, a
    /// route's restore or its sender's crash, or the settle phase); `None` for an instant fault.
    pub until: Option<Micros>,
    /// Whether it had an effect (`None`: the trace does not say).
    pub effect: Option<EffectMark>,
}

impl FaultMark {
    /// A mark for `action`, its lanes and end not yet known.
    fn new(t: Micros, text: String, action: FaultAction) -> FaultMark {
        FaultMark { t, text, kind: action.kind(), action, lanes: Vec::new(), until: None, effect: None }
    }
}

/// Fault kinds that last until healed, released, restored or replaced.
const LASTING: [FaultKind; 7] = [
    FaultKind::Partition,
    FaultKind::PartitionOneway,
    FaultKind::Hold,
    FaultKind::Reorder,
    FaultKind::Loss,
    FaultKind::Latency,
    FaultKind::DropRoute,
];

/// Fills in the lanes and ends of `faults`.
fn fault_spans(faults: &mut [FaultMark], lanes: &[Lane], settle: Option<Micros>, end: Micros) {
    let lane_of = |node: &str| lanes.iter().position(|l| l.node == node);
    for f in faults.iter_mut() {
        f.lanes = match f.action.route() {
            // A route is the sender's: only its lane shows it.
            Some((from, _)) => lane_of(from).into_iter().collect(),
            None => {
                let named = f.action.nodes();
                (0..lanes.len()).filter(|&i| named.iter().any(|n| **n == lanes[i].node)).collect()
            }
        };
    }
    for i in 0..faults.len() {
        let f = &faults[i];
        // A clock skew lasts until the node's next skew, the settle phase included; a skew of
        // 0 ends one (an instant mark, like a jump).
        if f.action.clock_skew().is_some_and(|(_, ppm)| ppm != 0) {
            let next = faults[i + 1..].iter().find(|g| g.action.clock_skew().is_some() && g.lanes == f.lanes);
            faults[i].until = Some(next.map_or(end, |g| g.t).max(faults[i].t));
            continue;
        }
        // A loss rate of 0 ends a loss rather than starting one.
        let no_loss = matches!(f.action, FaultAction::Loss { rate, .. } if rate == 0.0);
        if !LASTING.contains(&f.kind) || no_loss {
            continue;
        }
        // Heal ends partitions, release ends holds and reorders; loss and latency last until
        // replaced on the same link. The settle phase ends them all.
        let healer = match f.kind {
            FaultKind::Partition | FaultKind::PartitionOneway => Some(FaultKind::Heal),
            FaultKind::Hold | FaultKind::Reorder => Some(FaultKind::Release),
            _ => None,
        };
        // A dropped route ends with its restore-route, or a crash or bounce of its sender.
        let route = f.action.route().filter(|_| f.kind == FaultKind::DropRoute);
        let ends = |g: &FaultMark| {
            if g.kind == FaultKind::Settle {
                return true;
            }
            if route.is_some() {
                return (g.kind == FaultKind::RestoreRoute && g.action.route() == route)
                    || (matches!(g.kind, FaultKind::Crash | FaultKind::Bounce) && g.lanes == f.lanes);
            }
            let heals_all = matches!(g.action, FaultAction::Heal(HealTarget::All));
            (Some(g.kind) == healer && (heals_all || g.lanes.iter().any(|l| f.lanes.contains(l))))
                || (g.kind == f.kind && g.lanes == f.lanes)
        };
        let until = faults[i + 1..].iter().find(|g| ends(g)).map(|g| g.t);
        faults[i].until = Some(until.or(settle).unwrap_or(end).max(faults[i].t));
    }
}

/// A violation to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ViolationMark {
    /// When it was detected.
    pub t: Micros,
    /// `invariant / rule: expected ..., actual ...`.
    pub message: String,
    /// The event it names, if any (highlighted arrows); `None`: shown as a banner.
    pub event: Option<EventId>,
}

impl Layout {
    /// The layout of `records`.
    pub(crate) fn of(records: &[Record]) -> Layout {
        let mut b = Builder::default();
        for r in records {
            b.scan(r);
        }
        b.finish(records)
    }
}

#[derive(Default)]
struct Builder {
    scenario: String,
    seed: u64,
    transport: String,
    end: Micros,
    lanes: Vec<Lane>,
    /// (node, batch) → (shipped prefix, outcome).
    ends: BTreeMap<(String, u64), (u32, Outcome)>,
    /// (id, receiving node) → delivery times, in order.
    deliveries: BTreeMap<(EventId, String), Vec<Micros>>,
    faults: Vec<FaultMark>,
    /// (time, sender, acknowledging node, id), in trace order.
    acks: Vec<(Micros, String, String, EventId)>,
    settle: Option<Micros>,
    violations: Vec<ViolationMark>,
    /// (event id, sending node) named by violations.
    violated: Vec<(EventId, String)>,
    duplicates: usize,
    marks: Marks,
}

impl Builder {
    /// The lane of `node`, added if new.
    fn lane(&mut self, node: &str) -> usize {
        if let Some(i) = self.lanes.iter().position(|l| l.node == node) {
            return i;
        }
        self.lanes.push(Lane { node: node.to_owned(), lives: Vec::new() });
        self.lanes.len() - 1
    }

    /// Takes in one record. Every record but `Start` moves the diagram's right edge.
    fn scan(&mut self, r: &Record) {
        if !matches!(r, Record::Start(_)) {
            self.end = self.end.max(r.t());
        }
        self.marks.scan(r);
        match r {
            Record::Start(s) => {
                self.scenario = s.scenario.clone();
                self.seed = s.seed;
                self.transport = s.transport_name.clone();
                for n in &s.nodes {
                    self.lane(n);
                }
            }
            Record::Phase { t, phase } => {
                if *phase == Phase::Settle && self.settle.is_none() {
                    self.settle = Some(*t);
                }
            }
            Record::Fault { t, fault, action, .. } => {
                self.faults.push(FaultMark::new(*t, fault.clone(), (**action).clone()));
            }
            Record::Life { t, node, life, state } => self.life(*t, node, *life, *state),
            Record::ShipBegin { node, dst, .. } => {
                self.lane(node);
                self.lane(dst);
            }
            Record::ShipEnd { node, batch, shipped, outcome, .. } => {
                self.ends.insert((node.to_string(), *batch), (*shipped, *outcome));
            }
            Record::Ack { t, node, dst, id, .. } => {
                self.acks.push((*t, node.to_string(), dst.to_string(), *id));
            }
            Record::Stats { .. }
            | Record::Workload { .. }
            | Record::StreamGap { .. }
            | Record::Connect { .. }
            | Record::Probes { .. }
            | Record::LifeProbes(_)
            | Record::FaultEffect(_)
            | Record::Membership { .. }
            | Record::Adopt { .. } => {}
            Record::Deliver { t, node, id, .. } => {
                if let Some(id) = id {
                    self.deliveries.entry((*id, node.to_string())).or_default().push(*t);
                }
            }
            Record::Violation(v) => self.violation(v),
        }
    }

    /// A `Life` record: an `up` opens a life on the node's lane, a `down` closes it.
    fn life(&mut self, t: Micros, node: &str, life: u32, state: LifeState) {
        let i = self.lane(node);
        let lives = &mut self.lanes[i].lives;
        match state {
            LifeState::Up => lives.push(LifeSpan { life, up: t, down: None }),
            LifeState::Down => match lives.iter_mut().rev().find(|l| l.life == life) {
                Some(l) if l.down.is_none() => l.down = Some(t),
                // A stop without a recorded start: the life began at 0.
                _ => lives.push(LifeSpan { life, up: 0, down: Some(t) }),
            },
        }
    }

    /// A `Violation` record: its mark, and the event it names (to highlight its arrows).
    fn violation(&mut self, v: &Violation) {
        let message =
            format!("{} / {}: expected {}, actual {}", v.invariant(), v.rule.as_str(), v.expected, v.actual);
        if let Some(e) = &v.event {
            self.violated.push((e.id, e.node.to_string()));
        }
        self.violations.push(ViolationMark { t: v.t, message, event: v.event.as_ref().map(|e| e.id) });
    }

    /// The layout, once every record is scanned: the arrows (sampled past [`MAX_ARROWS`]),
    /// the acks, the invariants' marks and the faults' spans.
    fn finish(mut self, records: &[Record]) -> Layout {
        let mut arrows = self.arrows(records);
        arrows.sort_by(|a, b| {
            (a.sent, a.src, a.batch, a.index, a.class).cmp(&(b.sent, b.src, b.batch, b.index, b.class))
        });
        let total_arrows = arrows.len();
        let sample_every = (total_arrows > MAX_ARROWS).then(|| total_arrows.div_ceil(MAX_ARROWS));
        if let Some(k) = sample_every {
            arrows = arrows
                .into_iter()
                .enumerate()
                .filter(|(i, a)| i % k == 0 || a.violated)
                .map(|(_, a)| a)
                .collect();
        }
        let acks = self.ack_marks(sample_every);
        let invariants = invariant_marks(records);
        fault_spans(&mut self.faults, &self.lanes, self.settle, self.end);
        let marks = std::mem::take(&mut self.marks);
        for (k, effect) in &marks.effects {
            if let Some(f) = self.faults.get_mut(*k) {
                f.effect = Some(effect.clone());
            }
        }
        let lanes = &self.lanes;
        let (probes, adoptions) = marks.place(|node| lanes.iter().position(|l| l.node == node));
        Layout {
            scenario: self.scenario,
            seed: self.seed,
            transport: self.transport,
            end: self.end,
            lanes: self.lanes,
            acks,
            arrows,
            total_arrows,
            sample_every,
            faults: self.faults,
            settle: self.settle,
            violations: self.violations,
            invariants,
            counts: Counts::of(records),
            duplicates: self.duplicates,
            probes,
            adoptions,
        }
    }

    /// Every arrow, unsorted: one per shipped event, in send order, to the first of its
    /// destination's deliveries of that id no earlier send accounts for; then the
    /// deliveries beyond those the sends account for, as duplicates of the last send.
    fn arrows(&mut self, records: &[Record]) -> Vec<Arrow> {
        // How many deliveries of each (id, dst) the sends have consumed so far.
        let mut used: BTreeMap<(EventId, String), usize> = BTreeMap::new();
        // The last send of each (id, dst), for the duplicates.
        let mut last_send: BTreeMap<(EventId, String), Arrow> = BTreeMap::new();
        let mut arrows = Vec::new();
        for r in records {
            let Record::ShipBegin { t, node, batch, dst, local, events, .. } = r else { continue };
            let (src_lane, dst_lane) = (self.lane(node), self.lane(dst));
            let end = self.ends.get(&(node.to_string(), *batch)).copied();
            for (index, e) in events.iter().enumerate() {
                let index = index as u32;
                let k = (e.id, dst.to_string());
                let n = used.entry(k.clone()).or_default();
                let delivered = self.deliveries.get(&k).and_then(|d| d.get(*n)).copied();
                if delivered.is_some() {
                    *n += 1;
                }
                let arrow = Arrow {
                    id: e.id,
                    src: src_lane,
                    dst: dst_lane,
                    batch: *batch,
                    index,
                    key: e.key.to_string(),
                    sent: *t,
                    delivered,
                    class: class(end, index, delivered),
                    local: *local,
                    violated: self.violated.iter().any(|(id, n)| *id == e.id && n.as_str() == node.as_str()),
                };
                last_send.insert(k, arrow.clone());
                arrows.push(arrow);
            }
        }
        self.duplicate_arrows(&used, &last_send, &mut arrows);
        arrows
    }

    /// Deliveries beyond those the sends account for (`used`): duplicates, drawn from
    /// the last send of their (id, dst), appended to `arrows` and counted.
    fn duplicate_arrows(
        &mut self,
        used: &BTreeMap<(EventId, String), usize>,
        last_send: &BTreeMap<(EventId, String), Arrow>,
        arrows: &mut Vec<Arrow>,
    ) {
        for (k, times) in &self.deliveries {
            let n = used.get(k).copied().unwrap_or(0);
            let Some(send) = last_send.get(k) else { continue };
            for &t in times.iter().skip(n) {
                self.duplicates += 1;
                let mut dup = send.clone();
                dup.delivered = Some(t);
                dup.class = ArrowClass::Duplicate;
                arrows.push(dup);
            }
        }
    }

    /// The ack marks, in trace order, every `sample_every`-th one if the arrows are sampled.
    fn ack_marks(&mut self, sample_every: Option<usize>) -> Vec<AckMark> {
        let mut acks = Vec::with_capacity(self.acks.len());
        for (i, (acked, sender, receiver, id)) in std::mem::take(&mut self.acks).into_iter().enumerate() {
            if sample_every.is_some_and(|k| i % k != 0) {
                continue;
            }
            let delivered = self.deliveries.get(&(id, receiver.clone())).and_then(|ts| ts.first().copied());
            let (from, to) = (self.lane(&receiver), self.lane(&sender));
            acks.push(AckMark { id, from, to, delivered, acked });
        }
        acks
    }
}

/// The colour of event `index` of a batch that ended with `end` (shipped prefix,
/// outcome; `None`: it never returned), delivered at `delivered`.
fn class(end: Option<(u32, Outcome)>, index: u32, delivered: Option<Micros>) -> ArrowClass {
    match end {
        Some((shipped, _)) if index < shipped => ArrowClass::Acked,
        Some((_, Outcome::Ambiguous)) | None => ArrowClass::Ambiguous,
        _ if delivered.is_some() => ArrowClass::Ambiguous,
        _ => ArrowClass::NeverSent,
    }
}

/// Each invariant's mark: what was skipped, wholly or in part, as the checkers
/// themselves say it (one source for the report, `verify` and this page), and how
/// many violation records name it.
fn invariant_marks(records: &[Record]) -> Vec<InvariantMark> {
    let summary = crate::summarize(records);
    let mut invariants: Vec<InvariantMark> = summary
        .results
        .iter()
        .map(|result| {
            let skipped = match &result.status {
                crate::Status::Skipped(why) => Some(why.clone()),
                _ => None,
            };
            let note = result.relaxed.clone();
            InvariantMark { name: result.invariant, violations: 0, skipped, note }
        })
        .collect();
    for r in records {
        if let Record::Violation(v) = r
            && let Some(i) = invariants.iter_mut().find(|i| i.name == v.invariant())
        {
            i.violations += 1;
        }
    }
    invariants
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use shipsim_trace::{
        DeliveryRule, EventRef, ExpectDelivery, ExpectOrdering, ExpectPlacement, ExpectStats, Lack,
        LivenessRule, PayloadDigest, ShippedRecord, Start, Text, Violation,
    };

    fn shipped(id: EventId) -> ShippedRecord {
        ShippedRecord {
            id,
            key: format!("k{id}").into(),
            shard: 0,
            payload: format!("{{\"id\":{id}}}").into(),
        }
    }

    fn deliver(t: Micros, id: EventId) -> Record {
        Record::Deliver {
            t,
            node: "n2".into(),
            life: 1,
            source: "n1".into(),
            id: Some(id),
            digest: PayloadDigest::of(b""),
            payload: None,
        }
    }

    /// A tiny run: n1 ships two batches to n2, n2 crashes, one violation per kind.
    pub(crate) fn records() -> Vec<Record> {
        let life = |t, node: &str, life, state| Record::Life { t, node: node.into(), life, state };
        vec![
            Record::Start(Box::new(Start {
                format: shipsim_trace::FORMAT_VERSION,
                t: 0,
                scenario: "tiny <&>".into(),
                seed: 7,
                nodes: vec!["n1".into(), "n2".into()],
                deadline_us: 1000,
                tick_us: 1,
                settle_us: Some(5000),
                delivery: ExpectDelivery::ExactlyOnce,
                ordering: ExpectOrdering::PerBatch,
                stats: ExpectStats::Consistent,
                shards: 0,
                members: Vec::new(),
                placement: ExpectPlacement::Owner,
                rate: 0.0,
                transport_name: "tcp".into(),
                transport: Some(crate::fixtures::TIMING),
                declared: None,
                lacks: Vec::new(),
                ok_after_accept: false,
            })),
            Record::Phase { t: 0, phase: Phase::Faults },
            life(0, "n1", 1, LifeState::Up),
            life(0, "n2", 1, LifeState::Up),
            Record::ShipBegin {
                t: 100,
                node: "n1".into(),
                life: 1,
                batch: 0,
                dst: "n2".into(),
                local: false,
                epoch: 0,
                events: vec![shipped(1), shipped(2), shipped(3)].into(),
            },
            deliver(150, 1),
            deliver(160, 1),
            deliver(170, 2),
            Record::Ack { t: 180, node: "n1".into(), life: 1, dst: "n2".into(), id: 1 },
            Record::ShipEnd {
                t: 200,
                node: "n1".into(),
                life: 1,
                batch: 0,
                shipped: 1,
                outcome: Outcome::Ambiguous,
                error: Some("timeout".into()),
            },
            Record::Fault {
                t: 300,
                fault: "{at: 300us, crash: n2}".into(),
                action: Box::new(FaultAction::Crash("n2".into())),
                links: Default::default(),
            },
            life(300, "n2", 1, LifeState::Down),
            Record::ShipBegin {
                t: 400,
                node: "n1".into(),
                life: 1,
                batch: 1,
                dst: "n2".into(),
                local: false,
                epoch: 0,
                events: vec![shipped(4)].into(),
            },
            Record::ShipEnd {
                t: 450,
                node: "n1".into(),
                life: 1,
                batch: 1,
                shipped: 0,
                outcome: Outcome::NotDelivered,
                error: None,
            },
            Record::Phase { t: 500, phase: Phase::Settle },
            life(600, "n2", 2, LifeState::Up),
            Record::Phase { t: 1000, phase: Phase::End },
            Record::Violation(Box::new(Violation {
                t: 160,
                rule: DeliveryRule::NoDuplicate.into(),
                event: Some(EventRef { id: 1, node: "n1".into(), batch: 0, index: 0 }),
                expected: "one delivery".into(),
                actual: "two".into(),
            })),
            Record::Violation(Box::new(Violation {
                t: 1000,
                rule: LivenessRule::SettleOk.into(),
                event: None,
                expected: "quiet".into(),
                actual: "busy <n2>".into(),
            })),
        ]
    }

    #[test]
    fn acks_run_from_the_first_delivery_to_the_sender() {
        let l = Layout::of(&records());
        assert_eq!(l.acks, vec![AckMark { id: 1, from: 1, to: 0, delivered: Some(150), acked: 180 }]);
    }

    #[test]
    fn lanes_lives_faults_phases() {
        let l = Layout::of(&records());
        assert_eq!((l.scenario.as_str(), l.seed, l.transport.as_str(), l.end), ("tiny <&>", 7, "tcp", 1000));
        assert_eq!(l.lanes.len(), 2);
        assert_eq!(l.lanes[0].lives, vec![LifeSpan { life: 1, up: 0, down: None }]);
        assert_eq!(
            l.lanes[1].lives,
            vec![LifeSpan { life: 1, up: 0, down: Some(300) }, LifeSpan { life: 2, up: 600, down: None }]
        );
        let crash = FaultMark {
            t: 300,
            text: "{at: 300us, crash: n2}".into(),
            action: FaultAction::Crash("n2".into()),
            kind: FaultKind::Crash,
            lanes: vec![1],
            until: None,
            effect: None,
        };
        assert_eq!(l.faults, vec![crash]);
        assert_eq!(l.settle, Some(500));
        assert_eq!(l.counts, Counts::of(&records()));
        let c = &l.counts;
        assert_eq!((c.routed, c.delivered, c.batches, c.batches_ok, c.faults), (4, 3, 2, 0, 1));
        assert_eq!(l.duplicates, 1);
    }

    #[test]
    fn arrows_are_classified_by_outcome() {
        let l = Layout::of(&records());
        let got: Vec<_> =
            l.arrows.iter().map(|a| (a.id, a.src, a.dst, a.sent, a.delivered, a.class, a.violated)).collect();
        assert_eq!(
            got,
            vec![
                (1, 0, 1, 100, Some(150), ArrowClass::Acked, true),
                (1, 0, 1, 100, Some(160), ArrowClass::Duplicate, true),
                (2, 0, 1, 100, Some(170), ArrowClass::Ambiguous, false),
                (3, 0, 1, 100, None, ArrowClass::Ambiguous, false),
                (4, 0, 1, 400, None, ArrowClass::NeverSent, false),
            ]
        );
        assert_eq!((l.total_arrows, l.sample_every), (5, None));
    }

    #[test]
    fn lasting_faults_span_until_healed() {
        // The text says nothing the diagram reads: only the typed action counts.
        let fault = |t, action| Record::Fault {
            t,
            fault: "(display text)".into(),
            action: Box::new(action),
            links: Default::default(),
        };
        let link = |a: &str, b: &str| [Text::from(a), Text::from(b)];
        let route = |from: &str, to: &str| (Text::from(from), Text::from(to));
        let mut records = records();
        records.insert(
            2,
            Record::Start(Box::new(Start {
                nodes: vec!["n1".into(), "n2".into(), "n3".into()],
                ..match &records[0] {
                    Record::Start(s) => (**s).clone(),
                    _ => unreachable!(),
                }
            })),
        );
        records.remove(0);
        let faults = [
            fault(10, FaultAction::Partition(vec![vec!["n1".into()], vec!["n2".into(), "n3".into()]])),
            fault(20, FaultAction::Hold(link("n1", "n3"))),
            fault(30, FaultAction::Loss { link: link("n1", "n2"), rate: 0.05 }),
            fault(40, FaultAction::Release(link("n1", "n3"))),
            fault(50, FaultAction::Heal(HealTarget::All)),
            fault(60, FaultAction::Loss { link: link("n1", "n2"), rate: 0.0 }),
            fault(70, FaultAction::Latency { link: link("n2", "n3"), min_us: 1000, max_us: 2000 }),
            fault(80, {
                let (from, to) = route("n1", "n2");
                FaultAction::DropRoute { from, to }
            }),
            fault(81, {
                let (from, to) = route("n1", "n3");
                FaultAction::DropRoute { from, to }
            }),
            fault(82, {
                let (from, to) = route("n2", "n3");
                FaultAction::DropRoute { from, to }
            }),
            fault(90, {
                let (from, to) = route("n1", "n3");
                FaultAction::RestoreRoute { from, to }
            }),
            fault(95, FaultAction::Bounce("n2".into())),
        ];
        for (i, f) in faults.into_iter().enumerate() {
            records.insert(3 + i, f);
        }
        let l = Layout::of(&records);
        let got: Vec<_> = l.faults.iter().map(|f| (f.kind.as_str(), f.lanes.clone(), f.until)).collect();
        assert_eq!(
            got,
            vec![
                ("partition", vec![0, 1, 2], Some(50)),
                ("hold", vec![0, 2], Some(40)),
                ("loss", vec![0, 1], Some(60)),
                ("release", vec![0, 2], None),
                ("heal", vec![], None),
                ("loss", vec![0, 1], None),
                ("latency", vec![1, 2], Some(500)),
                ("drop-route", vec![0], Some(500)),
                ("drop-route", vec![0], Some(90)),
                ("drop-route", vec![1], Some(95)),
                ("restore-route", vec![0], None),
                ("bounce", vec![1], None),
                ("crash", vec![1], None),
            ]
        );
    }

    #[test]
    fn violations_and_invariants() {
        let l = Layout::of(&records());
        assert_eq!(l.violations.len(), 2);
        assert_eq!(l.violations[0].event, Some(1));
        assert_eq!(l.violations[0].message, "delivery / no-duplicate: expected one delivery, actual two");
        assert_eq!(l.violations[1].event, None);
        let inv: Vec<_> = l.invariants.iter().map(|i| (i.name.as_str(), i.violations)).collect();
        assert_eq!(
            inv,
            vec![
                ("delivery", 1),
                ("ordering", 0),
                ("stats", 0),
                ("liveness", 1),
                ("placement", 0),
                ("trace", 0)
            ]
        );
        // This tiny trace names no shard count: placement says so, the others were checked.
        let skipped: Vec<_> =
            l.invariants.iter().filter_map(|i| i.skipped.as_deref().map(|w| (i.name.as_str(), w))).collect();
        assert_eq!(skipped, [("placement", "the trace names no shard count")]);
        let notes: Vec<_> = l.invariants.iter().filter_map(|i| i.note.as_deref()).collect();
        // It records no workload either, nor connection attempts, nor the settings it declared:
        // the rules that need
        // them say they were skipped, and why, and recovery says where its bounds came from.
        assert_eq!(
            notes,
            ["recovery bounded by the transport's own timing (the trace declares no transport \
                 settings); contract skipped: the trace declares no transport settings; \
                 reconnect-spacing skipped: the transport reports no connection attempts; \
                 unfinished-workload skipped: the trace records no workload"]
        );
        let mut relaxed = records();
        if let Record::Start(s) = &mut relaxed[0] {
            s.ordering = ExpectOrdering::None;
            // A transport that reports no acks: the page says which rules it could not check.
            s.lacks = vec![Lack::Acks];
        }
        let l = Layout::of(&relaxed);
        assert_eq!(l.invariants[1].skipped.as_deref(), Some("expect ordering: none"));
        assert_eq!(
            l.invariants[0].note.as_deref(),
            Some("redelivery-after-ack skipped: the transport reports no acks")
        );
        let page = crate::html::page(&relaxed);
        assert!(
            page.contains("redelivery-after-ack skipped: the transport reports no acks"),
            "the page shows the note"
        );
    }

    #[test]
    fn big_runs_are_sampled_deterministically() {
        let mut records = records();
        let events: Vec<_> = (100..100 + 25_000).map(shipped).collect();
        records.insert(
            4,
            Record::ShipBegin {
                t: 50,
                node: "n1".into(),
                life: 1,
                batch: 9,
                dst: "n2".into(),
                local: false,
                epoch: 0,
                events: events.into(),
            },
        );
        let l = Layout::of(&records);
        assert_eq!(l.total_arrows, 25_005);
        assert_eq!(l.sample_every, Some(3));
        assert!(l.arrows.len() <= MAX_ARROWS + 2);
        // The violating arrows survive the sampling.
        assert_eq!(l.arrows.iter().filter(|a| a.violated).count(), 2);
        assert_eq!(Layout::of(&records), l);
    }

    #[test]
    fn membership_changes_and_clock_jumps_are_instant_marks_on_their_node() {
        let lanes: Vec<Lane> =
            ["n1", "n4"].iter().map(|n| Lane { node: (*n).to_owned(), lives: Vec::new() }).collect();
        let clock = FaultAction::Clock { node: "n4".into(), jump_us: 500_000, skew_ppm: None };
        let skew =
            |node: &str, ppm| FaultAction::Clock { node: node.into(), jump_us: 0, skew_ppm: Some(ppm) };
        let mut faults: Vec<FaultMark> =
            [FaultAction::Join("n4".into()), FaultAction::Leave("n1".into()), clock, skew("n4", 100_000)]
                .into_iter()
                .chain([skew("n1", -200_000), skew("n4", 0)])
                .enumerate()
                .map(|(i, action)| FaultMark::new(i as u64, String::new(), action))
                .collect();
        fault_spans(&mut faults, &lanes, None, 10);
        assert_eq!(
            (faults[0].kind, faults[0].lanes.as_slice(), faults[0].until),
            (FaultKind::Join, &[1][..], None)
        );
        assert_eq!(
            (faults[1].kind, faults[1].lanes.as_slice(), faults[1].until),
            (FaultKind::Leave, &[0][..], None)
        );
        // A clock jump is an instant mark on its node's lane too.
        assert_eq!(
            (faults[2].kind, faults[2].lanes.as_slice(), faults[2].until),
            (FaultKind::Clock, &[1][..], None)
        );
        // A skew spans its node's lane until that node's next skew (n1's does not end n4's),
        // or the end; a skew of 0 is an instant mark.
        assert_eq!((faults[3].lanes.as_slice(), faults[3].until), (&[1][..], Some(5)));
        assert_eq!((faults[4].lanes.as_slice(), faults[4].until), (&[0][..], Some(10)));
        assert_eq!(faults[5].until, None);
    }
}
