//! [`Router`]: key → shard → owner → [`EventShipper`].

use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

use crate::batch_error::BatchError;
use crate::broken::{self, Variant};
use crate::error::{ShipperError, ShipperResult};
use crate::event::ShippedEvent;
use crate::fence::{Fence, Refusal};
use crate::handover::Handover;
use crate::ids::{NodeId, ShardId};
use crate::shard_map::{ShardMap, ShardMapError};
use crate::shipper::EventShipper;

/// Where [`Router::route`] sent an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routed {
    /// The key's shard.
    pub shard: ShardId,
    /// The shard's owner, the event's destination.
    pub node: NodeId,
    /// Whether the owner is this node (the local sink took it).
    pub local: bool,
}

/// One destination's share of a [`Router::route_batch`] call: shipped with
/// one `ship_batch`, so it arrives in order with no gaps.
#[derive(Debug)]
pub struct DestinationBatch {
    /// The destination.
    pub node: NodeId,
    /// Whether the destination is this node.
    pub local: bool,
    /// Positions, in the input, of the events sent here, in input order.
    pub positions: Vec<usize>,
    /// Shards of those events, parallel to `positions`.
    pub shards: Vec<ShardId>,
    /// The epoch of the map the batch was planned with (it travelled with
    /// the events).
    pub epoch: u64,
    /// What `ship_batch` answered.
    pub result: Result<usize, BatchError>,
}

impl DestinationBatch {
    /// If the destination refused the batch ([`ShipperError::WrongOwner`]):
    /// its map, and the positions and events it did not take, in order.
    pub fn refused(&self) -> Option<(Refusal, &[usize], &[ShippedEvent])> {
        let Err(err) = &self.result else { return None };
        let refusal = err.error.refusal()?;
        let positions = self.positions.get(err.shipped..).unwrap_or_default();
        Some((refusal, positions, &err.unshipped))
    }
}

/// Routes keyed JSON events to their shard's owner through one
/// [`EventShipper`] (the local node's).
pub struct Router {
    shipper: Arc<EventShipper>,
    map: RwLock<ShardMap>,
    /// Accepts in progress and a map waiting for them (locked before `map`).
    handover: Mutex<Handover>,
    on_install: Option<InstallObserver>,
    on_ship: Option<Box<dyn ShipObserver>>,
}

/// Told of every map a [`Router`] installs after its first: the epoch and
/// the shards whose owner changed, in shard order.
pub type InstallObserver = Box<dyn Fn(u64, &[ShardId]) + Send + Sync>;

/// Told of each step of the router's own shipping loop ([`Router::route_planned`], under
/// [`Router::route`] and [`Router::route_batch`]): every `ship_batch` as it begins and as it
/// returns, and every re-plan. The maps a router learns are told to its
/// [`InstallObserver`].
///
/// It exists so that a simulator *records* the production routing path instead of copying
/// it: a harness that re-implemented the loop to see each batch would test its copy, and a
/// bug in the router's loop would never run under it. Calls come on the routing task, in
/// order, outside the router's locks.
pub trait ShipObserver: Send + Sync {
    /// A `ship_batch` of `plan` is about to begin; the returned token is handed back to
    /// [`Self::ship_end`] (a batch number, say).
    fn ship_begin(&self, plan: &PlannedBatch) -> u64;

    /// The `ship_batch` begun with `token` returned `done`. A call cut short (its task
    /// dropped, e.g. a crash) never ends.
    fn ship_end(&self, token: u64, done: &DestinationBatch);

    /// The events at `positions` of the input were planned again, `why`, into `into` (in the
    /// order they will ship, before anything else of the call).
    fn replanned(&self, why: Replan, positions: &[usize], into: &[PlannedBatch]) {
        let _ = (why, positions, into);
    }
}

