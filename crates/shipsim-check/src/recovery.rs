//! Liveness rule `recovery`: once a fault that made a route unusable is
//! healed, the transport gets going again within a bound its configuration
//! sets, not merely "eventually".
//!
//! The trace says which `(from, to)` pairs each fault cut and healed (the
//! `cut`/`healed` lists of `Fault` records: a heal, release, restart,
//! restore-route, bounce or the settle phase's healing), and the `Start`
//! record carries the settings the run declared. After a heal of
//! `s → d` at `H`, the first ship from `s` to `d` on each connection slot
//! (calls go to the `connections` slots round-robin, so the slot of a call
//! is its rank among the sender life's calls to `d`, modulo `connections`)
//! must return `Ok` by
//!
//! ```text
//! F = max(H + connect_timeout, b + ack_timeout)
//! D = min(backoff_max, 2 × (F − L) + backoff_min)
//! B = F + D + hops × (latency_max + tick) + n × sink_max + 2 × tick,
//!     hops = 2 + 2 × ⌈n / max_unacked⌉
//! ```
//!
//! where `b` is the ship's start, `n` its events, and `L` the last time the
//! slot got an ack before `b` (or its first call: a slot starts with a fresh
//! backoff). Why each term, for a correct transport:
//! - `F`: the latest moment the slot can still be caught in a state left over
//!   from the fault: a connection attempt begun before the heal whose SYN was
//!   lost fails by `H + connect_timeout`; a connection whose frames were lost
//!   is given up `ack_timeout` after the oldest unacked write (at the latest
//!   the ship's own, at `b`; the contract says how long that is:
//!   on gRPC, the keepalive's interval plus its timeout);
//! - `D`: the reconnect delay drawn at that failure. The backoff doubles per
//!   consecutive failure from `backoff_min` and restarts at every ack, and
//!   each delay is at least half its base (jitter), so the delays waited
//!   since the last ack sum to at least `(base − backoff_min) / 2`; they fit
//!   in `F − L`, hence `base ≤ 2 × (F − L) + backoff_min`. A backoff that is
//!   not reset by an ack (`broken::StickyBackoff`) waits up to `backoff_max`
//!   after a short outage and breaks this;
//! - then one connection (SYN and SYN-ACK) and one round trip per window of
//!   `max_unacked` frames, each hop at most the worst latency plus a tick,
//!   and each event's accept by the receiving application (`sink.latency`'s
//!   maximum, `sink_max`), which the receiver awaits before its ack.
//!
//! Every transport setting above is derived, by the checker's own code, from
//! the settings the run declared (`start.declared`), through the bundled
//! transports' documented contract ([`crate::contract`]), never taken from
//! what the transport says it runs with: with `ε = 1 ms`, `cap = max(deadline
//! / 4, ε)` and `a = max(ack_timeout, ε)` declared,
//!
//! ```text
//! connections     = max(connections, 1)        gRPC: 1
//! max_unacked     = max(max_unacked, 1)        gRPC: 1
//! ack_timeout     = a                          gRPC: max(a / 2, ε) + a (keepalive interval + timeout)
//! answer_timeout  = a                          (how late an ack or a pong may be)
//! connect_timeout = max(connect_timeout, ε)
//! backoff_min     = clamp(backoff.min, ε, cap)
//! backoff_max     = clamp(backoff.max, backoff_min, cap)
//! ```
//!
//! so a transport that normalizes its settings wrongly (say, leaves the backoff
//! uncapped) is held to the bound its contract promises, not to the one its bug
//! reports; the rule `contract` reports the difference itself. Only the
//! network's facts come from `start.transport`: the worst latency
//! (`latency_max`), the sink's worst accept (`sink_max`) and whether it may
//! answer busy, which the runner computes from the scenario. A trace that
//! declares nothing (another system's), or whose transport is not one whose
//! contract the checker knows, is bounded by the transport's reported timing
//! instead, and the summary says so (`recovery bounded by the transport's own
//! timing (...)`).
//!
//! No obligation (no false alarm) where a correct transport has no bound:
//! - the pair is cut again (or either end goes down) before `B`: the window
//!   ends, the next heal opens another;
//! - `B` lies past the ship's deadline: the ship may fail at its deadline; the
//!   next ship on the slot is judged instead;
//! - the answer timeout (how late an ack or a keepalive pong may be; the ack
//!   timeout when the trace names none) is within a round trip of the worst latency (a
//!   healthy connection can time out, so nothing bounds recovery), or the trace has
//!   no transport timing: the rule is skipped, and says why;
//! - a sink that may answer busy (`sink.busy` above 0) holds an ack back a
//!   random number of times: the rule is skipped;
//! - a refusal (`refused`: the receiver does not own the shards) answers over
//!   the healed link as well as an `Ok` does;
//! - a call in flight across the heal that ends `ambiguous`: an attempt of
//!   it went unanswered in the outage, and the sender cannot always tell
//!   whether that attempt reached the receiving life that answers now or an
//!   earlier one (the destination may have restarted meanwhile, as far as the
//!   sender knows); when that life refuses the events, "maybe delivered" is
//!   the only true answer (`refused` could deny a delivery by the earlier
//!   life). The slot's next ship is judged instead;
//! - a call that ends `ambiguous` within its bound on a slot that heard
//!   nothing from the destination since the destination restarted (an ack
//!   received within a hop of the restart may be the dead life's): the slot's
//!   connection may still lead to the earlier life, so the call's events may
//!   be written there before the slot finds it dead and resends them to the
//!   new life, whose refusal cannot deny a delivery by the earlier one. An
//!   answer came in time; the slot's next ship is judged too;
//! - a jump of either end's clock (`clock` fault) inside the obligation at least as long as
//!   the answer timeout exceeds the worst round trip: an answer on its way may come too late
//!   on the jumped clock, and a healthy connection be given up; like a cut, it closes the
//!   window. Shorter jumps of the sender's clock lower the two bounds on its waits by the
//!   jumps inside them ([`crate::jumps`]): the deadline (`B` past it: no obligation), and the
//!   delays waited since `L`, which fit in `F − L` plus the jumps meanwhile;
//! - a reorder's release (the held messages go out over later ticks) claims
//!   no heal; loss (network or link) keeps a pair unusable until it is set
//!   to 0.
//!
//! Concurrent calls (`workload.concurrency`): a slot carries several calls at
//! once, each whole and in call order on its stream. The first ship over a
//! healed route on a slot is the earliest of the calls in flight on it; a
//! call that begins while others are in flight on its slot waits behind their
//! events, so its `n` counts them too, plus a window (`max_unacked`) for
//! frames of calls that gave up but stay in the stream ahead of live ones.
//! With one call at a time nothing is ever ahead of a call, and `n` is its own
//! events.
//!
//! Cost: O(R) over the records plus O(B) over the batches.

