//! Item 6: shipper-grpc's transport against shipper-net's TCP transport, side by side in one
//! run (alternating rounds, the best round of each counts, as item 2 does), because the choice
//! between them is a trade of speed against what gRPC brings, and that trade needs a figure.
//!
//! (a) Simulated: one scenario (default `scenarios/baseline.yaml`), every seed it lists,
//! through the full harness (`Simulation::transport`: nodes, recorder, checkers) on
//! [`TcpFactory`] and on [`GrpcFactory`]: routed events and simulated seconds per wall second.
//! This is what a sweep pays for choosing a transport.
//!
//! (b) Loopback: real sockets on tokio (`TokioNet`, 127.0.0.1, ephemeral ports), no
//! simulation: one sender ships N events in batches of B to one receiver whose sink is an
//! mpsc channel a task drains, from K concurrent callers. Events per wall second, and the
//! p50 and p99 of one ship call (`send_batch` start to `Ok`). This is the transports' own
//! cost, without turmoil's. Both sides run on one current-thread runtime, so events/s is the
//! CPU cost of the whole path (client and server) per event on one core, undisturbed by how
//! a multi-thread runtime would spread tasks over the machine's 2 cores. Both transports get
//! the same `NetConfig` (its defaults): gRPC ignores `connections` (HTTP/2 multiplexes every
//! call on one connection) and reads `max_unacked` as calls in flight, TCP as frames in flight
//! per connection; either way K callers never wait for room.
//!
//! NATS (`shipper-nats`) joins (b) when `nats-server` is on PATH: each round starts one on a
//! free loopback port, and the sender and receiver (on the round's runtime) ship through it.
//! The broker is a process of its own, so its CPU is not on the runtime's core: NATS's
//! events/s counts the client's path and two extra loopback hops, not the broker's work.
//! Without `nats-server` the rows are skipped, with the reason.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant}; // allow-nondeterminism: the bench measures wall time

use serde::Serialize;
use shipper::{NodeId, ShippedEvent, ShipperTransport};
use shipper_grpc::{GrpcServer, GrpcTransport};
use shipper_nats::{NatsConfig, NatsTransport};
use shipper_net::{NetConfig, NetServer, NetTransport, Network, TokioNet};
use shipsim::scenario::Scenario;
use shipsim::{GrpcFactory, Simulation, TcpFactory, TransportFactory};
use tokio::sync::{mpsc, oneshot};

/// The receiver's name in the sender's address book.
const RECEIVER: &str = "b";
/// Room in the receiver's channel: enough that the draining task, not the channel, paces it.
const CHANNEL: usize = 1024;
/// How long the bench waits for the drain to see every accepted event (they are all in the
/// channel by then, so only a lost or duplicated event makes it wait this long).
const DRAIN_WAIT: Duration = Duration::from_secs(5);

/// The two transports compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tcp,
    Grpc,
    Nats,
}

/// Item 6's figures.
#[derive(Debug, Clone, Serialize)]
pub struct TransportsFigures {
    pub rounds: usize,
    pub simulated: SimulatedFigures,
    pub loopback: LoopbackFigures,
}

/// (a): one scenario through the full harness on each transport.
#[derive(Debug, Clone, Serialize)]
pub struct SimulatedFigures {
    pub scenario: String,
    /// The scenario's seeds, each run once per round and transport.
    pub seeds: Vec<u64>,
    pub tcp: SimulatedSide,
    pub grpc: SimulatedSide,
    /// gRPC / TCP routed events per wall second.
    pub events_ratio: f64,
    /// gRPC / TCP simulated seconds per wall second.
    pub speedup_ratio: f64,
}

/// One transport's side of (a), summed over the seeds, in its best round.
#[derive(Debug, Clone, Serialize)]
pub struct SimulatedSide {
    /// Events the workload handed to `ship_batch`, local and remote (as item 3 counts them).
    pub routed: u64,
    /// Of those, shipped to another node: the ones the transport carried.
    pub remote: u64,
    pub wall_s: f64,
    pub simulated_s: f64,
    /// Routed events per wall second.
    pub events_per_s: f64,
    /// Simulated seconds per wall second.
    pub speedup: f64,
    /// Whether every invariant held on every seed.
    pub passed: bool,
}

