//! The small value formats of the schema: latency ranges (`5ms`, `1ms..20ms`), rates
//! (`200/s`) and batch sizes (`4`, `1..8`).
//!
//! Each parser returns a message for the scenario's author; the caller adds the position.
//! Each formatter writes the form its parser reads back to the identical value (`emit.rs`).

use std::time::Duration;

use super::duration::{format_duration, parse_duration};
use super::model::{BatchSize, LatencyRange};

/// `5ms` (a fixed latency) or `1ms..20ms`; min must not exceed max.
pub(super) fn parse_latency(text: &str) -> Result<LatencyRange, String> {
    let range = match text.split_once("..") {
        None => LatencyRange::fixed(parse_duration(text)?),
        Some((min, max)) => {
            LatencyRange { min: parse_duration(min.trim())?, max: parse_duration(max.trim())? }
        }
    };
    if range.min > range.max {
        return Err(format!(
            "latency range `{text}` is reversed: min {} is more than max {}",
            format_duration(range.min),
            format_duration(range.max)
        ));
    }
    Ok(range)
}

pub(super) fn format_latency(range: LatencyRange) -> String {
    if range.min == range.max {
        format_duration(range.min)
    } else {
        format!("{}..{}", format_duration(range.min), format_duration(range.max))
    }
}

/// `200/s`: events per second, finite and more than 0.
pub(super) fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.trim().strip_suffix("/s").map(str::trim);
    let rate = number
        .and_then(|n| n.parse::<f64>().ok())
        .ok_or_else(|| format!("invalid rate `{text}`: write events per second like `200/s` or `0.5/s`"))?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err(format!("rate `{text}` must be a finite number of events per second above 0"));
    }
    Ok(rate)
}

/// Rust prints the shortest decimal that reads back to the same `f64`, never an exponent.
pub(super) fn format_rate(rate: f64) -> String {
    format!("{rate}/s")
}

/// `4` or `1..8`: 1 <= min <= max.
pub(super) fn parse_batch(text: &str) -> Result<BatchSize, String> {
    let number = |s: &str| -> Result<u32, String> {
        let s = s.trim();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u32>().map_err(|_| format!("batch size `{s}` is out of range: at most {}", u32::MAX))
        } else {
            Err(format!("invalid batch size `{text}`: write a number like `4` or a range like `1..8`"))
        }
    };
    let batch = match text.split_once("..") {
        None => {
            let n = number(text)?;
            BatchSize { min: n, max: n }
        }
        Some((min, max)) => BatchSize { min: number(min)?, max: number(max)? },
    };
    if batch.min == 0 {
        return Err(format!("batch size `{text}` must be at least 1"));
    }
    if batch.min > batch.max {
        return Err(format!(
            "batch range `{text}` is reversed: min {} is more than max {}",
            batch.min, batch.max
        ));
    }
    Ok(batch)
}

pub(super) fn format_batch(batch: BatchSize) -> String {
    if batch.min == batch.max { batch.min.to_string() } else { format!("{}..{}", batch.min, batch.max) }
}

/// A float as YAML reads it back exactly, always with a decimal point (`0.0`, `0.25`, `1.0`).
pub(super) fn format_float(value: f64) -> String {
    let text = value.to_string();
    if value.is_finite() && !text.contains('.') { format!("{text}.0") } else { text }
}

/// Parses a probability for `loss` values: a number in 0..=1 (NaN is not one).
pub(super) fn check_probability(value: f64, what: &str) -> Result<f64, String> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{what} must be a probability in 0..=1, found {value}"))
    }
}

/// The sink's `busy` rate: a probability below 1 (a sink refusing every event would never
/// take one, and no run could converge).
pub(super) fn check_busy_rate(value: f64) -> Result<f64, String> {
    if (0.0..1.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("busy must be a probability in 0..1 (1 would refuse every event forever), found {value}"))
    }
}