/// Why [`Router::route_planned`] planned events again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replan {
    /// The plan was made under the map of epoch `planned`, and the map outgoing events are
    /// planned with changed (to `current`) before it shipped: the router knows better now
    /// (it must not hand its own sink what it no longer owns, nor send to a former owner).
    Stale {
        /// The plan's epoch.
        planned: u64,
        /// The epoch of the map it was planned again under.
        current: u64,
    },
    /// The destination refused the batch ([`ShipperError::WrongOwner`]); its map was learned
    /// from. `round` counts the refusals of these events in this call, 1..=[`Router::MAX_REPLANS`].
    Refused {
        /// The re-plan round.
        round: usize,
    },
}

impl Router {
    /// A router shipping through `shipper` with the placement of `map`.
    pub fn new(shipper: Arc<EventShipper>, map: ShardMap) -> Self {
        Self { shipper, map: RwLock::new(map), handover: Mutex::default(), on_install: None, on_ship: None }
    }

    /// Tells `observer` of every map installed from now on: at once by
    /// [`Self::set_shard_map`] or [`Self::learn`], or later, when a staged
    /// map's handover completes (see `handover.rs`).
    pub fn with_install_observer(mut self, observer: InstallObserver) -> Self {
        self.on_install = Some(observer);
        self
    }

    /// Tells `observer` of every `ship_batch` this router begins and ends, and of every
    /// re-plan ([`ShipObserver`]). Without one, nothing is called: an `Option` checked per
    /// batch.
    pub fn with_ship_observer(mut self, observer: Box<dyn ShipObserver>) -> Self {
        self.on_ship = Some(observer);
        self
    }

    /// The shipper events leave through.
    pub fn shipper(&self) -> &Arc<EventShipper> {
        &self.shipper
    }

    /// The epoch of the current shard map (cheaper than [`Self::shard_map`]).
    pub fn epoch(&self) -> u64 {
        self.read_map().epoch()
    }

