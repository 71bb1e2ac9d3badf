//! JSON Lines: one record per line, fields in declaration order, so the
//! same records always give the same bytes (and the same hash).

use std::io::{self, Write};

use super::Record;

/// Writes `records` as JSON Lines.
pub fn write(records: &[Record], mut out: impl Write) -> io::Result<()> {
    for record in records {
        serde_json::to_writer(&mut out, record)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The records as JSON Lines, in memory.
pub fn to_bytes(records: &[Record]) -> Vec<u8> {
    let mut bytes = Vec::new();
    write(records, &mut bytes).expect("writing to memory cannot fail");
    bytes
}

/// Reads JSON Lines written by [`write`]; an error names the line.
pub fn read(text: &str) -> Result<Vec<Record>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// A stable 64-bit digest of the trace bytes (FNV-1a: stable across Rust
/// versions, unlike std's hasher).
pub fn digest(bytes: &[u8]) -> u64 {
    shipper::fnv1a_64(bytes)
}

/// The first line (1-based) where two traces differ, with both versions of it.
pub fn first_difference(a: &[u8], b: &[u8]) -> Option<(usize, String, String)> {
    let mut left = a.split(|&c| c == b'\n');
    let mut right = b.split(|&c| c == b'\n');
    let mut line = 0;
    loop {
        line += 1;
        match (left.next(), right.next()) {
            (None, None) => return None,
            (l, r) if l == r => continue,
            (l, r) => {
                let show = |s: Option<&[u8]>| {
                    s.map_or("<end of trace>".to_owned(), |s| String::from_utf8_lossy(s).into_owned())
                };
                return Some((line, show(l), show(r)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Phase;

    #[test]
    fn round_trips_and_finds_the_first_difference() {
        let records = vec![
            Record::Phase { t: 0, phase: Phase::Faults },
            Record::Fault { t: 5, fault: "{at: 0s, crash: n1}".into() },
        ];
        let bytes = to_bytes(&records);
        assert_eq!(read(std::str::from_utf8(&bytes).unwrap()).unwrap(), records);
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap().lines().next(),
            Some(r#"{"kind":"phase","t":0,"phase":"faults"}"#)
        );

        let mut other = records.clone();
        other[1] = Record::Fault { t: 6, fault: "{at: 0s, crash: n1}".into() };
        let (line, a, b) = first_difference(&bytes, &to_bytes(&other)).expect("they differ");
        assert_eq!(line, 2);
        assert!(a.contains("\"t\":5") && b.contains("\"t\":6"));
        assert_eq!(first_difference(&bytes, &bytes), None);
        assert_ne!(digest(&bytes), digest(&to_bytes(&other)));
    }
}
