//! [`Segmented`]: a [`Network`] decorator that cuts every connection's byte
//! stream into seeded pieces, in both directions.
//!
//! A simulated network that hands each write over whole, and each read back
//! as exactly one write, never makes a reader stop inside a frame, so a
//! transport whose reader assumes "one read, one frame" would pass every
//! simulation. Wrapped in `Segmented`, every write is cut into pieces of a
//! drawn size (so a frame travels as several messages) and every read
//! returns at most a drawn number of bytes, gathered from as many messages as
//! have arrived (so reads end anywhere: inside the length prefix, inside a
//! body, or after the first bytes of the next frame). It is generic over the
//! network and touches no protocol code: the transport above sees a byte
//! stream as TCP may legally deliver it.
//!
//! Sizes are drawn from seeded RNGs, one per connection and direction, so a
//! run replays exactly. The distribution is log-uniform by octave: an octave
//! (`2^k..2^(k+1)`) of the range is picked uniformly, then a size uniformly
//! within it, so a `1..1500` range yields 1-byte pieces as often as
//! 1000-byte ones, and only integer arithmetic is involved.

use std::io;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::net::Network;

/// Wraps a network so that every stream it connects or accepts is cut into
/// pieces whose sizes are drawn from a range (see the module docs).
/// [`Segmented::off`] passes every stream through untouched, so a caller can
/// keep one network type whether or not it segments.
#[derive(Debug, Clone)]
pub struct Segmented<N> {
    inner: N,
    cuts: Option<CutPlan>,
}

/// What a segmenting network and its listeners share: the size range, the
/// seed, and a counter that gives every connection its own RNG streams.
#[derive(Debug, Clone)]
struct CutPlan {
    min: usize,
    max: usize,
    seed: u64,
    /// Connections made so far, by connect or accept (clones share it).
    conns: Arc<AtomicU64>,
}

impl CutPlan {
    /// The cuts of the next connection.
    fn next_stream(&self) -> Cuts {
        let conn = self.conns.fetch_add(1, Ordering::Relaxed);
        let base = mix(self.seed ^ mix(conn));
        Cuts {
            min: self.min,
            max: self.max,
            read: SmallRng::seed_from_u64(mix(base ^ 1)),
            write: SmallRng::seed_from_u64(mix(base ^ 2)),
            read_bound: None,
            write_piece: None,
        }
    }
}

impl<N> Segmented<N> {
    /// Segments every stream of `inner`: reads return at most, and writes
    /// pass on at most, a size drawn from `sizes` (bytes; a lower bound of 0
    /// is taken as 1, an upper bound below the lower as the lower). `seed`
    /// seeds the draws; connections are numbered in the order they are made.
    pub fn new(inner: N, sizes: RangeInclusive<usize>, seed: u64) -> Self {
        let min = (*sizes.start()).max(1);
        let max = (*sizes.end()).max(min);
        Self { inner, cuts: Some(CutPlan { min, max, seed, conns: Arc::default() }) }
    }

    /// Passes every stream of `inner` through untouched.
    pub fn off(inner: N) -> Self {
        Self { inner, cuts: None }
    }

    /// The wrapped network.
    pub fn inner(&self) -> &N {
        &self.inner
    }

    /// The size range in force, `None` when off.
    pub fn sizes(&self) -> Option<RangeInclusive<usize>> {
        self.cuts.as_ref().map(|c| c.min..=c.max)
    }
}

/// A listener of a [`Segmented`] network: accepts streams and segments them.
#[derive(Debug)]
pub struct SegmentedListener<L> {
    inner: L,
    cuts: Option<CutPlan>,
}

impl<N: Network> Network for Segmented<N> {
    type Stream = SegmentedStream<N::Stream>;
    type Listener = SegmentedListener<N::Listener>;

    fn knows(&self, node: &str) -> bool {
        self.inner.knows(node)
    }

