//! A real run's timeline: start every node, each fault at its time (plus a little seeded
//! jitter), the settle phase, the end; then the merged trace checked.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::Rng;
use shipsim_trace::{FaultAction as TracedAction, Lack, Phase, Record, SettleText, Text};

use super::control::ToNode;
use super::error::{RealError, SCHEDULING_SLACK};
use super::harness::Harness;
use super::proxy::Pair;
use crate::scenario::{Fault, FaultAction, Scenario, TransportKind};
use crate::seeds;
use crate::sim::RunResult;

/// Most a fault is applied after its time, drawn from the seed.
const FAULT_JITTER_US: u64 = 2_000;

/// The whole run; every process it started has ended when it returns (their handles drop).
pub(super) async fn run(
    exe: &Path,
    path: &Path,
    scenario: &Scenario,
    seed: u64,
    dir: PathBuf,
) -> Result<RunResult, RealError> {
    let mut h = Harness::new(exe, path, scenario, seed, dir).await?;
    let started = std::time::Instant::now(); // allow-nondeterminism: real mode, the wall clock is what it measures
    let outcome = drive(&mut h).await;
    // Whatever happened, no process outlives the harness's handles: dropping them kills.
    if let Err(err) = outcome {
        h.procs.clear();
        return Err(err);
    }
    let mut records = h.merged()?;
    let summary = shipsim_check::summarize(&records);
    let violations = summary.violations();
    records.extend(violations.iter().cloned().map(|v| Record::Violation(Box::new(v))));
    // The nodes run in processes of their own: their probes are not counted in real mode.
    Ok(RunResult {
        counts: shipsim_trace::Counts::of(&records),
        records,
        violations,
        summary,
        simulated: started.elapsed(),
        probes: Default::default(),
        written: None,
        kept: Vec::new(),
    })
}

