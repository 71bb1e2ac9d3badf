//! Testing your own transport: a fire-and-forget transport, written against shipsim's public
//! API only, run through the bundled `partition-heal` scenario. It keeps one TCP connection
//! per destination (turmoil's, inside the simulation), writes each event to it and returns
//! `Ok` at once, without waiting for the receiver to take it. What it writes while the
//! network is cut is lost, and the harness catches it.
//!
//! `cargo run -p shipsim --example custom_transport`

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shipper::{Fence, NodeId, ShippedEvent, ShipperError, ShipperResult, ShipperTransport, UNFENCED_EPOCH};
use shipsim::{EventSink, LifeContext, LocalFuture, NodeTransport, Server, Simulation, TransportFactory};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

const PORT: u16 = 7000;

/// Builds a node's transport for each of its process lives.
struct FireAndForget;

impl TransportFactory for FireAndForget {
    fn build(&self, _life: &LifeContext<'_>) -> Arc<dyn NodeTransport> {
        Arc::new(Node(Arc::default()))
    }
    // No `capabilities` or `timing`: it reports no acks, has no counters and cannot drop
    // routes. The trace says so and the report shows the rules it skips.
}

struct Node(Arc<Sender>);

impl NodeTransport for Node {
    fn shipper_transport(&self) -> Arc<dyn ShipperTransport> {
        self.0.clone()
    }

    fn serve(&self, sink: Arc<dyn EventSink>, fence: Arc<dyn Fence>) -> LocalFuture<'_, io::Result<Server>> {
        Box::pin(async move {
            let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
            let server: Server = Box::pin(async move {
                loop {
                    let (stream, _) = listener.accept().await?;
                    tokio::task::spawn_local(receive(stream, sink.clone(), fence.clone()));
                }
            });
            Ok(server)
        })
    }
}

/// Reads events off one connection, hands each to the sink if the router admits it.
async fn receive(mut stream: TcpStream, sink: Arc<dyn EventSink>, fence: Arc<dyn Fence>) -> io::Result<()> {
    loop {
        let shard = stream.read_u32().await?;
        let key = String::from_utf8_lossy(&read_bytes(&mut stream).await?).into_owned();
        let source = String::from_utf8_lossy(&read_bytes(&mut stream).await?).into_owned();
        let payload = read_bytes(&mut stream).await?;
        if fence.admit(shard, UNFENCED_EPOCH).is_ok() {
            let from = source.clone();
            let _ = sink.accept(&from, ShippedEvent { shard, key, payload, source }).await;
            fence.done(shard);
        }
    }
}

async fn read_bytes(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0; stream.read_u32().await? as usize];
    stream.read_exact(&mut bytes).await?;
    Ok(bytes)
}

/// One connection per destination, opened on first use and again after a failed write.
#[derive(Default)]
struct Sender {
    connections: Mutex<BTreeMap<NodeId, Arc<tokio::sync::Mutex<Option<TcpStream>>>>>,
}

#[async_trait]
impl ShipperTransport for Sender {
    async fn send(&self, dst: &NodeId, event: ShippedEvent) -> ShipperResult<()> {
        let failed = |e: io::Error| ShipperError::Send(e.to_string());
        let connection = self.connections.lock().unwrap().entry(dst.clone()).or_default().clone();
        let mut connection = connection.lock().await;
        if connection.is_none() {
            *connection = Some(TcpStream::connect((dst.as_str(), PORT)).await.map_err(failed)?);
        }
        let stream = connection.as_mut().expect("connected above");
        let mut frame = event.shard.to_be_bytes().to_vec();
        for field in [event.key.as_bytes(), event.source.as_bytes(), &event.payload] {
            frame.extend_from_slice(&(field.len() as u32).to_be_bytes());
            frame.extend_from_slice(field);
        }
        if let Err(err) = stream.write_all(&frame).await {
            *connection = None;
            return Err(failed(err));
        }
        // Fire and forget: written is "delivered".
        Ok(())
    }

    fn has_route(&self, _node: &NodeId) -> bool {
        true
    }
}

fn main() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/partition-heal.yaml");
    let scenario = shipsim::load(&path).expect("the bundled scenario loads");
    let result = Simulation::new(&scenario).transport(FireAndForget).run(1).expect("the run completes");
    print!("{}", result.summary);
    assert!(!result.passed(), "the harness must catch a transport that loses what it reports shipped");
    assert!(!result.summary.get(shipsim::trace::Invariant::Delivery).held());
    let first = &result.violations[0];
    println!("\nfirst violation, {} {} at {}us:", first.invariant(), first.rule.as_str(), first.t);
    println!("  expected {}\n  actual   {}", first.expected, first.actual);
}
