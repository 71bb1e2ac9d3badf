//! The receiving application of a simulated node, with a fault model of its
//! own (the scenario's `sink` section).
//!
//! A real application does not take an event the instant the transport hands
//! it over: it writes it somewhere (latency), and sometimes it cannot take it
//! at all right now (busy). Both open windows that an instant sink hides: a
//! crash can land between a transport's ack and the sink's accept, and a
//! transport that acks before the sink accepted is only visible then.
//!
//! Each accept asks [`SinkModel::answer`] what the application does: refuse as
//! busy (the server offers the event again later), or accept after a seeded
//! latency. The latency is a tokio sleep on turmoil's simulated clock, and the
//! event is recorded as delivered only when it ends: a crash meanwhile drops
//! the pending accept with the process, so the event was *not* delivered (no
//! `Deliver` record, not counted as received), like a process dying
//! mid-write. The default model (no latency, never busy) draws nothing and
//! sleeps never, so scenarios without a `sink` section run as before.

use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use rand::rngs::SmallRng;
use shipper::{NodeId, ShippedEvent};
use shipper_net::{EventSink, SinkClosed, SinkError};

use crate::scenario::Sink;
use crate::seeds;
use crate::sim::recorder::SharedRecorder;

/// What the application does with one offered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// "Busy, retry later": the event is handed back, not delivered.
    Busy,
    /// Accepted once this much simulated time has passed.
    AcceptAfter(Duration),
}

/// The seeded draws of one node's sink in one process life.
pub(super) struct SinkModel {
    settings: Sink,
    rng: SmallRng,
}

impl SinkModel {
    /// The model of `node`'s sink in process life `life` of the run seeded
    /// `seed`: its own random stream, so turning the sink on changes no other
    /// draw of the run.
    pub(super) fn new(settings: &Sink, seed: u64, node: &str, life: u32) -> SinkModel {
        let life = life.to_string();
        SinkModel {
            settings: settings.clone(),
            rng: seeds::rng(seed, &[node.as_bytes(), b"sink", life.as_bytes()]),
        }
    }

    /// The answer to the next offered event: busy with probability `busy`,
    /// otherwise accepted after a latency drawn uniformly from the range.
    /// Draws only what the settings make random.
    pub(super) fn answer(&mut self) -> Answer {
        if self.settings.busy > 0.0 && self.rng.random_bool(self.settings.busy) {
            return Answer::Busy;
        }
        let range = self.settings.latency;
        if range.min == range.max {
            return Answer::AcceptAfter(range.min);
        }
        let (min, max) = (nanos(range.min), nanos(range.max));
        Answer::AcceptAfter(Duration::from_nanos(self.rng.random_range(min..=max)))
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The receiving application of one node's life: records each event it
/// accepts, answering as its [`SinkModel`] says.
pub(super) struct RecordingSink {
    node: NodeId,
    recorder: SharedRecorder,
    model: Mutex<SinkModel>,
}

impl RecordingSink {
    pub(super) fn new(node: NodeId, recorder: SharedRecorder, model: SinkModel) -> RecordingSink {
        RecordingSink { node, recorder, model: Mutex::new(model) }
    }

    /// Records `event` as delivered to this node, now.
    pub(super) fn record(&self, event: &ShippedEvent) {
        self.recorder.lock().deliver(
            &self.node,
            &event.source,
            shipsim_trace::payload_id(&event.payload),
            &event.payload,
        );
    }

    fn answer(&self) -> Answer {
        self.model.lock().unwrap_or_else(|e| e.into_inner()).answer()
    }

    /// Waits `latency` (if any), then records: dropped mid-wait, nothing is recorded.
    async fn accept_after(&self, latency: Duration, event: &ShippedEvent) {
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.record(event);
    }
}

#[async_trait::async_trait]
impl EventSink for RecordingSink {
    /// Never busy: a caller that cannot take "busy" gets the latency only.
    async fn accept(&self, _from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        let latency = match self.answer() {
            Answer::AcceptAfter(latency) => latency,
            Answer::Busy => Duration::ZERO,
        };
        self.accept_after(latency, &event).await;
        Ok(())
    }

    async fn try_accept(&self, _from: &NodeId, event: ShippedEvent) -> Result<(), SinkError> {
        match self.answer() {
            Answer::Busy => {
                tracing::debug!(node = %self.node, "sink busy");
                Err(SinkError::Busy(event))
            }
            Answer::AcceptAfter(latency) => {
                self.accept_after(latency, &event).await;
                Ok(())
            }
        }
    }
}

/// The node's sink as its own local ships see it: they never cross the transport, so no ack
/// can race their accept, and the sink model (latency, busy) is not theirs. It records the
/// event before the ship returns: a local ship's `Ok` means delivered, as a remote one's does.
pub(super) struct LocalSink(pub(super) std::sync::Arc<RecordingSink>);

#[async_trait::async_trait]
impl EventSink for LocalSink {
    async fn accept(&self, _from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        self.0.record(&event);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::LatencyRange;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn model(latency: LatencyRange, busy: f64, seed: u64) -> SinkModel {
        SinkModel::new(&Sink { latency, busy }, seed, "n1", 1)
    }

    fn answers(m: &mut SinkModel, n: usize) -> Vec<Answer> {
        (0..n).map(|_| m.answer()).collect()
    }

    #[test]
    fn the_default_is_instant_and_never_busy() {
        let mut m = SinkModel::new(&Sink::default(), 7, "n1", 1);
        assert!(answers(&mut m, 1000).iter().all(|a| *a == Answer::AcceptAfter(Duration::ZERO)));
    }

    #[test]
    fn latency_is_drawn_within_the_range_and_spreads_over_it() {
        let mut m = model(LatencyRange { min: ms(5), max: ms(40) }, 0.0, 1);
        let drawn: Vec<Duration> = answers(&mut m, 2000)
            .into_iter()
            .map(|a| match a {
                Answer::AcceptAfter(d) => d,
                Answer::Busy => panic!("busy with a busy rate of 0"),
            })
            .collect();
        assert!(drawn.iter().all(|d| (ms(5)..=ms(40)).contains(d)), "out of range");
        assert!(drawn.iter().any(|d| *d < ms(10)) && drawn.iter().any(|d| *d > ms(35)), "not spread");
        let fixed = answers(&mut model(LatencyRange::fixed(ms(3)), 0.0, 1), 10);
        assert!(fixed.iter().all(|a| *a == Answer::AcceptAfter(ms(3))));
    }

    #[test]
    fn the_busy_rate_is_respected_over_many_draws() {
        for rate in [0.05, 0.3] {
            let mut m = model(LatencyRange::fixed(ms(1)), rate, 3);
            let n = 20_000;
            let busy = answers(&mut m, n).iter().filter(|a| **a == Answer::Busy).count();
            let observed = busy as f64 / n as f64;
            assert!((observed - rate).abs() < 0.02, "rate {rate}: observed {observed}");
        }
    }

    #[test]
    fn draws_are_deterministic_per_seed_node_and_life() {
        let range = LatencyRange { min: ms(0), max: ms(20) };
        let run = |seed, node: &str, life| {
            let mut m = SinkModel::new(&Sink { latency: range, busy: 0.1 }, seed, node, life);
            answers(&mut m, 50)
        };
        assert_eq!(run(1, "n1", 1), run(1, "n1", 1));
        assert_ne!(run(1, "n1", 1), run(2, "n1", 1));
        assert_ne!(run(1, "n1", 1), run(1, "n2", 1));
        assert_ne!(run(1, "n1", 1), run(1, "n1", 2));
    }
}
