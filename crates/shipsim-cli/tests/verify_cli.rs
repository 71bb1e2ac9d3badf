//! `shipsim verify`: a trace written by `run --trace` re-checks clean; the
//! same trace with one acknowledged delivery removed fails `delivery`; a
//! truncated or garbled one is bad input with its line named.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn shipsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shipsim")).args(args).output().expect("shipsim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A trace of `baseline.yaml` seed 3, written by `shipsim run --trace`.
fn baseline_trace(dir: &Path) -> PathBuf {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/baseline.yaml");
    let trace = dir.join("baseline.jsonl");
    let out =
        shipsim(&["run", scenario.to_str().unwrap(), "--seed", "3", "--trace", trace.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    trace
}

fn verify(path: &Path) -> Output {
    shipsim(&["verify", path.to_str().unwrap()])
}

#[test]
fn verify_rechecks_a_trace_and_catches_an_edit() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = baseline_trace(&dir);

    let out = verify(&trace);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("scenario baseline, seed 3"), "{report}");
    assert!(report.contains("delivery  held") && report.contains("placement held"), "{report}");
    assert!(report.trim_end().ends_with("PASS"), "{report}");

    // Remove one remote delivery whose ack came back: the event is lost.
    let lines: Vec<String> = std::fs::read_to_string(&trace).unwrap().lines().map(str::to_owned).collect();
    let acked: Vec<u64> = lines
        .iter()
        .filter(|l| l.starts_with(r#"{"kind":"ack""#))
        .filter_map(|l| l.split(r#""id":"#).nth(1)?.split(['}', ',']).next()?.parse().ok())
        .collect();
    let id = acked[acked.len() / 2];
    let delivery = lines
        .iter()
        .position(|l| l.starts_with(r#"{"kind":"deliver""#) && l.contains(&format!(r#""id":{id},"#)))
        .expect("the acked event was delivered");
    let mut edited = lines.clone();
    edited.remove(delivery);
    let edited_path = dir.join("edited.jsonl");
    std::fs::write(&edited_path, edited.join("\n") + "\n").unwrap();
    let out = verify(&edited_path);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let report = text(&out.stdout);
    assert!(report.contains("delivery  violated"), "{report}");
    assert!(report.contains("no-loss"), "{report}");
    assert!(report.contains(&format!("event    {id} ")), "{report}");

    // Cut at a line end: truncated, exit 2, the last line named.
    let cut_path = dir.join("cut.jsonl");
    std::fs::write(&cut_path, lines[..lines.len() / 2].join("\n") + "\n").unwrap();
    let out = verify(&cut_path);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("cut.jsonl:{}: ", lines.len() / 2)) && err.contains("truncated"), "{err}");

    // Cut inside a line: exit 2, that line and a column named.
    let whole = std::fs::read(&trace).unwrap();
    std::fs::write(&cut_path, &whole[..whole.len() / 3]).unwrap();
    let out = verify(&cut_path);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    let line = whole[..whole.len() / 3].iter().filter(|&&b| b == b'\n').count() + 1;
    assert!(err.contains(&format!("cut.jsonl:{line}:")), "{err}");

    let out = verify(&dir.join("missing.jsonl"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.jsonl: cannot read the trace"), "{}", text(&out.stderr));
}

/// A trace written by a system shipsim never ran (here, a test that builds it fact by fact
/// with `TraceWriter`, no turmoil anywhere) re-checks with the simulation's checkers: clean as
/// written, and `delivery` violated once one acknowledged delivery is taken out.
#[test]
fn a_trace_from_another_system_is_checked_like_a_simulated_one() {
    use shipsim_trace::{Outcome, Phase, Record, ShipperCounters, Start, TraceWriter};

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("verify-writer");
    std::fs::create_dir_all(&dir).unwrap();
    let mut trace = TraceWriter::new(Start::new("their-rig", &["a", "b"], 2_000_000));
    let events = [(1, "k1", 0, r#"{"id":1,"v":"x"}"#), (2, "k2", 0, r#"{"id":2,"v":"y"}"#)];
    trace.ship_begin(1_000, "a", 1, 1, "b", &events);
    for (_, _, _, payload) in events {
        trace.deliver(1_500, "b", 1, "a", payload);
    }
    for (id, ..) in events {
        trace.ack(2_000, "a", 1, "b", id);
    }
    trace.ship_end(2_000, "a", 1, 1, 2, Outcome::Ok, None).phase(3_000, Phase::End);
    let sent = ShipperCounters { sent: 2, ..ShipperCounters::default() };
    trace.stats(3_000, "a", 1, sent, 0, 0).stats(3_000, "b", 1, ShipperCounters::default(), 2, 2);
    let whole = dir.join("whole.jsonl");
    trace.write(std::fs::File::create(&whole).unwrap()).unwrap();

    let out = verify(&whole);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}{}", text(&out.stderr));
    assert!(report.contains("scenario their-rig") && report.contains("delivery  held"), "{report}");
    assert!(report.contains("recovery skipped: the transport gave no timing"), "{report}");

    let mut records = trace.take();
    let second = records.iter().position(|r| matches!(r, Record::Deliver { id: Some(2), .. })).unwrap();
    records.remove(second);
    let edited = dir.join("edited.jsonl");
    shipsim_trace::write(&records, std::fs::File::create(&edited).unwrap()).unwrap();
    let out = verify(&edited);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{report}");
    assert!(report.contains("delivery  violated: 1 (no-loss 1)"), "{report}");
}
