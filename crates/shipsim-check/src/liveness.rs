//! Liveness: no ship outlives its deadline, and once the settle phase has
//! begun (every fault healed, every node up) everything converges.
//!
//! Rules:
//! - `deadline`: every `ShipEnd` comes at most `deadline_us + tick_us` after
//!   its `ShipBegin`; a call that never returned must not have been pending
//!   longer than that when its sender crashed or the trace ended;
//! - `settle-ok`: every call begun after `Phase settle` returns `Ok`;
//! - `unfinished-ship`: by the end of the run every call has returned,
//!   unless its sender's life ended first (a crash cuts it short) or its
//!   deadline lies past the end (a run cut at its `duration` may end while a
//!   call begun just before is under way: only `deadline` judges a call in
//!   time);
//! - `unfinished-workload`: every node's `Workload` has `routed == target`
//!   (the workload finished within the settle budget);
//! - `recovery`: after a fault is healed, the first ship over the healed
//!   route on each connection returns `Ok` within a bound the transport's
//!   configuration sets (see [`super::recovery`] for the formula);
//! - `contract`: the settings the transport reports running with are the ones
//!   its documented contract derives from the declared settings (see
//!   [`super::contract`]).
//!
//! The end-of-run rules need the `Phase end` record; `deadline` needs `Start`.
//!
//! Cost: O(B + L + W) after the shared index, for B batches, L lives and W
//! workload records.

use std::collections::BTreeSet;

use shipsim_trace::{EventRef, LivenessRule, Micros, Outcome, Record};
#[cfg(test)]
use shipsim_trace::{Invariant, Violation};

use crate::adaptive;
use crate::delivery::outcome_name;
use crate::findings::Findings;
use crate::index::{Batch, Index};
use shipsim_trace::fmt_t;

/// Checks liveness, whatever the trace's `Start` says.
#[cfg(test)]
pub(crate) fn check(records: &[Record]) -> Vec<Violation> {
    crate::fixtures::check_one(records, Invariant::Liveness, run)
}

pub(crate) fn run(index: &Index, findings: &mut Findings) {
    // The three per-batch rules run batch by batch, in this order, so that
    // findings at one time keep the order they always had.
    let window = detection_window(index);
    for batch in index.batches.iter() {
        deadline(index, &batch, findings);
        settle_ok(index, &batch, window, findings);
        unfinished_ship(index, &batch, findings);
    }
    super::recovery::run(index, findings);
    super::contract::run(index, findings);
    super::spacing::run(index, findings);
    unfinished_workload(index, findings);
}

/// How a report names `batch`.
fn what(index: &Index, batch: &Batch) -> String {
    format!("batch {} of {} to {}", batch.batch, index.name(batch.node), index.name(batch.dst))
}

/// The first event of `batch`, if it has any.
fn first_event(index: &Index, batch: &Batch) -> Option<EventRef> {
    (batch.len() > 0).then(|| index.event_ref(batch.first))
}

/// When the sender's life of `batch` ended, if it did (position, time).
fn sender_down(index: &Index, batch: &Batch) -> Option<(usize, Micros)> {
    index.lives.get(&(batch.node, batch.life)).and_then(|info| info.down)
}

/// `deadline` for one call: from its start to its return, or to when it stopped
/// waiting for good (its sender crashed, or the trace ended). The deadline runs on the
/// sender's clock: a slow skew of it inside the call stretches the limit by how far the clock
/// fell behind ([`crate::jumps`]).
fn deadline(index: &Index, batch: &Batch, findings: &mut Findings) {
    let (stop, how) = match (batch.end, sender_down(index, batch)) {
        (Some(end), _) => (end.t, "returned"),
        (None, Some((_, t))) => (t, "was still pending when its sender crashed"),
        (None, None) => (index.last_t, "was still pending at the end of the trace"),
    };
    let behind = index.jumps.behind(batch.node, batch.t, stop);
    let limit = index.start().map(|s| s.deadline_us.saturating_add(s.tick_us).saturating_add(behind));
    if limit.is_none_or(|limit| stop.saturating_sub(batch.t) <= limit) {
        return;
    }
    findings.add(stop, LivenessRule::Deadline, || {
        let start = index.start().expect("a limit comes from a start");
        (
            first_event(index, batch),
            format!(
                "{} returned within its deadline {} (+ tick {}{}) of its start at {}",
                what(index, batch),
                fmt_t(start.deadline_us),
                fmt_t(start.tick_us),
                if behind > 0 {
                    format!(", + {} its slow clock fell behind", fmt_t(behind))
                } else {
                    String::new()
                },
                fmt_t(batch.t)
            ),
            format!("it {how} at {}, {} later", fmt_t(stop), fmt_t(stop - batch.t)),
        )
    });
}