    async fn connect(&self, node: &str) -> io::Result<Self::Stream> {
        let stream = self.inner.connect(node).await?;
        Ok(SegmentedStream::new(stream, self.cuts.as_ref().map(CutPlan::next_stream)))
    }

    async fn bind(&self) -> io::Result<Self::Listener> {
        let inner = self.inner.bind().await?;
        Ok(SegmentedListener { inner, cuts: self.cuts.clone() })
    }

    async fn accept(listener: &Self::Listener) -> io::Result<(Self::Stream, SocketAddr)> {
        // The counter moves only once a stream exists, so a cancelled accept
        // (the server races it) draws nothing.
        let (stream, peer) = N::accept(&listener.inner).await?;
        Ok((SegmentedStream::new(stream, listener.cuts.as_ref().map(CutPlan::next_stream)), peer))
    }

    fn local_addr(listener: &Self::Listener) -> io::Result<SocketAddr> {
        N::local_addr(&listener.inner)
    }

    fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.inner.spawn(task)
    }

    fn spawn_in<T, F>(&self, set: &mut tokio::task::JoinSet<T>, task: F) -> tokio::task::AbortHandle
    where
        F: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        self.inner.spawn_in(set, task)
    }
}

/// One connection's size draws. A drawn size is kept until the read or
/// write it bounds completes, so a poll that returns `Pending` draws nothing
/// more and the sizes a stream sees are exactly its RNG's sequence.
#[derive(Debug)]
struct Cuts {
    min: usize,
    max: usize,
    read: SmallRng,
    write: SmallRng,
    read_bound: Option<usize>,
    write_piece: Option<usize>,
}

/// A stream of a [`Segmented`] network (or passed through, when off).
#[derive(Debug)]
pub struct SegmentedStream<S> {
    inner: S,
    cuts: Option<Cuts>,
    /// An error met after a read had already gathered bytes: those bytes are
    /// returned first, the error by the next read.
    deferred: Option<io::Error>,
}

impl<S> SegmentedStream<S> {
    fn new(inner: S, cuts: Option<Cuts>) -> Self {
        Self { inner, cuts, deferred: None }
    }

    /// Segments `inner` as a [`Segmented`] network would, with its own
    /// seed (for tests and for streams made outside a network).
    pub fn with_sizes(inner: S, sizes: RangeInclusive<usize>, seed: u64) -> Self {
        let plan = Segmented::new((), sizes, seed).cuts.expect("a segmenting plan");
        Self::new(inner, Some(plan.next_stream()))
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

/// The draw sequence of [`SegmentedStream::with_sizes`]: the bounds its reads
/// (`write == false`) or writes (`write == true`) will see, in order. Lets a
/// test check a stream against what it must have done.
pub fn drawn_sizes(sizes: RangeInclusive<usize>, seed: u64, write: bool) -> impl Iterator<Item = usize> {
    let plan = Segmented::new((), sizes, seed).cuts.expect("a segmenting plan");
    let mut cuts = plan.next_stream();
    std::iter::from_fn(move || {
        let (min, max) = (cuts.min, cuts.max);
        Some(draw(if write { &mut cuts.write } else { &mut cuts.read }, min, max))
    })
}

impl<S: AsyncRead + Unpin> AsyncRead for SegmentedStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let Some(cuts) = &mut this.cuts else {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        };
        if let Some(err) = this.deferred.take() {
            return Poll::Ready(Err(err));
        }
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let bound = *cuts.read_bound.get_or_insert_with(|| draw(&mut cuts.read, cuts.min, cuts.max));
        let mut part = ReadBuf::new(buf.initialize_unfilled_to(bound.min(buf.remaining())));
        // Gather as many of the messages that have arrived as fit the bound:
        // a read may end inside one and span the ends of several.
        while part.remaining() > 0 {
            let before = part.filled().len();
            match Pin::new(&mut this.inner).poll_read(cx, &mut part) {
                Poll::Ready(Ok(())) if part.filled().len() == before => break, // end of stream
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(err)) if before == 0 => {
                    cuts.read_bound = None;
                    return Poll::Ready(Err(err));
                }
                Poll::Ready(Err(err)) => {
                    this.deferred = Some(err);
                    break;
                }
                Poll::Pending if before == 0 => return Poll::Pending,
                Poll::Pending => break,
            }
        }
        let n = part.filled().len();
        buf.advance(n);
        cuts.read_bound = None;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SegmentedStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let Some(cuts) = &mut this.cuts else {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        };
        if buf.is_empty() {
            return Pin::new(&mut this.inner).poll_write(cx, buf);
        }
        let piece = *cuts.write_piece.get_or_insert_with(|| draw(&mut cuts.write, cuts.min, cuts.max));
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..piece.min(buf.len())]));
        cuts.write_piece = None;
        Poll::Ready(written)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A size in `min..=max`, log-uniform by octave, as [`log_uniform`] draws it.
