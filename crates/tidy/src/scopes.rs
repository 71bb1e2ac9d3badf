//! Where a path leads inside one crate target: to the module that defines the item it
//! names, through the `use` items that make it available on the way, as rustc sees it.
//!
//! With `pub use record::Record;` at the root, `crate::Record` is spelt at the root but
//! IS `crate::record::Record`: the code naming it depends on `record`, not on the root.
//! So [`Scopes`] holds, for each module, the names it defines and the names its `use`
//! items bind (renames and globs included), and [`Scopes::resolve`] follows a path
//! through them one segment at a time: a child module is descended into, a name the
//! module defines ends the path there, a name a `use` binds continues at that `use`'s
//! own path (a chain of re-exports is followed to its end, a chain leading back to
//! itself is cut), and a name tidy cannot place (made by a macro, say) ends the path at
//! the module reached so far.

use std::collections::{BTreeMap, BTreeSet};

use syn::{Item, UseTree};

use crate::syntax::flatten;

/// What each module of one crate target defines and imports, by module path (`crate`,
/// `crate::a::b`).
#[derive(Debug, Default)]
pub(crate) struct Scopes {
    modules: BTreeSet<String>,
    /// The names of the items each module defines, modules aside.
    defined: BTreeMap<String, BTreeSet<String>>,
    /// The names each module's `use` items bind, each with its path as written.
    bindings: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// The paths each module's glob imports take every name of, as written, `*` dropped.
    globs: BTreeMap<String, Vec<Vec<String>>>,
}

/// What a path leads to.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// A module of the crate.
    Module(String),
    /// An item of this module (or a name in it tidy cannot place).
    Item(String),
    /// Something outside the crate: another crate, the prelude, a local name.
    Outside,
}

/// The `(module, name)` bindings already followed while resolving one path: a chain of
/// `use`s or globs that comes back to one of them is a cycle, cut there.
type Followed = BTreeSet<(String, String)>;

impl Scopes {
    /// Adds a module, the items it holds (`items`, those of its file or inline block) and,
    /// recursively, its inline modules.
    pub(crate) fn add(&mut self, module: &str, items: &[Item]) {
        self.modules.insert(module.to_owned());
        for item in items {
            match item {
                Item::Mod(m) => {
                    let child = format!("{module}::{}", m.ident);
                    match &m.content {
                        Some((_, inner)) => self.add(&child, inner),
                        None => {
                            self.modules.insert(child);
                        }
                    }
                }
                Item::Use(u) => self.bind(module, &u.tree),
                _ => {
                    if let Some(name) = item_name(item) {
                        self.defined.entry(module.to_owned()).or_default().insert(name);
                    }
                }
            }
        }
    }

    fn bind(&mut self, module: &str, tree: &UseTree) {
        for mut import in flatten(tree) {
            match import.local {
                None => {
                    import.full.pop();
                    self.globs.entry(module.to_owned()).or_default().push(import.full);
                }
                Some(name) if name != "_" => {
                    self.bindings.entry(module.to_owned()).or_default().insert(name, import.full);
                }
                Some(_) => {}
            }
        }
    }

    /// The module of the crate a path used in module `current` leads to: the module
    /// defining the item it names, the module it names, or the deepest module it reaches
    /// before a name tidy cannot place. None for a path out of the crate, and for a path
    /// of one segment that is not a name a `use` of `current` binds (it may be a local
    /// variable as likely as an item; an item of `current` is no edge anyway).
    pub(crate) fn resolve(&self, current: &str, segments: &[String]) -> Option<String> {
        match self.path(current, segments, false, &mut Followed::new())? {
            Found::Module(m) | Found::Item(m) => Some(m),
            Found::Outside => None,
        }
    }

    /// Where a path written in `module` leads: `crate::`, `self::` and `super::` paths
    /// from there, and others from the name their first segment has in `module`. A path
    /// of one segment outside a `use` (`in_use`) leads somewhere only through a binding.
    fn path(
        &self,
        module: &str,
        segments: &[String],
        in_use: bool,
        followed: &mut Followed,
    ) -> Option<Found> {
        let (head, rest) = segments.split_first()?;
        match head.as_str() {
            "crate" => Some(self.walk("crate".to_owned(), rest, false, followed)),
            "self" | "super" => Some(self.walk(module.to_owned(), segments, false, followed)),
            _ if rest.is_empty() && !in_use => self.imported(module, head, false, followed),
            _ => Some(self.walk(module.to_owned(), segments, true, followed)),
        }
    }

