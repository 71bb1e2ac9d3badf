//! The receiver's memory of what it delivered: per source stream, the next
//! expected sequence number, and the numbers its fence refused that the
//! sender may not have heard of yet; per source slot, the first connection
//! of it this life saw (which a refusal names, see [`crate::Frame::Refuse`]).
//!
//! A stream is (source node, source life, slot, stream id). The table keeps,
//! for each source node, its newest life and, per slot, its newest stream:
//! memory grows with the number of peers and slots, not with traffic or
//! time. Older lives and streams are refused, which is safe because a sender
//! never writes an event on more than one stream, and a life only ends when
//! its process does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use shipper::{NodeId, Refusal};

/// Where a stream's delivery stands.
#[derive(Debug)]
pub(crate) struct Position {
    /// Next expected sequence number.
    pub(crate) next: u64,
    /// The batch whose frame was refused last, and the refusal: every later
    /// frame of that batch is refused too, so the delivered part of a batch
    /// stays a prefix of it.
    pub(crate) refusing: Option<(u64, Arc<Refusal>)>,
}

/// Delivery position of one stream.
#[derive(Debug)]
pub(crate) struct StreamCursor {
    stream: u64,
    /// A newer stream or life of the same sender replaced this one.
    retired: AtomicBool,
    /// Held across the sink's `accept`, so two connections of one stream
    /// (an old one not yet noticed dead and its replacement) can never
    /// deliver the same number twice.
    pub(crate) position: tokio::sync::Mutex<Position>,
    /// Numbers below `next` that were refused, not delivered: a resent copy
    /// is refused again, never acknowledged as a duplicate. Pruned below a
    /// hello's base (the sender settled those); only refusals are kept, so
    /// it stays empty unless the shard map changes.
    refused: Mutex<BTreeMap<u64, Arc<Refusal>>>,
    /// The lowest connection number of this stream's slot (in the sender's
    /// life) that this receiving life has seen a hello on; shared by the
    /// slot's successive streams.
    first_conn: Arc<AtomicU64>,
}

impl StreamCursor {
    /// The lowest connection of the slot this life has seen a hello on.
    pub(crate) fn first_conn(&self) -> u64 {
        self.first_conn.load(Ordering::Acquire)
    }

    /// Notes that `seq` was refused.
    pub(crate) fn note_refused(&self, seq: u64, refusal: Arc<Refusal>) {
        self.refused.lock().unwrap_or_else(|e| e.into_inner()).insert(seq, refusal);
    }

    /// The refusal of `seq`, if it was refused.
    pub(crate) fn refusal_of(&self, seq: u64) -> Option<Arc<Refusal>> {
        self.refused.lock().unwrap_or_else(|e| e.into_inner()).get(&seq).cloned()
    }

    /// Forgets the refusals below `base`: the sender will never resend them.
    fn settle_below(&self, base: u64) {
        let mut refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        *refused = refused.split_off(&base);
    }

    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Acquire)
    }

    fn retire(&self) {
        self.retired.store(true, Ordering::Release);
    }
}

