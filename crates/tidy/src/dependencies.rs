//! Dependency limits: the crates that read and check a trace depend, however
//! indirectly, on nothing that runs a simulation.
//!
//! `shipsim-trace` and `shipsim-check` are what a user links to verify a trace: they
//! need no async runtime, no simulator, no network stack, no generator, no YAML parser
//! and none of the system under test. One new dependency of theirs, or of anything they
//! depend on, can bring all that in without a line of their code changing. So each
//! one's normal dependency closure is computed and checked against
//! [`crate::allowlist::DEPENDENCY_LIMITS`].
//!
//! The closure comes from `Cargo.lock`, except that a workspace member's own
//! dependencies come from its `Cargo.toml`: the lock lists a member's normal, dev and
//! build dependencies as one, and a member's dev-dependencies (`shipsim-check`'s tests
//! use `shipper`) are not linked into it. A registry package's entry in the lock holds
//! no dev-dependencies, but does hold its build-dependencies: counting them only makes
//! the check stricter.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::cargo::{self, Manifest, Package};
use crate::report::{self, Violation};

/// The violations of one crate: each `forbidden` package its normal dependency closure
/// reaches (by a shortest chain), and whatever keeps the closure from being followed.
pub fn check(krate: &str, forbidden: &[&str], lock: &[Package], manifests: &[Manifest]) -> Vec<Violation> {
    let members: BTreeMap<String, &Manifest> =
        manifests.iter().filter_map(|m| Some((cargo::package_name(&m.text)?, m))).collect();
    let Some(manifest) = members.get(krate) else {
        return vec![report::stale_entry("DEPENDENCY_LIMITS", krate, "names no workspace member")];
    };
    let graph = Graph { lock, members: &members };
    let (parents, unfollowed) = graph.closure(Node::Member(krate.to_owned()));
    let mut out: Vec<Violation> = unfollowed
        .into_iter()
        .map(|why| {
            let message = format!("the dependencies of `{krate}` cannot be followed: {why}");
            Violation::new(&manifest.path, 0, format!("{krate}: {why}"), message)
        })
        .collect();
    let direct = cargo::normal_dependencies(&manifest.text);
    for name in forbidden {
        let chains = parents.keys().filter(|n| n.name() == *name).map(|n| chain(&parents, n));
        let Some(chain) = chains.min_by_key(Vec::len) else { continue };
        let line = direct.iter().find(|d| chain.get(1) == Some(&d.name)).map_or(0, |d| d.line);
        let message = format!("`{krate}` may not depend on `{name}`, but does: {}", chain.join(" -> "));
        out.push(Violation::new(&manifest.path, line, format!("{krate} -> {name}"), message));
    }
    out
}

/// A package of the dependency graph: a workspace member, by name; or a locked package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    Member(String),
    Locked { name: String, version: String },
}

impl Node {
    fn name(&self) -> &str {
        match self {
            Node::Member(name) | Node::Locked { name, .. } => name,
        }
    }
}

/// The names along the chain that reached `node`, from the crate checked to `node`.
fn chain(parents: &BTreeMap<Node, Option<Node>>, node: &Node) -> Vec<String> {
    let mut names = vec![node.name().to_owned()];
    let mut at = node;
    while let Some(Some(parent)) = parents.get(at) {
        names.push(parent.name().to_owned());
        at = parent;
    }
    names.reverse();
    names
}

struct Graph<'a> {
    lock: &'a [Package],
    members: &'a BTreeMap<String, &'a Manifest>,
}

