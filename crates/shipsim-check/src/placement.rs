//! Placement: every event goes to its shard's owner under the shard map its
//! sender planned with, and a node that knows it no longer owns a shard
//! accepts nothing for it.
//!
//! The owners come from the `oracle` module, computed from the trace alone:
//! the `Start` record's shard count and initial members (epoch 0), and each
//! `Membership` record's epoch and members. Nothing the router says about
//! placement is trusted; the `shard` of each shipped event and the `moved`
//! list of each `Adopt` are claims the rules check. Rules:
//! - `shard`: a shipped event's shard is not `fnv1a_64(key) % shards`;
//! - `unknown-epoch`: a `ShipBegin` or `Adopt` names an epoch no
//!   `Membership` announced before it (or a member list is missing);
//! - `wrong-owner`: a `ShipBegin`'s destination is not the owner of an
//!   event's shard under the batch's epoch;
//! - `non-owner-accepted`: node N accepted an event shipped with epoch `e_s`
//!   while N had adopted an epoch `e_r >= e_s` under which N does not own
//!   the shard: it knew better. For a remote delivery N's epoch is taken at
//!   the `Deliver` record; for a local one (N shipped to itself, where no
//!   receiver can refuse) at the `ShipBegin`, when the router handed it over;
//! - `moves`: an `Adopt`'s `moved` shards are not exactly those whose owner
//!   differs between the node's previous epoch and the adopted one (a join
//!   must move only the shards the joiner wins, a leave only the leaver's);
//! - `stale-at-end`: a node still running at the end of the run has not
//!   adopted the final epoch.
//!
//! Skipped when the `Start` record says `placement: ignore` or names no
//! shard count (a trace written before placement was recorded).
//!
//! Cost: O(R + E·M) for R records, E shipped events and M members.

use std::collections::BTreeMap;

use shipsim_trace::{EventRef, LifeState, Micros, Phase, PlacementRule, Record};
#[cfg(test)]
use shipsim_trace::{Invariant, Violation};

use crate::findings::Findings;
use crate::index::{Delivery, Index, Item, NONE, Shipped};
use crate::oracle::{Members, shard_of};
use shipsim_trace::fmt_t;

/// Checks placement, whatever the trace's `Start` says (except a missing shard count).
#[cfg(test)]
pub(crate) fn check(records: &[Record]) -> Vec<Violation> {
    crate::fixtures::check_one(records, Invariant::Placement, run)
}

/// What a node has adopted in its current life.
#[derive(Clone, Copy)]
struct Adopted {
    life: u32,
    epoch: u64,
}

/// The epochs announced so far and the nodes' adopted maps, as the pass reaches them.
struct State<'a> {
    shards: u32,
    epochs: BTreeMap<u64, Members>,
    adopted: BTreeMap<&'a str, Adopted>,
    running: BTreeMap<&'a str, bool>,
    /// Whether the trace records adoptions at all (a trace from another system may not).
    any_adopt: bool,
}

impl State<'_> {
    fn owner(&self, epoch: u64, shard: u32) -> Option<&str> {
        self.epochs.get(&epoch).and_then(|m| m.owner(shard))
    }

    /// The epoch `node` has adopted in `life`, if it adopted any.
    fn adopted(&self, node: &str, life: u32) -> Option<u64> {
        self.adopted.get(node).filter(|a| a.life == life).map(|a| a.epoch)
    }
}

pub(crate) fn run(index: &Index, findings: &mut Findings) {
    let Some(start) = index.start() else { return };
    if start.shards == 0 {
        return;
    }
    let initial = if start.members.is_empty() { &start.nodes } else { &start.members };
    let mut state = State {
        shards: start.shards,
        epochs: BTreeMap::from([(0, Members::new(initial))]),
        adopted: BTreeMap::new(),
        running: BTreeMap::new(),
        any_adopt: false,
    };
    let mut end_t: Option<Micros> = None;
    for item in index.items() {
        match item {
            Item::Other(Record::Membership { epoch, members, .. }) => {
                state.epochs.insert(*epoch, Members::new(members));
            }
            Item::Other(Record::Life { node, state: life_state, .. }) => {
                state.running.insert(node, *life_state == LifeState::Up);
            }
            Item::Other(Record::Adopt { t, node, life, epoch, moved }) => {
                state.any_adopt = true;
                adopt(&mut state, findings, *t, node, *life, *epoch, moved);
            }
            Item::Begin(b) => {
                let (node, dst) = (index.name(b.node), index.name(b.dst));
                let begin =
                    Begin { t: b.t, node, life: b.life, batch: b.batch, dst, local: b.local, epoch: b.epoch };
                ship_begin(index, &state, &begin, index.events(&b), findings);
            }
            Item::Deliver(d) => deliver(index, &state, &d, d.t, index.name(d.node), d.life, findings),
            Item::Other(Record::Phase { t, phase: Phase::End }) => end_t = Some(*t),
            _ => {}
        }
    }
    stale_at_end(&state, findings, end_t);
}

