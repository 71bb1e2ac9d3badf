//! The sending side: one request per ship call (several consecutive ones of the same key for
//! a batch over the payload limit), resent under its key until a reply comes or the deadline
//! passes. See the crate docs for the outcomes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::{Client, HeaderMap};
use async_trait::async_trait;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use shipper::{
    BatchError, NodeId, ShippedEvent, ShipperError, ShipperResult, ShipperTransport, UNFENCED_EPOCH,
};
use shipper_net::{NetStats, TransportObserver};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use crate::broken::{self, Variant};
use crate::config::NatsConfig;
use crate::keys::Keys;
use crate::wire::{self, Reply};

/// Each destination's calls: the next call number and the calls not yet ended.
#[derive(Default)]
struct Calls {
    next: u64,
    open: BTreeSet<u64>,
}

/// The shipper over NATS: one per node life. Ships with [`ShipperTransport`], receives with
/// [`NatsTransport::serve_fenced`].
pub struct NatsTransport {
    pub(crate) config: NatsConfig,
    client: OnceCell<Client>,
    dropped: Mutex<BTreeSet<NodeId>>,
    calls: Mutex<BTreeMap<NodeId, Calls>>,
    pub(crate) stats: Arc<NetStats>,
    pub(crate) observer: Option<Arc<dyn TransportObserver>>,
    rng: Mutex<SmallRng>,
    pub(crate) keys: Keys,
}

/// Where a call stands between attempts.
struct CallState {
    /// Events below it are delivered (a reply said so).
    pos: usize,
    /// An attempt went out and no reply came: a failure is ambiguous from now on.
    unanswered: bool,
    attempts: u32,
    delay: Duration,
}

/// What one attempt leaves the call with.
enum Step {
    Again,
    Fail(ShipperError),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl NatsTransport {
    /// The transport of `config.node`'s life; the client connects on first use
    /// ([`NatsTransport::connect`]).
    pub fn new(config: NatsConfig) -> NatsTransport {
        let rng = SmallRng::seed_from_u64(config.rng_seed);
        NatsTransport {
            config,
            client: OnceCell::new(),
            dropped: Mutex::default(),
            calls: Mutex::default(),
            stats: Arc::default(),
            observer: None,
            rng: Mutex::new(rng),
            keys: Keys::default(),
        }
    }

    /// Reports acks and retransmissions to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn TransportObserver>) -> NatsTransport {
        self.observer = Some(observer);
        self
    }

    /// The transport's counters.
    pub fn stats(&self) -> &Arc<NetStats> {
        &self.stats
    }

    /// The client, connecting it the first time (it connects in the background and
    /// reconnects by itself after that).
    pub async fn connect(&self) -> std::io::Result<&Client> {
        self.client
            .get_or_try_init(|| crate::connect::connect(&self.config))
            .await
            .map_err(|e| std::io::Error::other(format!("cannot connect to {}: {e}", self.config.server)))
    }

    /// Forget the route to `node`: ship calls to it fail with `NoRoute`.
    pub fn remove_route(&self, node: &NodeId) {
        lock(&self.dropped).insert(node.clone());
    }

    fn open(&self, dst: &NodeId) -> u64 {
        let mut calls = lock(&self.calls);
        let calls = calls.entry(dst.clone()).or_default();
        let call = calls.next;
        calls.next += 1;
        calls.open.insert(call);
        call
    }

    fn close(&self, dst: &NodeId, call: u64) {
        if let Some(calls) = lock(&self.calls).get_mut(dst) {
            calls.open.remove(&call);
        }
    }

    /// Every call to `dst` below it has ended.
    fn settled_below(&self, dst: &NodeId) -> u64 {
        let calls = lock(&self.calls);
        calls.get(dst).map_or(0, |c| c.open.first().copied().unwrap_or(c.next))
    }

    /// A call number never used (`NatsRetryWithoutKey` only).
    fn fresh_call(&self, dst: &NodeId) -> u64 {
        let mut calls = lock(&self.calls);
        let calls = calls.entry(dst.clone()).or_default();
        calls.next += 1;
        calls.next - 1
    }

