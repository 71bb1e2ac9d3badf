//! Syntax helpers the rules share: parsing with a violation for what does not parse,
//! recognising test code, and naming the scopes a function sits in.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Meta, Token, Type, UseTree, Visibility};

use crate::report::Violation;

/// Parses one file. A file tidy cannot parse is itself reported, rather than skipped:
/// a rule that silently skips a file checks nothing there.
pub(crate) fn parse(path: &str, source: &str) -> Result<syn::File, Violation> {
    syn::parse_file(source).map_err(|e| {
        let line = e.span().start().line;
        Violation::new(path, line, format!("{path}: unparsable"), format!("tidy cannot parse this file: {e}"))
    })
}

/// Whether an item is test code: `#[test]` (also `#[tokio::test]` and the like) or a
/// `#[cfg(...)]` that holds only under `cfg(test)`.
pub(crate) fn is_test(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let path = attr.path();
        if path.is_ident("cfg") {
            attr.parse_args::<Meta>().is_ok_and(|meta| implies_test(&meta))
        } else {
            path.segments.last().is_some_and(|s| s.ident == "test")
        }
    })
}

/// Whether a cfg predicate can hold only when `test` does: `test`, `all(.., test, ..)`,
/// or `any(..)` of such. `not(..)` never does (it is how non-test code is spelt).
fn implies_test(meta: &Meta) -> bool {
    match meta {
        Meta::Path(path) => path.is_ident("test"),
        Meta::List(list) => {
            let Ok(args) = list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated) else {
                return false;
            };
            if list.path.is_ident("all") {
                args.iter().any(implies_test)
            } else if list.path.is_ident("any") {
                !args.is_empty() && args.iter().all(implies_test)
            } else {
                false
            }
        }
        Meta::NameValue(_) => false,
    }
}

/// The name an `impl` block's functions are listed under: the last segment of its self
/// type (`impl<T> Trait for Foo<T>` gives `Foo`), or `_` for types without one.
pub(crate) fn self_type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p.path.segments.last().map_or_else(|| "_".to_owned(), |s| s.ident.to_string()),
        Type::Reference(r) => self_type_name(&r.elem),
        _ => "_".to_owned(),
    }
}

/// The line a function starts on: its visibility if it has one, else its signature
/// (`const`, `async`, `unsafe`, `extern` or `fn`). Attributes and doc comments do not
/// count towards a function's length.
pub(crate) fn start_line(vis: &Visibility, sig: &syn::Signature) -> usize {
    match vis {
        Visibility::Inherited => sig.span().start().line,
        _ => vis.span().start().line,
    }
}

/// One leaf of a `use` tree.
pub(crate) struct Import {
    /// The path imported, `*` last for a glob.
    pub(crate) full: Vec<String>,
    /// The name it is known by locally; none for a glob.
    pub(crate) local: Option<String>,
    pub(crate) line: usize,
}

/// The leaves of a `use` tree, each with its full path.
pub(crate) fn flatten(tree: &UseTree) -> Vec<Import> {
    fn walk(tree: &UseTree, prefix: &mut Vec<String>, out: &mut Vec<Import>) {
        let leaf = |prefix: &[String], name: &syn::Ident, local: Option<String>| {
            let mut full = prefix.to_vec();
            if name != "self" {
                full.push(name.to_string());
            }
            let local = local.or_else(|| full.last().cloned());
            Import { full, local, line: name.span().start().line }
        };
        match tree {
            UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                walk(&p.tree, prefix, out);
                prefix.pop();
            }
            UseTree::Name(n) => out.push(leaf(prefix, &n.ident, None)),
            UseTree::Rename(r) => out.push(leaf(prefix, &r.ident, Some(r.rename.to_string()))),
            UseTree::Glob(g) => {
                let full = prefix.iter().cloned().chain(["*".to_owned()]).collect();
                out.push(Import { full, local: None, line: g.star_token.span.start().line });
            }
            UseTree::Group(g) => g.items.iter().for_each(|t| walk(t, prefix, out)),
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

/// The path `ident (:: ident)*` starting at `tts[start]`, and the index after it.
pub(crate) fn path_at(tts: &[TokenTree], start: usize) -> (Vec<String>, usize) {
    let mut segments = vec![tts[start].to_string()];
    let mut i = start + 1;
    let joint_colon = |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':' && p.spacing() == Spacing::Joint);
    let colon = |t: Option<&TokenTree>| matches!(t, Some(TokenTree::Punct(p)) if p.as_char() == ':');
    while joint_colon(tts.get(i)) && colon(tts.get(i + 1)) {
        let Some(TokenTree::Ident(next)) = tts.get(i + 2) else { break };
        segments.push(next.to_string());
        i += 3;
    }
    (segments, i)
}

/// Every path `ident (:: ident)*` in a token stream (a macro's body, which syn does not
/// parse), groups included, with the line it starts on.
pub(crate) fn token_paths(stream: TokenStream, out: &mut Vec<(Vec<String>, usize)>) {
    let tts: Vec<TokenTree> = stream.into_iter().collect();
    let mut i = 0;
    while i < tts.len() {
        match &tts[i] {
            TokenTree::Ident(first) => {
                let (segments, next) = path_at(&tts, i);
                out.push((segments, first.span().start().line));
                i = next;
            }
            TokenTree::Group(g) => {
                token_paths(g.stream(), out);
                i += 1;
            }
            _ => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(src: &str) -> Vec<Attribute> {
        let item: syn::ItemFn = syn::parse_str(&format!("{src} fn f() {{}}")).unwrap();
        item.attrs
    }

    #[test]
    fn test_attributes_are_recognised() {
        assert!(is_test(&attrs("#[test]")));
        assert!(is_test(&attrs("#[tokio::test(flavor = \"current_thread\")]")));
        assert!(is_test(&attrs("#[cfg(test)]")));
        assert!(is_test(&attrs("#[cfg(all(test, feature = \"turmoil\"))]")));
        assert!(is_test(&attrs("#[cfg(any(test, all(test, unix)))]")));
    }

    #[test]
    fn non_test_cfgs_are_not_test_code() {
        assert!(!is_test(&attrs("#[cfg(not(test))]")));
        assert!(!is_test(&attrs("#[cfg(any(test, feature = \"broken\"))]")));
        assert!(!is_test(&attrs("#[cfg(feature = \"test\")]")));
        assert!(!is_test(&attrs("#[inline]")));
    }
}