    /// A copy of the current shard map.
    pub fn shard_map(&self) -> ShardMap {
        self.map.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many times [`Self::route_batch`] and [`Self::route`] plan refused
    /// events again within one call. Each refusal that teaches a newer map
    /// brings the sender one membership change closer, so a few suffice when
    /// changes are rare; a receiver that keeps refusing (its map is no newer,
    /// yet it disagrees) would otherwise bounce the events forever. Past the
    /// bound the last refusal stands: its events are reported not delivered.
    pub const MAX_REPLANS: usize = 3;

    /// Install a new shard map (after a membership change), unless its epoch
    /// is not newer than the current (or staged) one: a late, older map
    /// (changes that propagated out of order, a stale refusal) is ignored, so
    /// the epoch never goes backwards. Returns the shards whose owner
    /// changed, in shard order, when the map was installed now; `None` when
    /// it was ignored, or staged because it takes away a shard whose admitted
    /// events are still being accepted: it is installed (and the install
    /// observer told) once those accepts end.
    pub fn set_shard_map(&self, map: ShardMap) -> Option<Vec<ShardId>> {
        let mut handover = self.lock_handover();
        let mut current = self.map.write().unwrap_or_else(|e| e.into_inner());
        let newest = handover.staged.as_ref().map_or(current.epoch(), ShardMap::epoch).max(current.epoch());
        if map.epoch() <= newest {
            crate::probe!("router.stale-map-ignored");
            return None;
        }
        if handover.blocks(&map, self.shipper.local_node()) {
            crate::probe!("handover.staged");
            handover.staged = Some(map);
            return None;
        }
        handover.staged = None;
        Some(self.install(&mut current, map))
    }

    /// Installs `map` over `current`; returns the shards that changed owner.
    fn install(&self, current: &mut ShardMap, map: ShardMap) -> Vec<ShardId> {
        // broken::StaleMap: the epoch advances, the owners stay (a placement cache not invalidated).
        let map = if broken::is(Variant::StaleMap) { current.clone().relabelled(map.epoch()) } else { map };
        let moved = map.moved_since(current);
        *current = map;
        if let Some(observer) = &self.on_install {
            observer(current.epoch(), &moved);
        }
        moved
    }

    fn lock_handover(&self) -> MutexGuard<'_, Handover> {
        self.handover.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Learns the map a refusing receiver holds: installed as by
    /// [`Self::set_shard_map`] (so only when newer), built from its members
    /// with this router's shard count. Returns the shards that moved, or
    /// `None` when nothing was learned.
    pub fn learn(&self, refusal: &Refusal) -> Option<Vec<ShardId>> {
        let n_shards = self.read_map().n_shards();
        let map = ShardMap::from_members(n_shards, refusal.members.iter().cloned(), refusal.epoch).ok()?;
        self.set_shard_map(map)
    }

    /// Plans `events` again under the current map (after [`Self::learn`]):
    /// `positions` are theirs in the original input (parallel to `events`),
    /// kept in the new plans. Split by destination as [`Self::plan_batch`]
    /// does, in order.
    pub fn replan(&self, positions: &[usize], events: Vec<ShippedEvent>) -> ShipperResult<Vec<PlannedBatch>> {
        self.with_plan_map(|map| self.replan_under(map, positions, events).map_err(|(err, _)| err))
    }

    /// [`Self::replan`] under `map`; a key that does not route hands the events back, untouched.
    fn replan_under(
        &self,
        map: &ShardMap,
        positions: &[usize],
        events: Vec<ShippedEvent>,
    ) -> Result<Vec<PlannedBatch>, (ShipperError, Vec<ShippedEvent>)> {
        let located: ShipperResult<Vec<(ShardId, NodeId)>> =
            events.iter().map(|event| locate(map, &event.key)).collect();
        let located = match located {
            Ok(located) => located,
            Err(err) => return Err((err, events)),
        };
        let local_node = self.shipper.local_node();
        let mut planned = Vec::new();
        for ((&position, event), (shard, node)) in positions.iter().zip(events).zip(located) {
            push_planned(&mut planned, local_node, map.epoch(), node, position, shard, event);
        }
        Ok(planned)
    }

    fn read_map(&self) -> RwLockReadGuard<'_, ShardMap> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the map outgoing events are planned with: the newest
    /// this node knows, a staged one included. The handover holds back only
    /// what this node *accepts*; where it sends, it already knows better
    /// (planning with the installed map would send refused events straight
    /// back to the node that refused them).
    fn with_plan_map<R>(&self, f: impl FnOnce(&ShardMap) -> R) -> R {
        let handover = self.lock_handover();
        match &handover.staged {
            Some(staged) => f(staged),
            None => f(&self.read_map()),
        }
    }

    /// The shard of `key` and its owner, under the map outgoing events are
    /// planned with.
    pub fn resolve(&self, key: &str) -> ShipperResult<(ShardId, NodeId)> {
        self.with_plan_map(|map| locate(map, key))
    }

    /// Route one event: pick its shard and owner, build the event and ship
    /// it; a refusal from a node that is no longer the owner is learned from
    /// and the event routed again (at most [`Self::MAX_REPLANS`] times).
    pub async fn route(&self, key: &str, payload: &serde_json::Value) -> ShipperResult<Routed> {
        let planned = self.plan_batch(&[(key, payload.clone())])?;
        let batches = self.route_planned(planned).await;
        let last = batches.into_iter().last().ok_or_else(|| ShipperError::NoRoute(key.to_owned()))?;
        last.result?;
        let shard = last.shards.first().copied().unwrap_or_default();
        Ok(Routed { shard, node: last.node, local: last.local })
    }

    /// Route many events: one `ship_batch` per destination, destinations in
    /// order of first appearance, each destination's events in input order
    /// (so events of one key keep their order). [`Self::plan_batch`], then
    /// [`Self::route_planned`].
    ///
    /// Returns one [`DestinationBatch`] per `ship_batch` call, or the first
    /// error that stopped the events from being built (an unroutable key, a
    /// payload that does not encode), in which case nothing was shipped.
    pub async fn route_batch<K: AsRef<str>>(
        &self,
        items: &[(K, serde_json::Value)],
    ) -> ShipperResult<Vec<DestinationBatch>> {
        let planned = self.plan_batch(items)?;
        Ok(self.route_planned(planned).await)
    }

    /// The shipping loop of [`Self::route_batch`] and [`Self::route`], over plans the caller
    /// made ([`Self::plan_batch`], [`Self::plan_encoded`]): ships each plan in turn and
    /// returns one [`DestinationBatch`] per `ship_batch` call, in the order shipped.
    ///
    /// - A plan made under a map that changed before its turn came (a membership change
    ///   adopted, or a map learned from a refusal of an earlier batch of the call) is planned
    ///   again under the current map first: the router knows better, and must not hand its
    ///   own sink events of a shard it no longer owns (no receiver's fence stands between them)
    ///   nor send to a former owner.
    /// - A batch refused by a node that no longer owns its shards
    ///   ([`ShipperError::WrongOwner`]) is learned from ([`Self::learn`]) and its unshipped
    ///   events are planned again and shipped at once, before the next destination's batch:
    ///   the refused batch and its re-plans are all in the result. At most
    ///   [`Self::MAX_REPLANS`] rounds per planned batch; then the refusal stands.
    ///
    /// Re-plans go depth first, so events of one key, which share a plan, keep their order.
    /// A [`ShipObserver`] is told of each step.
    pub async fn route_planned(&self, planned: Vec<PlannedBatch>) -> Vec<DestinationBatch> {
        let mut batches = Vec::with_capacity(planned.len());
        let mut todo: Vec<(PlannedBatch, usize)> = planned.into_iter().rev().map(|p| (p, 0)).collect();
        while let Some((plan, round)) = todo.pop() {
            let plan = match self.refresh(plan) {
                Fresh::Ship(plan) => plan,
                Fresh::Again(again) => {
                    todo.extend(again.into_iter().rev().map(|p| (p, round)));
                    continue;
                }
            };
            let done = self.ship_planned(plan).await;
            if round < Self::MAX_REPLANS
                && let Some(again) = self.replan_refused(&done, round + 1)
            {
                todo.extend(again.into_iter().rev().map(|p| (p, round + 1)));
            }
            batches.push(done);
        }
        batches
    }

    /// `plan` as it is if the map outgoing events are planned with is still its own;
    /// otherwise its events planned again under that map (see [`Self::route_planned`]).
    fn refresh(&self, plan: PlannedBatch) -> Fresh {
        let PlannedBatch { node, local, epoch, positions, shards, events } = plan;
        let replanned = self.with_plan_map(|map| {
            let current = map.epoch();
            // broken::NoStaleReplan: a plan whose map went stale ships as it was planned.
            if current <= epoch || broken::is(Variant::NoStaleReplan) {
                return Err(events);
            }
            match self.replan_under(map, &positions, events) {
                Ok(again) => Ok((current, again)),
                Err((err, events)) => {
                    tracing::warn!(node = %node, epoch, error = %err, "cannot re-plan a stale plan: shipped as planned");
                    Err(events)
                }
            }
        });
        match replanned {
            Ok((current, again)) => {
                crate::probe!("router.replan-stale");
                if let Some(observer) = &self.on_ship {
                    observer.replanned(Replan::Stale { planned: epoch, current }, &positions, &again);
                }
                Fresh::Again(again)
            }
            Err(events) => Fresh::Ship(PlannedBatch { node, local, epoch, positions, shards, events }),
        }
    }

    /// If `done` was refused ([`ShipperError::WrongOwner`]): learns the refusing node's map
    /// and plans the unshipped events again, re-plan `round` of them.
    fn replan_refused(&self, done: &DestinationBatch, round: usize) -> Option<Vec<PlannedBatch>> {
        let (refusal, positions, events) = done.refused()?;
        // A newer map learned here is told to the install observer.
        self.learn(&refusal);
        match self.replan(positions, events.to_vec()) {
            Ok(again) => {
                crate::probe!("router.replan-refused");
                if let Some(observer) = &self.on_ship {
                    observer.replanned(Replan::Refused { round }, positions, &again);
                }
                Some(again)
            }
            Err(err) => {
                tracing::warn!(node = %done.node, error = %err, "cannot re-plan a refused batch: the refusal stands");
                None
            }
        }
    }

    /// The first half of [`Self::route_batch`]: resolve every key and split
    /// the events by destination, without shipping anything. The second is
    /// [`Self::route_planned`]; a caller that wants to see each destination's
    /// batch (a tracer) gives the router a [`ShipObserver`], and one that
    /// schedules them itself (a concurrent sender) ships each plan with
    /// [`Self::ship_planned`].
    pub fn plan_batch<K: AsRef<str>>(
        &self,
        items: &[(K, serde_json::Value)],
    ) -> ShipperResult<Vec<PlannedBatch>> {
        self.plan(items.iter().map(|(key, payload)| {
            let bytes = serde_json::to_vec(payload).map_err(|e| ShipperError::Encode(e.to_string()));
            (key.as_ref(), bytes)
        }))
    }

    /// [`Self::plan_batch`] for payloads the caller already encoded: each
    /// payload (and each `String` key) moves into its event as it is,
    /// without a JSON round trip or a copy.
    pub fn plan_encoded<K: AsRef<str> + Into<String>>(
        &self,
        items: Vec<(K, Vec<u8>)>,
    ) -> ShipperResult<Vec<PlannedBatch>> {
        self.plan(items.into_iter().map(|(key, payload)| (key, Ok(payload))))
    }

    /// Plans `(key, payload)` pairs in order; a key that does not route, or
    /// a payload that did not encode, stops the plan (key checked first).
    fn plan<K: AsRef<str> + Into<String>>(
        &self,
        items: impl Iterator<Item = (K, ShipperResult<Vec<u8>>)>,
    ) -> ShipperResult<Vec<PlannedBatch>> {
        let local_node = self.shipper.local_node();
        // One map for the whole plan: every batch of it names the epoch its
        // owners were computed under.
        self.with_plan_map(|map| {
            let epoch = map.epoch();
            let mut planned: Vec<PlannedBatch> = Vec::new();
            for (position, (key, payload)) in items.enumerate() {
                let (shard, node) = locate(map, key.as_ref())?;
                let event =
                    ShippedEvent { shard, key: key.into(), payload: payload?, source: local_node.clone() };
                push_planned(&mut planned, local_node, epoch, node, position, shard, event);
            }
            Ok(planned)
        })
    }

    /// Ships one planned batch, exactly as planned: no stale check, no re-plan (that is
    /// [`Self::route_planned`]'s loop, which calls this for each batch). The events carry the
    /// plan's epoch, so a fenced receiver that does not own them refuses them
    /// ([`ShipperError::WrongOwner`]); the caller may then [`Self::learn`] and
    /// [`Self::replan`]. A [`ShipObserver`] is told as it begins and ends.
    pub async fn ship_planned(&self, batch: PlannedBatch) -> DestinationBatch {
        let token = self.on_ship.as_ref().map(|observer| observer.ship_begin(&batch));
        let PlannedBatch { node, local, epoch, positions, shards, events } = batch;
        let result = self.shipper.ship_batch_at(&node, events, epoch).await;
        let done = DestinationBatch { node, local, positions, shards, epoch, result };
        if let (Some(observer), Some(token)) = (&self.on_ship, token) {
            observer.ship_end(token, &done);
        }
        done
    }
}

/// What [`Router::route_planned`] does with a plan at its turn.
enum Fresh {
    /// Ship it.
    Ship(PlannedBatch),
    /// Its map went stale: ship these instead.
    Again(Vec<PlannedBatch>),
}

/// The receiver's side: this node admits an event if it owns the event's
/// shard under its map, or if the sender's map is newer (it will learn);
/// otherwise it refuses with its map. See [`crate::Fence`].
impl Fence for Router {
    fn admit(&self, shard: ShardId, sender_epoch: u64) -> Result<(), Refusal> {
        let me = self.shipper.local_node();
        let refusal =
            |map: &ShardMap| Refusal { epoch: map.epoch(), members: map.nodes().cloned().collect() };
        let mut handover = self.lock_handover();
        // A shard this node is handing over (a staged map gives it away):
        // it knows better already, unless the sender knows better still.
        if let Some(staged) = &handover.staged
            && sender_epoch <= staged.epoch()
            && !staged.owner(shard).is_ok_and(|owner| owner == me)
        {
            crate::probe!("handover.refuse-staged");
            return Err(refusal(staged));
        }
        let map = self.read_map();
        let owned = map.owner(shard).is_ok_and(|owner| owner == me);
        if !owned && sender_epoch <= map.epoch() {
            crate::probe!("fence.refuse-not-owner");
            return Err(refusal(&map));
        }
        handover.admit(shard);
        Ok(())
    }

