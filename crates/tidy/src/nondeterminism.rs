//! Nondeterminism on the simulated path: the wall clock, OS entropy, OS threads and
//! unbiased `select!`.
//!
//! A simulation replays a seed only if everything it runs draws time from turmoil's
//! clock, randomness from the seed, and scheduling from the one simulation thread. One
//! `std::time::Instant::now()`, one `thread_rng()`, one `std::thread::spawn`, or one
//! `tokio::select!` that polls its branches in random order, and a failing seed passes
//! on replay. So in the crates a simulation runs ([`crate::allowlist::SIMULATED_PATH`])
//! these are flagged outside test code:
//!
//! - `std::time` other than `std::time::Duration` (a plain number, deterministic), and
//!   `Instant::now` where `Instant` is imported from `std::time` (`tokio::time::Instant`
//!   is turmoil's simulated clock, and fine);
//! - `SystemTime`, `UNIX_EPOCH`, `thread_rng`, `rand::rng`, `OsRng`, `from_entropy`,
//!   `from_os_rng`;
//! - `std::thread::{spawn, scope, Builder}` and `spawn_blocking`;
//! - `select!` whose first tokens are not `biased;`.
//!
//! A line is excused by a comment on it, or on the line above it, reading
//! `allow-nondeterminism: <reason>`; a marker without a reason is itself a violation,
//! since the reason is what a reviewer checks.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{TokenStream, TokenTree};
use syn::ItemUse;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use crate::report::Violation;
use crate::syntax::{self, flatten, path_at};

/// The comment that excuses a line; it must be followed by a reason.
pub const MARKER: &str = "allow-nondeterminism";

/// Names flagged wherever they appear in a path or as a method, and why.
const BANNED_NAMES: &[(&str, &str)] = &[
    ("SystemTime", "reads the wall clock"),
    ("UNIX_EPOCH", "is wall-clock time"),
    ("thread_rng", "draws from OS entropy, not the seed"),
    ("OsRng", "draws from OS entropy, not the seed"),
    ("from_entropy", "seeds from OS entropy, not the seed"),
    ("from_os_rng", "seeds from OS entropy, not the seed"),
    ("spawn_blocking", "runs on an OS thread the simulation does not schedule"),
];

/// The violations in one file of a crate on the simulated path.
pub fn check(path: &str, source: &str) -> Vec<Violation> {
    let file = match syntax::parse(path, source) {
        Ok(file) => file,
        Err(unparsable) => return vec![unparsable],
    };
    let mut aliases = Aliases::default();
    aliases.visit_file(&file);
    let mut finder = Finder { aliases: &aliases, scope: Vec::new(), found: Vec::new() };
    finder.visit_file(&file);
    let markers = Markers::scan(source);
    let mut out: Vec<Violation> = Vec::new();
    for finding in finder.found.into_iter().filter(|f| !markers.excuses(f.line)) {
        let scope = finding.scope.iter().map(|s| format!("::{s}")).collect::<String>();
        let key = format!("{path}{scope}: {}", finding.what);
        let message = format!("`{}` {}; or mark it `// {MARKER}: <reason>`", finding.what, finding.why);
        out.push(Violation::new(path, finding.line, key, message));
    }
    for line in markers.bare {
        let message = format!("`{MARKER}` without a reason: say why this line may be nondeterministic");
        out.push(Violation::new(path, line, format!("{path}: {MARKER} without a reason"), message));
    }
    out.dedup();
    out
}

