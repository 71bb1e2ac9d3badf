//! The network seam: the protocol is written once against [`Network`] and
//! runs on tokio's sockets ([`crate::TokioNet`]) or on turmoil's simulated
//! ones (`TurmoilNet`, feature `turmoil`).

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

/// A way to reach nodes by name and to listen for them.
///
/// Kept to what the protocol needs, so an implementation is a thin adapter.
/// Clones share whatever state (such as an address book) the network has.
pub trait Network: Clone + Send + Sync + 'static {
    /// A connected byte stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    /// A bound listening socket.
    type Listener: Send + Sync + 'static;

    /// Whether `node` is a name this network can resolve. Checked before
    /// every send: an unknown node is `NoRoute`, never a connection attempt.
    fn knows(&self, node: &str) -> bool;

    /// Opens a connection to `node`'s listener.
    fn connect(&self, node: &str) -> impl Future<Output = io::Result<Self::Stream>> + Send;

    /// Binds this node's listener.
    fn bind(&self) -> impl Future<Output = io::Result<Self::Listener>> + Send;

    /// Waits for the next incoming connection. Must be cancel safe: the
    /// server races it against its connection tasks.
    fn accept(
        listener: &Self::Listener,
    ) -> impl Future<Output = io::Result<(Self::Stream, SocketAddr)>> + Send;

    /// The address `listener` is bound to (to learn an ephemeral port).
    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr>;

    /// Runs one of the transport's background tasks.
    ///
    /// The network decides because a simulated one must keep a crash
    /// deterministic: tokio's runtime drops `tokio::spawn`ed tasks in an order
    /// that depends on process-wide task ids (so on whatever else the process
    /// spawned, e.g. simulations on other threads), and a dropped task closes
    /// its sockets, which sends segments. A host's `LocalSet` drops its tasks
    /// in spawn order.
    fn spawn<F>(&self, task: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        tokio::spawn(task) // allow-nondeterminism: tokio's runtime; a simulated network (`TurmoilNet`) overrides this
    }

    /// [`Network::spawn`] into a `JoinSet`.
    fn spawn_in<T, F>(&self, set: &mut JoinSet<T>, task: F) -> AbortHandle
    where
        F: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        set.spawn(task)
    }
}
