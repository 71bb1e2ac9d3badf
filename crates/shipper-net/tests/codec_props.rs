//! Property tests of the framing: arbitrary input never panics the decoder
//! nor makes it allocate past the frame limit; frames round-trip.
//!
//! A tracking global allocator records the largest single allocation made
//! by the current thread while tracking is on, so "never allocates past the
//! limit" is measured, not assumed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::pin::Pin;
use std::task::{Context, Poll};

use proptest::prelude::*;
use shipper::ShippedEvent;
use shipper_net::codec::{decode_frame, encode_frame, read_frame, read_frame_into};
use shipper_net::{Frame, FrameError};
use tokio::io::{AsyncRead, ReadBuf};

struct Tracking;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = TRACKING.try_with(|on| {
        if on.get() {
            let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
        }
    });
}

// SAFETY: forwards every call to the system allocator unchanged; the
// bookkeeping touches only const-initialised thread-locals, which never
// allocate.
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Runs `f` and returns its result with the largest allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    (out, LARGEST.with(Cell::get))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

/// Hands out its bytes at most `chunk` at a time, like a slow socket.
struct Chunked<'a> {
    bytes: &'a [u8],
    chunk: usize,
}

impl AsyncRead for Chunked<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.chunk.min(self.bytes.len()).min(buf.remaining());
        buf.put_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Poll::Ready(Ok(()))
    }
}

const MAX: usize = 512;

fn event() -> impl Strategy<Value = ShippedEvent> {
    (any::<u32>(), ".{0,12}", prop::collection::vec(any::<u8>(), 0..48), "[a-z0-9]{0,6}")
        .prop_map(|(shard, key, payload, source)| ShippedEvent { shard, key, payload, source })
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (
            any::<u32>(),
            "[a-z0-9-]{0,8}",
            any::<u64>(),
            any::<u32>(),
            any::<u64>(),
            any::<u64>(),
            any::<u64>()
        )
            .prop_map(|(version, node, life, slot, stream, base, conn)| Frame::Hello {
                version,
                node,
                life,
                slot,
                stream,
                base,
                conn
            }),
        (any::<u64>(), any::<u64>(), any::<u32>(), any::<u64>(), event())
            .prop_map(|(seq, batch, index, epoch, event)| Frame::Event { seq, batch, index, epoch, event }),
        any::<u64>().prop_map(|seq| Frame::Ack { seq }),
        (any::<u64>(), any::<u64>(), prop::collection::vec("[a-z0-9-]{0,8}", 0..6), any::<u64>())
            .prop_map(|(seq, epoch, members, first_conn)| Frame::Refuse { seq, epoch, members, first_conn }),
        any::<u64>().prop_map(|seq| Frame::Skip { seq }),
    ]
}

