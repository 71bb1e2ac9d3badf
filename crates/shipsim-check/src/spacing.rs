//! Liveness rule `reconnect-spacing`: a connection attempt that follows a failed one waits out
//! the reconnect backoff the run declared.
//!
//! The trace's `connect` records give each sender life's connection attempts per destination
//! and slot, and which of them failed before carrying anything (refused, unreachable, timed
//! out). The bundled transports draw the delay after the `k`-th consecutive failure, counted
//! since the last ack or reply, from `[b / 2, b]`, `b = min(backoff_min × 2^k, backoff_max)`
//! ([`crate::contract`]). An attempt that failed is a failure; `j` failed attempts on a slot in
//! a row, with no attempt between them that connected and no ack or answer from the
//! destination meanwhile (a connection can carry answers the trace does not show, such as an
//! ack covering only skipped frames or a refusal of an abandoned frame, and any answer may
//! restart the count), are `j` consecutive failures at least, so the attempt after the `j`-th
//! (`j ≥ 1`) begins no sooner than
//!
//! ```text
//! failure + min(backoff_min × 2^(j − 1), backoff_max) / 2
//! ```
//!
//! with `backoff_min` and `backoff_max` derived by the contract from the declared settings,
//! never the transport's word (a trace that declares nothing, or whose transport's contract is
//! unknown, is bounded by the transport's reported timing, as `recovery` is). A record is
//! stamped with the start of the tick it happened in, and a timer fires inside a tick, so an
//! attempt may be stamped up to a tick early: the wait is judged to within a tick (and
//! [`ROUNDING`]). A transport that reconnects in a loop, or whose backoff forgets to
//! grow, breaks it. There is no upper bound here: how soon traffic resumes after a heal is the
//! `recovery` rule's. A jump of the sender's clock (`clock` fault) inside the wait shortens it
//! in the trace's time by the jump: the bound is lowered by exactly the jumps of that node
//! between the failure and the attempt ([`crate::jumps`]).
//!
//! Skipped, and the summary says why, when the trace has no timing; when the transport
//! reports no acks (an answer the trace does not show may restart the count); when the sink
//! may answer busy (a busy answer is an answer: gRPC restarts its backoff on it, and the trace
//! does not show it); or when calls went to another node but the trace has no `connect`
//! record (the transport reports no attempts).
//!
//! Cost: O(C + A × S + E × S) over the connect records, acks and call ends, `S` the slots a
//! sender life opened to one destination (a few): the runs are looked up by node number, not
//! by name, so a large cluster's many pairs cost no more per record than a small one's.

use shipsim_trace::{ConnectState, Lack, LivenessRule, Micros, Outcome, Record, TransportTiming, fmt_t};

use crate::contract::{self, ROUNDING};
use crate::dense::FastMap;
use crate::findings::Findings;
use crate::index::{Index, Item};

/// `(sender, sender life, destination)`, the nodes by their number in the index.
type Pair = (u32, u32, u32);

/// Per pair, each slot's run, by slot number.
type Runs = FastMap<Pair, Vec<(u32, Run)>>;

/// A slot's run of failed attempts.
#[derive(Default, Clone, Copy)]
struct Run {
    /// Failed attempts in a row so far.
    failed: u32,
    /// When the last of them failed, if the next attempt has not begun yet.
    waiting_since: Option<Micros>,
    /// An answer came while waiting: the count starts over after the pending attempt (whose
    /// wait was drawn before).
    answered: bool,
}

/// Why the rule cannot judge this trace, if it cannot.
pub(crate) fn skipped(index: &Index) -> Option<String> {
    let start = index.start()?;
    let Some((timing, _)) = contract::bounds(start) else {
        return Some("the transport gave no timing".into());
    };
    if start.lacks.contains(&Lack::Acks) {
        return Some(
            "the transport reports no acks, and an answer the trace does not show may restart the backoff"
                .into(),
        );
    }
    if timing.sink_busy {
        return Some("the sink may answer busy, and a busy answer, which the trace does not show, may restart the backoff".into());
    }
    (index.remote && index.connects == 0).then(|| "the transport reports no connection attempts".into())
}

