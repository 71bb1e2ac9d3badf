//! Hooks through which a harness traces what the transport does.

use shipper::{NodeId, ShippedEvent};

/// Called by the transport as things happen; every method defaults to doing
/// nothing. Calls come from the transport's tasks, in the order the events
/// happen, and must not block.
///
/// Deliveries are not reported here: the receiving side's
/// [`crate::EventSink`] sees them.
pub trait TransportObserver: Send + Sync {
    /// The ack for `event` (sent to `dst`) arrived while its ship call was
    /// waiting: the call will count it as delivered.
    fn on_ack(&self, dst: &NodeId, event: &ShippedEvent) {
        let _ = (dst, event);
    }

    /// The ack for `event` arrived after its ship call had given up (and
    /// returned an ambiguous error): it was delivered after all.
    fn on_late_ack(&self, dst: &NodeId, event: &ShippedEvent) {
        let _ = (dst, event);
    }

    /// `event` is being written again on a new connection to `dst`.
    fn on_retransmit(&self, dst: &NodeId, event: &ShippedEvent) {
        let _ = (dst, event);
    }

    /// A slot established a connection to `dst` after having had one.
    fn on_reconnect(&self, dst: &NodeId) {
        let _ = dst;
    }

    /// A connection attempt to `dst` begins on connection slot `slot` (gRPC: 0).
    fn on_connect_attempt(&self, dst: &NodeId, slot: u32) {
        let _ = (dst, slot);
    }

    /// That attempt failed before carrying anything (refused, unreachable, timed out): the
    /// next one waits out the reconnect backoff.
    fn on_connect_failed(&self, dst: &NodeId, slot: u32) {
        let _ = (dst, slot);
    }

    /// A frame from `peer` arrived past a gap in its stream: number `seq`
    /// while `expected` was next. It is dropped unacknowledged. A sender
    /// writes each connection's frames in stream order starting at or below
    /// what the receiver expects, so a correct sender never causes one; the
    /// receiver's in-order delivery hides the bug from the sink, so this hook
    /// is how a harness sees it.
    fn on_stream_gap(&self, peer: &NodeId, seq: u64, expected: u64) {
        let _ = (peer, seq, expected);
    }

    /// A connection with `peer` (a node name, or an address before the peer
    /// said who it is) was closed because it broke the protocol.
    fn on_protocol_error(&self, peer: &str, reason: &str) {
        let _ = (peer, reason);
    }
}
