//! A connection slot: one stream of numbered events to one destination, kept
//! alive across connection failures.
//!
//! Each slot is a task that owns its queues and decides every outcome alone,
//! so an ack and a deadline can never both claim the same event. A call (one
//! `send` or one `send_batch`) is queued whole on one slot; its events get
//! consecutive sequence numbers as they enter the window, so a batch is
//! contiguous and in order on the stream.
//!
//! Life of an event: `pending` (not written) → `unacked` (written on the
//! current stream, at most `max_unacked` of them) → acked (reported) or, when
//! its call's deadline passes, *abandoned*. An abandoned event that was
//! written stays in `unacked` while a live event sits behind it (the stream
//! is in order, so the live one needs it delivered first); once only
//! abandoned events are left in flight they are dropped and the slot moves to
//! a new stream id, so later calls never wait behind the gap. An event
//! written on one stream is never written on another: that is what makes
//! duplicate suppression per stream enough.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use shipper::{BatchError, NodeId, ShippedEvent, ShipperError};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until};
use tracing::{debug, error, trace};

use crate::backoff::Backoff;
use crate::broken::{self, Variant};
use crate::codec::encode_frame;
use crate::frame::{Frame, PROTOCOL_VERSION};
use crate::link::{self, CloseReason, ConnEvent, ConnTask, LinkSettings};
use crate::net::Network;
use crate::rto::Rto;
use crate::shared::Shared;

/// How long past its deadline a caller waits for its slot's verdict before
/// concluding the slot task is gone. The slot answers at the deadline; this
/// only guards against a slot that vanished.
const REPLY_GRACE: Duration = Duration::from_secs(1);

/// What `broken::NoDeadline` adds to a call's deadline: longer than any run.
const NO_DEADLINE: Duration = Duration::from_secs(24 * 3600);

/// The caller's side of a slot.
#[derive(Debug, Clone)]
pub(crate) struct SlotHandle {
    requests: mpsc::UnboundedSender<Request>,
}

/// One ship call queued on a slot.
#[derive(Debug)]
struct Request {
    batch: u64,
    epoch: u64,
    events: Vec<ShippedEvent>,
    deadline: Instant,
    reply: oneshot::Sender<Outcome>,
}

/// The slot's verdict on a call.
#[derive(Debug)]
struct Outcome {
    /// Events acknowledged: always a prefix of the call.
    acked: usize,
    /// Why the rest was not, and the rest itself (in order, first failed first).
    failure: Option<(ShipperError, Vec<ShippedEvent>)>,
}

impl SlotHandle {
    /// Starts the slot task for connection `index` to `dst`.
    pub(crate) fn spawn<N: Network>(net: N, shared: Arc<Shared>, dst: NodeId, index: u32) -> Self {
        let (requests, requests_rx) = mpsc::unbounded_channel();
        let seed = shared.config.rng_seed
            ^ shipper::fnv1a_64(dst.as_bytes())
            ^ u64::from(index).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let backoff = Backoff::new(shared.config.backoff_min, shared.config.backoff_max, seed);
        let rto = Rto::new(shared.config.ack_timeout, shared.config.deadline);
        let (conn_tx, conn_rx) = mpsc::unbounded_channel();
        let slot = Slot {
            net,
            shared,
            dst,
            index,
            stream: 1,
            next_seq: 1,
            calls: BTreeMap::new(),
            pending: VecDeque::new(),
            unacked: VecDeque::new(),
            link: Link::Down { retry_at: Instant::now() }, // allow-nondeterminism: tokio time, which turmoil simulates
            next_conn: 1,
            connections: 0,
            backoff,
            rto,
            connect_error: None,
            ack_due: None,
            conn_tx,
            conn_rx,
            requests: requests_rx,
            requests_open: true,
        };
        let net = slot.net.clone();
        net.spawn(slot.run());
        Self { requests }
    }

