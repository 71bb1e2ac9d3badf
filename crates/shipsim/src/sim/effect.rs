//! Whether each fault had an effect, from what the harness observed itself: the messages on
//! turmoil's wire when the fault came ([`Observed`]), the ship calls, connection attempts and
//! deliveries it recorded, the routes it computed usable, and the checkers' own placement
//! oracle; never from what the system under test reports. A fault that did nothing (a partition
//! of an idle link, a crash of an idle node, a hold that held no byte) tested nothing: a sweep
//! that only has such faults is green for no reason (docs/exploring.md, "Faults that did
//! nothing").

use std::collections::BTreeMap;
use std::net::IpAddr;

use shipsim_trace::{FaultAction, FaultEffect, FaultLinks, LifeState, Micros, Record, Text};

use super::traffic::{Traffic, Way};

/// What the runner saw of the network just before each fault (one entry per `fault` record, the
/// settle phase's healing included), and what each reorder reordered.
#[derive(Debug, Default)]
pub(super) struct Observed {
    /// Messages on the wire per directed pair.
    in_flight: Vec<BTreeMap<Way, usize>>,
    /// Per reorder, by fault index: the held messages it delivered.
    reordered: BTreeMap<usize, usize>,
}

impl Observed {
    /// Notes the messages on the wire now, before the next fault.
    pub(super) fn before_fault(&mut self, sim: &turmoil::Sim<'_>) {
        let mut pairs: Vec<(IpAddr, IpAddr)> = Vec::new();
        sim.links(|links| {
            for link in links {
                pairs.extend(link.map(|sent| (sent.pair().0.ip(), sent.pair().1.ip())));
            }
        });
        let mut counts: BTreeMap<Way, usize> = BTreeMap::new();
        for (src, dst) in pairs {
            if let (Some(src), Some(dst)) = (sim.reverse_lookup(src), sim.reverse_lookup(dst)) {
                *counts.entry((Text::from(src), Text::from(dst))).or_default() += 1;
            }
        }
        self.in_flight.push(counts);
    }

    /// The fault just noted was a reorder that delivered `messages` held messages.
    pub(super) fn reordered(&mut self, messages: usize) {
        self.reordered.insert(self.in_flight.len().saturating_sub(1), messages);
    }

    /// Messages on the wire before fault `k` that go one of `ways`.
    fn on_wire(&self, k: usize, mut ways: impl FnMut(&Text, &Text) -> bool) -> usize {
        self.in_flight.get(k).map_or(0, |m| m.iter().filter(|((a, b), _)| ways(a, b)).map(|(_, n)| n).sum())
    }
}

/// One `fault-effect` record per scripted `fault` record `traffic` took in, stamped `t`.
pub(super) fn effects(traffic: &Traffic, observed: &Observed, shards: u32, t: Micros) -> Vec<Record> {
    let mut members: Vec<Text> = traffic.members.clone();
    let mut out = Vec::with_capacity(traffic.faults.len());
    for (k, fault) in traffic.faults.iter().enumerate() {
        let Record::Fault { t: at, action, .. } = &fault.record else { continue };
        // The settle phase's healing is the harness's, not the scenario's.
        if matches!(**action, FaultAction::Settle { .. }) {
            continue;
        }
        let judge = Judge { traffic, observed, k };
        let (effect, why) = match &**action {
            FaultAction::Join(_) | FaultAction::Leave(_) => judge.membership(&mut members, shards),
            action => judge.judge(action, fault.links()),
        };
        let fault = u32::try_from(k).unwrap_or(u32::MAX);
        out.push(Record::FaultEffect(Box::new(FaultEffect { t, fault, at: *at, effect, why })));
    }
    out
}

/// Judges fault `k`.
struct Judge<'a> {
    traffic: &'a Traffic,
    observed: &'a Observed,
    k: usize,
}

