//! Guided exploration's transport twin: a corpus entry that reached a probe of one bundled
//! transport, run again on the other. The transports handle the same failures in their own
//! code (`tcp.busy-retry` and `grpc.busy-retry`, `tcp.deadline-ambiguous` and
//! `grpc.deadline-unanswered`), so the settings and faults that led one transport into a rare
//! branch are the likeliest to lead the other into its own. Swarm draws the transport blindly
//! (a quarter of its variants run gRPC) and a re-draw of one dimension rarely picks it, so
//! without the twin a sweep can reach a branch on TCP and never try its gRPC side.
//!
//! Beyond the schedule's draws of the twin as an operator, an entry that found a probe of its
//! transport gets its twin undrawn, once, while the other transport still has a probe no run
//! of the sweep reached: the twin spends a run where coverage can still grow.

use shipper::probes::simulated;

use crate::scenario::{Scenario, TransportKind, to_yaml};
use crate::search::ledger::Ledger;

/// The bundled transport a probe belongs to, by its name's prefix (`tcp.` or `grpc.`).
fn transport_of(probe: &str) -> Option<TransportKind> {
    let (prefix, _) = probe.split_once('.')?;
    TransportKind::ALL.into_iter().find(|kind| kind.name() == prefix)
}

/// The transport a variant runs on.
fn kind(s: &Scenario) -> TransportKind {
    s.transport.kind.unwrap_or_default()
}

/// The first corpus entry (its scenario and what it found first, in corpus order) not in
/// `done` that found a probe of its own transport (a probe, not only a pair) while the other
/// transport has a probe `ledger` never counted.
pub(super) fn due<'a>(
    corpus: impl IntoIterator<Item = (&'a Scenario, &'a [String])>,
    ledger: &Ledger,
    done: &[bool],
) -> Option<usize> {
    let unreached = |kind: TransportKind| {
        simulated()
            .any(|p| transport_of(p) == Some(kind) && ledger.probes.get(p).is_none_or(|t| t.seeds == 0))
    };
    corpus.into_iter().enumerate().position(|(i, (scenario, novel))| {
        let own = kind(scenario);
        !done.get(i).copied().unwrap_or(false)
            && novel.iter().any(|item| !item.contains(" + ") && transport_of(item) == Some(own))
            && TransportKind::ALL.into_iter().any(|other| other != own && unreached(other))
    })
}

/// `parent` on the other bundled transport, everything else kept; `None` when `base` names its
/// transport (a scenario written for one transport stays on it, as swarm keeps it) or the
/// result is not a valid scenario.
pub(super) fn twin(base: &Scenario, parent: &Scenario) -> Option<Scenario> {
    if base.transport.kind.is_some() {
        return None;
    }
    let mut child = parent.clone();
    child.transport.kind = match kind(parent) {
        TransportKind::Tcp => Some(TransportKind::Grpc),
        TransportKind::Grpc => None,
        TransportKind::Nats => return None,
    };
    crate::parse(&to_yaml(&child), "<guided>").ok().filter(|valid| valid != parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(scenario: Scenario, novel: &[&str]) -> (Scenario, Vec<String>) {
        (scenario, novel.iter().map(|s| s.to_string()).collect())
    }

    fn due_in(corpus: &[(Scenario, Vec<String>)], ledger: &Ledger, done: &[bool]) -> Option<usize> {
        due(corpus.iter().map(|(s, novel)| (s, novel.as_slice())), ledger, done)
    }

    #[test]
    fn a_twin_swaps_the_transport_and_keeps_the_rest() {
        let base = crate::bundled::scenario("partition-heal");
        let on_grpc = twin(&base, &base).expect("partition-heal leaves its transport open");
        assert_eq!(on_grpc.transport.kind, Some(TransportKind::Grpc));
        let mut same = on_grpc.clone();
        same.transport.kind = None;
        assert_eq!(same, base, "only the transport changed");
        let back = twin(&base, &on_grpc).expect("and back");
        assert_eq!(back, base);
        let mut named = base.clone();
        named.transport.kind = Some(TransportKind::Tcp);
        assert_eq!(twin(&named, &named), None, "a scenario that names its transport keeps it");
    }

    /// Due: an entry that found a probe of its transport, while the other has one unreached;
    /// not once twinned, not for a pair alone, not once the other transport is covered.
    #[test]
    fn an_entry_is_due_while_the_other_transport_has_an_unreached_probe() {
        let base = crate::bundled::scenario("partition-heal");
        let corpus = vec![
            entry(base.clone(), &["router.replan-stale"]),
            entry(base.clone(), &["tcp.busy-retry + tcp.refused"]),
            entry(base.clone(), &["tcp.busy-retry"]),
            entry(base.clone(), &["tcp.refused"]),
        ];
        let mut ledger = Ledger::default();
        assert_eq!(due_in(&corpus, &ledger, &[]), Some(2));
        assert_eq!(due_in(&corpus, &ledger, &[false, false, true]), Some(3));
        assert_eq!(due_in(&corpus, &ledger, &[false, false, true, true]), None);
        let every_grpc: Vec<String> =
            simulated().filter(|p| transport_of(p) == Some(TransportKind::Grpc)).map(str::to_owned).collect();
        assert!(!every_grpc.is_empty());
        ledger.add(7, &every_grpc);
        assert_eq!(due_in(&corpus, &ledger, &[]), None, "every gRPC probe reached: no twin is due");
        // The other way: an entry on gRPC is due while TCP has a probe unreached.
        let mut on_grpc = base.clone();
        on_grpc.transport.kind = Some(TransportKind::Grpc);
        let from_grpc = vec![entry(on_grpc.clone(), &["tcp.refused"]), entry(on_grpc, &["grpc.busy-retry"])];
        assert_eq!(due_in(&from_grpc, &ledger, &[]), Some(1), "a TCP probe found on gRPC is not its own");
        let every_tcp: Vec<String> =
            simulated().filter(|p| transport_of(p) == Some(TransportKind::Tcp)).map(str::to_owned).collect();
        ledger.add(8, &every_tcp);
        assert_eq!(due_in(&from_grpc, &ledger, &[]), None);
    }
}