/// (b): real sockets on loopback.
#[derive(Debug, Clone, Serialize)]
pub struct LoopbackFigures {
    pub events: u64,
    pub batch: usize,
    pub callers: usize,
    pub tcp: LoopbackSide,
    pub grpc: LoopbackSide,
    /// gRPC / TCP events per wall second.
    pub events_ratio: f64,
    /// gRPC / TCP p50 ship-call latency.
    pub p50_ratio: f64,
    /// gRPC / TCP p99 ship-call latency.
    pub p99_ratio: f64,
    /// NATS through a nats-server on loopback, if one is installed.
    pub nats: Option<NatsSide>,
    /// Why the NATS rows are missing.
    pub nats_skipped: Option<String>,
}

/// NATS's best round of (b), with its ratios to TCP.
#[derive(Debug, Clone, Serialize)]
pub struct NatsSide {
    pub side: LoopbackSide,
    /// NATS / TCP events per wall second.
    pub events_ratio: f64,
    /// NATS / TCP p50 ship-call latency.
    pub p50_ratio: f64,
    /// NATS / TCP p99 ship-call latency.
    pub p99_ratio: f64,
}

/// One transport's best round of (b) (the one with the most events per second).
#[derive(Debug, Clone, Serialize)]
pub struct LoopbackSide {
    /// Ship calls timed (`ceil(events / batch)`).
    pub calls: usize,
    /// Events the receiver's sink took, warm-up excluded (should equal `events`).
    pub delivered: u64,
    /// From the first timed call's start to the last one's `Ok`.
    pub wall_s: f64,
    pub events_per_s: f64,
    /// Latency of one ship call, `send_batch` start to `Ok`, microseconds.
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
}

/// What the loopback part ships and how.
#[derive(Debug, Clone, Copy)]
pub struct LoopbackLoad {
    pub events: u64,
    pub batch: usize,
    pub callers: usize,
}

/// Runs (a) and (b), each `rounds` times per transport, alternating TCP and gRPC.
pub(crate) fn run(path: &Path, load: LoopbackLoad, rounds: usize) -> Result<TransportsFigures, String> {
    let scenario = shipsim::load(path).map_err(|e| e.to_string())?;
    let rounds = rounds.max(1);
    Ok(TransportsFigures {
        rounds,
        simulated: simulated(&scenario, rounds)?,
        loopback: loopback(load, rounds)?,
    })
}

/// (a): the best round of each transport.
pub(crate) fn simulated(scenario: &Scenario, rounds: usize) -> Result<SimulatedFigures, String> {
    let (mut tcp, mut grpc): (Option<SimulatedSide>, Option<SimulatedSide>) = (None, None);
    for _ in 0..rounds.max(1) {
        keep_fastest(&mut tcp, simulated_round(scenario, TcpFactory)?);
        keep_fastest(&mut grpc, simulated_round(scenario, GrpcFactory)?);
    }
    let (tcp, grpc) = (tcp.expect("at least one round"), grpc.expect("at least one round"));
    Ok(SimulatedFigures {
        scenario: scenario.name.clone(),
        seeds: scenario.seeds.clone(),
        events_ratio: grpc.events_per_s / tcp.events_per_s,
        speedup_ratio: grpc.speedup / tcp.speedup,
        tcp,
        grpc,
    })
}

fn keep_fastest(best: &mut Option<SimulatedSide>, round: SimulatedSide) {
    if best.as_ref().is_none_or(|b| round.wall_s < b.wall_s) {
        *best = Some(round);
    }
}

/// Every seed of `scenario` once on `factory`'s transport, summed.
fn simulated_round(
    scenario: &Scenario,
    factory: impl TransportFactory + Clone,
) -> Result<SimulatedSide, String> {
    let name = factory.name();
    let (mut routed, mut remote, mut wall_s, mut simulated_s, mut passed) = (0, 0, 0.0, 0.0, true);
    for &seed in &scenario.seeds {
        let simulation = Simulation::new(scenario).transport(factory.clone()).keep_records(false);
        let start = Instant::now(); // allow-nondeterminism: the bench measures wall time
        let result =
            simulation.run(seed).map_err(|e| format!("{} seed {seed} on {name}: {e}", scenario.name))?;
        wall_s += start.elapsed().as_secs_f64();
        let summary = &result.counts;
        routed += summary.routed;
        remote += summary.routed - summary.local;
        simulated_s += result.simulated.as_secs_f64();
        passed &= result.passed();
    }
    Ok(SimulatedSide {
        routed,
        remote,
        wall_s,
        simulated_s,
        events_per_s: routed as f64 / wall_s,
        speedup: simulated_s / wall_s,
        passed,
    })
}

