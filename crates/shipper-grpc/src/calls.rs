//! The receiver's memory of the calls it served: per (sender node, sender life, call key),
//! how many of the call's events its sink accepted, and the refusal that ended the call.
//!
//! This is what makes a retry idempotent: every attempt of a call carries the same key and
//! says where its events sit in the call (`first`), so a resent event is recognised by its
//! position and dropped. A key is remembered until the sender says it settled the call
//! (`settled_below` of any later request), so memory grows with the calls a sender has open,
//! not with traffic; a request for a settled call is refused, since its sender stopped
//! waiting for it. A newer life of a sender replaces the older one's calls.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use shipper::{NodeId, Refusal};

/// Calls one sender may have open at once before its new ones are turned away: far above
/// what a sender's in-flight bound allows, so only a broken or hostile one reaches it.
pub(crate) const MAX_OPEN_CALLS: usize = 4096;

/// Where one call's delivery stands.
#[derive(Debug, Default)]
pub(crate) struct Position {
    /// Events of the call accepted by the sink, from its start (the next position to deliver).
    pub(crate) delivered: u64,
    /// The fence refused the event at `delivered`, and so the rest of the call.
    pub(crate) refused: Option<Arc<Refusal>>,
}

/// One call's delivery. Its lock is held while the call's events are handed to the sink, so
/// two attempts of one call (an old one on a connection not yet known dead and its retry)
/// never deliver the same position twice.
#[derive(Debug, Default)]
pub(crate) struct CallCursor {
    pub(crate) position: tokio::sync::Mutex<Position>,
}

/// Why a request gets no cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turned {
    /// From an older life than one already seen, or for a call the sender settled.
    Stale(&'static str),
    /// The sender has [`MAX_OPEN_CALLS`] open already.
    Full,
}

#[derive(Debug)]
struct Source {
    life: u64,
    /// Every call below this one is settled.
    floor: u64,
    calls: BTreeMap<u64, Arc<CallCursor>>,
}

/// The calls of one receiving process life (one `serve`).
#[derive(Debug, Default)]
pub(crate) struct CallTable {
    sources: Mutex<BTreeMap<NodeId, Source>>,
}

impl CallTable {
    /// The cursor of `call` of `node`'s life `life`. A call seen for the first time in this
    /// receiving life starts at `first`: the sender only resends from the first event it has
    /// no reply for, so positions below were delivered (by an earlier life of this receiver).
    pub(crate) fn open(
        &self,
        node: &str,
        life: u64,
        call: u64,
        settled_below: u64,
        first: u64,
    ) -> Result<Arc<CallCursor>, Turned> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let source = sources.entry(node.to_owned()).or_insert_with(|| Source {
            life,
            floor: 0,
            calls: BTreeMap::new(),
        });
        if life < source.life {
            return Err(Turned::Stale("a call from an older life of the sender"));
        }
        if life > source.life {
            *source = Source { life, floor: 0, calls: BTreeMap::new() };
        }
        if settled_below > source.floor {
            source.floor = settled_below;
            source.calls = source.calls.split_off(&settled_below);
        }
        if call < source.floor {
            return Err(Turned::Stale("a call its sender has settled"));
        }
        if let Some(cursor) = source.calls.get(&call) {
            return Ok(cursor.clone());
        }
        if source.calls.len() >= MAX_OPEN_CALLS {
            return Err(Turned::Full);
        }
        let cursor = Arc::new(CallCursor {
            position: tokio::sync::Mutex::new(Position { delivered: first, refused: None }),
        });
        source.calls.insert(call, cursor.clone());
        Ok(cursor)
    }

    /// Calls remembered for `node` (for tests of the memory bound).
    #[cfg(test)]
    fn open_calls(&self, node: &str) -> usize {
        self.sources.lock().unwrap().get(node).map_or(0, |s| s.calls.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_retry_finds_its_call_and_settled_calls_are_forgotten() {
        let table = CallTable::default();
        let a = table.open("n1", 1, 1, 1, 0).unwrap();
        a.position.lock().await.delivered = 3;
        // The retry, resending from the sender's last reply (1): same cursor, `first` ignored.
        let again = table.open("n1", 1, 1, 1, 1).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(again.position.lock().await.delivered, 3);
        // A new call starts where its request says.
        let b = table.open("n1", 1, 2, 1, 5).unwrap();
        assert_eq!(b.position.lock().await.delivered, 5);
        assert_eq!(table.open_calls("n1"), 2);
        // Call 1 settled: forgotten, and a late attempt of it is turned away.
        table.open("n1", 1, 3, 2, 0).unwrap();
        assert_eq!(table.open_calls("n1"), 2);
        assert_eq!(table.open("n1", 1, 1, 2, 0).unwrap_err(), Turned::Stale("a call its sender has settled"));
        // A new life of the sender starts over; the old one is stale.
        let c = table.open("n1", 2, 1, 1, 0).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(table.open_calls("n1"), 1);
        assert!(matches!(table.open("n1", 1, 4, 4, 0), Err(Turned::Stale(_))));
        // Other senders are independent.
        assert_eq!(table.open("n2", 1, 1, 1, 0).unwrap().position.lock().await.delivered, 0);
    }

    #[test]
    fn a_sender_that_never_settles_is_bounded() {
        let table = CallTable::default();
        for call in 1..=MAX_OPEN_CALLS as u64 {
            table.open("n1", 1, call, 0, 0).unwrap();
        }
        assert_eq!(table.open("n1", 1, MAX_OPEN_CALLS as u64 + 1, 0, 0).unwrap_err(), Turned::Full);
        // Settling frees room.
        table.open("n1", 1, MAX_OPEN_CALLS as u64 + 1, 10, 0).unwrap();
        assert_eq!(table.open_calls("n1"), MAX_OPEN_CALLS - 8);
    }
}
