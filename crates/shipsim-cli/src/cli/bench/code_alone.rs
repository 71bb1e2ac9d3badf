//! Item 2, (c): the code under test alone on turmoil, without shipsim.
//!
//! The harness run of (a) does two things the bare program of (b) does not: it runs the
//! code under test (the router, shipper-net's acked transport with its connection slot,
//! writer and ack reader, the receiving server) and it watches that code (the recorder, the
//! observers, the membership service, the checkers). Their ratio alone cannot say which of
//! the two the time goes to. This program runs the first without the second: the same
//! router and transport, configured as (a) configures them, the same N events routed one at
//! a time from the node that does not own the key to the one that does, over the same link,
//! into a channel whose reader only counts. So (a) / (c) is what shipsim itself adds, and (c) / (b)
//! what the code under test costs over a bare exchange of acked messages.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant}; // allow-nondeterminism: a benchmark measures wall time

use shipper::{EventShipper, Router, ShardMap, ShippedEvent, ShipperConfig};
use shipper_net::{NetServer, NetTransport, TurmoilNet};
use shipsim::TcpFactory;
use shipsim::scenario::Scenario;

/// Runs (c) for (a)'s `scenario`, whose `sender` ships every event to the other node over a
/// link of fixed `latency`: wall seconds, simulated seconds and the events the receiver's sink
/// accepted.
pub(crate) fn run(scenario: &Scenario, sender: &str, latency: Duration) -> (f64, f64, u64) {
    let (events, nodes, deadline) =
        (scenario.workload.events, scenario.nodes.clone(), scenario.transport.deadline);
    let map = ShardMap::with_nodes(scenario.shards, nodes.iter().cloned()).expect("two nodes and shards");
    let sender = sender.to_owned();
    let owner = nodes.iter().find(|n| **n != sender).expect("two nodes").clone();
    // The settings the harness gives each node's first life; one fixed seed for the jitter.
    let server_config = TcpFactory::net_config(scenario, &owner, 1).with_rng_seed(1);
    let client_config = TcpFactory::net_config(scenario, &sender, 1).with_rng_seed(1);
    let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
    let mut sim = fixed_latency_sim(latency);
    let accepted = Arc::new(AtomicU64::new(0));
    let (counter, server_nodes) = (accepted.clone(), nodes.clone());
    sim.host(owner, move || {
        let (counter, nodes, config) = (counter.clone(), server_nodes.clone(), server_config.clone());
        async move {
            let (sink, mut delivered) = tokio::sync::mpsc::channel::<ShippedEvent>(1024);
            tokio::task::spawn_local(async move {
                while delivered.recv().await.is_some() {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
            let server = NetServer::new(TurmoilNet::new(nodes), config);
            let listener = server.bind().await?;
            server.serve(listener, Arc::new(sink)).await?;
            Ok(())
        }
    });
    sim.client(sender.clone(), async move {
        let net = NetTransport::new(TurmoilNet::new(nodes), client_config);
        let shipper = EventShipper::new(ShipperConfig { local_node: sender.clone() }, Arc::new(net))
            .with_deadline(deadline);
        let router = Router::new(Arc::new(shipper), map);
        for seq in 0..events {
            let payload = format!(r#"{{"id":{seq},"src":"{sender}","seq":{seq}}}"#).into_bytes();
            let planned = router.plan_encoded(vec![("k0", payload)]).expect("k0 routes");
            for batch in router.route_planned(planned).await {
                batch.result.expect("acked");
            }
        }
        Ok(())
    });
    sim.run().expect("the code under test alone");
    (start.elapsed().as_secs_f64(), sim.elapsed().as_secs_f64(), accepted.load(Ordering::Relaxed))
}

/// The simulation both programs without the harness run on (this one and the bare turmoil
/// program): the harness's tick, every message `latency` late, one fixed seed, and a day of
/// simulated time, so that only the traffic ends the run.
pub(super) fn fixed_latency_sim(latency: Duration) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .simulation_duration(Duration::from_secs(3600 * 24))
        .tick_duration(shipsim::TICK)
        .min_message_latency(latency)
        .max_message_latency(latency)
        .rng_seed(1)
        .build()
}
