//! No import loops between the modules of a crate.
//!
//! A module that names another (`use crate::b::X`, `super::Y`, `crate::b::f()` in an
//! expression or type, `self::c::Z`, a child's `c::Z`) depends on it. When the
//! dependencies loop, no module of the loop can be read, tested or moved without the
//! others: the loop is one module in several files. So each crate target's modules
//! form a graph, with an edge A → B when A's code names a path that resolves to B (the
//! deepest module of the crate the path reaches: `crate::sim::runner::TICK` names
//! `crate::sim::runner`), and every strongly connected component of more than one
//! module is reported.
//!
//! Strict by design: a parent's `mod child;` is no edge, but its `pub use child::X` is,
//! so a child that imports `super::Y` from a parent re-exporting the child loops. Test
//! code counts (a `#[cfg(test)] mod tests` is a module of its own), and so do paths in
//! macro bodies. Re-exports are not followed: a path names the module it spells.

use std::collections::{BTreeMap, BTreeSet};

use syn::Item;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use crate::graph::{self, Graph};
use crate::report::Violation;
use crate::syntax::{self, flatten};
use crate::walk::SourceFile;

/// One module naming another, at its first site (by file, then line).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub path: String,
    pub line: usize,
}

/// The loops among the modules of one crate target: `files` are those reached from one
/// root, test-only ones included. Each loop is keyed `{label}: {its modules, sorted and
/// comma-joined}` and points at the first site of its first edge.
pub fn check(label: &str, files: &[&SourceFile]) -> Vec<Violation> {
    let (edges, mut out) = edges(files);
    let mut graph = Graph::new();
    for edge in &edges {
        graph.entry(edge.from.clone()).or_default().insert(edge.to.clone());
    }
    out.extend(graph::loops(&graph).iter().map(|component| report(label, component, &edges)));
    out
}

fn report(label: &str, component: &[String], edges: &[Edge]) -> Violation {
    let inside: Vec<&Edge> =
        edges.iter().filter(|e| component.contains(&e.from) && component.contains(&e.to)).collect();
    let modules = component.join(", ");
    let sites: String =
        inside.iter().map(|e| format!("\n      {} -> {} at {}:{}", e.from, e.to, e.path, e.line)).collect();
    let message = format!("import loop between {modules}: break it at one of{sites}");
    let (path, line) = inside.first().map_or(("", 0), |e| (e.path.as_str(), e.line));
    Violation::new(path, line, format!("{label}: {modules}"), message)
}

/// Every edge between two modules of one crate target, one per ordered pair, sorted;
/// and a violation for each file that does not parse.
pub fn edges(files: &[&SourceFile]) -> (Vec<Edge>, Vec<Violation>) {
    let mut modules: BTreeSet<String> = files.iter().map(|f| f.module.clone()).collect();
    let mut parsed = Vec::new();
    let mut out = Vec::new();
    for file in files {
        match syntax::parse(&file.path, &file.source) {
            Ok(ast) => {
                declared(&file.module, &ast.items, &mut modules);
                parsed.push((file, ast));
            }
            Err(unparsable) => out.push(unparsable),
        }
    }
    let mut first: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
    for (file, ast) in &parsed {
        let current = file.module.split("::").map(str::to_owned).collect();
        let mut refs = Refs { modules: &modules, current, found: Vec::new() };
        refs.visit_file(ast);
        for (from, to, line) in refs.found {
            let site = (file.path.clone(), line);
            let earliest = first.entry((from, to)).or_insert_with(|| site.clone());
            *earliest = site.min(earliest.clone());
        }
    }
    let edges = first.into_iter().map(|((from, to), (path, line))| Edge { from, to, path, line }).collect();
    (edges, out)
}

/// The modules `items` declare (inline or not), below `module`.
fn declared(module: &str, items: &[Item], out: &mut BTreeSet<String>) {
    for item in items {
        if let Item::Mod(m) = item {
            let name = format!("{module}::{}", m.ident);
            if let Some((_, inner)) = &m.content {
                declared(&name, inner, out);
            }
            out.insert(name);
        }
    }
}

