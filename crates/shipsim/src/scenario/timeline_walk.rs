//! The walk along the fault timeline: the cluster state each fault meets, and one step per
//! kind of fault that checks the fault can take effect and records what it changes.
//!
//! Routes (`drop-route`, `restore-route`) live in the sending node's process: a crash or
//! bounce of `from` ends every route it dropped (the next process reads its routes afresh,
//! as a restarted service re-reads its discovery config), so a later `restore-route` of one
//! of them restores nothing and is rejected, and a crashed node has no routes to drop.
//! Heals do not touch routes: routes are not partitions.
//!
//! Holds do not combine with partitions on the same link: turmoil keeps a single state per
//! link direction, so a hold replaces a partition (the link starts working again) and a
//! partition of a held link drops the held messages, after which a release repairs the
//! partition. Such combinations are rejected (`docs/scenarios.md` says why); a one-way partition
//! with a hold is the case users meet first, and two-way partitions behave the same way.

use std::collections::BTreeMap;
use std::time::Duration;

use shipsim_trace::FaultKind;

use super::duration::format_duration;
use super::error::{Pos, Problem};
use super::model::{FaultAction, HealTarget, Link};

/// The cluster state along the timeline. Links are keyed by their sorted ends, one-way
/// partitions by (from, to); the values are the times the state began, for messages.
#[derive(Default)]
pub(super) struct Walk {
    crashed: BTreeMap<String, Duration>,
    cut: BTreeMap<(String, String), Duration>,
    oneway: BTreeMap<(String, String), Duration>,
    held: BTreeMap<(String, String), Duration>,
    released_by_reorder: BTreeMap<(String, String), Duration>,
    /// The scenario's `network.loss`, and links given a loss rate above 0 (since when).
    network_loss: f64,
    lossy: BTreeMap<(String, String), Duration>,
    /// Routes dropped, by (from, to), and what gave back a route no longer dropped.
    dropped: BTreeMap<(String, String), Duration>,
    restored: BTreeMap<(String, String), String>,
    /// The shard map's members, with when they joined (zero for the initial ones), and when
    /// the others left.
    members: BTreeMap<String, Duration>,
    left: BTreeMap<String, Duration>,
}

const RANDOM_REPAIR: &str = "turmoil models loss as random link failures whose random repair heals both \
     directions, which would silently end a one-way partition";

/// Where an action was written: its value, and each node of a `heal:` list.
pub(super) struct ActionPos {
    pub(super) value: Pos,
    pub(super) nodes: Vec<Pos>,
}

fn key(link: &Link) -> (String, String) {
    let (a, b) = link.key();
    (a.to_owned(), b.to_owned())
}

pub(super) fn show(link: &Link) -> String {
    format!("[{}, {}]", link.a, link.b)
}

const ONE_STATE_PER_LINK: &str = "turmoil keeps one state per link direction, so partitions (one-way ones included) do not \
     combine with hold";

impl Walk {
    /// The walk's start: these initial members (joined at zero), nothing else faulted.
    pub(super) fn new(members: &[String], network_loss: f64) -> Walk {
        let members = members.iter().map(|m| (m.clone(), Duration::ZERO)).collect();
        Walk { network_loss, members, ..Walk::default() }
    }

