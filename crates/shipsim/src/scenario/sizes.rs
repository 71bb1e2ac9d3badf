//! Byte sizes as scenario authors write them: `64`, `16B`, `4KiB`, `1MiB`, and ranges of them
//! (`16B..256KiB`, `1..1500`).
//!
//! A bare number is bytes. Units are binary (`KiB` = 1024 bytes, `MiB` = 1024 KiB) and
//! case-sensitive, so `1MB` (which could mean 10^6) is an error rather than a guess; sizes are
//! whole numbers of their unit. Each parser returns a message for the scenario's author; the
//! caller adds the position. [`format_size`] writes the form the parser reads back exactly.

use super::model::SizeRange;

/// The units, largest first (the formatter picks the largest that divides exactly).
const UNITS: [(&str, u64); 3] = [("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)];

/// `1500`, `16B`, `4KiB` or `1MiB`: a number of bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = t.split_at(digits);
    let unit = unit.trim_start();
    let scale = match unit {
        "" => Some(1),
        _ => UNITS.iter().find(|(name, _)| *name == unit).map(|(_, scale)| *scale),
    };
    let (Some(scale), false) = (scale, number.is_empty()) else {
        return Err(format!(
            "invalid size `{text}`: write a whole number of bytes like `1500`, `16B`, `4KiB` or `1MiB`"
        ));
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .ok_or_else(|| format!("size `{text}` is out of range"))
}

/// The largest exact unit: `1MiB`, `1536B`... `0B`. Reads back through [`parse_size`].
pub fn format_size(bytes: u64) -> String {
    let (unit, scale) = UNITS
        .iter()
        .find(|(_, scale)| bytes != 0 && bytes.is_multiple_of(*scale))
        .copied()
        .unwrap_or(("B", 1));
    format!("{}{unit}", bytes / scale)
}

/// `4KiB` (min == max) or `16B..256KiB`; min must not exceed max.
pub(super) fn parse_size_range(text: &str) -> Result<SizeRange, String> {
    let range = match text.split_once("..") {
        None => {
            let n = parse_size(text)?;
            SizeRange { min: n, max: n }
        }
        Some((min, max)) => SizeRange { min: parse_size(min)?, max: parse_size(max)? },
    };
    if range.min > range.max {
        return Err(format!(
            "size range `{text}` is reversed: min {} is more than max {}",
            format_size(range.min),
            format_size(range.max)
        ));
    }
    Ok(range)
}

/// Writes a range with units (`16B..256KiB`), as `workload.payload` takes it.
pub(super) fn format_size_range(range: SizeRange) -> String {
    if range.min == range.max {
        format_size(range.min)
    } else {
        format!("{}..{}", format_size(range.min), format_size(range.max))
    }
}

/// Writes a range as plain byte counts (`1..1500`), as `network.segment` takes it.
pub(super) fn format_count_range(range: SizeRange) -> String {
    if range.min == range.max { range.min.to_string() } else { format!("{}..{}", range.min, range.max) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("1500"), Ok(1500));
        assert_eq!(parse_size("16B"), Ok(16));
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size(" 1 MiB "), Ok(1 << 20));
        for bad in ["", "KiB", "1.5KiB", "1MB", "1kib", "-1", "1 GiB", "0x10"] {
            assert!(parse_size(bad).unwrap_err().starts_with("invalid size"), "{bad}");
        }
        assert_eq!(
            parse_size("99999999999999999999MiB"),
            Err("size `99999999999999999999MiB` is out of range".into())
        );
        assert_eq!(parse_size("17592186044416MiB"), Err("size `17592186044416MiB` is out of range".into()));
    }

    #[test]
    fn formatting_picks_the_largest_exact_unit() {
        assert_eq!(format_size(0), "0B");
        assert_eq!(format_size(16), "16B");
        assert_eq!(format_size(1536), "1536B");
        assert_eq!(format_size(2048), "2KiB");
        assert_eq!(format_size(3 << 20), "3MiB");
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_size_range("16B..256KiB"), Ok(SizeRange { min: 16, max: 256 << 10 }));
        assert_eq!(parse_size_range("64"), Ok(SizeRange { min: 64, max: 64 }));
        assert_eq!(parse_size_range("1 .. 1500"), Ok(SizeRange { min: 1, max: 1500 }));
        assert_eq!(
            parse_size_range("1KiB..16B"),
            Err("size range `1KiB..16B` is reversed: min 1KiB is more than max 16B".into())
        );
        assert!(parse_size_range("1..").unwrap_err().starts_with("invalid size"));
        assert_eq!(format_size_range(SizeRange { min: 16, max: 256 << 10 }), "16B..256KiB");
        assert_eq!(format_size_range(SizeRange { min: 4096, max: 4096 }), "4KiB");
        assert_eq!(format_count_range(SizeRange { min: 1, max: 1500 }), "1..1500");
        assert_eq!(format_count_range(SizeRange { min: 9, max: 9 }), "9");
    }

    proptest! {
        #[test]
        fn sizes_round_trip(n in any::<u64>()) {
            prop_assert_eq!(parse_size(&format_size(n)), Ok(n));
            let range = SizeRange { min: n / 2, max: n };
            prop_assert_eq!(parse_size_range(&format_size_range(range)), Ok(range));
            prop_assert_eq!(parse_size_range(&format_count_range(range)), Ok(range));
        }
    }
}
