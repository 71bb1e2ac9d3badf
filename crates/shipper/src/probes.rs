//! Coverage probes: marks on the rare, dangerous paths of the router, the fence, the handover
//! and the transports, so that a simulation sweep can say which of them it reached.
//!
//! `probe!("tcp.resend-mid-stream")` marks a path. Without the cargo feature `probes` the mark
//! is an empty inline function and compiles to nothing; a production build never has it. With
//! it, the hits of the current thread are counted while [`collect`] runs (a simulation runs on
//! one thread, so each run counts its own). Every probe is named in [`ALL`]: the tidy test
//! checks that the names placed in the code and the list agree, so a coverage ledger knows the
//! probes no run reached.

use std::collections::BTreeMap;

/// Marks a path of the code under test as reached (see the [`probes`](crate::probes) module).
#[macro_export]
macro_rules! probe {
    ($name:literal) => {
        $crate::probes::hit($name)
    };
}

/// Every probe placed in the workspace's code under test, in name order.
pub const ALL: &[&str] = &[
    "fence.refuse-not-owner",
    "grpc.busy-retry",
    "grpc.duplicate-key",
    "grpc.retry-same-key",
    "handover.staged",
    "router.replan-refused",
    "router.replan-stale",
    "tcp.abandon-stream",
    "tcp.ack-timeout",
    "tcp.busy-retry",
    "tcp.duplicate-dropped",
    "tcp.refusal-ambiguous",
    "tcp.resend-mid-stream",
];

#[cfg(feature = "probes")]
thread_local! {
    /// The hits of the run collecting on this thread, if one is.
    static HITS: std::cell::RefCell<Option<BTreeMap<&'static str, u64>>> = const { std::cell::RefCell::new(None) };
    /// Told of every hit on this thread while [`observe`] runs: a harness attributes each hit
    /// to what it is running at that moment (a node's life, say).
    static HOOK: std::cell::RefCell<Option<Hook>> = const { std::cell::RefCell::new(None) };
}

/// What [`observe`] is told each hit with.
pub type Hook = Box<dyn FnMut(&'static str)>;

/// Counts one hit of probe `name` (what `probe!` expands to).
#[inline(always)]
pub fn hit(name: &'static str) {
    #[cfg(feature = "probes")]
    HITS.with(|hits| {
        if let Some(hits) = hits.borrow_mut().as_mut() {
            *hits.entry(name).or_default() += 1;
        }
    });
    #[cfg(feature = "probes")]
    HOOK.with(|hook| {
        if let Some(hook) = hook.borrow_mut().as_mut() {
            hook(name);
        }
    });
    #[cfg(not(feature = "probes"))]
    let _ = name;
}

/// Runs `f`, counting the probes hit on this thread meanwhile: its value and the hits, by name
/// (empty without the `probes` feature).
pub fn collect<T>(f: impl FnOnce() -> T) -> (T, BTreeMap<&'static str, u64>) {
    #[cfg(feature = "probes")]
    {
        let outer = HITS.with(|hits| hits.replace(Some(BTreeMap::new())));
        let value = f();
        let hits = HITS.with(|hits| hits.replace(outer)).unwrap_or_default();
        (value, hits)
    }
    #[cfg(not(feature = "probes"))]
    (f(), BTreeMap::new())
}

/// Runs `f`, telling `hook` the name of every probe hit on this thread meanwhile (nothing
/// without the `probes` feature). The hook must not hit probes itself.
pub fn observe<T>(hook: Hook, f: impl FnOnce() -> T) -> T {
    #[cfg(feature = "probes")]
    {
        let outer = HOOK.with(|slot| slot.replace(Some(hook)));
        let value = f();
        HOOK.with(|slot| slot.replace(outer));
        value
    }
    #[cfg(not(feature = "probes"))]
    {
        drop(hook);
        f()
    }
}

/// Whether this build counts probes.
pub const ENABLED: bool = cfg!(feature = "probes");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_unique() {
        assert!(ALL.windows(2).all(|w| w[0] < w[1]), "{ALL:?}");
    }

    #[test]
    fn hits_are_counted_only_while_collecting_and_only_with_the_feature() {
        probe!("tcp.ack-timeout");
        let ((), hits) = collect(|| {
            probe!("tcp.ack-timeout");
            probe!("tcp.ack-timeout");
            probe!("handover.staged");
        });
        if ENABLED {
            assert_eq!(
                hits.into_iter().collect::<Vec<_>>(),
                [("handover.staged", 1), ("tcp.ack-timeout", 2)]
            );
        } else {
            assert!(hits.is_empty());
        }
    }

    #[test]
    fn an_observer_is_told_each_hit_while_it_observes() {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let tell = seen.clone();
        observe(Box::new(move |name| tell.borrow_mut().push(name)), || {
            probe!("tcp.busy-retry");
            probe!("handover.staged");
        });
        probe!("tcp.busy-retry");
        let expected: &[&str] = if ENABLED { &["tcp.busy-retry", "handover.staged"] } else { &[] };
        assert_eq!(*seen.borrow(), expected);
    }
}