/// What a `Hello` opened.
#[derive(Debug)]
pub(crate) enum Opened {
    /// Deliver on this cursor.
    Current(Arc<StreamCursor>),
    /// The hello names an older life or stream than one already seen.
    Stale(&'static str),
}

#[derive(Debug)]
struct Source {
    life: u64,
    slots: BTreeMap<u32, Arc<StreamCursor>>,
}

/// Dedup state of one receiving process life (one `serve` call).
#[derive(Debug, Default)]
pub(crate) struct DedupTable {
    sources: Mutex<BTreeMap<NodeId, Source>>,
}

impl DedupTable {
    /// Finds or creates the cursor a `Hello` names, noting its connection
    /// number `conn` (from 1). A stream seen for the first time in this life
    /// starts at `base`: every lower number was acknowledged, by an earlier
    /// life of this receiver, so this life has delivered none of the numbers
    /// from `base` on.
    pub(crate) fn open(&self, node: &str, life: u64, slot: u32, stream: u64, base: u64, conn: u64) -> Opened {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let source =
            sources.entry(node.to_owned()).or_insert_with(|| Source { life, slots: BTreeMap::new() });
        if life < source.life {
            return Opened::Stale("a connection from an older life of the sender");
        }
        if life > source.life {
            for cursor in source.slots.values() {
                cursor.retire();
            }
            *source = Source { life, slots: BTreeMap::new() };
        }
        let mut first_conn = Arc::new(AtomicU64::new(conn));
        if let Some(cursor) = source.slots.get(&slot) {
            // A connection of this slot reached this life, whichever stream it names.
            cursor.first_conn.fetch_min(conn, Ordering::AcqRel);
            first_conn = cursor.first_conn.clone();
            if cursor.stream == stream {
                cursor.settle_below(base);
                return Opened::Current(cursor.clone());
            }
            if cursor.stream > stream {
                return Opened::Stale("a connection for a retired stream");
            }
            cursor.retire();
        }
        let cursor = Arc::new(StreamCursor {
            stream,
            retired: AtomicBool::new(false),
            position: tokio::sync::Mutex::new(Position { next: base, refusing: None }),
            refused: Mutex::default(),
            first_conn,
        });
        source.slots.insert(slot, cursor.clone());
        Opened::Current(cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(opened: Opened) -> Arc<StreamCursor> {
        match opened {
            Opened::Current(c) => c,
            Opened::Stale(why) => panic!("stale: {why}"),
        }
    }

    #[tokio::test]
    async fn streams_lives_and_staleness() {
        let table = DedupTable::default();
        let a = cursor(table.open("n1", 1, 0, 1, 1, 1));
        a.position.lock().await.next = 5;
        // Same stream again (a reconnect): same cursor, base ignored.
        let again = cursor(table.open("n1", 1, 0, 1, 3, 2));
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(again.position.lock().await.next, 5);
        // A new stream on the slot retires the old one and starts at base.
        let b = cursor(table.open("n1", 1, 0, 2, 1, 3));
        assert!(a.is_retired());
        assert_eq!(b.position.lock().await.next, 1);
        assert!(matches!(table.open("n1", 1, 0, 1, 1, 4), Opened::Stale(_)));
        // Other slots are independent.
        let c = cursor(table.open("n1", 1, 1, 1, 4, 1));
        assert_eq!(c.position.lock().await.next, 4);
        // A new life retires everything of the old one; the old life is refused.
        let d = cursor(table.open("n1", 2, 0, 1, 1, 1));
        assert!(b.is_retired() && c.is_retired() && !d.is_retired());
        assert!(matches!(table.open("n1", 1, 0, 9, 1, 5), Opened::Stale(_)));
    }

    #[test]
    fn refusals_are_remembered_until_the_sender_settled_them() {
        let table = DedupTable::default();
        let a = cursor(table.open("n1", 1, 0, 1, 1, 1));
        let refusal = Arc::new(Refusal { epoch: 2, members: vec!["n2".into()] });
        a.note_refused(3, refusal.clone());
        a.note_refused(5, refusal.clone());
        assert_eq!(a.refusal_of(3).as_deref(), Some(&*refusal));
        assert_eq!(a.refusal_of(4), None);
        // A reconnect whose hello says 4 is the lowest resent: 3 is settled.
        let again = cursor(table.open("n1", 1, 0, 1, 4, 2));
        assert_eq!(again.refusal_of(3), None);
        assert!(again.refusal_of(5).is_some());
    }

    #[test]
    fn the_first_connection_seen_is_the_lowest_per_slot_of_the_senders_life() {
        let table = DedupTable::default();
        let a = cursor(table.open("n1", 1, 0, 1, 1, 3));
        assert_eq!(a.first_conn(), 3);
        // Later connections of the slot, whatever their stream, keep it.
        let again = cursor(table.open("n1", 1, 0, 1, 1, 5));
        assert_eq!(again.first_conn(), 3);
        let b = cursor(table.open("n1", 1, 0, 2, 1, 6));
        assert_eq!(b.first_conn(), 3, "a new stream of the slot");
        // A late hello of an older connection lowers it, also for a retired stream.
        assert!(matches!(table.open("n1", 1, 0, 1, 1, 2), Opened::Stale(_)));
        assert_eq!(b.first_conn(), 2);
        // Another slot counts its own connections.
        assert_eq!(cursor(table.open("n1", 1, 1, 1, 1, 7)).first_conn(), 7);
        // A new life of the sender starts over; its old life is not noted.
        let c = cursor(table.open("n1", 2, 0, 1, 1, 4));
        assert_eq!(c.first_conn(), 4);
        assert!(matches!(table.open("n1", 1, 0, 3, 1, 1), Opened::Stale(_)));
        assert_eq!(c.first_conn(), 4);
    }
}
