//! Hand-built traces for the checkers' tests: a small builder, one clean run
//! that holds every invariant, and helpers to break it in one place.

use shipsim_trace::{
    ConnectState, DeclaredTransport, FaultAction, LifeState, Micros, Outcome, PayloadDigest, Phase, Record,
    Rule, ShippedRecord, ShipperCounters, Start, TransportTiming, Violation,
};

/// One millisecond in trace time.
pub(crate) const MS: Micros = 1_000;
/// The clean run's ship deadline.
pub(crate) const SHIP_DEADLINE: Micros = 5_000 * MS;
/// The clean run's tick.
pub(crate) const TICK: Micros = MS;
/// The clean run's declared transport settings: [`TIMING`] is what the TCP contract derives
/// from them (the backoff capped at a quarter of the 5 s deadline).
pub(crate) const DECLARED: DeclaredTransport = DeclaredTransport {
    connections: 1,
    max_unacked: 64,
    ack_timeout_us: 100 * MS,
    deadline_us: SHIP_DEADLINE,
    connect_timeout_us: 50 * MS,
    backoff_min_us: 10 * MS,
    backoff_max_us: 2_000 * MS,
    max_frame: 1 << 20,
};
/// The clean run's transport timing: every bound of the `recovery` rule applies.
pub(crate) const TIMING: TransportTiming = TransportTiming {
    connections: 1,
    max_unacked: 64,
    ack_timeout_us: 100 * MS,
    answer_timeout_us: 100 * MS,
    connect_timeout_us: 50 * MS,
    backoff_min_us: 10 * MS,
    backoff_max_us: 1_250 * MS,
    latency_max_us: 5 * MS,
    sink_latency_max_us: 0,
    sink_busy: false,
};