fn draw(rng: &mut SmallRng, min: usize, max: usize) -> usize {
    usize::try_from(log_uniform(rng, min as u64, max as u64)).unwrap_or(max)
}

/// A size in `min..=max`, log-uniform by octave: every octave `2^k..2^(k+1)`
/// the range covers whole is drawn as often as any other, one it covers in
/// part in proportion, and a size is uniform within its octave. So
/// `16..262144` gives sizes under 32 about as often as ones over 131072,
/// with integer arithmetic only (no float rounding to differ between
/// machines). `min` is taken as at least 1 and `max` as at least `min`.
/// (Also the harness's payload sizes: one definition of the distribution.)
pub fn log_uniform(rng: &mut SmallRng, min: u64, max: u64) -> u64 {
    let min = min.max(1);
    let max = max.max(min);
    if min == max {
        return min;
    }
    let octave_of = |n: u64| u64::BITS - 1 - n.leading_zeros();
    let (first, last) = (octave_of(min), octave_of(max));
    let bounds = |k: u32| ((1u64 << k).max(min), (1u64 << k).saturating_mul(2).saturating_sub(1).min(max));
    // An octave's weight: the share of it inside the range, scaled to integers.
    let weight = |k: u32| {
        let (low, high) = bounds(k);
        u128::from(high - low + 1) << (last - k)
    };
    let mut pick = rng.random_range(0..(first..=last).map(weight).sum::<u128>());
    for k in first..=last {
        let w = weight(k);
        if pick < w {
            let (low, high) = bounds(k);
            return rng.random_range(low..=high);
        }
        pick -= w;
    }
    max
}

