//! The receiving side: accept connections, deliver each stream in order to
//! the sink exactly once per receiving life, acknowledge after the sink took
//! the event.
//!
//! A sink that answers busy ([`SinkError::Busy`]) gets the event offered
//! again every [`NetConfig::busy_retry`], for as long as it stays busy and
//! the stream is current: the event is neither acknowledged nor dropped
//! meanwhile, and the connection reads no further frame, so the sender sees
//! backpressure (a late ack) and its ack timeout and deadline decide.

use std::io;
use std::ops::ControlFlow;
use std::sync::Arc;

use shipper::{Accepting, Fence, NodeId, Refusal, ShippedEvent};
use tokio::io::{AsyncRead, AsyncWrite, BufReader};
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::broken::{self, Variant};
use crate::codec::{FrameError, read_frame_into, write_frame};
use crate::config::NetConfig;
use crate::dedup::{DedupTable, Opened, StreamCursor};
use crate::frame::{Frame, PROTOCOL_VERSION};
use crate::idle::IdleTimer;
use crate::net::Network;
use crate::observer::TransportObserver;
use crate::shared::Shared;
use crate::stats::NetStats;
use shipper::{EventSink, SinkClosed, SinkError};

/// The read buffer of one served connection (tokio zeroes it): a few event frames. Larger
/// frames are read past it, straight into the frame's body.
const READ_BUFFER: usize = 2048;

/// Serves one node's listener. Usually made by [`crate::NetTransport::server`]
/// so that both directions of a node share counters and observer.
pub struct NetServer<N: Network> {
    net: N,
    shared: Arc<Shared>,
    fence: Option<Arc<dyn Fence>>,
}

impl<N: Network> Clone for NetServer<N> {
    fn clone(&self) -> Self {
        Self { net: self.net.clone(), shared: self.shared.clone(), fence: self.fence.clone() }
    }
}

impl<N: Network> NetServer<N> {
    /// A server with its own counters (see [`Self::stats`]).
    pub fn new(net: N, config: NetConfig) -> Self {
        Self::from_shared(net, Arc::new(Shared::new(config, Arc::default(), None)))
    }

    pub(crate) fn from_shared(net: N, shared: Arc<Shared>) -> Self {
        Self { net, shared, fence: None }
    }

    /// Reports protocol errors to `observer` too.
    pub fn with_observer(self, observer: Arc<dyn TransportObserver>) -> Self {
        let shared = Shared::new(self.shared.config.clone(), self.shared.stats.clone(), Some(observer));
        Self { net: self.net, shared: Arc::new(shared), fence: self.fence }
    }

    /// Asks `fence` about every event before the sink sees it (usually the
    /// node's [`shipper::Router`]). A refused event is answered with a
    /// [`Frame::Refuse`] carrying the fence's map, never handed to the sink
    /// and never acknowledged; the later events of its batch on that stream
    /// are refused too, and the stream goes on past them. Without a fence
    /// every event is admitted.
    pub fn with_fence(mut self, fence: Arc<dyn Fence>) -> Self {
        self.fence = Some(fence);
        self
    }

    /// The counters this server updates (`received`, `duplicates_dropped`,
    /// `protocol_errors`).
    pub fn stats(&self) -> &Arc<NetStats> {
        &self.shared.stats
    }

    /// Binds this node's listener on the server's network.
    pub async fn bind(&self) -> io::Result<N::Listener> {
        self.net.bind().await
    }

