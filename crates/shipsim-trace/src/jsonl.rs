//! JSON Lines: one record per line, fields in declaration order, so the
//! same records always give the same bytes (and the same hash).
//!
//! A big run's trace is hundreds of megabytes: write it through [`write()`]
//! into a file (or a [`Digest`] for its hash and length) rather than
//! building it in memory with [`to_bytes`], which is for small traces.

use std::io::{self, Write};

use crate::{Record, fnv};

/// Writes `records` as JSON Lines.
pub fn write(records: &[Record], mut out: impl Write) -> io::Result<()> {
    for record in records {
        serde_json::to_writer(&mut out, record)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The records as JSON Lines, in memory.
pub fn to_bytes(records: &[Record]) -> Vec<u8> {
    let mut bytes = Vec::new();
    write(records, &mut bytes).expect("writing to memory cannot fail");
    bytes
}

/// A stable 64-bit digest of the trace bytes (FNV-1a: stable across Rust
/// versions, unlike std's hasher).
pub fn digest(bytes: &[u8]) -> u64 {
    let mut digest = Digest::new(io::sink());
    digest.write_all(bytes).expect("io::sink cannot fail");
    digest.digest()
}

/// A writer that passes bytes on to `inner` and keeps their [`digest`] and
/// their count as they go: a trace's hash without holding the trace.
pub struct Digest<W> {
    inner: W,
    hash: u64,
    len: u64,
}

impl<W: Write> Digest<W> {
    /// Digests what is written, passing it on to `inner`.
    pub fn new(inner: W) -> Self {
        Digest { inner, hash: fnv::OFFSET, len: 0 }
    }

    /// The [`digest`] of every byte written so far.
    pub fn digest(&self) -> u64 {
        self.hash
    }

    /// How many bytes were written.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl Digest<io::Sink> {
    /// The digest and length of the JSON Lines of `records`, without keeping them.
    pub fn of(records: &[Record]) -> (u64, u64) {
        let mut digest = Digest::new(io::sink());
        write(records, io::BufWriter::with_capacity(1 << 16, &mut digest)).expect("io::sink cannot fail");
        (digest.digest(), digest.len())
    }
}

impl<W: Write> Write for Digest<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash = fnv::fnv1a(self.hash, &buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The first line (1-based) where the JSON Lines of two record lists
/// differ, with both versions of it: [`first_difference`] of their
/// [`to_bytes`], one line in memory at a time.
pub fn first_record_difference(a: &[Record], b: &[Record]) -> Option<(usize, String, String)> {
    let line = |record: Option<&Record>| record.map(|r| serde_json::to_string(r).expect("records serialize"));
    let show = |text: Option<String>| text.unwrap_or_else(|| "<end of trace>".to_owned());
    for i in 0..a.len().max(b.len()) {
        let (l, r) = (line(a.get(i)), line(b.get(i)));
        if l != r {
            return Some((i + 1, show(l), show(r)));
        }
    }
    None
}

/// The first line (1-based) where two traces differ, with both versions of it.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<(usize, String, String)> {
    let mut left = a.split(|&c| c == b'\n');
    let mut right = b.split(|&c| c == b'\n');
    let mut line = 0;
    loop {
        line += 1;
        match (left.next(), right.next()) {
            (None, None) => return None,
            (l, r) if l == r => continue,
            (l, r) => {
                let show = |s: Option<&[u8]>| {
                    s.map_or("<end of trace>".to_owned(), |s| String::from_utf8_lossy(s).into_owned())
                };
                return Some((line, show(l), show(r)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FaultAction, Phase};

    fn crash(t: u64) -> Record {
        let action = Box::new(FaultAction::Crash("n1".into()));
        Record::Fault { t, fault: "{at: 0s, crash: n1}".into(), action, links: Default::default() }
    }

    #[test]
    fn round_trips_and_finds_the_first_difference() {
        let records = vec![Record::Phase { t: 0, phase: Phase::Faults }, crash(5)];
        let bytes = to_bytes(&records);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap().lines().next(),
            Some(r#"{"kind":"phase","t":0,"phase":"faults"}"#)
        );

        let mut other = records.clone();
        other[1] = crash(6);
        let (line, a, b) = first_difference(&bytes, &to_bytes(&other)).expect("they differ");
        assert_eq!(line, 2);
        assert!(a.contains("\"t\":5") && b.contains("\"t\":6"));
        assert_eq!(first_difference(&bytes, &bytes), None);
        assert_eq!(first_record_difference(&records, &other), Some((line, a, b)));
        assert_eq!(first_record_difference(&records, &records), None);
        let (line, a, b) = first_record_difference(&records, &records[..1]).expect("one is shorter");
        assert_eq!((line, b.as_str()), (2, "<end of trace>"));
        assert!(a.contains("\"t\":5"));
        assert_ne!(digest(&bytes), digest(&to_bytes(&other)));
    }

    #[test]
    fn the_streaming_digest_is_the_digest_of_the_bytes() {
        let records: Vec<Record> = (0..500).map(crash).collect();
        let bytes = to_bytes(&records);
        assert_eq!(Digest::of(&records), (digest(&bytes), bytes.len() as u64));
        let mut copy = Digest::new(Vec::new());
        write(&records, io::BufWriter::with_capacity(7, &mut copy)).unwrap();
        assert_eq!((copy.digest(), copy.len()), (digest(&bytes), bytes.len() as u64));
        assert_eq!(copy.into_inner(), bytes);
        assert_eq!(Digest::new(io::sink()).digest(), digest(b""));
        assert_ne!(Digest::of(&records[1..]).0, digest(&bytes));
    }
}
