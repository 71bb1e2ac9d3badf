//! Length-prefixed framing: a big-endian `u32` body length, then a serde_json
//! body of at most `max_frame` bytes.
//!
//! Decoding never trusts the peer: the length is checked against the limit
//! before anything is allocated, and a body is allocated at exactly its
//! (checked) length, so a hostile or broken peer cannot make us allocate more
//! than the limit. Every failure is an error value, never a panic; the caller
//! closes the connection on any of them.

use std::io;

use serde::Serialize;
use shipper::ShippedEvent;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::frame::{Frame, LENGTH_PREFIX};

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than the limit (or an encoded frame
    /// would exceed it).
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    Oversized {
        /// Announced or encoded body length.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The connection ended in the middle of a frame.
    #[error("connection ended inside a frame")]
    Truncated,
    /// The body is not a valid frame.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The frame was valid but not one this side expects here.
    #[error("unexpected {0} frame")]
    Unexpected(&'static str),
    /// The socket failed; not the peer's fault as far as we can tell.
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

impl FrameError {
    /// Whether the peer broke the protocol (counted in `protocol_errors`), as
    /// opposed to the connection failing underneath us.
    pub fn is_protocol_error(&self) -> bool {
        !matches!(self, FrameError::Io(_))
    }
}

/// Checks an announced body length against the limit. Done before any
/// allocation for the body.
fn check_len(len: usize, max: usize) -> Result<(), FrameError> {
    if len > max {
        return Err(FrameError::Oversized { len, max });
    }
    Ok(())
}

/// Parses a body (without its length prefix).
pub fn decode_body(body: &[u8]) -> Result<Frame, FrameError> {
    serde_json::from_slice(body).map_err(|e| FrameError::Malformed(e.to_string()))
}

/// Encodes `frame` with its length prefix, refusing frames whose body
/// exceeds `max` (or `u32::MAX`).
pub fn encode_frame<E: Serialize>(frame: &Frame<E>, max: usize) -> Result<Vec<u8>, FrameError> {
    let mut buf = Vec::with_capacity(128);
    buf.extend_from_slice(&[0; LENGTH_PREFIX]);
    serde_json::to_writer(&mut buf, frame).map_err(|e| FrameError::Malformed(e.to_string()))?;
    let len = buf.len() - LENGTH_PREFIX;
    check_len(len, max.min(u32::MAX as usize))?;
    buf[..LENGTH_PREFIX].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(buf)
}

/// Decodes one frame from the front of `buf`.
///
/// `Ok(None)` means `buf` holds only part of a frame: read more. On success
/// returns the frame and how many bytes of `buf` it used. Allocates nothing
/// beyond what the (checked) frame body needs.
pub fn decode_frame(buf: &[u8], max: usize) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some(prefix) = buf.get(..LENGTH_PREFIX) else {
        return Ok(None);
    };
    let len = u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
    check_len(len, max)?;
    let Some(body) = buf.get(LENGTH_PREFIX..LENGTH_PREFIX + len) else {
        return Ok(None);
    };
    Ok(Some((decode_body(body)?, LENGTH_PREFIX + len)))
}

/// Reads one frame. `Ok(None)` is a clean end of stream at a frame boundary;
/// an end inside a frame is [`FrameError::Truncated`].
///
/// Not cancel safe: a frame half read when the future is dropped is lost, so
/// callers that time a read out close the connection.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Option<Frame>, FrameError> {
    let mut prefix = [0u8; LENGTH_PREFIX];
    let mut got = 0;
    while got < LENGTH_PREFIX {
        let n = reader.read(&mut prefix[got..]).await?;
        if n == 0 {
            return if got == 0 { Ok(None) } else { Err(FrameError::Truncated) };
        }
        got += n;
    }
    let len = u32::from_be_bytes(prefix) as usize;
    check_len(len, max)?;
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await.map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })?;
    decode_body(&body).map(Some)
}

/// Encodes and writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin, E: Serialize>(
    writer: &mut W,
    frame: &Frame<E>,
    max: usize,
) -> Result<(), FrameError> {
    let bytes = encode_frame(frame, max)?;
    writer.write_all(&bytes).await?;
    writer.flush().await?;
    Ok(())
}

