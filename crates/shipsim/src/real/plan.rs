//! Which scenario faults real mode carries out, and how (the table in `docs/real-mode.md`);
//! the rest are refused before anything starts, naming the fault's file, line and column.

use std::path::Path;

use crate::scenario::{FaultAction, Link, Scenario, TransportKind};

/// Why real mode cannot carry out `action`, if it cannot. `nats`: the nodes reach each other
/// only through the broker, so a network fault must touch a link to it.
fn refused(action: &FaultAction, nats: bool) -> Option<&'static str> {
    if nats && !touches_broker(action) {
        return Some(
            "under NATS every message crosses the broker and nodes have no link to each other: \
             cut, hold, slow or lose a node's link to the broker, e.g. partition: [[n1], [broker]]",
        );
    }
    match action {
        FaultAction::Reorder(_) => Some(
            "messages cannot be reordered inside one TCP stream on a real network (the kernel \
             delivers a stream in order); use hold and release, or run it simulated",
        ),
        FaultAction::Clock { .. } | FaultAction::Skew { .. } => Some(
            "a node process reads the OS's monotonic clock, which the harness cannot jump or \
             skew; run it simulated, where each node's tokio clock can (docs/scenarios.md#clock-faults)",
        ),
        _ => None,
    }
}

/// Whether a network fault names the broker (faults on nodes, routes and membership do not
/// need to).
fn touches_broker(action: &FaultAction) -> bool {
    let broker = TransportKind::BROKER;
    let link = |l: &Link| l.a == broker || l.b == broker;
    match action {
        FaultAction::Partition(groups) => groups.iter().flatten().any(|n| n == broker),
        FaultAction::PartitionOneway { from, to } => from == broker || to == broker,
        FaultAction::Hold(l) | FaultAction::Release(l) | FaultAction::Reorder(l) => link(l),
        FaultAction::Latency { link: l, .. } | FaultAction::Loss { link: l, .. } => link(l),
        _ => true,
    }
}

/// The key a fault's action is written under, to find its column.
fn key(action: &FaultAction) -> &'static str {
    match action {
        FaultAction::Reorder(_) => "reorder",
        FaultAction::Clock { .. } | FaultAction::Skew { .. } => "clock",
        _ => "at",
    }
}

/// Every fault of `scenario` real mode can carry out, or the first it cannot, as
/// `file:line:column: why` (the column of the fault's action key on its line, read back
/// from the file).
pub(crate) fn check(path: &Path, scenario: &Scenario) -> Result<(), String> {
    let nats = scenario.transport.kind == Some(TransportKind::Nats);
    let Some((fault, why)) =
        scenario.faults.iter().find_map(|f| refused(&f.action, nats).map(|why| (f, why)))
    else {
        return Ok(());
    };
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let line_text = text.lines().nth(fault.line.saturating_sub(1)).unwrap_or("");
    let column = line_text
        .find(&format!("{}:", key(&fault.action)))
        .or_else(|| line_text.find(|c: char| !c.is_whitespace()))
        .map_or(1, |c| c + 1);
    Err(format!(
        "{}:{}:{column}: real mode cannot carry out the fault {fault}: {why}",
        path.display(),
        fault.line
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_fault_is_named_at_its_line_and_column() {
        let text = "name: r\nnodes: [n1, n2]\nfaults:\n  - {at: 1s, hold: [n1, n2]}\n  - {at: 2s, reorder: [n1, n2]}\n";
        let dir = std::env::temp_dir().join(format!("shipsim-plan-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.yaml");
        std::fs::write(&path, text).unwrap();
        let scenario = crate::parse(text, "r.yaml").unwrap();
        let err = check(&path, &scenario).unwrap_err();
        assert!(err.starts_with(&format!("{}:5:14: real mode cannot carry out", path.display())), "{err}");
        let fine =
            crate::parse("name: f\nnodes: [n1, n2]\nfaults:\n  - {at: 1s, crash: n2}\n", "f.yaml").unwrap();
        assert_eq!(check(&path, &fine), Ok(()));
        let jump = "name: c\nnodes: [n1, n2]\nfaults:\n  - {at: 1s,  clock: {node: n2, jump: 50ms}}\n";
        std::fs::write(&path, jump).unwrap();
        let err = check(&path, &crate::parse(jump, "c.yaml").unwrap()).unwrap_err();
        assert!(
            err.starts_with(&format!("{}:4:15: real mode cannot carry out the fault", path.display())),
            "{err}"
        );
        assert!(err.contains("OS's monotonic clock"), "{err}");
        let skew = "name: c\nnodes: [n1, n2]\nfaults:\n  - {at: 1s, clock: {node: n2, skew: -20%}}\n";
        std::fs::write(&path, skew).unwrap();
        let err = check(&path, &crate::parse(skew, "c.yaml").unwrap()).unwrap_err();
        assert!(err.starts_with(&format!("{}:4:14: real mode cannot carry out", path.display())), "{err}");
        assert!(err.contains("cannot jump or skew"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
