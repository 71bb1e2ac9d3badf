//! The fault proxy: one loopback listener per directed link `(from, to)`; `from`'s transport
//! reaches `to` through it. Every connection is two pumps, one per direction, and each pump
//! asks the shared [`Links`] state before it forwards a chunk: whether that direction is
//! blocked (partition, one-way partition, hold: the bytes wait, as TCP's retransmissions make
//! them wait on a real network), its latency (the scenario's, or a `latency` fault's, drawn
//! per chunk from the run's seed), its loss (a connection reset, the nearest real cause of a
//! lost message) and how writes are cut (`network.segment`).
//!
//! Why not `noxious` (the Rust Toxiproxy port): its `timeout` toxic, the only way it stops a
//! direction, drops the bytes it stops, which corrupts a byte stream in a way no real network
//! does (TCP retransmits what a partition lost); it has no lossless pause for `hold`; its
//! toxics draw from an unseeded RNG, so the seed could not drive their jitter; and a proxy
//! target cannot follow a node that restarts on a new ephemeral port without recreating it.
//! What we need is a blocked set and a latency per direction: this file.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::scenario::{LatencyRange, Scenario};
use crate::seeds;

/// A directed pair of nodes.
pub(crate) type Pair = (String, String);

/// What the harness set on the network.
#[derive(Default)]
pub(crate) struct LinkState {
    /// Directions that forward nothing (partitions, holds); bytes wait.
    pub blocked: BTreeSet<Pair>,
    /// Latency per direction (the scenario's `network.latency` for the rest).
    pub latency: BTreeMap<Pair, LatencyRange>,
    /// Probability per chunk that a connection carrying it is reset, per direction (a
    /// `loss` fault) and for every other one (`network.loss`, until the settle phase).
    pub loss: BTreeMap<Pair, f64>,
    pub default_loss: f64,
    /// Where each node's current life listens (absent while it is down).
    pub targets: BTreeMap<String, SocketAddr>,
}

/// The proxy's shared state; every change wakes the pumps.
#[derive(Clone)]
pub(crate) struct Links {
    state: Arc<Mutex<LinkState>>,
    changed: watch::Sender<u64>,
    default_latency: LatencyRange,
    segment: Option<(usize, usize)>,
    seed: u64,
}

impl Links {
    fn new(scenario: &Scenario, seed: u64) -> Links {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX).max(1);
        Links {
            state: Arc::default(),
            changed: watch::channel(0).0,
            default_latency: scenario.network.latency,
            segment: scenario.network.segment.map(|r| (size(r.min), size(r.max))),
            seed,
        }
    }

    /// Changes the state and wakes every pump.
    pub(crate) fn change<T>(&self, f: impl FnOnce(&mut LinkState) -> T) -> T {
        let out = f(&mut self.lock());
        self.changed.send_modify(|n| *n += 1);
        out
    }

    fn lock(&self) -> MutexGuard<'_, LinkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn blocked(&self, pair: &Pair) -> bool {
        self.lock().blocked.contains(pair)
    }

    /// Waits until `pair` forwards.
    async fn open(&self, pair: &Pair) {
        let mut changed = self.changed.subscribe();
        while self.blocked(pair) {
            if changed.changed().await.is_err() {
                return;
            }
        }
    }

    /// Waits until the link from `from` to `to` is not cut (a SYN is retried meanwhile), then
    /// `to`'s live server, if it still has one.
    async fn target(&self, from: &str, to: &str) -> Option<SocketAddr> {
        self.open(&(from.to_owned(), to.to_owned())).await;
        self.lock().targets.get(to).copied()
    }

    /// Waits until `node` has a live server (`up`) or has none (`!up`).
    async fn wait_up(&self, node: &str, up: bool) {
        let mut changed = self.changed.subscribe();
        while self.lock().targets.contains_key(node) != up {
            if changed.changed().await.is_err() {
                return;
            }
        }
    }
}

/// The proxy of a run: its listeners, one per directed link, and their connections.
pub(crate) struct Proxy {
    pub links: Links,
    /// Where `from` reaches `to`: the listener of `(from, to)`.
    pub addrs: BTreeMap<Pair, SocketAddr>,
    tasks: JoinSet<()>,
}

impl Proxy {
    /// Binds a loopback listener (port from the OS) for every directed pair of `targets`
    /// (the scenario's nodes, and the NATS broker in a NATS run).
    pub(crate) async fn start(scenario: &Scenario, targets: &[String], seed: u64) -> std::io::Result<Proxy> {
        let links = Links::new(scenario, seed);
        let mut proxy = Proxy { links, addrs: BTreeMap::new(), tasks: JoinSet::new() };
        for from in targets {
            for to in targets.iter().filter(|to| *to != from) {
                let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
                let pair = (from.clone(), to.clone());
                proxy.addrs.insert(pair.clone(), listener.local_addr()?);
                proxy.tasks.spawn(accept_loop(listener, pair, proxy.links.clone()));
            }
        }
        Ok(proxy)
    }
}

