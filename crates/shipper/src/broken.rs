//! Deliberately broken variants of the router and the transport, for proving
//! that the simulation harness catches real bugs (`sims/broken.rs`).
//!
//! Each variant is a one-line branch at the place it breaks, guarded by
//! [`is`]. Without the cargo feature `broken`, [`is`] is the constant `false`
//! and every hook compiles away; with it, a variant is switched on for the
//! current thread only, by `with`, so simulations running in parallel on
//! other threads (one simulation per thread) stay correct.

/// A deliberate bug. Listed in the order they were added; `docs/invariants.md` tabulates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Variant {
    /// The original's semantics: a ship is `Ok` once its frames are written, with
    /// no wait for the receiver's ack (`shipper-net`, `Slot::pump`).
    NoAck,
    /// The receiver delivers duplicates instead of dropping them
    /// (`shipper-net`, `deliver_in_order`).
    NoDedup,
    /// A batch's events spread round-robin over the pooled connections
    /// instead of going whole onto one (`shipper-net`, `NetTransport::ship`).
    BatchRoundRobin,
    /// Unacked frames resent in reverse order after a reconnect
    /// (`shipper-net`, `Slot::on_connected`).
    ResendOutOfOrder,
    /// `ship_batch` drops the rest of a failed batch and reports the whole
    /// batch as shipped (`EventShipper::ship_batch`).
    SilentBatchDrop,
    /// Every remote event acknowledged is counted twice in `sent`
    /// (`ShipperStats::count_delivered`).
    StatsDoubleCount,
    /// A transport's `NoRoute` is counted as a send failure
    /// (`ShipperStats::count_failed`).
    NoRouteAsSendFailure,
    /// The receiver acks an event as soon as it reads it, and hands it to
    /// the sink only afterwards (`shipper-net`, `Connection::on_event`).
    AckBeforeSink,
    /// A ship ignores its deadline and waits as long as its link stays stuck
    /// (`shipper-net`, `SlotHandle::call`).
    NoDeadline,
    /// The router sends every fourth shard's events to the member after the
    /// owner (an off-by-one in the member list; `Router`'s `locate`).
    Misroute,
    /// The frame reader takes whatever one `read` returns as the whole body
    /// instead of reading until the body is complete, as if a read were a
    /// frame (`shipper-net`, `codec::read_frame_into`).
    SplitReadMishandled,
    /// The receiver writes the ack as soon as it read the frame and only
    /// then awaits the sink's accept, with no pause in between: two lines
    /// swapped (`shipper-net`, `Connection::on_event`). Invisible with an instant
    /// sink; a crash while a slow accept is pending loses an acked event.
    AckBeforeAccept,
    /// `Router::set_shard_map` takes a new map's epoch but keeps the old
    /// owners: a placement cache not invalidated on a membership change.
    StaleMap,
    /// The reconnect backoff is never reset after a connection proved
    /// healthy (an ack), so after a few failures every reconnect waits the
    /// cap (`shipper-net`, `Slot::on_ack`).
    StickyBackoff,
    /// A never-sent `Timeout` is counted as ambiguous instead of as a send
    /// failure (`ShipperStats::count_failed`).
    TimeoutAsAmbiguous,
    /// A batch the transport stopped part-way, with a prefix acknowledged,
    /// is answered `Ok(prefix)` (`EventShipper::ship_batch`).
    PartialAsOk,
    /// gRPC: a retry goes out under a new idempotency key, so the receiver
    /// takes it for a new call and delivers again what the lost attempt
    /// delivered (`shipper-grpc`, `GrpcTransport::start_attempt`).
    GrpcRetryWithoutKey,
    /// gRPC: the receiver answers `Ok` (a reply counting the whole call, on the
    /// connection's stream) as soon as it decoded the request, and hands the
    /// events to the sink only afterwards; a crash in between loses
    /// acknowledged events (`shipper-grpc`, `Handler::ok_on_headers`).
    GrpcOkOnHeaders,
    /// A plan whose shard map changed before its turn to ship (a membership change adopted,
    /// or a map learned from a refusal of an earlier batch of the call) ships as it was
    /// planned instead of being planned again (`Router::route_planned`): a node hands its
    /// own sink events of a shard it knows it gave away.
    NoStaleReplan,
    /// The settings' normalization leaves the reconnect backoff's cap as declared instead of
    /// capping it at a quarter of the deadline (`shipper-net`, `NetConfig::normalized`).
    NormalizeBackoffCap,
    /// The handover keeps a flag per shard, not a count, of admitted events whose accept is
    /// under way (`Handover::done`): the first of two concurrent accepts of one shard to end
    /// clears it, so a map that takes the shard away installs while the second is still
    /// being accepted. It needs two calls in flight on one shard at a receiver across a map
    /// change.
    HandoverFlag,
    /// gRPC: the server takes a busy answer from the sink for "queued": it moves on to the
    /// next event and counts the busy one delivered, though the sink handed it back
    /// (`shipper-grpc`, `Delivery::offer_until_accepted`).
    GrpcBusyAsAccepted,
    /// The ack timeout never adapts to the measured round trip (`shipper-net`, `Rto::current`):
    /// a link whose round trip outgrew it has every healthy connection taken for a stuck one,
    /// closed and replaced, and nothing is ever acknowledged.
    FixedAckTimeout,
    /// The reconnect backoff never grows: every delay is drawn from the first one's range, so
    /// a peer that stays unreachable is asked again and again at the shortest spacing
    /// (`shipper-net`, `Backoff::next_delay`; both transports use it).
    BackoffNeverGrows,
    /// NATS: a ship call publishes its events and answers `Ok(n)` at once, with no wait for
    /// the receiver's reply: core NATS's at-most-once publish taken for a delivery
    /// (`shipper-nats`, `NatsTransport::attempt`). Real mode only.
    NatsPublishAsDelivered,
    /// NATS: a retry after an unanswered attempt goes out under a new idempotency key, so the
    /// receiver takes it for a new call and delivers again what the lost attempt delivered
    /// (`shipper-nats`, `NatsTransport::attempt`). Real mode only.
    NatsRetryWithoutKey,
    /// A local ship is `Ok` once its event is handed to a task that will offer it to the sink,
    /// not once the sink took it: the original's queue-and-return behind an accepting sink
    /// (`LocalSink`'s accept). A crash in between loses events reported shipped.
    LocalOkOnQueue,
}

