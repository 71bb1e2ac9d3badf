//! Proof of bug-finding: the harness catches deliberately broken variants of
//! the router and the transport (`shipper::broken`, cargo feature `broken`,
//! enabled only for this suite's dev-dependency, never in the binary).
//!
//! One case per variant: it switches the variant on for its own thread
//! (`broken::with`; each simulation runs on one thread, so cases run in
//! parallel safely), runs a scenario over seeds 1..=N and passes once a run
//! reports the expected invariant and rule. A table of variant → scenario →
//! invariant/rule → seeds needed is printed at the end.
//!
//! Two variants never show at the sink, so each is caught where it happens:
//! - `ResendOutOfOrder`: the receiver delivers a stream strictly in order
//!   and drops a frame past a gap unacknowledged; the `stream-gap` rule
//!   fires on the gaps the receiver reports.
//! - `AckBeforeAccept` acks before the sink accepted, with no pause: with
//!   an instant sink nothing can happen in between, so it is caught where
//!   the sink is slow (`slow-sink-crash`: a crash lands on pending accepts,
//!   and without a crash `ok-before-delivery` sees the ack come first).
//! - `NoRouteAsSendFailure` needs a `NoRoute` to miscount: `stale-route`
//!   drops a route (`drop-route`), and the stats invariant compares
//!   `no_route` with the trace's `no-route` outcomes.

use std::path::Path;
use std::sync::Mutex;

use libtest_mimic::{Arguments, Failed, Trial};
use shipper::broken::{self, Variant};
use shipsim::scenario::{self, TransportKind};
use shipsim::{SeedOutcome, Simulation};
use shipsim_trace::{DeliveryRule, FaultKind, LivenessRule, OrderingRule, PlacementRule, Rule, StatsRule};

/// Simulation runs each caught variant may spend on shrinking its failure.
const SHRINK_BUDGET: usize = 24;

/// Seeds `shipsim explore --swarm` may take to catch a variant.
const EXPLORE_SEEDS: u64 = 50;

/// A variant, where it is caught, and what must fire.
struct Case {
    variant: Variant,
    scenario: &'static str,
    rule: Rule,
    /// Seeds 1..=max_seeds are tried.
    max_seeds: u64,
    /// The transport the scenario runs on.
    transport: TransportKind,
}