use std::collections::BTreeMap;

use shipsim_trace::{
    FaultLinks, Lack, LifeState, LivenessRule, Micros, Outcome, Record, Start, TransportTiming,
};

use crate::adaptive;
use crate::contract;
use crate::findings::Findings;
use crate::index::{Batch, Index, Item, NONE};
use crate::jumps::Jumps;
use crate::table::Table;
use shipsim_trace::fmt_t;

/// `(sender, sender life, destination)`: one transport's slots to one peer.
type Peer = (u32, u32, u32);

/// An open recovery window of a `(from, to)` pair.
struct Window {
    /// The heal's time.
    heal: Micros,
    /// Slots already judged in this window.
    judged: Vec<bool>,
}

/// A ship that must return `Ok` by `bound`, unless the window closes first.
struct Obligation {
    batch: usize,
    heal: Micros,
    bound: Micros,
    last_ack: Micros,
    /// The window's end (the next cut of the pair), if any.
    closed: Option<Micros>,
    /// The destination restarted since the slot last heard from it (see [`restarted_since`]).
    restarted: bool,
}

pub(crate) fn run(index: &Index, findings: &mut Findings) {
    let Some(start) = index.start() else { return };
    let (None, Some((timing, _))) = (skipped(start), contract::bounds(start)) else { return };
    let timing = adaptive::adapted(start, index, timing);
    let mut recovery = Recovery::new(index, start, timing);
    for item in index.items() {
        recovery.item(item);
    }
    for o in &recovery.obligations {
        judge(index, &timing, o, findings);
    }
}

/// The pass over the records: what it knows of every slot (its call in flight,
/// its last ack), the pairs' open windows, and the obligations found so far.
struct Recovery<'i, 'a> {
    index: &'i Index,
    start: &'a Start,
    timing: TransportTiming,
    /// Slots per transport (`timing.connections`).
    connections: usize,
    /// Per batch: its slot, if it reached the transport.
    slot_of: Table<Option<usize>>,
    /// Per peer and slot: the first call's time, then the latest ack's.
    last_ack: BTreeMap<(Peer, usize), Micros>,
    /// Per `(from, to)` pair: its open window, if a heal opened one.
    windows: BTreeMap<(u32, u32), Window>,
    /// Obligations of each pair's open window (indices into `obligations`).
    open: BTreeMap<(u32, u32), Vec<usize>>,
    /// Every obligation, in the order found.
    obligations: Vec<Obligation>,
    /// Per (sender, destination, slot): the calls in flight on it, in the order begun.
    pending: BTreeMap<(u32, u32, usize), Vec<usize>>,
    /// Per batch: the events that may be ahead of it on its slot's stream when it began.
    ahead: Table<u64>,
}

impl<'i, 'a> Recovery<'i, 'a> {
    fn new(index: &'i Index, start: &'a Start, timing: TransportTiming) -> Self {
        let connections = timing.connections as usize;
        Recovery {
            index,
            start,
            timing,
            connections,
            slot_of: slots(index, connections),
            last_ack: BTreeMap::new(),
            windows: BTreeMap::new(),
            open: BTreeMap::new(),
            obligations: Vec::new(),
            pending: BTreeMap::new(),
            ahead: Table::filled(index.batches.len(), 0),
        }
    }

    /// Takes in the next record.
    fn item(&mut self, item: Item<'_>) {
        match item {
            Item::Other(Record::Fault { t, links, .. }) => self.fault(*t, links),
            Item::End(end) => self.ship_end(end.pos, end.node, end.batch),
            Item::Other(Record::Life { node, state: LifeState::Down, .. }) => {
                if let Some(node) = self.index.node(node) {
                    // Its calls in flight died with it.
                    self.pending.retain(|&(from, _, _), _| from != node);
                }
            }
            Item::Ack(ack) => {
                let (node, life, dst) = (ack.node, ack.life, ack.dst);
                if let Some(slot) = acked_slot(self.index, &self.slot_of, node, life, dst, ack.id) {
                    self.last_ack.insert(((node, life, dst), slot), ack.t);
                }
            }
            Item::Begin(batch) => self.ship_begin(batch.pos),
            _ => {}
        }
    }

    /// A fault at `t`: every pair it cut or healed closes its window (and its
    /// obligations); then every pair it healed opens a new one.
    fn fault(&mut self, t: Micros, links: &FaultLinks) {
        for [from, to] in links.cut.iter().chain(&links.healed) {
            let (Some(from), Some(to)) = (self.index.node(from), self.index.node(to)) else { continue };
            for o in self.open.remove(&(from, to)).unwrap_or_default() {
                self.obligations[o].closed = Some(t);
            }
            self.windows.remove(&(from, to));
        }
        for [from, to] in &links.healed {
            let (Some(from), Some(to)) = (self.index.node(from), self.index.node(to)) else { continue };
            self.heal(t, from, to);
        }
    }

    /// Opens the window of `(from, to)` healed at `heal`. A call in flight
    /// across the heal is its slot's first ship over the healed route.
    fn heal(&mut self, heal: Micros, from: u32, to: u32) {
        let mut window = Window { heal, judged: vec![false; self.connections] };
        for slot in 0..self.connections {
            // The earliest call in flight on the slot is first on its stream.
            let Some(&b) = self.pending.get(&(from, to, slot)).and_then(|calls| calls.first()) else {
                continue;
            };
            let batch = self.index.batches.get(b);
            if batch.end.is_some_and(|end| end.outcome == Outcome::Ambiguous) {
                continue;
            }
            let reset = self.last_ack[&((batch.node, batch.life, batch.dst), slot)];
            let Some(bound) = self.bound(heal, b, heal, reset) else { continue };
            window.judged[slot] = true;
            let restarted = restarted_since(self.index, &batch, reset, self.hop());
            self.oblige(
                (from, to),
                Obligation { batch: b, heal, bound, last_ack: reset, closed: None, restarted },
            );
        }
        self.windows.insert((from, to), window);
    }