/// What a path names that a simulation must not reach, and why, if anything. `raw` is
/// the path as written; `canonical` the same path with its first segment expanded
/// through the file's `use` items (`Instant::now` to `std::time::Instant::now`).
fn banned(raw: &[String], canonical: &[String]) -> Option<(String, &'static str)> {
    let is = |p: &[String], want: &[&str]| p.len() >= want.len() && p.iter().zip(want).all(|(a, b)| a == b);
    if is(raw, &["std", "time"]) && raw.get(2).is_none_or(|s| s != "Duration") {
        return Some((raw.join("::"), "is the wall clock: use tokio::time, which turmoil simulates"));
    }
    if is(canonical, &["std", "time"]) && canonical.last().is_some_and(|s| s == "now") {
        let what = format!("{} (std::time)", raw.join("::"));
        return Some((what, "reads the wall clock: use tokio::time::Instant, which turmoil simulates"));
    }
    let thread = ["spawn", "scope", "Builder"];
    if is(canonical, &["std", "thread"]) && canonical.get(2).is_some_and(|s| thread.contains(&s.as_str())) {
        return Some((raw.join("::"), "starts an OS thread the simulation does not schedule"));
    }
    if canonical == ["rand", "rng"] {
        return Some((raw.join("::"), "draws from OS entropy, not the seed"));
    }
    raw.iter()
        .find_map(|s| BANNED_NAMES.iter().find(|(name, _)| s == name))
        .map(|(n, why)| (n.to_string(), *why))
}

/// The file's `use` items outside test code: the local name each brings into scope and
/// the full path it stands for (several, if modules of the file import the same name).
#[derive(Default)]
struct Aliases {
    names: BTreeMap<String, Vec<Vec<String>>>,
}

impl Aliases {
    /// `raw` and, for each import its first segment may stand for, the expanded path.
    fn expansions(&self, raw: &[String]) -> Vec<Vec<String>> {
        let mut out = vec![raw.to_vec()];
        for full in self.names.get(&raw[0]).into_iter().flatten() {
            out.push(full.iter().chain(&raw[1..]).cloned().collect());
        }
        out
    }
}

impl<'ast> Visit<'ast> for Aliases {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !syntax::is_test(&m.attrs) {
            visit::visit_item_mod(self, m);
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !syntax::is_test(&f.attrs) {
            visit::visit_item_fn(self, f);
        }
    }

    fn visit_item_use(&mut self, u: &'ast ItemUse) {
        for import in flatten(&u.tree) {
            if let Some(local) = import.local {
                self.names.entry(local).or_default().push(import.full);
            }
        }
    }
}

struct Finding {
    line: usize,
    what: String,
    why: &'static str,
    /// The modules, types and functions it sits in: part of its allowlist key.
    scope: Vec<String>,
}

/// Walks a file's non-test code for [`banned`] paths, methods and `select!`s.
struct Finder<'a> {
    aliases: &'a Aliases,
    scope: Vec<String>,
    found: Vec<Finding>,
}

impl Finder<'_> {
    fn path(&mut self, raw: Vec<String>, line: usize) {
        let hit = self.aliases.expansions(&raw).iter().find_map(|canonical| banned(&raw, canonical));
        if let Some((what, why)) = hit {
            self.found.push(Finding { line, what, why, scope: self.scope.clone() });
        }
    }

    fn unbiased_select(&mut self, line: usize) {
        let why = "polls its branches in random order: start it with `biased;`";
        self.found.push(Finding { line, what: "select!".to_owned(), why, scope: self.scope.clone() });
    }

    fn within(&mut self, name: String, f: impl FnOnce(&mut Self)) {
        self.scope.push(name);
        f(self);
        self.scope.pop();
    }

    /// Token-level: macro bodies are not parsed, so paths and nested `select!`s in them
    /// are found as `ident (:: ident)*` and `select ! { .. }`.
    fn tokens(&mut self, stream: TokenStream) {
        let tts: Vec<TokenTree> = stream.into_iter().collect();
        let mut i = 0;
        while i < tts.len() {
            let TokenTree::Ident(first) = &tts[i] else {
                if let TokenTree::Group(g) = &tts[i] {
                    self.tokens(g.stream());
                }
                i += 1;
                continue;
            };
            let line = first.span().start().line;
            let (segments, next) = path_at(&tts, i);
            let is_select = segments.last().is_some_and(|s| s == "select");
            self.path(segments, line);
            let bang = matches!(tts.get(next), Some(TokenTree::Punct(p)) if p.as_char() == '!');
            if let (true, true, Some(TokenTree::Group(body))) = (is_select, bang, tts.get(next + 1))
                && !starts_biased(body.stream())
            {
                self.unbiased_select(line);
            }
            i = next;
        }
    }
}