pub(crate) fn run(index: &Index, findings: &mut Findings) {
    let Some(start) = index.start() else { return };
    if skipped(index).is_some() {
        return;
    }
    let Some((timing, _)) = contract::bounds(start) else { return };
    let mut runs = Runs::default();
    for item in index.items() {
        match item {
            Item::Other(record @ Record::Connect { .. }) => {
                connect(&mut runs, record, (index, &timing, start.tick_us), findings)
            }
            Item::Ack(ack) => answered(&mut runs, (ack.node, ack.life, ack.dst)),
            Item::End(end) if matches!(end.outcome, Outcome::Ok | Outcome::Refused | Outcome::Ambiguous) => {
                if let Some(b) = index.batch(end.node, end.batch).map(|b| index.batches.get(b as usize)) {
                    answered(&mut runs, (end.node, end.life, b.dst));
                }
            }
            _ => {}
        }
    }
}

/// A `Connect` record: an attempt after a failed one waits out the backoff, less the jumps of
/// the sender's clock during the wait ([`crate::jumps`]).
fn connect(
    runs: &mut Runs,
    record: &Record,
    (index, timing, tick): (&Index, &TransportTiming, Micros),
    findings: &mut Findings,
) {
    let Record::Connect { t, node, life, dst, slot, state } = record else { return };
    // The index interned both names when it read this record.
    let (Some(node), Some(dst)) = (index.node(node), index.node(dst)) else { return };
    let slots = runs.entry((node, *life, dst)).or_default();
    let at = match slots.iter().position(|(s, _)| s == slot) {
        Some(at) => at,
        None => {
            slots.push((*slot, Run::default()));
            slots.len() - 1
        }
    };
    let run = &mut slots[at].1;
    match state {
        ConnectState::Begin => {
            match run.waiting_since.take() {
                Some(failed_at) => {
                    let wait = least_wait(timing.backoff_min_us, timing.backoff_max_us, run.failed);
                    let jumped = index.jumps.within(node, failed_at, *t);
                    if t + tick + ROUNDING + jumped < failed_at + wait {
                        report(findings, record, (failed_at, jumped), wait, run.failed);
                    }
                }
                // The attempt before this one connected: what it carried may
                // have restarted the count.
                None => run.failed = 0,
            }
            if std::mem::take(&mut run.answered) {
                run.failed = 0;
            }
        }
        ConnectState::Failed => {
            run.failed += 1;
            run.waiting_since = Some(*t);
        }
    }
}

/// An ack or an answered call from the destination of `pair` may have restarted the sender
/// life's backoff towards it: every slot's run starts over (its pending wait, drawn before,
/// still binds).
fn answered(runs: &mut Runs, pair: Pair) {
    for (_, run) in runs.get_mut(&pair).into_iter().flatten() {
        if run.waiting_since.is_some() {
            run.answered = true;
        } else {
            run.failed = 0;
        }
    }
}

/// The shortest wait a correct transport makes after its `failed`-th failure in a row.
fn least_wait(min: Micros, max: Micros, failed: u32) -> Micros {
    let doublings = failed.saturating_sub(1).min(20);
    min.saturating_mul(1 << doublings).min(max) / 2
}