const CASES: &[Case] = &[
    Case {
        variant: Variant::NoAck,
        scenario: "baseline",
        rule: Rule::Delivery(DeliveryRule::NoLoss),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::NoDedup,
        scenario: "latency-spike",
        rule: Rule::Delivery(DeliveryRule::NoDuplicate),
        max_seeds: 5,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::BatchRoundRobin,
        scenario: "baseline",
        rule: Rule::Ordering(OrderingRule::Swap),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::SilentBatchDrop,
        scenario: "partition-heal",
        rule: Rule::Delivery(DeliveryRule::NoLoss),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::StatsDoubleCount,
        scenario: "baseline",
        rule: Rule::Stats(StatsRule::Sent),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::NoRouteAsSendFailure,
        scenario: "stale-route",
        rule: Rule::Stats(StatsRule::NoRoute),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::AckBeforeSink,
        scenario: "crash-restart-receiver",
        rule: Rule::Delivery(DeliveryRule::NoLoss),
        max_seeds: 5,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::NoDeadline,
        scenario: "partition-heal",
        rule: Rule::Liveness(LivenessRule::Deadline),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::ResendOutOfOrder,
        scenario: "partition-heal",
        rule: Rule::Ordering(OrderingRule::StreamGap),
        max_seeds: 5,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::Misroute,
        scenario: "baseline",
        rule: Rule::Placement(PlacementRule::WrongOwner),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::SplitReadMishandled,
        scenario: "split-stream",
        rule: Rule::Delivery(DeliveryRule::NoFabrication),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::AckBeforeAccept,
        scenario: "slow-sink-crash",
        rule: Rule::Delivery(DeliveryRule::NoLoss),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::StickyBackoff,
        scenario: "flapping-link",
        rule: Rule::Liveness(LivenessRule::Recovery),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::TimeoutAsAmbiguous,
        scenario: "tight-deadline",
        rule: Rule::Stats(StatsRule::SendFailures),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::PartialAsOk,
        scenario: "tight-deadline",
        rule: Rule::Delivery(DeliveryRule::NoLoss),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::StaleMap,
        scenario: "scale-out",
        rule: Rule::Placement(PlacementRule::WrongOwner),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::GrpcRetryWithoutKey,
        scenario: "latency-spike",
        rule: Rule::Delivery(DeliveryRule::NoDuplicate),
        max_seeds: 3,
        transport: TransportKind::Grpc,
    },
    Case {
        variant: Variant::GrpcOkOnHeaders,
        scenario: "crash-restart-receiver",
        rule: Rule::Delivery(DeliveryRule::NoLoss),
        max_seeds: 3,
        transport: TransportKind::Grpc,
    },
    Case {
        variant: Variant::StickyBackoff,
        scenario: "flapping-link",
        rule: Rule::Liveness(LivenessRule::Recovery),
        max_seeds: 3,
        transport: TransportKind::Grpc,
    },
    Case {
        variant: Variant::NoStaleReplan,
        scenario: "membership-partition",
        rule: Rule::Placement(PlacementRule::NonOwnerAccepted),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::NormalizeBackoffCap,
        scenario: "short-deadline-churn",
        rule: Rule::Liveness(LivenessRule::Contract),
        max_seeds: 1,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::FixedAckTimeout,
        scenario: "latency-rises",
        rule: Rule::Liveness(LivenessRule::SettleOk),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::FixedAckTimeout,
        scenario: "latency-rises",
        rule: Rule::Liveness(LivenessRule::SettleOk),
        max_seeds: 3,
        transport: TransportKind::Grpc,
    },
    Case {
        variant: Variant::BackoffNeverGrows,
        scenario: "partition-heal",
        rule: Rule::Liveness(LivenessRule::ReconnectSpacing),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::BackoffNeverGrows,
        scenario: "partition-heal",
        rule: Rule::Liveness(LivenessRule::ReconnectSpacing),
        max_seeds: 3,
        transport: TransportKind::Grpc,
    },
    Case {
        variant: Variant::HandoverFlag,
        scenario: "concurrent-membership",
        rule: Rule::Placement(PlacementRule::NonOwnerAccepted),
        max_seeds: 3,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::LocalOkOnQueue,
        scenario: "baseline",
        rule: Rule::Delivery(DeliveryRule::OkBeforeDelivery),
        max_seeds: 1,
        transport: TransportKind::Tcp,
    },
    Case {
        variant: Variant::GrpcBusyAsAccepted,
        scenario: "concurrent-busy-sink",
        rule: Rule::Delivery(DeliveryRule::NoLoss),
        max_seeds: 3,
        transport: TransportKind::Grpc,
    },
];

impl Case {
    /// `<variant>::<scenario>`, and `::<transport>` when it is not the default.
    fn name(&self) -> String {
        match self.transport {
            TransportKind::Tcp => format!("{:?}::{}", self.variant, self.scenario),
            other => format!("{:?}::{}::{other}", self.variant, self.scenario),
        }
    }

    /// The case's scenario, set to run on the case's transport.
    fn scenario(&self) -> Result<scenario::Scenario, Failed> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{}.yaml", self.scenario));
        let mut scenario = shipsim::load(&path).map_err(|e| e.to_string())?;
        scenario.transport.kind = Some(self.transport);
        Ok(scenario)
    }
}

