//! Scenario files: the model, the strict loader and the writer.
//!
//! A scenario file (`docs/scenarios.md`) describes a cluster, its workload, a fault
//! timeline and the invariants to check. Loading is strict because a scenario that silently
//! means something else than its author wrote tests less than they think: unknown keys, wrong
//! types, duplicate keys, unknown node names and faults that cannot take effect are errors,
//! each reported as `file:line:column: message`.
//!
//! The pipeline, one module per step:
//! `source` (size, UTF-8, control characters, tabs) → `yaml` (serde-saphyr into the raw
//! schema of `raw`, with limits against YAML bombs) → `validate` and `timeline` (semantic
//! checks, defaults) → [`Scenario`]. `emit` writes a scenario back ([`to_yaml`]).

mod broker;
mod duration;
mod emit;
mod error;
mod model;
mod raw;
mod scalars;
mod sizes;
mod skew;
mod source;
mod timeline;
mod timeline_walk;
mod traced;
mod validate;
mod yaml;

#[cfg(test)]
mod arbitrary;

use std::io::Read as _;
use std::path::Path;

pub use duration::{format_duration, parse_duration};
pub use emit::to_yaml;
pub use error::{Pos, ScenarioError};
pub use model::{
    BatchSize, BrokerSettings, Expect, Fault, FaultAction, HealTarget, LatencyRange, Link, Membership,
    Network, Scenario, Sink, SizeRange, TransportKind, TransportSettings, Workload,
};
pub use shipsim_trace::{ExpectDelivery, ExpectOrdering, ExpectPlacement, ExpectStats};
pub use sizes::{format_size, parse_size};
pub(crate) use skew::DRAWN_SKEWS_PPM;
pub use source::MAX_SOURCE_BYTES;
pub(crate) use validate::Limits;

/// Reads and checks a scenario file. At most [`MAX_SOURCE_BYTES`] (+1, to detect the excess)
/// are read, so pointing the loader at a huge file fails fast.
/// A transport's `limits` are checked too (see [`crate::load`]).
pub(crate) fn load_within(path: &Path, limits: Limits<'_>) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let io_error = |source| ScenarioError::Io { file: file.clone(), source };
    let handle = std::fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(MAX_SOURCE_BYTES).unwrap_or(u64::MAX).saturating_add(1);
    handle.take(limit).read_to_end(&mut bytes).map_err(io_error)?;
    parse_bytes_within(&bytes, &file, limits)
}

/// Checks a scenario given as bytes, e.g. read from stdin; `file` names it in errors.
/// Bytes that are not UTF-8 are reported at the line and column of the first bad byte.
pub(crate) fn parse_bytes_within(
    bytes: &[u8],
    file: &str,
    limits: Limits<'_>,
) -> Result<Scenario, ScenarioError> {
    let text = source::decode(bytes).map_err(|p| p.in_file(file))?;
    parse_within(text, file, limits)
}

/// Checks a scenario given as text; `file` names it in errors.
pub(crate) fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
    parse_within(text, file, &|_| Ok(()))
}

