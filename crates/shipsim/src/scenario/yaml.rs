//! The YAML parser glue: the only module that knows serde-saphyr.
//!
//! It turns text into the raw schema of `raw.rs` and every parser error into a [`Problem`]
//! with a position and a message written for a scenario's author. Three things matter here:
//!
//! - Limits. A scenario file is small, so serde-saphyr's budget (events, nodes, depth,
//!   anchors, aliases, scalar bytes, one document) and its alias-replay limits are set far
//!   below the library defaults: a "billion laughs" file or a huge generated document fails
//!   within milliseconds instead of exhausting time or memory.
//! - Duplicate keys are errors (serde-saphyr's `DuplicateKeyPolicy::Error`), never "last wins".
//! - Positions. serde-saphyr places `deny_unknown_fields` errors at the start of the mapping
//!   rather than at the unknown key; [`locate_key`] re-reads the document, watching the keys
//!   go by, to point at the key itself.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::options::AliasLimits;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Error, Location, Options, Spanned};

use super::error::{Pos, Problem};
use super::raw::{Located, RawScenario};

/// Parses checked text (see `source.rs`) into the raw schema.
pub(crate) fn parse_raw(text: &str) -> Result<RawScenario, Problem> {
    if is_blank(text) {
        return Err(Problem::new(
            Pos::START,
            "empty scenario file: expected a mapping with at least `name` and `nodes`",
        ));
    }
    let raw = from_str::<RawScenario>(text).map_err(|e| problem(&e, text))?;
    check_nothing_after_end(text)?;
    Ok(raw)
}

/// serde-saphyr ignores whatever follows a `...` document end marker; in a scenario file that
/// would be lines that silently do nothing, so they are an error.
fn check_nothing_after_end(text: &str) -> Result<(), Problem> {
    let mut ended = false;
    for (index, line) in text.lines().enumerate() {
        let content = line.trim_start();
        if ended && !content.is_empty() && !content.starts_with('#') {
            let column = line.chars().count() - content.chars().count() + 1;
            return Err(Problem::new(
                Pos::new(index + 1, column),
                "content after the document end marker `...`",
            ));
        }
        ended |= line.trim_end() == "...";
    }
    Ok(())
}

/// The options every parse uses: strict duplicates, tight limits, no snippet rendering (we
/// print our own one-line `file:line:column: message`).
fn options() -> Options {
    Options {
        budget: Some(Budget {
            max_reader_input_bytes: Some(super::source::MAX_SOURCE_BYTES),
            max_events: 200_000,
            max_aliases: 1_000,
            max_anchors: 1_000,
            max_depth: 64,
            // Two, not one: serde-saphyr reports a second document as "multiple documents"
            // only when the budget lets it see that document's start.
            max_documents: 2,
            max_nodes: 100_000,
            max_total_scalar_bytes: super::source::MAX_SOURCE_BYTES,
            max_merge_keys: 100,
            ..Budget::default()
        }),
        duplicate_keys: DuplicateKeyPolicy::Error,
        alias_limits: AliasLimits {
            max_total_replayed_events: 20_000,
            max_replay_stack_depth: 16,
            max_alias_expansions_per_anchor: 1_000,
        },
        with_snippet: false,
        ..Options::default()
    }
}

fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_saphyr::from_str_with_options(text, options())
}

/// True when the text holds no YAML content: only blank lines, comments and markers.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || line == "---" || line == "..."
    })
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Located<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Located<T>, D::Error> {
        let spanned = Spanned::<T>::deserialize(deserializer)?;
        Ok(Located { value: spanned.value, pos: pos_of(&spanned.referenced) })
    }
}

fn pos_of(location: &Location) -> Pos {
    // serde-saphyr's lines and columns are 1-based and count characters, like ours.
    let line = usize::try_from(location.line()).unwrap_or(usize::MAX).max(1);
    let column = usize::try_from(location.column()).unwrap_or(usize::MAX).max(1);
    Pos::new(line, column)
}

/// Translates a serde-saphyr error into a positioned problem with a readable message.
fn problem(err: &Error, text: &str) -> Problem {
    let err = err.without_snippet();
    let location = err.location();
    let pos = location.as_ref().map_or(Pos::START, pos_of);
    let message = match err {
        Error::Budget { breach, .. } => budget_message(breach),
        Error::Eof { .. } => "unexpected end of input".to_owned(),
        Error::Unexpected { expected, .. } => format!("expected {}", describe(expected)),
        Error::UnknownAnchor { .. } => "alias refers to an anchor that is not defined".to_owned(),
        Error::Message { msg, .. } => {
            if let Some((key, expected)) = unknown_field(msg) {
                let pos = locate_key(text, pos, key).unwrap_or(pos);
                return Problem::new(pos, format!("unknown key `{key}` (expected one of: {expected})"));
            }
            rewrite(msg, location.map(|l| scalar_text(text, &l)).as_deref())
        }
        other => strip_location_suffix(&other.to_string()),
    };
    Problem::new(pos, message)
}