static TABLE: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn main() {
    let args = Arguments::from_args();
    let mut trials: Vec<Trial> =
        CASES.iter().map(|case| Trial::test(case.name(), move || caught(case))).collect();
    trials.push(Trial::test("every-variant-has-a-case", every_variant_has_a_case));
    trials.push(Trial::test("AckBeforeAccept::loss-at-a-crash", ack_before_accept_loses_at_a_crash));
    trials.push(Trial::test("AckBeforeAccept::seen-without-a-crash", ack_before_accept_seen_without_a_crash));
    let conclusion = libtest_mimic::run(&args, trials);
    let mut rows = TABLE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    if !rows.is_empty() {
        rows.sort();
        println!(
            "\n| variant | scenario | invariant/rule | seeds needed | explore --swarm | shrunk repro | also fired |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        for row in rows {
            println!("{row}");
        }
    }
    conclusion.exit();
}

/// A variant added to the catalogue without a case here would go unproven.
fn every_variant_has_a_case() -> Result<(), Failed> {
    let missing: Vec<String> = Variant::ALL
        .iter()
        .filter(|v| !Variant::REAL_MODE.contains(v) && !CASES.iter().any(|case| case.variant == **v))
        .map(|v| format!("{v:?}"))
        .collect();
    match missing.is_empty() {
        true => Ok(()),
        false => Err(format!("variants with no case in sims/broken.rs: {}", missing.join(", ")).into()),
    }
}

/// `AckBeforeAccept` is also caught at the end of a run (the last acked
/// accepts are still pending when the simulation stops), which alone would
/// not show that a crash is what loses the event. Seed 1 of
/// `slow-sink-crash` must lose one whose ship ended between a crash of n2 and
/// a deadline after the following restart, long before the end of the run.
fn ack_before_accept_loses_at_a_crash() -> Result<(), Failed> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/slow-sink-crash.yaml");
    let scenario = shipsim::load(&path).map_err(|e| e.to_string())?;
    let at = |kind: FaultKind| -> Vec<u64> {
        let times = scenario.faults.iter().filter(|f| f.action.kind() == kind);
        times.map(|f| f.at.as_micros() as u64).collect()
    };
    let deadline = scenario.transport.deadline.as_micros() as u64;
    // A lost event's ack came at most one sink latency before the crash.
    let windows: Vec<(u64, u64)> = at(FaultKind::Crash)
        .into_iter()
        .zip(at(FaultKind::Restart))
        .map(|(c, r)| (c.saturating_sub(100_000), r + deadline))
        .collect();
    let result = broken::with(Variant::AckBeforeAccept, || Simulation::new(&scenario).run(1))
        .map_err(|e| e.to_string())?;
    let losses: Vec<u64> =
        result.violations.iter().filter(|v| v.rule == DeliveryRule::NoLoss).map(|v| v.t).collect();
    let at_crash =
        losses.iter().filter(|t| windows.iter().any(|(from, to)| (*from..=*to).contains(*t))).count();
    match at_crash {
        0 => {
            Err(format!("no loss near a crash of n2 (windows {windows:?} µs), losses at {losses:?} µs")
                .into())
        }
        _ => Ok(()),
    }
}

/// With no crash, `AckBeforeAccept` loses only the accepts the end of the run cuts short
/// (`no-loss` fires there). Its window is there from the first slow accept, and
/// `delivery / ok-before-delivery` sees it: `slow-sink-crash` without its faults, seed 1,
/// reports it before any loss.
fn ack_before_accept_seen_without_a_crash() -> Result<(), Failed> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/slow-sink-crash.yaml");
    let mut scenario = shipsim::load(&path).map_err(|e| e.to_string())?;
    scenario.faults.clear();
    let result = broken::with(Variant::AckBeforeAccept, || Simulation::new(&scenario).run(1))
        .map_err(|e| e.to_string())?;
    let first = |rule: DeliveryRule| result.violations.iter().filter(|v| v.rule == rule).map(|v| v.t).min();
    let (seen, lost) = (first(DeliveryRule::OkBeforeDelivery), first(DeliveryRule::NoLoss));
    match (seen, lost) {
        (Some(seen), lost) if lost.is_none_or(|lost| seen < lost) => Ok(()),
        _ => Err(format!("first ok-before-delivery at {seen:?} µs, first no-loss at {lost:?} µs").into()),
    }
}

