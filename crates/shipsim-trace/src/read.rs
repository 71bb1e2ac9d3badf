//! Reading a trace file back, for checking a run after the fact
//! (`shipsim verify`): every problem names the file, the line and the
//! column, and a trace that is cut short is told apart from one whose
//! invariants failed.

use std::io::{self, BufRead};
use std::path::Path;

use crate::{FORMAT_VERSION, InputError, Phase, Record};

/// Reads a JSON Lines trace from `path` and checks it is one whole run: a
/// `start` record first, of a format this build reads, and a `phase: end`
/// record (a trace without one was cut short). Blank lines are skipped.
pub fn read_file(path: &Path) -> Result<Vec<Record>, InputError> {
    let file = std::fs::File::open(path).map_err(|e| whole(path, format!("cannot read the trace: {e}")))?;
    read(io::BufReader::new(file), path)
}

/// [`read_file`] from any reader; `path` names it in errors.
pub fn read(reader: impl BufRead, path: &Path) -> Result<Vec<Record>, InputError> {
    let mut records = Vec::new();
    read_each(reader, path, |record| records.push(record))?;
    Ok(records)
}

/// [`read_file`], handing each record to `each` as it is read rather than keeping them: the
/// trace is read line by line, so a trace of any length takes the memory of one line. The
/// checks are [`read`]'s; a record `each` was handed may belong to a trace found bad later
/// (cut short).
pub fn read_file_each(path: &Path, each: impl FnMut(Record)) -> Result<(), InputError> {
    let file = std::fs::File::open(path).map_err(|e| whole(path, format!("cannot read the trace: {e}")))?;
    read_each(io::BufReader::new(file), path, each)
}

/// [`read_file_each`] from any reader; `path` names it in errors.
pub fn read_each(reader: impl BufRead, path: &Path, mut each: impl FnMut(Record)) -> Result<(), InputError> {
    let at = |line: usize, column: usize, message: String| {
        InputError::new(path.display().to_string(), line, column, message)
    };
    let (mut any, mut ended, mut last_line) = (false, false, 0);
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| at(i + 1, 0, format!("cannot read: {e}")))?;
        last_line = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let record: Record = serde_json::from_str(&line).map_err(|e| {
            let hint = if e.is_eof() { " (the line is cut short: a truncated trace?)" } else { "" };
            at(i + 1, e.column(), format!("not a trace record: {e}{hint}"))
        })?;
        if !any {
            first(&record).map_err(|message| at(i + 1, 0, message))?;
        }
        any = true;
        ended |= matches!(record, Record::Phase { phase: Phase::End, .. });
        each(record);
    }
    if !any {
        return Err(whole(path, "the trace is empty".into()));
    }
    if !ended {
        return Err(at(
            last_line,
            0,
            "the trace ends without a `phase: end` record: it was cut short (truncated?)".into(),
        ));
    }
    Ok(())
}

/// Why `record` cannot open a trace this build reads, if it cannot.
fn first(record: &Record) -> Result<(), String> {
    match record {
        Record::Start(start) if start.format > FORMAT_VERSION => {
            Err(format!("trace format {} is newer than this shipsim reads ({FORMAT_VERSION})", start.format))
        }
        // An older trace lacks what this build's readers use (a fault's
        // `action`): named as such, not as a missing field further down.
        Record::Start(start) if start.format < FORMAT_VERSION => Err(format!(
            "trace format {} is older than this shipsim reads ({FORMAT_VERSION}): \
             run the scenario again to write it anew",
            start.format
        )),
        Record::Start(_) => Ok(()),
        _ => Err("the first record is not a `start` record".into()),
    }
}

fn whole(path: &Path, message: String) -> InputError {
    InputError::new(path.display().to_string(), 0, 0, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Outcome, Start, TraceWriter, to_bytes};

    fn trace() -> Vec<u8> {
        let mut trace = TraceWriter::new(Start::new("tiny", &["n1", "n2"], 1_000));
        trace.ship_begin(1, "n1", 1, 1, "n2", &[(3, "k", 0, r#"{"id":3}"#)]);
        trace.deliver(2, "n2", 1, "n1", r#"{"id":3}"#).ship_end(3, "n1", 1, 1, 1, Outcome::Ok, None);
        trace.phase(4, Phase::End);
        to_bytes(trace.records())
    }

    fn load(bytes: &[u8]) -> Result<Vec<Record>, String> {
        read(bytes, Path::new("t.jsonl")).map_err(|e| e.to_string())
    }

    #[test]
    fn a_whole_trace_reads_back_to_the_same_records() {
        let bytes = trace();
        let records = load(&bytes).unwrap();
        assert_eq!(to_bytes(&records), bytes);
    }

    #[test]
    fn a_trace_cut_mid_line_names_the_line_and_column() {
        let bytes = trace();
        let cut = &bytes[..bytes.len() - 10];
        let lines = cut.iter().filter(|&&b| b == b'\n').count() + 1;
        let err = load(cut).unwrap_err();
        assert!(err.starts_with(&format!("t.jsonl:{lines}:")), "{err}");
        assert!(err.contains("cut short"), "{err}");
    }

    #[test]
    fn a_trace_cut_at_a_line_end_is_truncated() {
        let bytes = trace();
        let text = String::from_utf8(bytes).unwrap();
        let kept: Vec<&str> = text.lines().take(text.lines().count() / 2).collect();
        let err = load(format!("{}\n", kept.join("\n")).as_bytes()).unwrap_err();
        assert_eq!(
            err,
            format!(
                "t.jsonl:{}: the trace ends without a `phase: end` record: it was cut short (truncated?)",
                kept.len()
            )
        );
    }

    #[test]
    fn other_malformed_traces_are_named() {
        assert_eq!(load(b"").unwrap_err(), "t.jsonl: the trace is empty");
        let err = load(b"{\"kind\":\"phase\",\"t\":0,\"phase\":\"end\"}\n").unwrap_err();
        assert_eq!(err, "t.jsonl:1: the first record is not a `start` record");
        let err = load(b"{\"kind\":\"nonsense\"}\n").unwrap_err();
        assert!(err.starts_with("t.jsonl:1:"), "{err}");
        let mut newer = String::from_utf8(trace()).unwrap();
        let current = format!("\"format\":{FORMAT_VERSION}");
        newer = newer.replacen(&current, "\"format\":99", 1);
        let err = load(newer.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            format!("t.jsonl:1: trace format 99 is newer than this shipsim reads ({FORMAT_VERSION})")
        );
        // Expectations are typed: an unknown one is named where it stands, not checked by a guess.
        let strange =
            String::from_utf8(trace()).unwrap().replacen("\"exactly-once\"", "\"exactly-twice\"", 1);
        let err = load(strange.as_bytes()).unwrap_err();
        assert!(err.starts_with("t.jsonl:1:") && err.contains("unknown variant `exactly-twice`"), "{err}");
        let older = String::from_utf8(trace()).unwrap().replacen(&current, "\"format\":1", 1);
        let err = load(older.as_bytes()).unwrap_err();
        assert_eq!(
            err,
            format!(
                "t.jsonl:1: trace format 1 is older than this shipsim reads ({FORMAT_VERSION}): \
                 run the scenario again to write it anew"
            )
        );
    }
}