    /// Follows `segments` from `module`. If `relative`, the first segment is a name in
    /// `module`'s scope, and one tidy cannot place there is from outside the crate.
    fn walk(
        &self,
        mut module: String,
        segments: &[String],
        relative: bool,
        followed: &mut Followed,
    ) -> Found {
        for (i, name) in segments.iter().enumerate() {
            let found = match name.as_str() {
                "self" => Some(Found::Module(module.clone())),
                "super" => Some(
                    module.rsplit_once("::").map_or(Found::Outside, |(up, _)| Found::Module(up.to_owned())),
                ),
                _ => self.lookup(&module, name, followed),
            };
            match found {
                Some(Found::Module(m)) => module = m,
                Some(found) => return found,
                None if relative && i == 0 => return Found::Outside,
                None => return Found::Item(module),
            }
        }
        Found::Module(module)
    }

    /// What `name` is in `module`, if tidy can tell: a child module, an item the module
    /// defines, or what one of its `use` items binds it to (a glob's last, as in rustc).
    fn lookup(&self, module: &str, name: &str, followed: &mut Followed) -> Option<Found> {
        let child = format!("{module}::{name}");
        if self.modules.contains(&child) {
            return Some(Found::Module(child));
        }
        if self.defined.get(module).is_some_and(|names| names.contains(name)) {
            return Some(Found::Item(module.to_owned()));
        }
        self.imported(module, name, true, followed)
    }

    /// What a `use` of `module` binds `name` to, if one does: an explicit one first, then
    /// (if `globs`) one of its globs, as in rustc. None too while this very binding is
    /// being followed already: a chain of re-exports that comes back to it is cut.
    fn imported(&self, module: &str, name: &str, globs: bool, followed: &mut Followed) -> Option<Found> {
        if !followed.insert((module.to_owned(), name.to_owned())) {
            return None;
        }
        if let Some(target) = self.bindings.get(module).and_then(|b| b.get(name)) {
            return self.path(module, target, true, followed);
        }
        let globbed = if globs { self.globs.get(module) } else { None };
        for glob in globbed.into_iter().flatten() {
            if let Some(Found::Module(from)) = self.path(module, glob, true, followed)
                && let Some(found) = self.lookup(&from, name, followed)
            {
                return Some(found);
            }
        }
        None
    }
}

