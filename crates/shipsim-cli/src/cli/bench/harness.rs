//! Item 2: the harness against a bare turmoil program doing the same traffic.
//!
//! (a) A scenario built in code goes through `shipsim::runner::run` (nodes,
//! recorder, checkers): nodes `[n1, n2]`, one routing key, batches of one
//! event, a rate so high that pacing never waits, a fixed 1 ms latency and no
//! faults. `workload.senders` names only the node that does not own the key,
//! so it ships its N events one at a time over the network, each acked before
//! the next, and the owner only receives: the same traffic as (b).
//!
//! (b) A bare turmoil program: two hosts, the client writes N 128-byte
//! length-prefixed messages (4-byte length + 124-byte body) one at a time and
//! waits for a 1-byte ack after each. Same tick (1 ms), same latency.
//!
//! (c) The code under test of (a) without shipsim around it ([`super::code_alone`]), which
//! splits (a) / (b) into what shipsim adds, (a) / (c), and what the router and transport
//! cost over a bare exchange, (c) / (b).

use std::time::{Duration, Instant}; // allow-nondeterminism: a benchmark measures wall time

use serde::Serialize;
use shipper::ShardMap;
use shipsim::Simulation;
use shipsim::scenario::{
    BatchSize, Expect, LatencyRange, Network, Scenario, Sink, TransportSettings, Workload,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LATENCY: Duration = Duration::from_millis(1);
const PORT: u16 = 9000;
const BODY: usize = 124;
const SHARDS: u32 = 16;

/// Item 2's figures.
#[derive(Debug, Clone, Serialize)]
pub struct HarnessFigures {
    /// Acked remote events (the bare program's messages).
    pub events: u64,
    pub harness_wall_s: f64,
    pub harness_simulated_s: f64,
    /// Remote events the harness run shipped (should equal `events`).
    pub harness_remote_events: u64,
    /// Local events the owner node routed alongside.
    pub harness_local_events: u64,
    pub harness_passed: bool,
    pub bare_wall_s: f64,
    pub bare_simulated_s: f64,
    /// harness / bare wall time; target <= 1.5, goal <= 1.3.
    pub ratio: f64,
    /// (c): the router and transport of (a) on turmoil without shipsim.
    pub alone_wall_s: f64,
    pub alone_simulated_s: f64,
    /// Events (c)'s receiver accepted (should equal `events`).
    pub alone_accepted: u64,
}

/// The scenario of (a).
pub(crate) fn scenario(events: u64) -> Scenario {
    let nodes: Vec<String> = vec!["n1".into(), "n2".into()];
    Scenario {
        name: "bench-harness".into(),
        description: "one node ships N acked events to another, one at a time".into(),
        seeds: vec![1],
        nodes: nodes.clone(),
        shards: SHARDS,
        members: None,
        membership: Default::default(),
        duration: Duration::from_secs(3600 * 24),
        network: Network { latency: LatencyRange::fixed(LATENCY), ..Network::default() },
        transport: TransportSettings::default(),
        sink: Sink::default(),
        workload: Workload {
            events,
            rate: f64::MAX,
            batch: BatchSize { min: 1, max: 1 },
            keys: 1,
            senders: Some(vec![sender(&nodes)]),
            payload: None,
            concurrency: 1,
        },
        faults: Vec::new(),
        expect: Expect { settle: Duration::from_secs(3600 * 24), ..Expect::default() },
    }
}

/// The node that does not own the workload's only key (`k0`), so every event
/// it routes goes over the network.
fn sender(nodes: &[String]) -> String {
    let map = ShardMap::with_nodes(SHARDS, nodes.iter().cloned()).expect("two nodes, 16 shards");
    let (_, owner) = map.locate("k0").expect("a node owns every shard");
    nodes.iter().find(|n| *n != owner).expect("two nodes").clone()
}

/// Runs (a), (b) and (c) in turn, `rounds` times each; the fastest of each counts.
pub(crate) fn run(events: u64, rounds: usize) -> HarnessFigures {
    let scenario = scenario(events);
    let (mut harness_wall_s, mut bare_wall_s, mut bare_simulated_s) = (f64::INFINITY, f64::INFINITY, 0.0);
    let mut alone = (f64::INFINITY, 0.0, 0);
    let mut result = None;
    for _ in 0..rounds.max(1) {
        let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
        let run = Simulation::new(&scenario).keep_records(false).run(1).expect("the harness run");
        harness_wall_s = harness_wall_s.min(start.elapsed().as_secs_f64());
        result = Some(run);
        let (wall, simulated) = bare(events);
        bare_wall_s = bare_wall_s.min(wall);
        bare_simulated_s = simulated;
        let (wall, simulated, accepted) =
            super::code_alone::run(&scenario, &sender(&scenario.nodes), LATENCY);
        alone = (alone.0.min(wall), simulated, accepted);
    }
    let result = result.expect("at least one round");
    let summary = &result.counts;
    HarnessFigures {
        events,
        harness_wall_s,
        harness_simulated_s: result.simulated.as_secs_f64(),
        harness_remote_events: summary.routed - summary.local,
        harness_local_events: summary.local,
        harness_passed: result.passed(),
        bare_wall_s,
        bare_simulated_s,
        ratio: harness_wall_s / bare_wall_s,
        alone_wall_s: alone.0,
        alone_simulated_s: alone.1,
        alone_accepted: alone.2,
    }
}

/// (b): wall and simulated seconds of the bare turmoil program.
pub(crate) fn bare(events: u64) -> (f64, f64) {
    let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let mut sim = super::code_alone::fixed_latency_sim(LATENCY);
    sim.host("server", || async {
        let listener = turmoil::net::TcpListener::bind(("0.0.0.0", PORT)).await?;
        loop {
            let (mut stream, _) = listener.accept().await?;
            tokio::task::spawn_local(async move {
                let mut body = [0u8; BODY];
                loop {
                    let len = match stream.read_u32().await {
                        Ok(len) => len as usize,
                        Err(_) => return,
                    };
                    if stream.read_exact(&mut body[..len]).await.is_err() || stream.write_u8(1).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    sim.client("client", async move {
        let mut stream = turmoil::net::TcpStream::connect(("server", PORT)).await?;
        let mut message = [7u8; 4 + BODY];
        message[..4].copy_from_slice(&(BODY as u32).to_be_bytes());
        for _ in 0..events {
            stream.write_all(&message).await?;
            stream.read_u8().await?;
        }
        Ok(())
    });
    sim.run().expect("the bare turmoil program");
    (start.elapsed().as_secs_f64(), sim.elapsed().as_secs_f64())
}
