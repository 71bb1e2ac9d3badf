//! [`TokioNet`]: real TCP sockets, nodes found in an address book.

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, RwLock};

use shipper::NodeId;
use tokio::net::{TcpListener, TcpStream};

use crate::net::Network;

/// Tokio's TCP sockets, with an address book from node names to addresses.
///
/// Clones share the address book, so peers added after the transport was
/// built (for example once a peer's ephemeral port is known) are seen by it.
#[derive(Debug, Clone)]
pub struct TokioNet {
    listen: SocketAddr,
    peers: Arc<RwLock<BTreeMap<NodeId, SocketAddr>>>,
}

impl Default for TokioNet {
    fn default() -> Self {
        Self::new()
    }
}

impl TokioNet {
    /// An empty address book; [`Network::bind`] listens on 127.0.0.1 with an
    /// ephemeral port (learn it with [`Network::local_addr`]).
    pub fn new() -> Self {
        Self { listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), peers: Arc::default() }
    }

    /// Listen on `addr` instead (for example to restart on a known port).
    pub fn listen_on(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Adds (or replaces) `node` in the address book.
    pub fn with_peer(self, node: impl Into<NodeId>, addr: SocketAddr) -> Self {
        self.add_peer(node, addr);
        self
    }

    /// Adds (or replaces) `node` in the shared address book.
    pub fn add_peer(&self, node: impl Into<NodeId>, addr: SocketAddr) {
        self.book_mut().insert(node.into(), addr);
    }

    /// Removes `node` from the shared address book.
    pub fn remove_peer(&self, node: &str) {
        self.book_mut().remove(node);
    }

    /// The address of `node`, if known.
    pub fn peer_addr(&self, node: &str) -> Option<SocketAddr> {
        self.peers.read().unwrap_or_else(|e| e.into_inner()).get(node).copied()
    }

    fn book_mut(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<NodeId, SocketAddr>> {
        // Every write is a single insert or remove: a panic cannot leave the
        // book half-changed, so poisoning is ignored.
        self.peers.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl Network for TokioNet {
    type Stream = TcpStream;
    type Listener = TcpListener;

    fn knows(&self, node: &str) -> bool {
        self.peer_addr(node).is_some()
    }

    async fn connect(&self, node: &str) -> io::Result<TcpStream> {
        let addr = self
            .peer_addr(node)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("unknown node {node}")))?;
        let stream = TcpStream::connect(addr).await?;
        // Frames are small and each waits for an ack: do not let Nagle hold them.
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    async fn bind(&self) -> io::Result<TcpListener> {
        TcpListener::bind(self.listen).await
    }

    async fn accept(listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = listener.accept().await?;
        stream.set_nodelay(true)?;
        Ok((stream, peer))
    }

    fn local_addr(listener: &TcpListener) -> io::Result<SocketAddr> {
        listener.local_addr()
    }
}
