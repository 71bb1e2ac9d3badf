//! A connection's idle timer: every read or write must finish within
//! `timeout` of its start, with one timer for the connection's whole life.
//!
//! Wrapping each operation in `tokio::time::timeout` registers and cancels a
//! timer per frame, which is most of what a quick read costs. Here the timer
//! is pushed back lazily: each operation only notes its own deadline, and
//! when the timer fires before that deadline it is re-armed for it. Since
//! deadlines only move forward, the timer fires at most once per `timeout`
//! of activity, and an operation that overruns still ends exactly at its
//! deadline, as with `timeout`.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep_until};

/// The timer of one connection.
pub(crate) struct IdleTimer {
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl IdleTimer {
    /// A timer for operations that may each take up to `timeout`.
    pub(crate) fn new(timeout: Duration) -> Self {
        let first = Instant::now() + timeout; // allow-nondeterminism: tokio time, which turmoil simulates
        Self { timeout, sleep: Box::pin(sleep_until(first)) }
    }

    /// Runs `op`, or gives up (`None`, dropping it) once `timeout` has passed
    /// since this call. `op` is polled first, so one that is ready at the
    /// deadline still counts.
    pub(crate) async fn run<F: Future>(&mut self, op: F) -> Option<F::Output> {
        let deadline = Instant::now() + self.timeout; // allow-nondeterminism: tokio time, which turmoil simulates
        let mut op = std::pin::pin!(op);
        loop {
            tokio::select! {
                biased;
                out = &mut op => return Some(out),
                () = self.sleep.as_mut() => {
                    // The timer was armed for an earlier operation's deadline.
                    if Instant::now() >= deadline { // allow-nondeterminism: tokio time, which turmoil simulates
                        return None;
                    }
                    self.sleep.as_mut().reset(deadline);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn each_operation_gets_the_whole_timeout_from_its_start() {
        let mut timer = IdleTimer::new(Duration::from_millis(100));
        // Quick operations, spread over several timeouts' worth of time.
        for _ in 0..5 {
            let out = timer.run(tokio::time::sleep(Duration::from_millis(60))).await;
            assert_eq!(out, Some(()));
        }
        // One that overruns ends exactly at its own deadline.
        let start = Instant::now(); // allow-nondeterminism: tokio time, paused: virtual, not the wall clock
        assert_eq!(timer.run(std::future::pending::<()>()).await, None);
        assert_eq!(start.elapsed(), Duration::from_millis(100));
        // One that finishes just in time still counts.
        let out = timer.run(tokio::time::sleep(Duration::from_millis(99))).await;
        assert_eq!(out, Some(()));
    }
}