    fn done(&self, shard: ShardId) {
        let mut handover = self.lock_handover();
        handover.done(shard);
        let Some(staged) = handover.staged.take() else { return };
        let mut current = self.map.write().unwrap_or_else(|e| e.into_inner());
        if handover.blocks(&staged, self.shipper.local_node()) {
            handover.staged = Some(staged);
        } else {
            crate::probe!("handover.installed-late");
            self.install(&mut current, staged);
        }
    }
}

/// Adds `event` (at input `position`, of `shard`) to the plan for `node`,
/// starting one if this is the first event for it.
fn push_planned(
    planned: &mut Vec<PlannedBatch>,
    local_node: &NodeId,
    epoch: u64,
    node: NodeId,
    position: usize,
    shard: ShardId,
    event: ShippedEvent,
) {
    let index = match planned.iter().position(|p| p.node == node) {
        Some(index) => index,
        None => {
            let local = &node == local_node;
            planned.push(PlannedBatch {
                node,
                local,
                epoch,
                positions: vec![],
                shards: vec![],
                events: vec![],
            });
            planned.len() - 1
        }
    };
    let batch = &mut planned[index];
    batch.positions.push(position);
    batch.shards.push(shard);
    batch.events.push(event);
}

/// One destination's share of a batch, resolved but not yet shipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedBatch {
    /// The destination.
    pub node: NodeId,
    /// Whether the destination is this node.
    pub local: bool,
    /// The epoch of the shard map the owner was computed under: a receiver
    /// or a checker can tell a plan made with a stale map.
    pub epoch: u64,
    /// Positions, in the input, of the events going there, in input order.
    pub positions: Vec<usize>,
    /// Shards of those events, parallel to `positions`.
    pub shards: Vec<ShardId>,
    /// The events, in input order.
    pub events: Vec<ShippedEvent>,
}

/// The shard of `key` and its owner under `map`, as a shipper error when
/// there is none.
fn locate(map: &ShardMap, key: &str) -> ShipperResult<(ShardId, NodeId)> {
    match map.locate(key) {
        // broken::Misroute: an off-by-one in the member list for every fourth shard.
        Ok((shard, node)) if broken::is(Variant::Misroute) && shard % 4 == 3 => {
            let members: Vec<&NodeId> = map.nodes().collect();
            let at = members.iter().position(|n| *n == node).unwrap_or(0);
            Ok((shard, members[(at + 1) % members.len()].clone()))
        }
        Ok((shard, node)) => Ok((shard, node.clone())),
        Err(ShardMapError::InvalidShard { shard, .. }) => Err(ShipperError::InvalidShard(shard)),
        Err(other) => Err(ShipperError::NoRoute(format!("owner of key {key:?} ({other})"))),
    }
}