/// A `ShipBegin` record, as placement reads it (its events aside).
struct Begin<'r> {
    t: Micros,
    node: &'r str,
    life: u32,
    batch: u64,
    dst: &'r str,
    local: bool,
    epoch: u64,
}

impl Begin<'_> {
    /// How a report names event `i` of the batch.
    fn event_ref(&self, i: usize, event: &Shipped) -> EventRef {
        EventRef { id: event.id, node: self.node.to_string(), batch: self.batch, index: i as u32 }
    }
}

/// A `ShipBegin`: its epoch must be known, and each event's shard right (`shard`)
/// and sent to that shard's owner (`wrong-owner`); a local batch must not hand its
/// sender what it knows it no longer owns (`non-owner-accepted`).
fn ship_begin(
    index: &Index,
    state: &State<'_>,
    begin: &Begin<'_>,
    events: impl Iterator<Item = Shipped>,
    findings: &mut Findings,
) {
    let Some(members) = state.epochs.get(&begin.epoch) else {
        let Begin { t, node, batch, epoch, .. } = *begin;
        findings.add(t, PlacementRule::UnknownEpoch, || {
            (
                None,
                "a batch planned with an epoch announced before it".into(),
                format!("{node} batch {batch} planned with epoch {epoch}, never announced"),
            )
        });
        return;
    };
    // A local batch is accepted as it is handed over: the sender
    // must not hand itself what it knows it no longer owns.
    let knows =
        if begin.local { state.adopted(begin.node, begin.life).filter(|e| *e > begin.epoch) } else { None };
    for (i, event) in events.enumerate() {
        let key = index.key(event);
        let shard = shard_of(key, state.shards);
        if shard != event.shard {
            findings.add(begin.t, PlacementRule::Shard, || {
                (
                    Some(begin.event_ref(i, &event)),
                    format!("key {key:?} in shard {shard} of {}", state.shards),
                    format!("shipped as shard {}", event.shard),
                )
            });
        }
        let owner = members.owner(shard);
        if owner != Some(begin.dst) {
            findings.add(begin.t, PlacementRule::WrongOwner, || {
                (
                    Some(begin.event_ref(i, &event)),
                    format!(
                        "shard {shard} to its owner {} under epoch {}",
                        owner.unwrap_or("(none)"),
                        begin.epoch
                    ),
                    format!("shipped to {}", begin.dst),
                )
            });
        }
        if let Some(known) = knows {
            handed_to_itself(state, begin, known, i, &event, shard, findings);
        }
    }
}

/// `non-owner-accepted` for event `i` of a local batch whose sender had adopted
/// epoch `known`, newer than the batch's: it must own `shard` under `known`.
fn handed_to_itself(
    state: &State<'_>,
    begin: &Begin<'_>,
    known: u64,
    i: usize,
    event: &Shipped,
    shard: u32,
    findings: &mut Findings,
) {
    let now_owner = state.owner(known, shard);
    if now_owner == Some(begin.node) {
        return;
    }
    let (node, epoch) = (begin.node, begin.epoch);
    findings.add(begin.t, PlacementRule::NonOwnerAccepted, || {
        (
            Some(begin.event_ref(i, event)),
            format!(
                "{node}, on epoch {known} where {} owns shard {shard}, not to hand it to itself",
                now_owner.unwrap_or("(none)")
            ),
            format!("handed to its own sink under the plan of epoch {epoch}"),
        )
    });
}