impl Variant {
    /// Every variant, in catalogue order.
    pub const ALL: [Variant; 27] = [
        Variant::NoAck,
        Variant::NoDedup,
        Variant::BatchRoundRobin,
        Variant::ResendOutOfOrder,
        Variant::SilentBatchDrop,
        Variant::StatsDoubleCount,
        Variant::NoRouteAsSendFailure,
        Variant::AckBeforeSink,
        Variant::NoDeadline,
        Variant::Misroute,
        Variant::SplitReadMishandled,
        Variant::AckBeforeAccept,
        Variant::StaleMap,
        Variant::StickyBackoff,
        Variant::TimeoutAsAmbiguous,
        Variant::PartialAsOk,
        Variant::GrpcRetryWithoutKey,
        Variant::GrpcOkOnHeaders,
        Variant::NoStaleReplan,
        Variant::NormalizeBackoffCap,
        Variant::HandoverFlag,
        Variant::GrpcBusyAsAccepted,
        Variant::FixedAckTimeout,
        Variant::BackoffNeverGrows,
        Variant::NatsPublishAsDelivered,
        Variant::NatsRetryWithoutKey,
        Variant::LocalOkOnQueue,
    ];

    /// The variants only real mode can run (their transport has no simulated network):
    /// `sims/real_broken.rs` catches them, `sims/broken.rs` does not list them.
    pub const REAL_MODE: [Variant; 2] = [Variant::NatsPublishAsDelivered, Variant::NatsRetryWithoutKey];
}

#[cfg(feature = "broken")]
thread_local! {
    static ACTIVE: std::cell::Cell<Option<Variant>> = const { std::cell::Cell::new(None) };
}

/// The variant switched on for every thread of the process ([`set_process`]).
#[cfg(feature = "broken")]
static PROCESS: std::sync::OnceLock<Variant> = std::sync::OnceLock::new();

/// Switches `variant` on for every thread of this process, for good: a real-mode node
/// process (`shipsim::real`) runs its transport on tokio's worker threads, which a
/// thread's switch (`with`) does not reach. Only a test's own node processes call it
/// (`sims/real_broken.rs`). Without the feature `broken` it does nothing.
pub fn set_process(variant: Variant) {
    #[cfg(feature = "broken")]
    {
        let _ = PROCESS.set(variant);
    }
    #[cfg(not(feature = "broken"))]
    {
        let _ = variant;
    }
}

/// Whether `variant` is switched on for the current thread (or the whole process). Always
/// `false` without the feature `broken`.
#[inline(always)]
pub fn is(variant: Variant) -> bool {
    #[cfg(feature = "broken")]
    {
        ACTIVE.with(|active| active.get() == Some(variant)) || PROCESS.get() == Some(&variant)
    }
    #[cfg(not(feature = "broken"))]
    {
        let _ = variant;
        false
    }
}

/// The variant switched on for the current thread, if any.
pub fn active() -> Option<Variant> {
    #[cfg(feature = "broken")]
    {
        ACTIVE.with(std::cell::Cell::get)
    }
    #[cfg(not(feature = "broken"))]
    {
        None
    }
}

/// Runs `f` with `variant` switched on for the current thread, and switches
/// it back off afterwards (also if `f` panics). Everything `f` runs on this
/// thread — a whole turmoil simulation does — sees the variant.
#[cfg(feature = "broken")]
pub fn with<R>(variant: Variant, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Variant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            ACTIVE.with(|active| active.set(self.0));
        }
    }
    let _restore = Restore(ACTIVE.with(|active| active.replace(Some(variant))));
    f()
}

#[cfg(all(test, feature = "broken"))]
mod tests {
    use super::*;

    #[test]
    fn a_variant_is_on_only_inside_with_and_only_on_its_thread() {
        assert!(!is(Variant::NoAck));
        with(Variant::NoAck, || {
            assert!(is(Variant::NoAck));
            assert!(!is(Variant::NoDedup));
            assert_eq!(active(), Some(Variant::NoAck));
            let other_thread = std::thread::spawn(active); // allow-nondeterminism: tests per-thread state
            assert_eq!(other_thread.join().unwrap(), None);
        });
        assert_eq!(active(), None);
    }
}
