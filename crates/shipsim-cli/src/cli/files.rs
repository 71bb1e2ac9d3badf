//! Where a run's files go: traces and diagrams per seed, and the worst exit status of several
//! runs (shared by `run`, `replay` and `run --real`).

use std::path::{Path, PathBuf};

use super::ExitStatus;

/// Writes `records` as JSON Lines to `path` through a buffer; returns the
/// trace's digest and length.
pub(crate) fn write_trace(path: &Path, records: &[shipsim_trace::Record]) -> std::io::Result<(u64, u64)> {
    let mut file = shipsim_trace::Digest::new(std::fs::File::create(path)?);
    shipsim_trace::write(records, std::io::BufWriter::with_capacity(1 << 16, &mut file))?;
    Ok((file.digest(), file.len()))
}

pub(crate) fn trace_path(base: &Path, seed: u64, seeds: usize) -> PathBuf {
    if seeds == 1 {
        return base.to_path_buf();
    }
    let stem = base.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "trace".into());
    base.with_file_name(format!("{stem}.seed-{seed}.jsonl"))
}

pub(crate) fn html_path(base: &Path, seed: u64, seeds: usize) -> PathBuf {
    if seeds == 1 {
        return base.to_path_buf();
    }
    let stem = base.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
    base.with_file_name(format!("{stem}.seed-{seed}.html"))
}

pub(crate) fn worst(a: ExitStatus, b: ExitStatus) -> ExitStatus {
    if (b as u8) > (a as u8) { b } else { a }
}