/// The payload the workload would give event `id` of `node`.
pub(crate) fn payload(node: &str, id: u64) -> String {
    format!(r#"{{"id":{id},"src":"{node}"}}"#)
}

/// Builds a trace record by record.
pub(crate) struct Tb {
    pub records: Vec<Record>,
}

impl Tb {
    /// A `Start` for `nodes` (exactly-once, per-batch, consistent), every node
    /// up in life 1, and `Phase faults`.
    pub(crate) fn new(nodes: &[&str]) -> Self {
        // No shard count: the fixtures' shards are made up, so placement is skipped unless a
        // test sets these (see `placement.rs`).
        let mut start = Start::new("fixture", nodes, SHIP_DEADLINE);
        start.seed = 1;
        start.tick_us = TICK;
        start.settle_us = Some(10_000 * MS);
        start.transport_name = "tcp".into();
        start.transport = Some(TIMING);
        start.declared = Some(DECLARED);
        let mut tb = Tb { records: vec![Record::Start(Box::new(start))] };
        for node in nodes {
            tb.life(0, node, 1, LifeState::Up);
        }
        tb.phase(0, Phase::Faults);
        tb
    }

    pub(crate) fn phase(&mut self, t: Micros, phase: Phase) -> &mut Self {
        self.records.push(Record::Phase { t, phase });
        self
    }

    pub(crate) fn fault(&mut self, t: Micros, fault: &str, action: FaultAction) -> &mut Self {
        let action = Box::new(action);
        self.records.push(Record::Fault { t, fault: fault.into(), action, links: Default::default() });
        self
    }

    /// `node`'s attempt to connect to `dst` on slot 0 begins (or failed).
    pub(crate) fn connect(
        &mut self,
        t: Micros,
        node: &str,
        life: u32,
        dst: &str,
        state: ConnectState,
    ) -> &mut Self {
        self.records.push(Record::Connect { t, node: node.into(), life, dst: dst.into(), slot: 0, state });
        self
    }

    pub(crate) fn life(&mut self, t: Micros, node: &str, life: u32, state: LifeState) -> &mut Self {
        self.records.push(Record::Life { t, node: node.into(), life, state });
        self
    }

    /// A `ShipBegin` of events `ids` (payloads from [`payload`]).
    pub(crate) fn begin(
        &mut self,
        t: Micros,
        node: &str,
        life: u32,
        batch: u64,
        dst: &str,
        ids: &[u64],
    ) -> &mut Self {
        let events = ids
            .iter()
            .map(|&id| ShippedRecord {
                id,
                key: format!("k{id}").into(),
                shard: (id % 16) as u32,
                payload: payload(node, id).into(),
            })
            .collect();
        self.records.push(Record::ShipBegin {
            t,
            node: node.into(),
            life,
            batch,
            dst: dst.into(),
            local: node == dst,
            epoch: 0,
            events,
        });
        self
    }

    pub(crate) fn end(
        &mut self,
        t: Micros,
        node: &str,
        life: u32,
        batch: u64,
        shipped: u32,
        outcome: Outcome,
    ) -> &mut Self {
        let error = (outcome != Outcome::Ok).then(|| format!("{outcome:?}"));
        self.records.push(Record::ShipEnd { t, node: node.into(), life, batch, shipped, outcome, error });
        self
    }

    /// A delivery of event `id` shipped by `source`, with its proper payload.
    pub(crate) fn deliver(&mut self, t: Micros, node: &str, life: u32, source: &str, id: u64) -> &mut Self {
        self.deliver_raw(t, node, life, source, Some(id), &payload(source, id))
    }

    pub(crate) fn deliver_raw(
        &mut self,
        t: Micros,
        node: &str,
        life: u32,
        source: &str,
        id: Option<u64>,
        payload: &str,
    ) -> &mut Self {
        // The recorder's rule (`Record::deliver`): the bytes only without an id.
        let digest = PayloadDigest::of(payload.as_bytes());
        let payload = id.is_none().then(|| Box::new(payload.into()));
        self.records.push(Record::Deliver {
            t,
            node: node.into(),
            life,
            source: source.into(),
            id,
            digest,
            payload,
        });
        self
    }

    pub(crate) fn ack(&mut self, t: Micros, node: &str, life: u32, dst: &str, id: u64) -> &mut Self {
        self.records.push(Record::Ack { t, node: node.into(), life, dst: dst.into(), id });
        self
    }

    /// A `Stats` with shipper counters `[sent, local, no_route, send_failures, ambiguous]`.
    pub(crate) fn stats(
        &mut self,
        t: Micros,
        node: &str,
        life: u32,
        shipper: [u64; 5],
        received: u64,
        sink: u64,
    ) -> &mut Self {
        let [sent, local, no_route, send_failures, ambiguous] = shipper;
        self.records.push(Record::Stats {
            t,
            node: node.into(),
            life,
            shipper: Box::new(ShipperCounters { sent, local, no_route, send_failures, ambiguous }),
            received,
            duplicates_dropped: 0,
            retransmits: 0,
            sink,
        });
        self
    }

    pub(crate) fn workload(&mut self, t: Micros, node: &str, routed: u64, target: u64) -> &mut Self {
        self.records.push(Record::Workload { t, node: node.into(), routed, target });
        self
    }

    pub(crate) fn build(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }
}

/// A run of two nodes that holds every invariant, and exercises each rule's
/// edge: a remote and a local Ok batch, an ambiguous batch, a no-route batch,
/// an event delivered to a life of n2 that crashed before acking it and
/// delivered again to its next life, a batch cut short by its sender's crash
/// and shipped again (same id) by the next life, and a settle phase.
///
/// Events (n1 ships 1-5, 8, 9, 11; n2 ships 6, 7, 13, 14):
/// - n1 b1 → n2 [1, 2, 3]: all delivered, acked, ok.
/// - n1 b2 → n1 (local) [4, 5]: ok.
/// - n2 b1 → n1 [6, 7]: 6 delivered and acked, ambiguous after 1.
/// - n1 b3 → n2 [8, 9]: no-route after 0.
/// - n1 b4 → n2 [11]: delivered to n2 life 1, which crashes before acking;
///   delivered again to n2 life 2, acked, ok.
/// - n2 b2 → n1 [13]: cut short by the crash of n2.
/// - n2 (life 2) b3 → n1 [13, 14] in the settle phase: ok.
pub(crate) fn clean_run() -> Vec<Record> {
    let mut tb = Tb::new(&["n1", "n2"]);
    tb.connect(10 * MS, "n1", 1, "n2", ConnectState::Begin)
        .begin(10 * MS, "n1", 1, 1, "n2", &[1, 2, 3])
        .deliver(12 * MS, "n2", 1, "n1", 1)
        .deliver(12 * MS, "n2", 1, "n1", 2)
        .deliver(13 * MS, "n2", 1, "n1", 3)
        .ack(14 * MS, "n1", 1, "n2", 1)
        .ack(14 * MS, "n1", 1, "n2", 2)
        .ack(14 * MS, "n1", 1, "n2", 3)
        .end(14 * MS, "n1", 1, 1, 3, Outcome::Ok)
        .begin(20 * MS, "n1", 1, 2, "n1", &[4, 5])
        .deliver(20 * MS, "n1", 1, "n1", 4)
        .deliver(20 * MS, "n1", 1, "n1", 5)
        .end(20 * MS, "n1", 1, 2, 2, Outcome::Ok)
        .connect(30 * MS, "n2", 1, "n1", ConnectState::Begin)
        .begin(30 * MS, "n2", 1, 1, "n1", &[6, 7])
        .deliver(32 * MS, "n1", 1, "n2", 6)
        .ack(33 * MS, "n2", 1, "n1", 6)
        .end(35 * MS, "n2", 1, 1, 1, Outcome::Ambiguous)
        .begin(40 * MS, "n1", 1, 3, "n2", &[8, 9])
        .end(40 * MS, "n1", 1, 3, 0, Outcome::NoRoute)
        .begin(50 * MS, "n1", 1, 4, "n2", &[11])
        .deliver(52 * MS, "n2", 1, "n1", 11)
        .begin(60 * MS, "n2", 1, 2, "n1", &[13])
        .fault(100 * MS, "{at: 100ms, crash: n2}", FaultAction::Crash("n2".into()))
        .stats(100 * MS, "n2", 1, [1, 0, 0, 0, 1], 4, 4)
        .life(100 * MS, "n2", 1, LifeState::Down)
        .fault(200 * MS, "{at: 200ms, restart: n2}", FaultAction::Restart("n2".into()))
        .life(200 * MS, "n2", 2, LifeState::Up)
        .deliver(210 * MS, "n2", 2, "n1", 11)
        .ack(211 * MS, "n1", 1, "n2", 11)
        .end(211 * MS, "n1", 1, 4, 1, Outcome::Ok)
        .phase(300 * MS, Phase::Settle)
        .begin(310 * MS, "n2", 2, 3, "n1", &[13, 14])
        .deliver(312 * MS, "n1", 1, "n2", 13)
        .deliver(312 * MS, "n1", 1, "n2", 14)
        .ack(313 * MS, "n2", 2, "n1", 13)
        .ack(313 * MS, "n2", 2, "n1", 14)
        .end(313 * MS, "n2", 2, 3, 2, Outcome::Ok)
        .phase(400 * MS, Phase::End)
        .stats(400 * MS, "n1", 1, [4, 2, 2, 0, 0], 3, 5)
        .stats(400 * MS, "n2", 2, [2, 0, 0, 0, 0], 1, 1)
        .workload(400 * MS, "n1", 8, 8)
        .workload(400 * MS, "n2", 4, 4);
    tb.build()
}

/// The position of the first record `pred` accepts.
pub(crate) fn find(records: &[Record], pred: impl Fn(&Record) -> bool) -> usize {
    records.iter().position(pred).expect("the fixture has such a record")
}

/// `records` without the first record `pred` accepts.
pub(crate) fn without(mut records: Vec<Record>, pred: impl Fn(&Record) -> bool) -> Vec<Record> {
    let pos = find(&records, pred);
    records.remove(pos);
    records
}

/// `records` with `record` inserted right after the first record `pred`
/// accepts, where its time fits (so a test breaks only what it means to).
#[track_caller]
pub(crate) fn with_after(
    mut records: Vec<Record>,
    pred: impl Fn(&Record) -> bool,
    record: Record,
) -> Vec<Record> {
    let pos = find(&records, pred);
    records.insert(pos + 1, record);
    let times: Vec<Micros> = records[pos..records.len().min(pos + 3)].iter().map(Record::t).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "the inserted record's time does not fit: {times:?}");
    records
}

