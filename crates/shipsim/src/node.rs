//! One node of a simulated cluster: the transport's server, an
//! `EventShipper` + `Router` over the transport, sinks that record every
//! delivery, and the workload.
//!
//! turmoil runs the program returned by [`host`] on every (re)start of the
//! host; everything a node must remember across a crash lives in the
//! recorder, everything else is rebuilt, as a real process would.

use std::future::Future;
use std::sync::Arc;

use shipper::{EventShipper, NodeId, Router, ShardMap, ShippedEvent, ShipperConfig, ShipperError};
use shipper_net::{EventSink, NetConfig, NetTransport, SinkClosed, TransportObserver, TurmoilNet};
use tokio::sync::mpsc;

use crate::recorder::{NetCounters, SharedRecorder};
use crate::routes::Routes;
use crate::scenario::Scenario;
use crate::seeds;
use crate::trace::Outcome;
use crate::workload::{self, Generator};

/// Room in the local sink's channel; the consumer drains it every tick.
const LOCAL_SINK_CAPACITY: usize = 1024;

/// What a node's program needs, shared by all of its lives.
struct NodeSpec {
    scenario: Scenario,
    seed: u64,
    node: String,
    index: usize,
    recorder: SharedRecorder,
    routes: Routes,
}

/// The program turmoil runs for `node`, on start and on every restart.
pub fn host(
    scenario: &Scenario,
    seed: u64,
    node: &str,
    recorder: SharedRecorder,
    routes: Routes,
) -> impl Fn() -> std::pin::Pin<Box<dyn Future<Output = turmoil::Result>>> + 'static {
    let index = scenario.nodes.iter().position(|n| n == node).expect("a scenario node");
    let spec = Arc::new(NodeSpec {
        scenario: scenario.clone(),
        seed,
        node: node.to_owned(),
        index,
        recorder,
        routes,
    });
    move || Box::pin(run_life(spec.clone()))
}

/// The transport settings of `node`'s life `life` as the scenario sets them (the jitter seed
/// aside). The runner writes their normalized form into the trace's `Start`.
pub fn net_config(scenario: &Scenario, node: &str, life: u32) -> NetConfig {
    let transport = &scenario.transport;
    NetConfig::new(node, u64::from(life))
        .with_connections(transport.connections)
        .with_ack_timeout(transport.ack_timeout)
        .with_deadline(transport.deadline)
        .with_connect_timeout(transport.connect_timeout)
        .with_backoff(transport.backoff.min, transport.backoff.max)
}

