//! Finding a crate's source files, and which of them are test code.
//!
//! A file is test code when it sits under `tests/`, `benches/` or `examples/` (never
//! walked here) or when the module it holds is declared under `#[cfg(test)]`: a
//! `#[cfg(test)] mod fixtures;` makes `fixtures.rs` test-only though nothing in it says
//! so. Only following `mod` declarations from each crate root tells, so that is what
//! this does: from `src/lib.rs`, `src/main.rs`, `src/bin/*` and `build.rs`, each
//! `mod x;` is resolved to `x.rs` or `x/mod.rs` (or its `#[path]`), as rustc does.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use syn::{Item, Visibility};

use crate::cargo::Manifest;
use crate::syntax;

/// Which crate target a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Lib,
    Bin,
    BuildScript,
}

/// One source file of a crate, reached from one of its roots.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Workspace-relative, `/`-separated.
    pub path: String,
    pub source: String,
    pub target: Target,
    /// Declared under a `#[cfg(test)]` module: no rule looks inside.
    pub test_only: bool,
    /// Whether this file's top-level `pub` items are part of the crate's API: a library
    /// root, or a module reached from it through `pub mod`s only.
    pub exported: bool,
    /// The crate root it is reached from (workspace-relative): `crates/x/src/lib.rs`.
    pub root: String,
    /// The module it holds, from its crate root: `crate`, `crate::scenario::model`.
    pub module: String,
}

/// A crate of the workspace and its source files.
#[derive(Debug, Clone)]
pub struct Crate {
    /// Workspace-relative: `crates/shipper`.
    pub dir: String,
    pub files: Vec<SourceFile>,
}

/// An out-of-line `mod x;` declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModDecl {
    pub name: String,
    /// The inline modules (`mod a { mod x; }`) it is declared in, outermost first.
    pub inline: Vec<String>,
    /// Its `#[path = "..."]`, if any.
    pub path_attr: Option<String>,
    /// Under `#[cfg(test)]`, on it or on an inline module around it.
    pub test_only: bool,
    /// Plain `pub`, and so is every inline module around it.
    pub exported: bool,
}

/// Every crate under `crates/` of the workspace at `root`, in name order.
pub fn workspace(root: &Path) -> io::Result<Vec<Crate>> {
    let mut dirs: Vec<PathBuf> =
        fs::read_dir(root.join("crates"))?.map(|entry| entry.map(|e| e.path())).collect::<io::Result<_>>()?;
    dirs.sort();
    dirs.iter()
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .map(|dir| crate_files(root, &relative(root, dir)))
        .collect()
}

/// The manifests of the workspace's members: `crates/*/Cargo.toml` and those of the
/// workspace root's other folders (`sims/Cargo.toml`), in path order.
pub fn manifests(root: &Path) -> io::Result<Vec<Manifest>> {
    let mut dirs = Vec::new();
    for parent in [root.to_path_buf(), root.join("crates")] {
        for entry in fs::read_dir(parent)? {
            dirs.push(entry?.path());
        }
    }
    dirs.sort();
    let files = dirs.iter().map(|d| d.join("Cargo.toml")).filter(|f| f.is_file());
    files.map(|file| Ok(Manifest { path: relative(root, &file), text: fs::read_to_string(&file)? })).collect()
}

/// The source files of the crate in `dir` (workspace-relative), reached from its roots.
pub fn crate_files(root: &Path, dir: &str) -> io::Result<Crate> {
    let mut roots = vec![("src/lib.rs".to_owned(), Target::Lib), ("src/main.rs".to_owned(), Target::Bin)];
    if let Ok(entries) = fs::read_dir(root.join(dir).join("src/bin")) {
        let mut bins: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        bins.sort();
        for bin in bins {
            let main = if bin.is_dir() { bin.join("main.rs") } else { bin };
            roots.push((relative(&root.join(dir), &main), Target::Bin));
        }
    }
    roots.push(("build.rs".to_owned(), Target::BuildScript));
    let mut files = Vec::new();
    for (file, target) in roots {
        let path = root.join(dir).join(&file);
        if path.is_file() {
            let (exported, module) = (target == Target::Lib, "crate".to_owned());
            let top =
                Module { root: relative(root, &path), path, target, test_only: false, exported, module };
            load(root, top, true, &mut files)?;
        }
    }
    Ok(Crate { dir: dir.to_owned(), files })
}

