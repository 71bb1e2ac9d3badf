//! One node of a simulated cluster: the transport's server, an
//! `EventShipper` + `Router` over the transport, sinks that record every
//! delivery (with the scenario's sink latency and busy answers, see
//! `sink.rs`), and the workload.
//!
//! turmoil runs the program returned by [`host`] on every (re)start of the
//! host; everything a node must remember across a crash lives in the
//! recorder, everything else is rebuilt, as a real process would.

use std::future::Future;
use std::sync::Arc;

use shipper::{EventShipper, PlannedBatch, Router, ShipperConfig};
use tokio::task::JoinSet;

use crate::scenario::Scenario;
use crate::seeds;
use crate::sim::membership::MembershipService;
use crate::sim::node_clock::NodeClock;
use crate::sim::observers::{AckRecorder, ShipRecorder};
use crate::sim::recorder::SharedRecorder;
use crate::sim::routes::Routes;
use crate::sim::sink::{LocalSink, RecordingSink, SinkModel};
use crate::sim::workload::Generator;
use crate::transport::{LifeContext, NodeTransport, TransportFactory};

/// What a node's program needs, shared by all of its lives.
pub(crate) struct NodeSpec {
    scenario: Scenario,
    seed: u64,
    node: String,
    index: usize,
    recorder: SharedRecorder,
    routes: Routes,
    membership: MembershipService,
    factory: Arc<dyn TransportFactory>,
    /// How the runner jumps this node's clock (a simulation's `clock` faults); none in real
    /// mode, which refuses them.
    clock: Option<Arc<NodeClock>>,
}

/// The program turmoil runs for `node`, on start and on every restart.
pub(super) fn host(
    spec: NodeSpec,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = turmoil::Result>>> + 'static {
    let spec = Arc::new(spec);
    move || Box::pin(run_life(spec.clone()))
}

impl NodeSpec {
    /// What `node`'s lives need. Real mode (`crate::real`) builds one per node process and runs
    /// [`run_life`] on tokio's runtime inside a `LocalSet`; the recorder's memory says which
    /// life it is.
    pub(crate) fn new(
        scenario: &Scenario,
        seed: u64,
        node: &str,
        recorder: SharedRecorder,
        routes: Routes,
        membership: MembershipService,
        factory: Arc<dyn TransportFactory>,
    ) -> NodeSpec {
        let index = scenario.nodes.iter().position(|n| n == node).expect("a scenario node");
        NodeSpec {
            scenario: scenario.clone(),
            seed,
            node: node.to_owned(),
            index,
            recorder,
            routes,
            membership,
            factory,
            clock: None,
        }
    }

    /// The spec whose lives let `clock` jump their clock.
    pub(super) fn with_clock(self, clock: Arc<NodeClock>) -> NodeSpec {
        NodeSpec { clock: Some(clock), ..self }
    }
}

/// One process life of the node: its transport, router and sinks started afresh, then its
/// workload from where the node's memory says it stopped.
pub(crate) async fn run_life(spec: Arc<NodeSpec>) -> turmoil::Result {
    let NodeSpec { scenario, seed, node, recorder, .. } = &*spec;
    let life = recorder.lock().life_up(node);
    super::life_probes::life_started(node, life);
    tracing::debug!(node = %node, life, "process starts");
    if let Some(clock) = &spec.clock {
        tokio::task::spawn_local(clock.clone().serve());
    }
    let (transport, shipper) = start_transport(&spec, life);
    let router = start_router(&spec, &shipper)?;
    let sink = Arc::new(RecordingSink::new(
        node.clone(),
        recorder.clone(),
        SinkModel::new(&scenario.sink, *seed, node, life),
    ));
    let server = transport.serve(sink.clone(), router.clone()).await?;
    // On the host's LocalSet: a crash then drops tasks in spawn order. The router fences
    // what the server hands the sink: events of shards this node knows it does not own
    // are refused.
    tokio::task::spawn_local(server);
    shipper.install_local_event_sink(Arc::new(LocalSink(sink)));
    run_workload(&spec, life, &router).await?;
    // The workload is done; the node keeps serving its peers.
    std::future::pending::<()>().await;
    Ok(())
}

/// The life's transport, and the shipper over it whose counters the recorder reads when the
/// life ends.
fn start_transport(spec: &NodeSpec, life: u32) -> (Arc<dyn NodeTransport>, Arc<EventShipper>) {
    let NodeSpec { scenario, seed, node, recorder, routes, factory, .. } = spec;
    let observer = Arc::new(AckRecorder { node: node.clone(), recorder: recorder.clone() });
    let transport = factory.build(&LifeContext {
        scenario,
        node,
        life,
        nodes: &scenario.nodes,
        observer,
        run_seed: *seed,
    });
    // Before anything ships: a route dropped for this node at its restart is already gone.
    routes.attach(node, &transport);
    let shipper = Arc::new(
        EventShipper::new(ShipperConfig { local_node: node.clone() }, transport.shipper_transport())
            .with_deadline(scenario.transport.deadline),
    );
    let probe = transport.clone();
    recorder.lock().attach_counters(node, shipper.stats().clone(), Box::new(move || probe.counters()));
    (transport, shipper)
}