/// `settle-ok` for one call: begun after `Phase settle`, it must return `Ok`.
///
/// One exception, derived from the transport's timing: a connection that went silent before
/// the heal (a stalled stream) is only known dead once it has been silent for the answer
/// timeout. When the call's deadline is no longer than that, a call begun within one answer
/// timeout of the heal may run out its deadline on such a connection through no fault of the
/// transport; it may end `ambiguous`, and the `recovery` rule judges when the pair gets going
/// again. Any other failure in that window, and any failure after it, is a violation.
fn settle_ok(index: &Index, batch: &Batch, window: Micros, findings: &mut Findings) {
    let (Some(end), Some((settle_pos, settle_t))) = (batch.end, index.settle) else { return };
    if batch.pos <= settle_pos || end.outcome == Outcome::Ok {
        return;
    }
    if end.outcome == Outcome::Ambiguous && batch.t < settle_t.saturating_add(window) {
        return;
    }
    findings.add(end.t, LivenessRule::SettleOk, || {
        let shipped = batch.shipped().unwrap_or(0).min(batch.len().saturating_sub(1));
        (
            (batch.len() > 0).then(|| index.event_ref(batch.first + shipped)),
            format!(
                "{}, begun in the settle phase (from {}: network healed, all nodes up), returns Ok",
                what(index, batch),
                fmt_t(settle_t)
            ),
            format!(
                "it failed at {} ({}) after {} of {}{}",
                fmt_t(end.t),
                outcome_name(end.outcome),
                end.shipped,
                batch.len(),
                index.error_at(end.pos).map(|e| format!(": {e}")).unwrap_or_default()
            ),
        )
    });
}

/// How long after the heal a silently dead connection may still hold up a call: the answer
/// timeout, when the trace gives the transport's timing and the deadline is no longer than it;
/// otherwise nothing (the call must succeed).
fn detection_window(index: &Index) -> Micros {
    let Some(start) = index.start() else { return 0 };
    let Some(reported) = start.transport else { return 0 };
    // The answer timeout may have adapted to slow round trips: up to what the contract allows.
    let timing = adaptive::adapted(start, index, reported);
    let answer = if timing.answer_timeout_us > 0 { timing.answer_timeout_us } else { timing.ack_timeout_us };
    // Both run on the sender's clock: on a slow one, the answer timeout lasts longer (the
    // slowest skew of the run, a bound).
    let answer = answer + crate::jumps::Jumps::stretch(answer, index.jumps.extremes().1);
    if start.deadline_us <= answer { answer } else { 0 }
}

/// `unfinished-ship` for one call: by the end of the run it has returned, unless
/// its sender's life ended first or its deadline had not passed when the run ended.
fn unfinished_ship(index: &Index, batch: &Batch, findings: &mut Findings) {
    if index.end.is_none() || batch.end.is_some() || sender_down(index, batch).is_some() {
        return;
    }
    let end_t = index.end_t();
    // The deadline runs on the sender's clock: a slow one ends it later in the trace's time.
    let deadline =
        index.start().map_or(0, |s| s.deadline_us) + index.jumps.behind(batch.node, batch.t, end_t);
    if batch.t.saturating_add(deadline) > end_t {
        return;
    }
    findings.add(end_t, LivenessRule::UnfinishedShip, || {
        (
            first_event(index, batch),
            format!("{}, begun at {}, returned by the end of the run", what(index, batch), fmt_t(batch.t)),
            format!(
                "no ShipEnd by {}, and life {} of {} never ended",
                fmt_t(end_t),
                batch.life,
                index.name(batch.node)
            ),
        )
    });
}