/// `records` with `node`'s clock jumping `jump` ahead at `t` (a `clock` fault record, placed
/// before the first later record).
pub(crate) fn with_jump(records: Vec<Record>, node: &str, t: Micros, jump: Micros) -> Vec<Record> {
    with_clock(records, t, FaultAction::Clock { node: node.into(), jump_us: jump, skew_ppm: None })
}

/// `records` with `node`'s clock running `ppm` parts per million fast (slow, below 0) from `t`
/// on (a `clock` fault record, placed before the first later record).
pub(crate) fn with_skew(records: Vec<Record>, node: &str, t: Micros, ppm: i64) -> Vec<Record> {
    with_clock(records, t, FaultAction::Clock { node: node.into(), jump_us: 0, skew_ppm: Some(ppm) })
}

/// `records` with the clock fault `action` at `t`, placed before the first later record.
fn with_clock(mut records: Vec<Record>, t: Micros, action: FaultAction) -> Vec<Record> {
    let pos = records.iter().position(|r| r.t() > t && !matches!(r, Record::Start(_)));
    let node = action.nodes()[0].clone();
    let action = Box::new(action);
    let fault = Record::Fault { t, fault: format!("{{clock: {node}}}"), action, links: Default::default() };
    records.insert(pos.unwrap_or(records.len()), fault);
    records
}

