//! The clock every process of a real run stamps its records with: `CLOCK_MONOTONIC`, which
//! the kernel shares between processes, read as a number so the harness can hand the run's
//! start to each node process on its command line.

use shipsim_trace::Micros;

/// `CLOCK_MONOTONIC` now, in nanoseconds.
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec to write; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs * 1_000_000_000 + nanos
}

/// Microseconds since `t0_ns` (a [`now_ns`] reading).
pub(crate) fn since(t0_ns: u64) -> Micros {
    now_ns().saturating_sub(t0_ns) / 1_000
}