    /// Ships `events` (non-empty), planned under `epoch`, on this slot and
    /// waits for the verdict, which comes by `deadline`.
    pub(crate) async fn call(
        &self,
        dst: &NodeId,
        batch: u64,
        epoch: u64,
        events: Vec<ShippedEvent>,
        deadline: Instant,
    ) -> Result<usize, BatchError> {
        // broken::NoDeadline: the call waits (practically) forever on a stuck link.
        let deadline = if broken::is(Variant::NoDeadline) { deadline + NO_DEADLINE } else { deadline };
        let (reply, verdict) = oneshot::channel();
        if let Err(mpsc::error::SendError(request)) =
            self.requests.send(Request { batch, epoch, events, deadline, reply })
        {
            return Err(BatchError {
                shipped: 0,
                error: ShipperError::Send(format!("the connection slot to {dst} has stopped")),
                unshipped: request.events,
            });
        }
        match tokio::time::timeout_at(deadline + REPLY_GRACE, verdict).await {
            Ok(Ok(Outcome { acked, failure: None })) => Ok(acked),
            Ok(Ok(Outcome { acked, failure: Some((error, unshipped)) })) => {
                Err(BatchError { shipped: acked, error, unshipped })
            }
            // The slot task vanished with the events (its runtime is shutting
            // down): nothing to hand back, and their fate is unknown.
            Ok(Err(_)) | Err(_) => {
                error!(dst = %dst, batch, "connection slot gave no verdict");
                Err(BatchError {
                    shipped: 0,
                    error: ShipperError::Ambiguous {
                        node: dst.clone(),
                        reason: "the connection slot stopped without a verdict".into(),
                    },
                    unshipped: Vec::new(),
                })
            }
        }
    }
}

/// A call in progress.
#[derive(Debug)]
struct Call {
    deadline: Instant,
    total: usize,
    acked: usize,
    reply: oneshot::Sender<Outcome>,
}

/// An event not yet written.
#[derive(Debug)]
struct Queued {
    batch: u64,
    index: u32,
    epoch: u64,
    event: ShippedEvent,
}

/// An event written on the current stream and not yet acknowledged.
#[derive(Debug)]
struct Inflight {
    seq: u64,
    /// The connection it was first written on (resends go on later ones).
    conn: u64,
    /// When it was last written (first sent, or resent on the current connection): its ack
    /// measures a round trip.
    written_at: Instant,
    batch: u64,
    index: u32,
    epoch: u64,
    event: ShippedEvent,
    /// Its call is over (it gave up, or it was refused); kept only for the
    /// live events behind it, or until the receiver refuses it too.
    abandoned: bool,
    /// Its call was refused: the caller was told it is certainly not
    /// delivered, so after a reconnect it is resent as a `Skip`, never as
    /// the event (a receiver that restarted would deliver it), and an ack
    /// covering it reports nothing.
    refused: bool,
}

/// The slot's connection.
#[derive(Debug)]
enum Link {
    /// No connection; the next attempt may start at `retry_at` (if there is work).
    Down { retry_at: Instant },
    /// Connecting; nothing written yet.
    Connecting { conn: u64, since: Instant, task: ConnTask, out: mpsc::UnboundedSender<Vec<u8>> },
    /// Connected, hello sent.
    Up {
        conn: u64,
        /// Held so that dropping the link closes the connection.
        _task: ConnTask,
        out: mpsc::UnboundedSender<Vec<u8>>,
    },
}

impl Link {
    fn conn(&self) -> Option<u64> {
        match self {
            Link::Down { .. } => None,
            Link::Connecting { conn, .. } | Link::Up { conn, .. } => Some(*conn),
        }
    }
}

struct Slot<N: Network> {
    net: N,
    shared: Arc<Shared>,
    dst: NodeId,
    index: u32,
    /// Current stream id; bumped when in-flight events are abandoned.
    stream: u64,
    /// Sequence number of the next event written on the stream.
    next_seq: u64,
    calls: BTreeMap<u64, Call>,
    pending: VecDeque<Queued>,
    unacked: VecDeque<Inflight>,
    link: Link,
    next_conn: u64,
    /// Connections established so far (for `reconnects`).
    connections: u64,
    backoff: Backoff,
    /// The ack timeout in force: the configured one, raised to the measured round trip.
    rto: Rto,
    /// Why the last connection attempt failed, cleared on success: turns a
    /// never-sent timeout into a "could not connect" error.
    connect_error: Option<String>,
    /// When the oldest unacked event's ack is overdue (while `Up`).
    ack_due: Option<Instant>,
    conn_tx: mpsc::UnboundedSender<ConnEvent>,
    conn_rx: mpsc::UnboundedReceiver<ConnEvent>,
    requests: mpsc::UnboundedReceiver<Request>,
    requests_open: bool,
}