/// (b): the best round of each transport.
pub(crate) fn loopback(load: LoopbackLoad, rounds: usize) -> Result<LoopbackFigures, String> {
    let (mut tcp, mut grpc): (Option<LoopbackSide>, Option<LoopbackSide>) = (None, None);
    let with_nats = shipsim::real::nats_installed();
    let mut nats: Option<LoopbackSide> = None;
    for _ in 0..rounds.max(1) {
        keep_best(&mut tcp, complete(Kind::Tcp, load, loopback_round(Kind::Tcp, load)?)?);
        keep_best(&mut grpc, complete(Kind::Grpc, load, loopback_round(Kind::Grpc, load)?)?);
        if with_nats {
            keep_best(&mut nats, complete(Kind::Nats, load, loopback_round(Kind::Nats, load)?)?);
        }
    }
    let (tcp, grpc) = (tcp.expect("at least one round"), grpc.expect("at least one round"));
    let nats = nats.map(|side| NatsSide {
        events_ratio: side.events_per_s / tcp.events_per_s,
        p50_ratio: side.p50_us / tcp.p50_us,
        p99_ratio: side.p99_us / tcp.p99_us,
        side,
    });
    let nats_skipped =
        (!with_nats).then(|| format!("nats-server is not installed: {}", shipsim::real::NATS_INSTALL));
    Ok(LoopbackFigures {
        nats,
        nats_skipped,
        events: load.events,
        batch: load.batch.max(1),
        callers: load.callers.max(1),
        events_ratio: grpc.events_per_s / tcp.events_per_s,
        p50_ratio: grpc.p50_us / tcp.p50_us,
        p99_ratio: grpc.p99_us / tcp.p99_us,
        tcp,
        grpc,
    })
}

/// The round, if its receiver took every event exactly once: a rate measured while events
/// went missing or came twice would compare broken transports, not fast ones.
fn complete(kind: Kind, load: LoopbackLoad, round: LoopbackSide) -> Result<LoopbackSide, String> {
    if round.delivered == load.events {
        Ok(round)
    } else {
        Err(format!("{kind:?} on loopback: the receiver took {} events of {}", round.delivered, load.events))
    }
}

fn keep_best(best: &mut Option<LoopbackSide>, round: LoopbackSide) {
    if best.as_ref().is_none_or(|b| round.events_per_s > b.events_per_s) {
        *best = Some(round);
    }
}

/// One round of (b) on `kind`, on a runtime of its own: dropping it at the end stops the
/// receiver and closes every socket, so rounds do not share connections or tasks.
pub(crate) fn loopback_round(kind: Kind, load: LoopbackLoad) -> Result<LoopbackSide, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("a tokio runtime: {e}"))?;
    runtime.block_on(ship_over_loopback(kind, load))
}

/// A transport's sending side and its receiver's address, the receiver serving on this
/// runtime into `sink`.
async fn start(
    kind: Kind,
    sink: mpsc::Sender<ShippedEvent>,
    broker: Option<&Broker>,
) -> Result<Arc<dyn ShipperTransport>, String> {
    let bind = |e: std::io::Error| format!("binding 127.0.0.1: {e}");
    let sink = Arc::new(sink);
    if kind == Kind::Nats {
        return start_nats(broker.ok_or("NATS needs a broker")?, sink).await;
    }
    let addr: SocketAddr = match kind {
        Kind::Tcp => {
            let server = NetServer::new(TokioNet::new(), config(RECEIVER));
            let listener = server.bind().await.map_err(bind)?;
            let addr = TokioNet::local_addr(&listener).map_err(bind)?;
            drop(tokio::spawn(server.serve(listener, sink)));
            addr
        }
        Kind::Grpc | Kind::Nats => {
            let server = GrpcServer::new(TokioNet::new(), config(RECEIVER));
            let listener = server.bind().await.map_err(bind)?;
            let addr = TokioNet::local_addr(&listener).map_err(bind)?;
            drop(tokio::spawn(server.serve(listener, sink)));
            addr
        }
    };
    let net = TokioNet::new().with_peer(RECEIVER, addr);
    Ok(match kind {
        Kind::Tcp => Arc::new(NetTransport::new(net, config("a"))),
        Kind::Grpc | Kind::Nats => Arc::new(GrpcTransport::new(net, config("a"))),
    })
}

