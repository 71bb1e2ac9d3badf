//! `shipsim explore`, `shipsim run`'s repros and `shipsim replay`, through the binary: the
//! report does not depend on --jobs, failures leave a repro that loads back, and replaying it
//! reproduces the same violation with the exit status of a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Seeds 1..=12 of this scenario: 4, 6 and 10 fail (liveness: the run's duration is cut
/// shorter than the workload's schedule), in a fraction of a second.
const TINY: &str = include_str!("../../shipsim/tests/fixtures/tiny-explore.yaml");

/// A fresh directory per test, so parallel tests do not share repros.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("explore-cli").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmp dir");
    std::fs::write(dir.join("tiny.yaml"), TINY).expect("write scenario");
    dir
}

fn shipsim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipsim"))
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .args(args)
        .output()
        .expect("shipsim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Everything but the throughput line, which holds wall time and the number of jobs.
fn report(out: &Output) -> String {
    text(&out.stdout).lines().filter(|l| !l.contains("seeds/min")).collect::<Vec<_>>().join("\n")
}

#[test]
fn explore_reports_the_same_with_one_or_two_jobs_and_writes_a_replayable_repro() {
    let dir = scratch("jobs");
    let one = shipsim(&dir, &["explore", "tiny.yaml", "--seeds", "12", "--jobs", "1", "--out", "one"]);
    let two = shipsim(&dir, &["explore", "tiny.yaml", "--seeds", "12", "--jobs", "2", "--out", "two"]);
    assert_eq!(one.status.code(), Some(1), "{}{}", text(&one.stdout), text(&one.stderr));
    assert_eq!(two.status.code(), Some(1));
    assert_eq!(report(&one).replace("one/", "two/"), report(&two));
    let stdout = text(&one.stdout);
    assert!(stdout.contains("seed 6: FAIL liveness"), "{stdout}");
    assert!(stdout.contains("6 of 12 seeds run, 1 failed"), "{stdout}");
    assert!(stdout.contains("seeds/min (1 jobs)"), "{stdout}");
    assert!(stdout.contains("seed 6: shrunk in"), "{stdout}");
    assert!(stdout.contains("replay: shipsim replay one/tiny-explore-seed-6.yaml"), "{stdout}");
    // The repro does not depend on --jobs either (its replay line names its own file).
    let repro_one = std::fs::read_to_string(dir.join("one/tiny-explore-seed-6.yaml")).unwrap();
    let repro_two = std::fs::read_to_string(dir.join("two/tiny-explore-seed-6.yaml")).unwrap();
    let diagram =
        std::fs::read_to_string(dir.join("one/tiny-explore-seed-6.html")).expect("diagram next to the repro");
    assert!(
        diagram.contains("<svg") && diagram.contains("liveness violated"),
        "the diagram shows the violation"
    );
    assert_eq!(repro_one.replace("one/", "two/"), repro_two);
    assert!(repro_one.starts_with("# shipsim repro: scenario tiny-explore, seed 6\n"), "{repro_one}");
    assert!(repro_one.contains("# violation: liveness / "), "{repro_one}");

    let replay = shipsim(&dir, &["replay", "one/tiny-explore-seed-6.yaml"]);
    let stdout = text(&replay.stdout);
    assert_eq!(replay.status.code(), Some(1), "{stdout}{}", text(&replay.stderr));
    assert!(stdout.contains("reproduced: liveness / "), "{stdout}");
    assert!(stdout.contains("deterministic: two runs, same trace"), "{stdout}");
}

#[test]
fn shards_split_the_sweep_and_a_passing_shard_exits_0() {
    let dir = scratch("shard");
    // Seeds 1..=12 congruent to 1 mod 5: 1, 6 and 11; seed 6 fails, the sweep stops there.
    let out = shipsim(&dir, &["explore", "tiny.yaml", "--seeds", "12", "--shard", "1/5", "--out", "f"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("2 of 3 seeds run, 1 failed"), "{}", text(&out.stdout));
    // Congruent to 2 mod 5: 2, 7, 12, all passing.
    let out = shipsim(&dir, &["explore", "tiny.yaml", "--seeds", "12", "--shard", "2/5", "--out", "f"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("3 of 3 seeds run, 0 failed"), "{}", text(&out.stdout));
    let out = shipsim(&dir, &["explore", "tiny.yaml", "--seeds", "12", "--shard", "5/5"]);
    assert_eq!(out.status.code(), Some(2), "a bad shard is bad input");
}

#[test]
fn run_writes_a_repro_per_failing_seed_and_replay_of_a_fixed_bug_passes() {
    let dir = scratch("run");
    let out = shipsim(&dir, &["run", "tiny.yaml", "--seed", "6"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let repro = "target/shipsim/failures/tiny-explore-seed-6.yaml";
    assert!(stdout.contains(&format!("repro: {repro}")), "{stdout}");
    assert!(stdout.contains(&format!("replay: shipsim replay {repro}")), "{stdout}");
    let loaded = shipsim::load(&dir.join(repro)).expect("the repro loads");
    assert_eq!(loaded.seeds, [6]);

    // "Fix" the bug (a long enough settle budget): replay passes, says so, and exits 0.
    let fixed = std::fs::read_to_string(dir.join(repro)).unwrap().replace("settle: 200ms", "settle: 2s");
    std::fs::write(dir.join("fixed.yaml"), fixed).unwrap();
    let out = shipsim(&dir, &["replay", "fixed.yaml"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("NOT reproduced"), "{stdout}");
    // A passing seed writes nothing.
    let out = shipsim(&dir, &["run", "tiny.yaml", "--seed", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(!dir.join("target/shipsim/failures/tiny-explore-seed-1.yaml").exists());
}

#[test]
fn a_repro_found_on_another_transport_replays_on_it_without_the_flag() {
    let dir = scratch("transport");
    let out = shipsim(&dir, &["explore", "tiny.yaml", "--seeds", "6", "--transport", "grpc", "--out", "g"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    // Which seed runs out of budget first depends on the gRPC wire's bytes; the sweep names it.
    let repro = stdout
        .lines()
        .find_map(|line| line.split_once("replay: shipsim replay ").map(|(_, path)| path.to_owned()))
        .unwrap_or_else(|| panic!("no replay line: {stdout}"));
    let seed = repro
        .strip_prefix("g/tiny-explore-grpc-seed-")
        .and_then(|rest| rest.strip_suffix(".yaml"))
        .unwrap_or_else(|| panic!("the repro's name says the transport and the seed: {repro}"));
    let loaded = shipsim::load(&dir.join(&repro)).expect("the repro loads");
    assert_eq!(loaded.transport.kind, Some(shipsim::scenario::TransportKind::Grpc));

    let replay = shipsim(&dir, &["replay", &repro]);
    let stdout = text(&replay.stdout);
    assert_eq!(replay.status.code(), Some(1), "{stdout}{}", text(&replay.stderr));
    assert!(stdout.contains(&format!("seed {seed}, transport grpc\n")), "{stdout}");
    assert!(stdout.contains("reproduced: liveness / "), "{stdout}");
    // The flag still overrides what the repro names.
    let replay = shipsim(&dir, &["replay", &repro, "--transport", "tcp"]);
    assert!(
        text(&replay.stdout).contains(&format!("seed {seed}, transport tcp\n")),
        "{}",
        text(&replay.stdout)
    );
}
