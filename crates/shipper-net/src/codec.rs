//! Length-prefixed framing: a big-endian `u32` body length, then a binary
//! body of at most `max_frame` bytes.
//!
//! A body is a one-byte tag, then the frame's fields in order, integers
//! big-endian, strings and payloads as a `u32` length and that many bytes:
//!
//! | frame | tag | fields |
//! | --- | --- | --- |
//! | `Hello` | 1 | version u32, life u64, slot u32, stream u64, base u64, conn u64, node str |
//! | `Event` | 2 | seq u64, batch u64, index u32, epoch u64, shard u32, key str, source str, payload bytes |
//! | `Ack` | 3 | seq u64 |
//! | `Refuse` | 4 | seq u64, epoch u64, first conn u64, member count u32, that many member str |
//! | `Skip` | 5 | seq u64 |
//!
//! Binary rather than JSON because a JSON body spelled the payload as an
//! array of numbers (about 3.5 bytes per byte) and cost more to parse than
//! everything else a frame goes through. `Hello` carries the version first,
//! so a receiver can name the version of a peer it refuses.
//!
//! Decoding never trusts the peer: the length is checked against the limit
//! before anything is allocated, a body is allocated at exactly its (checked)
//! length, and every string inside it is allocated only after its announced
//! length was checked against what is left of the body, so a hostile or
//! broken peer cannot make us allocate more than the limit. Every failure is
//! an error value, never a panic; the caller closes the connection on any of
//! them.

use std::borrow::Borrow;
use std::io;

use shipper::ShippedEvent;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::broken::{self, Variant};
use crate::frame::{Frame, LENGTH_PREFIX};

/// Tag byte of a `Hello` body.
const TAG_HELLO: u8 = 1;
/// Tag byte of an `Event` body.
const TAG_EVENT: u8 = 2;
/// Tag byte of an `Ack` body.
const TAG_ACK: u8 = 3;
/// Tag byte of a `Refuse` body.
const TAG_REFUSE: u8 = 4;
/// Tag byte of a `Skip` body.
const TAG_SKIP: u8 = 5;

/// Bytes of an `Event` body besides its three strings: tag, seq, batch,
/// index, epoch, shard and the three length fields.
const EVENT_FIXED: usize = 1 + 8 + 8 + 4 + 8 + 4 + 3 * 4;

/// Bytes of a `Refuse` body besides its members: tag, seq, epoch, first
/// connection, count.
const REFUSE_FIXED: usize = 1 + 8 + 8 + 8 + 4;

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

/// The body length of `frame`, computed without encoding it.
fn body_len<E: Borrow<ShippedEvent>>(frame: &Frame<E>) -> usize {
    match frame {
        Frame::Hello { node, .. } => 1 + 4 + 8 + 4 + 8 + 8 + 8 + 4 + node.len(),
        Frame::Event { event, .. } => {
            let event = event.borrow();
            EVENT_FIXED + event.key.len() + event.source.len() + event.payload.len()
        }
        Frame::Ack { .. } | Frame::Skip { .. } => 1 + 8,
        Frame::Refuse { members, .. } => REFUSE_FIXED + members.iter().map(|m| 4 + m.len()).sum::<usize>(),
    }
}

/// Appends a length-prefixed byte string. Callers checked the body length,
/// so every length fits a `u32`.
fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    buf.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    buf.extend_from_slice(bytes);
}

