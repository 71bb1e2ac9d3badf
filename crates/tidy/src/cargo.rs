//! Reading `Cargo.lock` and a manifest's dependency sections, for
//! [`crate::dependencies`]: line by line, with no TOML parser (tidy adds no crate to the
//! lock). Both files are written in the plain shapes Cargo and this workspace use:
//! `[[package]]` blocks with one-per-line `dependencies`, and dependency sections whose
//! entries start a line with their key.

/// A workspace member's manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Workspace-relative: `crates/shipsim-check/Cargo.toml`.
    pub path: String,
    pub text: String,
}

/// One `[[package]]` of `Cargo.lock`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// Has a `source`: from a registry (or git), not a path in this workspace.
    pub registry: bool,
    /// Each dependency's name, and its version when the lock spells it out (it does when
    /// the lock holds more than one version of that name).
    pub dependencies: Vec<(String, Option<String>)>,
}

/// The packages of a `Cargo.lock`.
pub fn parse_lock(text: &str) -> Vec<Package> {
    let mut packages: Vec<Package> = Vec::new();
    let (mut in_package, mut in_list) = (false, false);
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[[package]]";
            in_list = false;
            if in_package {
                packages.push(Package::default());
            }
            continue;
        }
        let Some(package) = packages.last_mut().filter(|_| in_package) else { continue };
        if in_list {
            in_list = !line.starts_with(']');
            package.dependencies.extend(in_list.then(|| lock_dependency(line)).flatten());
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        match key.trim() {
            "name" => package.name = unquote(value),
            "version" => package.version = unquote(value),
            "source" => package.registry = true,
            "dependencies" => {
                let items = value.trim().trim_start_matches('[');
                in_list = !items.contains(']');
                let items = items.trim_end_matches(']').split(',');
                package.dependencies.extend(items.filter_map(lock_dependency));
            }
            _ => {}
        }
    }
    packages
}

/// `"name"`, `"name 1.2.3"` or `"name 1.2.3 (registry+...)"`, with its trailing comma.
fn lock_dependency(item: &str) -> Option<(String, Option<String>)> {
    let item = unquote(item.trim().trim_end_matches(','));
    let mut words = item.split_whitespace();
    let name = words.next()?.to_owned();
    Some((name, words.next().map(str::to_owned)))
}

/// A dependency a manifest names as a normal one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The package's name: its key, or its `package = "..."` when renamed.
    pub name: String,
    /// 1-based line of the manifest naming it.
    pub line: usize,
}

/// The `[package]` name of a manifest.
pub fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if let Some(("name", value)) = line.split_once('=').map(|(k, v)| (k.trim(), v))
            && in_package
        {
            return Some(unquote(value));
        }
    }
    None
}

/// Where a manifest line is: which kind of section.
enum Section {
    /// `[dependencies]` or `[target.'cfg(..)'.dependencies]`: one entry per key.
    Table,
    /// `[dependencies.key]` (or under a target): one entry, this one.
    One(String),
    /// Anything else, `[dev-dependencies]` and `[build-dependencies]` included.
    Other,
}

fn section(header: &str) -> Section {
    match dotted(header).iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["dependencies"] | ["target", _, "dependencies"] => Section::Table,
        ["dependencies", key] | ["target", _, "dependencies", key] => Section::One(key.to_string()),
        _ => Section::Other,
    }
}