/// The `.rs` files under the crate's `src/` that no root reaches: a module tidy would
/// silently not check (say, declared in a way it does not follow).
pub fn unreached(root: &Path, krate: &Crate) -> io::Result<Vec<String>> {
    let mut all = Vec::new();
    rs_files(&root.join(&krate.dir).join("src"), &mut all)?;
    let mut left: Vec<String> =
        all.iter().map(|p| relative(root, p)).filter(|p| !krate.files.iter().any(|f| &f.path == p)).collect();
    left.sort();
    Ok(left)
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rs_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// A module file about to be read, with what its declaration says about it.
struct Module {
    path: PathBuf,
    target: Target,
    test_only: bool,
    exported: bool,
    root: String,
    module: String,
}

/// Reads one module file and, depth first, the module files it declares.
fn load(root: &Path, module: Module, mod_rs: bool, out: &mut Vec<SourceFile>) -> io::Result<()> {
    let source = fs::read_to_string(&module.path)?;
    let decls = module_decls(&source);
    let dir = children_dir(&module.path, mod_rs);
    out.push(SourceFile {
        path: relative(root, &module.path),
        source,
        target: module.target,
        test_only: module.test_only,
        exported: module.exported,
        root: module.root.clone(),
        module: module.module.clone(),
    });
    for decl in decls {
        let (path, mod_rs) = resolve(&module.path, &dir, &decl)?;
        let names = decl.inline.iter().chain([&decl.name]);
        let child = Module {
            path,
            target: module.target,
            test_only: module.test_only || decl.test_only,
            exported: module.exported && decl.exported,
            root: module.root.clone(),
            module: names.fold(module.module.clone(), |m, name| format!("{m}::{name}")),
        };
        load(root, child, mod_rs, out)?;
    }
    Ok(())
}

/// Where the modules a file declares live: beside it for a crate root or `mod.rs` (or a
/// `#[path]` file), else in the folder named after it.
fn children_dir(file: &Path, mod_rs: bool) -> PathBuf {
    let parent = file.parent().unwrap_or(Path::new("")).to_path_buf();
    let named_mod = file.file_name().is_some_and(|n| n == "mod.rs");
    match (mod_rs || named_mod, file.file_stem()) {
        (false, Some(stem)) => parent.join(stem),
        _ => parent,
    }
}

/// The file a declaration names, and whether it resolves its own children like `mod.rs`.
fn resolve(declaring: &Path, dir: &Path, decl: &ModDecl) -> io::Result<(PathBuf, bool)> {
    let inline: PathBuf = decl.inline.iter().collect();
    if let Some(attr) = &decl.path_attr {
        let base = if decl.inline.is_empty() { declaring.parent().unwrap_or(Path::new("")) } else { dir };
        return Ok((base.join(&inline).join(attr), true));
    }
    let flat = dir.join(&inline).join(format!("{}.rs", decl.name));
    let nested = dir.join(&inline).join(&decl.name).join("mod.rs");
    match (flat.is_file(), nested.is_file()) {
        (true, _) => Ok((flat, false)),
        (false, true) => Ok((nested, true)),
        (false, false) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("module `{}` declared in {} has no file", decl.name, declaring.display()),
        )),
    }
}

/// The out-of-line `mod x;` declarations of a file, including those inside inline
/// modules. A file that does not parse declares nothing here (the rules report it).
pub fn module_decls(source: &str) -> Vec<ModDecl> {
    fn walk(items: &[Item], inline: &mut Vec<String>, test: bool, exported: bool, out: &mut Vec<ModDecl>) {
        for item in items {
            let Item::Mod(m) = item else { continue };
            let test_only = test || syntax::is_test(&m.attrs);
            let exported = exported && matches!(m.vis, Visibility::Public(_));
            match &m.content {
                Some((_, items)) => {
                    inline.push(m.ident.to_string());
                    walk(items, inline, test_only, exported, out);
                    inline.pop();
                }
                None => out.push(ModDecl {
                    name: m.ident.to_string(),
                    inline: inline.clone(),
                    path_attr: path_attr(&m.attrs),
                    test_only,
                    exported,
                }),
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(file) = syn::parse_file(source) {
        walk(&file.items, &mut Vec::new(), false, true, &mut out);
    }
    out
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find(|a| a.path().is_ident("path")).and_then(|a| match &a.meta {
        syn::Meta::NameValue(nv) => match &nv.value {
            syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_carry_test_only_and_export() {
        let source = "pub mod a;\nmod b;\npub(crate) mod c;\n#[cfg(test)]\npub(crate) mod fixtures;\n\
                      pub mod outer {\n    pub mod x;\n    mod y;\n}\n#[cfg(test)]\nmod tests {\n    mod z;\n}\n\
                      mod inline_only {}\n#[path = \"elsewhere.rs\"]\nmod moved;\n";
        let decls = module_decls(source);
        let summary: Vec<(String, bool, bool)> = decls
            .iter()
            .map(|d| {
                ([&d.inline[..], std::slice::from_ref(&d.name)].concat().join("/"), d.test_only, d.exported)
            })
            .collect();
        let expected = [
            ("a", false, true),
            ("b", false, false),
            ("c", false, false),
            ("fixtures", true, false),
            ("outer/x", false, true),
            ("outer/y", false, false),
            ("tests/z", true, false),
            ("moved", false, false),
        ];
        let expected: Vec<(String, bool, bool)> =
            expected.iter().map(|(n, t, e)| (n.to_string(), *t, *e)).collect();
        assert_eq!(summary, expected);
        assert_eq!(decls.last().unwrap().path_attr.as_deref(), Some("elsewhere.rs"));
    }

    #[test]
    fn children_of_a_non_mod_rs_file_live_in_its_folder() {
        assert_eq!(children_dir(Path::new("s/src/cli/bench.rs"), false), Path::new("s/src/cli/bench"));
        assert_eq!(children_dir(Path::new("s/src/cli/mod.rs"), false), Path::new("s/src/cli"));
        assert_eq!(children_dir(Path::new("s/src/lib.rs"), true), Path::new("s/src"));
    }
}
