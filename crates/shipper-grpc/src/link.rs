//! The client's HTTP/2 connection to one destination: opened on demand with its `Stream` RPC
//! (`crate::session`), shared by every call to it, replaced after a failure with seeded
//! exponential backoff.
//!
//! tonic's own `Channel` reconnects by itself, at once and unseeded, and spawns its workers
//! with `tokio::spawn`; owning the connection here keeps both the backoff and the task
//! placement deterministic.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shipper::NodeId;
use shipper_net::{Backoff, Network, Rto};
use tokio::time::Instant;
use tracing::debug;

use crate::http2::Http2;
use crate::rt::{Exec, TokioIo, TokioTimer};
use crate::session::Session;
use crate::shared::{Shared, now};
use crate::wire;

/// A connection handed to a call, with the number that tells a later failure report which
/// connection it was about.
pub(crate) struct Connection {
    pub(crate) session: Arc<Session>,
    /// From 1, one more per connection made to the destination (requests carry it).
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
    current: Option<(u64, Arc<Session>)>,
    generation: u64,
    /// No attempt before this (the backoff after a failure).
    not_before: Option<Instant>,
    backoff: Backoff,
    /// The pong limit of the next connection's keepalive: the ack timeout, raised to the
    /// round trips the handshakes measured.
    rto: Rto,
    /// Whether a connection was ever made (a later one counts as a reconnect).
    connected_before: bool,
}

impl State {
    /// The connection failed: forget it, and wait out the next backoff delay before the
    /// next attempt.
    fn lost(&mut self) {
        self.current = None;
        let delay = self.backoff.next_delay();
        self.not_before = Some(now() + delay);
    }
}

/// The connection to one destination.
///
/// The state sits behind a plain mutex, never held across an await, so that reports of
/// failures and replies never wait; a second, async lock makes concurrent calls wait for the
/// one connection attempt under way instead of each making their own. Every wait is the
/// caller's to bound with its deadline.
pub(crate) struct Link {
    dst: NodeId,
    /// `http://<destination>`: the scheme and authority of its requests.
    origin: http::Uri,
    /// The size limits of a reply and a request (decoding, encoding).
    limits: (usize, usize),
    state: Mutex<State>,
    attempt: tokio::sync::Mutex<()>,
}

impl Link {
    pub(crate) fn new(dst: NodeId, shared: &Shared, seed: u64) -> Self {
        let config = &shared.config;
        let backoff = Backoff::new(config.backoff_min, config.backoff_max, seed);
        let rto = Rto::new(config.ack_timeout, config.deadline);
        let state =
            State { current: None, generation: 0, not_before: None, backoff, rto, connected_before: false };
        let limits = (wire::reply_limit(config.max_frame), wire::message_limit(config.max_frame));
        let origin = origin(&dst);
        Link { dst, origin, limits, state: Mutex::new(state), attempt: tokio::sync::Mutex::new(()) }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Every change is made whole under the lock: poisoning cannot leave it torn.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The open connection, if there is one; a closed one is forgotten (and the backoff
    /// starts).
    fn open(&self) -> Option<Connection> {
        let mut state = self.state();
        let (generation, session) = state.current.as_ref()?;
        if !session.is_closed() {
            return Some(Connection { session: session.clone(), generation: *generation });
        }
        debug!(peer = %self.dst, "connection closed: reconnecting");
        state.lost();
        None
    }

    /// The open connection, or a new one (after the backoff, if the last one failed). The
    /// caller bounds the wait by its deadline; abandoning it leaves nothing half done.
    pub(crate) async fn connection<N: Network>(
        &self,
        net: &N,
        shared: &Shared,
        deadline: Instant,
    ) -> Result<Connection, Unreachable> {
        if let Some(connection) = self.open() {
            return Ok(connection);
        }
        let _turn = self.attempt.lock().await;
        // Another call may have connected while this one waited for its turn.
        if let Some(connection) = self.open() {
            return Ok(connection);
        }
        let not_before = self.state().not_before;
        if let Some(not_before) = not_before {
            if not_before > deadline {
                return Err(Unreachable::Backoff);
            }
            tokio::time::sleep_until(not_before).await;
        }
        let limit = deadline.min(now() + shared.config.connect_timeout);
        let rto = self.state().rto.clone();
        shared.observe(|o| o.on_connect_attempt(&self.dst, 0));
        let attempt = match tokio::time::timeout_at(limit, connect(net, &self.dst, shared, rto)).await {
            Ok(attempt) => attempt,
            Err(_elapsed) => Err(io::Error::new(io::ErrorKind::TimedOut, "connection attempt timed out")),
        };
        let mut state = self.state();
        match attempt {
            Ok((http2, handshake)) => {
                state.rto.sample(handshake);
                if state.connected_before {
                    shared.stats.count_reconnect();
                    shared.observe(|o| o.on_reconnect(&self.dst));
                }
                state.connected_before = true;
                state.generation += 1;
                state.not_before = None;
                let session = Arc::new(Session::open(net, http2, self.origin.clone(), self.limits));
                state.current = Some((state.generation, session.clone()));
                Ok(Connection { session, generation: state.generation })
            }
            Err(err) => {
                debug!(peer = %self.dst, error = %err, "connection attempt failed");
                shared.observe(|o| o.on_connect_failed(&self.dst, 0));
                state.lost();
                Err(Unreachable::Failed(err))
            }
        }
    }

    /// A call on connection `generation` failed in a way that points at the connection: it is
    /// dropped (if still the current one) and the next attempt waits out the backoff.
    pub(crate) fn failed(&self, generation: u64) {
        let mut state = self.state();
        if state.current.as_ref().is_some_and(|(current, _)| *current == generation) {
            state.lost();
        }
    }

    /// A reply arrived: the destination is healthy, the backoff starts over.
    pub(crate) fn replied(&self) {
        // broken::StickyBackoff applies to gRPC too: the backoff is never reset.
        if crate::broken::is(crate::broken::Variant::StickyBackoff) {
            return;
        }
        self.state().backoff.reset();
    }
}

/// Opens a TCP connection to `dst` and starts HTTP/2 on it, its connection task spawned on
/// the network. hyper keeps no reset streams (`max_concurrent_reset_streams(0)`): h2 expires
/// them by the wall clock, which would make a simulated run depend on how fast it ran.
async fn connect<N: Network>(
    net: &N,
    dst: &str,
    shared: &Shared,
    mut rto: Rto,
) -> io::Result<(Http2, Duration)> {
    let since = now();
    let stream = net.connect(dst).await?;
    // A slower link is measured before the first keepalive could take it for a dead one.
    let handshake = Rto::handshake_round_trip(now() - since);
    rto.sample(handshake);
    let keepalive = crate::Keepalive::adapted(&shared.config, rto.current());
    let (sender, connection) =
        hyper::client::conn::http2::Builder::new(Exec(std::sync::Arc::new(net.clone())))
            .timer(TokioTimer::new())
            .keep_alive_interval(keepalive.interval)
            .keep_alive_timeout(keepalive.timeout)
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
    Ok((Http2::new(sender), handshake))
}

/// The origin of requests to `dst`: its name as the authority, or `localhost` for a name
/// that cannot be one (the connection is already made, so it only labels the request).
fn origin(dst: &str) -> http::Uri {
    http::Uri::try_from(format!("http://{dst}"))
        .unwrap_or_else(|_| http::Uri::from_static("http://localhost"))
}