/// splitmix64: unrelated streams from nearby seeds and connection numbers.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn draws_stay_in_range_and_reach_both_ends() {
        let mut rng = SmallRng::seed_from_u64(3);
        let sizes: Vec<usize> = (0..20_000).map(|_| draw(&mut rng, 1, 1500)).collect();
        assert!(sizes.iter().all(|s| (1..=1500).contains(s)));
        assert!(sizes.contains(&1) && sizes.iter().any(|&s| s > 1024));
        // Log-uniform: about as many sizes in 1..=15 as in 1024..=1500.
        let small = sizes.iter().filter(|&&s| s < 16).count();
        assert!(small > 4_000, "{small} of 20000 below 16");
        assert_eq!(draw(&mut rng, 9, 9), 9);
        let mut rng = SmallRng::seed_from_u64(4);
        assert!((0..1000).map(|_| draw(&mut rng, 5, 6)).all(|s| s == 5 || s == 6));
    }

    /// Everything written reaches the other end in order, each read no
    /// longer than its drawn bound (and exactly it while enough has
    /// arrived, since reads gather across messages), the same way every time.
    #[tokio::test]
    async fn reads_respect_their_bounds_and_keep_the_bytes_in_order() {
        for seed in 0..20 {
            let data = bytes(5_000);
            let (mut a, b) = tokio::io::duplex(1 << 16);
            a.write_all(&data).await.unwrap();
            drop(a);
            let mut reader = SegmentedStream::with_sizes(b, 1..=64, seed);
            let mut bounds = drawn_sizes(1..=64, seed, false);
            let (mut got, mut buf) = (Vec::new(), [0u8; 256]);
            loop {
                let n = reader.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                let bound = bounds.next().unwrap();
                assert_eq!(n, bound.min(data.len() - got.len()), "seed {seed}: read past its bound");
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, data, "seed {seed}");
        }
    }

    /// Writes pass on at most the drawn piece each; `write_all` gets every
    /// byte through in order; the same seed cuts the same way.
    #[tokio::test]
    async fn writes_are_cut_into_drawn_pieces() {
        let data = bytes(3_000);
        let cut = |seed| {
            let data = data.clone();
            async move {
                let (a, mut b) = tokio::io::duplex(1 << 16);
                let mut writer = SegmentedStream::with_sizes(a, 1..=100, seed);
                let mut sizes = Vec::new();
                let mut rest = &data[..];
                while !rest.is_empty() {
                    let n = writer.write(rest).await.unwrap();
                    sizes.push(n);
                    rest = &rest[n..];
                }
                drop(writer);
                let mut got = Vec::new();
                b.read_to_end(&mut got).await.unwrap();
                assert_eq!(got, data);
                sizes
            }
        };
        let sizes = cut(7).await;
        let expected: Vec<usize> = {
            let mut left = data.len();
            drawn_sizes(1..=100, 7, true)
                .map_while(|piece| {
                    let n = piece.min(left);
                    left -= n;
                    (n > 0).then_some(n)
                })
                .collect()
        };
        assert_eq!(sizes, expected);
        assert!(sizes.len() > 30, "3000 bytes in pieces of at most 100: {}", sizes.len());
        assert_eq!(cut(7).await, sizes);
        assert_ne!(cut(8).await, sizes);
    }

    /// A read gathers several small writes into one (coalescing), and a
    /// write larger than the read bound is split across reads.
    #[tokio::test]
    async fn reads_coalesce_small_writes() {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        for chunk in bytes(40).chunks(4) {
            a.write_all(chunk).await.unwrap();
        }
        let mut reader = SegmentedStream::with_sizes(b, 32..=32, 1);
        let mut buf = [0u8; 64];
        assert_eq!(reader.read(&mut buf).await.unwrap(), 32);
        assert_eq!(reader.read(&mut buf).await.unwrap(), 8);
    }

    #[tokio::test]
    async fn off_passes_through() {
        let (mut a, b) = tokio::io::duplex(1 << 16);
        a.write_all(&bytes(1000)).await.unwrap();
        let mut reader = SegmentedStream::new(b, None);
        let mut buf = [0u8; 2048];
        assert_eq!(reader.read(&mut buf).await.unwrap(), 1000);
    }

    /// A read that gathered bytes before the stream failed returns them; the
    /// error comes with the next read.
    #[tokio::test]
    async fn an_error_after_some_bytes_is_deferred() {
        struct Failing(Vec<u8>);
        impl AsyncRead for Failing {
            fn poll_read(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                let this = self.get_mut();
                if this.0.is_empty() {
                    return Poll::Ready(Err(io::ErrorKind::ConnectionReset.into()));
                }
                let n = this.0.len().min(buf.remaining());
                buf.put_slice(&this.0[..n]);
                this.0.drain(..n);
                Poll::Ready(Ok(()))
            }
        }
        let mut reader = SegmentedStream::with_sizes(Failing(vec![1, 2, 3]), 10..=10, 1);
        let mut buf = [0u8; 16];
        assert_eq!(reader.read(&mut buf).await.unwrap(), 3);
        assert_eq!(reader.read(&mut buf).await.unwrap_err().kind(), io::ErrorKind::ConnectionReset);
    }
}