    /// The pause before the next attempt: half to the whole of the call's delay, which
    /// doubles up to `backoff_max`.
    fn backoff(&self, state: &mut CallState) -> Duration {
        let delay = state.delay;
        state.delay = (delay * 2).min(self.config.backoff_max.max(self.config.backoff_min));
        let half = delay / 2;
        half + lock(&self.rng).random_range(Duration::ZERO..=half)
    }

    async fn ship(
        &self,
        dst: &NodeId,
        events: &[ShippedEvent],
        deadline: Instant,
        epoch: u64,
    ) -> Result<(), (usize, ShipperError)> {
        if lock(&self.dropped).contains(dst) {
            return Err((0, ShipperError::NoRoute(dst.clone())));
        }
        let client = match tokio::time::timeout_at(deadline, self.connect()).await {
            Ok(Ok(client)) => client.clone(),
            Ok(Err(e)) => return Err((0, ShipperError::Send(e.to_string()))),
            Err(_) => return Err((0, ShipperError::Timeout(dst.clone()))),
        };
        let call = self.open(dst);
        let mut state = CallState { pos: 0, unanswered: false, attempts: 0, delay: self.config.backoff_min };
        let mut outcome = Ok(());
        while state.pos < events.len() {
            if let Step::Fail(error) =
                self.attempt(&client, dst, call, events, &mut state, deadline, epoch).await
            {
                outcome = Err((state.pos, error));
                break;
            }
        }
        self.close(dst, call);
        outcome
    }

    /// `error`, or `Ambiguous` when an attempt of the call went unanswered.
    fn fail(dst: &NodeId, state: &CallState, error: ShipperError) -> Step {
        if state.unanswered {
            Step::Fail(ShipperError::Ambiguous {
                node: dst.clone(),
                reason: format!("an attempt went unanswered, then: {error}"),
            })
        } else {
            Step::Fail(error)
        }
    }

    fn headers(&self, call: u64, pos: usize, epoch: u64, settled: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(wire::FROM, self.config.node.as_str());
        h.insert(wire::LIFE, self.config.life.to_string().as_str());
        h.insert(wire::CALL, call.to_string().as_str());
        h.insert(wire::POS, pos.to_string().as_str());
        h.insert(wire::EPOCH, epoch.to_string().as_str());
        h.insert(wire::SETTLED, settled.to_string().as_str());
        h
    }