    /// Accepts connections on `listener` and serves each in its own task,
    /// until the sink closes (then returns `Ok`).
    ///
    /// One call is one receiving process life: duplicate suppression state
    /// lives in this future, and dropping it (or aborting its task) closes
    /// every connection it serves.
    pub async fn serve(self, listener: N::Listener, sink: Arc<dyn EventSink>) -> io::Result<()> {
        let table = Arc::new(DedupTable::default());
        let mut connections: JoinSet<Exit> = JoinSet::new();
        let node = self.shared.config.node.clone();
        info!(node = %node, addr = ?N::local_addr(&listener).ok(), "serving");
        loop {
            tokio::select! {
                biased;
                Some(done) = connections.join_next(), if !connections.is_empty() => match done {
                    Ok(Exit::SinkClosed) => {
                        info!(node = %node, "sink closed: server stops");
                        return Ok(());
                    }
                    Ok(Exit::Closed) => {}
                    Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
                    Err(_cancelled) => {}
                },
                accepted = N::accept(&listener) => match accepted {
                    Ok((stream, peer)) => {
                        debug!(node = %node, peer = %peer, "accepted");
                        let conn = Connection { shared: self.shared.clone(), table: table.clone(), sink: sink.clone(), fence: self.fence.clone(), who: peer.to_string() };
                        self.net.spawn_in(&mut connections, conn.run(stream));
                    }
                    Err(err) => {
                        // Usually transient (out of descriptors): pause rather than spin.
                        warn!(node = %node, error = %err, "accept failed");
                        tokio::time::sleep(self.shared.config.backoff_min).await;
                    }
                },
            }
        }
    }
}

/// Serves `listener` with a server of its own counters: shorthand for
/// `NetServer::new(net, config).serve(listener, sink)`.
pub async fn serve<N: Network>(
    net: N,
    listener: N::Listener,
    sink: Arc<dyn EventSink>,
    config: NetConfig,
) -> io::Result<()> {
    NetServer::new(net, config).serve(listener, sink).await
}

/// How a connection task ended.
enum Exit {
    /// The connection is closed; the server goes on.
    Closed,
    /// The sink refused for good: the server stops.
    SinkClosed,
}

/// What happened to one event frame.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Handed to the sink, which accepted it.
    Delivered,
    /// Already delivered in this life: dropped, acknowledged again.
    Duplicate,
    /// An earlier number is missing: dropped, not acknowledged.
    Gap { expected: u64 },
    /// A newer stream or life of the sender took over.
    Retired,
    /// The fence refused it (now or when it first came): not delivered, not
    /// acknowledged; the sender is told with this refusal.
    Refused(Arc<Refusal>),
}

/// One event frame's numbers and epoch.
#[derive(Debug, Clone, Copy)]
struct Numbers {
    seq: u64,
    batch: u64,
    epoch: u64,
}

/// The dedup point: delivers `seq` only if it is the next expected number of
/// its stream and the fence (if any) admits it, waiting for the sink to
/// accept it before moving on. A refused number is consumed all the same,
/// so the stream goes on past it.
async fn deliver_in_order(
    cursor: &StreamCursor,
    frame: Numbers,
    from: &NodeId,
    event: ShippedEvent,
    sink: &dyn EventSink,
    fence: Option<&dyn Fence>,
    shared: &Shared,
) -> Result<Verdict, SinkClosed> {
    let Numbers { seq, batch, epoch } = frame;
    let mut position = cursor.position.lock().await;
    if cursor.is_retired() {
        return Ok(Verdict::Retired);
    }
    let next = position.next;
    if seq == next {
        if let Some(fence) = fence {
            let refusal = match &position.refusing {
                Some((refusing, refusal)) if *refusing == batch => Some(refusal.clone()),
                _ => fence.admit(event.shard, epoch).err().map(Arc::new),
            };
            if let Some(refusal) = refusal {
                cursor.note_refused(seq, refusal.clone());
                position.refusing = Some((batch, refusal.clone()));
                position.next += 1;
                return Ok(Verdict::Refused(refusal));
            }
            position.refusing = None;
        }
        // Admitted: the fence hears when this accept ends, whichever way.
        let _accepting = fence.map(|fence| Accepting::new(fence, event.shard));
        if !offer_until_accepted(cursor, from, event, sink, shared).await? {
            return Ok(Verdict::Retired);
        }
        position.next += 1;
        Ok(Verdict::Delivered)
    } else if seq < next {
        if let Some(refusal) = cursor.refusal_of(seq) {
            shipper::probe!("tcp.refusal-repeated");
            return Ok(Verdict::Refused(refusal));
        }
        // broken::NoDedup: hand the duplicate to the sink again.
        if broken::is(Variant::NoDedup) {
            sink.accept(from, event).await?;
            return Ok(Verdict::Delivered);
        }
        Ok(Verdict::Duplicate)
    } else {
        Ok(Verdict::Gap { expected: next })
    }
}

