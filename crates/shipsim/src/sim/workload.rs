//! What each node asks its router to do: `events` keyed events at `rate`, in
//! route calls of `batch` events, over `keys` keys.
//!
//! A workload survives its node's crashes: the next event number is kept by
//! the recorder (as a real producer keeps its position in a durable log) and
//! advanced when a call is planned, before anything is shipped. A restarted
//! node resumes after the call it was in: events of that call that were not
//! shipped before the crash are lost with the process, never shipped twice. With
//! `concurrency` above 1 a node has up to that many calls in flight (`node.rs`), each planned,
//! and its events counted in the position, before it ships: a crash cuts them all short and
//! the restarted node resumes after the last one planned.
//!
//! With `payload: 16B..256KiB` each payload gets a `"pad"` string that brings it to a size
//! drawn log-uniformly by octave ([`seeds::log_uniform`]) from its own RNG stream, split off
//! the node's, so small and large payloads both occur. The pad is a 64-character pattern
//! rotated by the event's sequence number: cheap to write (whole slices of one static
//! string), still valid JSON carrying the `id` first, and different in every position, so a
//! transport that shifts, drops or zeroes bytes inside a payload changes it.

use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::payload::{event_id, payload, push_decimal};
use crate::scenario::Workload;
use crate::seeds;

/// One route call's worth of events.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Call {
    /// The first event's sequence number on its node.
    pub first_seq: u64,
    /// `(key, payload)` pairs, each payload a JSON object carrying its
    /// event id: `{"id":N,"src":"node","seq":S}`, with `,"pad":"…"` before
    /// the closing brace when the workload sets payload sizes.
    pub items: Vec<(String, Vec<u8>)>,
    /// When the call is due, from the first call of this process life: the
    /// events routed before it in this life at the workload's rate. The rate
    /// is a schedule, not a pause after each call: a call that returns early
    /// waits for the next one's time, and a node that falls behind (its calls
    /// take longer than the rate allows, e.g. on a slow network) routes the
    /// next call at once, so the achieved rate falls short only when the
    /// calls themselves are too slow. The report says when it did.
    pub due: Duration,
}

/// Generates a node's calls from a seeded RNG.
pub(super) struct Generator {
    /// The node's name as a JSON string, quotes included.
    src_json: String,
    node_index: usize,
    workload: Workload,
    rng: SmallRng,
    /// The first event of this life's first call: where its schedule starts.
    life_first: Option<u64>,
    /// Draws payload sizes, when the workload sets them.
    sizes: Option<SmallRng>,
}

impl Generator {
    /// A generator for `node` (at `node_index` in the scenario), drawing from `rng`. A node
    /// that is not one of the workload's `senders` has no calls.
    ///
    /// Payload sizes come from a stream split off `rng` (one draw, taken only when the workload
    /// sets sizes, so workloads without them generate what they always did).
    pub(super) fn new(node: &str, node_index: usize, mut workload: Workload, mut rng: SmallRng) -> Self {
        workload.events = workload.events_of(node);
        let src_json = serde_json::Value::from(node).to_string();
        let sizes = workload.payload.map(|_| SmallRng::seed_from_u64(rng.random()));
        Self { src_json, node_index, workload, rng, sizes, life_first: None }
    }

    /// The call starting at event `next_seq`, or `None` when the workload is done.
    pub(super) fn call(&mut self, next_seq: u64) -> Option<Call> {
        let remaining = self.workload.events.checked_sub(next_seq).filter(|&n| n > 0)?;
        let size = self.rng.random_range(self.workload.batch.min..=self.workload.batch.max);
        let size = u64::from(size).min(remaining);
        let items = (next_seq..next_seq + size)
            .map(|seq| {
                let mut key = String::with_capacity(8);
                key.push('k');
                push_decimal(&mut key, u64::from(self.rng.random_range(0..self.workload.keys)));
                let size = match (&mut self.sizes, self.workload.payload) {
                    (Some(rng), Some(range)) => seeds::log_uniform(rng, range.min, range.max),
                    _ => 0,
                };
                let id = event_id(self.node_index, seq);
                (key, payload(id, &self.src_json, seq, usize::try_from(size).unwrap_or(usize::MAX)))
            })
            .collect();
        let first = *self.life_first.get_or_insert(next_seq);
        let due = Duration::from_secs_f64(next_seq.saturating_sub(first) as f64 / self.workload.rate);
        Some(Call { first_seq: next_seq, items, due })
    }
}

/// How long the workload would take on a healthy network: the rate's
/// schedule, or the calls' round trips when those are slower. A call of the
/// mean batch size reaches at most that many peers (and no more than there
/// are), one round trip each (2 × the base latency's maximum, plus a tick
/// each way for the simulation's grain), and each event's accept by the receiving
/// application (`sink.latency`'s maximum). The runner measures the settle
/// budget from this time when it comes after the last fault: a steady
/// workload longer than `settle` is not a liveness failure. A node whose clock
/// a `skew` slows runs its schedule, accepts and timers at its pace: the time
/// stretches by the slowest skew of the scenario.
pub(crate) fn healthy_time(scenario: &crate::scenario::Scenario) -> Duration {
    let slowest = scenario.faults.iter().filter_map(|f| match f.action {
        crate::scenario::FaultAction::Skew { ppm, .. } => Some(ppm),
        _ => None,
    });
    let time = steady_time(scenario);
    match slowest.min() {
        Some(ppm) if ppm < 0 => time.mul_f64(1e6 / (1e6 + ppm as f64)),
        _ => time,
    }
}

