//! The harness of a real run: starts the fault proxy and one OS process per node, carries out
//! the scenario's timeline on them (signals, proxy state, control messages), heals everything
//! for the settle phase, stops the nodes, merges every process's trace with its own records
//! and runs the simulation's checkers on the result.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use shipsim_trace::{LifeState, Phase, Record, Text};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use super::clock;
use super::control::{self, ToHarness, ToNode};
use super::error::RealError;
use super::network::NetFaults;
use super::node::{NodeArgs, read_memory, trace_file};
use super::procs::NodeProc;
use super::proxy::Proxy;
use crate::scenario::{FaultAction, Scenario, TransportKind};
use crate::sim::{MembershipService, Recorder, SharedRecorder};

/// How long a node process may take to start and bind its server.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a node may take to write its counters and exit when the run ends.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a SIGKILLed process may take to be gone.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);

/// What the control connections report.
enum Event {
    Connected { node: String, life: u32, addr: SocketAddr, writer: OwnedWriteHalf },
    Message { node: String, life: u32, message: ToHarness },
}

/// A run in progress.
pub(crate) struct Harness {
    pub exe: PathBuf,
    pub path: PathBuf,
    pub scenario: Scenario,
    pub kind: TransportKind,
    pub seed: u64,
    pub dir: PathBuf,
    pub t0_ns: u64,
    pub proxy: Proxy,
    pub control: SocketAddr,
    events: mpsc::UnboundedReceiver<Event>,
    /// Every running process: the nodes', and the NATS broker's under `broker`.
    pub procs: BTreeMap<String, NodeProc>,
    pub lives: BTreeMap<String, u32>,
    /// The broker's lives so far (NATS only).
    broker_lives: u32,
    writers: BTreeMap<String, OwnedWriteHalf>,
    pub idle: BTreeMap<String, bool>,
    stopped: BTreeMap<String, bool>,
    /// Nodes told to stop: their exit is expected.
    stopping: std::collections::BTreeSet<String>,
    pub net: NetFaults,
    pub rec: Recorder,
    /// The membership changes so far (a starting process reads the latest map), the service
    /// that numbers them, and when the last one was announced.
    pub changes: Vec<FaultAction>,
    membership: MembershipService,
    pub last_change_us: Option<u64>,
    /// Paused nodes' SIGCONT times (microseconds since the start).
    pub resumes: Vec<(u64, String)>,
    /// SIGINT (Ctrl-C) and SIGTERM, listened to from the start so none is missed.
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Harness {
    /// The proxy and the control listener bound, nothing started.
    pub(crate) async fn new(
        exe: &Path,
        path: &Path,
        scenario: &Scenario,
        seed: u64,
        dir: PathBuf,
    ) -> Result<Harness, RealError> {
        let mut targets = scenario.nodes.clone();
        if scenario.transport.kind == Some(TransportKind::Nats) {
            targets.push(TransportKind::BROKER.to_owned());
        }
        let proxy = Proxy::start(scenario, &targets, seed).await?;
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let control = listener.local_addr()?;
        let (tx, events) = mpsc::unbounded_channel();
        tokio::spawn(accept_control(listener, tx));
        Ok(Harness {
            exe: exe.to_path_buf(),
            path: std::path::absolute(path)?,
            scenario: scenario.clone(),
            kind: scenario.transport.kind.unwrap_or_default(),
            seed,
            dir,
            t0_ns: clock::now_ns(),
            proxy,
            control,
            events,
            procs: BTreeMap::new(),
            lives: BTreeMap::new(),
            broker_lives: 0,
            writers: BTreeMap::new(),
            idle: BTreeMap::new(),
            stopped: BTreeMap::new(),
            stopping: std::collections::BTreeSet::new(),
            net: NetFaults::default(),
            rec: Recorder::default(),
            resumes: Vec::new(),
            changes: Vec::new(),
            membership: MembershipService::new(scenario, seed),
            last_change_us: None,
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Microseconds since the run's start.
    pub(crate) fn now(&self) -> u64 {
        clock::since(self.t0_ns)
    }

    /// Stamps the harness's next records with now.
    pub(crate) fn stamp(&mut self) {
        let now = self.now();
        self.rec.set_now(now);
    }

    /// Starts `node`'s next life (without waiting for it).
    pub(crate) fn spawn(&mut self, node: &str) -> Result<(), RealError> {
        let life = self.lives.get(node).copied().unwrap_or(0) + 1;
        self.lives.insert(node.to_owned(), life);
        let peers = self.proxy.addrs.keys().filter(|(from, to)| from == node && to != node);
        let peers =
            peers.map(|(_, p)| (p.clone(), self.proxy.addrs[&(node.to_owned(), p.clone())])).collect();
        let args = NodeArgs {
            control: self.control,
            scenario: self.path.clone(),
            seed: self.seed,
            node: node.to_owned(),
            life,
            t0_ns: self.t0_ns,
            dir: self.dir.clone(),
            kind: self.kind,
            peers,
            membership: self.changes.clone(),
        };
        let stderr = self.dir.join(format!("{node}.life-{life}.stderr"));
        let proc = NodeProc::spawn(&self.exe, &args.to_args(), node, life, stderr)
            .map_err(|e| RealError::Node(format!("node {node} life {life} could not be started: {e}")))?;
        self.procs.insert(node.to_owned(), proc);
        self.idle.insert(node.to_owned(), false);
        self.net.down.remove(node);
        Ok(())
    }

    /// Starts the NATS broker's next life and points the proxy's (node, `broker`) listeners at
    /// it.
    pub(crate) fn start_broker(&mut self) -> Result<(), RealError> {
        self.broker_lives += 1;
        let (proc, addr) =
            super::broker::start(&self.dir, self.broker_lives, &self.scenario.transport.broker)?;
        let broker = TransportKind::BROKER.to_owned();
        self.procs.insert(broker.clone(), proc);
        self.net.down.remove(&broker);
        self.proxy.links.change(|s| s.targets.insert(broker, addr));
        Ok(())
    }

    /// Waits until every node in `nodes` reported its server bound.
    pub(crate) async fn wait_ready(&mut self, nodes: &[String]) -> Result<(), RealError> {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT; // allow-nondeterminism: real mode
        while nodes.iter().any(|n| !self.writers.contains_key(n)) {
            let now = tokio::time::Instant::now(); // allow-nondeterminism: real mode
            if now >= deadline {
                let node = nodes.iter().find(|n| !self.writers.contains_key(*n)).cloned().unwrap_or_default();
                let tail = self.procs.get(&node).map(NodeProc::tail).unwrap_or_default();
                return Err(RealError::Node(format!(
                    "node {node} did not start within {START_TIMEOUT:?}{tail}"
                )));
            }
            self.wait_event(Duration::from_millis(20)).await?;
        }
        Ok(())
    }

    /// Handles the control events that come within `within` (at least one wait), and checks
    /// that no node process exited on its own.
    pub(crate) async fn wait_event(&mut self, within: Duration) -> Result<(), RealError> {
        tokio::select! {
            biased;
            _ = self.interrupt.recv() => return Err(RealError::Interrupted),
            _ = self.terminate.recv() => return Err(RealError::Interrupted),
            event = self.events.recv() => {
                if let Some(event) = event {
                    self.handle(event);
                }
            }
            () = tokio::time::sleep(within) => {}
        }
        while let Ok(event) = self.events.try_recv() {
            self.handle(event);
        }
        self.resume_due();
        self.check_alive()
    }

    /// SIGSTOP to `node`'s process group until `for_us` from now (`pause`).
    pub(crate) fn pause(&mut self, node: &str, for_us: u64) {
        if let Some(proc) = self.procs.get(node) {
            proc.signal(libc::SIGSTOP);
            self.net.paused.insert(node.to_owned());
            self.resumes.push((self.now() + for_us, node.to_owned()));
        }
    }

    /// SIGCONT to each paused node whose pause is over.
    fn resume_due(&mut self) {
        let now = self.now();
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.resumes).into_iter().partition(|(t, _)| *t <= now);
        self.resumes = later;
        for (_, node) in due {
            if self.net.paused.remove(&node)
                && let Some(proc) = self.procs.get(&node)
            {
                proc.signal(libc::SIGCONT);
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Connected { node, life, addr, writer } if self.lives.get(&node) == Some(&life) => {
                self.writers.insert(node.clone(), writer);
                self.proxy.links.change(|s| s.targets.insert(node, addr));
            }
            Event::Message { node, life, message } if self.lives.get(&node) == Some(&life) => match message {
                ToHarness::Idle(idle) => {
                    self.idle.insert(node, idle);
                }
                ToHarness::Stopped => {
                    self.stopped.insert(node, true);
                }
                ToHarness::Ready { .. } => {}
            },
            _ => {}
        }
    }

    /// A node process that exited without being told to is an error naming it.
    fn check_alive(&mut self) -> Result<(), RealError> {
        for (node, proc) in &mut self.procs {
            if self.stopping.contains(node) {
                continue;
            }
            if let Some(status) = proc.exited() {
                let life = proc.life;
                return Err(RealError::Node(format!(
                    "node {node} life {life} exited early ({status}){}",
                    proc.tail()
                )));
            }
        }
        Ok(())
    }

    /// Sends `command` to `node`'s running life.
    pub(crate) async fn send(&mut self, node: &str, command: &ToNode) -> Result<(), RealError> {
        let writer = self
            .writers
            .get_mut(node)
            .ok_or_else(|| RealError::Node(format!("node {node} is not running")))?;
        writer.write_all(&control::line(command)).await?;
        Ok(())
    }

    /// A `join` or `leave`: the next epoch announced (and recorded, once, by the harness),
    /// then told to every running node, which adopts it after its own seeded propagation
    /// delay.
    pub(crate) async fn membership_change(&mut self, action: &FaultAction) -> Result<(), RealError> {
        let now = self.now();
        let announced = SharedRecorder::default();
        announced.lock().set_now(now);
        self.membership.change(action, Duration::from_micros(now), &[], &announced);
        for record in announced.lock().take_records() {
            self.rec.push(record);
        }
        self.changes.push(action.clone());
        self.last_change_us = Some(now);
        let command = match action {
            FaultAction::Join(node) => ToNode::Join(node.clone()),
            FaultAction::Leave(node) => ToNode::Leave(node.clone()),
            _ => return Ok(()),
        };
        for node in self.writers.keys().cloned().collect::<Vec<_>>() {
            self.send(&node, &command).await?;
        }
        Ok(())
    }

    /// SIGKILL to `node`'s process group: its life ends (`life down`) and the proxy stops
    /// forwarding to it.
    pub(crate) fn kill(&mut self, node: &str) -> Result<(), RealError> {
        let Some(mut proc) = self.procs.remove(node) else { return Ok(()) };
        proc.kill(KILL_TIMEOUT).map_err(RealError::Node)?;
        if node == TransportKind::BROKER {
            self.net.down.insert(node.to_owned());
            self.net.paused.remove(node);
            self.proxy.links.change(|s| s.targets.remove(node));
            return Ok(());
        }
        self.writers.remove(node);
        self.idle.remove(node);
        self.net.down.insert(node.to_owned());
        self.net.paused.remove(node);
        // A dead process's dropped routes end with it (its next life reads its routes afresh).
        self.net.dropped.retain(|(from, _)| from != node);
        self.proxy.links.change(|s| s.targets.remove(node));
        self.stamp();
        let t = self.rec.now();
        self.rec.push(Record::Life { t, node: Text::from(node), life: proc.life, state: LifeState::Down });
        Ok(())
    }

    /// Ends the run: every running node writes its counters and exits; then the `end` phase
    /// and each node's workload progress.
    pub(crate) async fn stop(&mut self) -> Result<(), RealError> {
        let running: Vec<String> =
            self.procs.keys().filter(|n| *n != TransportKind::BROKER).cloned().collect();
        for node in &running {
            if self.net.paused.remove(node) {
                self.procs[node].signal(libc::SIGCONT);
            }
            self.stopping.insert(node.clone());
            self.send(node, &ToNode::Stop).await?;
        }
        let deadline = tokio::time::Instant::now() + STOP_TIMEOUT; // allow-nondeterminism: real mode
        while let Some(node) = self.not_stopped(&running)? {
            let now = tokio::time::Instant::now(); // allow-nondeterminism: real mode
            if now >= deadline {
                let tail = self.procs.get(&node).map(NodeProc::tail).unwrap_or_default();
                return Err(RealError::Node(format!(
                    "node {node} did not stop within {STOP_TIMEOUT:?}{tail}"
                )));
            }
            self.wait_event(Duration::from_millis(20)).await?;
        }
        for node in running.iter().map(String::as_str).chain([TransportKind::BROKER]) {
            if let Some(mut proc) = self.procs.remove(node) {
                proc.kill(KILL_TIMEOUT).map_err(RealError::Node)?;
            }
        }
        self.stamp();
        self.rec.phase(Phase::End);
        for node in self.scenario.nodes.clone() {
            let t = self.rec.now();
            let routed = read_memory(&self.dir, &node).0;
            let target = self.scenario.workload.events_of(&node);
            self.rec.push(Record::Workload { t, node: Text::from(node.as_str()), routed, target });
        }
        Ok(())
    }

    /// The first of `nodes` that has not stopped yet: neither said so nor exited (an exit
    /// other than success after the stop is an error naming it).
    fn not_stopped(&mut self, nodes: &[String]) -> Result<Option<String>, RealError> {
        for node in nodes {
            if self.stopped.get(node).copied().unwrap_or(false) {
                continue;
            }
            let Some(proc) = self.procs.get_mut(node) else { continue };
            match proc.exited() {
                Some(status) if status.success() => {}
                Some(status) => {
                    let tail = proc.tail();
                    return Err(RealError::Node(format!(
                        "node {node} failed as it stopped ({status}){tail}"
                    )));
                }
                None => return Ok(Some(node.clone())),
            }
        }
        Ok(None)
    }

    /// The harness's records and every node life's, in time order (the harness's first at
    /// equal times), with the lines a SIGKILL cut short dropped.
    pub(crate) fn merged(&mut self) -> Result<Vec<Record>, RealError> {
        let mut records = self.rec.take_records();
        for (node, &lives) in &self.lives {
            for life in 1..=lives {
                let path = trace_file(&self.dir, node, life);
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for line in text.lines() {
                    match serde_json::from_str::<Record>(line) {
                        Ok(record) => records.push(record),
                        Err(_) if !text.ends_with('\n') => {}
                        Err(err) => {
                            return Err(RealError::Node(format!(
                                "{}: unreadable record: {err}",
                                path.display()
                            )));
                        }
                    }
                }
            }
        }
        records.sort_by_key(Record::t);
        Ok(records)
    }
}

/// Accepts control connections: each node life's first line says who it is.
async fn accept_control(listener: TcpListener, tx: mpsc::UnboundedSender<Event>) {
    while let Ok((stream, _)) = listener.accept().await {
        let tx = tx.clone();
        tokio::spawn(async move {
            let (read, writer) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            let Ok(Some(first)) = lines.next_line().await else { return };
            let Ok(ToHarness::Ready { node, life, addr }) = serde_json::from_str(&first) else { return };
            let _ = tx.send(Event::Connected { node: node.clone(), life, addr, writer });
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(message) = serde_json::from_str(&line) {
                    let _ = tx.send(Event::Message { node: node.clone(), life, message });
                }
            }
        });
    }
}