/// A nats-server on a free loopback port, killed when dropped.
struct Broker(std::process::Child, u16);

impl Broker {
    fn start() -> Result<Broker, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("a free port: {e}"))?
            .port();
        let child = std::process::Command::new("nats-server")
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|e| format!("nats-server: {e}"))?;
        let broker = Broker(child, port);
        let started = Instant::now(); // allow-nondeterminism: waiting for a process
        while started.elapsed() < Duration::from_secs(10) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(broker);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Err(format!("nats-server did not listen on port {port}"))
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// NATS's receiver (subscribed through `broker`) serving into `sink`, and its sender.
async fn start_nats(
    broker: &Broker,
    sink: Arc<mpsc::Sender<ShippedEvent>>,
) -> Result<Arc<dyn ShipperTransport>, String> {
    let url = format!("nats://127.0.0.1:{}", broker.1);
    let receiver = Arc::new(NatsTransport::new(NatsConfig::new(RECEIVER, 1, url.as_str())));
    let server = receiver.serve_fenced(sink, Arc::new(Unfenced)).await.map_err(|e| e.to_string())?;
    drop(tokio::spawn(async move {
        let _receiver = receiver;
        server.await
    }));
    Ok(Arc::new(NatsTransport::new(NatsConfig::new("a", 1, url))))
}

/// A receiver that owns every shard (the other transports' `serve` has no fence either).
struct Unfenced;

impl shipper::Fence for Unfenced {
    fn admit(&self, _shard: shipper::ShardId, _epoch: u64) -> Result<(), shipper::Refusal> {
        Ok(())
    }
}

/// The settings both transports run with: the defaults.
fn config(node: &str) -> NetConfig {
    NetConfig::new(node, 1)
}

/// `count` events of ship call `call`, each with a 100-byte JSON payload.
fn batch(call: usize, count: usize) -> Vec<ShippedEvent> {
    (0..count)
        .map(|i| ShippedEvent {
            shard: (call % 16) as u32,
            key: format!("k{call}/{i}"),
            payload: format!("{{\"call\":{call:>10},\"index\":{i:>10},\"pad\":\"{:>56}\"}}", "").into_bytes(),
            source: "a".into(),
        })
        .collect()
}

/// One round of (b) on the current runtime: start the receiver and its counter, warm the
/// connections up, then time every ship call of the load from `load.callers` callers.
async fn ship_over_loopback(kind: Kind, load: LoopbackLoad) -> Result<LoopbackSide, String> {
    let (batch_len, callers) = (load.batch.max(1), load.callers.max(1));
    let events = usize::try_from(load.events).map_err(|_| "too many events".to_owned())?;
    // Call sizes: full batches, the last one shorter if B does not divide N.
    let sizes: Vec<usize> =
        (0..events.div_ceil(batch_len)).map(|c| batch_len.min(events - c * batch_len)).collect();
    // The warm-up (one batch per caller, untimed) opens the connections before the clock runs.
    let warm_up = callers * batch_len;
    let (tx, rx) = mpsc::channel::<ShippedEvent>(CHANNEL);
    let (delivered, drained) = count_deliveries(rx, (warm_up + events) as u64);
    let broker = if kind == Kind::Nats { Some(Broker::start()?) } else { None };
    let transport = start(kind, tx, broker.as_ref()).await?;
    let dst: NodeId = RECEIVER.into();
    warm_connections_up(kind, &transport, &dst, callers, batch_len).await?;

    // Every batch built before the clock runs: the round times shipping, not formatting.
    let queue: Vec<Vec<ShippedEvent>> =
        sizes.iter().enumerate().rev().map(|(call, &n)| batch(call, n)).collect();
    let (mut latencies, wall_s) = timed_calls(kind, &transport, &dst, callers, queue).await?;

    // Every event is in the channel by now (`Ok` means the sink took it): let the drain catch up.
    let _ = tokio::time::timeout(DRAIN_WAIT, drained).await;
    latencies.sort_by(f64::total_cmp);
    Ok(LoopbackSide {
        calls: latencies.len(),
        delivered: delivered.load(Ordering::Relaxed).saturating_sub(warm_up as u64),
        wall_s,
        events_per_s: load.events as f64 / wall_s,
        p50_us: percentile(&latencies, 50.0),
        p99_us: percentile(&latencies, 99.0),
        max_us: latencies.last().copied().unwrap_or(0.0),
    })
}