async fn drive(h: &mut Harness) -> Result<(), RealError> {
    write_start(h);
    h.net.network_loss = h.scenario.network.loss;
    sync_proxy(h);
    if h.kind == TransportKind::Nats {
        h.start_broker()?;
    }
    let nodes = h.scenario.nodes.clone();
    for node in &nodes {
        h.spawn(node)?;
    }
    h.wait_ready(&nodes).await?;
    let mut jitter = seeds::rng(h.seed, &[b"real", b"faults"]);
    let mut due = 0;
    for fault in h.scenario.faults.clone() {
        due = due.max(micros(fault.at) + jitter.random_range(0..=FAULT_JITTER_US));
        sleep_until(h, due).await?;
        apply(h, &fault).await?;
    }
    settle(h).await?;
    h.stop().await
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The start record: the simulation's, with the scheduling slack as its tick, and the facts a
/// killed process cannot give said missing.
fn write_start(h: &mut Harness) {
    let factory = crate::transport::kinds::factory_for(h.kind);
    let mut start = crate::sim::start_record(&h.scenario, h.seed, &*factory);
    start.tick_us = micros(SCHEDULING_SLACK);
    // A killed broker is no node: every node's counters are still read.
    let kills = h.scenario.faults.iter().any(
        |f| matches!(&f.action, FaultAction::Crash(n) | FaultAction::Bounce(n) if n != TransportKind::BROKER),
    );
    if kills {
        start.lacks.push(Lack::KilledCounters);
    }
    h.stamp();
    h.rec.push(Record::Start(Box::new(start)));
    h.rec.phase(Phase::Faults);
}

/// Handles control events until `t` microseconds since the start.
async fn sleep_until(h: &mut Harness, t: u64) -> Result<(), RealError> {
    loop {
        let now = h.now();
        if now >= t {
            return Ok(());
        }
        h.wait_event(Duration::from_micros((t - now).min(20_000))).await?;
    }
}

/// One fault, recorded with the pairs it cut and healed.
async fn apply(h: &mut Harness, fault: &Fault) -> Result<(), RealError> {
    let lossy = h.scenario.network.loss > 0.0;
    let before = h.net.usable(&h.scenario, lossy);
    h.stamp();
    let pos = h.rec.fault(fault.to_string(), fault.action.traced());
    match &fault.action {
        FaultAction::Crash(node) => h.kill(node)?,
        FaultAction::Restart(node) => restart(h, node).await?,
        FaultAction::Bounce(node) => {
            h.kill(node)?;
            restart(h, node).await?;
        }
        FaultAction::DropRoute { from, to } => {
            h.send(from, &ToNode::DropRoute(to.clone())).await?;
            h.net.dropped.insert((from.clone(), to.clone()));
        }
        FaultAction::RestoreRoute { from, to } => {
            h.send(from, &ToNode::RestoreRoute(to.clone())).await?;
            h.net.dropped.remove(&(from.clone(), to.clone()));
        }
        FaultAction::Latency { link, value } => {
            let (a, b) = (link.a.clone(), link.b.clone());
            h.proxy.links.change(|s| {
                s.latency.insert((a.clone(), b.clone()), *value);
                s.latency.insert((b, a), *value);
            });
        }
        FaultAction::Pause { node, duration } => h.pause(node, micros(*duration)),
        FaultAction::Join(_) | FaultAction::Leave(_) => h.membership_change(&fault.action).await?,
        action => h.net.apply(action),
    }
    sync_proxy(h);
    let after = h.net.usable(&h.scenario, lossy);
    let (cut, healed) = effect(&fault.action, &before, &after);
    h.rec.fault_effect(pos, &cut, &healed);
    Ok(())
}

/// The proxy blocks and loses what the fault state says.
fn sync_proxy(h: &mut Harness) {
    let net = &h.net;
    h.proxy.links.change(|s| net.to_proxy(s));
}

async fn restart(h: &mut Harness, node: &str) -> Result<(), RealError> {
    if node == TransportKind::BROKER {
        return h.start_broker();
    }
    h.spawn(node)?;
    h.wait_ready(&[node.to_owned()]).await
}

/// The pairs a fault cut and healed (the simulator's rule: a bounce cuts and heals every pair
/// of its node at once).
fn effect(action: &FaultAction, before: &BTreeSet<Pair>, after: &BTreeSet<Pair>) -> (Vec<Pair>, Vec<Pair>) {
    match action {
        FaultAction::Bounce(node) => {
            let touched: Vec<Pair> =
                after.iter().filter(|(from, to)| from == node || to == node).cloned().collect();
            (touched.clone(), touched)
        }
        _ => (before.difference(after).cloned().collect(), after.difference(before).cloned().collect()),
    }
}

/// Everything healed (network, crashed and paused nodes, routes), then the cluster's time to
/// converge: until every node is idle or the settle budget is spent.
async fn settle(h: &mut Harness) -> Result<(), RealError> {
    // As a simulation's settle phase begins once every node installed the last change: its
    // propagation delay at most, plus the slack, after it was announced.
    if let Some(last) = h.last_change_us {
        let propagated = last + micros(h.scenario.membership.propagation.max) + micros(SCHEDULING_SLACK);
        sleep_until(h, propagated.min(micros(h.scenario.duration))).await?;
    }
    let lossy = h.scenario.network.loss > 0.0;
    let before = h.net.usable(&h.scenario, lossy);
    h.stamp();
    let restarted: Vec<String> =
        h.scenario.nodes.iter().filter(|n| h.net.down.contains(*n)).cloned().collect();
    let routes: Vec<Pair> = std::mem::take(&mut h.net.dropped).into_iter().collect();
    // Recorded like a fault when the scenario had any (as a simulation does); done always.
    let pos = (!h.scenario.faults.is_empty()).then(|| {
        let restarted_t: Vec<Text> = restarted.iter().map(|n| Text::from(n.as_str())).collect();
        let routes_t: Vec<[Text; 2]> =
            routes.iter().map(|(a, b)| [Text::from(a.as_str()), Text::from(b.as_str())]).collect();
        let text = SettleText { restarted: &restarted_t, routes: &routes_t }.to_string();
        h.rec.fault(text, TracedAction::Settle { restarted: restarted_t, routes: routes_t })
    });
    if h.net.down.contains(TransportKind::BROKER) {
        h.start_broker()?;
    }
    heal(h, &restarted, &routes).await?;
    if let Some(pos) = pos {
        let after = h.net.usable(&h.scenario, false);
        let healed: Vec<Pair> = after.difference(&before).cloned().collect();
        h.rec.fault_effect(pos, &[], &healed);
    }
    h.stamp();
    h.rec.phase(Phase::Settle);
    let converge_from = Duration::from_micros(h.now()).max(crate::sim::healthy_time(&h.scenario));
    let settle_end = micros((converge_from + h.scenario.expect.settle).min(h.scenario.duration));
    while h.now() < settle_end && !all_idle(h) {
        h.wait_event(Duration::from_millis(10)).await?;
    }
    Ok(())
}

async fn heal(h: &mut Harness, restarted: &[String], routes: &[Pair]) -> Result<(), RealError> {
    h.net.heal_network();
    // Every `latency` fault's link back to the scenario's latency, as a simulation's settle does.
    h.proxy.links.change(|s| s.latency.clear());
    for node in std::mem::take(&mut h.net.paused) {
        if let Some(proc) = h.procs.get(&node) {
            proc.signal(libc::SIGCONT);
        }
    }
    for (from, to) in routes {
        if !restarted.contains(from) {
            h.send(from, &ToNode::RestoreRoute(to.clone())).await?;
        }
    }
    for node in restarted {
        h.spawn(node)?;
    }
    h.wait_ready(restarted).await?;
    sync_proxy(h);
    Ok(())
}

fn all_idle(h: &Harness) -> bool {
    h.scenario.nodes.iter().all(|n| h.idle.get(n).copied().unwrap_or(false))
}