/// Whether a `select!` body opens with `biased;`.
fn starts_biased(body: TokenStream) -> bool {
    let mut tts = body.into_iter();
    matches!(
        (tts.next(), tts.next()),
        (Some(TokenTree::Ident(b)), Some(TokenTree::Punct(p))) if b == "biased" && p.as_char() == ';'
    )
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if !syntax::is_test(&m.attrs) {
            self.within(m.ident.to_string(), |s| visit::visit_item_mod(s, m));
        }
    }

    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if !syntax::is_test(&i.attrs) {
            self.within(syntax::self_type_name(&i.self_ty), |s| visit::visit_item_impl(s, i));
        }
    }

    fn visit_item_trait(&mut self, t: &'ast syn::ItemTrait) {
        if !syntax::is_test(&t.attrs) {
            self.within(t.ident.to_string(), |s| visit::visit_item_trait(s, t));
        }
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !syntax::is_test(&f.attrs) {
            self.within(f.sig.ident.to_string(), |s| visit::visit_item_fn(s, f));
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !syntax::is_test(&f.attrs) {
            self.within(f.sig.ident.to_string(), |s| visit::visit_impl_item_fn(s, f));
        }
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if !syntax::is_test(&f.attrs) {
            self.within(f.sig.ident.to_string(), |s| visit::visit_trait_item_fn(s, f));
        }
    }

    fn visit_item_use(&mut self, u: &'ast ItemUse) {
        if syntax::is_test(&u.attrs) {
            return;
        }
        for import in flatten(&u.tree) {
            if let Some((what, why)) = banned(&import.full, &import.full) {
                self.found.push(Finding { line: import.line, what, why, scope: self.scope.clone() });
            }
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let raw: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.path(raw, p.span().start().line);
        visit::visit_path(self, p);
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        self.path(vec![call.method.to_string()], call.method.span().start().line);
        visit::visit_expr_method_call(self, call);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        let line = mac.path.span().start().line;
        if mac.path.segments.last().is_some_and(|s| s.ident == "select") && !starts_biased(mac.tokens.clone())
        {
            self.unbiased_select(line);
        }
        self.tokens(mac.tokens.clone());
    }
}

/// The `allow-nondeterminism` comments of a file.
struct Markers {
    /// Lines excused: each marked line and the line after it.
    excused: BTreeSet<usize>,
    /// Lines with a marker but no reason.
    bare: Vec<usize>,
}

impl Markers {
    fn scan(source: &str) -> Self {
        let mut markers = Markers { excused: BTreeSet::new(), bare: Vec::new() };
        for (i, line) in source.lines().enumerate() {
            let Some(comment) = line.find("//").or_else(|| line.find("/*")).map(|at| &line[at..]) else {
                continue;
            };
            let Some(at) = comment.find(MARKER) else { continue };
            let reason = comment[at + MARKER.len()..].trim_end().trim_end_matches("*/");
            let reason = reason.trim_start_matches(|c: char| c == ':' || c.is_whitespace());
            if reason.chars().any(char::is_alphanumeric) {
                markers.excused.extend([i + 1, i + 2]);
            } else {
                markers.bare.push(i + 1);
            }
        }
        markers
    }

    fn excuses(&self, line: usize) -> bool {
        self.excused.contains(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(source: &str) -> Vec<Violation> {
        check("crates/shipsim/src/x.rs", source)
    }

    fn lines(source: &str) -> Vec<usize> {
        found(source).iter().map(|v| v.line).collect()
    }

    #[test]
    fn an_unmarked_std_instant_is_reported() {
        let v = found("fn f() {\n    let t = std::time::Instant::now();\n}\n");
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].line, 2);
        assert_eq!(v[0].key, "crates/shipsim/src/x.rs::f: std::time::Instant::now");
        assert!(v[0].message.contains("wall clock"), "{}", v[0]);
    }

    #[test]
    fn an_imported_std_instant_is_reported_at_the_import_and_each_now() {
        let source = "use std::time::{Duration, Instant};\nfn f() -> Instant {\n    Instant::now()\n}\n";
        let v = found(source);
        assert_eq!(
            v.iter().map(|v| (v.line, v.key.as_str())).collect::<Vec<_>>(),
            [
                (1, "crates/shipsim/src/x.rs: std::time::Instant"),
                (3, "crates/shipsim/src/x.rs::f: Instant::now (std::time)"),
            ]
        );
    }

    #[test]
    fn a_marker_with_a_reason_excuses_its_line_and_the_next() {
        let same =
            "fn f() {\n    std::time::Instant::now(); // allow-nondeterminism: the CLI's progress bar\n}\n";
        assert!(found(same).is_empty(), "{:?}", found(same));
        let above = "fn f() {\n    // allow-nondeterminism: wall time for the report\n    std::time::Instant::now();\n}\n";
        assert!(found(above).is_empty(), "{:?}", found(above));
        let too_far = "// allow-nondeterminism: too far\n\nfn f() { std::time::Instant::now(); }\n";
        assert_eq!(lines(too_far), [3]);
    }

    #[test]
    fn a_marker_without_a_reason_is_reported() {
        let source = "fn f() {\n    std::time::Instant::now(); // allow-nondeterminism:\n}\n";
        let v = found(source);
        assert_eq!(v.len(), 2, "{v:?}");
        assert!(v.iter().any(|v| v.line == 2 && v.message.contains("without a reason")), "{v:?}");
        assert_eq!(lines("fn f() {} // allow-nondeterminism\n"), [1]);
    }

    #[test]
    fn tokio_time_and_duration_are_deterministic() {
        let source = "use std::time::Duration;\nuse tokio::time::Instant;\n\
                      fn f() -> Instant { Instant::now() + std::time::Duration::from_secs(1) }\n\
                      fn g() { tokio::time::Instant::now(); }\n";
        assert!(found(source).is_empty(), "{:?}", found(source));
    }

    #[test]
    fn entropy_threads_and_the_system_clock_are_reported() {
        let source = "use std::thread;\nfn f() {\n    let _ = rand::rng();\n    let _ = rand::thread_rng();\n\
                      let _ = SmallRng::from_entropy();\n    thread::spawn(|| ());\n\
                      tokio::task::spawn_blocking(|| ());\n    let _ = std::time::SystemTime::now();\n}\n";
        assert_eq!(lines(source), [3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn unbiased_select_is_reported_and_biased_is_not() {
        let unbiased = "async fn f() {\n    tokio::select! { a = x => (), b = y => () }\n}\n";
        let v = found(unbiased);
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].message.contains("biased;"), "{}", v[0]);
        let biased = "async fn f() {\n    tokio::select! { biased; a = x => (), b = y => () }\n}\n";
        assert!(found(biased).is_empty(), "{:?}", found(biased));
        let nested = "async fn f() { loop { tokio::select! { biased; _ = x => select! { a = y => () } } } }";
        assert_eq!(lines(nested), [1]);
    }

    #[test]
    fn paths_inside_macros_are_found() {
        let source = "fn f() {\n    tracing::info!(at = ?std::time::Instant::now());\n}\n";
        assert_eq!(lines(source), [2]);
    }

    #[test]
    fn test_code_is_not_checked() {
        let source = "#[cfg(test)]\nmod tests {\n    use std::time::Instant;\n    \
                      #[test]\n    fn t() { Instant::now(); }\n}\n\
                      #[test]\nfn u() { std::time::Instant::now(); }\n";
        assert!(found(source).is_empty(), "{:?}", found(source));
    }
}