/// The name an item defines in its module's namespace, for the items a path can name.
fn item_name(item: &Item) -> Option<String> {
    let ident = match item {
        Item::Const(i) => &i.ident,
        Item::Enum(i) => &i.ident,
        Item::Fn(i) => &i.sig.ident,
        Item::Macro(i) => i.ident.as_ref()?,
        Item::Static(i) => &i.ident,
        Item::Struct(i) => &i.ident,
        Item::Trait(i) => &i.ident,
        Item::TraitAlias(i) => &i.ident,
        Item::Type(i) => &i.ident,
        Item::Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scopes of a crate whose modules hold `sources`, by module path.
    fn scopes(sources: &[(&str, &str)]) -> Scopes {
        let mut scopes = Scopes::default();
        for (module, source) in sources {
            scopes.add(module, &syn::parse_file(source).expect("parses").items);
        }
        scopes
    }

    fn at(scopes: &Scopes, current: &str, path: &str) -> Option<String> {
        scopes.resolve(current, &path.split("::").map(str::to_owned).collect::<Vec<_>>())
    }

    #[test]
    fn paths_resolve_to_the_deepest_module_they_reach() {
        let s = scopes(&[
            ("crate", "mod scenario;\nmod sim;\npub struct Error;\n"),
            ("crate::scenario", ""),
            ("crate::sim", "mod runner;\n"),
            ("crate::sim::runner", "pub const TICK: u64 = 1;\n"),
        ]);
        assert_eq!(at(&s, "crate", "crate::sim::runner::TICK").as_deref(), Some("crate::sim::runner"));
        assert_eq!(at(&s, "crate::sim", "crate::scenario::Scenario").as_deref(), Some("crate::scenario"));
        assert_eq!(
            at(&s, "crate::sim::runner", "super::super::scenario::X").as_deref(),
            Some("crate::scenario")
        );
        assert_eq!(at(&s, "crate::sim::runner", "super::*").as_deref(), Some("crate::sim"));
        assert_eq!(at(&s, "crate::sim", "runner::TICK").as_deref(), Some("crate::sim::runner"));
        assert_eq!(at(&s, "crate::sim", "self::runner").as_deref(), Some("crate::sim::runner"));
        assert_eq!(at(&s, "crate", "crate::Error::Io").as_deref(), Some("crate"));
        assert_eq!(at(&s, "crate", "super::X"), None, "above the crate root");
        assert_eq!(at(&s, "crate::sim", "runner"), None, "one segment: a value as likely as a module");
        assert_eq!(at(&s, "crate::sim", "std::time::Duration"), None);
    }

    #[test]
    fn re_exports_resolve_to_the_defining_module() {
        let s = scopes(&[
            (
                "crate",
                "mod record;\nmod writer;\npub use record::Record;\npub(crate) use writer::W as Writer;\n",
            ),
            ("crate::record", "pub struct Record;\n"),
            ("crate::writer", "use crate::Record;\npub struct W;\n"),
        ]);
        assert_eq!(at(&s, "crate::writer", "crate::Record").as_deref(), Some("crate::record"));
        assert_eq!(at(&s, "crate::writer", "crate::Record::new").as_deref(), Some("crate::record"));
        assert_eq!(at(&s, "crate::record", "crate::Writer").as_deref(), Some("crate::writer"));
        assert_eq!(at(&s, "crate::record", "super::Writer").as_deref(), Some("crate::writer"));
        assert_eq!(
            at(&s, "crate::writer", "Record").as_deref(),
            Some("crate::record"),
            "a name bound by a use"
        );
        assert_eq!(at(&s, "crate::writer", "Record::new").as_deref(), Some("crate::record"));
        assert_eq!(at(&s, "crate::writer", "W"), None, "a one-segment item of its own module");
    }

    #[test]
    fn renames_globs_and_chains_resolve() {
        let s = scopes(&[
            (
                "crate",
                "mod mid;\nmod other;\npub use mid::*;\npub use mid::Leaf as Renamed;\npub use mid::inner as alias;\n",
            ),
            ("crate::mid", "pub mod inner;\npub use inner::Leaf;\npub use std::fmt::Display;\n"),
            ("crate::mid::inner", "pub struct Leaf;\npub fn f() {}\n"),
            ("crate::other", "use crate::*;\n"),
        ]);
        assert_eq!(
            at(&s, "crate::other", "crate::Leaf").as_deref(),
            Some("crate::mid::inner"),
            "glob, chain"
        );
        assert_eq!(at(&s, "crate::other", "crate::Renamed").as_deref(), Some("crate::mid::inner"));
        assert_eq!(at(&s, "crate::other", "crate::alias::f").as_deref(), Some("crate::mid::inner"));
        assert_eq!(at(&s, "crate::other", "crate::inner::f").as_deref(), Some("crate::mid::inner"));
        assert_eq!(at(&s, "crate::other", "Leaf::new").as_deref(), Some("crate::mid::inner"), "own glob");
        assert_eq!(at(&s, "crate::other", "crate::Display"), None, "re-exported from another crate");
        assert_eq!(at(&s, "crate::other", "crate::Unknown").as_deref(), Some("crate"), "made by a macro?");
    }

    #[test]
    fn a_re_export_cycle_is_cut() {
        let s = scopes(&[
            ("crate", "mod a;\nmod b;\n"),
            ("crate::a", "pub use crate::b::*;\npub use crate::b::X as Y;\n"),
            ("crate::b", "pub use crate::a::*;\npub use crate::a::Y as X;\n"),
        ]);
        assert_eq!(at(&s, "crate", "crate::a::Z").as_deref(), Some("crate::a"));
        assert_eq!(at(&s, "crate", "crate::a::Y").as_deref(), Some("crate::a"));
    }
}