/// A duration that must be more than zero (timeouts, deadlines, `settle`, `duration`).
pub(super) fn parse_positive_duration(text: &str, what: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err(format!("{what} must be more than 0s"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn latency_single_and_range() {
        assert_eq!(parse_latency("5ms"), Ok(LatencyRange::fixed(ms(5))));
        assert_eq!(parse_latency("1ms..20ms"), Ok(LatencyRange { min: ms(1), max: ms(20) }));
        assert_eq!(
            parse_latency("1.5ms .. 2ms"),
            Ok(LatencyRange { min: Duration::from_micros(1500), max: ms(2) })
        );
        assert_eq!(
            parse_latency("20ms..1ms"),
            Err("latency range `20ms..1ms` is reversed: min 20ms is more than max 1ms".into())
        );
        assert!(parse_latency("-1ms..2ms").unwrap_err().starts_with("negative duration"));
        assert!(parse_latency("1ms..").unwrap_err().starts_with("invalid duration"));
        assert_eq!(format_latency(LatencyRange { min: ms(1), max: ms(20) }), "1ms..20ms");
        assert_eq!(format_latency(LatencyRange::fixed(ms(5))), "5ms");
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("200/s"), Ok(200.0));
        assert_eq!(parse_rate("0.5/s"), Ok(0.5));
        for bad in ["200", "200/m", "/s", "x/s"] {
            assert!(parse_rate(bad).unwrap_err().starts_with("invalid rate"), "{bad}");
        }
        for bad in ["0/s", "-1/s", "inf/s", "NaN/s"] {
            assert!(parse_rate(bad).unwrap_err().contains("above 0"), "{bad}");
        }
        assert_eq!(format_rate(200.0), "200/s");
        assert_eq!(format_rate(0.1), "0.1/s");
    }

    #[test]
    fn batches() {
        assert_eq!(parse_batch("4"), Ok(BatchSize { min: 4, max: 4 }));
        assert_eq!(parse_batch("1..8"), Ok(BatchSize { min: 1, max: 8 }));
        assert_eq!(parse_batch("0..8"), Err("batch size `0..8` must be at least 1".into()));
        assert_eq!(
            parse_batch("8..1"),
            Err("batch range `8..1` is reversed: min 8 is more than max 1".into())
        );
        assert_eq!(
            parse_batch("1..99999999999"),
            Err("batch size `99999999999` is out of range: at most 4294967295".into())
        );
        assert!(parse_batch("-1..2").unwrap_err().starts_with("invalid batch size"));
        assert_eq!(format_batch(BatchSize { min: 1, max: 8 }), "1..8");
        assert_eq!(format_batch(BatchSize { min: 3, max: 3 }), "3");
    }

    #[test]
    fn probabilities() {
        assert_eq!(check_probability(0.0, "loss"), Ok(0.0));
        assert_eq!(check_probability(1.0, "loss"), Ok(1.0));
        assert_eq!(
            check_probability(1.5, "loss"),
            Err("loss must be a probability in 0..=1, found 1.5".into())
        );
        assert!(check_probability(f64::NAN, "loss").is_err());
        assert!(check_probability(-0.1, "loss").is_err());
    }

    #[test]
    fn busy_rates() {
        assert_eq!(check_busy_rate(0.0), Ok(0.0));
        assert_eq!(check_busy_rate(0.99), Ok(0.99));
        for bad in [1.0, 1.5, -0.1, f64::NAN] {
            assert!(check_busy_rate(bad).unwrap_err().starts_with("busy must be a probability in 0..1"));
        }
    }

    #[test]
    fn floats_keep_a_decimal_point() {
        assert_eq!(format_float(0.0), "0.0");
        assert_eq!(format_float(1.0), "1.0");
        assert_eq!(format_float(0.25), "0.25");
    }

    proptest! {
        #[test]
        fn rates_round_trip(rate in proptest::num::f64::POSITIVE | proptest::num::f64::NORMAL) {
            prop_assume!(rate.is_finite() && rate > 0.0);
            prop_assert_eq!(parse_rate(&format_rate(rate)), Ok(rate));
        }
    }
}