/// Offers `event` to the sink until it accepts (`true`), pausing
/// [`NetConfig::busy_retry`] after each busy answer. Gives up (`false`,
/// nothing delivered) once a newer stream or life of the sender retired the
/// cursor: the sender abandoned this stream's unacknowledged events.
async fn offer_until_accepted(
    cursor: &StreamCursor,
    from: &NodeId,
    mut event: ShippedEvent,
    sink: &dyn EventSink,
    shared: &Shared,
) -> Result<bool, SinkClosed> {
    loop {
        match sink.try_accept(from, event).await {
            Ok(()) => return Ok(true),
            Err(SinkError::Closed) => return Err(SinkClosed),
            Err(SinkError::Busy(back)) => {
                shared.stats.count_sink_busy();
                shipper::probe!("tcp.busy-retry");
                debug!(peer = %from, "sink busy: offering again later");
                tokio::time::sleep(shared.config.busy_retry).await;
                if cursor.is_retired() {
                    shipper::probe!("tcp.busy-retired");
                    return Ok(false);
                }
                event = back;
            }
        }
    }
}

/// A `Skip`: consumes `seq` without delivering anything when it is the next
/// expected number (a number already passed is a duplicate, ignored).
/// Returns the expected number when `seq` lies past it: a gap, as for an
/// event, which a correct sender never causes.
async fn skip_in_order(cursor: &StreamCursor, seq: u64) -> Option<u64> {
    let mut position = cursor.position.lock().await;
    match seq.cmp(&position.next) {
        std::cmp::Ordering::Equal => {
            position.next += 1;
            None
        }
        std::cmp::Ordering::Less => None,
        std::cmp::Ordering::Greater => Some(position.next),
    }
}

/// The frame that tells the sender `seq` was refused, and which of its
/// connections this life saw first (so which events the refusal is certain for).
fn refuse_frame(seq: u64, refusal: &Refusal, cursor: &StreamCursor) -> Frame<ShippedEvent> {
    Frame::Refuse {
        seq,
        epoch: refusal.epoch,
        members: refusal.members.clone(),
        first_conn: cursor.first_conn(),
    }
}

/// One accepted connection.
struct Connection {
    shared: Arc<Shared>,
    table: Arc<DedupTable>,
    sink: Arc<dyn EventSink>,
    fence: Option<Arc<dyn Fence>>,
    /// The peer, for logs: its address until it says hello, then its name.
    who: String,
}

/// The stream a connection's hello opened.
struct OpenStream {
    /// The sending node.
    node: NodeId,
    slot: u32,
    stream: u64,
    /// Where delivery on the stream stands, shared with the stream's other connections.
    cursor: Arc<StreamCursor>,
}

/// What is wrong with a hello's numbers, if anything: a sender speaking another protocol
/// version, or numbering its events or connections from 0.
fn hello_error(version: u32, base: u64, number: u64) -> Option<String> {
    if version != PROTOCOL_VERSION {
        Some(format!("protocol version {version}, expected {PROTOCOL_VERSION}"))
    } else if base == 0 {
        Some("hello with base 0 (sequences start at 1)".to_owned())
    } else if number == 0 {
        Some("hello with connection 0 (connections are numbered from 1)".to_owned())
    } else {
        None
    }
}