fn report(
    findings: &mut Findings,
    record: &Record,
    (failed_at, jumped): (Micros, Micros),
    wait: Micros,
    failed: u32,
) {
    let Record::Connect { t, node, life, dst, slot, .. } = record else { return };
    findings.add(*t, LivenessRule::ReconnectSpacing, || {
        let clock = if jumped > 0 {
            format!(", less the {} its clock ran ahead meanwhile (jumps, fast skews)", fmt_t(jumped))
        } else {
            String::new()
        };
        (
            None,
            format!(
                "{node} (life {life}) to reconnect to {dst} on slot {slot} no sooner than {} after \
                 its attempt failed at {} ({failed} failed in a row: at least half the backoff{clock})",
                fmt_t(wait),
                fmt_t(failed_at)
            ),
            format!("it tried again at {}, {} later", fmt_t(*t), fmt_t(t.saturating_sub(failed_at))),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::liveness::check;

    /// The clean run with n1's connection attempts to n2 on slot 0 at `steps` (ms, and whether
    /// the attempt failed there), placed in time order; the backoff is 10 ms..1.25 s.
    fn attempts(steps: &[(Micros, ConnectState)]) -> Vec<Record> {
        let mut records = clean_run();
        for &(ms, state) in steps {
            let t = ms * MS;
            let at = records.iter().position(|r| r.t() > t && !matches!(r, Record::Start(_)));
            let connect = Record::Connect { t, node: "n1".into(), life: 1, dst: "n2".into(), slot: 0, state };
            records.insert(at.unwrap_or(records.len()), connect);
        }
        records
    }

    use ConnectState::{Begin, Failed};

    #[test]
    fn spacing_that_doubles_holds() {
        // Waits of at least 5, 10 and 20 ms after the first, second and third failure.
        let steps = [(100, Begin), (101, Failed), (106, Begin), (107, Failed), (117, Begin), (118, Failed)];
        assert_eq!(check(&attempts(&[steps.as_slice(), &[(138, Begin)]].concat())), vec![]);
    }

    #[test]
    fn a_reconnect_sooner_than_the_backoff_is_caught() {
        let steps = [(100, Begin), (101, Failed), (106, Begin), (107, Failed), (113, Begin)];
        let v = only(&check(&attempts(&steps)), LivenessRule::ReconnectSpacing);
        assert_eq!(v.t, 113 * MS);
        assert!(
            v.expected.contains("no sooner than 0.01s after its attempt failed at 0.107s"),
            "{}",
            v.expected
        );
        assert!(v.expected.contains("2 failed in a row"), "{}", v.expected);
        assert!(v.actual.contains("0.006s later"), "{}", v.actual);
    }

    #[test]
    fn an_answer_restarts_the_count_after_the_wait_drawn_before_it() {
        // n2's ack at 211 ms restarts the count: the wait drawn at 207 ms (the second failure)
        // still binds, the next failure is a first one again.
        let steps = [(200, Begin), (201, Failed), (206, Begin), (207, Failed), (217, Begin), (218, Failed)];
        let then = [(223, Begin)];
        assert_eq!(check(&attempts(&[steps.as_slice(), &then].concat())), vec![]);
        let early = [(200, Begin), (201, Failed), (206, Begin), (207, Failed), (212, Begin)];
        assert_eq!(rules(&check(&attempts(&early))), vec![("liveness", "reconnect-spacing")]);
    }

    #[test]
    fn an_attempt_stamped_up_to_a_tick_early_is_in_time() {
        // The second wait is at least 10 ms; a retry at 117.6 ms is stamped 117 ms (the tick).
        let steps = [(100, Begin), (101, Failed), (106, Begin), (107, Failed), (116, Begin)];
        assert_eq!(check(&attempts(&steps)), vec![], "9 ms stamped: within a tick of 10 ms");
        let early = [(100, Begin), (101, Failed), (106, Begin), (107, Failed), (115, Begin)];
        assert_eq!(rules(&check(&attempts(&early))), vec![("liveness", "reconnect-spacing")]);
    }

    /// n1's clock jumped `ms` milliseconds ahead at `at` ms.
    fn jumped(records: Vec<Record>, at: Micros, ms: Micros) -> Vec<Record> {
        with_jump(records, "n1", at * MS, ms * MS)
    }

    #[test]
    fn a_jump_of_the_senders_clock_inside_the_wait_shortens_it_by_the_jump_exactly() {
        // The second wait is at least 10 ms; n1's clock jumped 4 ms ahead during it, so a retry
        // 6 ms after the failure (stamped a tick early: 5 ms) is in time on n1's clock.
        let steps = [(100, Begin), (101, Failed), (106, Begin), (107, Failed), (112, Begin)];
        assert_eq!(rules(&check(&attempts(&steps))), vec![("liveness", "reconnect-spacing")]);
        assert_eq!(check(&jumped(attempts(&steps), 109, 4)), vec![]);
        // The jump counts at either end of the wait (the tick the fault is stamped with).
        assert_eq!(check(&jumped(attempts(&steps), 107, 4)), vec![]);
        // Shorter than the wait even after the jump: still caught, the jump named.
        let early = [(100, Begin), (101, Failed), (106, Begin), (107, Failed), (110, Begin)];
        let v = only(&check(&jumped(attempts(&early), 109, 4)), LivenessRule::ReconnectSpacing);
        assert!(v.expected.contains("less the 0.004s its clock ran ahead meanwhile"), "{}", v.expected);
        // A jump outside the wait, or of another node's clock, excuses nothing.
        assert_eq!(rules(&check(&jumped(attempts(&steps), 104, 4))), vec![("liveness", "reconnect-spacing")]);
        let other = changed(
            jumped(attempts(&steps), 109, 4),
            |r| matches!(r, Record::Fault { action, .. } if action.clock_jump().is_some()),
            |r| {
                if let Record::Fault { action, .. } = r {
                    **action = shipsim_trace::FaultAction::Clock {
                        node: "n2".into(),
                        jump_us: 4 * MS,
                        skew_ppm: None,
                    };
                }
            },
        );
        assert_eq!(rules(&check(&other)), vec![("liveness", "reconnect-spacing")]);
    }

    /// The second wait is at least 10 ms; n1's clock running twice as fast from 100 ms ran 6 ms
    /// (the 5 ms it waited and the tick it may have ended late in) and a millisecond of rounding
    /// ahead: in time on its clock. At +20% (1.2 ms and the rounding), or n2's clock fast, the
    /// retry is still too soon.
    #[test]
    fn a_fast_clock_of_the_sender_shortens_the_wait_by_how_far_it_ran_ahead() {
        let steps = [(100, Begin), (101, Failed), (106, Begin), (107, Failed), (112, Begin)];
        assert_eq!(check(&with_skew(attempts(&steps), "n1", 100 * MS, 1_000_000)), vec![]);
        let v = only(
            &check(&with_skew(attempts(&steps), "n1", 100 * MS, 200_000)),
            LivenessRule::ReconnectSpacing,
        );
        assert!(v.expected.contains("less the 0.0022s its clock ran ahead meanwhile"), "{}", v.expected);
        let other = with_skew(attempts(&steps), "n2", 100 * MS, 1_000_000);
        assert_eq!(rules(&check(&other)), vec![("liveness", "reconnect-spacing")]);
        let slow = with_skew(attempts(&steps), "n1", 100 * MS, -500_000);
        assert_eq!(rules(&check(&slow)), vec![("liveness", "reconnect-spacing")]);
    }

    #[test]
    fn an_attempt_that_connected_restarts_the_count() {
        // Three failures, then an attempt that connected (what it carried may have restarted
        // the backoff), then a failure: the next wait is a first one's, 5 ms.
        let steps = [(100, Begin), (101, Failed), (106, Begin), (107, Failed), (117, Begin), (118, Failed)];
        let then = [(138, Begin), (150, Begin), (151, Failed), (156, Begin)];
        assert_eq!(check(&attempts(&[steps.as_slice(), &then].concat())), vec![]);
    }

    #[test]
    fn a_sink_that_may_answer_busy_skips_the_rule() {
        let early = [(100, Begin), (101, Failed), (106, Begin), (107, Failed), (113, Begin)];
        let busy = with_start(attempts(&early), |s| {
            if let Some(t) = &mut s.transport {
                t.sink_busy = true;
            }
        });
        assert_eq!(check(&busy), vec![]);
        assert!(skipped(&Index::build(&busy)).is_some_and(|why| why.starts_with("the sink may answer busy")));
    }

    #[test]
    fn a_transport_that_reports_no_attempts_has_the_rule_skipped_and_said() {
        let mut clean = clean_run();
        clean.retain(|r| !matches!(r, Record::Connect { .. }));
        assert_eq!(
            skipped(&Index::build(&clean)).as_deref(),
            Some("the transport reports no connection attempts")
        );
        let records = attempts(&[(100, Begin)]);
        assert_eq!(skipped(&Index::build(&records)), None);
    }
}