/// The normal dependencies a manifest names: `[dependencies]` and
/// `[target.*.dependencies]`, optional ones included; not dev- or build-dependencies.
pub fn normal_dependencies(manifest: &str) -> Vec<Dependency> {
    // By key: one dependency can take several lines (`a.version = ..`, `a.features = ..`).
    let mut found: Vec<(String, Dependency)> = Vec::new();
    let mut current = Section::Other;
    for (i, line) in manifest.lines().map(str::trim).enumerate() {
        if let Some(header) = line.strip_prefix('[') {
            current = section(header.trim_end_matches(']'));
            if let Section::One(key) = &current
                && !found.iter().any(|(k, _)| k == key)
            {
                found.push((key.clone(), Dependency { name: key.clone(), line: i + 1 }));
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=').filter(|_| !line.starts_with('#')) else { continue };
        let keys = dotted(key);
        let plain =
            |k: &String| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_".contains(c));
        let (key, field) = match (&current, keys.as_slice()) {
            _ if !keys.iter().all(plain) => continue,
            (Section::Table, [key]) => (key.clone(), None),
            (Section::Table, [key, field]) | (Section::One(key), [field]) => {
                (key.clone(), Some(field.as_str()))
            }
            _ => continue,
        };
        let index = found.iter().position(|(k, _)| *k == key).unwrap_or_else(|| {
            found.push((key.clone(), Dependency { name: key, line: i + 1 }));
            found.len() - 1
        });
        let rename = match field {
            None => renamed(value),
            Some("package") => Some(unquote(value)),
            Some(_) => None,
        };
        if let Some(name) = rename {
            found[index].1.name = name;
        }
    }
    found.into_iter().map(|(_, dependency)| dependency).collect()
}

/// The `package` of an inline table: `{ version = "1", package = "real-name" }`.
fn renamed(value: &str) -> Option<String> {
    let table = value.trim().strip_prefix('{')?;
    table.split(',').find_map(|field| match field.split_once('=') {
        Some((key, value)) if key.trim() == "package" => Some(unquote(value.trim().trim_end_matches('}'))),
        _ => None,
    })
}

/// A dotted TOML key, its parts unquoted: `target.'cfg(unix)'.dependencies` has three.
fn dotted(key: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut quote = None;
    for c in key.chars() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '.') => parts.push(String::new()),
            (None, c) if c.is_whitespace() => {}
            (_, c) => parts.last_mut().expect("never empty").push(c),
        }
    }
    parts
}

/// A TOML basic string's content (no escapes in the names and versions read here).
fn unquote(value: &str) -> String {
    let value = value.trim();
    let inner = value.strip_prefix('"').and_then(|v| v.split_once('"')).map(|(inner, _)| inner);
    inner.unwrap_or(value).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_packages_and_their_dependencies_are_read() {
        let lock = "version = 4\n\n[[package]]\nname = \"a\"\nversion = \"0.1.0\"\ndependencies = [\n \
                    \"b\",\n \"rand 0.9.5\",\n \"c 1.0.0 (registry+https://x)\",\n]\n\n[[package]]\n\
                    name = \"b\"\nversion = \"1.0.0\"\nsource = \"registry+https://x\"\n\
                    checksum = \"00\"\ndependencies = [\"c\"]\n\n[metadata]\nname = \"not a package\"\n";
        let packages = parse_lock(lock);
        assert_eq!(packages.len(), 2, "{packages:?}");
        assert_eq!((packages[0].name.as_str(), packages[0].version.as_str()), ("a", "0.1.0"));
        assert!(!packages[0].registry && packages[1].registry);
        let deps = |p: &Package| p.dependencies.iter().map(|(n, v)| format!("{n}@{v:?}")).collect::<Vec<_>>();
        assert_eq!(deps(&packages[0]), ["b@None", "rand@Some(\"0.9.5\")", "c@Some(\"1.0.0\")"]);
        assert_eq!(deps(&packages[1]), ["c@None"]);
    }

    #[test]
    fn only_normal_dependencies_are_read_from_a_manifest() {
        let manifest = "[package]\nname = \"x\"\n\n[dependencies]\n# a comment = no\na.workspace = true\n\
                        b = { version = \"1\", features = [\n    \"derive\",\n] }\nc = \"1\"\n\
                        renamed = { version = \"1\", package = \"real\" }\n\n[dev-dependencies]\nd = \"1\"\n\
                        [build-dependencies]\ne = \"1\"\n[target.'cfg(unix)'.dependencies]\nf = \"1\"\n\
                        [dependencies.g]\nversion = \"1\"\npackage = \"g-real\"\n[dev-dependencies.h]\n\
                        version = \"1\"\n";
        let found: Vec<(String, usize)> =
            normal_dependencies(manifest).into_iter().map(|d| (d.name, d.line)).collect();
        let expected = [("a", 6), ("b", 7), ("c", 10), ("real", 11), ("f", 18), ("g-real", 19)];
        assert_eq!(found, expected.map(|(n, l)| (n.to_owned(), l)));
        assert_eq!(package_name(manifest).as_deref(), Some("x"));
    }
}
