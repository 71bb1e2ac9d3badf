//! No `pub fn` in a private module.
//!
//! A free function declared `pub` in a module outside the crate's API (a module declared
//! without plain `pub`, or inside one) is reachable from exactly as far as a
//! `pub(crate)` one. Writing `pub(crate)` says so; writing `pub` claims an API that does
//! not exist, and a reader has to search the crate to learn it does not. Unless a
//! `pub use` re-exports it, which is what the `pub` is for. (rustc's allow-by-default
//! `unreachable_pub` lint is the precise form of this; it also covers types and methods,
//! and would flag far more than this narrower rule.)

use std::collections::BTreeSet;

use syn::{Item, Visibility};

use crate::report::Violation;
use crate::syntax::{self, flatten};
use crate::walk::SourceFile;

/// The violations in one crate: its `pub fn`s in private modules that no `pub use`
/// anywhere in the crate names (or brings in with a glob over their module).
pub fn check(files: &[SourceFile]) -> Vec<Violation> {
    let checked: Vec<&SourceFile> = files.iter().filter(|f| !f.test_only).collect();
    let mut reexported = BTreeSet::new();
    let mut out = Vec::new();
    let mut candidates = Vec::new();
    for file in &checked {
        match syntax::parse(&file.path, &file.source) {
            Ok(ast) => {
                reexports(&ast.items, &mut reexported);
                let module = vec![module_name(&file.path)];
                private_pub_fns(&file.path, &ast.items, file.exported, module, &mut candidates);
            }
            Err(unparsable) => out.push(unparsable),
        }
    }
    for f in candidates {
        let glob = format!("{}::*", f.module.last().map_or("", String::as_str));
        if reexported.contains(&f.name) || reexported.contains(&glob) {
            continue;
        }
        let scope = f.module[1..].iter().map(|m| format!("::{m}")).collect::<String>();
        let key = format!("{}{scope}::{}", f.path, f.name);
        let message = format!(
            "`pub fn {}` in private module `{}`, re-exported by no `pub use`: make it `pub(crate)`",
            f.name,
            f.module.join("::"),
        );
        out.push(Violation::new(&f.path, f.line, key, message));
    }
    out
}

/// A free function declared plain `pub` in a module outside the crate's API.
struct PubFn {
    path: String,
    line: usize,
    name: String,
    /// The file's module name, then the inline modules it sits in.
    module: Vec<String>,
}

fn private_pub_fns(path: &str, items: &[Item], exported: bool, module: Vec<String>, out: &mut Vec<PubFn>) {
    for item in items {
        match item {
            Item::Fn(f) if !exported && is_pub(&f.vis) && !syntax::is_test(&f.attrs) => {
                let line = syntax::start_line(&f.vis, &f.sig);
                out.push(PubFn {
                    path: path.to_owned(),
                    line,
                    name: f.sig.ident.to_string(),
                    module: module.clone(),
                });
            }
            Item::Mod(m) if !syntax::is_test(&m.attrs) => {
                if let Some((_, inner)) = &m.content {
                    let mut module = module.clone();
                    module.push(m.ident.to_string());
                    private_pub_fns(path, inner, exported && is_pub(&m.vis), module, out);
                }
            }
            _ => {}
        }
    }
}

/// The names plain `pub use` items re-export (the original name, under any rename),
/// and `module::*` for each glob over a module.
fn reexports(items: &[Item], out: &mut BTreeSet<String>) {
    for item in items {
        match item {
            Item::Use(u) if is_pub(&u.vis) && !syntax::is_test(&u.attrs) => {
                for import in flatten(&u.tree) {
                    match import.full.as_slice() {
                        [.., module, star] if star == "*" => out.insert(format!("{module}::*")),
                        [.., name] => out.insert(name.clone()),
                        [] => false,
                    };
                }
            }
            Item::Mod(m) if !syntax::is_test(&m.attrs) => {
                if let Some((_, inner)) = &m.content {
                    reexports(inner, out);
                }
            }
            _ => {}
        }
    }
}

fn is_pub(vis: &Visibility) -> bool {
    matches!(vis, Visibility::Public(_))
}

/// The name a file's module goes by: its stem, or its folder's name for `mod.rs`.
fn module_name(path: &str) -> String {
    let mut parts = path.rsplit('/');
    let file = parts.next().unwrap_or_default();
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    if stem == "mod" { parts.next().unwrap_or_default().to_owned() } else { stem.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walk::Target;

    fn file(path: &str, exported: bool, source: &str) -> SourceFile {
        let source = source.to_owned();
        let (root, module) = ("c/src/lib.rs".to_owned(), String::new());
        SourceFile {
            path: path.to_owned(),
            source,
            target: Target::Lib,
            test_only: false,
            exported,
            root,
            module,
        }
    }

    fn keys(files: &[SourceFile]) -> Vec<String> {
        check(files).into_iter().map(|v| v.key).collect()
    }

    #[test]
    fn pub_fn_in_a_private_module_is_reported() {
        let v = check(&[file("c/src/inner.rs", false, "//! Doc.\n\n/// Doc.\npub fn helper() {}\n")]);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!((v[0].key.as_str(), v[0].line), ("c/src/inner.rs::helper", 4));
        assert!(v[0].message.contains("pub(crate)"), "{}", v[0]);
    }

    #[test]
    fn pub_crate_fns_methods_and_exported_modules_are_not() {
        let private = "pub(crate) fn a() {}\nfn b() {}\nimpl X { pub fn method() {} }\n\
                       #[cfg(test)]\nmod tests { pub fn fixture() {} }\n";
        assert!(keys(&[file("c/src/inner.rs", false, private)]).is_empty());
        let public = "pub fn api() {}\npub mod m { pub fn also_api() {} }\n";
        assert!(keys(&[file("c/src/lib.rs", true, public)]).is_empty());
    }

    #[test]
    fn inline_private_modules_are_private() {
        let source =
            "pub fn api() {}\nmod hidden { pub fn helper() {} }\npub(crate) mod half { pub fn h() {} }\n";
        assert_eq!(
            keys(&[file("c/src/lib.rs", true, source)]),
            ["c/src/lib.rs::hidden::helper", "c/src/lib.rs::half::h"]
        );
    }

    #[test]
    fn a_re_exported_pub_fn_is_not_reported() {
        let lib = file(
            "c/src/lib.rs",
            true,
            "mod inner;\nmod globbed;\npub use inner::{helper as renamed};\npub use globbed::*;\n",
        );
        let inner = file("c/src/inner.rs", false, "pub fn helper() {}\npub fn other() {}\n");
        let globbed = file("c/src/globbed/mod.rs", false, "pub fn anything() {}\n");
        assert_eq!(keys(&[lib, inner, globbed]), ["c/src/inner.rs::other"]);
    }

    #[test]
    fn a_crate_use_is_not_a_re_export() {
        let lib = file("c/src/lib.rs", true, "mod inner;\npub(crate) use inner::helper;\n");
        let inner = file("c/src/inner.rs", false, "pub fn helper() {}\n");
        assert_eq!(keys(&[lib, inner]), ["c/src/inner.rs::helper"]);
    }
}
