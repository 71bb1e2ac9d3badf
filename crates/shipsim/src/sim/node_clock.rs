//! A `clock` fault carried out: the runner asks a node's host to jump its clock forward, and a
//! harness task on the host's `LocalSet` calls `tokio::time::advance` on that host's runtime.
//!
//! Each simulated host runs on a tokio runtime of its own whose clock is paused and moved by
//! turmoil one tick per step (`vendor/turmoil/src/rt.rs`, `Rt::tick`). Advancing it from inside
//! moves that host's clock alone ahead of the others, for good, and every timer of the node due
//! within the jump fires at once (docs/scenarios.md, "Clock faults"). The jump happens during
//! the step after the fault (stamped with the fault's time), in the seeded order turmoil runs
//! the hosts in: deterministic. What the fired timers end may be recorded a tick later.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

/// One node's way to have its clock jumped: shared by the runner and every life of the node.
#[derive(Debug, Default)]
pub(crate) struct NodeClock {
    /// How far the clock still has to jump (the sum of the jumps asked for and not yet made).
    pending: Mutex<Duration>,
    /// Wakes the node's harness task.
    asked: Notify,
}

impl NodeClock {
    /// Asks the node's running life to jump its clock `jump` ahead, at its next step.
    pub(super) fn jump(&self, jump: Duration) {
        *self.pending.lock().expect("node clock") += jump;
        self.asked.notify_one();
    }

    /// The harness task of one life: makes each jump asked for, on the runtime it runs on.
    /// Spawned on the host's `LocalSet` at the start of each life; it ends with the life.
    pub(super) async fn serve(self: Arc<Self>) {
        loop {
            self.asked.notified().await;
            let jump = std::mem::take(&mut *self.pending.lock().expect("node clock"));
            if !jump.is_zero() {
                tracing::debug!(?jump, "the node's clock jumps");
                tokio::time::advance(jump).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use shipsim_trace::{Outcome, Record};

    /// Each failed call's `(time, outcome)`; each judged effect's `(effect, why)`.
    type Failed = Vec<(u64, Outcome)>;
    type Effects = Vec<(bool, String)>;

    /// n1's calls to n2 wait on a held link with a 3 s deadline; at 300 ms n1's clock jumps
    /// `jump` ahead. The `(time, outcome)` of each of n1's calls that did not return `Ok`, and
    /// the jump's effect as the harness judged it.
    fn held_calls(jump: &str) -> (Failed, Effects) {
        let text = format!(
            "name: jump\nnodes: [n1, n2]\nduration: 20s\nnetwork: {{latency: 1ms}}\n\
             transport: {{deadline: 3s, ack_timeout: 2s}}\n\
             workload: {{events: 40, rate: 100/s, senders: [n1]}}\nshards: 1\nmembers: [n2]\n\
             faults:\n- {{at: 250ms, hold: [n1, n2]}}\n- {{at: 300ms, clock: {{node: n1, jump: {jump}}}}}\n\
             - {{at: 500ms, release: [n1, n2]}}\n"
        );
        let scenario = crate::scenario::parse(&text, "jump.yaml").unwrap();
        let result = crate::sim::run(&scenario, 1).unwrap();
        let failed = result
            .records
            .iter()
            .filter_map(|r| match r {
                Record::ShipEnd { t, node, outcome, .. } if node == "n1" && *outcome != Outcome::Ok => {
                    Some((*t, *outcome))
                }
                _ => None,
            })
            .collect();
        let effects = result
            .records
            .iter()
            .filter_map(|r| match r {
                Record::FaultEffect(e) if e.fault == 1 => Some((e.effect, e.why.clone())),
                _ => None,
            })
            .collect();
        (failed, effects)
    }

    /// A jump past the deadline ends the calls held up at once, within a tick of the jump, where
    /// without it they would have waited for the release; a short jump moves no deadline past.
    /// Either way the jump had an effect: calls were in flight.
    #[test]
    fn a_jump_past_the_deadline_fires_the_nodes_deadlines_at_once() {
        let (failed, effects) = held_calls("10s");
        assert!(!failed.is_empty(), "the held calls ended at the jump");
        // The host jumps in the step after the fault; what the timers end is recorded by the
        // next tick.
        assert!(failed.iter().all(|&(t, _)| (300_000..=301_000).contains(&t)), "{failed:?}");
        assert!(
            failed.iter().all(|(_, o)| matches!(o, Outcome::Ambiguous | Outcome::NotDelivered)),
            "{failed:?}"
        );
        assert_eq!(effects.len(), 1);
        assert!(effects[0].0 && effects[0].1.contains("calls from or to n1 in flight"), "{effects:?}");
        let (failed, effects) = held_calls("100ms");
        assert_eq!(failed, vec![], "a jump short of the deadline and the ack timeout ends nothing");
        assert!(effects[0].0, "{effects:?}");
    }
}
