//! What each node asks its router to do: `events` keyed events at `rate`, in
//! route calls of `batch` events, over `keys` keys.
//!
//! A workload survives its node's crashes: the next event number is kept by
//! the recorder (as a real producer keeps its position in a durable log) and
//! advanced when a call is planned, before anything is shipped. A restarted
//! node resumes after the call it was in: events of that call that were not
//! shipped before the crash are lost with the process, never shipped twice.

use std::time::Duration;

use rand::Rng;
use rand::rngs::SmallRng;

use crate::scenario::Workload;
use crate::trace::EventId;

/// Bits of an event id below the node's index: 2^40 events per node.
const SEQ_BITS: u32 = 40;

/// The id of a node's `seq`-th event: unique across the run, and readable.
pub fn event_id(node_index: usize, seq: u64) -> EventId {
    ((node_index as u64) << SEQ_BITS) | seq
}

/// One route call's worth of events.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The first event's sequence number on its node.
    pub first_seq: u64,
    /// `(key, payload)` pairs, each payload a JSON object carrying its
    /// event id: `{"id":N,"src":"node","seq":S}`.
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
pub struct Generator {
    /// The node's name as a JSON string, quotes included.
    src_json: String,
    node_index: usize,
    workload: Workload,
    rng: SmallRng,
    /// The first event of this life's first call: where its schedule starts.
    life_first: Option<u64>,
}

impl Generator {
    /// A generator for `node` (at `node_index` in the scenario), drawing from `rng`. A node
    /// that is not one of the workload's `senders` has no calls.
    pub fn new(node: &str, node_index: usize, mut workload: Workload, rng: SmallRng) -> Self {
        workload.events = workload.events_of(node);
        let src_json = serde_json::Value::from(node).to_string();
        Self { src_json, node_index, workload, rng, life_first: None }
    }

    /// The call starting at event `next_seq`, or `None` when the workload is done.
    pub fn call(&mut self, next_seq: u64) -> Option<Call> {
        let remaining = self.workload.events.checked_sub(next_seq).filter(|&n| n > 0)?;
        let size = self.rng.random_range(self.workload.batch.min..=self.workload.batch.max);
        let size = u64::from(size).min(remaining);
        let items = (next_seq..next_seq + size)
            .map(|seq| {
                let mut key = String::with_capacity(8);
                key.push('k');
                push_decimal(&mut key, u64::from(self.rng.random_range(0..self.workload.keys)));
                // Written directly (it is the same JSON as a serde_json
                // object of these fields in this order): building a
                // `serde_json::Value` per event cost more than shipping it.
                let mut payload = String::with_capacity(40 + self.src_json.len());
                payload.push_str(r#"{"id":"#);
                push_decimal(&mut payload, event_id(self.node_index, seq));
                payload.push_str(r#","src":"#);
                payload.push_str(&self.src_json);
                payload.push_str(r#","seq":"#);
                push_decimal(&mut payload, seq);
                payload.push('}');
                (key, payload.into_bytes())
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
/// each way for the simulation's grain). The runner measures the settle
/// budget from this time when it comes after the last fault: a steady
/// workload longer than `settle` is not a liveness failure.
pub fn healthy_time(scenario: &crate::scenario::Scenario) -> Duration {
    let w = &scenario.workload;
    let events = scenario.nodes.iter().map(|n| w.events_of(n)).max().unwrap_or(0);
    if events == 0 {
        return Duration::ZERO;
    }
    let mean_batch = (f64::from(w.batch.min) + f64::from(w.batch.max)) / 2.0;
    let calls = (events as f64 / mean_batch).ceil();
    let peers = mean_batch.min(scenario.nodes.len().saturating_sub(1) as f64);
    let round_trip = 2.0 * (scenario.network.latency.max + crate::runner::TICK).as_secs_f64();
    let per_call = (mean_batch / w.rate).max(peers * round_trip);
    let schedule = events as f64 / w.rate;
    Duration::from_secs_f64(schedule.max(calls * per_call))
}

/// Appends `n` in decimal, as `format!("{n}")` would, without the
/// formatting machinery (this runs twice per generated event).
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}

/// The event id a payload carries, if it carries one.
///
/// The workload's payloads start with `{"id":N,`; those are read without parsing the whole
/// payload (this is called for every ship, delivery and ack). Anything else is parsed as JSON.
pub fn id_of(payload: &[u8]) -> Option<EventId> {
    if let Some(rest) = payload.strip_prefix(b"{\"id\":") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0
            && matches!(rest.get(digits), Some(b',' | b'}'))
            && let Some(id) = std::str::from_utf8(&rest[..digits]).ok().and_then(|d| d.parse().ok())
        {
            return Some(id);
        }
    }
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    value.get("id")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::BatchSize;

    fn workload(events: u64) -> Workload {
        Workload { events, rate: 100.0, batch: BatchSize { min: 2, max: 5 }, keys: 8, senders: None }
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
                    serde_json::json!({ "id": id_of(payload).unwrap(), "src": "n1", "seq": json["seq"] })
                );
                seen.push(id_of(payload).expect("id"));
            }
            next += call.items.len() as u64;
        }
        let expected: Vec<EventId> = (0..23).map(|seq| event_id(3, seq)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn id_of_reads_the_fast_form_and_falls_back_to_json() {
        assert_eq!(id_of(br#"{"id":42,"seq":1,"src":"n1"}"#), Some(42));
        assert_eq!(id_of(br#"{"id":7}"#), Some(7));
        assert_eq!(id_of(br#"{"seq":1, "id":9}"#), Some(9));
        assert_eq!(id_of(br#"{"id":1.5}"#), None);
        assert_eq!(id_of(br#"{"id":-3,"x":1}"#), None);
        assert_eq!(id_of(br#"{"id":99999999999999999999999}"#), None);
        assert_eq!(id_of(b"not json"), None);
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
}