    /// A `ShipEnd` at `pos`: its call is no longer in flight on its slot.
    fn ship_end(&mut self, pos: usize, node: u32, batch: u64) {
        let index = self.index;
        let b = index.batch(node, batch).map(|b| b as usize);
        if let Some(b) = b
            && index.batches.get(b).end.is_some_and(|end| end.pos == pos)
            && let Some(slot) = self.slot_of.get(b)
        {
            let batch = index.batches.get(b);
            if let Some(calls) = self.pending.get_mut(&(batch.node, batch.dst, slot)) {
                calls.retain(|&call| call != b);
            }
        }
    }

    /// A `ShipBegin` at `pos`: its call is in flight on its slot and, as the
    /// slot's first ship in an open window of its pair, owes a recovery.
    fn ship_begin(&mut self, pos: usize) {
        let Some(b) = self.index.batch_at(pos) else { return };
        let Some(slot) = self.slot_of.get(b) else { return };
        let batch = self.index.batches.get(b);
        let peer = (batch.node, batch.life, batch.dst);
        let reset = *self.last_ack.entry((peer, slot)).or_insert(batch.t);
        let calls = self.pending.entry((batch.node, batch.dst, slot)).or_default();
        if !calls.is_empty() {
            let in_flight: u64 =
                calls.iter().map(|&call| u64::from(self.index.batches.get(call).len())).sum();
            self.ahead.set(b, u64::from(self.timing.max_unacked) + in_flight);
        }
        calls.push(b);
        let Some(window) = self.windows.get(&(batch.node, batch.dst)) else { return };
        if window.judged[slot] {
            return;
        }
        let heal = window.heal;
        let Some(bound) = self.bound(heal, b, batch.t, reset) else { return };
        if let Some(window) = self.windows.get_mut(&(batch.node, batch.dst)) {
            window.judged[slot] = true;
        }
        let restarted = restarted_since(self.index, &batch, reset, self.hop());
        self.oblige(
            (batch.node, batch.dst),
            Obligation { batch: b, heal, bound, last_ack: reset, closed: None, restarted },
        );
    }

    /// [`bound`] for `batch`, or `None` if it lies past the ship's deadline:
    /// the ship may fail at its deadline, and the slot's next one is judged.
    /// The deadline and the backoff's wait are the sender's clock's: each is lowered by how far
    /// that clock ran ahead inside it, and the deadline stretched by how far it fell behind
    /// ([`crate::jumps`]). On a slow clock of either end every wait of the bound lasts longer:
    /// the bound stretches by the slowest pace of the two from the call's start or the heal on.
    fn bound(&self, heal: Micros, b: usize, from: Micros, reset: Micros) -> Option<Micros> {
        let batch = self.index.batches.get(b);
        let n = u64::from(batch.len()) + self.ahead.get(b);
        let jumps = &self.index.jumps;
        let jumped = |from, to| jumps.within(batch.node, from, to);
        let bound = bound(&self.timing, self.start.tick_us, heal, n, (from, reset), &jumped);
        let since = from.min(heal);
        let slowest = jumps.slowest_from(&[batch.node, batch.dst], since);
        let bound = bound + Jumps::stretch(bound.saturating_sub(since), slowest);
        let deadline = batch.t.saturating_add(self.start.deadline_us);
        let deadline = deadline + jumps.behind(batch.node, batch.t, deadline);
        (bound <= deadline.saturating_sub(jumped(batch.t, deadline))).then_some(bound)
    }

    /// The longest a message takes: the worst latency and a tick each side of it.
    fn hop(&self) -> Micros {
        self.timing.latency_max_us + 2 * self.start.tick_us
    }

    /// Adds `obligation` to the open window of `pair`.
    fn oblige(&mut self, pair: (u32, u32), obligation: Obligation) {
        self.open.entry(pair).or_default().push(self.obligations.len());
        self.obligations.push(obligation);
    }
}

/// Reports obligation `o` if its ship did not recover in time: unless its window
/// closed or its sender went down by the bound, it must have returned `Ok` (or
/// been refused) by then.
fn judge(index: &Index, timing: &TransportTiming, o: &Obligation, findings: &mut Findings) {
    if o.closed.is_some_and(|closed| closed <= o.bound) {
        return;
    }
    let batch = index.batches.get(o.batch);
    if may_give_up_healthy(index, timing, o, &batch) {
        return;
    }
    // A sender bounced at the heal itself: its old life's call died with it.
    let down = index.lives.get(&(batch.node, batch.life)).and_then(|info| info.down);
    if down.is_some_and(|(_, t)| t <= o.bound) {
        return;
    }
    let at = match batch.end {
        // A refusal is an answer over the healed link too: it recovered.
        Some(end) if matches!(end.outcome, Outcome::Ok | Outcome::Refused) && end.t <= o.bound => return,
        // An answer in time that cannot be certain: the slot may have written to an earlier life.
        Some(end) if end.outcome == Outcome::Ambiguous && o.restarted && end.t <= o.bound => return,
        Some(end) => end.t,
        // Still pending: a violation once the trace has passed the bound.
        None if index.last_t > o.bound => index.last_t,
        None => return,
    };
    findings.add(at, LivenessRule::Recovery, || {
        let first = (batch.len() > 0).then(|| index.event_ref(batch.first));
        (first, expected(index, timing, o, &batch), actual(index, o, &batch))
    });
}

/// Whether the clock of either end jumped, inside the obligation, at least as far as the
/// answer timeout exceeds the worst round trip: then an answer on its way may have come too late
/// on that clock, and a healthy connection been given up, which no bound covers (as when the
/// answer timeout itself is that short: [`skipped`]). Like a cut, the jump closes the window;
/// a shorter jump leaves it open.
fn may_give_up_healthy(index: &Index, timing: &TransportTiming, o: &Obligation, batch: &Batch) -> bool {
    let Some(start) = index.start() else { return false };
    let round_trip = 2 * (timing.latency_max_us + start.tick_us) + 2 * start.tick_us;
    let answer = if timing.answer_timeout_us > 0 { timing.answer_timeout_us } else { timing.ack_timeout_us };
    let slack = answer.saturating_sub(round_trip);
    let jumped = [batch.node, batch.dst].map(|n| index.jumps.jumped(n, o.heal, o.bound));
    if jumped.into_iter().any(|j| j > 0 && j >= slack) {
        return true;
    }
    // A fast clock shortens every answer timeout in the trace's time to `answer / (1 + s)`
    // (and a millisecond of rounding): no longer than the round trip, it may give up a healthy
    // connection too.
    let fastest =
        [batch.node, batch.dst].map(|n| index.jumps.fastest_in(n, o.heal, o.bound)).into_iter().max();
    let fastest = i128::from(fastest.unwrap_or(0));
    fastest > 0 && {
        let shortened = i128::from(answer) * 1_000_000 / (1_000_000 + fastest);
        shortened <= i128::from(round_trip + crate::jumps::PACE_ROUNDING)
    }
}

