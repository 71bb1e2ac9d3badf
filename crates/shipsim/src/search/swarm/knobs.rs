//! The swarm's per-setting dimensions: every scenario setting that changes what runs and that
//! the older dimensions (`swarm.rs`) leave alone, each switched on by its own draw. Every value
//! is drawn whether its knob is on or not, so turning one on never shifts another's draw.
//!
//! Each knob keeps a correct system passing: budgets that a change could outgrow are grown
//! with it (concurrency's deadline), and settings are only moved in the direction that keeps
//! the scenario's own budgets honest (fewer events, faster rates, smaller batches, larger
//! pieces, windows that still hold a batch, shorter but still workable connect timeouts) and
//! its power to find what it is aimed at (a reconnect backoff's cap never comes down).
//! A knob that would make the scenario invalid is left as it was.

use std::time::Duration;

use rand::Rng;
use rand::rngs::SmallRng;

use crate::scenario::{self, FaultAction, Scenario, SizeRange, TransportKind, Workload, to_yaml};

/// Shard counts a variant may get.
const SHARDS: [u32; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Frame limits a variant may get (when every frame of its workload fits).
const MAX_FRAMES: [u64; 3] = [64 << 10, 256 << 10, 1 << 20];

/// Busy rates a sink that never answered busy may get.
const BUSY: [f64; 2] = [0.02, 0.1];

/// First reconnect delays a variant may get, in milliseconds.
const BACKOFF_MIN_MS: [u64; 4] = [5, 10, 20, 50];

/// Clock jumps a variant may get, in milliseconds: within a backoff, past an ack timeout, past
/// a deadline.
const JUMP_MS: [u64; 4] = [20, 150, 600, 2_500];

/// One seed's draws: `Some` when the knob is on, with the value it sets.
pub(super) struct Knobs {
    concurrency: Option<f64>,
    grpc: bool,
    connections: Option<usize>,
    max_unacked: Option<f64>,
    connect_timeout: Option<f64>,
    backoff: Option<(u64, u32)>,
    max_frame: Option<u64>,
    busy: Option<(f64, usize)>,
    events: Option<f64>,
    rate: Option<f64>,
    batch: Option<(f64, f64)>,
    keys: Option<f64>,
    senders: Option<u64>,
    payload: Option<f64>,
    segment: Option<f64>,
    shards: Option<u32>,
    members: Option<u64>,
    /// A clock jump: the node (bits), when (a fraction of the healthy workload's time), how far;
    /// or, when the last is `Some`, a skew (which, of [`scenario::DRAWN_SKEWS_PPM`]) instead of
    /// the jump.
    clock: Option<(u64, f64, usize, Option<usize>)>,
}

/// How many knobs [`Knobs::draw`] draws, in its order: [`Knobs::one`] takes an index below it.
pub(super) const COUNT: usize = 18;

/// `value` when a draw with probability `p` comes up.
fn on<T>(rng: &mut SmallRng, p: f64, value: T) -> Option<T> {
    rng.random_bool(p).then_some(value)
}

/// A knob's value drawn by `draw`, then on with probability `p`: the draws [`on`] makes after
/// its value, in one line.
fn knob<T>(rng: &mut SmallRng, p: f64, draw: impl FnOnce(&mut SmallRng) -> T) -> Option<T> {
    let value = draw(rng);
    on(rng, p, value)
}

/// The clock knob, on with probability `p`: a jump's draws, then, drawn last and only when the
/// knob is on (so that every other draw of a seed, and whether its clock knob is on, stay what
/// they were), whether a third of the jumps become skews, and which.
fn draw_clock(rng: &mut SmallRng, p: f64) -> Option<(u64, f64, usize, Option<usize>)> {
    let jump = knob(rng, p, |r| (r.random(), r.random_range(0.0..1.0), r.random_range(0..JUMP_MS.len())));
    let skew = jump.is_some() && rng.random_bool(1.0 / 3.0);
    let skew = skew.then(|| rng.random_range(0..scenario::DRAWN_SKEWS_PPM.len()));
    jump.map(|(bits, when, pick)| (bits, when, pick, skew))
}

impl Knobs {
    /// Every knob's draw, in a fixed order, each on with its own probability.
    pub(super) fn draw(rng: &mut SmallRng) -> Knobs {
        Knobs::draw_with(rng, |_, p| p)
    }

    /// Knob `which` (below [`COUNT`]) on with a value drawn from `rng`, every other off:
    /// one swarm dimension re-drawn, for guided exploration's mutations (`guided/mutate.rs`).
    pub(super) fn one(rng: &mut SmallRng, which: usize) -> Knobs {
        Knobs::draw_with(rng, |i, _| if i == which { 1.0 } else { 0.0 })
    }

    /// Every knob's draw, in a fixed order; knob `i`, whose swarm probability is `p`, is on
    /// with probability `chance(i, p)`. The order of the draws is the swarm's whatever
    /// `chance` says, so a seed's variant never changes.
    fn draw_with(rng: &mut SmallRng, chance: impl Fn(usize, f64) -> f64) -> Knobs {
        let q = 0.25;
        Knobs {
            concurrency: {
                let v = rng.random_range(0.0..1.0);
                on(rng, chance(0, 0.5), v)
            },
            grpc: rng.random_bool(chance(1, q)),
            connections: {
                let v = rng.random_range(1..=4);
                on(rng, chance(2, q), v)
            },
            max_unacked: {
                let v = rng.random_range(0.0..=1.0);
                on(rng, chance(3, q), v)
            },
            connect_timeout: {
                let v = rng.random_range(0.25..=1.0);
                on(rng, chance(4, q), v)
            },
            backoff: {
                let v = (BACKOFF_MIN_MS[rng.random_range(0..4)], rng.random_range(2..=7));
                on(rng, chance(5, q), v)
            },
            max_frame: {
                let v = MAX_FRAMES[rng.random_range(0..MAX_FRAMES.len())];
                on(rng, chance(6, q), v)
            },
            busy: {
                let v = (rng.random_range(0.5..2.0), rng.random_range(0..BUSY.len()));
                on(rng, chance(7, 0.125), v)
            },
            events: {
                let v = rng.random_range(0.5..=1.0);
                on(rng, chance(8, q), v)
            },
            rate: {
                let v = rng.random_range(1.0..3.0);
                on(rng, chance(9, q), v)
            },
            batch: {
                let v = (rng.random_range(0.0..=1.0), rng.random_range(0.0..=1.0));
                on(rng, chance(10, q), v)
            },
            keys: {
                let v = rng.random_range(0.25..2.0);
                on(rng, chance(11, q), v)
            },
            senders: {
                let v = rng.random();
                on(rng, chance(12, q), v)
            },
            payload: {
                let v = rng.random_range(0.0..1.0);
                on(rng, chance(13, q), v)
            },
            segment: knob(rng, chance(14, q), |r| r.random_range(1.0..4.0)),
            shards: knob(rng, chance(15, q), |r| SHARDS[r.random_range(0..SHARDS.len())]),
            members: knob(rng, chance(16, q), |r| r.random()),
            clock: draw_clock(rng, chance(17, 0.125)),
        }
    }

    /// Sets the knobs that are on: the cluster, the workload, the bytes, the transport, and
    /// concurrency last (its deadline grows with the connections it has).
    pub(super) fn apply(&self, s: &mut Scenario) {
        if let Some(shards) = self.shards {
            s.shards = shards;
        }
        if let Some(bits) = self.members {
            keep_valid(s, |s| s.members = Some(toggle_member(s, bits)));
        }
        self.apply_workload(s);
        if let Some(factor) = self.segment
            && let Some(segment) = &mut s.network.segment
        {
            segment.max =
                ((segment.max as f64 * factor) as u64).clamp(segment.min, scenario::Network::MAX_SEGMENT);
        }
        if let Some(max_frame) = self.max_frame {
            keep_valid(s, |s| s.transport.max_frame = max_frame);
        }
        self.apply_transport(s);
        if let Some(fraction) = self.concurrency {
            set_concurrency(s, fraction);
        }
        match self.clock {
            Some((bits, when, _, Some(skew))) => {
                keep_valid(s, |s| add_clock_skew(s, bits, when, scenario::DRAWN_SKEWS_PPM[skew]))
            }
            Some((bits, when, pick, None)) => {
                keep_valid(s, |s| add_clock_jump(s, bits, when, Duration::from_millis(JUMP_MS[pick])))
            }
            None => {}
        }
    }

    fn apply_workload(&self, s: &mut Scenario) {
        let w = &mut s.workload;
        if let Some(factor) = self.events {
            w.events = ((w.events as f64 * factor).round() as u64).max(1).min(w.events);
        }
        if let Some(factor) = self.rate {
            w.rate *= factor;
        }
        if let Some((up_to, down_to)) = self.batch {
            let max = w.batch.min + (f64::from(w.batch.max - w.batch.min) * up_to) as u32;
            let min = 1 + (f64::from(w.batch.min - 1) * down_to) as u32;
            w.batch = scenario::BatchSize { min, max };
        }
        if let Some(factor) = self.keys {
            w.keys = ((f64::from(w.keys) * factor).round() as u32).max(1);
        }
        if let Some(bits) = self.senders {
            let mut senders = w.senders.clone().unwrap_or_else(|| s.nodes.clone());
            if senders.len() > 1 {
                senders.remove((bits % senders.len() as u64) as usize);
                s.workload.senders = Some(senders);
            }
        }
        // A workload without payload sizes gets some only over whole writes: frames of
        // kilobytes cut into small pieces outlast the ack timeouts of many scenarios.
        if let Some(fraction) = self.payload
            && (s.workload.payload.is_some() || s.network.segment.is_none())
        {
            keep_valid(s, |s| s.workload.payload = Some(payload(s.workload.payload, fraction)));
        }
    }

    fn apply_transport(&self, s: &mut Scenario) {
        let t = &mut s.transport;
        if let Some(connections) = self.connections {
            t.connections = connections;
        }
        if let Some(fraction) = self.max_unacked {
            // Never below what one batch needs (or the scenario's own, if that is less).
            let low = t.max_unacked.min(s.workload.batch.max.max(8) as usize);
            let high = t.max_unacked.max(64);
            t.max_unacked = low + ((high - low) as f64 * fraction).round() as usize;
        }
        if let Some(factor) = self.connect_timeout {
            // Never down to where a connection attempt on the slowest link could not finish.
            let floor = worst_latency(s) * 4 + Duration::from_millis(10);
            let t = &mut s.transport;
            t.connect_timeout = t.connect_timeout.mul_f64(factor).max(t.connect_timeout.min(floor));
        }
        let t = &mut s.transport;
        if let Some((min_ms, doublings)) = self.backoff {
            // A new first delay; the cap never comes down (a small cap would hide a backoff
            // that never restarts, which only a cap far above a short outage shows).
            let min = Duration::from_millis(min_ms);
            t.backoff = scenario::LatencyRange { min, max: (min * (1 << doublings)).max(t.backoff.max) };
        }
        if self.grpc && t.kind.is_none() {
            t.kind = Some(TransportKind::Grpc);
        }
        if let Some((factor, pick)) = self.busy {
            s.sink.busy = if s.sink.busy == 0.0 { BUSY[pick] } else { (s.sink.busy * factor).min(0.3) };
        }
    }
}

/// `change` applied to `s` if the result is still a valid scenario that fits its transport's
/// limits; `s` unchanged otherwise.
fn keep_valid(s: &mut Scenario, change: impl FnOnce(&mut Scenario)) {
    let mut changed = s.clone();
    change(&mut changed);
    if crate::parse(&to_yaml(&changed), "<swarm>").is_ok() {
        *s = changed;
    }
}

/// A `clock` fault: the node picked by `bits` jumps `jump` ahead while the workload runs
/// (`when` of the way through it on a healthy network), after the faults at or before then.
fn add_clock_jump(s: &mut Scenario, bits: u64, when: f64, jump: Duration) {
    let node = s.nodes[(bits % s.nodes.len() as u64) as usize].clone();
    let at = crate::sim::healthy_time(s).min(s.duration).mul_f64(when);
    insert_fault(s, at, FaultAction::Clock { node, jump });
}

/// A `clock` skew: the node picked by `bits` runs `ppm` fast (slow, below 0) from `when` of the
/// way through the workload for half the healthy workload's time, then at the common pace
/// again (`skew: 0%`), so that the settle phase runs at the pace the budget assumes.
fn add_clock_skew(s: &mut Scenario, bits: u64, when: f64, ppm: i64) {
    let node = s.nodes[(bits % s.nodes.len() as u64) as usize].clone();
    let healthy = crate::sim::healthy_time(s).min(s.duration);
    let at = whole_ms(healthy.mul_f64(when));
    let until = (at + healthy / 2).min(s.duration);
    insert_fault(s, at, FaultAction::Skew { node: node.clone(), ppm });
    insert_fault(s, until, FaultAction::Skew { node, ppm: 0 });
}

/// Inserts `action` at `at`, in whole milliseconds (the variant is written out as YAML and read
/// back), after the faults at or before then.
fn insert_fault(s: &mut Scenario, at: Duration, action: FaultAction) {
    let at = whole_ms(at);
    let pos = s.faults.partition_point(|f| f.at <= at);
    s.faults.insert(pos, scenario::Fault { at, action, line: 0 });
}

/// `d` less its part below a millisecond.
fn whole_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// The initial members with one node, picked by `bits`, put in or taken out (never the last).
fn toggle_member(s: &Scenario, bits: u64) -> Vec<String> {
    let mut members = s.initial_members();
    let node = &s.nodes[(bits % s.nodes.len() as u64) as usize];
    match members.iter().position(|m| m == node) {
        Some(at) if members.len() > 1 => {
            members.remove(at);
        }
        Some(_) => {}
        None => members.push(node.clone()),
    }
    members
}

/// Payload sizes: 16 B up to 256 B..4 KiB for a workload without them; its own, the top cut
/// down to a quarter at most, otherwise.
fn payload(own: Option<SizeRange>, fraction: f64) -> SizeRange {
    match own {
        None => SizeRange { min: 16, max: 256 << (fraction * 5.0) as u32 },
        Some(range) => {
            SizeRange { max: ((range.max as f64 * (0.25 + 0.75 * fraction)) as u64).max(range.min), ..range }
        }
    }
}

/// The slowest a message can be in `s`: the network's latency or a `latency` fault's.
fn worst_latency(s: &Scenario) -> Duration {
    let faults = s.faults.iter().filter_map(|f| match &f.action {
        FaultAction::Latency { value, .. } => Some(value.max),
        _ => None,
    });
    faults.fold(s.network.latency.max, Duration::max)
}

/// Route calls in flight per node: 2..=16 for a scenario with one at a time, 1..=2× its own
/// otherwise (`fraction` picks within), with the deadline grown to match.
fn set_concurrency(s: &mut Scenario, fraction: f64) {
    let own = s.workload.concurrency;
    let (low, high) = if own == 1 { (2, 16) } else { (1, (own * 2).min(Workload::MAX_CONCURRENCY)) };
    set_concurrency_to(s, low + (f64::from(high - low) * fraction).round() as u32);
}

/// Sets `s`'s route calls in flight per node to `concurrency` and grows its deadline with
/// them: each call that can be ahead of a call on its connection may take up to a deadline,
/// so the deadline grows by one per such call (never shrinks). The settle phase demands that
/// every call succeed, and a queue of calls is not a failure. Shared with the proptest
/// strategies, so both keep the budgets honest the same way.
pub(crate) fn set_concurrency_to(s: &mut Scenario, concurrency: u32) {
    let own = s.workload.concurrency;
    s.workload.concurrency = concurrency;
    let connections = u32::try_from(s.transport.connections).unwrap_or(u32::MAX).max(1);
    let (ahead, own_ahead) = ((concurrency - 1).div_ceil(connections), (own - 1).div_ceil(connections));
    if ahead > own_ahead {
        s.transport.deadline = s.transport.deadline * (1 + ahead) / (1 + own_ahead);
    }
}
