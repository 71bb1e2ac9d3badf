//! Checks on the raw text before the YAML parser sees it.
//!
//! A scenario file is a small hand-written text file. Anything else — a binary file, a file
//! that is not UTF-8, megabytes of generated data — is rejected here with a position and a
//! message that says what the file is, instead of whatever the YAML parser makes of it (a
//! NUL byte, for instance, reads to it as the end of the input). Tabs in indentation are
//! caught here too: YAML forbids them, and the parser's own message points at the wrong place.

use super::error::{Pos, Problem};

/// The largest scenario file accepted. Real ones are a few kilobytes; the limit keeps a
/// mistaken path (a log, a core dump) from being read and parsed at length.
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;

/// Decodes a scenario file's bytes: the size limit, then UTF-8 (reporting the first bad byte).
pub(crate) fn decode(bytes: &[u8]) -> Result<&str, Problem> {
    check_size(bytes.len())?;
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        // The prefix is valid UTF-8 by construction. A byte-order mark is not a column,
        // as in `check_text`.
        let good = std::str::from_utf8(good).unwrap_or_default();
        let good = good.strip_prefix('\u{feff}').unwrap_or(good);
        let pos = pos_at(good, good.len());
        let bad = bytes[e.valid_up_to()];
        Problem::new(pos, format!("invalid UTF-8 (byte 0x{bad:02X}): a scenario file must be UTF-8 text"))
    })
}

/// Checks text that is already a `str`: the size limit, control characters and tabs in
/// indentation. Returns the text without a leading byte-order mark, which is what the YAML
/// parser must see so that its positions agree with ours.
pub(crate) fn check_text(text: &str) -> Result<&str, Problem> {
    check_size(text.len())?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut line = 1;
    let mut column = 1;
    let mut in_indent = true;
    for c in text.chars() {
        if c == '\t' && in_indent {
            return Err(Problem::new(
                Pos::new(line, column),
                "tab character in indentation: YAML indents with spaces only",
            ));
        }
        if !allowed(c) {
            return Err(Problem::new(
                Pos::new(line, column),
                format!(
                    "control character U+{:04X} is not allowed in a scenario file \
                     (is this a binary file?)",
                    u32::from(c)
                ),
            ));
        }
        if c == '\n' {
            line += 1;
            column = 1;
            in_indent = true;
        } else {
            column += 1;
            in_indent &= c == ' ' || c == '\t';
        }
    }
    Ok(text)
}

fn check_size(len: usize) -> Result<(), Problem> {
    if len > MAX_SOURCE_BYTES {
        return Err(Problem::new(
            Pos::START,
            format!(
                "file too large: {len} bytes (a scenario file may have at most \
                 {MAX_SOURCE_BYTES} bytes)"
            ),
        ));
    }
    Ok(())
}

/// YAML 1.2's printable characters (c-printable), which are all a scenario file may contain.
fn allowed(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}'
        | '\u{10000}'..='\u{10ffff}')
}

/// The 1-based line and column (in characters) of byte offset `offset` of `text`.
pub(crate) fn pos_at(text: &str, offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Pos::new(line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_reports_the_first_bad_byte() {
        let err = decode(b"name: x\nnodes: [\xc3\xa9, \xff]\n").unwrap_err();
        assert_eq!(err.pos, Pos::new(2, 12));
        assert_eq!(err.message, "invalid UTF-8 (byte 0xFF): a scenario file must be UTF-8 text");
        let err = decode(b"\xef\xbb\xbfname: \xc3(\n").unwrap_err();
        assert_eq!(err.pos, Pos::new(1, 7));
        assert_eq!(err.message, "invalid UTF-8 (byte 0xC3): a scenario file must be UTF-8 text");
    }

    #[test]
    fn nul_bytes_are_binary() {
        let err = check_text("name: x\n  a\0b").unwrap_err();
        assert_eq!(err.pos, Pos::new(2, 4));
        assert!(err.message.starts_with("control character U+0000"), "{}", err.message);
    }

    #[test]
    fn tabs_in_indentation_are_errors_elsewhere_not() {
        let err = check_text("a: 1\n  \tb: 2\n").unwrap_err();
        assert_eq!(err.pos, Pos::new(2, 3));
        assert!(err.message.starts_with("tab character in indentation"));
        assert_eq!(check_text("a:\t1 # x\tz\n"), Ok("a:\t1 # x\tz\n"));
    }

    #[test]
    fn byte_order_mark_is_stripped_and_crlf_accepted() {
        assert_eq!(check_text("\u{feff}a: 1\r\n"), Ok("a: 1\r\n"));
    }

    #[test]
    fn size_is_limited() {
        let big = " ".repeat(MAX_SOURCE_BYTES + 1);
        assert!(check_text(&big).unwrap_err().message.starts_with("file too large"));
        assert!(decode(big.as_bytes()).unwrap_err().message.starts_with("file too large"));
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(pos_at("ab\ncé d", 7), Pos::new(2, 4));
        assert_eq!(pos_at("", 0), Pos::START);
    }
}
