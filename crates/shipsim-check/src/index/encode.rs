//! How the index's entries are encoded in its [`Table`](crate::table::Table)s' pages.

use shipsim_trace::{Outcome, PayloadDigest};

use super::{AckRecord, Batch, Delivery, End, Shipped};
use crate::table::{Fixed, take_u8};

fn outcome_byte(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Ok => 0,
        Outcome::NoRoute => 1,
        Outcome::NotDelivered => 2,
        Outcome::Ambiguous => 3,
        Outcome::Refused => 4,
    }
}

fn outcome_of(byte: u8) -> Outcome {
    match byte {
        0 => Outcome::Ok,
        1 => Outcome::NoRoute,
        2 => Outcome::NotDelivered,
        3 => Outcome::Ambiguous,
        _ => Outcome::Refused,
    }
}

impl Fixed for Batch {
    const BYTES: usize = 8 + 8 + 4 + 4 + 8 + 4 + 1 + 8 + 4 + 4 + (1 + 8 + 8 + 4 + 1);

    fn put(&self, out: &mut Vec<u8>) {
        self.pos.put(out);
        self.t.put(out);
        self.node.put(out);
        self.life.put(out);
        self.batch.put(out);
        self.dst.put(out);
        out.push(u8::from(self.local));
        self.epoch.put(out);
        self.first.put(out);
        self.len.put(out);
        let end = self.end.unwrap_or(End { pos: 0, t: 0, shipped: 0, outcome: Outcome::Ok });
        out.push(u8::from(self.end.is_some()));
        end.pos.put(out);
        end.t.put(out);
        end.shipped.put(out);
        out.push(outcome_byte(end.outcome));
    }

    fn take(bytes: &mut &[u8]) -> Self {
        let mut batch = Batch {
            pos: usize::take(bytes),
            t: u64::take(bytes),
            node: u32::take(bytes),
            life: u32::take(bytes),
            batch: u64::take(bytes),
            dst: u32::take(bytes),
            local: take_u8(bytes) != 0,
            epoch: u64::take(bytes),
            first: u32::take(bytes),
            len: u32::take(bytes),
            end: None,
        };
        let ended = take_u8(bytes) != 0;
        let end = End {
            pos: usize::take(bytes),
            t: u64::take(bytes),
            shipped: u32::take(bytes),
            outcome: outcome_of(take_u8(bytes)),
        };
        batch.end = ended.then_some(end);
        batch
    }
}

impl Fixed for Shipped {
    const BYTES: usize = 8 + 8 + 4 + 4;

    fn put(&self, out: &mut Vec<u8>) {
        self.id.put(out);
        self.digest.0.put(out);
        self.key.put(out);
        self.shard.put(out);
    }

    fn take(bytes: &mut &[u8]) -> Self {
        Shipped {
            id: u64::take(bytes),
            digest: PayloadDigest(u64::take(bytes)),
            key: u32::take(bytes),
            shard: u32::take(bytes),
        }
    }
}

impl Fixed for Delivery {
    const BYTES: usize = 8 + 8 + 4 + 4 + 4 + 4;

    fn put(&self, out: &mut Vec<u8>) {
        self.pos.put(out);
        self.t.put(out);
        self.node.put(out);
        self.life.put(out);
        self.shipment.put(out);
        self.source.put(out);
    }

    fn take(bytes: &mut &[u8]) -> Self {
        Delivery {
            pos: usize::take(bytes),
            t: u64::take(bytes),
            node: u32::take(bytes),
            life: u32::take(bytes),
            shipment: u32::take(bytes),
            source: u32::take(bytes),
        }
    }
}

impl Fixed for AckRecord {
    const BYTES: usize = 8 + 8 + 4 + 4 + 4 + 8;

    fn put(&self, out: &mut Vec<u8>) {
        self.pos.put(out);
        self.t.put(out);
        self.node.put(out);
        self.life.put(out);
        self.dst.put(out);
        self.id.put(out);
    }

    fn take(bytes: &mut &[u8]) -> Self {
        AckRecord {
            pos: usize::take(bytes),
            t: u64::take(bytes),
            node: u32::take(bytes),
            life: u32::take(bytes),
            dst: u32::take(bytes),
            id: u64::take(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Fixed + std::fmt::Debug>(entry: T) -> String {
        let mut bytes = Vec::new();
        entry.put(&mut bytes);
        assert_eq!(bytes.len(), T::BYTES, "{entry:?}");
        let mut rest = bytes.as_slice();
        let back = T::take(&mut rest);
        assert!(rest.is_empty());
        format!("{back:?}")
    }

    /// Every field of every entry survives its page's trip to the file and back.
    #[test]
    fn entries_read_back_as_they_were_put() {
        let end = End { pos: 1 << 33, t: 77, shipped: 3, outcome: Outcome::Refused };
        let batch = |end| Batch {
            pos: 9,
            t: 1 << 40,
            node: 2,
            life: 3,
            batch: u64::MAX - 1,
            dst: 4,
            local: true,
            epoch: 5,
            first: 6,
            len: 7,
            end,
        };
        for outcome in
            [Outcome::Ok, Outcome::NoRoute, Outcome::NotDelivered, Outcome::Ambiguous, Outcome::Refused]
        {
            let b = batch(Some(End { outcome, ..end }));
            assert_eq!(round_trip(b), format!("{b:?}"));
        }
        assert_eq!(round_trip(batch(None)), format!("{:?}", batch(None)));
        let shipped = Shipped { id: (3 << 40) | 5, digest: PayloadDigest(u64::MAX), key: 8, shard: 9 };
        assert_eq!(round_trip(shipped), format!("{shipped:?}"));
        let delivery = Delivery { pos: 10, t: 11, node: 12, life: 13, shipment: u32::MAX, source: 14 };
        assert_eq!(round_trip(delivery), format!("{delivery:?}"));
        let ack = AckRecord { pos: 15, t: 16, node: 17, life: 18, dst: 19, id: 20 };
        assert_eq!(round_trip(ack), format!("{ack:?}"));
    }
}
