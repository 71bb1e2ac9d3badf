//! The `skew` of a `clock` fault: a signed percentage (`+10%`, `-20%`, `2.5%`, `0%`) by which
//! the node's clock runs fast or slow against the others', read exactly into parts per million.
//!
//! The pace it gives (`1 + skew`) must stay between a tenth and ten times the common pace: a
//! clock that stops or runs backwards cannot be simulated (tokio's clock is monotonic), and
//! a pace beyond those is no clock fault but a broken machine (docs/scenarios.md, "Clock
//! faults").

/// Parts per million in one percent.
const PPM_PER_PERCENT: i64 = 10_000;
/// The slowest skew allowed, in parts per million: -90%, a clock at a tenth of the pace.
pub(crate) const SLOWEST_PPM: i64 = -900_000;
/// The fastest skew allowed, in parts per million: +900%, a clock at ten times the pace.
pub(crate) const FASTEST_PPM: i64 = 9_000_000;

/// The skews the generators draw (swarm's clock knob, the property tests' scenarios), in parts
/// per million: a clock at half the pace, a fifth slow, a fifth fast, twice as fast.
pub(crate) const DRAWN_SKEWS_PPM: [i64; 4] = [-500_000, -200_000, 200_000, 1_000_000];

/// `+10%` as 100,000 parts per million; a message for the scenario's author otherwise.
pub(crate) fn parse_skew(text: &str) -> Result<i64, String> {
    let form = || {
        format!(
            "`{text}` is not a clock skew: write a signed percentage, e.g. `+10%` (the clock runs \
             10% fast) or `-20%` (20% slow), at most 4 decimals"
        )
    };
    let trimmed = text.trim();
    let number = trimmed.strip_suffix('%').ok_or_else(form)?.trim_end();
    let (negative, digits) = match number.as_bytes().first() {
        Some(b'-') => (true, &number[1..]),
        Some(b'+') => (false, &number[1..]),
        _ => (false, number),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let decimal = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !decimal(whole) || !decimal(fraction) || fraction.len() > 4 || whole.len() > 6 {
        return Err(form());
    }
    let whole: i64 = whole.parse().map_err(|_| form())?;
    let fraction: i64 = format!("{fraction:0<4}").parse().map_err(|_| form())?;
    let magnitude = whole * PPM_PER_PERCENT + fraction * (PPM_PER_PERCENT / 10_000);
    let ppm = if negative { -magnitude } else { magnitude };
    if ppm < SLOWEST_PPM {
        return Err(format!(
            "a clock skew of {trimmed} is too slow: at -100% a clock stops and below it runs \
             backwards, which tokio's monotonic clock cannot; the slowest is -90% (a tenth of the \
             pace)"
        ));
    }
    if ppm > FASTEST_PPM {
        return Err(format!(
            "a clock skew of {trimmed} is too fast: the fastest is +900% (ten times the pace); for \
             a clock that leaps ahead at once, use a `jump`"
        ));
    }
    Ok(ppm)
}

/// `+10%` for 100,000 parts per million: the form [`parse_skew`] reads back to the same value.
pub(crate) fn format_skew(ppm: i64) -> String {
    let sign = if ppm < 0 { '-' } else { '+' };
    let magnitude = ppm.unsigned_abs();
    let (whole, fraction) = (magnitude / 10_000, magnitude % 10_000);
    if fraction == 0 {
        format!("{sign}{whole}%")
    } else {
        let fraction = format!("{fraction:04}");
        format!("{sign}{whole}.{}%", fraction.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skews_read_as_exact_parts_per_million_and_print_back() {
        for (text, ppm) in [
            ("+10%", 100_000),
            ("-20%", -200_000),
            ("10%", 100_000),
            ("2.5%", 25_000),
            ("-0.0001%", -1),
            ("0%", 0),
            ("-90%", -900_000),
            ("+900%", 9_000_000),
            (" +7 %", 70_000),
        ] {
            assert_eq!(parse_skew(text), Ok(ppm), "{text}");
            assert_eq!(parse_skew(&format_skew(ppm)), Ok(ppm), "{text}");
        }
        assert_eq!(format_skew(25_000), "+2.5%");
        assert_eq!(format_skew(-200_000), "-20%");
    }

    #[test]
    fn bad_skews_are_refused_with_the_reason() {
        for text in ["10", "fast%", "+%", "1.00001%", "--5%", "5e2%", "%", "1.%x"] {
            assert!(parse_skew(text).unwrap_err().contains("not a clock skew"), "{text}");
        }
        assert!(parse_skew("-100%").unwrap_err().contains("stops"));
        assert!(parse_skew("-150%").unwrap_err().contains("backwards"));
        assert!(parse_skew("-90.01%").unwrap_err().contains("too slow"));
        assert!(parse_skew("+1000%").unwrap_err().contains("too fast"));
    }
}
