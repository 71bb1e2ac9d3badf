//! Long functions: none outside test code may run past [`LIMIT`] lines.
//!
//! A function that fits on a screen can be read, reviewed and tested whole; a longer one
//! hides its structure in scrolling. Free functions, methods, trait default methods and
//! functions nested in other functions all count, from the line of their visibility (or
//! of `fn` and its qualifiers) to their closing brace; attributes and doc comments do not.

use std::collections::BTreeMap;

use syn::visit::{self, Visit};
use syn::{Block, Signature, Visibility};

use crate::report::{self, Lists, Violation};
use crate::syntax;

/// The most lines a function may span.
pub const LIMIT: usize = 70;

/// One function and how many lines it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FnLength {
    pub path: String,
    pub line: usize,
    /// Qualified by the scopes it sits in, within its file: `Type::method`,
    /// `Trait::method`, `module::function`, `outer::inner`.
    pub name: String,
    pub lines: usize,
}

impl FnLength {
    /// How an allowlist names it: `path::name`.
    pub fn key(&self) -> String {
        format!("{}::{}", self.path, self.name)
    }
}

/// Every function outside test code in one file, with its length. A file that does not
/// parse is an error (reported, not skipped).
pub fn measure(path: &str, source: &str) -> Result<Vec<FnLength>, Violation> {
    let file = syntax::parse(path, source)?;
    let mut measure = Measure { path, scope: Vec::new(), found: Vec::new() };
    measure.visit_file(&file);
    Ok(measure.found)
}

/// The long functions among `fns` that no list excuses, and each list entry that
/// excuses nothing: its function is gone, or now within the limit.
pub fn check(fns: &[FnLength], lists: Lists<'_>) -> Vec<Violation> {
    let mut longest: BTreeMap<String, &FnLength> = BTreeMap::new();
    for f in fns {
        let entry = longest.entry(f.key()).or_insert(f);
        if f.lines > entry.lines {
            *entry = f;
        }
    }
    let mut out: Vec<Violation> = fns
        .iter()
        .filter(|f| f.lines > LIMIT && !report::allowed(lists, &f.key()))
        .map(|f| {
            let message = format!("fn `{}` is {} lines (limit {LIMIT}): split it", f.name, f.lines);
            Violation::new(&f.path, f.line, f.key(), message)
        })
        .collect();
    for (list, entries) in lists {
        for entry in *entries {
            let why = match longest.get(*entry) {
                None => "no longer exists".to_owned(),
                Some(f) if f.lines <= LIMIT => format!("is now {} lines, within the limit", f.lines),
                Some(_) => continue,
            };
            out.push(report::stale_entry(list, entry, &why));
        }
    }
    out
}

struct Measure<'a> {
    path: &'a str,
    scope: Vec<String>,
    found: Vec<FnLength>,
}

impl Measure<'_> {
    fn record(&mut self, vis: &Visibility, sig: &Signature, block: &Block) {
        let line = syntax::start_line(vis, sig);
        let end = block.brace_token.span.close().end().line;
        let mut name = self.scope.clone();
        name.push(sig.ident.to_string());
        let name = name.join("::");
        self.found.push(FnLength { path: self.path.to_owned(), line, name, lines: end + 1 - line });
    }

    fn within(&mut self, name: String, f: impl FnOnce(&mut Self)) {
        self.scope.push(name);
        f(self);
        self.scope.pop();
    }
}

impl<'ast> Visit<'ast> for Measure<'_> {
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
            self.record(&f.vis, &f.sig, &f.block);
            self.within(f.sig.ident.to_string(), |s| visit::visit_item_fn(s, f));
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !syntax::is_test(&f.attrs) {
            self.record(&f.vis, &f.sig, &f.block);
            self.within(f.sig.ident.to_string(), |s| visit::visit_impl_item_fn(s, f));
        }
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if syntax::is_test(&f.attrs) {
            return;
        }
        if let Some(block) = &f.default {
            self.record(&Visibility::Inherited, &f.sig, block);
        }
        self.within(f.sig.ident.to_string(), |s| visit::visit_trait_item_fn(s, f));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A function spanning exactly `lines` lines: signature, body, closing brace.
    fn function(name: &str, lines: usize) -> String {
        let body: String = (0..lines - 2).map(|i| format!("    let _x{i} = {i};\n")).collect();
        format!("pub fn {name}() {{\n{body}}}\n")
    }

    fn long(path: &str, source: &str) -> Vec<Violation> {
        check(&measure(path, source).unwrap(), &[])
    }

    #[test]
    fn a_100_line_function_is_reported_with_its_name_file_and_line() {
        let source = format!("//! Docs.\n\n/// Doc.\n#[inline]\n{}", function("sprawling", 100));
        let found = long("crates/x/src/lib.rs", &source);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].path, "crates/x/src/lib.rs");
        assert_eq!(found[0].line, 5, "counted from `pub fn`, not the attributes");
        assert!(found[0].message.contains("`sprawling` is 100 lines"), "{}", found[0]);
    }

    #[test]
    fn a_70_line_function_is_not_reported() {
        let fns = measure("a.rs", &function("fits", 70)).unwrap();
        assert_eq!(fns[0].lines, 70);
        assert!(check(&fns, &[]).is_empty());
        assert_eq!(long("a.rs", &function("spills", 71)).len(), 1);
    }

    #[test]
    fn test_code_is_not_measured() {
        let in_tests = format!("#[cfg(test)]\nmod tests {{\n{}}}\n", function("long_test", 100));
        assert!(long("a.rs", &in_tests).is_empty());
        let test_fn = format!("#[test]\n{}", function("long_test", 100));
        assert!(long("a.rs", &test_fn).is_empty());
    }

    #[test]
    fn methods_trait_defaults_and_nested_functions_are_named_by_scope() {
        let nested = function("inner", 80).replace("pub fn", "fn");
        let source = format!(
            "impl<T> Foo<T> {{\n{}}}\ntrait Tr {{\n{}}}\nmod m {{\n{}}}\nfn outer() {{\n{nested}}}\n",
            function("method", 80),
            function("provided", 80).replace("pub fn", "fn"),
            function("free", 80),
        );
        let names: Vec<String> = long("a.rs", &source).into_iter().map(|v| v.key).collect();
        assert_eq!(
            names,
            ["a.rs::Foo::method", "a.rs::Tr::provided", "a.rs::m::free", "a.rs::outer", "a.rs::outer::inner"]
        );
    }

    #[test]
    fn an_allowlisted_function_is_excused_while_it_stays_long() {
        let fns = measure("a.rs", &function("legacy", 100)).unwrap();
        assert!(check(&fns, &[("L", &["a.rs::legacy"])]).is_empty());
    }

    #[test]
    fn a_stale_allowlist_entry_is_reported() {
        let fns = measure("a.rs", &function("legacy", 40)).unwrap();
        let shrunk = check(&fns, &[("LONG_FUNCTIONS", &["a.rs::legacy"])]);
        assert_eq!(shrunk.len(), 1);
        assert!(shrunk[0].message.contains("is now 40 lines"), "{}", shrunk[0]);
        assert!(shrunk[0].message.contains("remove it from the allowlist"), "{}", shrunk[0]);
        let gone = check(&fns, &[("LONG_FUNCTIONS", &["a.rs::deleted"])]);
        assert!(
            gone[0].message.contains("`a.rs::deleted` in LONG_FUNCTIONS no longer exists"),
            "{}",
            gone[0]
        );
    }
}
