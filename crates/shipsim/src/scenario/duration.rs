//! Durations as scenario authors write them: `250ms`, `2s`, `1m30s`, `1.5s`.
//!
//! Parsing is jiff's "friendly" format through [`SpanParser::parse_unsigned_duration`], which
//! reads exactly these forms straight into a `std::time::Duration` (units up to hours; no
//! calendar units, whose length depends on a date) and rejects negative values (`-2s`,
//! `2s ago`) and values beyond `Duration`'s range. jiff's ISO 8601 form (`PT2S`) is not
//! accepted: a scenario has one way to spell a duration.
//!
//! Formatting is our own, not jiff's printer, because repro files must be plain ASCII and
//! parse back to the identical value: the canonical form lists the non-zero units from
//! hours down to nanoseconds as integers (`1m30s`, `1s500ms`, `250ms`, `0s`).

use std::time::Duration;

use jiff::fmt::friendly::SpanParser;

static PARSER: SpanParser = SpanParser::new();

/// Parses a friendly duration; the error is a message for the scenario's author.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.starts_with('-') || trimmed.ends_with("ago") {
        return Err(format!("negative duration `{text}`: durations must be 0 or more"));
    }
    PARSER.parse_unsigned_duration(trimmed).map_err(|e| {
        let detail = e.to_string();
        let detail = detail
            .strip_prefix("failed to parse input in the \"friendly\" duration format: ")
            .unwrap_or(&detail)
            .to_owned();
        format!("invalid duration `{text}` (write e.g. 250ms, 2s, 1m30s): {detail}")
    })
}

/// Formats a duration in the canonical form that [`parse_duration`] reads back exactly.
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_owned();
    }
    let secs = d.as_secs();
    let nanos = u64::from(d.subsec_nanos());
    let parts = [
        (secs / 3600, "h"),
        (secs % 3600 / 60, "m"),
        (secs % 60, "s"),
        (nanos / 1_000_000, "ms"),
        (nanos / 1_000 % 1_000, "us"),
        (nanos % 1_000, "ns"),
    ];
    let mut out = String::new();
    for (value, unit) in parts {
        if value != 0 {
            out.push_str(&value.to_string());
            out.push_str(unit);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("7us"), Ok(Duration::from_micros(7)));
    }

    #[test]
    fn rejects_negatives() {
        for text in ["-2s", "2s ago", " -1ms"] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.starts_with("negative duration"), "{text}: {err}");
        }
    }

    #[test]
    fn rejects_overflow_and_garbage() {
        let err = parse_duration("99999999999999999999h").unwrap_err();
        assert!(err.contains("too big"), "{err}");
        let err = parse_duration("5124095576030432h").unwrap_err();
        assert!(err.contains("overflow"), "{err}");
        for text in ["", "2", "2S", "PT2S", "1d", "fast", "1h1h"] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.starts_with("invalid duration"), "{text}: {err}");
        }
    }

    #[test]
    fn formats_canonically() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::new(3723, 4_005_006)), "1h2m3s4ms5us6ns");
    }

    #[test]
    fn the_extremes_round_trip() {
        for d in [Duration::MAX, Duration::new(0, 1), Duration::from_secs(u64::MAX)] {
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
