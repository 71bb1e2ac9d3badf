//! One TCP connection of a sending slot, run as its own task.
//!
//! The slot never does I/O itself, so it can always react to deadlines and
//! acks: it hands encoded frames to this task through a channel and hears
//! back what happened (connected, an ack, closed) through another. Frames
//! reach the channel only once the connection is up and are bounded by the
//! slot's window, so the channel stays small.

use std::time::Duration;

use shipper::NodeId;
use tokio::io::{AsyncWriteExt, BufReader, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::codec::{FrameError, read_frame_into};
use crate::frame::Frame;
use crate::net::Network;

/// Frames coalesced into one write, at most (one frame may be larger).
const WRITE_COALESCE: usize = 64 * 1024;
/// The read buffer of a connection's ack reader.
const ACK_READ_BUFFER: usize = 256;

/// What a connection task tells its slot. `conn` tells stale connections'
/// news from the current one's.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    /// The connection is established; the slot may write.
    Connected { conn: u64 },
    /// The receiver acknowledged everything up to `seq`.
    Ack { conn: u64, seq: u64 },
    /// The receiver's fence refused `seq`: its map is `epoch`, `members`;
    /// the refusing life saw connection `first_conn` of the slot first.
    Refuse { conn: u64, seq: u64, epoch: u64, members: Vec<NodeId>, first_conn: u64 },
    /// The connection is gone (or never came up).
    Closed { conn: u64, why: CloseReason },
}

/// Why a connection ended.
#[derive(Debug)]
pub(crate) enum CloseReason {
    /// It never came up: refused, unreachable, timed out.
    ConnectFailed(String),
    /// The receiver closed it.
    Eof,
    /// The socket failed.
    Io(String),
    /// The receiver sent something that is not an ack, or garbage.
    Protocol(String),
    /// The slot dropped its end of the frame channel.
    Released,
}

/// The connection task; aborted (closing the socket) when dropped.
#[derive(Debug)]
pub(crate) struct ConnTask(JoinHandle<()>);

impl Drop for ConnTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Settings of one connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkSettings {
    pub(crate) connect_timeout: Duration,
    pub(crate) max_frame: usize,
}

/// Starts connecting to `dst`. Returns the task and the channel that takes
/// encoded frames (to be used only after [`ConnEvent::Connected`]).
pub(crate) fn spawn<N: Network>(
    net: &N,
    dst: &NodeId,
    conn: u64,
    settings: LinkSettings,
    events: mpsc::UnboundedSender<ConnEvent>,
) -> (ConnTask, mpsc::UnboundedSender<Vec<u8>>) {
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    let task = net.spawn(run(net.clone(), dst.clone(), conn, settings, events, out_rx));
    (ConnTask(task), out_tx)
}

async fn run<N: Network>(
    net: N,
    dst: NodeId,
    conn: u64,
    settings: LinkSettings,
    events: mpsc::UnboundedSender<ConnEvent>,
    out: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let stream = match tokio::time::timeout(settings.connect_timeout, net.connect(&dst)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            let _ = events.send(ConnEvent::Closed { conn, why: CloseReason::ConnectFailed(err.to_string()) });
            return;
        }
        Err(_elapsed) => {
            let why =
                CloseReason::ConnectFailed(format!("connect timed out after {:?}", settings.connect_timeout));
            let _ = events.send(ConnEvent::Closed { conn, why });
            return;
        }
    };
    if events.send(ConnEvent::Connected { conn }).is_err() {
        return;
    }
    let (reader, writer) = tokio::io::split(stream);
    // Whichever half ends first ends the connection; the other is dropped
    // with it, closing the socket.
    let why = tokio::select! {
        biased;
        why = read_acks::<N>(reader, conn, settings.max_frame, &events) => why,
        why = write_frames::<N>(writer, out) => why,
    };
    let _ = events.send(ConnEvent::Closed { conn, why });
}

/// Forwards acks and refusals to the slot until the connection ends or misbehaves.
async fn read_acks<N: Network>(
    reader: ReadHalf<N::Stream>,
    conn: u64,
    max_frame: usize,
    events: &mpsc::UnboundedSender<ConnEvent>,
) -> CloseReason {
    // Acks are 13 bytes: a small buffer (tokio zeroes it) is enough; a cluster holds one per
    // pooled connection, thousands of them at 64 nodes.
    let mut reader = BufReader::with_capacity(ACK_READ_BUFFER, reader);
    let mut body = Vec::new();
    loop {
        match read_frame_into(&mut reader, max_frame, &mut body).await {
            Ok(Some(Frame::Ack { seq })) => {
                if events.send(ConnEvent::Ack { conn, seq }).is_err() {
                    return CloseReason::Released;
                }
            }
            Ok(Some(Frame::Refuse { seq, epoch, members, first_conn })) => {
                if events.send(ConnEvent::Refuse { conn, seq, epoch, members, first_conn }).is_err() {
                    return CloseReason::Released;
                }
            }
            Ok(Some(other)) => {
                return CloseReason::Protocol(FrameError::Unexpected(other.kind()).to_string());
            }
            Ok(None) => return CloseReason::Eof,
            Err(FrameError::Io(err)) => return CloseReason::Io(err.to_string()),
            Err(err) => return CloseReason::Protocol(err.to_string()),
        }
    }
}

/// Writes what the slot hands over, coalescing queued frames into one write.
async fn write_frames<N: Network>(
    mut writer: WriteHalf<N::Stream>,
    mut out: mpsc::UnboundedReceiver<Vec<u8>>,
) -> CloseReason {
    while let Some(mut buf) = out.recv().await {
        while buf.len() < WRITE_COALESCE {
            match out.try_recv() {
                Ok(more) => buf.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if let Err(err) = writer.write_all(&buf).await {
            return CloseReason::Io(err.to_string());
        }
        if let Err(err) = writer.flush().await {
            return CloseReason::Io(err.to_string());
        }
    }
    CloseReason::Released
}