/// The deepest module of `modules` that a path names from module `current` (both as
/// segments, `current` from `crate`), if it names one: `crate::`, `self::` and
/// `super::` paths, and paths of two segments or more through a child module. A path
/// into another crate names none.
pub fn resolve(current: &[String], segments: &[String], modules: &BTreeSet<String>) -> Option<String> {
    let (mut base, rest) = match segments.first()?.as_str() {
        "crate" => (vec!["crate".to_owned()], &segments[1..]),
        "self" => (current.to_vec(), &segments[1..]),
        "super" => {
            let ups = segments.iter().take_while(|s| *s == "super").count();
            let kept = current.len().checked_sub(ups).filter(|k| *k > 0)?;
            (current[..kept].to_vec(), &segments[ups..])
        }
        head if segments.len() > 1 && modules.contains(&format!("{}::{head}", current.join("::"))) => {
            (current.to_vec(), segments)
        }
        _ => return None,
    };
    for segment in rest {
        base.push(segment.clone());
        if !modules.contains(&base.join("::")) {
            base.pop();
            break;
        }
    }
    Some(base.join("::"))
}

/// Finds the modules a file's code names, module by module (inline ones included).
struct Refs<'a> {
    modules: &'a BTreeSet<String>,
    current: Vec<String>,
    /// `(from, to, line)`.
    found: Vec<(String, String, usize)>,
}