/// Encodes `frame` with its length prefix, refusing frames whose body
/// exceeds `max` (or `u32::MAX`) before allocating anything.
pub fn encode_frame<E: Borrow<ShippedEvent>>(frame: &Frame<E>, max: usize) -> Result<Vec<u8>, FrameError> {
    let len = body_len(frame);
    check_len(len, max.min(u32::MAX as usize))?;
    let mut buf = Vec::with_capacity(LENGTH_PREFIX + len);
    buf.extend_from_slice(&(len as u32).to_be_bytes());
    match frame {
        Frame::Hello { version, node, life, slot, stream, base, conn } => {
            buf.push(TAG_HELLO);
            buf.extend_from_slice(&version.to_be_bytes());
            buf.extend_from_slice(&life.to_be_bytes());
            buf.extend_from_slice(&slot.to_be_bytes());
            buf.extend_from_slice(&stream.to_be_bytes());
            buf.extend_from_slice(&base.to_be_bytes());
            buf.extend_from_slice(&conn.to_be_bytes());
            put_bytes(&mut buf, node.as_bytes());
        }
        Frame::Event { seq, batch, index, epoch, event } => {
            let event = event.borrow();
            buf.push(TAG_EVENT);
            buf.extend_from_slice(&seq.to_be_bytes());
            buf.extend_from_slice(&batch.to_be_bytes());
            buf.extend_from_slice(&index.to_be_bytes());
            buf.extend_from_slice(&epoch.to_be_bytes());
            buf.extend_from_slice(&event.shard.to_be_bytes());
            put_bytes(&mut buf, event.key.as_bytes());
            put_bytes(&mut buf, event.source.as_bytes());
            put_bytes(&mut buf, &event.payload);
        }
        Frame::Ack { seq } => {
            buf.push(TAG_ACK);
            buf.extend_from_slice(&seq.to_be_bytes());
        }
        Frame::Skip { seq } => {
            buf.push(TAG_SKIP);
            buf.extend_from_slice(&seq.to_be_bytes());
        }
        Frame::Refuse { seq, epoch, members, first_conn } => {
            buf.push(TAG_REFUSE);
            buf.extend_from_slice(&seq.to_be_bytes());
            buf.extend_from_slice(&epoch.to_be_bytes());
            buf.extend_from_slice(&first_conn.to_be_bytes());
            // The body length was checked, so the count fits a u32 too.
            buf.extend_from_slice(&(members.len() as u32).to_be_bytes());
            for member in members {
                put_bytes(&mut buf, member.as_bytes());
            }
        }
    }
    debug_assert_eq!(buf.len(), LENGTH_PREFIX + len, "body_len disagrees with the encoder");
    Ok(buf)
}

/// Reads the fields of a body front to back; every read checks what is left,
/// so nothing is allocated for more bytes than the body holds.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], FrameError> {
        if n > self.rest.len() {
            return Err(FrameError::Malformed(format!(
                "{what}: {n} bytes announced, {} left in the frame",
                self.rest.len()
            )));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], FrameError> {
        let bytes = self.take(N, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn u32(&mut self, what: &str) -> Result<u32, FrameError> {
        self.array(what).map(u32::from_be_bytes)
    }

    fn u64(&mut self, what: &str) -> Result<u64, FrameError> {
        self.array(what).map(u64::from_be_bytes)
    }

    fn bytes(&mut self, what: &str) -> Result<Vec<u8>, FrameError> {
        let len = self.u32(what)? as usize;
        self.take(len, what).map(<[u8]>::to_vec)
    }

    fn string(&mut self, what: &str) -> Result<String, FrameError> {
        let len = self.u32(what)? as usize;
        let bytes = self.take(len, what)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| FrameError::Malformed(format!("{what} is not UTF-8: {e}")))
    }

    fn finish(self, frame: Frame) -> Result<Frame, FrameError> {
        if self.rest.is_empty() {
            Ok(frame)
        } else {
            Err(FrameError::Malformed(format!("{} bytes after the {} frame", self.rest.len(), frame.kind())))
        }
    }
}