/// [`parse`], also checking a transport's `limits`.
pub(crate) fn parse_within(text: &str, file: &str, limits: Limits<'_>) -> Result<Scenario, ScenarioError> {
    let text = source::check_text(text).map_err(|p| p.in_file(file))?;
    let raw = yaml::parse_raw(text).map_err(|p| p.in_file(file))?;
    validate::scenario_within(raw, limits).map_err(|p| p.in_file(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Duration;

    #[test]
    fn load_names_a_missing_file() {
        let err = crate::load(Path::new("/nonexistent/dir/missing.yaml")).unwrap_err();
        assert!(matches!(err, ScenarioError::Io { .. }));
        assert!(
            err.to_string().starts_with("/nonexistent/dir/missing.yaml: cannot read scenario file: "),
            "{err}"
        );
    }

    #[test]
    fn load_reads_a_file() {
        let dir = std::env::temp_dir().join(format!("shipsim-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ok.yaml");
        std::fs::write(&path, "name: ok\nnodes: [n1, n2]\n").unwrap();
        let s = crate::load(&path).unwrap();
        assert_eq!(s.nodes, ["n1", "n2"]);
        std::fs::write(&path, "name: ok\nnodes: [n1, n1]\n").unwrap();
        let err = crate::load(&path).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}:2:13: duplicate node `n1` (first listed at 2:9)", path.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn to_yaml_writes_every_key() {
        let s = parse("name: small\nnodes: [n1]\n", "small.yaml").unwrap();
        let text = to_yaml(&s);
        assert_eq!(
            text,
            "name: small\ndescription: \"\"\nseeds: [1]\nnodes: [n1]\nshards: 16\nmembership:\n  propagation: 0s\nduration: 1m\n\
             network:\n  latency: 1ms\n  loss: 0.0\ntransport:\n  connections: 2\n  ack_timeout: 200ms\n  deadline: 5s\n  max_frame: 1MiB\n  max_unacked: 64\n\
             workload:\n  events: 100\n  rate: 200/s\n  batch: 1..8\n  keys: 64\nfaults: []\n\
             expect:\n  delivery: exactly-once\n  ordering: per-batch\n  stats: consistent\n  placement: owner\n  settle: 10s\n"
        );
        assert_eq!(parse(&text, "again.yaml").unwrap(), s);
    }

    #[test]
    fn to_yaml_writes_a_sink_section_only_when_it_is_not_the_instant_one() {
        let s =
            parse("name: small\nnodes: [n1]\nsink:\n  latency: 5ms..40ms\n  busy: 0.05\n", "s.yaml").unwrap();
        assert_eq!(s.sink.busy, 0.05);
        let text = to_yaml(&s);
        assert!(text.contains("\nsink:\n  latency: 5ms..40ms\n  busy: 0.05\n"), "{text}");
        assert_eq!(parse(&text, "again.yaml").unwrap(), s);
        let only_latency = parse("name: small\nnodes: [n1]\nsink: {latency: 3ms}\n", "s.yaml").unwrap();
        assert!(to_yaml(&only_latency).contains("\nsink:\n  latency: 3ms\n  busy: 0.0\n"));
        let instant = parse("name: small\nnodes: [n1]\nsink: {latency: 0ms, busy: 0}\n", "s.yaml").unwrap();
        assert!(!to_yaml(&instant).contains("sink"));
    }

    #[test]
    fn fault_lines_are_recorded_and_survive_only_as_metadata() {
        let s = parse(
            "name: x\nnodes: [a, b]\nfaults:\n  - {at: 1s, crash: a}\n\n  - at: 2s\n    restart: a\n",
            "f.yaml",
        )
        .unwrap();
        assert_eq!(s.faults.iter().map(|f| f.line).collect::<Vec<_>>(), [4, 6]);
        assert_eq!(s.faults[1].at, Duration::from_secs(2));
        let again = parse(&to_yaml(&s), "g.yaml").unwrap();
        assert_eq!(again.faults.iter().map(|f| f.line).collect::<Vec<_>>(), [24, 25]);
        assert_eq!(again, s);
    }

    #[test]
    fn byte_level_keys_round_trip() {
        let text = "name: b\nnodes: [n1, n2]\nnetwork:\n  segment: 1..1500\ntransport:\n  max_frame: 64KiB\n  \
                    max_unacked: 4\nworkload:\n  payload: 16B..32KiB\n";
        let s = parse(text, "b.yaml").unwrap();
        assert_eq!(s.network.segment, Some(SizeRange { min: 1, max: 1500 }));
        assert_eq!((s.transport.max_frame, s.transport.max_unacked), (64 << 10, 4));
        assert_eq!(s.workload.payload, Some(SizeRange { min: 16, max: 32 << 10 }));
        let yaml = to_yaml(&s);
        assert!(yaml.contains("  segment: 1..1500\n") && yaml.contains("  payload: 16B..32KiB\n"), "{yaml}");
        assert!(yaml.contains("  max_frame: 64KiB\n  max_unacked: 4\n"), "{yaml}");
        assert_eq!(parse(&yaml, "again.yaml").unwrap(), s);
    }

    #[test]
    fn the_transport_kind_is_written_only_when_the_file_names_it() {
        let s = parse("name: k\nnodes: [n1]\ntransport:\n  kind: grpc\n", "k.yaml").unwrap();
        assert_eq!(s.transport.kind, Some(TransportKind::Grpc));
        let yaml = to_yaml(&s);
        assert!(yaml.contains("\ntransport:\n  kind: grpc\n  connections: 2\n"), "{yaml}");
        assert_eq!(parse(&yaml, "again.yaml").unwrap(), s);
        let tcp = Scenario {
            transport: TransportSettings { kind: Some(TransportKind::Tcp), ..s.transport.clone() },
            ..s
        };
        assert!(to_yaml(&tcp).contains("\n  kind: tcp\n"));
        assert_eq!(parse(&to_yaml(&tcp), "again.yaml").unwrap(), tcp);
        // Unnamed, it stays unnamed: not pinned to today's default.
        let plain = parse("name: k\nnodes: [n1]\n", "k.yaml").unwrap();
        assert!(!to_yaml(&plain).contains("kind"), "{}", to_yaml(&plain));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn valid_scenarios_round_trip_through_yaml(s in arbitrary::scenario()) {
            let text = to_yaml(&s);
            let back = parse(&text, "roundtrip.yaml");
            prop_assert!(back.is_ok(), "{}\n---\n{}", back.unwrap_err(), text);
            prop_assert_eq!(back.unwrap(), s, "{}", text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Err(e) = crate::parse_bytes(&bytes, "fuzz.yaml") {
                let pos = e.position().expect("parse errors have a position");
                prop_assert!(pos.line >= 1 && pos.column >= 1);
            }
        }

        #[test]
        fn yaml_like_text_never_panics(text in arbitrary::yaml_like_text()) {
            if let Err(e) = parse(&text, "fuzz.yaml") {
                let pos = e.position().expect("parse errors have a position");
                prop_assert!(pos.line >= 1 && pos.column >= 1);
                prop_assert!(e.to_string().starts_with("fuzz.yaml:"));
            }
        }

        #[test]
        fn mutated_valid_files_never_panic(edits in arbitrary::edits()) {
            let text = arbitrary::apply_edits(arbitrary::EXAMPLE, &edits);
            if let Err(e) = crate::parse_bytes(&text, "fuzz.yaml") {
                let pos = e.position().expect("parse errors have a position");
                prop_assert!(pos.line >= 1 && pos.column >= 1);
            }
        }
    }
}
