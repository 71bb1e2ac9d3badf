//! Transports written outside shipsim, plugged in through its public seam only
//! (`shipsim::Simulation`, `TransportFactory`, `NodeTransport`), as a user's own `tests/`
//! would: shipper-net's acked transport built by hand (it must hold every invariant, or have
//! it reported skipped with the reason), and a fire-and-forget wrapper of it (the harness must
//! catch its losses).

use std::io;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use shipper::{Fence, NodeId, ShippedEvent, ShipperResult, ShipperTransport};
use shipper_net::{NetConfig, NetTransport, TransportObserver, TurmoilNet};
use shipsim::check::Status;
use shipsim::scenario::Scenario;
use shipsim::{
    AckObserver, Capabilities, EventSink, LifeContext, LocalFuture, NodeTransport, Server, Simulation,
    TransportFactory,
};
use shipsim_trace::Invariant;

/// shipper-net's transport over turmoil, configured from the scenario. It reports acks and can
/// drop routes; it gives no counters and no timing, so the harness skips the `stats` rule
/// `received` and the liveness rule `recovery`, and says so.
struct Acked {
    /// Report `Ok` as soon as a batch is handed to the transport, not when it is acked.
    fire_and_forget: bool,
    /// Claim that `Ok` means the receiver's sink accepted (`ok_after_accept`), true or not.
    claims_accept: bool,
}

impl Acked {
    /// shipper-net as it is: acks after the sink accepted, and says so.
    const HONEST: Acked = Acked { fire_and_forget: false, claims_accept: true };
    /// `Ok` once handed over, and says nothing about the accept.
    const FIRE_AND_FORGET: Acked = Acked { fire_and_forget: true, claims_accept: false };
}

impl TransportFactory for Acked {
    fn build(&self, life: &LifeContext<'_>) -> Arc<dyn NodeTransport> {
        let t = &life.scenario.transport;
        let config = NetConfig::new(life.node, u64::from(life.life))
            .with_connections(t.connections)
            .with_ack_timeout(t.ack_timeout)
            .with_deadline(t.deadline)
            .with_connect_timeout(t.connect_timeout)
            .with_backoff(t.backoff.min, t.backoff.max)
            .with_max_unacked(t.max_unacked)
            .with_rng_seed(life.seed("transport"));
        let mut transport = NetTransport::new(TurmoilNet::new(life.nodes.iter().cloned()), config);
        if !self.fire_and_forget {
            transport = transport.with_observer(Arc::new(Acks(life.observer.clone())));
        }
        Arc::new(Node { transport: Arc::new(transport), fire_and_forget: self.fire_and_forget })
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { acks: !self.fire_and_forget, counters: false, routes: true }
    }

    fn ok_after_accept(&self) -> bool {
        self.claims_accept
    }
}

struct Node {
    transport: Arc<NetTransport<TurmoilNet>>,
    fire_and_forget: bool,
}

impl NodeTransport for Node {
    fn shipper_transport(&self) -> Arc<dyn ShipperTransport> {
        if self.fire_and_forget { Arc::new(Forget(self.transport.clone())) } else { self.transport.clone() }
    }

    fn serve(&self, sink: Arc<dyn EventSink>, fence: Arc<dyn Fence>) -> LocalFuture<'_, io::Result<Server>> {
        Box::pin(async move {
            let listener = self.transport.bind().await?;
            let server: Server = Box::pin(self.transport.serve_fenced(listener, sink, fence));
            Ok(server)
        })
    }

    fn drop_route(&self, to: &str) {
        self.transport.remove_route(&to.to_owned());
    }

    fn restore_route(&self, to: &str) {
        self.transport.register_route(to.to_owned());
    }
}

/// shipper-net's acks, told to the harness.
struct Acks(Arc<dyn AckObserver>);

impl TransportObserver for Acks {
    fn on_ack(&self, dst: &NodeId, event: &ShippedEvent) {
        self.0.on_ack(dst, event);
    }

    fn on_late_ack(&self, dst: &NodeId, event: &ShippedEvent) {
        self.0.on_ack(dst, event);
    }
}

/// Sends in the background and says `Ok` at once.
struct Forget(Arc<NetTransport<TurmoilNet>>);

#[async_trait]
impl ShipperTransport for Forget {
    async fn send(&self, dst: &NodeId, event: ShippedEvent) -> ShipperResult<()> {
        let (transport, dst) = (self.0.clone(), dst.clone());
        tokio::task::spawn_local(async move { transport.send(&dst, event).await });
        Ok(())
    }

    fn has_route(&self, node: &NodeId) -> bool {
        self.0.has_route(node)
    }
}