/// Accepts `from`'s connections to `to` while `to` has a live server: while it is down the
/// listener is closed, so a connection attempt is refused as it would be by the host of a
/// dead process (bound again on the same port when the next life is up). Before `to`'s first
/// life is up the listener stays bound and connections wait in its backlog: every node starts
/// at once, as in a simulation, and a peer a few milliseconds slower to start is no fault.
async fn accept_loop(listener: TcpListener, pair: Pair, links: Links) {
    let Ok(addr) = listener.local_addr() else { return };
    let mut listener = Some(listener);
    let mut conns = JoinSet::new();
    let mut n = 0u64;
    loop {
        links.wait_up(&pair.1, true).await;
        let bound = match listener.take() {
            Some(l) => l,
            None => match TcpListener::bind(addr).await {
                Ok(l) => l,
                Err(err) => {
                    tracing::warn!(%addr, %err, "the proxy could not bind its port again");
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
        };
        loop {
            tokio::select! {
                biased;
                () = links.wait_up(&pair.1, false) => break,
                accepted = bound.accept() => {
                    let Ok((down, _)) = accepted else { break };
                    n += 1;
                    conns.spawn(connection(down, pair.clone(), links.clone(), n));
                    while conns.try_join_next().is_some() {}
                }
            }
        }
    }
}

/// One connection from `pair.0` to `pair.1`: connect on to `to`'s live server (waiting while
/// the link is cut, as a SYN would be retried), then pump both ways until either side ends;
/// dropping both sockets then closes the other.
async fn connection(down: TcpStream, pair: Pair, links: Links, n: u64) {
    let _ = down.set_nodelay(true);
    let Some(addr) = links.target(&pair.0, &pair.1).await else { return };
    let Ok(up) = TcpStream::connect(addr).await else { return };
    let _ = up.set_nodelay(true);
    let (down_r, down_w) = down.into_split();
    let (up_r, up_w) = up.into_split();
    let back = (pair.1.clone(), pair.0.clone());
    let label = n.to_string();
    let forward = pump(down_r, up_w, pair.clone(), links.clone(), &label, "fwd");
    let backward = pump(up_r, down_w, back, links.clone(), &label, "back");
    tokio::select! {
        biased;
        () = forward => {}
        () = backward => {}
    }
}

/// Chunks read and not yet written, per direction of a connection: what is "in flight" on the
/// link (a real link carries many packets at once, each with its own latency).
const IN_FLIGHT_CHUNKS: usize = 256;

/// Forwards `src` to `dst` as the direction `pair` allows, until either side ends or a loss
/// resets the connection. Reading and writing are decoupled: each chunk is stamped when read
/// with the time it is due (its drawn latency later, never before the chunk ahead of it) and
/// written then, so latency delays chunks without limiting how many are in flight.
async fn pump(src: OwnedReadHalf, dst: OwnedWriteHalf, pair: Pair, links: Links, conn: &str, way: &str) {
    let rng = |part: &[u8]| {
        let labels: [&[u8]; 6] =
            [b"proxy", pair.0.as_bytes(), pair.1.as_bytes(), conn.as_bytes(), way.as_bytes(), part];
        SmallRng::seed_from_u64(seeds::derive(links.seed, &labels))
    };
    let (tx, rx) = tokio::sync::mpsc::channel(IN_FLIGHT_CHUNKS);
    let read = read_side(src, tx, &pair, &links, rng(b"read"));
    let write = write_side(rx, dst, &pair, &links, rng(b"write"));
    tokio::pin!(write);
    tokio::select! {
        biased;
        () = &mut write => {}
        reset = read => {
            // At the end of the stream what is in flight still arrives; a reset loses it.
            if !reset {
                write.await;
            }
        }
    }
}

/// Reads chunks and stamps each with its due time; `true` when a loss resets the connection.
async fn read_side(
    mut src: OwnedReadHalf,
    tx: tokio::sync::mpsc::Sender<(tokio::time::Instant, Vec<u8>)>,
    pair: &Pair,
    links: &Links,
    mut rng: SmallRng,
) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_due = tokio::time::Instant::now(); // allow-nondeterminism: real mode, a real link's clock
    loop {
        let n = match src.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let (latency, loss) = {
            let state = links.lock();
            let loss = state.loss.get(pair).copied().unwrap_or(state.default_loss);
            (
                state.latency.get(pair).copied().unwrap_or(links.default_latency),
                Some(loss).filter(|p| *p > 0.0),
            )
        };
        if loss.is_some_and(|p| rng.random_bool(p.clamp(0.0, 1.0))) {
            return true; // the nearest real cause of a lost message: the connection is reset
        }
        // Order within a stream is kept: a chunk never overtakes the one before it.
        let now = tokio::time::Instant::now(); // allow-nondeterminism: real mode, a real link's clock
        last_due = last_due.max(now + draw(&mut rng, latency));
        if tx.send((last_due, buf[..n].to_vec())).await.is_err() {
            return false;
        }
    }
}

/// Writes each chunk when it is due and the direction forwards (a cut holds it, and those
/// behind it, until the heal).
async fn write_side(
    mut rx: tokio::sync::mpsc::Receiver<(tokio::time::Instant, Vec<u8>)>,
    mut dst: OwnedWriteHalf,
    pair: &Pair,
    links: &Links,
    mut rng: SmallRng,
) {
    while let Some((due, chunk)) = rx.recv().await {
        tokio::time::sleep_until(due).await;
        links.open(pair).await;
        if write_cut(&mut dst, &chunk, links.segment, &mut rng).await.is_err() {
            return;
        }
    }
}

/// A latency drawn from `range` as turmoil draws a message's (`min + (max - min) · Exp(5)`,
/// capped at `max`: most near the minimum), so the two modes' latencies compare.
fn draw(rng: &mut SmallRng, range: LatencyRange) -> Duration {
    if range.max <= range.min {
        return range.min;
    }
    let exp = -(1.0 - rng.random::<f64>()).ln() / 5.0;
    (range.min + (range.max - range.min).mul_f64(exp.min(1.0))).min(range.max)
}

/// Writes `bytes`, cut into pieces of seeded sizes when `segment` is set (each piece its own
/// write and flush, a yield between them).
async fn write_cut(
    dst: &mut OwnedWriteHalf,
    bytes: &[u8],
    segment: Option<(usize, usize)>,
    rng: &mut SmallRng,
) -> std::io::Result<()> {
    let Some((min, max)) = segment else { return dst.write_all(bytes).await };
    let mut rest = bytes;
    while !rest.is_empty() {
        let size = rng.random_range(min..=max.max(min)).min(rest.len());
        dst.write_all(&rest[..size]).await?;
        dst.flush().await?;
        rest = &rest[size..];
        tokio::task::yield_now().await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    async fn read_for(stream: &mut TcpStream, wait: Duration) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(Ok(n)) = tokio::time::timeout(wait, stream.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    }

    /// A cut direction holds its bytes (none lost, none reordered) until it forwards again; a
    /// connection made before the node's first life is up waits for it; a node whose life
    /// ended refuses connections.
    #[test]
    fn a_cut_holds_bytes_in_order_and_a_dead_node_refuses() {
        runtime().block_on(async {
            let scenario =
                crate::parse("name: p\nnodes: [n1, n2]\nnetwork: {latency: 0ms}\n", "p.yaml").unwrap();
            let proxy = Proxy::start(&scenario, &scenario.nodes, 1).await.unwrap();
            let via = proxy.addrs[&("n1".to_owned(), "n2".to_owned())];
            let mut client = TcpStream::connect(via).await.unwrap();
            let server = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await.unwrap();
            let target = server.local_addr().unwrap();
            proxy.links.change(|s| s.targets.insert("n2".to_owned(), target));
            let (mut served, _) = server.accept().await.unwrap();
            client.write_all(b"one,").await.unwrap();
            assert_eq!(read_for(&mut served, Duration::from_millis(100)).await, b"one,");
            proxy.links.change(|s| s.blocked.insert(("n1".to_owned(), "n2".to_owned())));
            client.write_all(b"two,").await.unwrap();
            client.write_all(b"three").await.unwrap();
            assert_eq!(read_for(&mut served, Duration::from_millis(100)).await, b"", "held while cut");
            // The other direction still flows (a one-way cut).
            served.write_all(b"ack").await.unwrap();
            assert_eq!(read_for(&mut client, Duration::from_millis(100)).await, b"ack");
            proxy.links.change(|s| s.blocked.clear());
            assert_eq!(read_for(&mut served, Duration::from_millis(100)).await, b"two,three");
            proxy.links.change(|s| s.targets.remove("n2"));
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(TcpStream::connect(via).await.is_err(), "n2 is down: refused");
        });
    }
}