fn budget_message(breach: &BudgetBreach) -> String {
    let what = match breach {
        BudgetBreach::Aliases { .. }
        | BudgetBreach::Anchors { .. }
        | BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::MergeKeys { .. } => "too many anchors, aliases or merge keys",
        BudgetBreach::Depth { .. } => "nesting too deep",
        BudgetBreach::Documents { .. } => {
            return "a scenario file holds exactly one YAML document".to_owned();
        }
        _ => "document too large",
    };
    format!("{what} for a scenario file (a limit against YAML bombs)")
}

/// Serde's "unknown field `x`, expected one of a, b": the key and the expected list.
fn unknown_field(msg: &str) -> Option<(&str, &str)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest.strip_prefix(", expected one of ").unwrap_or("none");
    Some((key, expected))
}

/// Rewrites serde-saphyr's messages into the loader's wording.
fn rewrite(msg: &str, scalar: Option<&str>) -> String {
    if let Some(key) = msg.strip_prefix("missing field `").and_then(|r| r.strip_suffix('`')) {
        return format!("missing required key `{key}`");
    }
    if let Some(key) = msg.strip_prefix("duplicate mapping key: ") {
        return format!("duplicate key `{key}`");
    }
    let number = msg.strip_prefix("invalid ").and_then(|ty| number_message(ty, scalar.unwrap_or("")));
    if let Some(message) = number {
        return message;
    }
    if msg.starts_with("cannot deserialize null into string") {
        return "expected a value, found nothing".to_owned();
    }
    if msg.starts_with("alias replay") || msg.starts_with("alias expansion") {
        return format!(
            "aliases expand to too much data for a scenario file ({msg}; a limit against YAML bombs)"
        );
    }
    if msg.starts_with("multiple YAML documents detected") {
        return "a scenario file holds exactly one YAML document".to_owned();
    }
    msg.to_owned()
}

/// A message for a scalar that did not parse as the number type `ty`, if `ty` is one.
fn number_message(ty: &str, scalar: &str) -> Option<String> {
    let (min, max): (i128, i128) = match ty {
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" => (0, u64::MAX.into()),
        "usize" => (0, i128::try_from(usize::MAX).unwrap_or(i128::MAX)),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" => (i64::MIN.into(), i64::MAX.into()),
        _ if ty.starts_with("floating point") => {
            return Some(format!("expected a number, found `{scalar}`"));
        }
        _ => return None,
    };
    let digits = scalar.trim();
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    let is_integer = {
        let unsigned = digits.strip_prefix('-').unwrap_or(digits);
        !unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit())
    };
    Some(if is_integer {
        if digits.starts_with('-') && min == 0 {
            format!("`{scalar}` is negative: expected a whole number in {min}..={max}")
        } else {
            format!("number `{scalar}` is out of range: expected a whole number in {min}..={max}")
        }
    } else {
        format!("expected a whole number, found `{scalar}`")
    })
}

/// The source text a location's span covers (serde-saphyr spans count characters).
fn scalar_text(text: &str, location: &Location) -> String {
    let span = location.span();
    text.chars().skip(span.offset()).take(span.len().min(80)).collect()
}

fn describe(expected: &str) -> &str {
    match expected {
        "string scalar" => "a single value, found a list or mapping",
        "sequence start" => "a list",
        "mapping start" => "a mapping (`key: value` lines or `{key: value}`)",
        other => other,
    }
}

fn strip_location_suffix(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => msg[..i].to_owned(),
        _ => msg.to_owned(),
    }
}

/// Finds key `key` of the mapping that starts at `mapping`, by re-reading the text and
/// watching the keys go by. The re-read stops as soon as the key is seen, so it also works
/// when the rest of the document is broken or a YAML bomb. `None` when the key is not found
/// (the caller then keeps the mapping's position).
fn locate_key(text: &str, mapping: Pos, key: &str) -> Option<Pos> {
    // serde-saphyr reports the mapping's own position: its first key for a block mapping,
    // the `{` for a flow mapping, whose first key then follows after whitespace.
    let first_keys = [mapping, after_brace(text, mapping).unwrap_or(mapping)];
    SEARCH.with(|s| {
        *s.borrow_mut() = Some(Search { first_keys, key: key.to_owned(), found: None });
    });
    let _ = from_str::<Scan>(text);
    SEARCH.with(|s| s.borrow_mut().take().and_then(|s| s.found))
}

