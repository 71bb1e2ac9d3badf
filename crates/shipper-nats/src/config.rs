//! The transport's settings: where the broker is, the subjects, how long an attempt waits for
//! its reply, how retries and reconnects are spaced, and the largest message it sends.

use std::time::Duration;

use shipper::NodeId;

/// Settings of one node's [`crate::NatsTransport`] for one process life.
#[derive(Debug, Clone)]
pub struct NatsConfig {
    /// This node's name: its subject is `{subject_prefix}.{node}`.
    pub node: NodeId,
    /// A restart counter that must increase across restarts of the node: a receiver keeps
    /// the keys of the newest life of each sender and turns older lives away.
    pub life: u64,
    /// The broker, as async-nats takes it (`nats://127.0.0.1:4222`).
    pub server: String,
    /// The first token of every subject (default `shipper`). Two clusters sharing a broker
    /// keep apart by their prefixes.
    pub subject_prefix: String,
    /// How long one attempt (a request) waits for its reply before it is resent under the
    /// same key (default 200 ms, the `ack_timeout` of the other transports). The attempt
    /// that went unanswered makes a failed call ambiguous.
    pub ack_timeout: Duration,
    /// A ship call without a deadline of its own ends this long after it began (default 5 s).
    pub deadline: Duration,
    /// The pause before a retry after "no responders" or an unanswered attempt: from `min`,
    /// doubling per retry up to `max`, with seeded jitter (half to the whole delay).
    pub backoff_min: Duration,
    /// See `backoff_min`.
    pub backoff_max: Duration,
    /// The largest request this sender makes, headers included; the broker's own
    /// `max_payload` (from its `INFO`) caps it further. A batch over it is split into
    /// consecutive requests of one key; a single event over it is refused, certainly not
    /// sent. Default 1 MiB, the server's default.
    pub max_payload: usize,
    /// async-nats's connection attempt limit (default 1 s).
    pub connect_timeout: Duration,
    /// async-nats's reconnect delay: `min` doubling per failed attempt up to `max` (default
    /// 10 ms to 500 ms). The client reconnects for ever; requests made meanwhile wait in its
    /// buffer and go out once it is back.
    pub reconnect_min: Duration,
    /// See `reconnect_min`.
    pub reconnect_max: Duration,
    /// How often the client pings the broker (default 1 s): a broker that stops answering is
    /// given up after two unanswered pings and reconnected to.
    pub ping_interval: Duration,
    /// How long the receiver waits before offering a busy sink the same event again.
    pub busy_retry: Duration,
    /// Seeds the retry jitter.
    pub rng_seed: u64,
}

impl NatsConfig {
    /// The defaults for `node`'s life `life` on the broker at `server`.
    pub fn new(node: impl Into<NodeId>, life: u64, server: impl Into<String>) -> NatsConfig {
        NatsConfig {
            node: node.into(),
            life,
            server: server.into(),
            subject_prefix: "shipper".to_owned(),
            ack_timeout: Duration::from_millis(200),
            deadline: Duration::from_secs(5),
            backoff_min: Duration::from_millis(10),
            backoff_max: Duration::from_millis(500),
            max_payload: 1024 * 1024,
            connect_timeout: Duration::from_secs(1),
            reconnect_min: Duration::from_millis(10),
            reconnect_max: Duration::from_millis(500),
            ping_interval: Duration::from_secs(1),
            busy_retry: Duration::from_millis(5),
            rng_seed: 0,
        }
    }

    /// The subject `node` receives on.
    pub fn subject(&self, node: &str) -> String {
        format!("{}.{node}", self.subject_prefix)
    }
}