impl Judge<'_> {
    fn judge(&self, action: &FaultAction, links: &FaultLinks) -> (bool, String) {
        match action {
            FaultAction::Partition(_)
            | FaultAction::PartitionOneway { .. }
            | FaultAction::DropRoute { .. }
            | FaultAction::Hold(_) => self.cut(links),
            FaultAction::Loss { rate, .. } if *rate > 0.0 => self.cut(links),
            FaultAction::Crash(node) | FaultAction::Bounce(node) => self.crash(node),
            FaultAction::Clock { node, skew_ppm: Some(_), .. } => self.skew(node),
            FaultAction::Clock { node, .. } => self.clock(node),
            FaultAction::Restart(node) => self.restart(node),
            FaultAction::Release(link) => {
                let held = self.observed.on_wire(self.k, |a, b| on_link(link, a, b));
                if held > 0 { (true, format!("released {held} held messages")) } else { self.heal(links) }
            }
            FaultAction::Latency { link, .. } => self.touched(link),
            FaultAction::Loss { link, .. } => self.touched(link),
            FaultAction::Reorder(_) => match self.observed.reordered.get(&self.k).copied().unwrap_or(0) {
                n @ 2.. => (true, format!("delivered {n} held messages in a new order")),
                n => (false, format!("{n} messages held: nothing to reorder")),
            },
            FaultAction::Heal(_) | FaultAction::RestoreRoute { .. } | FaultAction::Settle { .. } => {
                self.heal(links)
            }
            FaultAction::Join(_) | FaultAction::Leave(_) | FaultAction::Pause { .. } => {
                (false, "not carried out by a simulation".into())
            }
        }
    }

    /// The remote calls in flight at the fault that go one of `ways`.
    fn open_calls(&self, ways: impl Fn(&Text, &Text) -> bool) -> usize {
        self.traffic.faults[self.k].open.iter().filter(|(a, b)| ways(a, b)).count()
    }

    /// A fault that cut routes: calls or messages in flight over them, or anything crossing
    /// them until they are usable again (bytes a hold held included).
    fn cut(&self, links: &FaultLinks) -> (bool, String) {
        if links.cut.is_empty() {
            return (false, "cut no route that was usable".into());
        }
        let cut = |a: &Text, b: &Text| links.cut.iter().any(|[from, to]| from == a && to == b);
        let either = |a: &Text, b: &Text| cut(a, b) || cut(b, a);
        let calls = self.open_calls(cut);
        if calls > 0 {
            return (true, format!("cut {calls} calls in flight"));
        }
        let wire = self.observed.on_wire(self.k, either);
        if wire > 0 {
            return (true, format!("cut {wire} messages in flight"));
        }
        let healed_k = self.healed_at(links);
        let crossed = self.traffic.crossed(self.k, healed_k, cut);
        if crossed > 0 {
            return (true, format!("{crossed} ships, connection attempts or deliveries tried it while cut"));
        }
        let held = healed_k.map_or(0, |k| self.observed.on_wire(k, either));
        if held > 0 {
            return (true, format!("{held} messages stuck when healed"));
        }
        (false, "cut idle routes: nothing was in flight or tried them while cut".into())
    }

    /// The index of the first later fault that made every pair `links` cut usable again
    /// (`None`, the end of the run, when none did).
    fn healed_at(&self, links: &FaultLinks) -> Option<usize> {
        let later = self.traffic.faults.iter().enumerate().skip(self.k + 1);
        later
            .map(|(k, fault)| (k, fault.links()))
            .find_map(|(k, after)| links.cut.iter().all(|pair| after.healed.contains(pair)).then_some(k))
    }

    /// What of `node` was in flight at the fault, said for the report: calls from or to it
    /// (`calls_note` after), else messages on the wire to or from it (`wire_note` after);
    /// `None` when the node was idle.
    fn in_flight(&self, node: &Text, calls_note: &str, wire_note: &str) -> Option<String> {
        let touches = |a: &Text, b: &Text| a == node || b == node;
        match self.open_calls(touches) {
            0 => match self.observed.on_wire(self.k, touches) {
                0 => None,
                wire => Some(format!("{wire} messages from or to {node} in flight{wire_note}")),
            },
            calls => Some(format!("{calls} calls from or to {node} in flight{calls_note}")),
        }
    }

    /// A crash: calls in flight from or to the node, or messages on the wire to or from it.
    fn crash(&self, node: &Text) -> (bool, String) {
        match self.in_flight(node, "", "") {
            Some(why) => (true, why),
            None => (false, format!("{node} was idle: no call and no message in flight")),
        }
    }

    /// A clock jump: calls from or to the node in flight (their deadline, ack and accept timers
    /// ran on its clock and came nearer), or messages on the wire to or from it (an answer
    /// awaited). A jump of an idle node moved only timers that wait for nothing in flight.
    fn clock(&self, node: &Text) -> (bool, String) {
        match self.in_flight(node, ": their timers came nearer", ", answers awaited") {
            Some(why) => (true, why),
            None => (
                false,
                format!("{node} was idle: no call and no message in flight whose timer the jump moved"),
            ),
        }
    }

    /// A skew (or its end): it changes the pace of every timer of the node from now until the
    /// node's next skew, so it had an effect if anything of the node was in flight at the fault
    /// (as for a jump) or the node called, connected or was delivered to while it lasted. A
    /// skew of a node that stayed idle paced only timers that waited for nothing.
    fn skew(&self, node: &Text) -> (bool, String) {
        if let Some(why) = self.in_flight(node, ": their timers change pace", ", answers awaited") {
            return (true, why);
        }
        let later = self.traffic.faults.iter().enumerate().skip(self.k + 1);
        let next_skew = later.map(|(k, f)| (k, &f.record)).find_map(|(k, record)| match record {
            Record::Fault { action, .. } => action.clock_skew().filter(|(n, _)| *n == node).map(|_| k),
            _ => None,
        });
        let touches = |a: &Text, b: &Text| a == node || b == node;
        match self.traffic.crossed(self.k, next_skew, touches) {
            0 => (false, format!("{node} stayed idle while its clock ran at this pace")),
            n => {
                (true, format!("{n} ships, connection attempts or deliveries from or to {node} at this pace"))
            }
        }
    }

    /// A restart: a new life of the node began (the node's next `life` record is an `up`; the
    /// host's software starts at the step after the fault).
    fn restart(&self, node: &Text) -> (bool, String) {
        match self.traffic.faults[self.k].next_life.get(node) {
            Some(LifeState::Up) => (true, format!("{node} started a new life")),
            _ => (false, format!("{node} did not start")),
        }
    }

    /// A heal: routes usable again.
    fn heal(&self, links: &FaultLinks) -> (bool, String) {
        match links.healed.len() {
            0 => (false, "made no route usable again".into()),
            n => (true, format!("made {n} routes usable again")),
        }
    }

    /// A change to a link's latency or loss: messages on it, or anything crossing it before the
    /// settle phase's healing.
    fn touched(&self, link: &[Text; 2]) -> (bool, String) {
        let either = |a: &Text, b: &Text| on_link(link, a, b);
        let wire = self.observed.on_wire(self.k, either);
        let settle = self.traffic.faults.len().checked_sub(1);
        let crossed = self.traffic.crossed(self.k, settle, either);
        match wire + crossed {
            0 => (false, "no message crossed the link".into()),
            n => (true, format!("{n} messages, ships or connection attempts crossed the link")),
        }
    }

    /// A membership change: the shards it moved, by the checkers' placement oracle.
    fn membership(&self, members: &mut Vec<Text>, shards: u32) -> (bool, String) {
        let Some(after) = self.traffic.faults[self.k].membership.clone() else {
            return (false, "changed no membership".into());
        };
        let moved = shipsim_check::shards_moved(members, &after, shards).len();
        *members = after;
        match moved {
            0 => (false, "moved no shard".into()),
            n => (true, format!("moved {n} shards")),
        }
    }
}

