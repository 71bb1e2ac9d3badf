//! The receiver's memory of the calls it served: per (sender node, sender life, call key),
//! how many of the call's events its sink accepted, and the refusal that ended the call.
//!
//! This is what makes a retry idempotent: every attempt of a call carries the same key and
//! says where its events sit in the call (`first`), so a resent event is recognised by its
//! position and dropped. A key is remembered until the sender says it settled the call: every
//! call below `settled_below` is, and every call up to `issued` that `open` does not list (calls
//! settle out of order, so the watermark alone would keep every call made since the oldest open
//! one, without bound). Memory so grows with the calls a sender has open, not with traffic; a
//! request for a settled call is refused, since its sender stopped waiting for it. A newer life
//! of a sender replaces the older one's calls.

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

/// What one request says: which call it is and what its sender has settled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Said<'a> {
    pub(crate) life: u64,
    pub(crate) call: u64,
    /// The position of the request's first event in the call.
    pub(crate) first: u64,
    /// Every call below this one is settled.
    pub(crate) settled_below: u64,
    /// Every call up to this one not in `open` is settled (0: not said).
    pub(crate) issued: u64,
    /// The sender's open calls to this receiver, strictly ascending.
    pub(crate) open: &'a [u64],
}

#[derive(Debug)]
enum Entry {
    /// Open at the sender (a request listed it), no attempt of it seen yet.
    Unseen,
    Seen(Arc<CallCursor>),
}

#[derive(Debug)]
struct Source {
    life: u64,
    /// Every call below this one is settled.
    floor: u64,
    /// Every call up to this one the table does not hold is settled (the largest `issued`
    /// heard; each open one was listed, so the table holds it).
    horizon: u64,
    calls: BTreeMap<u64, Entry>,
    /// The lowest connection number its requests carried (0: none yet).
    first_connection: u64,
}

impl Source {
    fn new(life: u64) -> Self {
        Source { life, floor: 0, horizon: 0, calls: BTreeMap::new(), first_connection: 0 }
    }
}

/// The calls of one receiving process life (one `serve`).
#[derive(Debug, Default)]
pub(crate) struct CallTable {
    sources: Mutex<BTreeMap<NodeId, Source>>,
}

impl CallTable {
    /// The cursor of the call `said` names, from `node`. A call seen for the first time in this
    /// receiving life starts at `first`: the sender only resends from the first event it has no
    /// reply for, so positions below were delivered (by an earlier life of this receiver).
    pub(crate) fn open(&self, node: &str, said: Said<'_>) -> Result<Arc<CallCursor>, Turned> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let source = sources.entry(node.to_owned()).or_insert_with(|| Source::new(said.life));
        if said.life < source.life {
            return Err(Turned::Stale("a call from an older life of the sender"));
        }
        if said.life > source.life {
            *source = Source::new(said.life);
        }
        if said.settled_below > source.floor {
            source.floor = said.settled_below;
            source.calls = source.calls.split_off(&said.settled_below);
        }
        if said.call < source.floor {
            return Err(Turned::Stale("a call its sender has settled"));
        }
        if said.issued > 0 {
            // Settled out of order: forgotten. (A request made before another already heard
            // only lists calls that were open then; settled is for good, so it is never wrong.)
            source.calls.retain(|key, _| *key > said.issued || said.open.binary_search(key).is_ok());
            // Open calls not seen yet are remembered as such, so that the horizon does not
            // take them for settled. Only those past the horizon: one at or below it that the
            // table does not hold was settled, as a request made later said.
            for &key in said.open.iter().filter(|&&key| key > source.horizon && key >= source.floor) {
                if source.calls.len() >= MAX_OPEN_CALLS {
                    break;
                }
                source.calls.entry(key).or_insert(Entry::Unseen);
            }
            source.horizon = source.horizon.max(said.issued);
        }
        let at_first = || {
            Arc::new(CallCursor {
                position: tokio::sync::Mutex::new(Position { delivered: said.first, refused: None }),
            })
        };
        match source.calls.get_mut(&said.call) {
            Some(Entry::Seen(cursor)) => return Ok(cursor.clone()),
            Some(entry @ Entry::Unseen) => {
                let cursor = at_first();
                *entry = Entry::Seen(cursor.clone());
                return Ok(cursor);
            }
            None => {}
        }
        if said.call <= source.horizon {
            return Err(Turned::Stale("a call its sender has settled"));
        }
        if source.calls.len() >= MAX_OPEN_CALLS {
            return Err(Turned::Full);
        }
        let cursor = at_first();
        source.calls.insert(said.call, Entry::Seen(cursor.clone()));
        Ok(cursor)
    }

    /// Notes that a request of `node`'s life `life` came on its connection `connection` (0:
    /// not said), and returns the lowest connection of that life seen so far (0: none). Call it
    /// after [`Self::open`] accepted the request.
    pub(crate) fn first_connection(&self, node: &str, life: u64, connection: u64) -> u64 {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let Some(source) = sources.get_mut(node).filter(|source| source.life == life) else {
            return 0;
        };
        if connection != 0 && (source.first_connection == 0 || connection < source.first_connection) {
            source.first_connection = connection;
        }
        source.first_connection
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

    /// A request that says only the watermark (`issued` 0), as the first clients did.
    fn said(life: u64, call: u64, settled_below: u64, first: u64) -> Said<'static> {
        Said { life, call, first, settled_below, issued: 0, open: &[] }
    }