    /// Applies an action to the state, rejecting it if it cannot take effect at `at`.
    ///
    /// Each step below handles one kind of fault and returns why it was rejected, which is
    /// reported at the action's value; only a heal points further in, at the node it names.
    pub(super) fn apply(
        &mut self,
        action: &FaultAction,
        pos: &ActionPos,
        at: Duration,
    ) -> Result<(), Problem> {
        let result = match action {
            FaultAction::Join(node) => self.join(node, at),
            FaultAction::Leave(node) => self.leave(node, at),
            FaultAction::Partition(_) => self.partition(action.cut_links(), at),
            FaultAction::PartitionOneway { from, to } => self.partition_oneway(from, to, at),
            FaultAction::Heal(target) => return self.heal(target, pos, at),
            FaultAction::Crash(node) => self.crash(node, at),
            FaultAction::Restart(node) => self.restart(node),
            FaultAction::Bounce(node) => self.bounce(node, at),
            FaultAction::Hold(link) => self.hold(link, at),
            FaultAction::Reorder(link) => self.reorder(link, at),
            FaultAction::Release(link) => self.release(link),
            FaultAction::Loss { link, rate } => self.loss(link, *rate, at),
            FaultAction::Latency { .. } => Ok(()),
            FaultAction::DropRoute { from, to } => self.drop_route(from, to, at),
            FaultAction::RestoreRoute { from, to } => self.restore_route(from, to, at),
            FaultAction::Pause { node, .. }
            | FaultAction::Clock { node, .. }
            | FaultAction::Skew { node, .. } => self.running(action.kind(), node),
        };
        result.map_err(|message| Problem::new(pos.value, message))
    }

    /// A pause stops a running process, and a clock jump or skew moves a running process's clock: a
    /// crashed node has neither (its restart starts with a clock of its own).
    fn running(&mut self, kind: FaultKind, node: &str) -> Result<(), String> {
        match self.crashed.get(node) {
            Some(since) => {
                Err(format!("{kind} of `{node}`, which is crashed (since {})", format_duration(*since)))
            }
            None => Ok(()),
        }
    }

    /// A join of a node that is already a member would change nothing.
    fn join(&mut self, node: &str, at: Duration) -> Result<(), String> {
        if let Some(since) = self.members.get(node) {
            let since = if since.is_zero() {
                "since the start".to_owned()
            } else {
                format!("joined at {}", format_duration(*since))
            };
            return Err(format!("join of `{node}`, which is already a member ({since})"));
        }
        self.left.remove(node);
        self.members.insert(node.to_owned(), at);
        Ok(())
    }

    /// A leave needs a member to remove, and must leave the shard map at least one.
    fn leave(&mut self, node: &str, at: Duration) -> Result<(), String> {
        if !self.members.contains_key(node) {
            let why = match self.left.get(node) {
                Some(left) => format!("it left at {}", format_duration(*left)),
                None => "it never joined".to_owned(),
            };
            return Err(format!(
                "leave of `{node}`, which is not a member at {} ({why})",
                format_duration(at)
            ));
        }
        if self.members.len() == 1 {
            return Err(format!("leave of `{node}`, the last member: a shard map needs at least one member"));
        }
        self.members.remove(node);
        self.left.insert(node.to_owned(), at);
        Ok(())
    }

    /// A partition may not cut a held link (one state per link direction); links already
    /// cut stay cut since their first partition.
    fn partition(&mut self, links: Vec<Link>, at: Duration) -> Result<(), String> {
        for link in &links {
            if let Some(since) = self.held.get(&key(link)) {
                return Err(format!(
                    "partition cuts link {}, which is held (since {}): {ONE_STATE_PER_LINK}; \
                     release the link first",
                    show(link),
                    format_duration(*since)
                ));
            }
        }
        for link in links {
            self.cut.entry(key(&link)).or_insert(at);
        }
        Ok(())
    }

    /// A one-way partition may not meet a hold (one state per link direction) nor any loss,
    /// network-wide or on its link, whose random repair would end it.
    fn partition_oneway(&mut self, from: &str, to: &str, at: Duration) -> Result<(), String> {
        let link = Link::new(from, to);
        if let Some(since) = self.held.get(&key(&link)) {
            return Err(format!(
                "one-way partition of link {}, which is held (since {}): {ONE_STATE_PER_LINK}; \
                 release the link first",
                show(&link),
                format_duration(*since)
            ));
        }
        if self.network_loss > 0.0 {
            return Err(format!(
                "one-way partition with `network.loss` {} above 0: {RANDOM_REPAIR}",
                self.network_loss
            ));
        }
        if let Some(since) = self.lossy.get(&key(&link)) {
            return Err(format!(
                "one-way partition of link {}, which is lossy (since {}): {RANDOM_REPAIR}; \
                 set its loss to 0 first",
                show(&link),
                format_duration(*since)
            ));
        }
        self.oneway.entry((from.to_owned(), to.to_owned())).or_insert(at);
        Ok(())
    }

