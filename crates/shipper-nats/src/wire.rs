//! What goes over NATS: the headers that carry a request's idempotency key, the events in a
//! small binary encoding (length-prefixed fields), and the receiver's reply (JSON).
//!
//! A request: headers [`FROM`], [`LIFE`], [`CALL`], [`POS`] (the call's key and the position
//! of the first event in the payload), [`EPOCH`] (the shard map the batch was planned with)
//! and [`SETTLED`] (every call of this sender below it has ended: the receiver forgets their
//! keys); the payload, the events from `POS` on. The reply: [`Reply`].

use serde::{Deserialize, Serialize};
use shipper::ShippedEvent;

/// Header: the sender's node name.
pub const FROM: &str = "Shipper-From";
/// Header: the sender's life.
pub const LIFE: &str = "Shipper-Life";
/// Header: the call's number, unique within the sender's life and destination.
pub const CALL: &str = "Shipper-Call";
/// Header: the position in the call of the payload's first event.
pub const POS: &str = "Shipper-Pos";
/// Header: the epoch of the map the batch was planned with.
pub const EPOCH: &str = "Shipper-Epoch";
/// Header: every call of the sender (to this destination) below this number has ended.
pub const SETTLED: &str = "Shipper-Settled-Below";

/// Room kept for the headers of a request below `max_payload` (they take about 150 bytes).
pub const HEADER_ROOM: usize = 512;

/// The receiver's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The receiving node's life.
    pub life: u64,
    /// The position in the call up to which this receiver life's sink took the events (or
    /// an earlier life did, as the sender's first request of the key said): events below it
    /// are delivered.
    pub next: u64,
    /// The fence refused the event at `next`: the receiver's epoch and members.
    pub refused: Option<(u64, Vec<String>)>,
    /// Why the receiver stopped at `next` otherwise (sink closed, a stale sender life, a
    /// malformed request, a settled key).
    pub error: Option<String>,
}

/// The encoded size of one event.
pub fn event_len(e: &ShippedEvent) -> usize {
    4 + 3 * 4 + e.key.len() + e.source.len() + e.payload.len()
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Encodes `events` one after the other.
pub fn encode(events: &[ShippedEvent]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.iter().map(event_len).sum());
    for e in events {
        out.extend_from_slice(&e.shard.to_be_bytes());
        put(&mut out, e.key.as_bytes());
        put(&mut out, e.source.as_bytes());
        put(&mut out, &e.payload);
    }
    out
}

/// Reads what [`encode`] wrote; a truncated or malformed payload is an error, never a panic.
pub fn decode(mut bytes: &[u8]) -> Result<Vec<ShippedEvent>, String> {
    fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if bytes.len() < n {
            return Err(format!("truncated payload: {n} bytes wanted, {} left", bytes.len()));
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head)
    }
    fn field<'a>(bytes: &mut &'a [u8]) -> Result<&'a [u8], String> {
        let len = u32::from_be_bytes(take(bytes, 4)?.try_into().map_err(|_| "length")?);
        take(bytes, usize::try_from(len).map_err(|e| e.to_string())?)
    }
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| e.to_string());
    let mut events = Vec::new();
    while !bytes.is_empty() {
        let shard = u32::from_be_bytes(take(&mut bytes, 4)?.try_into().map_err(|_| "shard")?);
        let key = text(field(&mut bytes)?)?;
        let source = text(field(&mut bytes)?)?;
        let payload = field(&mut bytes)?.to_vec();
        events.push(ShippedEvent { shard, key, payload, source });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_and_a_cut_payload_is_an_error() {
        let e =
            |k: &str| ShippedEvent { shard: 7, key: k.into(), payload: vec![1, 2, 3], source: "n1".into() };
        let events = vec![e("a"), e("bb")];
        let bytes = encode(&events);
        assert_eq!(bytes.len(), events.iter().map(event_len).sum::<usize>());
        assert_eq!(decode(&bytes).unwrap(), events);
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
