//! The receiving side: one subscription on the node's subject; each request's key looked up
//! in the order requests arrive, its events delivered behind the fence into the sink from
//! where the key's last attempt stopped, and a reply saying how far the sink took them.

use std::future::Future;
use std::sync::Arc;

use async_nats::{Client, HeaderMap, Message, Subject};
use futures_util::StreamExt;
use shipper::{Accepting, EventSink, Fence, ShippedEvent, SinkError};

use crate::keys::{Progress, Turned};
use crate::transport::NatsTransport;
use crate::wire::{self, Reply};

/// A request as its headers and payload give it.
struct Request {
    from: String,
    life: u64,
    call: u64,
    pos: u64,
    epoch: u64,
    settled: u64,
    events: Vec<ShippedEvent>,
}

fn header(h: &HeaderMap, name: &str) -> Result<String, String> {
    h.get(name).map(|v| v.as_str().to_owned()).ok_or_else(|| format!("no {name} header"))
}

fn number(h: &HeaderMap, name: &str) -> Result<u64, String> {
    header(h, name)?.parse().map_err(|e| format!("{name}: {e}"))
}

impl Request {
    fn parse(message: &Message) -> Result<Request, String> {
        let h = message.headers.as_ref().ok_or("a request without headers")?;
        Ok(Request {
            from: header(h, wire::FROM)?,
            life: number(h, wire::LIFE)?,
            call: number(h, wire::CALL)?,
            pos: number(h, wire::POS)?,
            epoch: number(h, wire::EPOCH)?,
            settled: number(h, wire::SETTLED)?,
            events: wire::decode(&message.payload)?,
        })
    }
}

impl NatsTransport {
    /// Subscribes to this node's subject and returns the server: the future that hands what
    /// arrives to `sink`, asking `fence` about each event first. Returns once the broker has
    /// the subscription (or the client is still connecting: it subscribes when it is up).
    pub async fn serve_fenced(
        self: &Arc<Self>,
        sink: Arc<dyn EventSink>,
        fence: Arc<dyn Fence>,
    ) -> std::io::Result<impl Future<Output = std::io::Result<()>> + Send + 'static> {
        let client = self.connect().await?.clone();
        let subject = self.config.subject(&self.config.node);
        let mut subscriber = client.subscribe(subject).await.map_err(std::io::Error::other)?;
        let _ = tokio::time::timeout(self.config.connect_timeout, client.flush()).await;
        let this = self.clone();
        Ok(async move {
            while let Some(message) = subscriber.next().await {
                this.on_request(&client, message, &sink, &fence);
            }
            Ok(())
        })
    }

    /// Looks the key up now (arrival order) and delivers on a task of its own, so a slow
    /// sink for one call does not hold the others up; attempts of one key wait for each other.
    fn on_request(
        self: &Arc<Self>,
        client: &Client,
        message: Message,
        sink: &Arc<dyn EventSink>,
        fence: &Arc<dyn Fence>,
    ) {
        let reply_to = message.reply.clone();
        let request = match Request::parse(&message) {
            Ok(request) => request,
            Err(why) => {
                self.stats.count_protocol_error();
                let reply = Reply { life: self.config.life, next: 0, refused: None, error: Some(why) };
                return send_reply(client.clone(), reply_to, reply);
            }
        };
        let progress = self.keys.progress(&request.from, request.life, request.call, request.settled);
        let progress = match progress {
            Ok(progress) => progress,
            Err(turned) => {
                shipper::probe!("nats.turned-away");
                let why = match turned {
                    Turned::Stale(newest) => {
                        format!("life {} is older than the sender's life {newest}", request.life)
                    }
                    Turned::Settled => format!("call {} already ended", request.call),
                };
                let reply =
                    Reply { life: self.config.life, next: request.pos, refused: None, error: Some(why) };
                return send_reply(client.clone(), reply_to, reply);
            }
        };
        let (this, client, sink, fence) = (self.clone(), client.clone(), sink.clone(), fence.clone());
        tokio::spawn(async move {
            let reply = this.deliver(request, progress, &*sink, &*fence).await;
            send_reply(client, reply_to, reply);
        });
    }

    /// Delivers the request's events from where the key stopped; the reply says how far.
    async fn deliver(
        &self,
        request: Request,
        progress: Progress,
        sink: &dyn EventSink,
        fence: &dyn Fence,
    ) -> Reply {
        let mut next = progress.lock().await;
        let start = *next.get_or_insert(request.pos);
        let mut reply = Reply { life: self.config.life, next: start, refused: None, error: None };
        if request.pos > start {
            reply.error = Some(format!("position {} is past {start}, where the call stopped", request.pos));
            return reply;
        }
        let skip = usize::try_from(start - request.pos).unwrap_or(usize::MAX);
        if skip > 0 {
            shipper::probe!("nats.duplicate-skipped");
        }
        for _ in request.events.iter().take(skip) {
            self.stats.count_duplicate();
        }
        for event in request.events.into_iter().skip(skip) {
            if let Err(refusal) = fence.admit(event.shard, request.epoch) {
                reply.refused = Some((refusal.epoch, refusal.members));
                break;
            }
            let _accepting = Accepting::new(fence, event.shard);
            if let Err(why) = self.offer(&request.from, event, sink).await {
                reply.error = Some(why);
                break;
            }
            reply.next += 1;
            *next = Some(reply.next);
        }
        reply
    }

    /// Offers `event` until the sink takes it (a busy sink again after `busy_retry`).
    async fn offer(
        &self,
        from: &String,
        mut event: ShippedEvent,
        sink: &dyn EventSink,
    ) -> Result<(), String> {
        loop {
            match sink.try_accept(from, event).await {
                Ok(()) => {
                    self.stats.count_received();
                    return Ok(());
                }
                Err(SinkError::Busy(back)) => {
                    self.stats.count_sink_busy();
                    shipper::probe!("nats.busy-retry");
                    event = back;
                    tokio::time::sleep(self.config.busy_retry).await;
                }
                Err(SinkError::Closed) => return Err("the event sink is closed".to_owned()),
            }
        }
    }
}

/// Publishes `reply` to the request's inbox (a request without one, a publish, gets none).
fn send_reply(client: Client, reply_to: Option<Subject>, reply: Reply) {
    let Some(inbox) = reply_to else { return };
    let Ok(bytes) = serde_json::to_vec(&reply) else { return };
    tokio::spawn(async move {
        let _ = client.publish(inbox, bytes.into()).await;
    });
}