/// Drains the receiver's sink on a task of its own, counting the events it takes; the
/// returned `oneshot` fires once `expected` have arrived, so the round need not wait out
/// [`DRAIN_WAIT`] when nothing went missing.
fn count_deliveries(
    mut rx: mpsc::Receiver<ShippedEvent>,
    expected: u64,
) -> (Arc<AtomicU64>, oneshot::Receiver<()>) {
    let delivered = Arc::new(AtomicU64::new(0));
    let (all_in, drained) = oneshot::channel::<()>();
    drop(tokio::spawn({
        let delivered = delivered.clone();
        async move {
            let mut all_in = Some(all_in);
            while rx.recv().await.is_some() {
                if delivered.fetch_add(1, Ordering::Relaxed) + 1 == expected
                    && let Some(all_in) = all_in.take()
                {
                    let _ = all_in.send(());
                }
            }
        }
    }));
    (delivered, drained)
}

/// One untimed batch per caller, all at once, so that the timed calls find their connections
/// open: the round measures shipping, not connecting.
async fn warm_connections_up(
    kind: Kind,
    transport: &Arc<dyn ShipperTransport>,
    dst: &NodeId,
    callers: usize,
    batch_len: usize,
) -> Result<(), String> {
    let warm: Vec<_> = (0..callers)
        .map(|c| {
            let (transport, dst, events) = (transport.clone(), dst.clone(), batch(usize::MAX - c, batch_len));
            tokio::spawn(async move { transport.send_batch(&dst, events, None).await })
        })
        .collect();
    for call in warm {
        call.await.map_err(|e| e.to_string())?.map_err(|e| format!("{kind:?} warm-up: {}", e.error))?;
    }
    Ok(())
}

/// `callers` concurrent callers popping batches off `queue` (from its end) until it is empty:
/// the latency of every ship call in microseconds, in no particular order, and the wall time
/// from before the first call to after the last.
async fn timed_calls(
    kind: Kind,
    transport: &Arc<dyn ShipperTransport>,
    dst: &NodeId,
    callers: usize,
    queue: Vec<Vec<ShippedEvent>>,
) -> Result<(Vec<f64>, f64), String> {
    let calls = queue.len();
    let queue = Arc::new(Mutex::new(queue));
    let start = Instant::now(); // allow-nondeterminism: the bench measures wall time
    let workers: Vec<_> = (0..callers)
        .map(|_| {
            let (transport, dst, queue) = (transport.clone(), dst.clone(), queue.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let Some(events) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop() else {
                        return Ok::<_, String>(latencies);
                    };
                    let call = Instant::now(); // allow-nondeterminism: the bench measures wall time
                    transport.send_batch(&dst, events, None).await.map_err(|e| e.error.to_string())?;
                    latencies.push(call.elapsed().as_secs_f64() * 1e6);
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(calls);
    for worker in workers {
        let worker = worker.await.map_err(|e| e.to_string())?;
        latencies.extend(worker.map_err(|e| format!("{kind:?} ship call: {e}"))?);
    }
    Ok((latencies, start.elapsed().as_secs_f64()))
}

/// The nearest-rank `p`th percentile of `sorted` (ascending): the smallest value with at least
/// `p` percent of the values at or below it. 0 for no values.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