/// The position of the first non-blank character after a `{` at `pos`, if there is a `{`.
fn after_brace(text: &str, pos: Pos) -> Option<Pos> {
    let (mut line, mut column) = (1, 1);
    let mut chars = text.chars();
    for c in chars.by_ref() {
        if (line, column) == (pos.line, pos.column) {
            if c != '{' {
                return None;
            }
            column += 1;
            break;
        }
        if c == '\n' {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
    }
    for c in chars {
        match c {
            '\n' => {
                line += 1;
                column = 1;
            }
            ' ' | '\t' | '\r' => column += 1,
            _ => return Some(Pos::new(line, column)),
        }
    }
    None
}

/// What [`locate_key`] is looking for, shared with the [`Scan`] visitor it drives.
struct Search {
    first_keys: [Pos; 2],
    key: String,
    found: Option<Pos>,
}

thread_local! {
    static SEARCH: RefCell<Option<Search>> = const { RefCell::new(None) };
}

/// Walks any YAML document, checking each mapping against the current [`Search`]; it stops
/// the parse (with an error) once the key is found.
struct Scan;

impl<'de> Deserialize<'de> for Scan {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scan, D::Error> {
        deserializer.deserialize_any(ScanVisitor)
    }
}

/// [`Scan`]'s visitor: accepts every kind of node, descends into lists and mappings, and
/// checks the keys of each mapping against the [`Search`].
struct ScanVisitor;

impl<'de> Visitor<'de> for ScanVisitor {
    type Value = Scan;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_none<E: de::Error>(self) -> Result<Scan, E> {
        Ok(Scan)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Scan, D::Error> {
        Scan::deserialize(d)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Scan, D::Error> {
        Scan::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scan, A::Error> {
        while seq.next_element::<Scan>()?.is_some() {}
        Ok(Scan)
    }

    /// The mapping is the one searched if its first key sits where serde-saphyr placed the
    /// error; then the sought key's position is recorded and the parse stopped.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scan, A::Error> {
        let mut first = true;
        let mut this_one = false;
        while let Some(key) = map.next_key::<Located<String>>()? {
            let found = SEARCH.with(|s| {
                let mut s = s.borrow_mut();
                let search = s.as_mut()?;
                if first {
                    this_one = search.first_keys.contains(&key.pos);
                }
                if this_one && search.key == key.value {
                    search.found = Some(key.pos);
                }
                search.found
            });
            if found.is_some() {
                return Err(de::Error::custom("key found"));
            }
            first = false;
            map.next_value::<Scan>()?;
        }
        Ok(Scan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn err(text: &str) -> Problem {
        parse_raw(text).unwrap_err()
    }

    #[test]
    fn values_carry_their_positions() {
        let raw = parse_raw("name: x\nnodes: [a, bb]\nshards: 3\n").unwrap();
        assert_eq!(raw.name.pos, Pos::new(1, 7));
        assert_eq!(raw.nodes.value[1].pos, Pos::new(2, 12));
        assert_eq!(raw.shards.map(|s| (s.value, s.pos)), Some((3, Pos::new(3, 9))));
    }

    #[test]
    fn unknown_keys_point_at_the_key() {
        let e = err("name: x\nnodes: [a]\nnetwork:\n  loss: 0.1\nloss: 3\n");
        assert_eq!(e.pos, Pos::new(5, 1));
        assert!(e.message.starts_with("unknown key `loss` (expected one of: name,"), "{}", e.message);
        let e = err("name: x\nnodes: [a]\nfaults:\n  - {at: 1s, crash: a, crsh: b}\n");
        assert_eq!(
            (e.pos, e.message.as_str()),
            (
                Pos::new(4, 24),
                "unknown key `crsh` (expected one of: at, partition, partition-oneway, heal, crash, restart, bounce, hold, reorder, release, latency, loss, drop-route, restore-route, join, leave, pause, clock)"
            )
        );
    }

    #[test]
    fn unknown_keys_are_found_in_any_mapping_style() {
        // A flow mapping with spaces after `{`, inside a nested block mapping.
        let e =
            err("name: x\nnodes: [a]\nworkload:\n  batch: 1..2\nexpect: { settle: 1s,\n   stat: ignore }\n");
        assert_eq!((e.pos, &e.message[..18]), (Pos::new(6, 4), "unknown key `stat`"));
        // The same key name known one level down does not confuse the search.
        let e = err("name: x\nnodes: [a]\nnetwork:\n  loss: 0.5\nloss: 0.5\n");
        assert_eq!(e.pos, Pos::new(5, 1));
        // A broken document after the unknown key: the key is still found.
        let e = err("name: x\nnodes: [a]\nsedes: [1]\nfaults: [}\n");
        assert_eq!((e.pos, &e.message[..19]), (Pos::new(3, 1), "unknown key `sedes`"));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = err("name: x\nnodes: [a]\nname: y\n");
        assert_eq!((e.pos, e.message.as_str()), (Pos::new(3, 1), "duplicate key `name`"));
    }

    #[test]
    fn numbers_out_of_range_and_of_the_wrong_kind() {
        let e = err("name: x\nnodes: [a]\nshards: 99999999999\n");
        assert_eq!(e.pos, Pos::new(3, 9));
        assert_eq!(
            e.message,
            "number `99999999999` is out of range: expected a whole number in 0..=4294967295"
        );
        let e = err("name: x\nnodes: [a]\nshards: -3\n");
        assert_eq!(e.message, "`-3` is negative: expected a whole number in 0..=4294967295");
        let e = err("name: x\nnodes: [a]\nshards: many\n");
        assert_eq!(e.message, "expected a whole number, found `many`");
        let e = err("name: x\nnodes: [a]\nnetwork: {loss: lots}\n");
        assert_eq!((e.pos, e.message.as_str()), (Pos::new(3, 17), "expected a number, found `lots`"));
    }

    #[test]
    fn empty_and_comment_only_files() {
        for text in ["", "\n\n", "# nothing\n---\n"] {
            let e = err(text);
            assert_eq!(e.pos, Pos::START);
            assert!(e.message.starts_with("empty scenario file"), "{}", e.message);
        }
    }

    #[test]
    fn a_second_document_is_rejected() {
        let e = err("name: x\nnodes: [a]\n---\nname: y\n");
        assert_eq!(
            (e.pos, e.message.as_str()),
            (Pos::new(4, 1), "a scenario file holds exactly one YAML document")
        );
        let e = err("name: x\nnodes: [a]\n...\n# fine\n  crash: n1\n");
        assert_eq!(
            (e.pos, e.message.as_str()),
            (Pos::new(5, 3), "a scenario file holds exactly one YAML document")
        );
        // What serde-saphyr skips silently after `...` (here: a syntax error) is caught too.
        let e = err("name: x\nnodes: [a]\n...\n# fine\n  ]]\n");
        assert_eq!(
            (e.pos, e.message.as_str()),
            (Pos::new(5, 3), "content after the document end marker `...`")
        );
        assert!(parse_raw("name: x\nnodes: [a]\n...\n# only comments\n\n").is_ok());
    }

    fn billion_laughs(levels: usize, fan_out: usize) -> String {
        let mut yaml = String::from("name: x\nnodes: [a]\n");
        yaml.push_str("description: &l0 [\"lol\"]\n");
        for level in 1..=levels {
            let refs = vec![format!("*l{}", level - 1); fan_out].join(", ");
            yaml.push_str(&format!("seeds: &l{level} [{refs}]\n"));
        }
        yaml
    }

    #[test]
    fn alias_bombs_fail_fast() {
        // Every level is a duplicate `seeds` key too, so also try an unknown key, which makes
        // the loader re-read the document (see `locate_key`): that path must be bounded too.
        let mut bomb = String::from("name: x\nnodes: [a]\nx0: &l0 [lol, lol, lol, lol, lol]\n");
        for level in 1..=9 {
            let refs = vec![format!("*l{}", level - 1); 10].join(", ");
            bomb.push_str(&format!("x{level}: &l{level} [{refs}]\n"));
        }
        for text in [billion_laughs(9, 10), bomb] {
            let start = Instant::now(); // allow-nondeterminism: wall time outside the simulation
            let e = err(&text);
            assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
            assert!(e.pos.line >= 1, "{e:?}");
        }
    }

    #[test]
    fn huge_documents_hit_the_budget() {
        let mut text = String::from("name: x\nnodes: [a]\nseeds: [");
        text.push_str(&"1, ".repeat(120_000));
        text.push_str("1]\n");
        let e = err(&text);
        assert!(e.message.contains("a limit against YAML bombs"), "{}", e.message);
        // The schema stops nesting early (a type error), so check the limit where nesting is
        // accepted: the position-only re-read behind unknown-key errors.
        let deep = format!("x: {}{}\n", "[".repeat(100), "]".repeat(100));
        let e = from_str::<Scan>(&deep).err().expect("too deep");
        assert!(
            matches!(e.without_snippet(), Error::Budget { breach: BudgetBreach::Depth { .. }, .. }),
            "{e:?}"
        );
        assert_eq!(
            problem(&e, &deep).message,
            "nesting too deep for a scenario file (a limit against YAML bombs)"
        );
    }
}