    /// A heal must repair something: some partition for `all`, and for a node list, a
    /// partition touching each node (reported at that node). Routes are not partitions.
    fn heal(&mut self, target: &HealTarget, pos: &ActionPos, at: Duration) -> Result<(), Problem> {
        let when = format_duration(at);
        match target {
            HealTarget::All if self.cut.is_empty() && self.oneway.is_empty() => {
                return Err(Problem::new(
                    pos.value,
                    format!("heal of nothing: no partition is active at {when}"),
                ));
            }
            HealTarget::All => {}
            HealTarget::Nodes(nodes) => {
                for (i, node) in nodes.iter().enumerate() {
                    let involved = |(a, b): &(String, String)| a == node || b == node;
                    if !self.cut.keys().any(involved) && !self.oneway.keys().any(involved) {
                        return Err(Problem::new(
                            pos.nodes.get(i).copied().unwrap_or(pos.value),
                            format!("heal of `{node}`, which is in no active partition at {when}"),
                        ));
                    }
                }
            }
        }
        self.cut.retain(|(a, b), _| !target.repairs(a, b));
        self.oneway.retain(|(a, b), _| !target.repairs(a, b));
        Ok(())
    }

    /// A crash needs a running node, and ends the routes it dropped.
    fn crash(&mut self, node: &str, at: Duration) -> Result<(), String> {
        if let Some(since) = self.crashed.get(node) {
            return Err(format!(
                "crash of `{node}`, which is already crashed (since {})",
                format_duration(*since)
            ));
        }
        self.crashed.insert(node.to_owned(), at);
        let when = format_duration(at);
        self.reset_routes(
            node,
            format!("the crash of `{node}` at {when} ended it: a restarted process reads its routes afresh"),
        );
        Ok(())
    }

    /// A restart needs a crashed node.
    fn restart(&mut self, node: &str) -> Result<(), String> {
        if self.crashed.remove(node).is_none() {
            return Err(format!("restart of `{node}`, which is running (crash it first)"));
        }
        Ok(())
    }

    /// A bounce needs a running node (a crashed one wants a restart), and ends the routes
    /// it dropped.
    fn bounce(&mut self, node: &str, at: Duration) -> Result<(), String> {
        if let Some(since) = self.crashed.get(node) {
            return Err(format!(
                "bounce of `{node}`, which is crashed (since {}): use restart",
                format_duration(*since)
            ));
        }
        let when = format_duration(at);
        self.reset_routes(
            node,
            format!("the bounce of `{node}` at {when} ended it: a restarted process reads its routes afresh"),
        );
        Ok(())
    }

    /// A hold needs a link not already held and not partitioned either way (one state per
    /// link direction).
    fn hold(&mut self, link: &Link, at: Duration) -> Result<(), String> {
        let k = key(link);
        if let Some(since) = self.held.get(&k) {
            return Err(format!(
                "hold of link {}, which is already held (since {})",
                show(link),
                format_duration(*since)
            ));
        }
        if let Some((from, to, since)) = self.oneway_on(link) {
            return Err(format!(
                "hold of link {}, which has an active one-way partition ({from} -> {to} \
                 since {}): {ONE_STATE_PER_LINK}; heal it first",
                show(link),
                format_duration(since)
            ));
        }
        if let Some(since) = self.cut.get(&k) {
            return Err(format!(
                "hold of link {}, which is partitioned (since {}): {ONE_STATE_PER_LINK}; \
                 heal it first",
                show(link),
                format_duration(*since)
            ));
        }
        self.released_by_reorder.remove(&k);
        self.held.insert(k, at);
        Ok(())
    }

