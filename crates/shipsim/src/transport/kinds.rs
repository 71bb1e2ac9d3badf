//! The bundled transports by kind: which factory a scenario's `transport.kind` (or
//! `--transport`) runs on. The one place a kind becomes a factory, so the runner, explore,
//! shrink, [`crate::Simulation`] and [`crate::Suite`] cannot disagree about it.

use std::sync::Arc;

use crate::scenario::{Scenario, TransportKind};
use crate::transport::TransportFactory;
use crate::transport::grpc::GrpcFactory;
use crate::transport::tcp::TcpFactory;

/// The factory of the bundled transport `kind`.
pub fn factory_for(kind: TransportKind) -> Arc<dyn TransportFactory> {
    match kind {
        TransportKind::Tcp => Arc::new(TcpFactory),
        TransportKind::Grpc => Arc::new(GrpcFactory),
    }
}

/// The factory `scenario` runs on unless told otherwise: its `transport.kind`, TCP when the
/// file does not name one.
pub(crate) fn scenario_factory(scenario: &Scenario) -> Arc<dyn TransportFactory> {
    factory_for(scenario.transport.kind.unwrap_or_default())
}

/// Whether `scenario` fits the limits of the bundled transport it names.
pub(crate) fn fits(scenario: &Scenario) -> Result<(), String> {
    scenario_factory(scenario).check(scenario)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_the_factory_named_after_it() {
        for kind in TransportKind::ALL {
            assert_eq!(factory_for(kind).name(), kind.name());
        }
    }

    #[test]
    fn a_scenario_runs_on_its_kind_and_on_tcp_without_one() {
        let mut s = crate::scenario::parse("name: k\nnodes: [n1]\n", "k.yaml").unwrap();
        assert_eq!(scenario_factory(&s).name(), "tcp");
        s.transport.kind = Some(TransportKind::Grpc);
        assert_eq!(scenario_factory(&s).name(), "grpc");
    }
}