/// The life's router, on the latest shard map, recording every map it installs and every
/// `ship_batch` it makes.
fn start_router(
    spec: &NodeSpec,
    shipper: &Arc<EventShipper>,
) -> Result<Arc<Router>, Box<dyn std::error::Error>> {
    let NodeSpec { node, recorder, membership, .. } = spec;
    // A starting process reads the membership service afresh: the latest map. Its first
    // map moves nothing (it had none before).
    let map = membership.latest()?;
    recorder.lock().adopt(node, map.epoch(), Vec::new());
    // Every later map the router installs is recorded as it happens: at an adoption, from a
    // refusal, or when a staged map's handover completes (the router waits for accepts of
    // shards it gives away).
    let installs = (recorder.clone(), node.clone());
    let ships = ShipRecorder { node: node.clone(), recorder: recorder.clone() };
    let router = Arc::new(
        Router::new(shipper.clone(), map)
            .with_install_observer(Box::new(move |epoch, moved| {
                installs.0.lock().adopt(&installs.1, epoch, moved.to_vec())
            }))
            .with_ship_observer(Box::new(ships)),
    );
    membership.attach(node, &router);
    Ok(router)
}

/// The workload's calls, each when due, from the event the node's memory says is next, at most
/// `workload.concurrency` of them in flight at once.
async fn run_workload(spec: &NodeSpec, life: u32, router: &Arc<Router>) -> turmoil::Result {
    let NodeSpec { scenario, seed, node, index, recorder, .. } = spec;
    let life_tag = life.to_string();
    let rng = seeds::rng(*seed, &[node.as_bytes(), b"workload", life_tag.as_bytes()]);
    let mut generator = Generator::new(node, *index, scenario.workload.clone(), rng);
    let mut calls = InFlight::new(scenario.workload.concurrency);
    // tokio's clock is turmoil's simulated one here: the schedule is deterministic.
    let life_start = tokio::time::Instant::now(); // allow-nondeterminism: turmoil's simulated clock
    loop {
        let next_seq = recorder.lock().node(node).next_seq;
        let Some(call) = generator.call(next_seq) else { break };
        // Planned when due and when a call may start, not before: a crash in the wait loses no
        // event, and the plan uses the shard map of the moment it ships.
        let due = life_start + call.due;
        let now = tokio::time::Instant::now(); // allow-nondeterminism: turmoil's simulated clock
        if now < due {
            tokio::time::sleep_until(due).await;
        }
        calls.room().await;
        let events = call.items.len() as u64;
        let planned = router.plan_encoded(call.items)?;
        // Advanced before anything ships: a crash from here on never ships these events twice.
        {
            let mut rec = recorder.lock();
            let book = rec.node(node);
            book.next_seq += events;
            book.calls += 1;
        }
        calls.start(route_call(router.clone(), planned, recorder.clone(), node.clone())).await;
    }
    calls.drain().await;
    Ok(())
}

/// One route call: the router's own loop over `planned`; its ship observer records each
/// `ship_batch`. A call cut short by a crash never ends (the next life starts with none).
async fn route_call(router: Arc<Router>, planned: Vec<PlannedBatch>, recorder: SharedRecorder, node: String) {
    router.route_planned(planned).await;
    let mut rec = recorder.lock();
    let book = rec.node(&node);
    book.calls = book.calls.saturating_sub(1);
}

/// A node's route calls in flight. With a limit of 1 each call runs in the workload's own task,
/// one after the other, as a caller that awaits its route call does; above 1 each runs as a task
/// of its own on the host's LocalSet (deterministic under turmoil), each with its own deadlines,
/// and the workload waits for one to end while the limit is reached.
struct InFlight {
    limit: usize,
    running: JoinSet<()>,
}

impl InFlight {
    fn new(limit: u32) -> Self {
        InFlight { limit: usize::try_from(limit).unwrap_or(usize::MAX).max(1), running: JoinSet::new() }
    }

    /// Waits until fewer than the limit are in flight.
    async fn room(&mut self) {
        while self.running.len() >= self.limit {
            self.join_one().await;
        }
    }

    /// Runs `call`: to its end with a limit of 1, otherwise as a task of its own.
    async fn start(&mut self, call: impl Future<Output = ()> + 'static) {
        if self.limit == 1 {
            call.await;
        } else {
            self.running.spawn_local(call);
        }
    }

    /// Waits for every call in flight to end.
    async fn drain(&mut self) {
        while self.join_one().await {}
    }

    /// Waits for one call to end; `false` when none was in flight. A call's panic is the
    /// host's.
    async fn join_one(&mut self) -> bool {
        match self.running.join_next().await {
            Some(Err(err)) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Some(_) => true,
            None => false,
        }
    }
}
