//! [`Router`]: key → shard → owner → [`EventShipper`].

use std::sync::{Arc, RwLock};

use crate::error::{BatchError, ShipperError, ShipperResult};
use crate::event::{NodeId, ShardId, ShippedEvent};
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
    /// What `ship_batch` answered.
    pub result: Result<usize, BatchError>,
}

/// Routes keyed JSON events to their shard's owner through one
/// [`EventShipper`] (the local node's).
pub struct Router {
    shipper: Arc<EventShipper>,
    map: RwLock<ShardMap>,
}

impl Router {
    /// A router shipping through `shipper` with the placement of `map`.
    pub fn new(shipper: Arc<EventShipper>, map: ShardMap) -> Self {
        Self { shipper, map: RwLock::new(map) }
    }

    /// The shipper events leave through.
    pub fn shipper(&self) -> &Arc<EventShipper> {
        &self.shipper
    }

    /// A copy of the current shard map.
    pub fn shard_map(&self) -> ShardMap {
        self.map.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Install a new shard map (after a membership change).
    pub fn set_shard_map(&self, map: ShardMap) {
        *self.map.write().unwrap_or_else(|e| e.into_inner()) = map;
    }

    /// The shard of `key` and its owner.
    pub fn resolve(&self, key: &str) -> ShipperResult<(ShardId, NodeId)> {
        locate(&self.map.read().unwrap_or_else(|e| e.into_inner()), key)
    }

    /// Route one event: pick its shard and owner, build the event and ship it.
    pub async fn route(&self, key: &str, payload: &serde_json::Value) -> ShipperResult<Routed> {
        let (shard, node) = self.resolve(key)?;
        let event = ShippedEvent::json(shard, key, payload, self.shipper.local_node().clone())?;
        self.shipper.ship(&node, event).await?;
        let local = &node == self.shipper.local_node();
        Ok(Routed { shard, node, local })
    }

    /// Route many events: one `ship_batch` per destination, destinations in
    /// order of first appearance, each destination's events in input order
    /// (so events of one key keep their order).
    ///
    /// Returns one [`DestinationBatch`] per destination, or the first error
    /// that stopped the events from being built (an unroutable key, a payload
    /// that does not encode), in which case nothing was shipped.
    pub async fn route_batch<K: AsRef<str>>(
        &self,
        items: &[(K, serde_json::Value)],
    ) -> ShipperResult<Vec<DestinationBatch>> {
        let planned = self.plan_batch(items)?;
        let mut batches = Vec::with_capacity(planned.len());
        for batch in planned {
            batches.push(self.ship_planned(batch).await);
        }
        Ok(batches)
    }

    /// The first half of [`Self::route_batch`]: resolve every key and split
    /// the events by destination, without shipping anything. Callers that
    /// want to observe or schedule each destination's batch (a tracer, a
    /// concurrent sender) ship the plans with [`Self::ship_planned`].
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
        // One read of the map for the whole plan: every batch of it names the
        // epoch its owners were computed under.
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let epoch = map.epoch();
        let mut planned: Vec<PlannedBatch> = Vec::new();
        for (position, (key, payload)) in items.enumerate() {
            let (shard, node) = locate(&map, key.as_ref())?;
            let event =
                ShippedEvent { shard, key: key.into(), payload: payload?, source: local_node.clone() };
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
        Ok(planned)
    }

    /// The second half of [`Self::route_batch`]: ship one planned batch.
    pub async fn ship_planned(&self, batch: PlannedBatch) -> DestinationBatch {
        let PlannedBatch { node, local, positions, shards, events, .. } = batch;
        let result = self.shipper.ship_batch(&node, events).await;
        DestinationBatch { node, local, positions, shards, result }
    }
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
        Ok((shard, node)) => Ok((shard, node.clone())),
        Err(ShardMapError::InvalidShard { shard, .. }) => Err(ShipperError::InvalidShard(shard)),
        Err(other) => Err(ShipperError::NoRoute(format!("owner of key {key:?} ({other})"))),
    }
}