/// Whether `a` to `b` goes over `link`, either way.
fn on_link(link: &[Text; 2], a: &Text, b: &Text) -> bool {
    (&link[0] == a && &link[1] == b) || (&link[0] == b && &link[1] == a)
}

#[cfg(test)]
mod tests {
    use shipsim_trace::Record;

    /// Each judged fault of a trace: its number, whether it had an effect, and why.
    fn effects(records: &[Record]) -> Vec<(u32, bool, String)> {
        records
            .iter()
            .filter_map(|r| match r {
                Record::FaultEffect(e) => Some((e.fault, e.effect, e.why.clone())),
                _ => None,
            })
            .collect()
    }

    /// The same kinds of fault, once while the cluster works and once after its workload is
    /// done: the first have an effect, the second did nothing, and the report counts them.
    #[test]
    fn faults_on_a_busy_cluster_have_an_effect_and_on_an_idle_one_none() {
        let scenario = crate::parse(
            "name: idle-faults\nnodes: [n1, n2, n3]\nduration: 30s\nworkload: {events: 60, rate: 100/s}\n\
             faults:\n\
             - {at: 200ms, partition: [[n1], [n2, n3]]}\n- {at: 300ms, crash: n2}\n\
             - {at: 400ms, heal: all}\n- {at: 500ms, restart: n2}\n\
             - {at: 10s, partition: [[n1], [n3]]}\n- {at: 11s, crash: n3}\n\
             - {at: 12s, hold: [n1, n2]}\n- {at: 13s, release: [n1, n2]}\n\
             - {at: 14s, latency: {link: [n1, n2], value: 5ms..20ms}}\n",
            "idle-faults.yaml",
        )
        .unwrap();
        let result = crate::sim::run(&scenario, 1).unwrap();
        let effects = effects(&result.records);
        let judged: Vec<(u32, bool)> = effects.iter().map(|(k, effect, _)| (*k, *effect)).collect();
        let expected = [
            (0, true),
            (1, true),
            (2, true),
            (3, true),
            (4, false),
            (5, false),
            (6, false),
            (7, true),
            (8, false),
        ];
        assert_eq!(judged, expected, "{effects:#?}");
        assert!(effects[1].2.contains("calls from or to n2 in flight"), "{effects:#?}");
        assert!(effects[5].2.contains("n3 was idle"), "{effects:#?}");
        let counts = shipsim_trace::Counts::of(&result.records);
        assert_eq!((counts.faults_judged, counts.faults_idle), (9, 4));
    }

