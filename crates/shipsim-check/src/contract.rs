//! The bundled transports' documented contract, and the liveness rule `contract` that holds a
//! transport to it.
//!
//! A trace carries two sets of transport settings: what the run declared (`start.declared`,
//! the scenario's `transport` as written) and what the transport reports running with
//! (`start.transport`, the factory's `timing()`, filled from the transport's own
//! normalization). Bounds taken from the second move along with a transport's bug: a
//! transport that forgets to cap its backoff reports the uncapped backoff, and a bound built
//! from it allows the uncapped wait. So the checkers take the first and derive, with their own
//! code, what a correct transport runs with.
//!
//! # The contract
//!
//! Both bundled transports normalize their settings the same way (`shipper_net::NetConfig::
//! normalized`, which `shipper-grpc` runs too; `docs/transports.md`). With `ε = 1 ms` and the
//! declared settings on the right:
//!
//! ```text
//! connections    = max(connections, 1)
//! max_unacked    = max(max_unacked, 1)
//! max_frame      = clamp(max_frame, 64, 2³² − 1)
//! ack_timeout    = max(ack_timeout, ε)
//! connect_timeout = max(connect_timeout, ε)
//! cap            = max(deadline / 4, ε)      the backoff never exceeds a quarter of the deadline
//! backoff_min    = clamp(backoff.min, ε, cap)
//! backoff_max    = clamp(backoff.max, backoff_min, cap)
//! ```
//!
//! and each kind turns them into the timing the `recovery` rule bounds with
//! ([`TransportTiming`]):
//!
//! | timing | `tcp` | `grpc` |
//! | --- | --- | --- |
//! | connections | `connections` | 1 (one HTTP/2 connection multiplexes every call) |
//! | max_unacked | `max_unacked` | 1 (a call's parts go one round trip after another) |
//! | ack_timeout (a dead connection given up after) | `ack_timeout` | keepalive interval + timeout: `max(ack_timeout / 2, ε) + ack_timeout` |
//! | answer_timeout (how late an answer may be) | `ack_timeout` | the keepalive timeout: `ack_timeout` |
//! | connect_timeout, backoff_min, backoff_max | as above | as above |
//!
//! The reconnect delay after the `k`-th consecutive failure is drawn from
//! `[b / 2, b]`, `b = min(backoff_min × 2^k, backoff_max)`, and `k` restarts at every ack (TCP)
//! or reply (gRPC) (`shipper_net::Backoff`). `max_frame` is declared and derived but no
//! transport reports it, so nothing compares it. Nothing in the contract relates the connect
//! timeout to the deadline: a connection attempt is cut short by the call's own deadline.
//!
//! # The rule
//!
//! `contract`: every setting of `start.transport` above equals the contract's derivation from
//! `start.declared` for the trace's `transport_name`. Durations are compared to within
//! [`ROUNDING`]: the trace keeps whole microseconds, the transports compute in nanoseconds, so
//! a sub-microsecond setting can round differently on either side. One violation per setting
//! that differs, at the start of the run. Skipped, and the summary says why, when the trace
//! declares nothing, when its transport is not one whose contract the checker knows, or when
//! the transport gives no timing. The network's facts in `start.transport` (the worst latency,
//! the sink's) are the runner's, not the transport's claims: nothing compares them.
//!
//! Cost: O(1).

use shipsim_trace::{DeclaredTransport, Lack, LivenessRule, Micros, Start, TransportTiming, fmt_t};

use crate::findings::Findings;
use crate::index::Index;

/// The shortest duration the contract lets a timing setting be.
const FLOOR: Micros = 1_000;

/// How far a reported duration may be from the derived one, in microseconds: the trace's
/// rounding, not the transport's leeway.
pub(crate) const ROUNDING: Micros = 2;

/// A bundled transport whose contract the checker knows, by the trace's `transport_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// shipper-net's TCP transport.
    Tcp,
    /// shipper-grpc's transport.
    Grpc,
}

impl Kind {
    /// The kind a trace's `transport_name` names, if the checker knows its contract.
    pub(crate) fn of(name: &str) -> Option<Kind> {
        match name {
            "tcp" => Some(Kind::Tcp),
            "grpc" => Some(Kind::Grpc),
            _ => None,
        }
    }
}

/// The backoff cap: a quarter of the deadline, at least [`FLOOR`].
fn cap(d: &DeclaredTransport) -> Micros {
    (d.deadline_us / 4).max(FLOOR)
}