async fn run_life(spec: Arc<NodeSpec>) -> turmoil::Result {
    let NodeSpec { scenario, seed, node, index, recorder, routes } = &*spec;
    let life = recorder.lock().life_up(node);
    tracing::debug!(node = %node, life, "process starts");
    let life_tag = life.to_string();
    let net = TurmoilNet::new(scenario.nodes.iter().cloned());
    let config = net_config(scenario, node, life)
        .with_rng_seed(seeds::derive(*seed, &[node.as_bytes(), b"transport", life_tag.as_bytes()]));
    let observer = Arc::new(AckRecorder { node: node.clone(), recorder: recorder.clone() });
    let transport = Arc::new(NetTransport::new(net, config).with_observer(observer));
    // Before anything ships: a route dropped for this node at its restart is already gone.
    routes.attach(node, &transport);

    let shipper = Arc::new(
        EventShipper::new(ShipperConfig { local_node: node.clone() }, transport.clone())
            .with_deadline(scenario.transport.deadline),
    );
    let net_stats = transport.stats().clone();
    recorder.lock().attach_counters(
        node,
        shipper.stats().clone(),
        Box::new(move || {
            let s = net_stats.snapshot();
            NetCounters {
                received: s.received,
                duplicates_dropped: s.duplicates_dropped,
                retransmits: s.retransmits,
            }
        }),
    );

    let sink = RecordingSink { node: node.clone(), recorder: recorder.clone() };
    let listener = transport.bind().await?;
    // On the host's LocalSet: a crash then drops tasks in spawn order.
    tokio::task::spawn_local(transport.serve(listener, Arc::new(sink.clone())));

    let (local_tx, mut local_rx) = mpsc::channel::<ShippedEvent>(LOCAL_SINK_CAPACITY);
    shipper.install_local_sink(local_tx);
    tokio::task::spawn_local(async move {
        while let Some(event) = local_rx.recv().await {
            sink.record(&event);
        }
    });

    let map = ShardMap::with_nodes(scenario.shards, scenario.nodes.iter().cloned())?;
    let router = Router::new(shipper, map);
    let rng = seeds::rng(*seed, &[node.as_bytes(), b"workload", life_tag.as_bytes()]);
    let mut generator = Generator::new(node, *index, scenario.workload.clone(), rng);
    loop {
        let next_seq = recorder.lock().node(node).next_seq;
        let Some(call) = generator.call(next_seq) else { break };
        let events = call.items.len() as u64;
        let planned = router.plan_encoded(call.items)?;
        recorder.lock().node(node).next_seq += events;
        for batch in planned {
            let batch_no = recorder.lock().ship_begin(node, &batch.node, batch.local, &batch.events);
            let result = router.ship_planned(batch).await;
            let (shipped, outcome, error) = match &result.result {
                Ok(n) => (*n as u32, Outcome::Ok, None),
                Err(err) => (err.shipped as u32, outcome_of(&err.error), Some(err.error.to_string())),
            };
            tracing::debug!(node = %node, batch = batch_no, shipped, ?outcome, error = error.as_deref(), "ship_batch returned");
            recorder.lock().ship_end(node, batch_no, shipped, outcome, error);
        }
        // A zero pause (an unlimited rate) goes straight on: a zero sleep
        // would only cost a timer and a wake-up per call.
        if !call.pause.is_zero() {
            tokio::time::sleep(call.pause).await;
        }
    }
    // The workload is done; the node keeps serving its peers.
    std::future::pending::<()>().await;
    Ok(())
}

fn outcome_of(err: &ShipperError) -> Outcome {
    match err {
        ShipperError::NoRoute(_) => Outcome::NoRoute,
        err if err.is_ambiguous() => Outcome::Ambiguous,
        _ => Outcome::NotDelivered,
    }
}

/// The receiving application: records each event it accepts.
#[derive(Clone)]
struct RecordingSink {
    node: NodeId,
    recorder: SharedRecorder,
}

impl RecordingSink {
    fn record(&self, event: &ShippedEvent) {
        self.recorder.lock().deliver(
            &self.node,
            &event.source,
            workload::id_of(&event.payload),
            &event.payload,
        );
    }
}

#[async_trait::async_trait]
impl EventSink for RecordingSink {
    async fn accept(&self, _from: &NodeId, event: ShippedEvent) -> Result<(), SinkClosed> {
        self.record(&event);
        Ok(())
    }
}

/// Records the acks a sender's transport receives.
struct AckRecorder {
    node: NodeId,
    recorder: SharedRecorder,
}

impl AckRecorder {
    fn record(&self, dst: &NodeId, event: &ShippedEvent) {
        if let Some(id) = workload::id_of(&event.payload) {
            self.recorder.lock().ack(&self.node, dst, id);
        }
    }
}

impl TransportObserver for AckRecorder {
    fn on_ack(&self, dst: &NodeId, event: &ShippedEvent) {
        self.record(dst, event);
    }

    fn on_late_ack(&self, dst: &NodeId, event: &ShippedEvent) {
        self.record(dst, event);
    }

    fn on_stream_gap(&self, peer: &NodeId, seq: u64, expected: u64) {
        self.recorder.lock().stream_gap(&self.node, peer, seq, expected);
    }
}
