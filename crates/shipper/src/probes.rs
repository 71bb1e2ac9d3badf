//! Coverage probes: marks on the rare, dangerous paths of the router, the fence, the handover
//! and the transports, so that a simulation sweep can say which of them it reached.
//!
//! `probe!("tcp.resend-mid-stream")` marks a path. Without the cargo feature `probes` the mark
//! is an empty inline function and compiles to nothing; a production build never has it. With
//! it, the hits of the current thread are counted while [`collect`] runs (a simulation runs on
//! one thread, so each run counts its own). Every probe is named in [`ALL`]: the tidy test
//! checks that the names placed in the code and the list agree, so a coverage ledger knows the
//! probes no run reached. Each entry says what reaching it means, and whether a simulation can
//! reach it ([`Reach`]): the probes of a transport that runs only in real mode are marked so,
//! and a simulated sweep neither counts nor asks for them.

use std::collections::BTreeMap;

/// Marks a path of the code under test as reached (see the [`probes`](crate::probes) module).
#[macro_export]
macro_rules! probe {
    ($name:literal) => {
        $crate::probes::hit($name)
    };
}

/// A probe placed in the code under test: its name (`area.what-happened`), what reaching it
/// means, and whether a simulation can reach it at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The name `probe!` is given.
    pub name: &'static str,
    /// The rare, dangerous state reaching it means, in one line.
    pub doc: &'static str,
    /// Where a run can reach it.
    pub reach: Reach,
}

/// Where a probe can be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// In a simulation: the sims suite must reach it (`shipsim::Suite::coverage`).
    Simulated,
    /// Only in real mode (`shipsim run --real`): its code runs against a real service the
    /// simulation has no model of (the NATS broker), and real mode runs nodes in processes of
    /// their own, whose hits are not counted. No simulated sweep is asked to reach it.
    RealOnly,
}

const fn sim(name: &'static str, doc: &'static str) -> Probe {
    Probe { name, doc, reach: Reach::Simulated }
}

const fn real(name: &'static str, doc: &'static str) -> Probe {
    Probe { name, doc, reach: Reach::RealOnly }
}

/// Every probe placed in the workspace's code under test, in name order.
pub const ALL: &[Probe] = &[
    sim("fence.refuse-not-owner", "a receiver refused an event of a shard its map gives to another node"),
    sim("grpc.busy-past-deadline", "a gRPC receiver's sink stayed busy to the deadline: answered short"),
    sim("grpc.busy-retry", "a gRPC receiver's sink answered busy; the event is offered again"),
    sim("grpc.connect-failed", "a gRPC call could not connect; it retries while its deadline allows"),
    sim("grpc.deadline-unanswered", "a gRPC attempt had no reply by the deadline: the call is ambiguous"),
    sim("grpc.duplicate-key", "a gRPC retry carried events its call key had delivered: dropped"),
    sim("grpc.late-reply", "a gRPC reply came for a call that had given up: dropped"),
    sim("grpc.refusal-ambiguous", "a gRPC refusal after an unanswered attempt to maybe another life"),
    sim("grpc.refused", "a gRPC call ended refused by a receiver that is not the owner"),
    sim("grpc.retry-same-key", "a gRPC call retried, under its key, events written without a reply"),
    sim("grpc.stream-broken", "a gRPC call stream broke with the attempt unanswered: retried"),
    sim("handover.installed-late", "a staged map was installed when the last accept it waited for ended"),
    sim("handover.refuse-staged", "a receiver refused a shard it is handing over (its staged map)"),
    sim("handover.staged", "a new map waits: it takes away a shard with accepts in progress"),
    real("nats.batch-split", "a NATS batch over the broker's max_payload went as several requests"),
    real("nats.busy-retry", "a NATS receiver's sink answered busy; the event is offered again"),
    real("nats.duplicate-skipped", "a NATS retry carried events its call had delivered: skipped"),
    real("nats.event-over-max-payload", "a NATS event alone is over max_payload: the call fails"),
    real("nats.no-responders-retry", "no NATS subscriber for the destination: retried after a pause"),
    real("nats.refused", "a NATS call ended refused by a receiver that is not the owner"),
    real("nats.turned-away", "a NATS receiver turned away a call of an older life or ended"),
    real("nats.unanswered-retry", "a NATS request had no reply in time: the call retries, uncertain"),
    sim("router.replan-refused", "a refused batch's events were planned again under the learned map"),
    sim("router.replan-stale", "a plan whose map changed before it shipped was planned again"),
    sim("router.stale-map-ignored", "a map no newer than the current or staged one was ignored"),
    sim("shipper.batch-partial", "a batch failed part-way: a prefix shipped, the rest came back"),
    sim("tcp.abandon-stream", "every event in flight belonged to calls that gave up: a new stream"),
    sim("tcp.ack-timeout", "an ack overdue on a TCP connection: closed, its events resent"),
    sim("tcp.busy-retired", "a TCP stream was retired while its event waited on a busy sink"),
    sim("tcp.busy-retry", "a TCP receiver's sink answered busy; the event is offered again"),
    sim("tcp.connect-failed", "a TCP connection attempt failed; the slot backs off"),
    sim("tcp.deadline-ambiguous", "a TCP call's deadline passed with events written and unacked"),
    sim("tcp.deadline-unconnected", "a TCP call's deadline passed before any connection was made"),
    sim("tcp.duplicate-dropped", "a TCP receiver dropped a resent event it had delivered"),
    sim("tcp.late-ack", "an ack came for an event whose call had given up (ambiguous, delivered)"),
    sim("tcp.refusal-ambiguous", "a TCP refusal after events written to maybe an earlier life"),
    sim("tcp.refusal-repeated", "a TCP receiver refused again a resent number it had refused"),
    sim("tcp.refused", "a TCP call ended refused by a receiver that is not the owner"),
    sim("tcp.resend-mid-stream", "a TCP reconnect resent events still unacknowledged"),
    sim("tcp.stale-stream", "a TCP receiver turned away a hello of an older life or retired stream"),
];