/// The timing a correct transport of `kind` runs with when declared `d` (see the module's
/// contract). The network's fields (latency, sink) are left at their defaults.
pub(crate) fn derive(kind: Kind, d: &DeclaredTransport) -> TransportTiming {
    let cap = cap(d);
    let backoff_min_us = d.backoff_min_us.clamp(FLOOR, cap);
    let ack = d.ack_timeout_us.max(FLOOR);
    let (connections, max_unacked, give_up) = match kind {
        Kind::Tcp => (d.connections.max(1), d.max_unacked.max(1), ack),
        Kind::Grpc => (1, 1, (ack / 2).max(FLOOR) + ack),
    };
    TransportTiming {
        connections,
        max_unacked,
        ack_timeout_us: give_up,
        answer_timeout_us: ack,
        connect_timeout_us: d.connect_timeout_us.max(FLOOR),
        backoff_min_us,
        backoff_max_us: d.backoff_max_us.clamp(backoff_min_us, cap),
        ..TransportTiming::default()
    }
}

/// The timing the `recovery` rule bounds with, and where it came from: the contract's
/// derivation from the declared settings (`None`), or, when the trace lets the checker derive
/// nothing, the transport's own timing (`Some(why)`, which the summary says). The network's
/// facts come from `start.transport` either way, so without it there is no timing at all.
pub(crate) fn bounds(start: &Start) -> Option<(TransportTiming, Option<String>)> {
    let reported = reported(start)?;
    match derivable(start) {
        Ok((kind, declared)) => {
            let network = TransportTiming {
                latency_max_us: reported.latency_max_us,
                sink_latency_max_us: reported.sink_latency_max_us,
                sink_busy: reported.sink_busy,
                ..derive(kind, declared)
            };
            Some((network, None))
        }
        Err(why) => Some((reported, Some(why))),
    }
}

/// The timing the transport reports, unless it gave none.
fn reported(start: &Start) -> Option<TransportTiming> {
    start.transport.filter(|_| !start.lacks.contains(&Lack::Timing))
}

/// The contract and the declared settings to derive from, or why the trace has none.
fn derivable(start: &Start) -> Result<(Kind, &DeclaredTransport), String> {
    let declared = start.declared.as_ref().ok_or("the trace declares no transport settings")?;
    let kind = Kind::of(&start.transport_name)
        .ok_or_else(|| format!("no documented contract for transport `{}`", start.transport_name))?;
    Ok((kind, declared))
}

/// The bundled transport the trace names and the settings it declared, if both are known.
pub(crate) fn known(start: &Start) -> Option<(Kind, &DeclaredTransport)> {
    derivable(start).ok()
}

/// Why the `contract` rule cannot judge this run, if it cannot.
pub(crate) fn skipped(start: &Start) -> Option<String> {
    match derivable(start) {
        Err(why) => Some(why),
        Ok(_) => reported(start).is_none().then(|| "the transport gave no timing".into()),
    }
}

/// One setting of [`TransportTiming`] the contract derives: its name, how to read it, whether
/// it is a duration, and how the contract derives it from the declared settings.
struct Setting {
    name: &'static str,
    get: fn(&TransportTiming) -> Micros,
    duration: bool,
    why: fn(Kind, &DeclaredTransport) -> String,
}

/// Every setting the rule compares, in the order it reports them.
const SETTINGS: [Setting; 7] = [
    Setting { name: "connections", get: |t| t.connections.into(), duration: false, why: why_connections },
    Setting { name: "max_unacked", get: |t| t.max_unacked.into(), duration: false, why: why_unacked },
    Setting { name: "ack timeout", get: |t| t.ack_timeout_us, duration: true, why: why_give_up },
    Setting { name: "answer timeout", get: |t| t.answer_timeout_us, duration: true, why: why_answer },
    Setting { name: "connect timeout", get: |t| t.connect_timeout_us, duration: true, why: why_connect },
    Setting { name: "backoff min", get: |t| t.backoff_min_us, duration: true, why: why_backoff_min },
    Setting { name: "backoff max", get: |t| t.backoff_max_us, duration: true, why: why_backoff_max },
];

fn why_connections(kind: Kind, d: &DeclaredTransport) -> String {
    match kind {
        Kind::Tcp => format!("declared {}, at least 1", d.connections),
        Kind::Grpc => "one HTTP/2 connection multiplexes every call".into(),
    }
}

