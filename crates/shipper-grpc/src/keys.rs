//! Call keys: the idempotency key every attempt of one ship call carries, and what the
//! receiver may forget: every call below the oldest open one (the watermark), and every call up
//! to the newest issued one that is not open (calls settle out of order).
//!
//! Keys are counted per destination, so the calls open to one destination (at most its
//! in-flight bound) are all a request to it needs to list.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// The most open calls one request lists (see [`Settlement`]).
pub(crate) const MAX_LISTED_OPEN: usize = 64;

#[derive(Debug, Default)]
struct Open {
    next: u64,
    open: BTreeSet<u64>,
}

/// The keys of one sender life to one destination, from 1.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallKeys(Arc<Mutex<Open>>);

/// A call's key, open until dropped (the call returned: settled).
#[derive(Debug)]
pub(crate) struct CallKey {
    pub(crate) key: u64,
    keys: CallKeys,
}

/// What a request tells the receiver about the sender's calls to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settlement {
    /// Every call below this key is settled: the lowest open key, or the next one.
    pub(crate) settled_below: u64,
    /// Every call up to this key not in `open` is settled.
    pub(crate) issued: u64,
    /// The open calls, lowest first, at most [`MAX_LISTED_OPEN`] (`issued` then stops below
    /// the first one left out).
    pub(crate) open: Vec<u64>,
}

impl CallKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        // Every change is one insert or remove: poisoning cannot leave it torn.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh key, open until the returned guard drops.
    pub(crate) fn open(&self) -> CallKey {
        let mut open = self.lock();
        open.next += 1;
        let key = open.next;
        open.open.insert(key);
        CallKey { key, keys: self.clone() }
    }

    /// What the receiver may forget now.
    pub(crate) fn settlement(&self) -> Settlement {
        let open = self.lock();
        let settled_below = open.open.first().copied().unwrap_or(open.next + 1);
        let mut listed = open.open.iter().copied();
        let listed_open: Vec<u64> = listed.by_ref().take(MAX_LISTED_OPEN).collect();
        let issued = listed.next().map_or(open.next, |left_out| left_out - 1);
        Settlement { settled_below, issued, open: listed_open }
    }
}

impl Drop for CallKey {
    fn drop(&mut self) {
        self.keys.lock().open.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watermark_is_the_oldest_open_call() {
        let keys = CallKeys::default();
        assert_eq!(keys.settlement().settled_below, 1);
        let a = keys.open();
        let b = keys.open();
        assert_eq!((a.key, b.key), (1, 2));
        assert_eq!(keys.settlement().settled_below, 1);
        drop(a);
        assert_eq!(keys.settlement().settled_below, 2);
        drop(b);
        assert_eq!(keys.settlement().settled_below, 3);
        assert_eq!(keys.open().key, 3);
    }

    #[test]
    fn calls_settled_after_an_open_one_are_not_listed_as_open() {
        let keys = CallKeys::default();
        let slow = keys.open();
        let quick: Vec<_> = (0..3).map(|_| keys.open()).collect();
        drop(quick);
        let last = keys.open();
        assert_eq!(
            keys.settlement(),
            Settlement { settled_below: 1, issued: 5, open: vec![slow.key, last.key] }
        );
    }

    #[test]
    fn a_list_cut_short_stops_issued_below_the_first_call_left_out() {
        let keys = CallKeys::default();
        let open: Vec<_> = (0..MAX_LISTED_OPEN + 2).map(|_| keys.open()).collect();
        let settlement = keys.settlement();
        assert_eq!(settlement.open.len(), MAX_LISTED_OPEN);
        assert_eq!(settlement.open.last(), Some(&open[MAX_LISTED_OPEN - 1].key));
        assert_eq!(settlement.issued, open[MAX_LISTED_OPEN].key - 1);
    }
}