impl<N: Network> Slot<N> {
    async fn run(mut self) {
        // One timer for the slot's life, moved to each round's wake time
        // (usually later than before, which tokio does without touching its
        // timer wheel) rather than a new timer registered every round.
        let mut timer = Box::pin(sleep_until(Instant::now())); // allow-nondeterminism: tokio time, which turmoil simulates
        let mut armed = None;
        loop {
            let now = Instant::now(); // allow-nondeterminism: tokio time, which turmoil simulates
            self.expire_calls(now);
            self.check_ack_timeout(now);
            self.maybe_connect(now);
            self.pump(now);
            if !self.requests_open && self.calls.is_empty() {
                debug!(dst = %self.dst, slot = self.index, "transport dropped: slot stops");
                return;
            }
            let wake = self.next_wake();
            if let Some(at) = wake
                && armed != Some(at)
            {
                timer.as_mut().reset(at);
                armed = Some(at);
            }
            tokio::select! {
                biased;
                Some(event) = self.conn_rx.recv() => self.on_conn_event(event),
                request = self.requests.recv(), if self.requests_open => match request {
                    Some(request) => self.on_request(request),
                    None => self.requests_open = false,
                },
                () = timer.as_mut(), if wake.is_some() => {}
            }
        }
    }

    fn has_work(&self) -> bool {
        !self.pending.is_empty() || !self.unacked.is_empty()
    }

    /// The earliest moment something must happen without any message arriving.
    fn next_wake(&self) -> Option<Instant> {
        let mut wake = self.calls.values().map(|c| c.deadline).min();
        let mut consider = |t: Instant| wake = Some(wake.map_or(t, |w| w.min(t)));
        match &self.link {
            Link::Up { .. } => {
                if let Some(due) = self.ack_due {
                    consider(due);
                }
            }
            Link::Down { retry_at } if self.has_work() => consider(*retry_at),
            _ => {}
        }
        wake
    }