fn why_unacked(kind: Kind, d: &DeclaredTransport) -> String {
    match kind {
        Kind::Tcp => format!("declared {}, at least 1", d.max_unacked),
        Kind::Grpc => "a call's parts go one round trip after another".into(),
    }
}

fn why_give_up(kind: Kind, d: &DeclaredTransport) -> String {
    match kind {
        Kind::Tcp => why_answer(kind, d),
        Kind::Grpc => format!(
            "the keepalive's interval, half the ack timeout, plus its timeout, the ack timeout \
             (declared {}, at least 1ms)",
            fmt_t(d.ack_timeout_us)
        ),
    }
}

fn why_answer(_: Kind, d: &DeclaredTransport) -> String {
    format!("the declared ack timeout {}, at least 1ms", fmt_t(d.ack_timeout_us))
}

fn why_connect(_: Kind, d: &DeclaredTransport) -> String {
    format!("declared {}, at least 1ms", fmt_t(d.connect_timeout_us))
}

fn why_backoff_min(_: Kind, d: &DeclaredTransport) -> String {
    format!("declared {}, within 1ms and {}", fmt_t(d.backoff_min_us), quarter(d))
}

fn why_backoff_max(_: Kind, d: &DeclaredTransport) -> String {
    format!("declared {}, within the backoff min and {}", fmt_t(d.backoff_max_us), quarter(d))
}

/// The backoff cap, said with where it comes from.
fn quarter(d: &DeclaredTransport) -> String {
    format!("a quarter of the {} deadline, {}", fmt_t(d.deadline_us), fmt_t(cap(d)))
}

