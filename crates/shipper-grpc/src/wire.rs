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
    fn events_round_trip() {
        let original =
            ShippedEvent { shard: 9, key: "key".into(), payload: vec![1, 2, 3], source: "n2".into() };
        assert_eq!(from_pb(to_pb(&original)), original);
        let refusal = Refusal { epoch: 4, members: vec!["a".into(), "b".into()] };
        assert_eq!(refusal_from_pb(refusal_to_pb(&refusal)), refusal);
    }
}
