//! The `shipsim` binary as a user meets it: exit statuses, error positions,
//! reports and traces.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shipsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipsim")).args(args).output().expect("shipsim runs")
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name).display().to_string()
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_accepts_a_bundled_scenario() {
    let out = shipsim(&["check", &scenario("partition-heal.yaml")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ok (3 nodes, 2 faults"), "{}", text(&out.stdout));
}

#[test]
fn bad_input_names_file_line_and_column_and_exits_2() {
    let path = scratch("bad.yaml", "name: bad\nnodes: [n1, n2]\nfaults:\n  - {at: 1s, restart: n2}\n");
    for command in ["check", "run"] {
        let out = shipsim(&[command, path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = text(&out.stderr);
        assert!(err.contains(&format!("{}:4:", path.display())), "{command}: {err}");
        assert!(err.contains("restart of `n2`"), "{command}: {err}");
    }
    let out = shipsim(&["run", "/no/such/file.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/no/such/file.yaml"), "{}", text(&out.stderr));
}

#[test]
fn a_passing_run_exits_0_and_writes_a_deterministic_trace() {
    let trace = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-baseline.jsonl");
    let out = shipsim(&[
        "run",
        &scenario("baseline.yaml"),
        "--seed",
        "7",
        "--trace",
        trace.to_str().unwrap(),
        "--check-determinism",
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("PASS") && stdout.contains("deterministic: two runs, same trace"), "{stdout}");
    let first = std::fs::read_to_string(&trace).expect("trace written");
    assert!(
        first
            .lines()
            .next()
            .unwrap()
            .starts_with(r#"{"kind":"start","format":4,"t":0,"scenario":"baseline","seed":7"#)
    );
    shipsim(&["run", &scenario("baseline.yaml"), "--seed", "7", "--trace", trace.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&trace).unwrap(), first, "same seed, same bytes");
}

/// A workload that cannot finish within the run's duration (100 events at
/// 10/s need 10 s, the run has 5) is a liveness violation: exit 1, the rule
/// named, and the command that replays its repro.
#[test]
fn a_violation_exits_1_with_a_replay_command() {
    let path = scratch(
        "slow.yaml",
        "name: slow\nnodes: [n1, n2]\nduration: 5s\nworkload:\n  events: 100\n  rate: 10/s\nexpect:\n  settle: 2s\n",
    );
    let out = shipsim(&["run", path.to_str().unwrap(), "--seed", "3"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("liveness  violated"), "{stdout}");
    assert!(stdout.contains("unfinished-workload"), "{stdout}");
    assert!(stdout.contains("\nFAIL\n") && stdout.contains("  replay: shipsim replay "), "{stdout}");
}

/// A steady workload longer than `settle`, with no fault at all, is no
/// liveness failure: the settle budget counts from when the workload could
/// first have finished on a healthy network (2000 events at 200/s: 10 s),
/// not from time 0.
#[test]
fn a_steady_workload_longer_than_settle_passes() {
    let path = scratch(
        "steady.yaml",
        "name: steady\nnodes: [n1, n2, n3]\nworkload:\n  events: 2000\n  rate: 200/s\nexpect:\n  settle: 5s\n",
    );
    let out = shipsim(&["run", path.to_str().unwrap(), "--seed", "1"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("events routed 6000"), "{stdout}");
    assert!(stdout.contains("liveness  held"), "{stdout}");
}

/// `shipsim run … | head -1`: when stdout's reader goes away the command does
/// not panic; it finishes its work (the trace is complete) and its exit status
/// still tells whether the run passed.
#[test]
fn a_closed_stdout_neither_panics_nor_cuts_the_trace() {
    let trace = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-closed-stdout.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipsim"))
        .args(["run", &scenario("baseline.yaml"), "--seed", "7", "--trace", trace.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("shipsim runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("shipsim ends");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let written = std::fs::read_to_string(&trace).expect("trace written");
    let full = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-open-stdout.jsonl");
    shipsim(&["run", &scenario("baseline.yaml"), "--seed", "7", "--trace", full.to_str().unwrap()]);
    assert_eq!(written, std::fs::read_to_string(&full).unwrap(), "the same trace as with stdout open");
}

#[test]
fn an_unknown_transport_is_bad_input_naming_the_accepted_ones() {
    let path = scenario("baseline.yaml");
    for args in [
        ["run", &path, "--transport", "bogus"].as_slice(),
        &["explore", &path, "--seeds", "1", "--transport", "bogus"],
        &["replay", &path, "--transport", "bogus"],
    ] {
        let out = shipsim(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("invalid transport kind `bogus`: expected one of tcp, grpc"), "{args:?}: {err}");
    }
    for command in ["run", "explore", "replay"] {
        let help = text(&shipsim(&[command, "--help"]).stdout);
        assert!(help.contains("--transport <KIND>") && help.contains("tcp or grpc"), "{command}: {help}");
    }
}

#[test]
fn run_on_another_transport_says_so_in_the_report_and_the_trace() {
    let trace = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-grpc.jsonl");
    let out = shipsim(&[
        "run",
        &scenario("baseline.yaml"),
        "--seed",
        "7",
        "--transport",
        "grpc",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("baseline.yaml, seed 7, transport grpc\n") && stdout.contains("PASS"),
        "{stdout}"
    );
    let written = std::fs::read_to_string(&trace).expect("trace written");
    let start = written.lines().next().unwrap_or_default();
    assert!(start.contains(r#""transport_name":"grpc""#), "{start}");
    // Without the flag, the file's kind (none written: tcp).
    let out =
        shipsim(&["run", &scenario("baseline.yaml"), "--seed", "7", "--trace", trace.to_str().unwrap()]);
    assert!(text(&out.stdout).contains("seed 7, transport tcp\n"), "{}", text(&out.stdout));
    let start = std::fs::read_to_string(&trace).unwrap().lines().next().unwrap_or_default().to_owned();
    assert!(start.contains(r#""transport_name":"tcp""#), "{start}");
}