    #[tokio::test]
    async fn a_retry_finds_its_call_and_settled_calls_are_forgotten() {
        let table = CallTable::default();
        let a = table.open("n1", said(1, 1, 1, 0)).unwrap();
        a.position.lock().await.delivered = 3;
        // The retry, resending from the sender's last reply (1): same cursor, `first` ignored.
        let again = table.open("n1", said(1, 1, 1, 1)).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(again.position.lock().await.delivered, 3);
        // A new call starts where its request says.
        let b = table.open("n1", said(1, 2, 1, 5)).unwrap();
        assert_eq!(b.position.lock().await.delivered, 5);
        assert_eq!(table.open_calls("n1"), 2);
        // Call 1 settled: forgotten, and a late attempt of it is turned away.
        table.open("n1", said(1, 3, 2, 0)).unwrap();
        assert_eq!(table.open_calls("n1"), 2);
        assert_eq!(
            table.open("n1", said(1, 1, 2, 0)).unwrap_err(),
            Turned::Stale("a call its sender has settled")
        );
        // A new life of the sender starts over; the old one is stale.
        let c = table.open("n1", said(2, 1, 1, 0)).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(table.open_calls("n1"), 1);
        assert!(matches!(table.open("n1", said(1, 4, 4, 0)), Err(Turned::Stale(_))));
        // Other senders are independent.
        assert_eq!(table.open("n2", said(1, 1, 1, 0)).unwrap().position.lock().await.delivered, 0);
    }

    #[test]
    fn a_sender_that_never_settles_is_bounded() {
        let table = CallTable::default();
        for call in 1..=MAX_OPEN_CALLS as u64 {
            table.open("n1", said(1, call, 0, 0)).unwrap();
        }
        assert_eq!(table.open("n1", said(1, MAX_OPEN_CALLS as u64 + 1, 0, 0)).unwrap_err(), Turned::Full);
        // Settling frees room.
        table.open("n1", said(1, MAX_OPEN_CALLS as u64 + 1, 10, 0)).unwrap();
        assert_eq!(table.open_calls("n1"), MAX_OPEN_CALLS - 8);
    }

    #[tokio::test]
    async fn calls_settled_out_of_order_are_forgotten_and_stay_settled() {
        let table = CallTable::default();
        // Call 1 is slow; calls 2 to 4 come, all open at once, and settle around it.
        let slow = table
            .open("n1", Said { life: 1, call: 1, first: 0, settled_below: 1, issued: 1, open: &[1] })
            .unwrap();
        for call in 2..=4 {
            let open: Vec<u64> = (1..=call).collect();
            table
                .open("n1", Said { life: 1, call, first: 0, settled_below: 1, issued: call, open: &open })
                .unwrap();
        }
        assert_eq!(table.open_calls("n1"), 4);
        // Call 5's request says 2 to 4 settled: forgotten, though the watermark is still 1.
        let five = Said { life: 1, call: 5, first: 0, settled_below: 1, issued: 5, open: &[1, 5] };
        table.open("n1", five).unwrap();
        assert_eq!(table.open_calls("n1"), 2);
        assert!(Arc::ptr_eq(&slow, &table.open("n1", said(1, 1, 1, 0)).unwrap()), "the slow call is kept");
        // A late attempt of a forgotten call is turned away, not delivered again.
        let late = Said { life: 1, call: 3, first: 0, settled_below: 1, issued: 3, open: &[1, 3] };
        assert_eq!(table.open("n1", late).unwrap_err(), Turned::Stale("a call its sender has settled"));
        assert_eq!(table.open_calls("n1"), 2, "and its stale list forgets nothing open");
    }

    #[tokio::test]
    async fn an_open_call_listed_before_its_first_attempt_arrives_is_served() {
        let table = CallTable::default();
        // Call 7's request arrives before call 6's, listing 6 as open.
        let seven = Said { life: 1, call: 7, first: 0, settled_below: 6, issued: 7, open: &[6, 7] };
        table.open("n1", seven).unwrap();
        let six = Said { life: 1, call: 6, first: 2, settled_below: 6, issued: 6, open: &[6] };
        let cursor = table.open("n1", six).expect("6 is open, though below the horizon");
        assert_eq!(cursor.position.lock().await.delivered, 2, "it starts where its request says");
    }

    #[test]
    fn the_first_connection_seen_is_the_lowest_of_the_senders_life() {
        let table = CallTable::default();
        assert_eq!(table.first_connection("n1", 1, 3), 0, "no request of n1 accepted yet");
        table.open("n1", said(1, 1, 1, 0)).unwrap();
        assert_eq!(table.first_connection("n1", 1, 3), 3);
        assert_eq!(table.first_connection("n1", 1, 5), 3);
        assert_eq!(table.first_connection("n1", 1, 2), 2, "a late request on an older connection");
        assert_eq!(table.first_connection("n1", 1, 0), 2, "0: not said");
        // A new life of the sender numbers its connections afresh.
        table.open("n1", said(2, 1, 1, 0)).unwrap();
        assert_eq!(table.first_connection("n1", 2, 1), 1);
        assert_eq!(table.first_connection("n1", 1, 1), 0, "the old life is gone");
    }
}