/// What a late recovery was expected to do, and why by then.
fn expected(index: &Index, timing: &TransportTiming, o: &Obligation, batch: &Batch) -> String {
    let what = format!(
        "batch {} of {} to {} (begun at {}, {} events)",
        batch.batch,
        index.name(batch.node),
        index.name(batch.dst),
        fmt_t(batch.t),
        batch.len()
    );
    format!(
        "{what} returns Ok by {}: the route healed at {}, its slot's last ack at {} \
         (connect timeout {}, ack timeout {}, backoff {}..{}, latency up to {})",
        fmt_t(o.bound),
        fmt_t(o.heal),
        fmt_t(o.last_ack),
        fmt_t(timing.connect_timeout_us),
        fmt_t(timing.ack_timeout_us),
        fmt_t(timing.backoff_min_us),
        fmt_t(timing.backoff_max_us),
        fmt_t(timing.latency_max_us),
    )
}

/// What a late recovery did instead.
fn actual(index: &Index, o: &Obligation, batch: &Batch) -> String {
    match batch.end {
        Some(end) if end.outcome == Outcome::Ok => {
            format!("it returned Ok at {}, {} past the bound", fmt_t(end.t), fmt_t(end.t - o.bound))
        }
        Some(end) => format!("it failed at {} after {} of {}", fmt_t(end.t), end.shipped, batch.len()),
        None => format!("it had not returned by {}", fmt_t(index.last_t)),
    }
}

/// Why the rule cannot judge this run, if it cannot: the trace lacks what it needs, or a
/// healthy connection may time out (then nothing bounds recovery). The checker says the
/// reason in the summary; [`run`] consults the same function, so the two cannot disagree.
pub(crate) fn skipped(start: &Start) -> Option<String> {
    let Some((t, _)) = contract::bounds(start) else {
        return Some("the transport gave no timing".into());
    };
    // Without acks in the trace the slots' last backoff resets are unknown: every bound would
    // allow the backoff's cap, and a backoff that never resets would pass.
    if start.lacks.contains(&Lack::Acks) {
        return Some("the transport reports no acks".into());
    }
    if t.sink_busy {
        return Some("the sink may answer busy, which no bound covers".into());
    }
    if t.connections == 0 || t.max_unacked == 0 {
        return Some("the trace's transport timing names no connections".into());
    }
    let round_trip = 2 * (t.latency_max_us + start.tick_us) + 2 * start.tick_us;
    let answer = if t.answer_timeout_us > 0 { t.answer_timeout_us } else { t.ack_timeout_us };
    if answer <= round_trip {
        return Some("the answer timeout is not above the worst round trip".into());
    }
    None
}

/// Where the rule's bounds come from, when it is not skipped and they are not the contract's
/// derivation from the declared settings: said in the summary, never silently.
pub(crate) fn note(start: &Start) -> Option<String> {
    let (_, why) = contract::bounds(start).filter(|_| skipped(start).is_none())?;
    why.map(|why| format!("recovery bounded by the transport's own timing ({why})"))
}

/// The time by which a ship of `n` events (its own and those ahead of it on its
/// slot's stream), on a slot whose backoff last restarted at `reset`, returns
/// `Ok` after a heal at `heal`; `from` is when it started or, for a call in
/// flight across the heal, the heal (see the module's formula).
///
/// The delays waited since `reset` fit in `F − L` on the sender's clock: in the trace's time,
/// in `F − L` plus the jumps of that clock meanwhile (`jumped(from, to)`, the jumps in a span).
fn bound(
    t: &TransportTiming,
    tick: Micros,
    heal: Micros,
    n: u64,
    (from, reset): (Micros, Micros),
    jumped: &dyn Fn(Micros, Micros) -> Micros,
) -> Micros {
    let failed = (heal + t.connect_timeout_us).max(from + t.ack_timeout_us);
    let waited = failed.saturating_sub(reset) + jumped(reset, failed);
    let delay = t.backoff_max_us.min(2 * waited + t.backoff_min_us);
    let windows = n.div_ceil(u64::from(t.max_unacked)).max(1);
    let hops = 2 + 2 * windows;
    let accepts = n * t.sink_latency_max_us;
    failed + delay + hops * (t.latency_max_us + tick) + accepts + 2 * tick
}

/// Whether `batch`'s destination restarted (a life after its first began) after the earlier
/// life may have sent the slot's last ack, received at `reset` (or its first call), and before
/// the batch's start: then the slot's connection may still lead to the earlier life. An ack
/// received up to one hop (`hop`: the worst latency and a tick) after the restart may be the
/// dead life's, sent before it died.
fn restarted_since(index: &Index, batch: &Batch, reset: Micros, hop: Micros) -> bool {
    let lives = index.lives.range((batch.dst, 2)..=(batch.dst, u32::MAX));
    lives.filter_map(|(_, info)| info.up).any(|(_, up)| (reset.saturating_sub(hop)..=batch.t).contains(&up))
}

/// The slot of every batch that reached the transport: its rank among its
/// sender life's calls to the same destination, modulo `connections`. Local
/// calls, empty ones and those refused with `NoRoute` (no slot is picked for
/// them) have none.
fn slots(index: &Index, connections: usize) -> Table<Option<usize>> {
    let mut calls: BTreeMap<Peer, usize> = BTreeMap::new();
    index
        .batches
        .iter()
        .map(|batch| {
            let refused = batch.end.is_some_and(|end| end.outcome == Outcome::NoRoute);
            if batch.local || batch.len() == 0 || refused {
                return None;
            }
            let rank = calls.entry((batch.node, batch.life, batch.dst)).or_default();
            let slot = *rank % connections;
            *rank += 1;
            Some(slot)
        })
        .collect()
}