/// `records` with the first record `pred` accepts changed by `change`.
pub(crate) fn changed(
    mut records: Vec<Record>,
    pred: impl Fn(&Record) -> bool,
    change: impl FnOnce(&mut Record),
) -> Vec<Record> {
    let pos = find(&records, pred);
    change(&mut records[pos]);
    records
}

/// The `Start` record, changed by `change`.
pub(crate) fn with_start(records: Vec<Record>, change: impl FnOnce(&mut Start)) -> Vec<Record> {
    changed(
        records,
        |r| matches!(r, Record::Start(_)),
        |r| {
            if let Record::Start(start) = r {
                change(start);
            }
        },
    )
}

/// Accepts the (first) delivery of `id` to `node` in `life`.
pub(crate) fn delivery_of(id: u64, node: &'static str, life: u32) -> impl Fn(&Record) -> bool {
    move |r| matches!(r, Record::Deliver { id: Some(i), node: n, life: l, .. } if *i == id && n == node && *l == life)
}

/// Accepts the `ShipEnd` of batch `batch` of `node`.
pub(crate) fn ship_end_of(node: &'static str, batch: u64) -> impl Fn(&Record) -> bool {
    move |r| matches!(r, Record::ShipEnd { node: n, batch: b, .. } if n == node && *b == batch)
}

/// Accepts the `Stats` of `node`'s `life`.
pub(crate) fn stats_of(node: &'static str, life: u32) -> impl Fn(&Record) -> bool {
    move |r| matches!(r, Record::Stats { node: n, life: l, .. } if n == node && *l == life)
}

/// `(invariant, rule)` of each violation.
pub(crate) fn rules(violations: &[Violation]) -> Vec<(&'static str, &'static str)> {
    violations.iter().map(|v| (v.invariant().as_str(), v.rule.as_str())).collect()
}

/// The one violation in `violations`, which must be of `rule`.
#[track_caller]
pub(crate) fn only(violations: &[Violation], rule: impl Into<Rule>) -> Violation {
    let rule = rule.into();
    assert_eq!(violations.len(), 1, "expected one `{rule}` violation, got {violations:#?}");
    assert_eq!(violations[0].rule, rule, "{violations:#?}");
    violations[0].clone()
}

/// The `(id, node, batch, index)` of a violation's event.
#[track_caller]
pub(crate) fn event(violation: &Violation) -> (u64, &str, u64, u32) {
    let e = violation.event.as_ref().expect("the violation names its event");
    (e.id, e.node.as_str(), e.batch, e.index)
}

/// `records` with the records `a` and `b` accept trading places (each
/// keeping the time of the place it takes, so time still never decreases).
pub(crate) fn swapped(
    mut records: Vec<Record>,
    a: impl Fn(&Record) -> bool,
    b: impl Fn(&Record) -> bool,
) -> Vec<Record> {
    let (i, j) = (find(&records, a), find(&records, b));
    let (ti, tj) = (records[i].t(), records[j].t());
    records.swap(i, j);
    for (pos, t) in [(i, ti), (j, tj)] {
        if let Record::Deliver { t: at, .. } = &mut records[pos] {
            *at = t;
        }
    }
    records
}

/// Runs one checker's `run` over `records` on its own, whatever the trace's `Start` asks:
/// what each module's test-only `check` does.
pub(crate) fn check_one(
    records: &[Record],
    invariant: shipsim_trace::Invariant,
    run: impl FnOnce(&crate::index::Index, &mut crate::findings::Findings),
) -> Vec<Violation> {
    let index = crate::index::Index::build(records);
    let mut findings = crate::findings::Findings::new(invariant, []);
    run(&index, &mut findings);
    findings.finish().0
}