/// `non-owner-accepted` for a remote delivery `d` (its record at `t`, to `node` in
/// `life`): if the receiver had adopted an epoch at least as new as the one the
/// batch was planned with, it must own the event's shard under it.
fn deliver(
    index: &Index,
    state: &State<'_>,
    d: &Delivery,
    t: Micros,
    node: &str,
    life: u32,
    findings: &mut Findings,
) {
    if d.shipment == NONE {
        return; // the delivery invariant reports a delivery of nothing shipped
    }
    let batch = index.batch_of(d.shipment);
    if batch.local {
        return; // judged at its `ShipBegin`
    }
    let sent_epoch = &batch.epoch;
    let Some(known) = state.adopted(node, life).filter(|e| e >= sent_epoch) else { return };
    let (event, _) = index.event_of(d.shipment);
    let shard = shard_of(index.key(event), state.shards);
    let owner = state.owner(known, shard);
    if owner == Some(node) {
        return;
    }
    let g = d.shipment;
    findings.add(t, PlacementRule::NonOwnerAccepted, || {
        (
            Some(index.event_ref(g)),
            format!(
                "{node}, on epoch {known} where {} owns shard {shard}, to refuse it",
                owner.unwrap_or("(none)")
            ),
            format!("accepted it (shipped under epoch {sent_epoch})"),
        )
    });
}

/// An `Adopt`: the epoch must be known and its moves exactly the oracle's.
fn adopt<'a>(
    state: &mut State<'a>,
    findings: &mut Findings,
    t: Micros,
    node: &'a str,
    life: u32,
    epoch: u64,
    moved: &[u32],
) {
    let Some(now) = state.epochs.get(&epoch) else {
        findings.add(t, PlacementRule::UnknownEpoch, || {
            (
                None,
                "an adopted epoch announced before it".into(),
                format!("{node} adopted epoch {epoch}, never announced"),
            )
        });
        return;
    };
    let previous = state.adopted(node, life);
    let expected = match previous.and_then(|p| state.epochs.get(&p)) {
        Some(before) => before.moved_to(now, state.shards),
        None => Vec::new(), // the first map of a life moves nothing
    };
    if expected != moved {
        findings.add(t, PlacementRule::Moves, || {
            (
                None,
                format!(
                    "{node} moving shards {expected:?} from epoch {} to {epoch}",
                    previous.map_or("(none)".to_owned(), |p| p.to_string())
                ),
                format!("its map moved {moved:?}"),
            )
        });
    }
    // A map never goes backwards; an older one adopted late changes nothing here.
    if previous.is_none_or(|p| epoch >= p) {
        state.adopted.insert(node, Adopted { life, epoch });
    }
}

