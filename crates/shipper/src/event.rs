//! The unit of shipping: a keyed event with an opaque payload.

use serde::{Deserialize, Serialize};

use crate::error::{ShipperError, ShipperResult};
use crate::ids::{NodeId, ShardId};

/// A keyed event being shipped between shards. The body is opaque so the
/// shipper can carry any operator payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedEvent {
    /// Destination shard id.
    pub shard: ShardId,
    /// Routing key (used by the operator to look up state on arrival).
    pub key: String,
    /// Opaque payload (typically JSON-encoded).
    pub payload: Vec<u8>,
    /// Source node id (for tracing).
    pub source: NodeId,
}

impl ShippedEvent {
    /// Build an event with a JSON payload.
    ///
    /// An encoding failure is [`ShipperError::Encode`] (the original reported it as
    /// a send failure, which it is not: nothing was sent).
    pub fn json(
        shard: ShardId,
        key: impl Into<String>,
        payload: &serde_json::Value,
        source: impl Into<NodeId>,
    ) -> ShipperResult<Self> {
        let bytes = serde_json::to_vec(payload).map_err(|e| ShipperError::Encode(e.to_string()))?;
        Ok(Self { shard, key: key.into(), payload: bytes, source: source.into() })
    }

    /// Decode the payload as JSON.
    pub fn json_payload(&self) -> ShipperResult<serde_json::Value> {
        serde_json::from_slice(&self.payload).map_err(|e| ShipperError::Decode(e.to_string()))
    }
}
