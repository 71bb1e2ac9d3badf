//! The client's HTTP/2 connection to one destination: opened on demand, shared by every call
//! to it (HTTP/2 multiplexes them), replaced after a failure with seeded exponential backoff.
//!
//! tonic's own `Channel` reconnects by itself, at once and unseeded, and spawns its workers
//! with `tokio::spawn`; owning the connection here keeps both the backoff and the task
//! placement deterministic.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::client::conn::http2::SendRequest;
use shipper::NodeId;
use shipper_net::{Backoff, Network};
use tokio::time::Instant;
use tracing::debug;

use crate::rt::{Exec, TokioIo, TokioTimer};
use crate::shared::{Shared, now};

/// One HTTP/2 connection's request handle, as a tower service for tonic's generated client.
#[derive(Clone)]
pub(crate) struct Http2(SendRequest<tonic::body::Body>);

impl tower_service::Service<http::Request<tonic::body::Body>> for Http2 {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}

/// A connection handed to a call, with the number that tells a later failure report which
/// connection it was about.
pub(crate) struct Connection {
    pub(crate) http2: Http2,
    pub(crate) generation: u64,
}

/// Why no connection could be had.
#[derive(Debug)]
pub(crate) enum Unreachable {
    /// The deadline comes before the backoff allows the next attempt.
    Backoff,
    /// The attempt failed.
    Failed(io::Error),
}

struct State {
    current: Option<(u64, Http2)>,
    generation: u64,
    /// No attempt before this (the backoff after a failure).
    not_before: Option<Instant>,
    backoff: Backoff,
    /// Whether a connection was ever made (a later one counts as a reconnect).
    connected_before: bool,
}

/// The connection to one destination.
pub(crate) struct Link {
    dst: NodeId,
    /// Held across a connection attempt, so concurrent calls wait for the one attempt.
    state: tokio::sync::Mutex<State>,
    /// Backoff resets come from replies, which must not wait for an attempt under way.
    healthy: Mutex<bool>,
}

impl Link {
    pub(crate) fn new(dst: NodeId, shared: &Shared, seed: u64) -> Self {
        let config = &shared.config;
        let backoff = Backoff::new(config.backoff_min, config.backoff_max, seed);
        let state =
            State { current: None, generation: 0, not_before: None, backoff, connected_before: false };
        Link { dst, state: tokio::sync::Mutex::new(state), healthy: Mutex::new(false) }
    }

    /// The open connection, or a new one (after the backoff, if the last one failed).
    pub(crate) async fn connection<N: Network>(
        &self,
        net: &N,
        shared: &Shared,
        deadline: Instant,
    ) -> Result<Connection, Unreachable> {
        let mut state = self.state.lock().await;
        if std::mem::take(&mut *self.healthy.lock().unwrap_or_else(|e| e.into_inner())) {
            state.backoff.reset();
        }
        if let Some((generation, http2)) = &state.current {
            if !http2.0.is_closed() {
                return Ok(Connection { http2: http2.clone(), generation: *generation });
            }
            debug!(peer = %self.dst, "connection closed: reconnecting");
            let delay = state.backoff.next_delay();
            state.current = None;
            state.not_before = Some(now() + delay);
        }
        if let Some(not_before) = state.not_before {
            if not_before > deadline {
                return Err(Unreachable::Backoff);
            }
            tokio::time::sleep_until(not_before).await;
        }
        let limit = deadline.min(now() + shared.config.connect_timeout);
        let attempt = match tokio::time::timeout_at(limit, connect(net, &self.dst, shared)).await {
            Ok(attempt) => attempt,
            Err(_elapsed) => Err(io::Error::new(io::ErrorKind::TimedOut, "connection attempt timed out")),
        };
        match attempt {
            Ok(http2) => {
                if state.connected_before {
                    shared.stats.count_reconnect();
                    shared.observe(|o| o.on_reconnect(&self.dst));
                }
                state.connected_before = true;
                state.generation += 1;
                state.not_before = None;
                state.current = Some((state.generation, http2.clone()));
                Ok(Connection { http2, generation: state.generation })
            }
            Err(err) => {
                debug!(peer = %self.dst, error = %err, "connection attempt failed");
                let delay = state.backoff.next_delay();
                state.not_before = Some(now() + delay);
                Err(Unreachable::Failed(err))
            }
        }
    }

    /// A call on connection `generation` failed in a way that points at the connection: it is
    /// dropped (if still the current one) and the next attempt waits out the backoff.
    pub(crate) async fn failed(&self, generation: u64) {
        let mut state = self.state.lock().await;
        if state.current.as_ref().is_some_and(|(current, _)| *current == generation) {
            state.current = None;
            let delay: Duration = state.backoff.next_delay();
            state.not_before = Some(now() + delay);
        }
    }

    /// A reply arrived: the destination is healthy, the backoff starts over.
    pub(crate) fn replied(&self) {
        // broken::StickyBackoff applies to gRPC too: the backoff is never reset.
        if crate::broken::is(crate::broken::Variant::StickyBackoff) {
            return;
        }
        *self.healthy.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }
}

/// Opens a TCP connection to `dst` and starts HTTP/2 on it, its connection task spawned on
/// the network. hyper keeps no reset streams (`max_concurrent_reset_streams(0)`): h2 expires
/// them by the wall clock, which would make a simulated run depend on how fast it ran.
async fn connect<N: Network>(net: &N, dst: &str, shared: &Shared) -> io::Result<Http2> {
    let stream = net.connect(dst).await?;
    let keepalive = shared.keepalive();
    let (sender, connection) =
        hyper::client::conn::http2::Builder::new(Exec(std::sync::Arc::new(net.clone())))
            .timer(TokioTimer::new())
            .keep_alive_interval(keepalive)
            .keep_alive_timeout(keepalive)
            .keep_alive_while_idle(true)
            .max_concurrent_reset_streams(0)
            .handshake(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
    let peer = dst.to_owned();
    drop(net.spawn(async move {
        if let Err(err) = connection.await {
            debug!(peer = %peer, error = %err, "connection ended");
        }
    }));
    Ok(Http2(sender))
}