/// Parses a body (without its length prefix).
pub fn decode_body(body: &[u8]) -> Result<Frame, FrameError> {
    let Some((&tag, rest)) = body.split_first() else {
        return Err(FrameError::Malformed("empty frame".into()));
    };
    let mut f = Fields { rest };
    let frame = match tag {
        TAG_HELLO => Frame::Hello {
            version: f.u32("version")?,
            life: f.u64("life")?,
            slot: f.u32("slot")?,
            stream: f.u64("stream")?,
            base: f.u64("base")?,
            conn: f.u64("conn")?,
            node: f.string("node")?,
        },
        TAG_EVENT => {
            let (seq, batch, index) = (f.u64("seq")?, f.u64("batch")?, f.u32("index")?);
            let epoch = f.u64("epoch")?;
            let shard = f.u32("shard")?;
            let key = f.string("key")?;
            let source = f.string("source")?;
            let payload = f.bytes("payload")?;
            Frame::Event { seq, batch, index, epoch, event: ShippedEvent { shard, key, payload, source } }
        }
        TAG_ACK => Frame::Ack { seq: f.u64("seq")? },
        TAG_SKIP => Frame::Skip { seq: f.u64("seq")? },
        TAG_REFUSE => {
            let (seq, epoch, first_conn) = (f.u64("seq")?, f.u64("epoch")?, f.u64("first conn")?);
            let count = f.u32("member count")? as usize;
            // Every member takes at least its 4-byte length: a count the
            // body cannot hold is refused before anything is allocated.
            if count > f.rest.len() / 4 {
                return Err(FrameError::Malformed(format!(
                    "member count: {count} members announced, room for at most {} in the frame",
                    f.rest.len() / 4
                )));
            }
            let mut members = Vec::with_capacity(count);
            for _ in 0..count {
                members.push(f.string("member")?);
            }
            Frame::Refuse { seq, epoch, members, first_conn }
        }
        b'{' => return Err(FrameError::Malformed("a JSON body (a protocol version 1 peer?)".into())),
        other => return Err(FrameError::Malformed(format!("unknown frame tag {other}"))),
    };
    f.finish(frame)
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
    read_frame_into(reader, max, &mut Vec::new()).await
}

/// [`read_frame`], reading the body into `body` (whatever it held is
/// dropped), so that a connection reuses one buffer for all of its frames.
/// The buffer grows to exactly a (checked) body length, never past `max`.
pub async fn read_frame_into<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
    body: &mut Vec<u8>,
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
    body.clear();
    // Exact: amortized growth could round a buffer up past the limit.
    body.reserve_exact(len);
    body.resize(len, 0);
    // broken::SplitReadMishandled: whatever one read returns is taken as the whole body.
    let read = if broken::is(Variant::SplitReadMishandled) {
        reader.read(body).await
    } else {
        reader.read_exact(body).await
    };
    read.map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })?;
    decode_body(body).map(Some)
}

/// Encodes and writes one frame.
pub async fn write_frame<W: AsyncWrite + Unpin, E: Borrow<ShippedEvent>>(
    writer: &mut W,
    frame: &Frame<E>,
    max: usize,
) -> Result<(), FrameError> {
    let bytes = encode_frame(frame, max)?;
    writer.write_all(&bytes).await?;
    writer.flush().await?;
    Ok(())
}

