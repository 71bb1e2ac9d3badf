//! hyper's runtime hooks on the transport's [`Network`]: tasks go where the network spawns
//! them (under turmoil, the simulated host's `LocalSet`, which drops them in spawn order when
//! the host crashes), timers run on tokio's clock (which turmoil drives).

use std::future::Future;

use shipper_net::Network;

pub(crate) use hyper_util::rt::{TokioIo, TokioTimer};

/// hyper's executor: spawns with [`Network::spawn`], never with a bare `tokio::spawn`. (An
/// `Arc`, because hyper wants an `Unpin` executor and a network need not be.)
#[derive(Clone)]
pub(crate) struct Exec<N>(pub(crate) std::sync::Arc<N>);

impl<N, F> hyper::rt::Executor<F> for Exec<N>
where
    N: Network,
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        drop(self.0.spawn(future));
    }
}