    /// A skew of a node idle at the fault had an effect if the node shipped while it lasted
    /// (n1 idle until its workload starts, only n1 sends), none if it stayed idle until its
    /// next skew (n2 receives nothing: it is no member); its end (`0%`) is judged the same way.
    #[test]
    fn a_skew_had_an_effect_if_the_node_worked_while_it_lasted() {
        let scenario = crate::parse(
            "name: skews\nnodes: [n1, n2, n3]\nduration: 30s\nmembers: [n3]\nshards: 1\n\
             workload: {events: 60, rate: 100/s, senders: [n1]}\n\
             faults:\n\
             - {at: 0s, clock: {node: n1, skew: +20%}}\n- {at: 0s, clock: {node: n2, skew: -20%}}\n\
             - {at: 10s, clock: {node: n2, skew: 0%}}\n",
            "skews.yaml",
        )
        .unwrap();
        let result = crate::sim::run(&scenario, 1).unwrap();
        let effects = effects(&result.records);
        assert_eq!(effects.iter().map(|e| e.1).collect::<Vec<_>>(), [true, false, false], "{effects:#?}");
        assert!(effects[0].2.contains("from or to n1 at this pace"), "{effects:#?}");
        assert!(effects[1].2.contains("n2 stayed idle"), "{effects:#?}");
    }
}
