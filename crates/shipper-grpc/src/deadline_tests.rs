//! Every call ends by its own deadline, whatever other calls to the same destination wait
//! for: a call with a short deadline does not sit behind another call's connection attempt.

use std::sync::Arc;
use std::time::Duration;

use shipper::{FailureOutcome, ShippedEvent, ShipperTransport};
use shipper_net::{NetConfig, TurmoilNet};
use tokio::time::Instant;

use crate::GrpcTransport;

fn event(n: u8) -> ShippedEvent {
    ShippedEvent { shard: 0, key: format!("k{n}"), payload: vec![n], source: "tx".into() }
}

#[test]
fn a_short_deadline_does_not_wait_for_another_calls_connection_attempt() {
    let mut sim = turmoil::Builder::new().simulation_duration(Duration::from_secs(30)).build();
    sim.host("rx", || async {
        // Never reached: the partition below drops every segment to it.
        std::future::pending::<()>().await;
        Ok(())
    });
    sim.client("tx", async {
        turmoil::partition("tx", "rx");
        let config = NetConfig::new("tx", 1)
            .with_connect_timeout(Duration::from_secs(2))
            .with_deadline(Duration::from_secs(10));
        let transport = Arc::new(GrpcTransport::new(TurmoilNet::new(["tx", "rx"]), config));
        let rx = "rx".to_string();
        // A long call starts a connection attempt whose SYN is lost: it waits 2 s.
        let long = tokio::task::spawn_local({
            let (transport, rx) = (transport.clone(), rx.clone());
            async move {
                let deadline = Instant::now() + Duration::from_secs(5); // allow-nondeterminism: tokio time, which turmoil simulates
                transport.send_until(&rx, event(1), deadline).await
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let begun = Instant::now(); // allow-nondeterminism: tokio time, which turmoil simulates
        let short = transport.send_until(&rx, event(2), begun + Duration::from_millis(100)).await;
        let took = begun.elapsed();
        let error = short.expect_err("nothing can be delivered across the partition");
        assert_eq!(error.outcome(), FailureOutcome::NotDelivered, "{error}");
        assert!(took <= Duration::from_millis(101), "the short call took {took:?}, past its 100 ms deadline");
        let long = long.await.expect("the long call's task");
        assert_eq!(long.expect_err("partitioned").outcome(), FailureOutcome::NotDelivered);
        Ok(())
    });
    sim.run().expect("simulation");
}