/// An upper bound on the body length of any `Event` frame carrying `event`
/// (sequence numbers and indices at their widest). Lets a ship call refuse an
/// event too big to frame before any of the call is sent.
pub fn event_frame_bound(event: &ShippedEvent) -> usize {
    let frame = Frame::Event { seq: u64::MAX, batch: u64::MAX, index: u32::MAX, event };
    let mut counter = ByteCounter(0);
    match serde_json::to_writer(&mut counter, &frame) {
        Ok(()) => counter.0,
        // Cannot happen for this type; "too big" is the safe answer.
        Err(_) => usize::MAX,
    }
}

/// A writer that only counts, so measuring a frame allocates nothing.
struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{DEFAULT_MAX_FRAME, PROTOCOL_VERSION};

    fn event(i: u32) -> ShippedEvent {
        ShippedEvent { shard: i, key: format!("k{i}"), payload: vec![1, 2, 3, i as u8], source: "n1".into() }
    }

    fn samples() -> Vec<Frame> {
        vec![
            Frame::Hello {
                version: PROTOCOL_VERSION,
                node: "n1".into(),
                life: 7,
                slot: 1,
                stream: 3,
                base: 1,
            },
            Frame::Event { seq: 1, batch: 9, index: 0, event: event(1) },
            Frame::Ack { seq: u64::MAX },
        ]
    }

    #[test]
    fn round_trip_each_kind() {
        for frame in samples() {
            let bytes = encode_frame(&frame, DEFAULT_MAX_FRAME).unwrap();
            let (back, used) = decode_frame(&bytes, DEFAULT_MAX_FRAME).unwrap().unwrap();
            assert_eq!(back, frame);
            assert_eq!(used, bytes.len());
        }
    }

    #[test]
    fn borrowed_event_encodes_like_owned() {
        let ev = event(5);
        let borrowed =
            encode_frame(&Frame::Event { seq: 4, batch: 2, index: 1, event: &ev }, DEFAULT_MAX_FRAME)
                .unwrap();
        let owned =
            encode_frame(&Frame::Event { seq: 4, batch: 2, index: 1, event: ev }, DEFAULT_MAX_FRAME).unwrap();
        assert_eq!(borrowed, owned);
    }

    #[test]
    fn partial_input_asks_for_more() {
        let bytes = encode_frame(&samples()[1], DEFAULT_MAX_FRAME).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode_frame(&bytes[..cut], DEFAULT_MAX_FRAME).unwrap().is_none(), "cut at {cut}");
        }
    }

    #[test]
    fn oversized_prefix_is_rejected_from_the_prefix_alone() {
        let prefix = u32::MAX.to_be_bytes();
        match decode_frame(&prefix, 1024) {
            Err(FrameError::Oversized { len, max: 1024 }) => assert_eq!(len, u32::MAX as usize),
            other => panic!("expected oversized, got {other:?}"),
        }
    }

    #[test]
    fn encoding_refuses_frames_over_the_limit() {
        let big = ShippedEvent { shard: 0, key: "k".into(), payload: vec![7; 100], source: "n".into() };
        let frame = Frame::Event { seq: 1, batch: 1, index: 0, event: &big };
        assert!(matches!(encode_frame(&frame, 64), Err(FrameError::Oversized { .. })));
        assert!(event_frame_bound(&big) > 64);
        let fits = encode_frame(&frame, DEFAULT_MAX_FRAME).unwrap();
        assert!(fits.len() - LENGTH_PREFIX <= event_frame_bound(&big));
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let mut bytes = 5u32.to_be_bytes().to_vec();
        bytes.extend_from_slice(b"hello");
        assert!(matches!(decode_frame(&bytes, 1024), Err(FrameError::Malformed(_))));
        assert!(matches!(decode_frame(&0u32.to_be_bytes(), 1024), Err(FrameError::Malformed(_))));
    }

    #[tokio::test]
    async fn async_reader_matches_sync_decoder() {
        let mut wire = Vec::new();
        for frame in samples() {
            wire.extend(encode_frame(&frame, DEFAULT_MAX_FRAME).unwrap());
        }
        let mut reader = &wire[..];
        for frame in samples() {
            assert_eq!(read_frame(&mut reader, DEFAULT_MAX_FRAME).await.unwrap(), Some(frame));
        }
        assert_eq!(read_frame(&mut reader, DEFAULT_MAX_FRAME).await.unwrap(), None);
        let mut cut = &wire[..wire.len() - 1];
        let mut last = Ok(None);
        for _ in 0..3 {
            last = read_frame(&mut cut, DEFAULT_MAX_FRAME).await;
        }
        assert!(matches!(last, Err(FrameError::Truncated)));
    }
}
