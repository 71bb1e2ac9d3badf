//! The workload's payloads: a compact JSON object carrying the event's id first (the id the
//! trace format reads back, `shipsim_trace::payload_id`), its node and sequence number, padded
//! to a drawn size when the scenario sets `workload.payload`. Shared by the simulator, which
//! generates them, and the transports' frame check, which needs their longest length.

use shipsim_trace::EventId;

use crate::scenario::Workload;

/// Bits of an event id below the node's index: 2^40 events per node.
const SEQ_BITS: u32 = 40;

/// What a payload's pad repeats: JSON-safe, no two neighbours alike.
const PAD_PATTERN: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Bytes the pad field adds besides the pad itself and the closing brace: `,"pad":""`.
const PAD_FIELD: usize = 9;

/// The id of a node's `seq`-th event: unique across the run, and readable.
pub(crate) fn event_id(node_index: usize, seq: u64) -> EventId {
    ((node_index as u64) << SEQ_BITS) | seq
}

/// The payload of event `id` (`seq` on its node, `src_json` its node's name as JSON): the
/// compact JSON object, padded to `size` bytes when that is at least its length plus the pad
/// field's. Written directly (it is the same JSON as a serde_json object of these fields in
/// this order): building a `serde_json::Value` per event cost more than shipping it.
pub(crate) fn payload(id: EventId, src_json: &str, seq: u64, size: usize) -> Vec<u8> {
    let mut payload = String::with_capacity(size.max(40 + src_json.len()));
    payload.push_str(r#"{"id":"#);
    push_decimal(&mut payload, id);
    payload.push_str(r#","src":"#);
    payload.push_str(src_json);
    payload.push_str(r#","seq":"#);
    push_decimal(&mut payload, seq);
    let mut bytes = payload.into_bytes();
    if let Some(pad) = size.checked_sub(bytes.len() + 1 + PAD_FIELD) {
        bytes.extend_from_slice(br#","pad":""#);
        let mut at = (seq % PAD_PATTERN.len() as u64) as usize;
        let mut left = pad;
        while left > 0 {
            let take = (PAD_PATTERN.len() - at).min(left);
            bytes.extend_from_slice(&PAD_PATTERN[at..at + take]);
            left -= take;
            at = 0;
        }
        bytes.push(b'"');
    }
    bytes.push(b'}');
    bytes
}

/// The longest payload `workload` can generate on any of `nodes`: its payload sizes' upper
/// bound, or the compact JSON of the largest event id, node name and sequence number if that
/// is longer (a size below a payload's own length leaves it unpadded).
pub(crate) fn payload_len_bound(workload: &Workload, nodes: &[String]) -> u64 {
    let longest = nodes.iter().max_by_key(|n| n.len()).map(String::as_str).unwrap_or_default();
    let src_json = serde_json::Value::from(longest).to_string();
    let last = workload.events.saturating_sub(1);
    let id = event_id(nodes.len().saturating_sub(1), last.min((1 << SEQ_BITS) - 1));
    let compact = payload(id, &src_json, last, 0).len() as u64;
    compact.max(workload.payload.map_or(0, |p| p.max))
}

/// Appends `n` in decimal, as `format!("{n}")` would, without the
/// formatting machinery (this runs twice per generated event).
pub(crate) fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
}