/// [`healthy_time`] on clocks at the common pace.
fn steady_time(scenario: &crate::scenario::Scenario) -> Duration {
    let w = &scenario.workload;
    let events = scenario.nodes.iter().map(|n| w.events_of(n)).max().unwrap_or(0);
    if events == 0 {
        return Duration::ZERO;
    }
    let mean_batch = (f64::from(w.batch.min) + f64::from(w.batch.max)) / 2.0;
    let calls = (events as f64 / mean_batch).ceil();
    let peers = mean_batch.min(scenario.nodes.len().saturating_sub(1) as f64);
    let round_trip = 2.0 * (scenario.network.latency.max + super::clock::TICK).as_secs_f64();
    // Each event of a call waits for its receiver's accept before its ack.
    let accepts = mean_batch * scenario.sink.latency.max.as_secs_f64();
    let per_call = (mean_batch / w.rate).max(peers * round_trip + accepts);
    let schedule = events as f64 / w.rate;
    Duration::from_secs_f64(schedule.max(calls * per_call))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::*;
    use crate::scenario::{BatchSize, SizeRange};
    use shipsim_trace::EventId;

    fn workload(events: u64) -> Workload {
        Workload {
            events,
            rate: 100.0,
            batch: BatchSize { min: 2, max: 5 },
            keys: 8,
            senders: None,
            payload: None,
            concurrency: 1,
        }
    }

    #[test]
    fn calls_cover_every_event_once_and_stop() {
        let mut generator = Generator::new("n1", 3, workload(23), crate::seeds::rng(7, &[b"n1"]));
        let mut next = 0;
        let mut seen = Vec::new();
        while let Some(call) = generator.call(next) {
            assert_eq!(call.first_seq, next);
            assert!((1..=5).contains(&call.items.len()));
            for (key, payload) in &call.items {
                assert!(key.starts_with('k'));
                let json: serde_json::Value = serde_json::from_slice(payload).expect("a JSON payload");
                assert_eq!(
                    json,
                    serde_json::json!({ "id": shipsim_trace::payload_id(payload).unwrap(), "src": "n1", "seq": json["seq"] })
                );
                seen.push(shipsim_trace::payload_id(payload).expect("id"));
            }
            next += call.items.len() as u64;
        }
        let expected: Vec<EventId> = (0..23).map(|seq| event_id(3, seq)).collect();
        assert_eq!(seen, expected);
    }

    /// A slow clock stretches the healthy time by its pace; a fast one, or none, does not.
    #[test]
    fn a_slow_clock_stretches_the_healthy_time() {
        let text = |skew: &str| {
            format!(
                "name: h\nnodes: [n1, n2]\nworkload: {{events: 100, rate: 100/s}}\n\
                 faults:\n- {{at: 1s, clock: {{node: n2, skew: {skew}}}}}\n"
            )
        };
        let time = |skew: &str| healthy_time(&crate::scenario::parse(&text(skew), "h.yaml").unwrap());
        assert_eq!(time("-50%"), time("0%") * 2);
        assert_eq!(time("+50%"), time("0%"));
        assert!(time("0%") >= Duration::from_secs(1), "{:?}", time("0%"));
    }

    #[test]
    fn only_senders_route() {
        let only_n2 = Workload { senders: Some(vec!["n2".into()]), ..workload(10) };
        assert_eq!(Generator::new("n1", 0, only_n2.clone(), crate::seeds::rng(1, &[b"n1"])).call(0), None);
        let mut n2 = Generator::new("n2", 1, only_n2, crate::seeds::rng(1, &[b"n2"]));
        assert!(n2.call(0).is_some());
        assert!(n2.call(10).is_none());
    }

    #[test]
    fn decimals_read_as_format_writes_them() {
        for n in [0, 7, 10, 99, 1234567890, u64::MAX] {
            let mut out = String::from("x");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("x{n}"));
        }
    }

    #[test]
    fn same_seed_same_calls() {
        let a = Generator::new("n1", 0, workload(50), crate::seeds::rng(1, &[b"n1"])).call(0);
        let b = Generator::new("n1", 0, workload(50), crate::seeds::rng(1, &[b"n1"])).call(0);
        let c = Generator::new("n1", 0, workload(50), crate::seeds::rng(2, &[b"n1"])).call(0);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn calls_are_due_on_the_rates_schedule_from_the_lifes_first_call() {
        let mut generator = Generator::new("n1", 0, workload(50), crate::seeds::rng(1, &[b"n1"]));
        let mut seq = 0;
        while let Some(call) = generator.call(seq) {
            assert_eq!(call.due, Duration::from_secs_f64(seq as f64 / 100.0), "call at {seq}");
            seq += call.items.len() as u64;
        }
        assert_eq!(seq, 50);
        // A restarted life resumes at event 30: its schedule starts again there.
        let mut restarted = Generator::new("n1", 0, workload(50), crate::seeds::rng(2, &[b"n1"]));
        let first = restarted.call(30).unwrap();
        assert_eq!(first.due, Duration::ZERO);
        let next = restarted.call(30 + first.items.len() as u64).unwrap();
        assert_eq!(next.due, Duration::from_secs_f64(first.items.len() as f64 / 100.0));
    }

    #[test]
    fn a_healthy_workload_takes_its_schedule_or_its_round_trips() {
        let mut scenario = crate::scenario::parse(
            "name: t\nnodes: [n1, n2, n3]\nworkload: {events: 2000, rate: 200/s, batch: 4..8}\n",
            "t.yaml",
        )
        .unwrap();
        // 2000 events at 200/s: 10 s of schedule (334 calls of 6, 30 ms apart);
        // their 1 ms round trips fit in it.
        assert_eq!(healthy_time(&scenario), Duration::from_secs_f64(334.0 * 0.03));
        // 40 ms latency: each call of 6 events reaches up to 2 peers, 2 × 82 ms.
        scenario.network.latency = crate::scenario::LatencyRange::fixed(Duration::from_millis(40));
        let slow = healthy_time(&scenario);
        assert!(slow > Duration::from_secs(50) && slow < Duration::from_secs(60), "{slow:?}");
        scenario.workload.senders = Some(vec![]);
        assert_eq!(healthy_time(&scenario), Duration::ZERO, "nobody sends");
    }

    #[test]
    fn padded_payloads_have_the_drawn_size_and_stay_json_with_their_id() {
        let sized = Workload { payload: Some(SizeRange { min: 16, max: 64 << 10 }), ..workload(300) };
        let mut generator = Generator::new("n1", 2, sized, crate::seeds::rng(5, &[b"n1"]));
        let (mut next, mut lengths) = (0, Vec::new());
        while let Some(call) = generator.call(next) {
            for (_, payload) in &call.items {
                let json: serde_json::Value = serde_json::from_slice(payload).expect("a JSON payload");
                let id = shipsim_trace::payload_id(payload).expect("the id is read");
                assert_eq!(json["id"], id);
                assert_eq!(json["seq"], next);
                lengths.push(payload.len());
                next += 1;
            }
        }
        assert!(lengths.iter().all(|&n| n <= 64 << 10));
        assert!(lengths.iter().any(|&n| n < 64), "small payloads occur: {lengths:?}");
        assert!(lengths.iter().any(|&n| n > 8 << 10), "large payloads occur");
        // A size at least the compact length plus the pad field is met exactly.
        for size in [36, 37, 100, 1000, 4096] {
            assert_eq!(payload(7, r#""n1""#, 3, size).len(), size);
        }
        // Below it: the compact payload, unpadded.
        assert_eq!(payload(7, r#""n1""#, 3, 10), br#"{"id":7,"src":"n1","seq":3}"#);
        assert_eq!(payload(7, r#""n1""#, 3, 35), br#"{"id":7,"src":"n1","seq":3}"#);
        // Neighbouring events pad differently (a shifted pad would show).
        assert_ne!(payload(7, r#""n1""#, 3, 200)[40..], payload(8, r#""n1""#, 4, 200)[40..]);
    }

    #[test]
    fn without_payload_sizes_the_calls_are_unchanged() {
        let a = Generator::new("n1", 0, workload(50), crate::seeds::rng(1, &[b"n1"])).call(0).unwrap();
        assert!(a.items.iter().all(|(_, p)| !p.windows(5).any(|w| w == b"\"pad\"")));
        let mut rng = crate::seeds::rng(1, &[b"n1"]);
        let size = rng.random_range(2..=5u32);
        assert_eq!(a.items.len(), size as usize, "the first draw is still the batch size");
    }

    #[test]
    fn the_payload_bound_covers_every_generated_payload() {
        let nodes: Vec<String> = vec!["n1".into(), "node-with-a-long-name".into()];
        let sized = Workload { payload: Some(SizeRange { min: 10, max: 300 }), ..workload(1000) };
        let bound = payload_len_bound(&sized, &nodes);
        assert_eq!(bound, 300.max(payload_len_bound(&workload(1000), &nodes)));
        for (i, node) in nodes.iter().enumerate() {
            let mut generator = Generator::new(node, i, sized.clone(), crate::seeds::rng(2, &[b"x"]));
            let mut next = 0;
            while let Some(call) = generator.call(next) {
                next += call.items.len() as u64;
                assert!(call.items.iter().all(|(_, p)| p.len() as u64 <= bound));
            }
        }
        let compact_last = payload(event_id(1, 999), r#""node-with-a-long-name""#, 999, 0).len() as u64;
        assert_eq!(payload_len_bound(&workload(1000), &nodes), compact_last);
    }
}
