//! Repro files: a failing (scenario, seed) written as a scenario YAML that carries its seed.
//!
//! The file is the bug report (`docs/exploring.md`): it is an ordinary scenario, so `shipsim run`,
//! `shipsim replay` and the sims suite all read it, and once the bug is fixed it moves to
//! `scenarios/regressions/` unchanged. The header is YAML comments, so it costs the loader
//! nothing and survives copy and paste: it names the violation and the command that replays it.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use crate::scenario::{Scenario, to_yaml};
use shipsim_trace::Violation;

/// Where repros go unless told otherwise: under `target/` so they are never committed by
/// accident, and cleaned with everything else by `cargo clean`.
pub const DEFAULT_DIR: &str = "target/shipsim/failures";

/// At most this many characters of `expected` / `actual` go into the header: enough to
/// recognise the failure, short enough to keep the header readable.
const SHORT: usize = 120;

/// The repro directory: `$CARGO_TARGET_DIR/shipsim/failures` when cargo's target dir is
/// moved, else [`DEFAULT_DIR`] relative to the current directory.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(target) => PathBuf::from(target).join("shipsim/failures"),
        None => PathBuf::from(DEFAULT_DIR),
    }
}

/// The file name of a repro: `<name>-seed-<N>.yaml`, so one scenario's failing seeds sit side by
/// side and a rerun of the same seed overwrites its old repro instead of piling up copies.
/// A scenario that names its transport gets `<name>-<kind>-seed-<N>.yaml`: the same seed
/// failing on two transports (a suite's `each_transport` cases) leaves two repros, each
/// replaying on its own transport, not one overwriting the other.
pub fn file_name(scenario: &Scenario, seed: u64) -> String {
    match scenario.transport.kind {
        Some(kind) => format!("{}-{kind}-seed-{seed}.yaml", scenario.name),
        None => format!("{}-seed-{seed}.yaml", scenario.name),
    }
}

/// The text of a repro: a comment header, then the scenario with `seeds: [seed]`.
///
/// `violation` is the first (or the chosen) violation of the failing run; `None` for a run that
/// failed some other way (e.g. nondeterminism), which the header then says. `notes` are extra
/// header lines (e.g. the shrinker's log), each written as a comment.
pub fn render(
    scenario: &Scenario,
    seed: u64,
    violation: Option<&Violation>,
    path: &Path,
    notes: &[String],
) -> String {
    let mut repro = scenario.clone();
    repro.seeds = vec![seed];
    let mut out = String::new();
    let transport = scenario.transport.kind.map(|kind| format!(", transport {kind}")).unwrap_or_default();
    let _ = writeln!(out, "# shipsim repro: scenario {}, seed {seed}{transport}", scenario.name);
    match violation {
        Some(v) => {
            let _ = writeln!(out, "# violation: {} / {} at t={}us", v.invariant(), v.rule.as_str(), v.t);
            let _ = writeln!(out, "#   expected: {}", one_line(&v.expected));
            let _ = writeln!(out, "#   actual:   {}", one_line(&v.actual));
        }
        None => {
            let _ = writeln!(out, "# failure: no invariant violation recorded");
        }
    }
    for note in notes {
        let _ = writeln!(out, "# {}", one_line(note));
    }
    let _ = writeln!(out, "# replay: {}", replay_command(path));
    out.push_str(&to_yaml(&repro));
    out
}

/// The command that replays a repro file.
pub fn replay_command(path: &Path) -> String {
    format!("shipsim replay {}", path.display())
}

/// Writes the repro of a failing (scenario, seed) under `dir` (created if missing) and returns
/// its path.
pub fn write(
    dir: &Path,
    scenario: &Scenario,
    seed: u64,
    violation: Option<&Violation>,
    notes: &[String],
) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(file_name(scenario, seed));
    std::fs::write(&path, render(scenario, seed, violation, &path, notes))?;
    Ok(path)
}

/// A header line must stay one comment line: newlines would end the comment and the rest
/// would be read as YAML.
fn one_line(text: &str) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() <= SHORT {
        flat
    } else {
        let mut short: String = flat.chars().take(SHORT).collect();
        short.push_str("...");
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario;

    const SCENARIO: &str = "\
name: tiny
seeds: [1, 2, 3]
nodes: [n1, n2]
duration: 5s
workload:
  events: 10
faults:
  - {at: 1s, crash: n2}
  - {at: 2s, restart: n2}
";

    fn violation() -> Violation {
        Violation {
            t: 1234,
            rule: shipsim_trace::DeliveryRule::NoLoss.into(),
            event: None,
            expected: "event n1/3 delivered\nonce".into(),
            actual: "x".repeat(500),
        }
    }

    #[test]
    fn repro_round_trips_with_its_seed_and_a_header() {
        let original = scenario::parse(SCENARIO, "tiny.yaml").unwrap();
        let dir = std::env::temp_dir().join(format!("shipsim-repro-test-{}", std::process::id()));
        let path = write(&dir.join("nested"), &original, 7, Some(&violation()), &["shrunk: 2 steps".into()])
            .unwrap();
        assert!(path.ends_with("nested/tiny-seed-7.yaml"), "{}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# shipsim repro: scenario tiny, seed 7\n"), "{text}");
        assert!(text.contains("# violation: delivery / no-loss"), "{text}");
        assert!(text.contains("# shrunk: 2 steps"), "{text}");
        assert!(text.contains(&format!("# replay: shipsim replay {}", path.display())), "{text}");
        assert!(text.lines().all(|l| l.len() < 400), "a header line was not shortened");
        let loaded = crate::load(&path).unwrap();
        assert_eq!(loaded.seeds, vec![7]);
        assert_eq!(Scenario { seeds: original.seeds.clone(), ..loaded }, original);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_repro_keeps_the_transport_it_ran_on_in_its_name_and_body() {
        let mut s = scenario::parse(SCENARIO, "tiny.yaml").unwrap();
        assert_eq!(file_name(&s, 7), "tiny-seed-7.yaml");
        s.transport.kind = Some(crate::scenario::TransportKind::Grpc);
        assert_eq!(file_name(&s, 7), "tiny-grpc-seed-7.yaml");
        let text = render(&s, 7, None, Path::new("tiny-grpc-seed-7.yaml"), &[]);
        assert!(text.starts_with("# shipsim repro: scenario tiny, seed 7, transport grpc\n"), "{text}");
        let loaded = scenario::parse(&text, "tiny-grpc-seed-7.yaml").unwrap();
        assert_eq!(loaded.transport.kind, Some(crate::scenario::TransportKind::Grpc));
    }
}