/// Every node still running at the end must be on the final epoch.
fn stale_at_end(state: &State<'_>, findings: &mut Findings, end_t: Option<Micros>) {
    let Some(end) = end_t else { return };
    if !state.any_adopt {
        return; // a trace that predates adoption records: nothing to judge
    }
    let Some((&last, _)) = state.epochs.last_key_value() else { return };
    for (node, running) in &state.running {
        if !running {
            continue;
        }
        let epoch = state.adopted.get(node).map(|a| a.epoch);
        // (A life that adopted nothing has `None`: its start record is missing.)
        if epoch.is_some_and(|e| e >= last) {
            continue;
        }
        findings.add(end, PlacementRule::StaleAtEnd, || {
            (
                None,
                format!("{node} on the final epoch {last} by the end of the run ({})", fmt_t(end)),
                format!("it is on {}", epoch.map_or("no epoch".to_owned(), |e| format!("epoch {e}"))),
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{MS, Tb, payload};
    use shipsim_trace::{ExpectPlacement, MembershipChange, Rule, ShippedRecord, Start};

    const SHARDS: u32 = 16;

    /// A trace of `nodes`, all members at epoch 0, with placement checked.
    fn trace(nodes: &[&str]) -> Tb {
        let mut tb = Tb::new(nodes);
        if let Record::Start(start) = &mut tb.records[0] {
            let start: &mut Start = start;
            start.shards = SHARDS;
        }
        for node in nodes {
            tb.records.push(Record::Adopt { t: 0, node: (*node).into(), life: 1, epoch: 0, moved: vec![] });
        }
        tb
    }

    /// A key whose shard `members` gives to `owner`.
    fn key_owned_by(members: &[&str], owner: &str) -> String {
        let oracle = Members::new(members);
        (0..).map(|k| format!("key-{k}")).find(|k| oracle.owner(shard_of(k, SHARDS)) == Some(owner)).unwrap()
    }

    /// A `ShipBegin` of one event `id` with key `key` (its true shard unless `shard` says otherwise).
    #[allow(clippy::too_many_arguments)]
    fn begin(tb: &mut Tb, t: Micros, node: &str, batch: u64, dst: &str, epoch: u64, id: u64, key: &str) {
        let events = vec![ShippedRecord {
            id,
            key: key.into(),
            shard: shard_of(key, SHARDS),
            payload: payload(node, id).into(),
        }];
        tb.records.push(Record::ShipBegin {
            t,
            node: node.into(),
            life: 1,
            batch,
            dst: dst.into(),
            local: node == dst,
            epoch,
            events: events.into(),
        });
    }

    fn join(tb: &mut Tb, t: Micros, epoch: u64, node: &str, members: &[&str]) {
        tb.records.push(Record::Membership {
            t,
            epoch,
            change: MembershipChange::Join,
            node: node.into(),
            members: members.iter().map(|m| (*m).into()).collect(),
        });
    }

    fn adopt(tb: &mut Tb, t: Micros, node: &str, epoch: u64, moved: Vec<u32>) {
        tb.records.push(Record::Adopt { t, node: node.into(), life: 1, epoch, moved });
    }

    fn rules(tb: &mut Tb) -> Vec<Rule> {
        tb.phase(900 * MS, Phase::End);
        check(&tb.build()).into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn events_sent_to_their_owners_hold() {
        let all = ["n1", "n2", "n3"];
        let mut tb = trace(&all);
        for (i, owner) in all.iter().enumerate() {
            let key = key_owned_by(&all, owner);
            begin(&mut tb, 10 * MS, "n1", i as u64, owner, 0, i as u64 + 1, &key);
            tb.deliver(12 * MS, owner, 1, "n1", i as u64 + 1);
        }
        assert_eq!(rules(&mut tb), Vec::<Rule>::new());
    }

    #[test]
    fn a_batch_to_another_node_than_the_owner_is_wrong_owner() {
        let all = ["n1", "n2", "n3"];
        let mut tb = trace(&all);
        let key = key_owned_by(&all, "n2");
        begin(&mut tb, 10 * MS, "n1", 1, "n3", 0, 1, &key);
        let violations = {
            tb.phase(900 * MS, Phase::End);
            check(&tb.build())
        };
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].rule, PlacementRule::WrongOwner);
        assert!(violations[0].expected.contains("its owner n2 under epoch 0"), "{:?}", violations[0]);
        assert_eq!(violations[0].actual, "shipped to n3");
    }

    #[test]
    fn a_shard_that_is_not_the_keys_hash_is_reported() {
        let all = ["n1", "n2"];
        let mut tb = trace(&all);
        let key = key_owned_by(&all, "n2");
        begin(&mut tb, 10 * MS, "n1", 1, "n2", 0, 1, &key);
        if let Some(Record::ShipBegin { events, .. }) = tb.records.last_mut() {
            events[0].shard = (events[0].shard + 1) % SHARDS;
        }
        assert_eq!(rules(&mut tb), [PlacementRule::Shard]);
    }

    #[test]
    fn an_epoch_nobody_announced_is_unknown() {
        let all = ["n1", "n2"];
        let mut tb = trace(&all);
        begin(&mut tb, 10 * MS, "n1", 1, "n2", 1, 1, &key_owned_by(&all, "n2"));
        adopt(&mut tb, 20 * MS, "n2", 3, vec![]);
        assert_eq!(rules(&mut tb), [PlacementRule::UnknownEpoch, PlacementRule::UnknownEpoch]);
    }

    #[test]
    fn adoptions_must_move_exactly_the_shards_that_change_owner() {
        let before = ["n1", "n2", "n3"];
        let after = ["n1", "n2", "n3", "n4"];
        let moved = Members::new(&before).moved_to(&Members::new(&after), SHARDS);
        assert!(!moved.is_empty());
        let mut tb = trace(&after[..3]);
        join(&mut tb, 5 * MS, 1, "n4", &after);
        adopt(&mut tb, 6 * MS, "n1", 1, moved.clone());
        let mut extra = moved.clone();
        extra.push((0..SHARDS).find(|s| !moved.contains(s)).unwrap());
        extra.sort();
        adopt(&mut tb, 7 * MS, "n2", 1, extra);
        adopt(&mut tb, 8 * MS, "n3", 1, moved);
        // n4 is not a running node of this trace: only n1..n3 must catch up.
        assert_eq!(rules(&mut tb), [PlacementRule::Moves]);
    }

    #[test]
    fn a_receiver_that_knows_it_lost_the_shard_must_not_accept() {
        let before = ["n1", "n2", "n3"];
        let after = ["n1", "n2", "n3", "n4"];
        let (b, a) = (Members::new(&before), Members::new(&after));
        // A key n2 owns at epoch 0 and n4 wins at epoch 1.
        let key = (0..)
            .map(|k| format!("key-{k}"))
            .find(|k| {
                let s = shard_of(k, SHARDS);
                b.owner(s) == Some("n2") && a.owner(s) == Some("n4")
            })
            .unwrap();
        let moved = b.moved_to(&a, SHARDS);
        let mut late = trace(&before);
        join(&mut late, 5 * MS, 1, "n4", &after);
        // n2 learns first, then accepts an event n1 planned under epoch 0.
        adopt(&mut late, 6 * MS, "n2", 1, moved.clone());
        begin(&mut late, 7 * MS, "n1", 1, "n2", 0, 1, &key);
        late.deliver(9 * MS, "n2", 1, "n1", 1);
        for node in ["n1", "n3"] {
            adopt(&mut late, 10 * MS, node, 1, moved.clone());
        }
        assert_eq!(rules(&mut late), [PlacementRule::NonOwnerAccepted]);

        // The same delivery before n2 adopted epoch 1 is fine: it did not know.
        let mut early = trace(&before);
        join(&mut early, 5 * MS, 1, "n4", &after);
        begin(&mut early, 7 * MS, "n1", 1, "n2", 0, 1, &key);
        early.deliver(9 * MS, "n2", 1, "n1", 1);
        for node in before {
            adopt(&mut early, 10 * MS, node, 1, moved.clone());
        }
        assert_eq!(rules(&mut early), Vec::<Rule>::new());
    }

    #[test]
    fn a_node_must_not_hand_itself_a_shard_it_knows_it_lost() {
        let before = ["n1", "n2"];
        let after = ["n1", "n2", "n3"];
        let (b, a) = (Members::new(&before), Members::new(&after));
        let key = (0..)
            .map(|k| format!("key-{k}"))
            .find(|k| {
                let s = shard_of(k, SHARDS);
                b.owner(s) == Some("n1") && a.owner(s) == Some("n3")
            })
            .unwrap();
        let moved = b.moved_to(&a, SHARDS);
        let mut tb = trace(&before);
        join(&mut tb, 5 * MS, 1, "n3", &after);
        for node in before {
            adopt(&mut tb, 6 * MS, node, 1, moved.clone());
        }
        // Planned under epoch 0 before the adoption, handed over after it.
        begin(&mut tb, 7 * MS, "n1", 1, "n1", 0, 1, &key);
        tb.deliver(7 * MS, "n1", 1, "n1", 1);
        assert_eq!(rules(&mut tb), [PlacementRule::NonOwnerAccepted]);
    }

    #[test]
    fn a_running_node_left_on_an_old_epoch_is_stale_at_the_end() {
        let all = ["n1", "n2", "n3"];
        let mut tb = trace(&all[..2]);
        join(&mut tb, 5 * MS, 1, "n3", &all);
        let moved = Members::new(&all[..2]).moved_to(&Members::new(&all), SHARDS);
        adopt(&mut tb, 6 * MS, "n1", 1, moved);
        let violations = {
            tb.phase(900 * MS, Phase::End);
            check(&tb.build())
        };
        assert_eq!(violations.iter().map(|v| v.rule).collect::<Vec<_>>(), [PlacementRule::StaleAtEnd]);
        assert_eq!(violations[0].actual, "it is on epoch 0");
        assert!(violations[0].expected.starts_with("n2 on the final epoch 1"));
    }

    #[test]
    fn ignore_and_traces_without_a_shard_count_are_skipped() {
        let mut tb = trace(&["n1", "n2"]);
        begin(&mut tb, 10 * MS, "n1", 1, "n1", 0, 1, &key_owned_by(&["n1", "n2"], "n2"));
        tb.phase(900 * MS, Phase::End);
        let mut records = tb.build();
        assert_eq!(crate::summarize(&records).get(Invariant::Placement).total(), 1);
        if let Record::Start(start) = &mut records[0] {
            start.placement = ExpectPlacement::Ignore;
        }
        let summary = crate::summarize(&records);
        let result = summary.get(Invariant::Placement);
        assert_eq!(result.status, crate::Status::Skipped("expect placement: ignore".into()));
        if let Record::Start(start) = &mut records[0] {
            start.placement = ExpectPlacement::Owner;
            start.shards = 0;
        }
        let summary = crate::summarize(&records);
        assert!(
            matches!(&summary.get(Invariant::Placement).status, crate::Status::Skipped(w) if w.contains("shard count"))
        );
    }
}