fn caught(case: &Case) -> Result<(), Failed> {
    let scenario = case.scenario()?;
    for seed in 1..=case.max_seeds {
        let result = broken::with(case.variant, || Simulation::new(&scenario).run(seed))
            .map_err(|e| format!("{:?} seed {seed}: {e}", case.variant))?;
        let fired = result.violations.iter().any(|v| v.rule == case.rule);
        if fired {
            let mut others: Vec<String> = result
                .violations
                .iter()
                .filter(|v| v.rule != case.rule)
                .map(|v| v.rule.to_string())
                .collect();
            others.sort();
            others.dedup();
            let target = case.rule;
            let shrunk = broken::with(case.variant, || {
                Simulation::new(&scenario).shrink(seed, &target, SHRINK_BUDGET)
            });
            let still = broken::with(case.variant, || Simulation::new(&shrunk.scenario).run(seed))
                .map_err(|e| format!("{:?} shrunk repro: {e}", case.variant))?;
            if !still.violations.iter().any(|v| v.rule == case.rule) {
                return Err(format!("{:?}: the shrunk repro no longer fails", case.variant).into());
            }
            let explored = explore_catches(case, &scenario)?;
            let row = format!(
                "| {:?} | {} | {} | {seed} (of {}) | {explored} | {} of {} faults, {} of {} events/node ({} runs) | {} |",
                case.variant,
                case.name().split_once("::").map_or("", |(_, rest)| rest).replace("::", " on "),
                case.rule,
                case.max_seeds,
                shrunk.scenario.faults.len(),
                scenario.faults.len(),
                shrunk.scenario.workload.events,
                scenario.workload.events,
                shrunk.log.tried,
                others.join(", ")
            );
            TABLE.lock().unwrap_or_else(|e| e.into_inner()).push(row);
            return Ok(());
        }
    }
    Err(format!(
        "{:?}: no run of {} over seeds 1..={} reported {}",
        case.variant, case.scenario, case.max_seeds, case.rule
    )
    .into())
}

/// What `shipsim explore S --swarm` does with the variant on, seed by seed
/// (`Simulation::explore_seed`, what every explore worker runs): the first
/// seed, of at most [`EXPLORE_SEEDS`], whose swarm variant reports the
/// expected rule. With `SHIPSIM_BROKEN_SWEEP=1` every seed runs and the
/// failing ones are counted (the figures in `docs/invariants.md`).
fn explore_catches(case: &Case, scenario: &scenario::Scenario) -> Result<String, Failed> {
    let sweep = std::env::var_os("SHIPSIM_BROKEN_SWEEP").is_some();
    let (mut first, mut caught) = (None, 0);
    for seed in 1..=EXPLORE_SEEDS {
        let result = broken::with(case.variant, || Simulation::new(scenario).explore_seed(seed, true));
        let fired = match &result.outcome {
            SeedOutcome::Fail(violations) => violations.iter().any(|v| v.rule == case.rule),
            SeedOutcome::Pass | SeedOutcome::Error(_) => false,
        };
        if fired {
            caught += 1;
            first.get_or_insert(seed);
            if !sweep {
                break;
            }
        }
    }
    match (first, sweep) {
        (None, _) => Err(format!(
            "{:?}: explore --swarm over seeds 1..={EXPLORE_SEEDS} of {} never reported {}",
            case.variant, case.scenario, case.rule
        )
        .into()),
        (Some(seed), false) => Ok(format!("seed {seed}")),
        (Some(seed), true) => Ok(format!("seed {seed}, {caught} of {EXPLORE_SEEDS} seeds")),
    }
}
