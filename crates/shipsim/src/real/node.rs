//! A node process of a real run (`shipsim node …`, started by the harness): the simulation's
//! own node life (`sim::run_life`: router, transport, sinks, workload, recorder) on tokio's
//! multi-threaded runtime and real loopback sockets, its peers reached through the harness's
//! fault proxy. Every record is written to the life's trace file as it is made, stamped with
//! `CLOCK_MONOTONIC` since the run's start; what the node must remember across a SIGKILL (its
//! workload position and batch numbers) goes to its memory file on each record, as a real
//! service keeps it in durable storage.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shipsim_trace::{Micros, Record};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::oneshot;

use super::clock;
use super::control::{self, ToHarness, ToNode};
use super::transport::RealFactory;
use crate::scenario::{FaultAction, Scenario, TransportKind};
use crate::sim::{MembershipService, Memory, NodeSpec, Routes, SharedRecorder, Tap, run_life};

/// What the harness tells a node process on its command line.
#[derive(Debug, Clone)]
pub(crate) struct NodeArgs {
    pub control: SocketAddr,
    pub scenario: PathBuf,
    pub seed: u64,
    pub node: String,
    pub life: u32,
    pub t0_ns: u64,
    pub dir: PathBuf,
    pub kind: TransportKind,
    /// Where each peer is reached: the proxy's listener of (this node, peer).
    pub peers: Vec<(String, SocketAddr)>,
    /// The membership changes made before this life started, in order.
    pub membership: Vec<FaultAction>,
}

impl NodeArgs {
    /// The arguments, as `shipsim node` takes them.
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            format!("--control={}", self.control),
            format!("--scenario={}", self.scenario.display()),
            format!("--seed={}", self.seed),
            format!("--node={}", self.node),
            format!("--life={}", self.life),
            format!("--t0={}", self.t0_ns),
            format!("--dir={}", self.dir.display()),
            format!("--kind={}", self.kind.name()),
        ];
        args.extend(self.peers.iter().map(|(peer, addr)| format!("--peer={peer}={addr}")));
        args.extend(self.membership.iter().filter_map(|change| match change {
            FaultAction::Join(node) => Some(format!("--join={node}")),
            FaultAction::Leave(node) => Some(format!("--leave={node}")),
            _ => None,
        }));
        args
    }

    fn parse(args: &[String]) -> Result<NodeArgs, String> {
        let mut out = NodeArgs {
            control: SocketAddr::from(([127, 0, 0, 1], 0)),
            scenario: PathBuf::new(),
            seed: 0,
            node: String::new(),
            life: 1,
            t0_ns: 0,
            dir: PathBuf::new(),
            kind: TransportKind::Tcp,
            peers: Vec::new(),
            membership: Vec::new(),
        };
        for arg in args {
            let (key, value) = arg.split_once('=').ok_or_else(|| format!("bad argument {arg}"))?;
            let bad = |_| format!("bad value in {arg}");
            match key {
                "--control" => out.control = value.parse().map_err(|_| format!("bad value in {arg}"))?,
                "--scenario" => out.scenario = PathBuf::from(value),
                "--seed" => out.seed = value.parse().map_err(bad)?,
                "--node" => out.node = value.to_owned(),
                "--life" => out.life = value.parse().map_err(bad)?,
                "--t0" => out.t0_ns = value.parse().map_err(bad)?,
                "--dir" => out.dir = PathBuf::from(value),
                "--kind" => out.kind = value.parse().map_err(|_| format!("bad value in {arg}"))?,
                "--peer" => {
                    let (peer, addr) = value.split_once('=').ok_or_else(|| format!("bad argument {arg}"))?;
                    out.peers
                        .push((peer.to_owned(), addr.parse().map_err(|_| format!("bad value in {arg}"))?));
                }
                "--join" => out.membership.push(FaultAction::Join(value.to_owned())),
                "--leave" => out.membership.push(FaultAction::Leave(value.to_owned())),
                _ => return Err(format!("unknown argument {arg}")),
            }
        }
        Ok(out)
    }
}

/// The trace file of `node`'s life `life` in the run folder `dir`.
pub(crate) fn trace_file(dir: &Path, node: &str, life: u32) -> PathBuf {
    dir.join(format!("{node}.life-{life}.jsonl"))
}

/// The memory file of `node` (its workload position and next batch number).
pub(crate) fn memory_file(dir: &Path, node: &str) -> PathBuf {
    dir.join(format!("{node}.memory"))
}

/// `node`'s workload position and next batch number, as its last life left them.
pub(crate) fn read_memory(dir: &Path, node: &str) -> (u64, u64) {
    let bytes = std::fs::read(memory_file(dir, node)).unwrap_or_default();
    let word =
        |i: usize| bytes.get(i * 8..i * 8 + 8).and_then(|b| b.try_into().ok()).map_or(0, u64::from_le_bytes);
    (word(0), word(1))
}

/// Stamps with the shared monotonic clock; writes each record, and the node's memory after
/// it, with one `write` each (a SIGKILL loses neither once the call returned). After the
/// life's counters (its `stats` record, written when it stops) nothing more is written.
struct FileTap {
    t0_ns: u64,
    node: String,
    trace: File,
    memory: File,
    done: bool,
}

impl Tap for FileTap {
    fn now(&self) -> Micros {
        clock::since(self.t0_ns)
    }