/// The body length of any `Event` frame carrying `event` (the numbers are
/// fixed-width, so it does not depend on them). Lets a ship call refuse an
/// event too big to frame before any of the call is sent.
pub fn event_frame_bound(event: &ShippedEvent) -> usize {
    EVENT_FIXED + event.key.len() + event.source.len() + event.payload.len()
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
                conn: 4,
            },
            Frame::Event { seq: 1, batch: 9, index: 0, epoch: 4, event: event(1) },
            Frame::Ack { seq: u64::MAX },
            Frame::Refuse { seq: 3, epoch: 2, members: vec!["n1".into(), "n22".into()], first_conn: 2 },
            Frame::Skip { seq: 6 },
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
        let borrowed = encode_frame(
            &Frame::Event { seq: 4, batch: 2, index: 1, epoch: 1, event: &ev },
            DEFAULT_MAX_FRAME,
        )
        .unwrap();
        let owned = encode_frame(
            &Frame::Event { seq: 4, batch: 2, index: 1, epoch: 1, event: ev },
            DEFAULT_MAX_FRAME,
        )
        .unwrap();
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
        let frame = Frame::Event { seq: 1, batch: 1, index: 0, epoch: 1, event: &big };
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

    #[test]
    fn the_event_bound_is_the_exact_body_length() {
        for ev in
            [event(1), ShippedEvent { shard: 0, key: String::new(), payload: vec![], source: String::new() }]
        {
            let bytes = encode_frame(
                &Frame::Event { seq: 3, batch: 2, index: 1, epoch: 1, event: &ev },
                DEFAULT_MAX_FRAME,
            )
            .unwrap();
            assert_eq!(bytes.len() - LENGTH_PREFIX, event_frame_bound(&ev));
        }
    }

    #[test]
    fn a_payload_costs_its_own_length_on_the_wire() {
        let ev = ShippedEvent { shard: 1, key: "k".into(), payload: vec![255; 128], source: "n1".into() };
        let bytes = encode_frame(
            &Frame::Event { seq: 1, batch: 1, index: 0, epoch: 1, event: &ev },
            DEFAULT_MAX_FRAME,
        )
        .unwrap();
        assert_eq!(bytes.len(), LENGTH_PREFIX + EVENT_FIXED + 1 + 2 + 128);
    }

    /// `frame`'s body with `edit` applied, behind a matching length prefix.
    fn edited(frame: &Frame, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut body = encode_frame(frame, DEFAULT_MAX_FRAME).unwrap().split_off(LENGTH_PREFIX);
        edit(&mut body);
        let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
        bytes.extend(body);
        bytes
    }

    fn malformed(bytes: &[u8]) -> String {
        match decode_frame(bytes, DEFAULT_MAX_FRAME) {
            Err(FrameError::Malformed(why)) => why,
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn broken_bodies_are_malformed_with_a_reason() {
        let [hello, ev, ack, _refuse, _skip] = <[Frame; 5]>::try_from(samples()).unwrap();
        // Cut short inside the node name, and inside the ack's number.
        assert!(
            malformed(&edited(&hello, |b| {
                b.pop();
            }))
            .contains("node")
        );
        assert!(
            malformed(&edited(&ack, |b| {
                b.pop();
            }))
            .contains("seq")
        );
        // A string length pointing past the body: refused, nothing allocated for it.
        let key_len_at = EVENT_FIXED - 3 * 4;
        let huge = edited(&ev, |b| b[key_len_at..key_len_at + 4].copy_from_slice(&u32::MAX.to_be_bytes()));
        assert!(malformed(&huge).contains("key"));
        // Bytes left over after a whole frame.
        assert!(malformed(&edited(&ack, |b| b.push(0))).contains("after the ack frame"));
        // A key that is not UTF-8.
        let key_at = key_len_at + 4;
        assert!(malformed(&edited(&ev, |b| b[key_at] = 0xFF)).contains("UTF-8"));
        // Unknown tags, and a version-1 peer's JSON.
        assert!(malformed(&edited(&ack, |b| b[0] = 9)).contains("unknown frame tag 9"));
        let mut json = 9u32.to_be_bytes().to_vec();
        json.extend_from_slice(br#"{"Ack":1}"#);
        assert!(malformed(&json).contains("version 1"));
    }

    #[tokio::test]
    async fn a_reused_body_buffer_reads_the_same_frames() {
        let mut wire = Vec::new();
        for frame in samples().into_iter().rev().chain(samples()) {
            wire.extend(encode_frame(&frame, DEFAULT_MAX_FRAME).unwrap());
        }
        let (mut reader, mut body) = (&wire[..], Vec::new());
        for frame in samples().into_iter().rev().chain(samples()) {
            assert_eq!(
                read_frame_into(&mut reader, DEFAULT_MAX_FRAME, &mut body).await.unwrap(),
                Some(frame)
            );
        }
        assert_eq!(read_frame_into(&mut reader, DEFAULT_MAX_FRAME, &mut body).await.unwrap(), None);
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
        for _ in 0..samples().len() {
            last = read_frame(&mut cut, DEFAULT_MAX_FRAME).await;
        }
        assert!(matches!(last, Err(FrameError::Truncated)));
    }
}
