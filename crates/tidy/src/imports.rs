//! No import loops between the modules of a crate.
//!
//! A module that names another (`use crate::b::X`, `super::Y`, `crate::b::f()` in an
//! expression or type, `self::c::Z`, a child's `c::Z`) depends on it. When the
//! dependencies loop, no module of the loop can be read, tested or moved without the
//! others: the loop is one module in several files. So each crate target's modules
//! form a graph, with an edge A → B when A's code names a path that leads to B, and
//! every strongly connected component of more than one module is reported.
//!
//! A path leads where rustc resolves it (`src/scopes.rs`): to the module defining the
//! item it names, through re-exports. With `pub use record::Record;` at the root,
//! `use crate::Record;` in `writer` is an edge `writer → record`, not `writer → crate`:
//! the root merely makes a path available. So a `pub use` (`pub(crate)`, `pub(super)`,
//! `pub(in ..)`) is no edge of its own module, while a private `use` is (the module
//! imports the name for its own code), and so is the module's code naming a name any
//! `use` of it binds. A parent's `mod child;` is no edge either.
//!
//! Strict otherwise: test code counts (a `#[cfg(test)] mod tests` is a module of its
//! own), and so do paths in macro bodies and `super::` paths.

use std::collections::BTreeMap;

use syn::Visibility;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};

use crate::graph::{self, Graph};
use crate::report::Violation;
use crate::scopes::Scopes;
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
    let mut scopes = Scopes::default();
    let mut parsed = Vec::new();
    let mut out = Vec::new();
    for file in files {
        match syntax::parse(&file.path, &file.source) {
            Ok(ast) => {
                scopes.add(&file.module, &ast.items);
                parsed.push((file, ast));
            }
            Err(unparsable) => out.push(unparsable),
        }
    }
    let mut first: BTreeMap<(String, String), (String, usize)> = BTreeMap::new();
    for (file, ast) in &parsed {
        let mut refs = Refs { scopes: &scopes, current: file.module.clone(), found: Vec::new() };
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

/// Finds the modules a file's code names, module by module (inline ones included).
struct Refs<'a> {
    scopes: &'a Scopes,
    /// The module being visited: `crate::a::b`.
    current: String,
    /// `(from, to, line)`.
    found: Vec<(String, String, usize)>,
}

impl Refs<'_> {
    fn reference(&mut self, segments: &[String], line: usize) {
        let Some(to) = self.scopes.resolve(&self.current, segments) else { return };
        if to != self.current {
            self.found.push((self.current.clone(), to, line));
        }
    }
}

impl<'ast> Visit<'ast> for Refs<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        if m.content.is_some() {
            let outer = self.current.clone();
            self.current = format!("{outer}::{}", m.ident);
            visit::visit_item_mod(self, m);
            self.current = outer;
        }
    }

    /// A private `use` is an edge: the module imports a name for its own code. A `pub`
    /// (or `pub(crate)`, `pub(super)`, `pub(in ..)`) one is not: it makes a path available
    /// to others, who depend on the item where it is defined; if the module's own code
    /// names the item too, that name is an edge of its own.
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        let private = match &u.vis {
            Visibility::Inherited => true,
            Visibility::Restricted(r) => r.in_token.is_none() && r.path.is_ident("self"),
            Visibility::Public(_) => false,
        };
        if !private {
            return;
        }
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

    /// The edges of a crate, as `from -> to`.
    fn arrows(files: &[SourceFile]) -> Vec<String> {
        let (edges, unparsable) = edges(&files.iter().collect::<Vec<_>>());
        assert!(unparsable.is_empty(), "{unparsable:?}");
        edges.into_iter().map(|e| format!("{} -> {}", e.from, e.to)).collect()
    }

    #[test]
    fn a_root_re_exporting_its_modules_is_no_loop() {
        let files = [
            file(
                "crate",
                "mod record;
mod writer;
pub use record::Record;
pub use writer::W;
",
            ),
            file(
                "crate::record",
                "pub struct Record;
",
            ),
            file(
                "crate::writer",
                "use crate::Record;
pub struct W(Record);
fn f() -> crate::Record {
    todo!()
}
",
            ),
        ];
        assert_eq!(keys(&files), Vec::<String>::new());
        assert_eq!(arrows(&files), ["crate::writer -> crate::record"]);
    }

    #[test]
    fn a_loop_through_re_exports_is_reported_at_the_defining_modules() {
        let files = [
            file(
                "crate",
                "mod a;
mod b;
mod c;
pub use a::A;
pub(crate) use b::B;
",
            ),
            file(
                "crate::a",
                "pub struct A;
fn f(_: crate::B) {}
",
            ),
            file(
                "crate::b",
                "use crate::A;
pub struct B(A);
",
            ),
            file(
                "crate::c",
                "use crate::{A, B};
",
            ),
        ];
        let found = loops(&files);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "crates/c: crate::a, crate::b");
        assert_eq!((found[0].path.as_str(), found[0].line), ("c/src/a.rs", 2));
        for edge in ["a -> crate::b at c/src/a.rs:2", "b -> crate::a at c/src/b.rs:1"] {
            assert!(found[0].message.contains(edge), "{edge} in {}", found[0]);
        }
        let arrows = arrows(&files);
        assert!(arrows.iter().all(|a| !a.ends_with("-> crate")), "{arrows:?}");
    }

    #[test]
    fn renames_globs_and_chains_lead_to_the_defining_module() {
        let files = [
            file(
                "crate",
                "mod mid;
mod user;
pub use mid::*;
pub use mid::Leaf as Renamed;
",
            ),
            file(
                "crate::mid",
                "mod leaf;
pub use leaf::Leaf;
pub(crate) use leaf::Other as Alias;
",
            ),
            file(
                "crate::mid::leaf",
                "pub struct Leaf;
pub struct Other;
",
            ),
            file(
                "crate::user",
                "use crate::Renamed;
fn f(_: crate::Leaf, _: super::Alias) {}
",
            ),
        ];
        assert_eq!(arrows(&files), ["crate::user -> crate::mid::leaf"]);
    }

    #[test]
    fn a_child_importing_its_re_exporting_parent_loops_only_if_the_parent_uses_the_child() {
        let child = file(
            "crate::check::delivery",
            "use super::Sink;
pub struct Delivery(Sink);
",
        );
        let parent = "mod delivery;
pub use delivery::Delivery;
pub struct Sink;
";
        let files = [
            file(
                "crate",
                "mod check;
",
            ),
            file("crate::check", parent),
            child.clone(),
        ];
        assert_eq!(keys(&files), Vec::<String>::new());
        let using = format!(
            "{parent}pub fn f(_: Delivery) {{}}
"
        );
        let files = [
            file(
                "crate",
                "mod check;
",
            ),
            file("crate::check", &using),
            child,
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
}
