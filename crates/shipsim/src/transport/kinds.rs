//! The bundled transports by kind: which factory a scenario's `transport.kind` (or
//! `--transport`) runs on. The one place a kind becomes a factory, so the runner, explore,
//! shrink, [`crate::Simulation`] and [`crate::Suite`] cannot disagree about it.

use std::sync::Arc;

use crate::scenario::{Scenario, TransportKind};
use crate::transport::TransportFactory;
use crate::transport::grpc::GrpcFactory;
use crate::transport::nats::NatsFactory;
use crate::transport::tcp::TcpFactory;

/// The factory of the bundled transport `kind`.
pub fn factory_for(kind: TransportKind) -> Arc<dyn TransportFactory> {
    match kind {
        TransportKind::Tcp => Arc::new(TcpFactory),
        TransportKind::Grpc => Arc::new(GrpcFactory),
        TransportKind::Nats => Arc::new(NatsFactory),
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

/// Why a simulation cannot run `scenario` (read from `path`): its transport runs in real mode
/// only. Named at the file's `kind:` key (`file:line:column: why`), or as `--transport` when
/// the file names another kind and the command line chose this one.
pub fn simulation_refusal(path: &std::path::Path, scenario: &Scenario) -> Option<String> {
    let kind = scenario.transport.kind.unwrap_or_default();
    let why = kind.real_only()?;
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let at = text.lines().enumerate().find_map(|(i, line)| {
        let column = line.find("kind:")?;
        line[column + 5..].trim_start().starts_with(kind.name()).then_some((i + 1, column + 1))
    });
    Some(match at {
        Some((line, column)) => format!("{}:{line}:{column}: {why}", path.display()),
        None => format!("--transport {kind}: {why}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_the_factory_named_after_it() {
        for kind in TransportKind::EVERY {
            assert_eq!(factory_for(kind).name(), kind.name());
        }
    }

    #[test]
    fn a_simulation_refuses_nats_at_its_kind_key() {
        let dir = std::env::temp_dir().join(format!("shipsim-kinds-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("n.yaml");
        let text = "name: n\nnodes: [n1]\ntransport:\n  kind: nats\n";
        std::fs::write(&path, text).unwrap();
        let mut s = crate::scenario::parse(text, "n.yaml").unwrap();
        let err = simulation_refusal(&path, &s).unwrap();
        assert!(
            err.starts_with(&format!("{}:4:3: the NATS transport runs in real mode only", path.display())),
            "{err}"
        );
        s.transport.kind = Some(TransportKind::Grpc);
        assert_eq!(simulation_refusal(&path, &s), None);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_scenario_runs_on_its_kind_and_on_tcp_without_one() {
        let mut s = crate::scenario::parse("name: k\nnodes: [n1]\n", "k.yaml").unwrap();
        assert_eq!(scenario_factory(&s).name(), "tcp");
        s.transport.kind = Some(TransportKind::Grpc);
        assert_eq!(scenario_factory(&s).name(), "grpc");
    }
}
