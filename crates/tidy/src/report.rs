//! What a rule found, how an allowlist excuses it, and how a failing test prints it.

use std::collections::BTreeSet;
use std::fmt;

/// Where the allowlists live: what a stale entry's violation points at.
pub const ALLOWLIST_FILE: &str = "crates/tidy/src/allowlist.rs";

/// One thing a rule objects to, at a place a reader can jump to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    /// Workspace-relative, `/`-separated.
    pub path: String,
    /// 1-based.
    pub line: usize,
    /// What an allowlist entry names to excuse this violation. Stable under edits
    /// elsewhere in the file (it holds no line number), so a list does not churn.
    pub key: String,
    pub message: String,
}

impl Violation {
    pub fn new(path: &str, line: usize, key: String, message: String) -> Self {
        Self { path: path.to_owned(), line, key, message }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

/// Named allowlists: `(name, entries)`; an entry is a [`Violation::key`].
pub type Lists<'a> = &'a [(&'a str, &'a [&'a str])];

/// Whether any list holds `key`.
pub fn allowed(lists: Lists<'_>, key: &str) -> bool {
    lists.iter().any(|(_, entries)| entries.contains(&key))
}

/// Drops the violations the lists excuse and reports each entry that excuses nothing
/// any more: a list may only shrink, so a fixed offender's entry must go too (else the
/// list would go on excusing whatever comes to match it next).
pub fn apply_allowlist(violations: Vec<Violation>, lists: Lists<'_>) -> Vec<Violation> {
    let found: BTreeSet<&str> = violations.iter().map(|v| v.key.as_str()).collect();
    let mut stale = Vec::new();
    for (list, entries) in lists {
        for entry in entries.iter().filter(|entry| !found.contains(*entry)) {
            stale.push(stale_entry(list, entry, "excuses nothing now (fixed or moved)"));
        }
    }
    let mut kept: Vec<Violation> = violations.into_iter().filter(|v| !allowed(lists, &v.key)).collect();
    kept.extend(stale);
    kept
}

/// An allowlist entry to remove, pointing at its line in [`ALLOWLIST_FILE`].
pub(crate) fn stale_entry(list: &str, entry: &str, why: &str) -> Violation {
    let (decl, quoted) = (format!("pub const {list}:"), format!("\"{entry}\""));
    let lines = include_str!("allowlist.rs").lines().enumerate();
    let mut in_list = lines.skip_while(|(_, l)| !l.starts_with(&decl));
    let line = in_list.find(|(_, l)| l.contains(&quoted)).map_or(0, |(i, _)| i + 1);
    let message = format!("`{entry}` in {list} {why}: remove it from the allowlist");
    Violation::new(ALLOWLIST_FILE, line, entry.to_owned(), message)
}

/// The failure message of a rule: a title saying why the rule exists, then one line per
/// violation, sorted by file and line.
pub fn render(title: &str, violations: &[Violation]) -> String {
    let mut sorted = violations.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut out = format!("{title}: {} violation(s)\n", sorted.len());
    for v in &sorted {
        out.push_str(&format!("  {v}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(key: &str) -> Violation {
        Violation::new("a.rs", 3, key.to_owned(), format!("{key} is bad"))
    }

    #[test]
    fn allowlisted_violations_are_dropped() {
        let left =
            apply_allowlist(vec![violation("a.rs::f"), violation("a.rs::g")], &[("LIST", &["a.rs::f"])]);
        assert_eq!(left, vec![violation("a.rs::g")]);
    }

    #[test]
    fn an_entry_that_excuses_nothing_is_reported() {
        let left = apply_allowlist(vec![], &[("LIST", &["a.rs::gone"])]);
        assert_eq!(left.len(), 1);
        assert!(left[0].message.contains("`a.rs::gone` in LIST"), "{}", left[0]);
        assert!(left[0].message.contains("remove it from the allowlist"), "{}", left[0]);
    }

    #[test]
    fn render_sorts_and_names_file_and_line() {
        let mut late = violation("k");
        late.line = 9;
        let text = render("rule", &[late, violation("k")]);
        assert_eq!(text, "rule: 2 violation(s)\n  a.rs:3: k is bad\n  a.rs:9: k is bad\n");
    }
}
