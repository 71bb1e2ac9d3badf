//! The NATS broker as a fault target: a NATS scenario's faults may crash, restart, bounce and
//! pause `broker` and cut, hold, slow or lose the link between it and a node
//! (`partition: [[n1], [broker]]`, `latency: {link: [n1, broker], value: 50ms}`). It is no
//! shipper node: it joins no shard map and has no routes.

use super::duration::parse_duration;
use super::error::{Pos, Problem};
use super::model::{BrokerSettings, Fault, FaultAction, TransportKind};
use super::raw::{Located, RawBroker, located};
use super::sizes::parse_size;

/// `transport.broker`, which only a NATS scenario may have.
pub(crate) fn settings(
    raw: Option<Located<RawBroker>>,
    kind: Option<TransportKind>,
) -> Result<BrokerSettings, Problem> {
    let Some(raw) = raw else { return Ok(BrokerSettings::default()) };
    if kind != Some(TransportKind::Nats) {
        return Err(Problem::new(raw.pos, "`broker` configures the NATS broker: it needs `kind: nats`"));
    }
    let size = |s: &Option<Located<String>>| -> Result<Option<u64>, Problem> {
        let Some(s) = s else { return Ok(None) };
        match located(s, parse_size(&s.value))? {
            0 => Err(Problem::new(s.pos, "a broker limit must be more than 0 bytes")),
            n => Ok(Some(n)),
        }
    };
    let write_deadline = match &raw.value.write_deadline {
        Some(d) => Some(located(d, parse_duration(&d.value))?),
        None => None,
    };
    Ok(BrokerSettings {
        max_payload: size(&raw.value.max_payload)?,
        max_pending: size(&raw.value.max_pending)?,
        write_deadline,
    })
}

/// Refuses the faults that would treat the broker as a shipper node.
pub(crate) fn check_faults(faults: &[Fault]) -> Result<(), Problem> {
    let broker = TransportKind::BROKER;
    for fault in faults {
        let names_it = match &fault.action {
            FaultAction::Join(n) | FaultAction::Leave(n) => n == broker,
            FaultAction::DropRoute { from, to } | FaultAction::RestoreRoute { from, to } => {
                from == broker || to == broker
            }
            _ => false,
        };
        if names_it {
            return Err(Problem::new(
                Pos::new(fault.line, 1),
                format!(
                    "the fault {fault} names the NATS broker, which is no shipper node: it joins no \
                     shard map and has no routes (crash, restart, bounce or pause it, or cut its links)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_broker_is_a_fault_target_of_a_nats_scenario_only() {
        let head = "name: b\nnodes: [n1, n2]\ntransport: {kind: nats}\nfaults:\n";
        let ok = format!(
            "{head}  - {{at: 1s, crash: broker}}\n  - {{at: 2s, restart: broker}}\n  - {{at: 3s, partition: [[n1], [broker]]}}\n"
        );
        let s = crate::parse(&ok, "b.yaml").unwrap();
        assert_eq!(s.faults.len(), 3);
        let join = format!("{head}  - {{at: 1s, join: broker}}\n");
        let err = crate::parse(&join, "b.yaml").unwrap_err().to_string();
        assert!(err.contains("b.yaml:5:1: the fault") && err.contains("no shipper node"), "{err}");
        let tcp = "name: b\nnodes: [n1, n2]\nfaults:\n  - {at: 1s, crash: broker}\n";
        let err = crate::parse(tcp, "b.yaml").unwrap_err().to_string();
        assert!(err.contains("unknown node `broker`"), "{err}");
        let named =
            "name: b\nnodes: [n1, broker]\ntransport: {kind: nats}\nfaults:\n  - {at: 1s, crash: n1}\n";
        let err = crate::parse(named, "b.yaml").unwrap_err().to_string();
        assert!(err.contains("names the NATS broker"), "{err}");
        let limits = "name: b\nnodes: [n1]\ntransport:\n  kind: nats\n  broker: {max_payload: 8KiB, write_deadline: 200ms}\n";
        let s = crate::parse(limits, "b.yaml").unwrap();
        assert_eq!(s.transport.broker.max_payload, Some(8192));
        assert_eq!(s.transport.broker.write_deadline, Some(std::time::Duration::from_millis(200)));
        let tcp = "name: b\nnodes: [n1]\ntransport:\n  broker: {max_payload: 8KiB}\n";
        let err = crate::parse(tcp, "b.yaml").unwrap_err().to_string();
        assert!(err.contains("b.yaml:4:11: `broker` configures the NATS broker"), "{err}");
    }
}