#[cfg(feature = "probes")]
thread_local! {
    /// The hits of the run collecting on this thread, if one is.
    static HITS: std::cell::RefCell<Option<BTreeMap<&'static str, u64>>> = const { std::cell::RefCell::new(None) };
    /// Told of every hit on this thread while [`observe`] runs: a harness attributes each hit
    /// to what it is running at that moment (a node's life, say).
    static HOOK: std::cell::RefCell<Option<Hook>> = const { std::cell::RefCell::new(None) };
}

/// What [`observe`] is told each hit with.
pub type Hook = Box<dyn FnMut(&'static str)>;

/// Counts one hit of probe `name` (what `probe!` expands to).
#[inline(always)]
pub fn hit(name: &'static str) {
    #[cfg(feature = "probes")]
    HITS.with(|hits| {
        if let Some(hits) = hits.borrow_mut().as_mut() {
            *hits.entry(name).or_default() += 1;
        }
    });
    #[cfg(feature = "probes")]
    HOOK.with(|hook| {
        if let Some(hook) = hook.borrow_mut().as_mut() {
            hook(name);
        }
    });
    #[cfg(not(feature = "probes"))]
    let _ = name;
}

/// Runs `f`, counting the probes hit on this thread meanwhile: its value and the hits, by name
/// (empty without the `probes` feature).
pub fn collect<T>(f: impl FnOnce() -> T) -> (T, BTreeMap<&'static str, u64>) {
    #[cfg(feature = "probes")]
    {
        let outer = HITS.with(|hits| hits.replace(Some(BTreeMap::new())));
        let value = f();
        let hits = HITS.with(|hits| hits.replace(outer)).unwrap_or_default();
        (value, hits)
    }
    #[cfg(not(feature = "probes"))]
    (f(), BTreeMap::new())
}

/// Runs `f`, telling `hook` the name of every probe hit on this thread meanwhile (nothing
/// without the `probes` feature). The hook must not hit probes itself.
pub fn observe<T>(hook: Hook, f: impl FnOnce() -> T) -> T {
    #[cfg(feature = "probes")]
    {
        let outer = HOOK.with(|slot| slot.replace(Some(hook)));
        let value = f();
        HOOK.with(|slot| slot.replace(outer));
        value
    }
    #[cfg(not(feature = "probes"))]
    {
        drop(hook);
        f()
    }
}

/// The names of the probes a simulation can reach ([`Reach::Simulated`]), in name order: those
/// a simulated sweep's coverage ledger counts, and the sims suite must reach.
pub fn simulated() -> impl Iterator<Item = &'static str> {
    ALL.iter().filter(|probe| probe.reach == Reach::Simulated).map(|probe| probe.name)
}

/// Whether this build counts probes.
pub const ENABLED: bool = cfg!(feature = "probes");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_unique() {
        assert!(ALL.windows(2).all(|w| w[0].name < w[1].name), "{ALL:?}");
    }

    /// Real-only is a property of the code a probe sits in, not a way out of the suite's check:
    /// the NATS transport's probes are the real-only ones (it runs against a real broker, in
    /// real mode only), and every other probe is simulated.
    #[test]
    fn the_real_only_probes_are_exactly_those_of_the_nats_transport() {
        for probe in ALL {
            let nats = probe.name.starts_with("nats.");
            assert_eq!(probe.reach == Reach::RealOnly, nats, "{probe:?}");
        }
        assert!(simulated().all(|name| !name.starts_with("nats.")));
        assert_eq!(simulated().count(), ALL.iter().filter(|p| p.reach == Reach::Simulated).count());
    }

    #[test]
    fn every_probe_is_named_area_dot_what_and_has_a_doc() {
        for probe in ALL {
            let (area, what) = probe.name.split_once('.').unwrap_or_default();
            let lower = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_lowercase() || c == '-');
            assert!(lower(area) && lower(what), "{probe:?}");
            assert!(!probe.doc.is_empty() && !probe.doc.contains('\n'), "{probe:?}");
        }
    }

    #[test]
    fn hits_are_counted_only_while_collecting_and_only_with_the_feature() {
        probe!("tcp.ack-timeout");
        let ((), hits) = collect(|| {
            probe!("tcp.ack-timeout");
            probe!("tcp.ack-timeout");
            probe!("handover.staged");
        });
        if ENABLED {
            assert_eq!(
                hits.into_iter().collect::<Vec<_>>(),
                [("handover.staged", 1), ("tcp.ack-timeout", 2)]
            );
        } else {
            assert!(hits.is_empty());
        }
    }

    #[test]
    fn an_observer_is_told_each_hit_while_it_observes() {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let tell = seen.clone();
        observe(Box::new(move |name| tell.borrow_mut().push(name)), || {
            probe!("tcp.busy-retry");
            probe!("handover.staged");
        });
        probe!("tcp.busy-retry");
        let expected: &[&str] = if ENABLED { &["tcp.busy-retry", "handover.staged"] } else { &[] };
        assert_eq!(*seen.borrow(), expected);
    }
}