/// The slot whose call shipped event `id` from `node` (life `life`) to `dst`.
fn acked_slot(
    index: &Index,
    slot_of: &Table<Option<usize>>,
    node: u32,
    life: u32,
    dst: u32,
    id: u64,
) -> Option<usize> {
    let mut shipment = index.latest_shipment(id);
    while shipment != NONE {
        let b = index.shipment_batch.get(shipment as usize) as usize;
        let batch = index.batches.get(b);
        if batch.node == node && batch.life == life && batch.dst == dst {
            return slot_of.get(b);
        }
        shipment = index.prev_same_id.get(shipment as usize);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::liveness::check;
    use shipsim_trace::{
        DeclaredTransport, FaultAction, FaultLinks, HealTarget, Invariant, Phase, TransportTiming,
    };

    fn fault(tb: &mut Tb, t: Micros, cut: bool) {
        let pairs = vec![["n1".into(), "n2".into()], ["n2".into(), "n1".into()]];
        let (text, action, cut, healed) = if cut {
            let groups = vec![vec!["n1".into()], vec!["n2".into()]];
            ("{partition: [[n1], [n2]]}", FaultAction::Partition(groups), pairs, vec![])
        } else {
            ("{heal: all}", FaultAction::Heal(HealTarget::All), vec![], pairs)
        };
        let links = Box::new(FaultLinks { cut, healed });
        tb.records.push(Record::Fault { t, fault: text.into(), action: Box::new(action), links });
    }

    /// n1 ships batch 1 (acked at 12 ms), the link is cut at 100 ms, batch 2
    /// begins at 110 ms and is in flight when the link heals at 300 ms; it
    /// returns Ok at `end` (ms). `recut`: the link is cut again at that time.
    /// With the timing above its bound is F = 300 + max(50, 100) = 400 ms,
    /// D = min(1250, 2 × (400 − 12) + 10) = 786 ms, plus 4 hops of 6 ms and
    /// 2 ticks: 1212 ms. The trace declares nothing: the bounds come from `timing`, as
    /// they do for another system's trace (see [`declared`] for the simulator's).
    fn flap(end: Micros, recut: Option<Micros>, timing: TransportTiming) -> Vec<Record> {
        let mut tb = Tb::new(&["n1", "n2"]);
        tb.begin(10 * MS, "n1", 1, 1, "n2", &[1]).deliver(11 * MS, "n2", 1, "n1", 1);
        tb.ack(12 * MS, "n1", 1, "n2", 1).end(12 * MS, "n1", 1, 1, 0, Outcome::Ok);
        fault(&mut tb, 100 * MS, true);
        tb.begin(110 * MS, "n1", 1, 2, "n2", &[2]);
        fault(&mut tb, 300 * MS, false);
        if let Some(at) = recut {
            fault(&mut tb, at * MS, true);
        }
        tb.deliver(end * MS - MS, "n2", 1, "n1", 2).ack(end * MS, "n1", 1, "n2", 2);
        tb.end(end * MS, "n1", 1, 2, 0, Outcome::Ok);
        tb.phase(end * MS, Phase::Settle);
        tb.phase(end * MS + MS, Phase::End).workload(end * MS + MS, "n1", 2, 2).workload(
            end * MS + MS,
            "n2",
            0,
            0,
        );
        with_start(tb.build(), |s| {
            s.transport = Some(timing);
            s.declared = None;
        })
    }

    /// `records` as the simulator writes them: declaring `declared`, whose deadline is every
    /// ship's.
    fn declared(records: Vec<Record>, declared: DeclaredTransport) -> Vec<Record> {
        with_start(records, |s| {
            s.declared = Some(declared);
            s.deadline_us = declared.deadline_us;
        })
    }

    #[test]
    fn the_bound_comes_from_the_declared_settings_not_the_reported_ones() {
        // Declared: backoff 10 ms..2 s under a 2 s deadline, so the contract caps it at 500 ms;
        // the ack timeout may adapt to 141 ms (see the hold test below), and the bound is
        // 441 + min(500, 868) + 24 + 2 = 967 ms. The transport reports (and runs) the uncapped
        // 2 s: from its own word the bound would be 1212 ms.
        let uncapped = TransportTiming { backoff_max_us: 2_000 * MS, ..TIMING };
        let d = DeclaredTransport { deadline_us: 2_000 * MS, ..DECLARED };
        let rules_at = |end| rules(&check(&declared(flap(end, None, uncapped), d)));
        assert_eq!(rules_at(967), vec![("liveness", "contract")], "in time; the cap is still off");
        assert_eq!(rules_at(1000), vec![("liveness", "contract"), ("liveness", "recovery")]);
        let found = check(&declared(flap(1000, None, uncapped), d));
        let v = &found[1];
        assert!(v.expected.contains("by 0.967s"), "{}", v.expected);
        assert!(v.expected.contains("backoff 0.01s..0.5s"), "{}", v.expected);
        // Another system's trace declares nothing: its own timing bounds it, and the summary
        // says so.
        assert_eq!(check(&flap(1000, None, uncapped)), vec![]);
        let note = crate::summarize(&flap(1000, None, uncapped)).get(Invariant::Liveness).relaxed.clone();
        assert!(
            note.unwrap_or_default().starts_with(
                "recovery bounded by the transport's own timing (the trace declares no transport settings)"
            ),
            "never silently"
        );
    }

    #[test]
    fn a_hold_widens_the_adapted_ack_timeout_by_the_contract() {
        // Declared as the timing above: round trips of 14 ms, a handshake counted twice: a
        // sample of at most 28 ms, so the timeout may adapt up to 5 × 28 + 1 = 141 ms:
        // F = 300 + 141 = 441, D = min(1250, 2 × (441 − 12) + 10) = 868, B = 441 + 868 + 26.
        let plain = |end| rules(&check(&declared(flap(end, None, TIMING), DECLARED)));
        assert_eq!(plain(1335), vec![]);
        assert_eq!(plain(1336), vec![("liveness", "recovery")]);
        // A 40 ms hold (20..60 ms) lets a handshake sample reach 2 × (14 + 40) = 108 ms, so
        // the timeout may adapt up to 541 ms: F = 841, D = min(1250, 2 × 829 + 10) = 1250,
        // B = 841 + 1250 + 26 = 2117 ms.
        let held = |end| {
            let mut records = declared(flap(end, None, TIMING), DECLARED);
            let pairs: Vec<[shipsim_trace::Text; 2]> =
                vec![["n1".into(), "n2".into()], ["n2".into(), "n1".into()]];
            let link = || ["n1".into(), "n2".into()];
            let hold = FaultLinks { cut: pairs.clone(), healed: vec![] };
            let release = FaultLinks { cut: vec![], healed: pairs };
            let at = find(&records, |r| matches!(r, Record::Fault { .. }));
            records.insert(
                at,
                Record::Fault {
                    t: 60 * MS,
                    fault: "{release: [n1, n2]}".into(),
                    action: Box::new(FaultAction::Release(link())),
                    links: Box::new(release),
                },
            );
            records.insert(
                at,
                Record::Fault {
                    t: 20 * MS,
                    fault: "{hold: [n1, n2]}".into(),
                    action: Box::new(FaultAction::Hold(link())),
                    links: Box::new(hold),
                },
            );
            rules(&check(&records))
        };
        assert_eq!(held(2117), vec![], "within the adapted bound");
        let v = held(2118);
        assert_eq!(v, vec![("liveness", "recovery")], "the adapted bound still binds");
    }

    #[test]
    fn a_prompt_recovery_holds() {
        assert_eq!(check(&flap(420, None, TIMING)), vec![]);
        assert_eq!(check(&flap(1212, None, TIMING)), vec![], "exactly at the bound");
    }

    #[test]
    fn a_backoff_that_kept_growing_is_caught() {
        // A backoff never reset by acks waits its 2 s cap after the outage.
        let v = only(&check(&flap(1900, None, TIMING)), LivenessRule::Recovery);
        assert_eq!(v.invariant(), Invariant::Liveness);
        assert_eq!(event(&v), (2, "n1", 2, 0));
        assert_eq!(v.t, 1900 * MS);
        assert!(v.expected.contains("by 1.212s"), "{}", v.expected);
        assert!(v.actual.contains("0.688s past the bound"), "{}", v.actual);
        let v = only(&check(&flap(1213, None, TIMING)), LivenessRule::Recovery);
        assert!(v.actual.contains("0.001s past"), "{}", v.actual);
    }

    #[test]
    fn no_obligation_when_the_link_fails_again_or_the_timing_is_unknown() {
        assert_eq!(check(&flap(1900, Some(1000), TIMING)), vec![], "cut again before the bound");
        assert_eq!(rules(&check(&flap(1900, Some(1300), TIMING))), vec![("liveness", "recovery")]);
        assert_eq!(check(&flap(1900, None, TransportTiming::default())), vec![], "an older trace");
        let no_acks = with_start(flap(1900, None, TIMING), |s| s.lacks = vec![Lack::Acks]);
        assert_eq!(check(&no_acks), vec![], "no acks: the last reset is unknown, nothing is bounded");
        let slow = TransportTiming { latency_max_us: 60 * MS, ..TIMING };
        assert_eq!(check(&flap(1900, None, slow)), vec![], "acks can time out on a healthy link");
        // gRPC-like: a dead link is given up late (interval plus timeout), but a pong may only
        // be as late as the answer timeout, which a round trip can exceed.
        let pongs = TransportTiming { ack_timeout_us: 300 * MS, answer_timeout_us: 10 * MS, ..TIMING };
        assert_eq!(check(&flap(1900, None, pongs)), vec![], "pongs can time out on a healthy link");
        let older = TransportTiming { answer_timeout_us: 0, ..TIMING };
        assert_eq!(
            rules(&check(&flap(1900, None, older))),
            vec![("liveness", "recovery")],
            "0: the ack timeout"
        );
    }

    #[test]
    fn a_bound_past_the_deadline_judges_the_next_ship_instead() {
        // Batch 2 (begun at 110 ms) may fail at its 1 s deadline: no recovery obligation.
        let records = with_start(flap(1100, None, TIMING), |s| s.deadline_us = 1_000 * MS);
        assert_eq!(check(&records), vec![]);
        // With a 1.2 s deadline the bound (1212 ms) fits it (110 + 1200 ms): judged.
        let records = with_start(flap(1250, None, TIMING), |s| s.deadline_us = 1_200 * MS);
        assert_eq!(rules(&check(&records)), vec![("liveness", "recovery")]);
    }

    #[test]
    fn a_jump_of_the_senders_clock_lowers_the_backoff_wait_and_the_deadline_by_the_jump() {
        // n1's clock jumped 20 ms between its last ack (12 ms) and the failure (400 ms): the
        // delays it waited meanwhile may be 20 ms shorter in the trace's time, so its backoff
        // may have grown further: D = min(1250, 2 × (388 + 20) + 10) = 826 ms, B = 1252 ms.
        assert_eq!(rules(&check(&flap(1240, None, TIMING))), vec![("liveness", "recovery")]);
        assert_eq!(check(&with_jump(flap(1240, None, TIMING), "n1", 200 * MS, 20 * MS)), vec![]);
        let late = with_jump(flap(1253, None, TIMING), "n1", 200 * MS, 20 * MS);
        let v = only(&check(&late), LivenessRule::Recovery);
        assert!(v.expected.contains("by 1.252s"), "{}", v.expected);
        // A 1.15 s deadline (at 1260 ms) fits the bound (1212 ms); a jump of 50 ms inside the
        // call brings its deadline to 1210 ms on n1's clock: it may fail there, and no
        // obligation is left.
        let dl = |records| with_start(records, |s| s.deadline_us = 1_150 * MS);
        assert_eq!(rules(&check(&dl(flap(1250, None, TIMING)))), vec![("liveness", "recovery")]);
        assert_eq!(check(&dl(with_jump(flap(1250, None, TIMING), "n1", 500 * MS, 50 * MS))), vec![]);
        // A shorter jump leaves the deadline (1220 ms) past the bound: still judged, still late.
        let short = dl(with_jump(flap(1250, None, TIMING), "n1", 500 * MS, 40 * MS));
        assert_eq!(rules(&check(&short)), vec![("liveness", "recovery")]);
        // The same jump on the destination's clock moves neither.
        let other = dl(with_jump(flap(1250, None, TIMING), "n2", 500 * MS, 50 * MS));
        assert_eq!(rules(&check(&other)), vec![("liveness", "recovery")]);
    }

    #[test]
    fn a_jump_that_may_give_up_a_healthy_connection_closes_the_window() {
        // The answer timeout (100 ms) exceeds the worst round trip (14 ms) by 86 ms: a jump
        // that long of either end, inside the obligation, may give up a healthy connection.
        assert_eq!(check(&with_jump(flap(1900, None, TIMING), "n2", 500 * MS, 86 * MS)), vec![]);
        assert_eq!(check(&with_jump(flap(1900, None, TIMING), "n1", 500 * MS, 86 * MS)), vec![]);
        // A shorter one cannot, and one outside the obligation excuses nothing.
        let short = with_jump(flap(1900, None, TIMING), "n2", 500 * MS, 85 * MS);
        assert_eq!(rules(&check(&short)), vec![("liveness", "recovery")]);
        let before = with_jump(flap(1900, None, TIMING), "n2", 200 * MS, 86 * MS);
        assert_eq!(rules(&check(&before)), vec![("liveness", "recovery")]);
    }

    /// The backoff that kept growing recovers at 1.9 s against a 1.212 s bound. A clock of the
    /// sender or the destination 50% slow from the start makes every wait of the bound, from
    /// the heal (300 ms) on, last twice as long: by 2.125 s, in time; 40% slow only to 1.824 s.
    /// 5% slow stretches it by 49 ms, and a fast clock whose answer timeout stays above the
    /// round trip not at all: still late.
    #[test]
    fn a_slow_clock_of_either_end_stretches_the_recovery_bound() {
        assert_eq!(check(&with_skew(flap(1900, None, TIMING), "n1", 0, -500_000)), vec![]);
        assert_eq!(check(&with_skew(flap(1900, None, TIMING), "n2", 0, -500_000)), vec![]);
        let v = only(&check(&with_skew(flap(1900, None, TIMING), "n1", 0, -400_000)), LivenessRule::Recovery);
        assert!(v.expected.contains("by 1.824334s"), "{}", v.expected);
        let small = with_skew(flap(1900, None, TIMING), "n1", 0, -50_000);
        assert_eq!(rules(&check(&small)), vec![("liveness", "recovery")]);
        let fast = with_skew(flap(1900, None, TIMING), "n1", 0, 400_000);
        assert_eq!(rules(&check(&fast)), vec![("liveness", "recovery")]);
    }

    /// A clock eight times as fast shortens the 100 ms answer timeout to 12.5 ms, within the
    /// worst round trip (14 ms): a healthy connection may be given up, which closes the window.
    #[test]
    fn a_clock_so_fast_its_answer_timeout_undercuts_a_round_trip_closes_the_window() {
        assert_eq!(check(&with_skew(flap(1900, None, TIMING), "n2", 500 * MS, 7_000_000)), vec![]);
        let after = with_skew(flap(1900, None, TIMING), "n2", 1_950 * MS, 7_000_000);
        assert_eq!(rules(&check(&after)), vec![("liveness", "recovery")], "after the obligation");
    }

    #[test]
    fn a_slow_sink_widens_the_bound_and_a_busy_one_lifts_it() {
        // 20 ms per accept, one event: the bound moves from 1212 to 1232 ms.
        let slow_sink = TransportTiming { sink_latency_max_us: 20 * MS, ..TIMING };
        assert_eq!(check(&flap(1232, None, slow_sink)), vec![]);
        let v = only(&check(&flap(1233, None, slow_sink)), LivenessRule::Recovery);
        assert!(v.expected.contains("by 1.232s"), "{}", v.expected);
        let busy = TransportTiming { sink_busy: true, ..TIMING };
        assert_eq!(check(&flap(1900, None, busy)), vec![], "busy answers have no bound");
    }

    #[test]
    fn a_refusal_is_an_answer_over_the_healed_link() {
        let refused = changed(
            flap(420, None, TIMING),
            |r| matches!(r, Record::ShipEnd { batch: 2, .. }),
            |r| {
                if let Record::ShipEnd { outcome, error, .. } = r {
                    *outcome = Outcome::Refused;
                    *error = Some("n2 does not own the shard".into());
                }
            },
        );
        let refused = without(refused, |r| {
            matches!(r, Record::Deliver { id: Some(2), .. } | Record::Ack { id: 2, .. })
        });
        assert!(!rules(&check(&refused)).contains(&("liveness", "recovery")));
    }

    /// `flap`'s run with n2 crashing at 100 ms and restarting at 300 ms instead of a cut and a
    /// heal: batch 2, begun at `begin` (ms) and in flight at the restart, ends `outcome` at
    /// 420 ms; batch 3, the slot's next ship, begins at 430 ms and returns Ok at `next_end`.
    fn across_a_crash(begin: Micros, outcome: Outcome, next_end: Micros) -> Vec<Record> {
        let mut tb = Tb::new(&["n1", "n2"]);
        tb.begin(10 * MS, "n1", 1, 1, "n2", &[1]).deliver(11 * MS, "n2", 1, "n1", 1);
        tb.ack(12 * MS, "n1", 1, "n2", 1).end(12 * MS, "n1", 1, 1, 0, Outcome::Ok);
        if begin < 100 {
            tb.begin(begin * MS, "n1", 1, 2, "n2", &[2]);
        }
        let pairs = vec![["n1".into(), "n2".into()], ["n2".into(), "n1".into()]];
        let crash = Box::new(FaultAction::Crash("n2".into()));
        let links = Box::new(FaultLinks { cut: pairs.clone(), healed: vec![] });
        tb.records.push(Record::Fault { t: 100 * MS, fault: "{crash: n2}".into(), action: crash, links });
        tb.life(100 * MS, "n2", 1, LifeState::Down);
        if begin >= 100 {
            tb.begin(begin * MS, "n1", 1, 2, "n2", &[2]);
        }
        let restart = Box::new(FaultAction::Restart("n2".into()));
        let links = Box::new(FaultLinks { cut: vec![], healed: pairs });
        tb.records.push(Record::Fault { t: 300 * MS, fault: "{restart: n2}".into(), action: restart, links });
        tb.life(300 * MS, "n2", 2, LifeState::Up);
        tb.end(420 * MS, "n1", 1, 2, 0, outcome);
        tb.begin(430 * MS, "n1", 1, 3, "n2", &[3]);
        tb.deliver(next_end * MS - MS, "n2", 2, "n1", 3).ack(next_end * MS, "n1", 1, "n2", 3);
        tb.end(next_end * MS, "n1", 1, 3, 0, Outcome::Ok);
        tb.phase(next_end * MS, Phase::Settle);
        tb.phase(next_end * MS + MS, Phase::End).workload(next_end * MS + MS, "n1", 3, 3).workload(
            next_end * MS + MS,
            "n2",
            0,
            0,
        );
        with_start(tb.build(), |s| s.transport = Some(TIMING))
    }

    #[test]
    fn a_call_in_flight_across_a_partition_may_end_ambiguous() {
        let ambiguous = changed(
            flap(420, None, TIMING),
            |r| matches!(r, Record::ShipEnd { batch: 2, .. }),
            |r| {
                if let Record::ShipEnd { outcome, error, .. } = r {
                    *outcome = Outcome::Ambiguous;
                    *error = Some("refused after an attempt that went unanswered".into());
                }
            },
        );
        let ambiguous = without(ambiguous, |r| {
            matches!(r, Record::Deliver { id: Some(2), .. } | Record::Ack { id: 2, .. })
        });
        assert!(!rules(&check(&ambiguous)).contains(&("liveness", "recovery")));
    }

    #[test]
    fn a_call_across_a_crash_of_its_destination_may_end_ambiguous_and_the_next_ship_is_judged() {
        // Ambiguous: the dead life may have had it. Batch 3 is judged instead, and is prompt.
        assert_eq!(check(&across_a_crash(90, Outcome::Ambiguous, 440)), vec![]);
        // Begun while n2 was down: the sender may not know its connection is dead yet.
        assert_eq!(check(&across_a_crash(150, Outcome::Ambiguous, 440)), vec![]);
        // The slot's next ship must still recover in time (bound 430 + ... from its start).
        let late = only(&check(&across_a_crash(90, Outcome::Ambiguous, 1900)), LivenessRule::Recovery);
        assert_eq!(event(&late), (3, "n1", 3, 0));
        // Any other failure across the crash is the call's own: judged.
        let v = only(&check(&across_a_crash(90, Outcome::NotDelivered, 440)), LivenessRule::Recovery);
        assert_eq!(event(&v), (2, "n1", 2, 0));
    }

    /// `records` with batch `batch`'s end made `Ambiguous` and its event never delivered.
    fn ambiguous(records: Vec<Record>, batch: u64, id: u64) -> Vec<Record> {
        let records = changed(
            records,
            |r| matches!(r, Record::ShipEnd { batch: b, .. } if *b == batch),
            |r| {
                if let Record::ShipEnd { outcome, error, .. } = r {
                    *outcome = Outcome::Ambiguous;
                    *error = Some("refused by a life that may not be the one it reached".into());
                }
            },
        );
        without(
            records,
            |r| matches!(r, Record::Deliver { id: Some(i), .. } | Record::Ack { id: i, .. } if *i == id),
        )
    }

    #[test]
    fn a_ship_begun_after_its_destination_restarted_may_answer_ambiguous_in_time() {
        // Batch 3 begins after n2's restart on a slot that heard nothing from the new life: its
        // connection may lead to the dead one. An ambiguous answer by the bound is an answer.
        let records = ambiguous(across_a_crash(90, Outcome::Ambiguous, 440), 3, 3);
        assert!(!rules(&check(&records)).contains(&("liveness", "recovery")));
        // One past the bound is late all the same.
        let late = ambiguous(across_a_crash(90, Outcome::Ambiguous, 1900), 3, 3);
        assert_eq!(event(&only(&check(&late), LivenessRule::Recovery)), (3, "n1", 3, 0));
        // After a partition the destination is the life the slot last heard from: judged.
        let mut tb = Tb::new(&["n1", "n2"]);
        tb.begin(10 * MS, "n1", 1, 1, "n2", &[1]).deliver(11 * MS, "n2", 1, "n1", 1);
        tb.ack(12 * MS, "n1", 1, "n2", 1).end(12 * MS, "n1", 1, 1, 0, Outcome::Ok);
        fault(&mut tb, 100 * MS, true);
        fault(&mut tb, 300 * MS, false);
        tb.begin(310 * MS, "n1", 1, 2, "n2", &[2]).end(420 * MS, "n1", 1, 2, 0, Outcome::Ambiguous);
        tb.phase(430 * MS, Phase::Settle).phase(431 * MS, Phase::End);
        tb.workload(431 * MS, "n1", 2, 2).workload(431 * MS, "n2", 0, 0);
        let records = with_start(tb.build(), |s| s.transport = Some(TIMING));
        assert_eq!(event(&only(&check(&records), LivenessRule::Recovery)), (2, "n1", 2, 0));
    }

    /// Concurrent calls on one slot: batches 2 and 3 are in flight across a cut (100 ms) and
    /// its heal (300 ms); batch 2, the first on the stream, ends `first` at 320 ms; batch 4
    /// begins at 330 ms behind batch 3, which returns Ok at 1 s; batch 4 returns Ok at `end`.
    fn concurrent(first: Outcome, end: Micros) -> Vec<Record> {
        let mut tb = Tb::new(&["n1", "n2"]);
        tb.begin(10 * MS, "n1", 1, 1, "n2", &[1]).deliver(11 * MS, "n2", 1, "n1", 1);
        tb.ack(12 * MS, "n1", 1, "n2", 1).end(12 * MS, "n1", 1, 1, 0, Outcome::Ok);
        fault(&mut tb, 100 * MS, true);
        tb.begin(110 * MS, "n1", 1, 2, "n2", &[2]).begin(120 * MS, "n1", 1, 3, "n2", &[3]);
        fault(&mut tb, 300 * MS, false);
        tb.end(320 * MS, "n1", 1, 2, 0, first).begin(330 * MS, "n1", 1, 4, "n2", &[4]);
        tb.deliver(999 * MS, "n2", 1, "n1", 3).ack(1_000 * MS, "n1", 1, "n2", 3);
        tb.end(1_000 * MS, "n1", 1, 3, 0, Outcome::Ok);
        tb.deliver(end * MS - MS, "n2", 1, "n1", 4).ack(end * MS, "n1", 1, "n2", 4);
        tb.end(end * MS, "n1", 1, 4, 0, Outcome::Ok);
        tb.phase(end * MS, Phase::Settle).phase(end * MS + MS, Phase::End);
        tb.workload(end * MS + MS, "n1", 4, 4).workload(end * MS + MS, "n2", 0, 0);
        with_start(tb.build(), |s| s.transport = Some(TIMING))
    }

    #[test]
    fn concurrent_calls_on_a_slot_judge_the_first_and_count_what_is_ahead_of_a_later_one() {
        // The earliest call in flight across the heal is the slot's first ship over it.
        let v = only(&check(&concurrent(Outcome::NotDelivered, 1_000)), LivenessRule::Recovery);
        assert_eq!(event(&v), (2, "n1", 2, 0));
        // It ended ambiguous: batch 4, begun behind batch 3, is judged. Ahead of it: batch 3's
        // event and a window of frames of calls that gave up, so n = 1 + 1 + 64 (two windows):
        // with the ack timeout adapted up to 141 ms, F = max(350, 330 + 141) = 471, D = min(1250,
        // 2 × (471 − 12) + 10) = 928, 6 hops of 6 ms and 2 ticks: 1437 ms (its own event alone
        // would give 1425 ms).
        assert_eq!(check(&concurrent(Outcome::Ambiguous, 1_437)), vec![]);
        let v = only(&check(&concurrent(Outcome::Ambiguous, 1_438)), LivenessRule::Recovery);
        assert_eq!(event(&v), (4, "n1", 4, 0));
        assert!(v.expected.contains("by 1.437s"), "{}", v.expected);
    }
}