impl Connection {
    /// Serves one connection: its hello opens a stream, then each frame is handled in turn
    /// until the connection closes, the stream is retired or the sink closes.
    async fn run<S: AsyncRead + AsyncWrite + Send + 'static>(mut self, stream: S) -> Exit {
        // Reads and ack writes take turns, so one buffered stream serves both
        // (no `split` and its lock on every read and write).
        let mut conn = BufReader::with_capacity(READ_BUFFER, Box::pin(stream));
        let mut idle = IdleTimer::new(self.shared.config.idle_timeout);
        let mut body = Vec::new();
        let Some(stream) = self.open_stream(&mut conn, &mut body, &mut idle).await else {
            return Exit::Closed;
        };
        loop {
            let Some(frame) = self.next_frame(&mut conn, &mut body, &mut idle).await else {
                return Exit::Closed;
            };
            let step = match frame {
                Frame::Event { seq, batch, epoch, event, .. } => {
                    let numbers = Numbers { seq, batch, epoch };
                    self.on_event(&mut conn, &stream, numbers, event, &mut idle).await
                }
                Frame::Skip { seq } => {
                    self.on_skip(&stream, seq).await;
                    ControlFlow::Continue(())
                }
                other => {
                    self.protocol_error(&FrameError::Unexpected(other.kind()).to_string());
                    ControlFlow::Break(Exit::Closed)
                }
            };
            if let ControlFlow::Break(exit) = step {
                return exit;
            }
        }
    }

    /// Reads the hello and opens the stream it names. `None` when the connection should
    /// close: no hello, a malformed one (counted), or one naming a stream or life that a
    /// newer one replaced.
    async fn open_stream<R: AsyncRead + Unpin>(
        &mut self,
        reader: &mut R,
        body: &mut Vec<u8>,
        idle: &mut IdleTimer,
    ) -> Option<OpenStream> {
        let hello = self.next_frame(reader, body, idle).await?;
        let Frame::Hello { version, node, life, slot, stream, base, conn: number } = hello else {
            self.protocol_error(&FrameError::Unexpected(hello.kind()).to_string());
            return None;
        };
        if let Some(reason) = hello_error(version, base, number) {
            self.protocol_error(&reason);
            return None;
        }
        self.who = node.clone();
        match self.table.open(&node, life, slot, stream, base, number) {
            Opened::Current(cursor) => Some(OpenStream { node, slot, stream, cursor }),
            Opened::Stale(why) => {
                shipper::probe!("tcp.stale-stream");
                debug!(node = %self.shared.config.node, peer = %node, life, slot, stream, "refusing {why}");
                None
            }
        }
    }

    /// A `Skip` frame: consumes its number, or reports the gap it lies past.
    async fn on_skip(&self, stream: &OpenStream, seq: u64) {
        if let Some(expected) = skip_in_order(&stream.cursor, seq).await {
            let node = &stream.node;
            warn!(peer = %node, seq, expected, "skip out of order: dropped");
            self.shared.observe(|o| o.on_stream_gap(node, seq, expected));
        }
    }

    /// An `Event` frame: delivered in order (or refused, or dropped) and answered, the ack
    /// written only once the sink has the event. `Break` ends the connection.
    async fn on_event<C: AsyncRead + AsyncWrite + Unpin>(
        &self,
        conn: &mut C,
        stream: &OpenStream,
        numbers: Numbers,
        event: ShippedEvent,
        idle: &mut IdleTimer,
    ) -> ControlFlow<Exit> {
        let seq = numbers.seq;
        let node = &stream.node;
        // broken::AckBeforeSink: ack on read; dedup and the sink get the event a moment later.
        if broken::is(Variant::AckBeforeSink) && !self.ack_before_sink(conn, seq, node, idle).await {
            return ControlFlow::Break(Exit::Closed);
        }
        // broken::AckBeforeAccept: the ack written before the sink accepted, no pause in between.
        if broken::is(Variant::AckBeforeAccept) && !self.write_ack(conn, seq, node, idle).await {
            return ControlFlow::Break(Exit::Closed);
        }
        let sink = self.sink.as_ref();
        let verdict =
            deliver_in_order(&stream.cursor, numbers, node, event, sink, self.fence.as_deref(), &self.shared)
                .await;
        if !self.on_verdict(conn, stream, numbers, verdict, idle).await? {
            return ControlFlow::Continue(());
        }
        // The ack point: reached only once the sink has accepted this
        // event (now or in an earlier delivery of it).
        let acked_early = broken::is(Variant::AckBeforeSink) || broken::is(Variant::AckBeforeAccept);
        if !acked_early && !self.write_ack(conn, seq, node, idle).await {
            return ControlFlow::Break(Exit::Closed);
        }
        ControlFlow::Continue(())
    }

    /// Counts and logs what became of an event, and answers a refusal. `Continue(true)` when
    /// the event is to be acknowledged (delivered now or before), `Continue(false)` when it is
    /// not (a gap, a refusal), `Break` when the connection ends (the stream was retired, a
    /// write failed, the sink closed).
    async fn on_verdict<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        stream: &OpenStream,
        numbers: Numbers,
        verdict: Result<Verdict, SinkClosed>,
        idle: &mut IdleTimer,
    ) -> ControlFlow<Exit, bool> {
        let Numbers { seq, batch, epoch } = numbers;
        let OpenStream { node, slot, stream: stream_id, cursor } = stream;
        match verdict {
            Ok(Verdict::Delivered) => self.shared.stats.count_received(),
            Ok(Verdict::Duplicate) => {
                self.shared.stats.count_duplicate();
                shipper::probe!("tcp.duplicate-dropped");
                debug!(peer = %node, seq, "duplicate dropped");
            }
            Ok(Verdict::Gap { expected }) => {
                // A sender never skips a number on a stream, so this
                // points at a bug; the sender's ack timeout recovers.
                warn!(peer = %node, seq, expected, "out of order: dropped without ack");
                self.shared.observe(|o| o.on_stream_gap(node, seq, expected));
                return ControlFlow::Continue(false);
            }
            Ok(Verdict::Refused(refusal)) => {
                self.shared.stats.count_refused();
                debug!(peer = %node, seq, batch, epoch, own = refusal.epoch, "refused: not the owner");
                if !self.write_frame(writer, &refuse_frame(seq, &refusal, cursor), node, idle).await {
                    return ControlFlow::Break(Exit::Closed);
                }
                return ControlFlow::Continue(false);
            }
            Ok(Verdict::Retired) => {
                debug!(peer = %node, slot, stream = stream_id, "stream retired: closing");
                return ControlFlow::Break(Exit::Closed);
            }
            Err(SinkClosed) => return ControlFlow::Break(Exit::SinkClosed),
        }
        ControlFlow::Continue(true)
    }

    /// `broken::AckBeforeSink`: acknowledges `seq` at once, then lets the
    /// event wait a few milliseconds (a sink that queues and takes it later)
    /// before it reaches dedup and the sink; a crash in between loses it.
    async fn ack_before_sink<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        seq: u64,
        node: &str,
        idle: &mut IdleTimer,
    ) -> bool {
        let acked = self.write_ack(writer, seq, node, idle).await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        acked
    }

    /// Acknowledges `seq`; `false` when the connection should close.
    async fn write_ack<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        seq: u64,
        node: &str,
        idle: &mut IdleTimer,
    ) -> bool {
        self.write_frame(writer, &Frame::Ack { seq }, node, idle).await
    }

    /// Writes an ack or a refusal; `false` when the connection should close.
    async fn write_frame<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        frame: &Frame<ShippedEvent>,
        node: &str,
        idle: &mut IdleTimer,
    ) -> bool {
        let max_frame = self.shared.config.max_frame;
        match idle.run(write_frame(writer, frame, max_frame)).await {
            Some(Ok(())) => true,
            Some(Err(err)) => {
                debug!(peer = %node, error = %err, kind = frame.kind(), "write failed");
                false
            }
            None => {
                debug!(peer = %node, kind = frame.kind(), "write stalled: closing");
                false
            }
        }
    }

    /// The next frame, or `None` when the connection should close: clean
    /// end, idle timeout, socket error, or a protocol error (counted).
    async fn next_frame<R: AsyncRead + Unpin>(
        &self,
        reader: &mut R,
        body: &mut Vec<u8>,
        idle: &mut IdleTimer,
    ) -> Option<Frame> {
        match idle.run(read_frame_into(reader, self.shared.config.max_frame, body)).await {
            Some(Ok(frame)) => frame,
            Some(Err(FrameError::Io(err))) => {
                debug!(peer = %self.who, error = %err, "connection failed");
                None
            }
            Some(Err(err)) => {
                self.protocol_error(&err.to_string());
                None
            }
            None => {
                debug!(peer = %self.who, "idle: closing");
                None
            }
        }
    }

    fn protocol_error(&self, reason: &str) {
        self.shared.protocol_error(&self.who, reason);
    }
}
