//! [`TraceOut`]: the trace written to its file as the run makes it, rather than encoded from
//! the whole run at the end. A run that stops half-way (a host panics, the process is killed)
//! leaves the trace of what happened so far.
//!
//! One record is written late on purpose: a fault's record learns what the fault cut and
//! healed only after the fault's own steps (`Recorder::fault_effect`), so the recorder holds
//! it, and everything made after it, until then (see `Recorder::push`).

use std::io::{self, BufWriter, Write};

use shipsim_trace::{Digest, Record};

/// Where a run's trace goes, as JSON Lines, with the digest and length of what was written.
pub struct TraceOut {
    out: BufWriter<Digest<Box<dyn Write + Send>>>,
    /// The first write error, kept: the run goes on, and [`TraceOut::finish`] reports it.
    error: Option<io::Error>,
}

impl TraceOut {
    /// A trace written to `out` (buffered here).
    pub fn new(out: impl Write + Send + 'static) -> Self {
        let out: Box<dyn Write + Send> = Box::new(out);
        TraceOut { out: BufWriter::with_capacity(1 << 16, Digest::new(out)), error: None }
    }

    /// Writes `record` as one line.
    pub(crate) fn write(&mut self, record: &Record) {
        if self.error.is_some() {
            return;
        }
        let line = serde_json::to_writer(&mut self.out, record).map_err(io::Error::from);
        if let Err(err) = line.and_then(|()| self.out.write_all(b"\n")) {
            self.error = Some(err);
        }
    }

    /// Flushes the file: the digest and length of the trace written, or the first error.
    pub fn finish(mut self) -> io::Result<(u64, u64)> {
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        self.out.flush()?;
        Ok((self.out.get_ref().digest(), self.out.get_ref().len()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A file in memory that the test keeps a handle on.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_streamed_trace_is_the_records_byte_for_byte() {
        // Faults whose records wait for their effect (a crash, a partition, a reorder that
        // steps the run before its effect is known), the settle phase's healing, violations.
        let scenario = crate::scenario::parse(
            "name: streamed\nnodes: [n1, n2, n3]\nduration: 10s\nworkload: {events: 40}\nfaults:\n\
             - {at: 50ms, crash: n2}\n- {at: 55ms, hold: [n1, n3]}\n- {at: 60ms, reorder: [n1, n3]}\n\
             - {at: 100ms, partition: [[n1], [n2, n3]]}\n- {at: 150ms, restart: n2}\n",
            "streamed.yaml",
        )
        .unwrap();
        let file = Shared::default();
        let factory = crate::transport::kinds::scenario_factory(&scenario);
        let out = Some(TraceOut::new(file.clone()));
        let result = crate::sim::run_traced(&scenario, 3, factory, out, true).unwrap();
        let bytes = file.0.lock().unwrap().clone();
        assert_eq!(bytes, shipsim_trace::to_bytes(&result.records));
        let (digest, len) = result.written.expect("a traced run").unwrap();
        assert_eq!((digest, len), (shipsim_trace::digest(&bytes), bytes.len() as u64));
        assert!(
            result.records.iter().any(|r| matches!(r, Record::Fault { links, .. } if !links.cut.is_empty()))
        );
    }

    #[test]
    fn a_write_error_is_kept_for_the_end() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut out = TraceOut::new(Broken);
        let start = shipsim_trace::Start::new("x", &["n1"], 1);
        for _ in 0..10_000 {
            out.write(&Record::Start(Box::new(start.clone())));
        }
        assert_eq!(out.finish().unwrap_err().to_string(), "disk full");
    }
}