    fn record(&mut self, record: &Record, memory: &Memory) {
        if self.done {
            return;
        }
        let _ = self.trace.write_all(&control::line(record));
        if let Some(book) = memory.get(&self.node) {
            let mut bytes = [0u8; 16];
            bytes[..8].copy_from_slice(&book.next_seq.to_le_bytes());
            bytes[8..].copy_from_slice(&book.next_batch.to_le_bytes());
            let _ = self.memory.write_all_at(&bytes, 0);
        }
        self.done = matches!(record, Record::Stats { .. });
    }
}

/// `shipsim node ARGS`: runs one node life until the harness stops it; the exit status.
pub fn main(args: &[String]) -> i32 {
    let args = match NodeArgs::parse(args) {
        Ok(args) => args,
        Err(why) => {
            eprintln!("shipsim node: {why}");
            return 2;
        }
    };
    match run(&args) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("shipsim node {} life {}: {err}", args.node, args.life);
            1
        }
    }
}

type BoxError = Box<dyn std::error::Error>;

fn run(args: &NodeArgs) -> Result<(), BoxError> {
    let mut scenario = crate::load(&args.scenario)?;
    scenario.transport.kind = Some(args.kind);
    if !scenario.nodes.contains(&args.node) || args.life == 0 {
        return Err(format!("no node {} life {} in {}", args.node, args.life, args.scenario.display()).into());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, serve(args, &scenario))
}

/// The recorder of this life: the node's memory read back, every record written out.
fn recorder(args: &NodeArgs) -> Result<SharedRecorder, BoxError> {
    let recorder = SharedRecorder::default();
    let (next_seq, next_batch) = read_memory(&args.dir, &args.node);
    let memory = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(memory_file(&args.dir, &args.node))?;
    let trace = File::create(trace_file(&args.dir, &args.node, args.life))?;
    let mut rec = recorder.lock();
    let book = rec.node(&args.node);
    (book.life, book.next_seq, book.next_batch) = (args.life - 1, next_seq, next_batch);
    rec.set_tap(Box::new(FileTap { t0_ns: args.t0_ns, node: args.node.clone(), trace, memory, done: false }));
    drop(rec);
    Ok(recorder)
}

/// A running node life, as its control loop sees it.
struct Life<'a> {
    args: &'a NodeArgs,
    recorder: SharedRecorder,
    routes: Routes,
    membership: MembershipService,
}

async fn serve(args: &NodeArgs, scenario: &Scenario) -> Result<(), BoxError> {
    let control = TcpStream::connect(args.control).await?;
    let (read, mut write) = control.into_split();
    let (bound_tx, bound_rx) = oneshot::channel();
    let bound = Mutex::new(Some(bound_tx));
    let hook = Arc::new(move |addr: SocketAddr| {
        if let Some(tx) = bound.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(addr);
        }
    });
    let factory = Arc::new(RealFactory::new(args.kind, args.peers.clone(), hook));
    let membership = MembershipService::new(scenario, args.seed);
    // The changes made before this process started: it starts on the latest map.
    for change in &args.membership {
        membership.learn(change, &args.node, None);
    }
    let node = Life { args, recorder: recorder(args)?, routes: Routes::default(), membership };
    let spec = NodeSpec::new(
        scenario,
        args.seed,
        &args.node,
        node.recorder.clone(),
        node.routes.clone(),
        node.membership.clone(),
        factory,
    );
    let mut life =
        tokio::task::spawn_local(async move { run_life(Arc::new(spec)).await.map_err(|e| e.to_string()) });
    let addr = tokio::select! {
        biased;
        addr = bound_rx => addr?,
        ended = &mut life => return Err(format!("the life ended before its server was bound: {ended:?}").into()),
    };
    let ready = ToHarness::Ready { node: args.node.clone(), life: args.life, addr };
    write.write_all(&control::line(&ready)).await?;
    let mut lines = BufReader::new(read).lines();
    let mut idle = None;
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    loop {
        tokio::select! {
            biased;
            ended = &mut life => {
                // The workload never returns on its own (the node keeps serving): an end is an error.
                return Err(format!("the node's life ended: {ended:?}").into());
            }
            line = lines.next_line() => {
                let Some(line) = line? else { return Err("the harness closed the control channel".into()) };
                node.command(serde_json::from_str(&line)?, &mut write).await?;
            }
            _ = tick.tick() => {
                node.membership.apply_due(node.now());
                let now = node.recorder.lock().memory().all_idle(std::slice::from_ref(&args.node), &scenario.workload);
                if idle != Some(now) {
                    idle = Some(now);
                    write.write_all(&control::line(&ToHarness::Idle(now))).await?;
                }
            }
        }
    }
}

impl Life<'_> {
    /// Time since the run's start.
    fn now(&self) -> Duration {
        Duration::from_micros(clock::since(self.args.t0_ns))
    }

    /// One command of the harness.
    async fn command(&self, command: ToNode, write: &mut OwnedWriteHalf) -> Result<(), BoxError> {
        let node = &self.args.node;
        match command {
            ToNode::DropRoute(to) => self.routes.drop_route(node, &to),
            ToNode::RestoreRoute(to) => self.routes.restore_route(node, &to),
            ToNode::Join(member) => self.membership.learn(&FaultAction::Join(member), node, Some(self.now())),
            ToNode::Leave(member) => {
                self.membership.learn(&FaultAction::Leave(member), node, Some(self.now()))
            }
            ToNode::Stop => {
                self.recorder.lock().life_down(node, false);
                write.write_all(&control::line(&ToHarness::Stopped)).await?;
                write.flush().await?;
                // The process ends here: nothing of it needs an orderly drop.
                std::process::exit(0);
            }
        }
        Ok(())
    }
}
