//! [`TurmoilNet`]: turmoil's simulated TCP, node name = turmoil host name.

use std::collections::BTreeSet;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use shipper::NodeId;
use tokio::task::{AbortHandle, JoinHandle, JoinSet};
use turmoil::net::{TcpListener, TcpStream};

use crate::net::Network;

/// Port every node listens on in a simulation.
pub const DEFAULT_PORT: u16 = 7000;

/// Turmoil's simulated sockets. A node is the turmoil host of the same name,
/// listening on one fixed port.
///
/// Names are checked against an explicit list of the simulation's nodes
/// before turmoil sees them, because turmoil resolves an unknown name by
/// silently allocating it an address: a typo would become a black hole
/// instead of a `NoRoute`.
#[derive(Debug, Clone)]
pub struct TurmoilNet {
    nodes: Arc<BTreeSet<NodeId>>,
    port: u16,
    bind_ip: IpAddr,
}

impl TurmoilNet {
    /// A network of `nodes`, listening on [`DEFAULT_PORT`] of 0.0.0.0.
    pub fn new<I, S>(nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<NodeId>,
    {
        Self {
            nodes: Arc::new(nodes.into_iter().map(Into::into).collect()),
            port: DEFAULT_PORT,
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        }
    }

    /// Listen on and connect to `port` instead.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Bind to `ip` instead of 0.0.0.0 (use `::` in an IPv6 simulation).
    pub fn with_bind_ip(mut self, ip: IpAddr) -> Self {
        self.bind_ip = ip;
        self
    }

    /// The port nodes listen on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The known nodes.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeId> {
        self.nodes.iter()
    }
}

impl Network for TurmoilNet {
    type Stream = TcpStream;
    type Listener = TcpListener;

    fn knows(&self, node: &str) -> bool {
        self.nodes.contains(node)
    }

    async fn connect(&self, node: &str) -> io::Result<TcpStream> {
        if !self.knows(node) {
            return Err(io::Error::new(io::ErrorKind::NotFound, format!("unknown node {node}")));
        }
        // A (name, port) pair resolves through turmoil's existing DNS entries
        // only (NotFound if the host is not registered yet), never allocating.
        TcpStream::connect((node, self.port)).await
    }

    async fn bind(&self) -> io::Result<TcpListener> {
        TcpListener::bind(SocketAddr::new(self.bind_ip, self.port)).await
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        listener.accept().await
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }

    /// On the host's `LocalSet` (every turmoil host runs in one), so a crash
    /// drops the tasks in spawn order.
    fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::task::spawn_local(task)
    }

    fn spawn_in<T, F>(&self, set: &mut JoinSet<T>, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        set.spawn_local(task)
    }
}
