//! Call keys: the idempotency key every attempt of one ship call carries, and the watermark
//! below which every call of this sender life is settled (so receivers may forget them).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Open {
    next: u64,
    open: BTreeSet<u64>,
}

/// The keys of one sender life, from 1.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallKeys(Arc<Mutex<Open>>);

/// A call's key, open until dropped (the call returned: settled).
#[derive(Debug)]
pub(crate) struct CallKey {
    pub(crate) key: u64,
    keys: CallKeys,
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

    /// Every call below this key is settled: the lowest open key, or the next one.
    pub(crate) fn settled_below(&self) -> u64 {
        let open = self.lock();
        open.open.first().copied().unwrap_or(open.next + 1)
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
        assert_eq!(keys.settled_below(), 1);
        let a = keys.open();
        let b = keys.open();
        assert_eq!((a.key, b.key), (1, 2));
        assert_eq!(keys.settled_below(), 1);
        drop(a);
        assert_eq!(keys.settled_below(), 2);
        drop(b);
        assert_eq!(keys.settled_below(), 3);
        assert_eq!(keys.open().key, 3);
    }
}