impl Graph<'_> {
    /// Every package `start` depends on normally, directly or not, each with the package
    /// it was first reached from (breadth first, so by a shortest chain); and why some
    /// dependencies could not be followed.
    fn closure(&self, start: Node) -> (BTreeMap<Node, Option<Node>>, BTreeSet<String>) {
        let mut parents = BTreeMap::from([(start.clone(), None)]);
        let mut unfollowed = BTreeSet::new();
        let mut queue = VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            for next in self.dependencies(&node) {
                match next {
                    Ok(next) if !parents.contains_key(&next) => {
                        parents.insert(next.clone(), Some(node.clone()));
                        queue.push_back(next);
                    }
                    Ok(_) => {}
                    Err(why) => _ = unfollowed.insert(why),
                }
            }
        }
        (parents, unfollowed)
    }

    /// The packages `node` depends on normally: a member's from its manifest, a locked
    /// package's from the lock.
    fn dependencies(&self, node: &Node) -> Vec<Result<Node, String>> {
        let named: Vec<(String, Option<String>)> = match node {
            Node::Member(name) => {
                let deps = cargo::normal_dependencies(&self.members[name].text);
                deps.into_iter().map(|d| (d.name, None)).collect()
            }
            Node::Locked { name, version } => {
                let package = self.lock.iter().find(|p| &p.name == name && &p.version == version);
                package.map(|p| p.dependencies.clone()).unwrap_or_default()
            }
        };
        named.iter().flat_map(|(name, version)| self.resolve(name, version.as_deref())).collect()
    }

    /// The packages a dependency stands for: the member of that name, or each locked
    /// version of it (all of them when the lock does not say which: stricter).
    fn resolve(&self, name: &str, version: Option<&str>) -> Vec<Result<Node, String>> {
        if self.members.contains_key(name) {
            return vec![Ok(Node::Member(name.to_owned()))];
        }
        let locked = self.lock.iter().filter(|p| p.name == name && version.is_none_or(|v| p.version == v));
        let nodes: Vec<Result<Node, String>> = locked
            .map(|p| match p.registry {
                true => Ok(Node::Locked { name: p.name.clone(), version: p.version.clone() }),
                false => Err(format!("`{name}` is a path package with no manifest in the workspace")),
            })
            .collect();
        if nodes.is_empty() { vec![Err(format!("`{name}` is no package of Cargo.lock"))] } else { nodes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORBIDDEN: &[&str] = &["tokio", "shipper"];

    fn manifest(name: &str, dependencies: &str) -> Manifest {
        let text = format!(
            "[package]\nname = \"{name}\"\n\n[dependencies]\n{dependencies}\n\
                            [dev-dependencies]\nshipper.workspace = true\n"
        );
        Manifest { path: format!("crates/{name}/Cargo.toml"), text }
    }

    fn package(name: &str, registry: bool, dependencies: &[&str]) -> Package {
        let dependencies = dependencies.iter().map(|d| (d.to_string(), None)).collect();
        Package { name: name.to_owned(), version: "1.0.0".to_owned(), registry, dependencies }
    }

    /// `shipsim-check` depends on `x` and (only for its tests) `shipper`; `x` on `y`.
    fn lock(y: &[&str]) -> Vec<Package> {
        vec![
            package("shipsim-check", false, &["shipper", "x"]),
            package("shipper", false, &["tokio"]),
            package("x", true, &["y"]),
            package("y", true, y),
            package("tokio", true, &[]),
        ]
    }

    #[test]
    fn a_forbidden_package_reached_through_another_is_reported_with_its_chain() {
        let manifests = [manifest("shipsim-check", "x = \"1\""), manifest("shipper", "")];
        let found = check("shipsim-check", FORBIDDEN, &lock(&["tokio"]), &manifests);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].key, "shipsim-check -> tokio");
        assert_eq!((found[0].path.as_str(), found[0].line), ("crates/shipsim-check/Cargo.toml", 5));
        assert!(found[0].message.ends_with("but does: shipsim-check -> x -> y -> tokio"), "{}", found[0]);
    }

    #[test]
    fn dev_dependencies_of_members_do_not_count() {
        let manifests = [manifest("shipsim-check", "x = \"1\""), manifest("shipper", "")];
        assert_eq!(check("shipsim-check", FORBIDDEN, &lock(&[]), &manifests), []);
    }

    #[test]
    fn members_are_followed_through_their_own_manifests() {
        let manifests = [
            manifest("shipsim-check", "shipsim-trace.workspace = true"),
            manifest("shipsim-trace", "x.workspace = true"),
        ];
        let mut lock = lock(&["tokio"]);
        lock.push(package("shipsim-trace", false, &["x", "shipper"]));
        let keys: Vec<String> =
            check("shipsim-check", FORBIDDEN, &lock, &manifests).into_iter().map(|v| v.message).collect();
        assert_eq!(
            keys,
            [
                "`shipsim-check` may not depend on `tokio`, but does: shipsim-check -> shipsim-trace -> x -> y -> tokio"
            ]
        );
    }

    #[test]
    fn what_cannot_be_followed_is_reported() {
        let manifests = [manifest("shipsim-check", "x = \"1\"\nrenamed = { package = \"nowhere\" }")];
        let keys: Vec<String> =
            check("shipsim-check", FORBIDDEN, &lock(&[]), &manifests).into_iter().map(|v| v.key).collect();
        assert_eq!(keys, ["shipsim-check: `nowhere` is no package of Cargo.lock"]);
        let unknown = check("shipsim-nothing", FORBIDDEN, &lock(&[]), &manifests);
        assert!(unknown[0].message.contains("names no workspace member"), "{}", unknown[0]);
    }
}