/// Bytes that look like frames: a prefix matching a random body (often),
/// or anything at all.
fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..1024),
        (prop::collection::vec(any::<u8>(), 0..700), prop::collection::vec(any::<u8>(), 0..16)).prop_map(
            |(body, tail)| {
                let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
                bytes.extend(body);
                bytes.extend(tail);
                bytes
            }
        ),
        (frame(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(frame, at, byte)| {
            // A valid frame with one byte changed.
            let mut bytes = encode_frame(&frame, usize::MAX).unwrap();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            bytes
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_nor_allocate_past_the_limit(bytes in wire_bytes()) {
        let (_, largest) = largest_allocation(|| {
            let mut rest = &bytes[..];
            while let Ok(Some((_, used))) = decode_frame(rest, MAX) {
                rest = &rest[used..];
            }
        });
        prop_assert!(largest <= MAX, "sync decoder allocated {largest} bytes");

        let rt = runtime();
        let (_, largest) = largest_allocation(|| {
            rt.block_on(async {
                let mut reader = Chunked { bytes: &bytes, chunk: 7 };
                while let Ok(Some(_)) = read_frame(&mut reader, MAX).await {}
            })
        });
        prop_assert!(largest <= MAX, "async reader allocated {largest} bytes");

        // The same with one body buffer reused across frames (as connections do).
        let (_, largest) = largest_allocation(|| {
            rt.block_on(async {
                let mut reader = Chunked { bytes: &bytes, chunk: 5 };
                let mut body = Vec::new();
                while let Ok(Some(_)) = read_frame_into(&mut reader, MAX, &mut body).await {}
            })
        });
        prop_assert!(largest <= MAX, "reused-buffer reader allocated {largest} bytes");
    }

    #[test]
    fn a_reused_buffer_never_grows_past_the_limit(frames in prop::collection::vec(frame(), 1..12)) {
        let mut wire = Vec::new();
        for frame in &frames {
            if let Ok(bytes) = encode_frame(frame, MAX) {
                wire.extend(bytes);
            }
        }
        let rt = runtime();
        let (capacity, largest) = largest_allocation(|| {
            rt.block_on(async {
                let mut reader = &wire[..];
                let mut body = Vec::new();
                while let Ok(Some(_)) = read_frame_into(&mut reader, MAX, &mut body).await {}
                body.capacity()
            })
        });
        prop_assert!(capacity <= MAX, "buffer capacity {capacity}");
        prop_assert!(largest <= MAX, "allocated {largest} bytes");
    }

    #[test]
    fn frame_sequences_round_trip(frames in prop::collection::vec(frame(), 0..12), chunk in 1usize..64) {
        let mut wire = Vec::new();
        for frame in &frames {
            wire.extend(encode_frame(frame, shipper_net::DEFAULT_MAX_FRAME).unwrap());
        }
        let mut decoded = Vec::new();
        let mut rest = &wire[..];
        while let Some((frame, used)) = decode_frame(rest, shipper_net::DEFAULT_MAX_FRAME).unwrap() {
            decoded.push(frame);
            rest = &rest[used..];
        }
        prop_assert!(rest.is_empty());
        prop_assert_eq!(&decoded, &frames);

        let read = runtime().block_on(async {
            let mut reader = Chunked { bytes: &wire, chunk };
            let mut read = Vec::new();
            while let Some(frame) = read_frame(&mut reader, shipper_net::DEFAULT_MAX_FRAME).await.unwrap() {
                read.push(frame);
            }
            read
        });
        prop_assert_eq!(&read, &frames);
    }

    #[test]
    fn a_refusal_announcing_more_members_than_it_holds_is_malformed_before_allocation(
        count in 1u32..=u32::MAX,
        members in prop::collection::vec("[a-z]{0,4}", 0..4),
    ) {
        let frame: Frame = Frame::Refuse { seq: 1, epoch: 2, members: members.clone(), first_conn: 1 };
        let mut bytes = encode_frame(&frame, MAX).unwrap();
        // The count sits after the length prefix, the tag, seq, epoch and first connection.
        let at = 4 + 1 + 8 + 8 + 8;
        let count = count.max(members.len() as u32 + 1);
        bytes[at..at + 4].copy_from_slice(&count.to_be_bytes());
        let (result, largest) = largest_allocation(|| decode_frame(&bytes, MAX));
        prop_assert!(matches!(result, Err(FrameError::Malformed(_))), "{result:?}");
        prop_assert!(largest <= MAX, "allocated {largest} bytes");
    }

    #[test]
    fn oversized_length_prefix_is_rejected_before_allocation(len in (MAX as u32 + 1)..=u32::MAX, tail in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend(tail);
        let (result, largest) = largest_allocation(|| decode_frame(&bytes, MAX));
        prop_assert!(matches!(result, Err(FrameError::Oversized { .. })), "{result:?}");
        prop_assert!(largest < 64, "allocated {largest} bytes");

        let rt = runtime();
        let (result, largest) = largest_allocation(|| {
            rt.block_on(async { read_frame(&mut Chunked { bytes: &bytes, chunk: 3 }, MAX).await })
        });
        prop_assert!(matches!(result, Err(FrameError::Oversized { .. })), "{result:?}");
        prop_assert!(largest <= MAX, "allocated {largest} bytes");
    }

    #[test]
    fn a_frame_over_the_limit_is_never_encoded(payload in prop::collection::vec(any::<u8>(), MAX..MAX * 2)) {
        let event = ShippedEvent { shard: 0, key: "k".into(), payload, source: "n".into() };
        let result = encode_frame(&Frame::Event { seq: 1, batch: 1, index: 0, epoch: 0, event }, MAX);
        prop_assert!(matches!(result, Err(FrameError::Oversized { .. })), "encoded anyway");
    }
}

/// The tracker sees allocations at all (else the bounds above prove nothing).
#[test]
fn the_allocation_tracker_is_live() {
    let event = ShippedEvent { shard: 0, key: "k".repeat(300), payload: Vec::new(), source: "n".into() };
    let bytes = encode_frame(&Frame::Event { seq: 1, batch: 1, index: 0, epoch: 0, event }, MAX).unwrap();
    let rt = runtime();
    let (frame, largest) = largest_allocation(|| rt.block_on(read_frame(&mut &bytes[..], MAX)));
    assert!(frame.unwrap().is_some());
    assert!(largest >= bytes.len() - 4, "body allocation not seen: {largest}");
}