    /// The end of the next request's events from `pos`: as many as fit `limit` bytes.
    fn chunk_end(events: &[ShippedEvent], pos: usize, limit: usize) -> usize {
        let mut size = 0;
        let mut end = pos;
        while end < events.len() && size + wire::event_len(&events[end]) <= limit {
            size += wire::event_len(&events[end]);
            end += 1;
        }
        end
    }

    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        client: &Client,
        dst: &NodeId,
        call: u64,
        events: &[ShippedEvent],
        state: &mut CallState,
        deadline: Instant,
        epoch: u64,
    ) -> Step {
        let now = Instant::now();
        if now >= deadline {
            let error = ShipperError::Timeout(dst.clone());
            return Self::fail(dst, state, error);
        }
        let limit = client.max_payload().min(self.config.max_payload).saturating_sub(wire::HEADER_ROOM);
        let end = Self::chunk_end(events, state.pos, limit);
        if end < events.len() {
            shipper::probe!("nats.batch-split");
        }
        if end == state.pos {
            shipper::probe!("nats.event-over-max-payload");
            let size = wire::event_len(&events[end]);
            let why = format!("an event of {size} bytes is over the payload limit of {limit} bytes");
            return Self::fail(dst, state, ShipperError::Encode(why));
        }
        let key = if state.attempts > 0 && broken::is(Variant::NatsRetryWithoutKey) {
            self.fresh_call(dst)
        } else {
            call
        };
        let headers = self.headers(key, state.pos, epoch, self.settled_below(dst));
        let payload = bytes::Bytes::from(wire::encode(&events[state.pos..end]));
        let subject = self.config.subject(dst);
        if broken::is(Variant::NatsPublishAsDelivered) {
            let _ = client.publish_with_headers(subject, headers, payload).await;
            self.acked(dst, &events[state.pos..end]);
            state.pos = end;
            return Step::Again;
        }
        self.count_attempt(dst, &events[state.pos..end], state);
        let request = async_nats::Request::new().headers(headers).payload(payload).timeout(None);
        let wait = self.config.ack_timeout.min(deadline - now);
        match tokio::time::timeout(wait, client.send_request(subject, request)).await {
            Ok(Ok(message)) => self.on_reply(dst, events, state, end, &message.payload),
            Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::NoResponders => {
                shipper::probe!("nats.no-responders-retry");
                self.pause(state, deadline).await;
                Step::Again
            }
            Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::MaxPayloadExceeded => {
                Self::fail(dst, state, ShipperError::Encode(e.to_string()))
            }
            Ok(Err(_)) | Err(_) => {
                shipper::probe!("nats.unanswered-retry");
                state.unanswered = true;
                self.pause(state, deadline).await;
                Step::Again
            }
        }
    }

    fn count_attempt(&self, dst: &NodeId, events: &[ShippedEvent], state: &mut CallState) {
        state.attempts += 1;
        for event in events {
            if state.attempts > 1 {
                self.stats.count_retransmit();
                if let Some(o) = &self.observer {
                    o.on_retransmit(dst, event);
                }
            } else {
                self.stats.count_sent();
            }
        }
    }

    async fn pause(&self, state: &mut CallState, deadline: Instant) {
        let delay = self.backoff(state);
        tokio::time::sleep_until((Instant::now() + delay).min(deadline)).await;
    }

    fn acked(&self, dst: &NodeId, events: &[ShippedEvent]) {
        for event in events {
            self.stats.count_acked();
            if let Some(o) = &self.observer {
                o.on_ack(dst, event);
            }
        }
    }

    fn on_reply(
        &self,
        dst: &NodeId,
        events: &[ShippedEvent],
        state: &mut CallState,
        end: usize,
        payload: &[u8],
    ) -> Step {
        let Ok(reply) = serde_json::from_slice::<Reply>(payload) else {
            state.unanswered = true;
            return Step::Again;
        };
        let next = usize::try_from(reply.next).unwrap_or(usize::MAX).clamp(state.pos, end);
        self.acked(dst, &events[state.pos..next]);
        state.pos = next;
        state.delay = self.config.backoff_min;
        if let Some((epoch, members)) = reply.refused {
            self.stats.count_refused();
            shipper::probe!("nats.refused");
            return Self::fail(dst, state, ShipperError::WrongOwner { node: dst.clone(), epoch, members });
        }
        match reply.error {
            Some(error) => Self::fail(dst, state, ShipperError::Send(format!("{dst} answered: {error}"))),
            None => Step::Again,
        }
    }
}

#[async_trait]
impl ShipperTransport for NatsTransport {
    async fn send(&self, dst: &NodeId, event: ShippedEvent) -> ShipperResult<()> {
        let deadline = Instant::now() + self.config.deadline;
        self.ship(dst, std::slice::from_ref(&event), deadline, UNFENCED_EPOCH).await.map_err(|(_, e)| e)
    }

    async fn send_until(&self, dst: &NodeId, event: ShippedEvent, deadline: Instant) -> ShipperResult<()> {
        self.ship(dst, std::slice::from_ref(&event), deadline, UNFENCED_EPOCH).await.map_err(|(_, e)| e)
    }

    async fn send_batch(
        &self,
        dst: &NodeId,
        events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
    ) -> Result<usize, BatchError> {
        self.send_batch_at(dst, events, deadline, UNFENCED_EPOCH).await
    }

    async fn send_batch_at(
        &self,
        dst: &NodeId,
        mut events: Vec<ShippedEvent>,
        deadline: Option<Instant>,
        epoch: u64,
    ) -> Result<usize, BatchError> {
        let deadline = deadline.unwrap_or_else(|| Instant::now() + self.config.deadline);
        match self.ship(dst, &events, deadline, epoch).await {
            Ok(()) => Ok(events.len()),
            Err((shipped, error)) => {
                let unshipped = events.split_off(shipped);
                Err(BatchError { shipped, error, unshipped })
            }
        }
    }

    fn register_route(&self, node: NodeId) {
        lock(&self.dropped).remove(&node);
    }

    fn has_route(&self, node: &NodeId) -> bool {
        !lock(&self.dropped).contains(node)
    }
}