    fn on_request(&mut self, request: Request) {
        let Request { batch, epoch, events, deadline, reply } = request;
        let total = events.len();
        if total == 0 {
            let _ = reply.send(Outcome { acked: 0, failure: None });
            return;
        }
        trace!(dst = %self.dst, slot = self.index, batch, events = total, "call queued");
        self.calls.insert(batch, Call { deadline, total, acked: 0, reply });
        for (index, event) in events.into_iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            self.pending.push_back(Queued { batch, index, epoch, event });
        }
    }

    /// Writes pending events while the window has room.
    fn pump(&mut self, now: Instant) {
        let Link::Up { out, conn, .. } = &self.link else {
            return;
        };
        let (out, conn) = (out.clone(), *conn);
        let max_unacked = self.shared.config.max_unacked;
        while self.unacked.len() < max_unacked {
            let Some(queued) = self.pending.pop_front() else {
                break;
            };
            let seq = self.next_seq;
            let frame = Frame::Event {
                seq,
                batch: queued.batch,
                index: queued.index,
                epoch: queued.epoch,
                event: &queued.event,
            };
            let bytes = match encode_frame(&frame, self.shared.config.max_frame) {
                Ok(bytes) => bytes,
                Err(err) => {
                    // Sizes are checked before a call is queued; if encoding
                    // fails anyway, the call fails with nothing more sent.
                    // Failing it may change the stream and the link: stop
                    // here, the next round pumps on whatever link is current.
                    let batch = queued.batch;
                    self.pending.push_front(queued);
                    self.fail_call(batch, ShipperError::Encode(err.to_string()));
                    return;
                }
            };
            self.next_seq += 1;
            let _ = out.send(bytes);
            self.shared.stats.count_sent();
            if self.unacked.is_empty() {
                self.ack_due = Some(now + self.rto.current());
            }
            self.unacked.push_back(Inflight {
                seq,
                conn,
                written_at: now,
                batch: queued.batch,
                index: queued.index,
                epoch: queued.epoch,
                event: queued.event,
                abandoned: false,
                refused: false,
            });
            // broken::NoAck (the seed's semantics): Ok once written, no ack awaited.
            if broken::is(Variant::NoAck) {
                self.on_ack(seq, now);
            }
        }
    }

    fn maybe_connect(&mut self, now: Instant) {
        let Link::Down { retry_at } = self.link else {
            return;
        };
        if retry_at > now || !self.has_work() {
            return;
        }
        let conn = self.next_conn;
        self.next_conn += 1;
        let settings = LinkSettings {
            connect_timeout: self.shared.config.connect_timeout,
            max_frame: self.shared.config.max_frame,
        };
        trace!(dst = %self.dst, slot = self.index, conn, "connecting");
        self.shared.observe(|o| o.on_connect_attempt(&self.dst, self.index));
        let (task, out) = link::spawn(&self.net, &self.dst, conn, settings, self.conn_tx.clone());
        self.link = Link::Connecting { conn, since: now, task, out };
    }

    fn on_conn_event(&mut self, event: ConnEvent) {
        let now = Instant::now(); // allow-nondeterminism: tokio time, which turmoil simulates
        match event {
            ConnEvent::Connected { conn } => {
                if let Link::Connecting { conn: current, .. } = &self.link
                    && *current == conn
                {
                    let Link::Connecting { task, out, since, .. } =
                        std::mem::replace(&mut self.link, Link::Down { retry_at: now })
                    else {
                        unreachable!("checked above");
                    };
                    // A slower link is measured here, before any ack could be overdue on it.
                    self.rto.sample(Rto::handshake_round_trip(now - since));
                    self.link = Link::Up { conn, _task: task, out };
                    self.on_connected(now);
                }
            }
            ConnEvent::Ack { conn, seq } => {
                if matches!(&self.link, Link::Up { conn: current, .. } if *current == conn) {
                    self.on_ack(seq, now);
                }
            }
            ConnEvent::Refuse { conn, seq, epoch, members, first_conn } => {
                if matches!(&self.link, Link::Up { conn: current, .. } if *current == conn) {
                    // The refusing life saw this connection's hello, so the
                    // first one it saw is no later.
                    if first_conn == 0 || first_conn > conn {
                        let reason = format!(
                            "refusal naming connection {first_conn} as the first seen, on connection {conn}"
                        );
                        self.shared.protocol_error(&self.dst, &reason);
                        self.ack_due = None;
                        self.link = Link::Down { retry_at: now + self.backoff.next_delay() };
                        return;
                    }
                    let wrong_owner = ShipperError::WrongOwner { node: self.dst.clone(), epoch, members };
                    self.on_refuse(seq, first_conn, wrong_owner, now);
                }
            }
            ConnEvent::Closed { conn, why } => {
                if self.link.conn() == Some(conn) {
                    self.on_closed(why, now);
                }
            }
        }
    }

    /// Says hello and resends, in order, everything still unacknowledged.
    fn on_connected(&mut self, now: Instant) {
        self.connect_error = None;
        self.connections += 1;
        if self.connections > 1 {
            self.shared.stats.count_reconnect();
            self.shared.observe(|o| o.on_reconnect(&self.dst));
        }
        let Link::Up { out, conn, .. } = &self.link else {
            return;
        };
        let (out, conn) = (out.clone(), *conn);
        let config = &self.shared.config;
        let hello: Frame<&ShippedEvent> = Frame::Hello {
            version: PROTOCOL_VERSION,
            node: config.node.clone(),
            life: config.life,
            slot: self.index,
            stream: self.stream,
            base: self.unacked.front().map_or(self.next_seq, |f| f.seq),
            conn,
        };
        match encode_frame(&hello, config.max_frame) {
            Ok(bytes) => {
                let _ = out.send(bytes);
            }
            Err(err) => {
                error!(dst = %self.dst, error = %err, "cannot encode hello");
                self.connect_error = Some(err.to_string());
                self.link = Link::Down { retry_at: now + self.backoff.next_delay() };
                return;
            }
        }
        debug!(dst = %self.dst, slot = self.index, stream = self.stream, resend = self.unacked.len(), "connected");
        if !self.unacked.is_empty() {
            shipper::probe!("tcp.resend-mid-stream");
        }
        // Resend in stream order: the receiver delivers only the next
        // expected sequence number, so any other order would stall it.
        for k in 0..self.unacked.len() {
            // broken::ResendOutOfOrder: resend the unacked frames newest first.
            let k = if broken::is(Variant::ResendOutOfOrder) { self.unacked.len() - 1 - k } else { k };
            self.unacked[k].written_at = now;
            let inflight = &self.unacked[k];
            let frame = if inflight.refused {
                Frame::Skip { seq: inflight.seq }
            } else {
                Frame::Event {
                    seq: inflight.seq,
                    batch: inflight.batch,
                    index: inflight.index,
                    epoch: inflight.epoch,
                    event: &inflight.event,
                }
            };
            match encode_frame(&frame, config.max_frame) {
                Ok(bytes) => {
                    let _ = out.send(bytes);
                }
                Err(err) => {
                    error!(dst = %self.dst, error = %err, "cannot re-encode a frame that encoded before")
                }
            }
            self.shared.stats.count_retransmit();
            self.shared.observe(|o| o.on_retransmit(&self.dst, &inflight.event));
        }
        self.ack_due = (!self.unacked.is_empty()).then(|| now + self.rto.current());
    }

    /// Applies a cumulative ack: every event up to `seq` was delivered.
    fn on_ack(&mut self, seq: u64, now: Instant) {
        if seq >= self.next_seq {
            let reason = format!("ack for sequence {seq}, which was never sent (next is {})", self.next_seq);
            self.shared.protocol_error(&self.dst, &reason);
            self.ack_due = None;
            self.link = Link::Down { retry_at: now + self.backoff.next_delay() };
            return;
        }
        let mut progressed = false;
        while self.unacked.front().is_some_and(|f| f.seq <= seq) {
            let Some(inflight) = self.unacked.pop_front() else {
                break;
            };
            if inflight.seq == seq {
                // Every frame in flight was written on this connection: the newest one the
                // ack covers measures a round trip.
                self.rto.sample(now - inflight.written_at);
            }
            progressed = true;
            if inflight.refused {
                continue; // skipped, never delivered: the ack only moved past its number
            }
            if inflight.abandoned {
                shipper::probe!("tcp.late-ack");
                self.shared.observe(|o| o.on_late_ack(&self.dst, &inflight.event));
                continue;
            }
            self.shared.stats.count_acked();
            self.shared.observe(|o| o.on_ack(&self.dst, &inflight.event));
            if let Some(call) = self.calls.get_mut(&inflight.batch) {
                call.acked += 1;
                if call.acked == call.total
                    && let Some(call) = self.calls.remove(&inflight.batch)
                {
                    let _ = call.reply.send(Outcome { acked: call.acked, failure: None });
                }
            }
        }
        if progressed {
            // broken::StickyBackoff: the backoff keeps counting failures across healthy connections.
            if !broken::is(Variant::StickyBackoff) {
                self.backoff.reset();
            }
            self.ack_due = (!self.unacked.is_empty()).then(|| now + self.rto.current());
            self.drop_abandoned(now);
        }
    }

    /// The receiver refused `seq` (and will refuse the rest of its batch):
    /// the refusing life did not deliver it and will not deliver the rest.
    /// Its call, if still waiting, ends now, the acknowledged prefix counted
    /// as shipped: with `wrong_owner` (certain: nothing from `seq` on was
    /// delivered) if that life, which saw connection `first_conn` of this
    /// slot first, was at the end of every connection those events were
    /// written on; `Ambiguous` otherwise (see [`Self::refusal_error`]). The
    /// call's later events still in flight stay until the receiver refuses
    /// them in turn, the stream needing them settled in order.
    fn on_refuse(&mut self, seq: u64, first_conn: u64, wrong_owner: ShipperError, now: Instant) {
        let Some(at) = self.unacked.iter().position(|f| f.seq == seq) else {
            if seq >= self.next_seq {
                let reason =
                    format!("refusal of sequence {seq}, which was never sent (next is {})", self.next_seq);
                self.shared.protocol_error(&self.dst, &reason);
                self.ack_due = None;
                self.link = Link::Down { retry_at: now + self.backoff.next_delay() };
            }
            // Otherwise a refusal repeated for a number already settled.
            return;
        };
        let Some(refused) = self.unacked.remove(at) else {
            return;
        };
        if !refused.abandoned {
            let error = self.refusal_error(&refused, first_conn, wrong_owner);
            self.refuse_call(refused.batch, refused.event, error);
        }
        // A refusal is an answer: the connection works (unless the backoff is broken on purpose).
        if !broken::is(Variant::StickyBackoff) {
            self.backoff.reset();
        }
        self.ack_due = (!self.unacked.is_empty()).then(|| now + self.rto.current());
        self.drop_abandoned(now);
    }

    /// What a refusal of `refused` means for its call. The refusing life saw
    /// connection `first_conn` of this slot first and still answers, so it
    /// was at the end of that connection and of every later one: if the
    /// refused event and the call's later events in flight were all first
    /// written on such connections, this life is the only one that could
    /// have delivered them, and it did not (`wrong_owner`). An event written
    /// on an older connection may have reached an earlier life of the
    /// receiver (before a restart) and been delivered there, its ack lost:
    /// then the call cannot say "not delivered", and ends `Ambiguous`.
    fn refusal_error(&self, refused: &Inflight, first_conn: u64, wrong_owner: ShipperError) -> ShipperError {
        let later = self.unacked.iter().filter(|f| f.batch == refused.batch).map(|f| f.conn);
        let earliest = later.chain([refused.conn]).min().unwrap_or(refused.conn);
        if earliest >= first_conn {
            shipper::probe!("tcp.refused");
            return wrong_owner;
        }
        shipper::probe!("tcp.refusal-ambiguous");
        ShipperError::Ambiguous {
            node: self.dst.clone(),
            reason: format!(
                "refused by a life of the receiver whose first connection from slot {} was \
                 {first_conn}, but the call's events were first written on connection {earliest}, \
                 which may have reached an earlier life that delivered them",
                self.index
            ),
        }
    }

    /// Ends `batch` with the refusal `error`: `first` (the refused event)
    /// and every later event of the call come back, in order.
    fn refuse_call(&mut self, batch: u64, first: ShippedEvent, error: ShipperError) {
        let Some(call) = self.calls.remove(&batch) else {
            return;
        };
        let mut unshipped = Vec::with_capacity(call.total - call.acked);
        unshipped.push(first);
        self.take_back(batch, &mut unshipped, true);
        debug!(dst = %self.dst, slot = self.index, batch, acked = call.acked, error = %error, "call refused");
        let _ = call.reply.send(Outcome { acked: call.acked, failure: Some((error, unshipped)) });
    }

    fn on_closed(&mut self, why: CloseReason, now: Instant) {
        let was_up = matches!(self.link, Link::Up { .. });
        match &why {
            CloseReason::ConnectFailed(err) => {
                shipper::probe!("tcp.connect-failed");
                debug!(dst = %self.dst, slot = self.index, error = %err, "connect failed");
                self.shared.observe(|o| o.on_connect_failed(&self.dst, self.index));
                self.connect_error = Some(err.clone());
            }
            CloseReason::Protocol(reason) => self.shared.protocol_error(&self.dst, reason),
            CloseReason::Io(err) => {
                debug!(dst = %self.dst, slot = self.index, error = %err, "connection failed")
            }
            CloseReason::Eof => {
                debug!(dst = %self.dst, slot = self.index, "connection closed by the receiver")
            }
            CloseReason::Released => debug!(dst = %self.dst, slot = self.index, "connection released"),
        }
        // A receiver closing an idle connection is routine: reconnect on
        // demand without backing off. Anything else backs off.
        let idle_close = was_up && self.unacked.is_empty() && matches!(why, CloseReason::Eof);
        let delay = if idle_close { Duration::ZERO } else { self.backoff.next_delay() };
        self.ack_due = None;
        self.link = Link::Down { retry_at: now + delay };
    }

    /// A connection whose oldest unacked event waited `ack_timeout` is
    /// presumed stuck (a simulated network can lose a segment and never
    /// retransmit it; a real one can stall): close it and resend elsewhere.
    fn check_ack_timeout(&mut self, now: Instant) {
        if !matches!(self.link, Link::Up { .. }) || self.unacked.is_empty() {
            return;
        }
        if self.ack_due.is_some_and(|due| due <= now) {
            debug!(dst = %self.dst, slot = self.index, unacked = self.unacked.len(), "ack overdue: reconnecting");
            shipper::probe!("tcp.ack-timeout");
            self.ack_due = None;
            self.link = Link::Down { retry_at: now + self.backoff.next_delay() };
        }
    }

    /// Fails every call whose deadline has passed, or whose caller went away.
    fn expire_calls(&mut self, now: Instant) {
        let is_over = |call: &Call| call.deadline <= now || call.reply.is_closed();
        if !self.calls.values().any(is_over) {
            return;
        }
        let expired: Vec<u64> =
            self.calls.iter().filter(|(_, call)| is_over(call)).map(|(batch, _)| *batch).collect();
        for batch in expired {
            let never_sent = self.never_sent_error();
            self.fail_call(batch, never_sent);
        }
    }

    /// The error for a call none of whose unacknowledged events was written.
    fn never_sent_error(&self) -> ShipperError {
        match (&self.link, &self.connect_error) {
            (Link::Up { .. }, _) | (_, None) => ShipperError::Timeout(self.dst.clone()),
            (_, Some(err)) => ShipperError::Send(format!("could not connect to {}: {err}", self.dst)),
        }
    }

    /// Ends `batch` unsuccessfully. The error is ambiguous if any of its
    /// unacknowledged events was written, `never_sent` otherwise.
    fn fail_call(&mut self, batch: u64, never_sent: ShipperError) {
        let Some(call) = self.calls.remove(&batch) else {
            return;
        };
        let mut unshipped = Vec::with_capacity(call.total - call.acked);
        let written = self.take_back(batch, &mut unshipped, false);
        let error = if written > 0 {
            shipper::probe!("tcp.deadline-ambiguous");
            ShipperError::Ambiguous {
                node: self.dst.clone(),
                reason: format!(
                    "{written} event(s) written on stream {} of slot {}, no ack before the deadline",
                    self.stream, self.index
                ),
            }
        } else {
            if matches!(never_sent, ShipperError::Send(_)) {
                shipper::probe!("tcp.deadline-unconnected");
            }
            never_sent
        };
        debug!(dst = %self.dst, slot = self.index, batch, acked = call.acked, error = %error, "call failed");
        let _ = call.reply.send(Outcome { acked: call.acked, failure: Some((error, unshipped)) });
        self.drop_abandoned(Instant::now()); // allow-nondeterminism: tokio time, which turmoil simulates
    }

    /// Takes `batch`'s events back from the slot into `into`, in batch order:
    /// its written, unacknowledged frames (marked abandoned, so a late ack is
    /// only counted; and `refused` when the call ended refused) and then its
    /// frames not yet written. Returns how many had been written: with any,
    /// the outcome of the rest is unknown unless the call was refused.
    fn take_back(&mut self, batch: u64, into: &mut Vec<ShippedEvent>, refused: bool) -> usize {
        let mut written = 0;
        for inflight in self.unacked.iter_mut().filter(|f| f.batch == batch) {
            inflight.abandoned = true;
            inflight.refused = refused;
            written += 1;
            into.push(inflight.event.clone());
        }
        let mut others = VecDeque::with_capacity(self.pending.len());
        for queued in self.pending.drain(..) {
            if queued.batch == batch {
                into.push(queued.event);
            } else {
                others.push_back(queued);
            }
        }
        self.pending = others;
        written
    }

    /// Once every event in flight belongs to a call that gave up, nothing
    /// live waits behind them: drop them and start a new stream, so later
    /// events do not queue behind a gap the receiver would wait on forever.
    fn drop_abandoned(&mut self, now: Instant) {
        if self.unacked.is_empty() || !self.unacked.iter().all(|f| f.abandoned) {
            return;
        }
        debug!(dst = %self.dst, slot = self.index, dropped = self.unacked.len(), stream = self.stream, "new stream");
        shipper::probe!("tcp.abandon-stream");
        self.unacked.clear();
        self.stream += 1;
        self.next_seq = 1;
        self.ack_due = None;
        // The new stream needs its own hello, hence its own connection. A
        // connection still being made will say hello for the new stream.
        if matches!(self.link, Link::Up { .. }) {
            self.link = Link::Down { retry_at: now };
        }
    }
}