/// The rule `contract`: each setting the transport reports against the contract's derivation.
pub(crate) fn run(index: &Index, findings: &mut Findings) {
    let Some(start) = index.start() else { return };
    let (Ok((kind, declared)), Some(reported)) = (derivable(start), reported(start)) else { return };
    let derived = derive(kind, declared);
    for setting in &SETTINGS {
        let (want, got) = ((setting.get)(&derived), (setting.get)(&reported));
        let off = if setting.duration { want.abs_diff(got) > ROUNDING } else { want != got };
        if !off {
            continue;
        }
        let show = |v: Micros| if setting.duration { fmt_t(v) } else { v.to_string() };
        findings.add(start.t, LivenessRule::Contract, || {
            let expected = format!(
                "the {} transport runs {} {} ({})",
                start.transport_name,
                setting.name,
                show(want),
                (setting.why)(kind, declared)
            );
            (None, expected, format!("it reports {}", show(got)))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::liveness::check;
    use crate::summarize;
    use shipsim_trace::Invariant;

    /// The clean run with the transport reporting `timing`.
    fn reporting(timing: TransportTiming) -> Vec<shipsim_trace::Record> {
        with_start(clean_run(), |s| s.transport = Some(timing))
    }

    #[test]
    fn the_contract_clamps_as_the_transports_normalize() {
        let d = DeclaredTransport {
            connections: 0,
            max_unacked: 0,
            ack_timeout_us: 0,
            deadline_us: 20 * MS,
            connect_timeout_us: 0,
            backoff_min_us: 10 * MS,
            backoff_max_us: 500 * MS,
            max_frame: 0,
        };
        let t = derive(Kind::Tcp, &d);
        let floors =
            (t.connections, t.max_unacked, t.ack_timeout_us, t.answer_timeout_us, t.connect_timeout_us);
        assert_eq!(floors, (1, 1, MS, MS, MS));
        // The same cases as shipper-net's `config::tests`.
        assert_eq!((t.backoff_min_us, t.backoff_max_us), (5 * MS, 5 * MS));
        let t = derive(Kind::Tcp, &DeclaredTransport { deadline_us: 300 * MS, ..d });
        assert_eq!((t.backoff_min_us, t.backoff_max_us), (10 * MS, 75 * MS));
        let t = derive(Kind::Tcp, &DeclaredTransport { deadline_us: 5_000 * MS, ..d });
        assert_eq!((t.backoff_min_us, t.backoff_max_us), (10 * MS, 500 * MS));
        // The fixtures' timing is the TCP contract's for their declared settings.
        let network =
            TransportTiming { latency_max_us: 0, sink_latency_max_us: 0, sink_busy: false, ..TIMING };
        assert_eq!(derive(Kind::Tcp, &DECLARED), network);
        // gRPC: one connection, a round trip per event, the keepalive's interval plus timeout.
        let grpc = derive(Kind::Grpc, &DECLARED);
        assert_eq!((grpc.connections, grpc.max_unacked), (1, 1));
        assert_eq!((grpc.ack_timeout_us, grpc.answer_timeout_us), (150 * MS, 100 * MS));
    }

    #[test]
    fn a_backoff_reported_past_its_cap_is_caught() {
        assert_eq!(check(&clean_run()), vec![]);
        let v = only(
            &check(&reporting(TransportTiming { backoff_max_us: 2_000 * MS, ..TIMING })),
            LivenessRule::Contract,
        );
        assert_eq!((v.t, v.event.as_ref()), (0, None));
        assert_eq!(
            v.expected,
            "the tcp transport runs backoff max 1.25s (declared 2s, within the backoff min and a \
             quarter of the 5s deadline, 1.25s)"
        );
        assert_eq!(v.actual, "it reports 2s");
    }

    #[test]
    fn each_setting_off_the_contract_is_its_own_violation() {
        let off = TransportTiming { connections: 2, connect_timeout_us: 5_000 * MS, ..TIMING };
        let found = check(&reporting(off));
        assert_eq!(rules(&found), vec![("liveness", "contract"); 2]);
        assert!(
            found[0].expected.contains("connections 1 (declared 1, at least 1)"),
            "{}",
            found[0].expected
        );
        assert_eq!(found[0].actual, "it reports 2");
        assert!(found[1].expected.contains("connect timeout 0.05s (declared 0.05s, at least 1ms)"));
        // The network's facts are the runner's, not the transport's claims: not compared.
        let network = TransportTiming { latency_max_us: 60 * MS, sink_busy: true, ..TIMING };
        assert_eq!(check(&reporting(network)), vec![]);
    }

    #[test]
    fn durations_agree_to_the_microsecond_the_trace_keeps() {
        let close = TransportTiming { ack_timeout_us: 100 * MS + ROUNDING, ..TIMING };
        assert_eq!(check(&reporting(close)), vec![]);
        let off = TransportTiming { ack_timeout_us: 100 * MS + ROUNDING + 1, ..TIMING };
        assert_eq!(rules(&check(&reporting(off))), vec![("liveness", "contract")]);
    }

    #[test]
    fn grpc_is_held_to_its_own_derivation() {
        let grpc = |timing| with_start(reporting(timing), |s| s.transport_name = "grpc".into());
        let keepalive =
            TransportTiming { connections: 1, max_unacked: 1, ack_timeout_us: 150 * MS, ..TIMING };
        assert_eq!(check(&grpc(keepalive)), vec![]);
        // TCP's timing on gRPC: 64 calls a round trip, and a dead link given up too early.
        let found = check(&grpc(TIMING));
        let names: Vec<&str> = found.iter().map(|v| v.expected.split(" (").next().unwrap_or("")).collect();
        assert_eq!(
            names,
            ["the grpc transport runs max_unacked 1", "the grpc transport runs ack timeout 0.15s"]
        );
    }

    #[test]
    fn a_trace_without_declared_settings_a_contract_or_timing_says_so() {
        let note =
            |records: &[shipsim_trace::Record]| summarize(records).get(Invariant::Liveness).relaxed.clone();
        assert_eq!(note(&clean_run()), None, "declared, derived, reported: nothing to say");
        let undeclared =
            with_start(reporting(TransportTiming { backoff_max_us: 2_000 * MS, ..TIMING }), |s| {
                s.declared = None
            });
        assert_eq!(check(&undeclared), vec![]);
        assert_eq!(
            note(&undeclared).as_deref(),
            Some(
                "recovery bounded by the transport's own timing (the trace declares no transport settings); \
                 contract skipped: the trace declares no transport settings"
            )
        );
        let custom = with_start(clean_run(), |s| s.transport_name = "custom".into());
        assert_eq!(
            note(&custom).as_deref(),
            Some(
                "recovery bounded by the transport's own timing (no documented contract for transport \
                 `custom`); contract skipped: no documented contract for transport `custom`"
            )
        );
        let untimed = with_start(clean_run(), |s| s.lacks = vec![Lack::Timing]);
        assert_eq!(
            note(&untimed).as_deref(),
            Some(
                "recovery skipped: the transport gave no timing; contract skipped: the transport gave no timing; \
                 reconnect-spacing skipped: the transport gave no timing"
            )
        );
    }
}
