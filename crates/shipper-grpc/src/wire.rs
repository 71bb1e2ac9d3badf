//! Between the shipper's types and the protobuf messages, and how a call is cut into messages
//! that fit the size limit.

use shipper::{Refusal, ShippedEvent};

use crate::pb;

/// Room a request needs besides its events (node name, numbers, the gRPC frame header): the
/// message size limit is the configured `max_frame` (what the events of one message may take)
/// plus this.
pub const ENVELOPE: usize = 1024;

/// The limit on one encoded message, each way, for a configured `max_frame`.
pub fn message_limit(max_frame: usize) -> usize {
    max_frame.saturating_add(ENVELOPE)
}

/// The least limit on one encoded reply: tonic's default. A reply is small except for a
/// refusal, which carries the receiver's map (every member's name): that must not be cut to
/// the size of a request, or the sender would read the failed encoding (`OutOfRange`) as "the
/// receiver turned the call away" although its sink took part of it.
pub const REPLY_FLOOR: usize = 4 << 20;

/// The limit on one encoded reply, each way, for a configured `max_frame`.
pub fn reply_limit(max_frame: usize) -> usize {
    message_limit(max_frame).max(REPLY_FLOOR)
}

/// The bytes the events of one request from `node` may take: `max_frame`, or less when the
/// rest of the request (the sender's node name, above all) takes more than [`ENVELOPE`], so
/// that no request exceeds [`message_limit`]. Without it, a sender with a long node name
/// would build full parts that every receiver (and its own encoder) refuses, and retry them
/// to the deadline.
pub(crate) fn room_for_events(node: &str, max_frame: usize) -> usize {
    // Every number at its widest, plus the gRPC frame header (flag and length).
    let widest = pb::ShipRequest {
        node: node.to_owned(),
        life: u64::MAX,
        call: u64::MAX,
        settled_below: u64::MAX,
        epoch: u64::MAX,
        events: Vec::new(),
        first: u64::MAX,
        issued: u64::MAX,
        open: vec![u64::MAX; crate::keys::MAX_LISTED_OPEN],
        connection: u64::MAX,
        timeout_nanos: u64::MAX,
    };
    let envelope = prost::Message::encoded_len(&widest) + 5;
    max_frame.min(message_limit(max_frame).saturating_sub(envelope))
}

/// The protobuf form of `event`.
pub(crate) fn to_pb(event: &ShippedEvent) -> pb::Event {
    pb::Event {
        shard: event.shard,
        key: event.key.clone(),
        payload: event.payload.clone(),
        source: event.source.clone(),
    }
}

/// The shipper's form of `event`.
pub(crate) fn from_pb(event: pb::Event) -> ShippedEvent {
    ShippedEvent { shard: event.shard, key: event.key, payload: event.payload, source: event.source }
}

/// The bytes `event` takes inside a request (its field tag and length included).
pub(crate) fn event_size(event: &pb::Event) -> usize {
    prost::encoding::message::encoded_len(6, event)
}

/// The end of the message that starts at `events[from]`: as many events as fit in
/// `max_frame` bytes, at least one.
pub(crate) fn part_end(events: &[pb::Event], from: usize, max_frame: usize) -> usize {
    let mut size = 0;
    let mut end = from;
    while let Some(event) = events.get(end) {
        size += event_size(event);
        if size > max_frame && end > from {
            break;
        }
        end += 1;
    }
    end
}

/// A refusal as the reply carries it.
pub(crate) fn refusal_to_pb(refusal: &Refusal) -> pb::Refusal {
    pb::Refusal { epoch: refusal.epoch, members: refusal.members.clone() }
}

/// A refusal from a reply.
pub(crate) fn refusal_from_pb(refusal: pb::Refusal) -> Refusal {
    Refusal { epoch: refusal.epoch, members: refusal.members }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(payload: usize) -> pb::Event {
        to_pb(&ShippedEvent { shard: 1, key: "k".into(), payload: vec![7; payload], source: "n1".into() })
    }

    #[test]
    fn parts_fit_the_limit_and_take_at_least_one_event() {
        let events: Vec<_> = (0..10).map(|_| event(100)).collect();
        let one = event_size(&events[0]);
        assert_eq!(part_end(&events, 0, one * 3), 3);
        assert_eq!(part_end(&events, 3, one * 3), 6);
        assert_eq!(part_end(&events, 9, one * 3), 10);
        assert_eq!(part_end(&events, 0, one * 3 - 1), 2);
        // An event larger than the limit still makes a part of its own.
        assert_eq!(part_end(&events, 4, 10), 5);
        assert_eq!(part_end(&events, 10, 10), 10);
    }

    #[test]
    fn the_room_for_events_is_max_frame_unless_the_node_name_is_long() {
        assert_eq!(room_for_events("n1", 4096), 4096);
        assert_eq!(room_for_events(&"n".repeat(200), 4096), 4096);
        let long = "n".repeat(2000);
        let room = room_for_events(&long, 4096);
        assert!(room < 4096 - 900, "{room}");
        // A request filled to the room stays within the limit.
        let events: Vec<_> = (0..1000).map(|_| event(10)).collect();
        let end = part_end(&events, 0, room);
        let request = pb::ShipRequest {
            node: long.clone(),
            life: u64::MAX,
            call: u64::MAX,
            settled_below: u64::MAX,
            epoch: u64::MAX,
            events: events[..end].to_vec(),
            first: u64::MAX,
            issued: u64::MAX,
            open: vec![u64::MAX; crate::keys::MAX_LISTED_OPEN],
            connection: u64::MAX,
            timeout_nanos: u64::MAX,
        };
        assert!(prost::Message::encoded_len(&request) <= message_limit(4096));
        // A name longer than the whole limit leaves no room at all.
        assert_eq!(room_for_events(&"n".repeat(6000), 4096), 0);
    }

    #[test]
    fn events_round_trip() {
        let original =
            ShippedEvent { shard: 9, key: "key".into(), payload: vec![1, 2, 3], source: "n2".into() };
        assert_eq!(from_pb(to_pb(&original)), original);
        let refusal = Refusal { epoch: 4, members: vec!["a".into(), "b".into()] };
        assert_eq!(refusal_from_pb(refusal_to_pb(&refusal)), refusal);
    }
}