/// `unfinished-workload`: every `Workload` record reports its target routed, and
/// (once the run has ended) every scenario node wrote one.
fn unfinished_workload(index: &Index, findings: &mut Findings) {
    let mut reported = BTreeSet::new();
    for record in index.others() {
        let Record::Workload { t, node, routed, target } = record else { continue };
        reported.insert(node.as_str());
        if routed != target {
            findings.add(*t, LivenessRule::UnfinishedWorkload, || {
                (
                    None,
                    format!(
                        "{node} routed all {target} events of its workload by the end of the settle phase"
                    ),
                    format!("it routed {routed}"),
                )
            });
        }
    }
    let Some(start) = index.start().filter(|_| index.end.is_some()) else { return };
    let end_t = index.end_t();
    for node in &start.nodes {
        if !reported.contains(node.as_str()) {
            findings.add(end_t, LivenessRule::UnfinishedWorkload, || {
                (
                    None,
                    format!("a Workload record for {node} by the end of the run"),
                    "none: its progress is unknown".to_owned(),
                )
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use shipsim_trace::{LifeState, Phase, TransportTiming};

    #[test]
    fn clean_run_holds() {
        assert_eq!(check(&clean_run()), vec![]);
    }

    #[test]
    fn ship_past_its_deadline() {
        // n1 b4 takes 161 ms (50 ms → 211 ms); the limit is deadline + tick.
        let on_time = with_start(clean_run(), |s| (s.deadline_us, s.tick_us) = (160 * MS, MS));
        assert_eq!(check(&on_time), vec![]);
        let late = with_start(clean_run(), |s| (s.deadline_us, s.tick_us) = (160 * MS - 1, MS));
        let v = only(&check(&late), LivenessRule::Deadline);
        assert_eq!(v.invariant(), Invariant::Liveness);
        assert_eq!(event(&v), (11, "n1", 4, 0));
        assert_eq!(v.t, 211 * MS);
    }

    /// n1 b4 takes 161 ms (50 ms → 211 ms) against a 120 ms deadline: 40 ms late in the
    /// trace's time. A 30% slow clock of n1 fell 48.6 ms behind over the call (and the tick it
    /// may have ended late in): on time on its clock. A 20% slow one (32.4 ms and the
    /// millisecond of rounding), or n2's clock 30% slow, excuses nothing.
    #[test]
    fn a_slow_clock_of_the_sender_stretches_its_deadline_and_nothing_else_does() {
        let late = with_start(clean_run(), |s| (s.deadline_us, s.tick_us) = (120 * MS, MS));
        assert_eq!(only(&check(&late), LivenessRule::Deadline).t, 211 * MS);
        assert_eq!(check(&with_skew(late.clone(), "n1", 0, -300_000)), vec![]);
        let v = only(&check(&with_skew(late.clone(), "n1", 0, -200_000)), LivenessRule::Deadline);
        assert!(v.expected.contains("+ 0.0334s its slow clock fell behind"), "{}", v.expected);
        only(&check(&with_skew(late.clone(), "n2", 0, -300_000)), LivenessRule::Deadline);
        only(&check(&with_skew(late, "n1", 0, 300_000)), LivenessRule::Deadline);
    }

    #[test]
    fn ship_pending_past_its_deadline_when_its_sender_crashed() {
        let mut tb = Tb::new(&["n1", "n2"]);
        tb.begin(MS, "n1", 1, 1, "n2", &[1]).life(SHIP_DEADLINE + 3 * MS, "n1", 1, LifeState::Down);
        let v = only(&check(&tb.build()), LivenessRule::Deadline);
        assert!(v.actual.contains("still pending when its sender crashed"), "{}", v.actual);
    }

    /// One record built by `build`.
    fn one(build: impl FnOnce(&mut Tb) -> &mut Tb) -> Record {
        build(&mut Tb { records: Vec::new() }).build().remove(0)
    }

    #[test]
    fn failure_during_settle() {
        let begin = one(|tb| tb.begin(320 * MS, "n2", 2, 4, "n1", &[15, 16]));
        let end = one(|tb| tb.end(325 * MS, "n2", 2, 4, 1, Outcome::NotDelivered));
        let records = with_after(clean_run(), ship_end_of("n2", 3), begin);
        let records = with_after(records, |r| matches!(r, Record::ShipBegin { t: 320_000, .. }), end);
        let v = only(&check(&records), LivenessRule::SettleOk);
        assert_eq!(event(&v), (16, "n2", 4, 1));
        assert!(v.actual.contains("(not-delivered) after 1 of 2: NotDelivered"), "{}", v.actual);
    }

    /// A call begun right after the heal may time out on a connection that died silently
    /// before it, when its deadline (5 s) is within the transport's answer timeout; not with
    /// a certain failure, not when the deadline is longer, not without the transport's timing.
    #[test]
    fn a_call_right_after_the_heal_may_time_out_on_a_silently_dead_connection() {
        let settle_call = |outcome: Outcome, answer: Micros| {
            let begin = one(|tb| tb.begin(320 * MS, "n2", 2, 4, "n1", &[15]));
            let end = one(|tb| tb.end(360 * MS, "n2", 2, 4, 0, outcome));
            let records = with_after(clean_run(), ship_end_of("n2", 3), begin);
            let records = with_after(
                records,
                |r| matches!(r, Record::ShipBegin { batch: 4, node, .. } if node == "n2"),
                end,
            );
            let timing =
                TransportTiming { answer_timeout_us: answer * MS, ack_timeout_us: answer * MS, ..TIMING };
            // The transport's timing alone (no declared settings), so only settle-ok judges it.
            with_start(records, |s| {
                s.transport = Some(timing);
                s.declared = None;
            })
        };
        assert_eq!(check(&settle_call(Outcome::Ambiguous, 6_000)), vec![]);
        only(&check(&settle_call(Outcome::NotDelivered, 6_000)), LivenessRule::SettleOk);
        only(&check(&settle_call(Outcome::Ambiguous, 100)), LivenessRule::SettleOk);
        let untimed = with_start(settle_call(Outcome::Ambiguous, 6_000), |s| s.transport = None);
        only(&check(&untimed), LivenessRule::SettleOk);
    }

    #[test]
    fn failure_of_a_ship_begun_before_settle_is_allowed() {
        let begin = one(|tb| tb.begin(250 * MS, "n1", 1, 5, "n2", &[16]));
        let end = one(|tb| tb.end(305 * MS, "n1", 1, 5, 0, Outcome::Ambiguous));
        let records = with_after(clean_run(), ship_end_of("n1", 4), begin);
        let records = with_after(records, |r| matches!(r, Record::Phase { phase: Phase::Settle, .. }), end);
        assert_eq!(check(&records), vec![]);
    }

    #[test]
    fn ship_that_never_returns_while_its_sender_lives() {
        // The clean run's n2 b2 never returns either, but n2 crashed. With a 30 ms deadline,
        // the call begun at 350 ms is overdue by the end (400 ms).
        let begin = one(|tb| tb.begin(350 * MS, "n1", 1, 5, "n2", &[16]));
        let records = with_after(clean_run(), ship_end_of("n2", 3), begin);
        let short = with_start(records.clone(), |s| s.deadline_us = 30 * MS);
        let unfinished: Vec<_> =
            check(&short).into_iter().filter(|v| v.rule == LivenessRule::UnfinishedShip).collect();
        let v = only(&unfinished, LivenessRule::UnfinishedShip);
        assert_eq!(event(&v), (16, "n1", 5, 0));
        assert_eq!(v.t, 400 * MS);
        // With the clean run's 5 s deadline the run ended 50 ms into the call: no obligation.
        assert_eq!(check(&records), vec![], "a call in time when the run was cut");
    }

    #[test]
    fn workload_unfinished() {
        let records = changed(
            clean_run(),
            |r| matches!(r, Record::Workload { node, .. } if node == "n1"),
            |r| {
                if let Record::Workload { routed, .. } = r {
                    *routed -= 1;
                }
            },
        );
        let v = only(&check(&records), LivenessRule::UnfinishedWorkload);
        assert!(v.actual.contains("routed 7"), "{}", v.actual);

        let missing = without(clean_run(), |r| matches!(r, Record::Workload { node, .. } if node == "n2"));
        assert!(only(&check(&missing), LivenessRule::UnfinishedWorkload).expected.contains("n2"));
    }
}