impl Refs<'_> {
    fn reference(&mut self, segments: &[String], line: usize) {
        let Some(to) = resolve(&self.current, segments, self.modules) else { return };
        let from = self.current.join("::");
        if to != from {
            self.found.push((from, to, line));
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            self.current.push(m.ident.to_string());
            visit::visit_item_mod(self, m);
            self.current.pop();
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        for import in flatten(&u.tree) {
            self.reference(&import.full, import.line);
        }
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.reference(&segments, p.span().start().line);
        visit::visit_path(self, p);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.visit_path(&mac.path);
        let mut paths = Vec::new();
        syntax::token_paths(mac.tokens.clone(), &mut paths);
        for (segments, line) in paths {
            self.reference(&segments, line);
        }
    }

    /// `pub(super)` and `pub(in crate::a)` say who may see an item; they name nothing
    /// the item depends on.
    fn visit_vis_restricted(&mut self, _: &'ast syn::VisRestricted) {}

    /// Attributes (`#[derive]`, `#[serde(..)]`, docs) name no module of the crate.
    fn visit_attribute(&mut self, _: &'ast syn::Attribute) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walk::Target;

    /// A file of crate `c` holding `module`, at the path rustc would look for it.
    fn file(module: &str, source: &str) -> SourceFile {
        let below: Vec<&str> = module.split("::").skip(1).collect();
        let path = if below.is_empty() { "lib".to_owned() } else { below.join("/") };
        SourceFile {
            path: format!("c/src/{path}.rs"),
            source: source.to_owned(),
            target: Target::Lib,
            test_only: false,
            exported: false,
            root: "c/src/lib.rs".to_owned(),
            module: module.to_owned(),
        }
    }

    fn loops(files: &[SourceFile]) -> Vec<Violation> {
        check("crates/c", &files.iter().collect::<Vec<_>>())
    }

    fn keys(files: &[SourceFile]) -> Vec<String> {
        loops(files).into_iter().map(|v| v.key).collect()
    }

    #[test]
    fn a_three_module_loop_is_reported_with_each_edge() {
        let files = [
            file("crate", "mod a;\nmod b;\nmod c;\n"),
            file("crate::a", "use crate::b::X;\n"),
            file("crate::b", "pub struct X;\nfn f() {\n    crate::c::g();\n}\n"),
            file("crate::c", "pub fn g() {}\nfn h(_: super::a::Y) {}\n"),
        ];
        let found = loops(&files);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "crates/c: crate::a, crate::b, crate::c");
        assert_eq!((found[0].path.as_str(), found[0].line), ("c/src/a.rs", 1));
        for edge in [
            "a -> crate::b at c/src/a.rs:1",
            "b -> crate::c at c/src/b.rs:3",
            "c -> crate::a at c/src/c.rs:2",
        ] {
            assert!(found[0].message.contains(edge), "{edge} in {}", found[0]);
        }
    }

    #[test]
    fn a_dag_is_not_a_loop() {
        let files = [
            file("crate", "mod a;\nmod b;\nmod c;\npub use a::A;\n"),
            file("crate::a", "use crate::b::B;\nuse crate::c;\n"),
            file("crate::b", "pub fn f() -> crate::c::C { self::g() }\n"),
            file("crate::c", "pub struct C;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n"),
        ];
        assert_eq!(keys(&files), Vec::<String>::new());
    }

    #[test]
    fn a_child_importing_its_re_exporting_parent_is_a_loop() {
        let files = [
            file("crate", "mod check;\n"),
            file("crate::check", "mod delivery;\npub use delivery::Delivery;\npub struct Sink;\n"),
            file("crate::check::delivery", "use super::Sink;\npub struct Delivery(Sink);\n"),
        ];
        assert_eq!(keys(&files), ["crates/c: crate::check, crate::check::delivery"]);
    }

    #[test]
    fn a_parent_re_exporting_a_child_that_does_not_import_it_is_fine() {
        let files = [
            file("crate", "mod check;\npub use check::Delivery;\n"),
            file("crate::check", "pub(super) mod delivery;\npub use delivery::Delivery;\n"),
            file(
                "crate::check::delivery",
                "pub struct Delivery;\nimpl Delivery {\n    pub(super) fn f() {}\n}\n",
            ),
        ];
        assert_eq!(keys(&files), Vec::<String>::new());
    }

    #[test]
    fn test_code_and_macro_bodies_count() {
        let files = [
            file("crate", "mod a;\nmod b;\n"),
            file("crate::a", "pub fn f() {\n    crate::b::g();\n}\n"),
            file("crate::b", "pub fn g() {}\n#[test]\nfn t() {\n    assert_eq!(crate::a::f(), ());\n}\n"),
        ];
        assert_eq!(keys(&files), ["crates/c: crate::a, crate::b"]);
    }

    #[test]
    fn paths_resolve_to_the_deepest_module_they_reach() {
        let modules: BTreeSet<String> =
            ["crate", "crate::scenario", "crate::sim", "crate::sim::runner"].map(str::to_owned).into();
        let at = |current: &str, path: &str| {
            let split = |s: &str| s.split("::").map(str::to_owned).collect::<Vec<_>>();
            resolve(&split(current), &split(path), &modules)
        };
        assert_eq!(at("crate", "crate::sim::runner::TICK").as_deref(), Some("crate::sim::runner"));
        assert_eq!(at("crate::sim", "crate::scenario::Scenario").as_deref(), Some("crate::scenario"));
        assert_eq!(at("crate::sim::runner", "super::super::scenario::X").as_deref(), Some("crate::scenario"));
        assert_eq!(at("crate::sim::runner", "super::*").as_deref(), Some("crate::sim"));
        assert_eq!(at("crate::sim", "runner::TICK").as_deref(), Some("crate::sim::runner"));
        assert_eq!(at("crate::sim", "self::runner").as_deref(), Some("crate::sim::runner"));
        assert_eq!(at("crate", "crate::Error").as_deref(), Some("crate"));
        assert_eq!(at("crate", "super::X"), None, "above the crate root");
        assert_eq!(at("crate::sim", "runner"), None, "one segment: a value as likely as a module");
        assert_eq!(at("crate::sim", "std::time::Duration"), None);
    }
}