    /// A reorder releases a held link (remembered, so a later release can say so).
    fn reorder(&mut self, link: &Link, at: Duration) -> Result<(), String> {
        let k = key(link);
        if self.held.remove(&k).is_none() {
            return Err(format!("reorder of link {}, which is not held (hold it first)", show(link)));
        }
        self.released_by_reorder.insert(k, at);
        Ok(())
    }

    /// A release needs a held link; if a reorder released it already, the message says so.
    fn release(&mut self, link: &Link) -> Result<(), String> {
        let k = key(link);
        if self.held.remove(&k).is_none() {
            let why = match self.released_by_reorder.get(&k) {
                Some(t) => format!(" (the reorder at {} released it)", format_duration(*t)),
                None => String::new(),
            };
            return Err(format!("release of link {}, which is not held{why}", show(link)));
        }
        Ok(())
    }

    /// A loss rate of 0 frees the link; any other may not meet a one-way partition, which
    /// its random repair would end.
    fn loss(&mut self, link: &Link, rate: f64, at: Duration) -> Result<(), String> {
        let k = key(link);
        if rate == 0.0 {
            self.lossy.remove(&k);
            return Ok(());
        }
        if let Some((from, to, since)) = self.oneway_on(link) {
            return Err(format!(
                "loss on link {}, which has an active one-way partition ({from} -> {to} since {}): \
                 {RANDOM_REPAIR}; heal it first",
                show(link),
                format_duration(since)
            ));
        }
        self.lossy.entry(k).or_insert(at);
        Ok(())
    }

    /// The active one-way partition on either direction of `link`, if any: (from, to, since).
    fn oneway_on<'l>(&self, link: &'l Link) -> Option<(&'l str, &'l str, Duration)> {
        link.directions()
            .into_iter()
            .find_map(|(f, t)| self.oneway.get(&(f.to_owned(), t.to_owned())).map(|s| (f, t, *s)))
    }

    /// A route is dropped in the running process of `from`, once until restored.
    fn drop_route(&mut self, from: &str, to: &str, at: Duration) -> Result<(), String> {
        if let Some(since) = self.crashed.get(from) {
            return Err(format!(
                "drop-route {from} -> {to} while `{from}` is crashed (since {}): a crashed \
                 node has no routes to drop, and its restart reads them afresh",
                format_duration(*since)
            ));
        }
        let route = (from.to_owned(), to.to_owned());
        if let Some(since) = self.dropped.get(&route) {
            return Err(format!(
                "drop-route {from} -> {to}, which is already dropped (since {})",
                format_duration(*since)
            ));
        }
        self.restored.remove(&route);
        self.dropped.insert(route, at);
        Ok(())
    }

    /// A restore needs a dropped route; if something already gave it back (a restore, a
    /// crash or bounce of `from`), the message says what.
    fn restore_route(&mut self, from: &str, to: &str, at: Duration) -> Result<(), String> {
        let route = (from.to_owned(), to.to_owned());
        if self.dropped.remove(&route).is_none() {
            let why = match self.restored.get(&route) {
                Some(why) => format!(" ({why})"),
                None => " (drop it first)".to_owned(),
            };
            return Err(format!("restore-route {from} -> {to}, which is not dropped{why}"));
        }
        let when = format_duration(at);
        self.restored.insert(route, format!("the restore-route at {when} restored it"));
        Ok(())
    }

    /// A crash or bounce of `node` ends the routes it dropped.
    fn reset_routes(&mut self, node: &str, why: String) {
        let ended: Vec<(String, String)> = self.dropped.keys().filter(|(f, _)| f == node).cloned().collect();
        for route in ended {
            self.dropped.remove(&route);
            self.restored.insert(route, why.clone());
        }
    }
}
