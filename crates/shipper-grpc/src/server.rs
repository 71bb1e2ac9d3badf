//! The receiving side: the `Shipper` service on bare hyper HTTP/2 connections, delivering
//! each call's events in order to the sink, at most once per position and receiving life, and
//! answering only after the sink accepted what the reply counts.
//!
//! Two RPCs serve the same requests: `Stream`, one per connection, which the transport's
//! client uses (`crate::stream`), and the unary `Ship`, one per attempt, for clients that
//! prefer it. Both go through the same handler (`crate::handler`).

use std::io;
use std::sync::Arc;

use shipper::{EventSink, Fence};
use shipper_net::{NetConfig, NetStats, Network};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tonic::{Request, Response, Status, Streaming};
use tracing::{debug, info, warn};

use crate::broken::{self, Variant};
use crate::chan::Messages;
use crate::handler::Handler;
use crate::pb::shipper_server::{Shipper, ShipperServer};
use crate::pb::{ShipReply, ShipRequest};
use crate::rt::{Exec, TokioIo, TokioTimer};
use crate::shared::Shared;
use crate::stream::{CallStream, Outgoing};
use crate::wire;

/// Serves one node's `Shipper` service. Usually made by [`crate::GrpcTransport::server`], so
/// both directions of a node share counters and observer.
pub struct GrpcServer<N: Network> {
    net: N,
    shared: Arc<Shared>,
    fence: Option<Arc<dyn Fence>>,
}

impl<N: Network> GrpcServer<N> {
    /// A server with its own counters.
    pub fn new(net: N, config: NetConfig) -> Self {
        Self::from_shared(net, Arc::new(Shared::new(config, None)))
    }

    pub(crate) fn from_shared(net: N, shared: Arc<Shared>) -> Self {
        GrpcServer { net, shared, fence: None }
    }

    /// Asks `fence` about every event before the sink sees it (usually the node's
    /// [`shipper::Router`]). A refused event ends its call: the reply carries the fence's map,
    /// and neither it nor the call's later events reach the sink.
    pub fn with_fence(mut self, fence: Arc<dyn Fence>) -> Self {
        self.fence = Some(fence);
        self
    }

    /// The counters this server updates (`received`, `duplicates_dropped`, `refused`,
    /// `sink_busy`, `protocol_errors`).
    pub fn stats(&self) -> &Arc<NetStats> {
        &self.shared.stats
    }

    /// Binds this node's listener.
    pub async fn bind(&self) -> io::Result<N::Listener> {
        self.net.bind().await
    }

    /// Serves connections on `listener` until the sink closes (then `Ok`). One call is one
    /// receiving process life: the memory of delivered calls lives in this future, and
    /// dropping it (or aborting its task) closes every connection it serves and stops every
    /// delivery under way.
    pub async fn serve(self, listener: N::Listener, sink: Arc<dyn EventSink>) -> io::Result<()> {
        let closed = Arc::new(Notify::new());
        // Never sent on: its drop, with this future, is what tells the deliveries the life ended.
        let (_life, ended) = watch::channel(());
        let limit = wire::message_limit(self.shared.config.max_frame);
        let service = ShipperServer::new(Handler {
            net: self.net.clone(),
            shared: self.shared.clone(),
            calls: Arc::default(),
            sink,
            fence: self.fence.clone(),
            closed: closed.clone(),
            ended,
        })
        .max_decoding_message_size(limit)
        .max_encoding_message_size(wire::reply_limit(self.shared.config.max_frame));
        let node = self.shared.config.node.clone();
        info!(node = %node, addr = ?N::local_addr(&listener).ok(), "serving gRPC");
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                biased;
                () = closed.notified() => {
                    info!(node = %node, "sink closed: server stops");
                    return Ok(());
                }
                Some(done) = connections.join_next(), if !connections.is_empty() => {
                    if let Err(err) = done && err.is_panic() {
                        std::panic::resume_unwind(err.into_panic());
                    }
                }
                accepted = N::accept(&listener) => match accepted {
                    Ok((stream, peer)) => {
                        debug!(node = %node, peer = %peer, "accepted");
                        let connection = self.connection(TokioIo::new(stream), service.clone());
                        self.net.spawn_in(&mut connections, async move {
                            if let Err(err) = connection.await {
                                debug!(peer = %peer, error = %err, "connection ended");
                            }
                        });
                    }
                    Err(err) => {
                        warn!(node = %node, error = %err, "accept failed");
                        tokio::time::sleep(self.shared.config.backoff_min).await;
                    }
                },
            }
        }
    }

    /// One HTTP/2 connection, with keepalive and no `date` header (hyper reads the wall clock
    /// for it, and its HPACK encoding would make the bytes on the wire differ between runs).
    fn connection(
        &self,
        io: TokioIo<N::Stream>,
        service: ShipperServer<Handler<N>>,
    ) -> impl Future<Output = hyper::Result<()>> + Send + 'static {
        let keepalive = crate::Keepalive::server(&self.shared.config);
        hyper::server::conn::http2::Builder::new(Exec(std::sync::Arc::new(self.net.clone())))
            .timer(TokioTimer::new())
            .keep_alive_interval(keepalive.interval)
            .keep_alive_timeout(keepalive.timeout)
            .auto_date_header(false)
            .max_concurrent_streams(u32::try_from(self.shared.config.max_unacked).unwrap_or(u32::MAX))
            .serve_connection(io, hyper_util::service::TowerToHyperService::new(service))
    }
}

#[tonic::async_trait]
impl<N: Network> Shipper for Handler<N> {
    async fn ship(&self, request: Request<ShipRequest>) -> Result<Response<ShipReply>, Status> {
        let deadline = self.deadline(&request)?;
        let prepared = self.prepare(request.into_inner(), deadline)?;
        // broken::GrpcOkOnHeaders: the reply (headers and all) goes out at once, counting the
        // whole call; the sink gets the events a moment later.
        if broken::is(Variant::GrpcOkOnHeaders) {
            return Ok(Response::new(self.ok_on_headers(prepared)));
        }
        let (first, first_connection) = (prepared.first(), prepared.first_connection());
        let task = self.spawn_delivery(prepared);
        self.answer(task.await, first, first_connection).map(Response::new)
    }

    type StreamStream = Messages<Outgoing>;

    /// Serves the stream's requests in a task of its own; the replies go out as they come.
    async fn stream(
        &self,
        request: Request<Streaming<ShipRequest>>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let (replies, outgoing) = Messages::channel();
        drop(self.net.spawn(CallStream::new(self.clone(), replies).run(request.into_inner())));
        Ok(Response::new(outgoing))
    }
}