fn scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.yaml"));
    shipsim::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn an_acked_transport_holds_every_invariant_or_is_told_what_was_skipped() {
    for name in ["baseline", "partition-heal", "crash-restart-receiver", "stale-route", "lossy-link"] {
        let scenario = scenario(name);
        let result = Simulation::new(&scenario).transport(Acked::HONEST).run(1).unwrap();
        assert!(result.passed(), "{name}:\n{}", result.summary);
        for r in &result.summary.results {
            assert!(matches!(r.status, Status::Held | Status::Skipped(_)), "{name}: {}", r.invariant);
        }
        let relaxed = |invariant| result.summary.get(invariant).relaxed.clone();
        assert_eq!(
            relaxed(Invariant::Stats).as_deref(),
            Some("received skipped: the transport has no counters")
        );
        assert_eq!(
            relaxed(Invariant::Liveness).as_deref(),
            Some(
                "recovery skipped: the transport gave no timing; \
                 contract skipped: no documented contract for transport `custom`; \
                 reconnect-spacing skipped: the transport gave no timing"
            )
        );
        assert_eq!(
            relaxed(Invariant::Delivery),
            None,
            "{name}: acks are reported, redelivery-after-ack is checked"
        );
    }
}

#[test]
fn a_custom_transport_runs_deterministically() {
    let scenario = scenario("crash-restart-receiver");
    let run = || Simulation::new(&scenario).transport(Acked::HONEST).run(2).unwrap();
    let (a, b) = (run(), run());
    assert_eq!(shipsim_trace::to_bytes(&a.records), shipsim_trace::to_bytes(&b.records));
}

#[test]
fn a_fire_and_forget_transport_loses_events_and_the_harness_says_so() {
    let scenario = scenario("partition-heal");
    let result = Simulation::new(&scenario).transport(Acked::FIRE_AND_FORGET).run(1).unwrap();
    let delivery = result.summary.get(Invariant::Delivery);
    assert_eq!(delivery.status, Status::Violated, "{}", result.summary);
    assert!(delivery.count(shipsim_trace::DeliveryRule::NoLoss) > 0, "{}", result.summary);
    assert!(delivery.relaxed.as_deref().is_some_and(|r| r.contains("reports no acks")));
}

/// A transport that says its `Ok` means the sink accepted is held to it: fire-and-forget,
/// claiming so, on a run with no fault to lose an event by, is caught by `ok-before-delivery`
/// (deliveries stamped after the `Ok`); not claiming so, its remote calls are not judged by it.
#[test]
fn a_transport_that_claims_its_ok_means_accepted_is_held_to_it() {
    let scenario = scenario("baseline");
    let run = |claims_accept| {
        let transport = Acked { fire_and_forget: true, claims_accept };
        let result = Simulation::new(&scenario).transport(transport).run(1).unwrap();
        result.summary.get(Invariant::Delivery).count(shipsim_trace::DeliveryRule::OkBeforeDelivery)
    };
    assert!(run(true) > 0, "claimed, and not so");
    assert_eq!(run(false), 0, "not claimed");
}

/// A fresh folder holding copies of bundled scenarios, as a user's `tests/scenarios/` would.
fn scenario_folder(name: &str, scenarios: &[&str]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sims-suite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    for s in scenarios {
        std::fs::copy(bundled.join(format!("{s}.yaml")), dir.join(format!("{s}.yaml"))).unwrap();
    }
    dir
}

/// One thread, and the output in `dir`'s `libtest.log`: a nested run's expected failures must
/// not show in the real run's output.
fn quiet(dir: &Path) -> libtest_mimic::Arguments {
    let logfile = Some(dir.join("libtest.log").display().to_string());
    libtest_mimic::Arguments { test_threads: Some(1), quiet: true, logfile, ..Default::default() }
}

#[test]
fn a_scenario_folder_becomes_passing_cases_on_an_acked_transport() {
    let dir = scenario_folder("acked", &["baseline", "stale-route"]);
    let suite = shipsim::Suite::new().dir(&dir).transport(Acked::HONEST);
    let names: Vec<String> = suite.trials().iter().map(|t| t.name().to_string()).collect();
    assert!(names.iter().any(|n| n == "baseline::deterministic"), "{names:?}");
    assert!(names.iter().any(|n| n == "stale-route::deterministic"), "{names:?}");
    let conclusion = suite.run_with(&quiet(&dir));
    assert_eq!((conclusion.num_passed, conclusion.num_failed), (names.len() as u64, 0));
}

#[test]
fn a_scenario_folder_fails_a_fire_and_forget_transport_with_a_repro_per_failure() {
    let dir = scenario_folder("forget", &["partition-heal"]);
    let failures = dir.join("failures");
    let suite = shipsim::Suite::new().dir(&dir).transport(Acked::FIRE_AND_FORGET).failures(&failures);
    let conclusion = suite.run_with(&quiet(&dir));
    assert!(conclusion.num_failed > 0, "no case failed");
    let repros = std::fs::read_dir(&failures).map(|d| d.count()).unwrap_or(0);
    assert_eq!(repros as u64, conclusion.num_failed);
    let log = std::fs::read_to_string(dir.join("libtest.log")).unwrap();
    assert!(log.contains("no-loss") && log.contains("rerun: SHIPSIM_SEED="), "{log}");
}
