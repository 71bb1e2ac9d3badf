//! Each rule over the whole workspace, with its allowlists applied.

use std::collections::BTreeMap;

use crate::allowlist::{DEPENDENCY_LIMITS, LONG_FUNCTIONS, REAL_MODE, SIMULATED_PATH};
use crate::cargo::Manifest;
use crate::report::Violation;
use crate::walk::{Crate, SourceFile, Target};
use crate::{cargo, dependencies, functions, imports, nondeterminism, visibility};

/// Functions over the limit in every crate's non-test code, and stale entries of
/// [`LONG_FUNCTIONS`].
pub fn long_functions(crates: &[Crate]) -> Vec<Violation> {
    let mut fns = Vec::new();
    let mut out = Vec::new();
    for file in non_test(crates) {
        match functions::measure(&file.path, &file.source) {
            Ok(found) => fns.extend(found),
            Err(unparsable) => out.push(unparsable),
        }
    }
    out.extend(functions::check(&fns, &[("LONG_FUNCTIONS", LONG_FUNCTIONS)]));
    out
}

/// Nondeterminism in the non-test code of the crates on [`SIMULATED_PATH`] (build
/// scripts excepted: they run before any simulation). A deliberate use is marked on its line
/// (`allow-nondeterminism: <reason>`); there is no list. Real mode's folders ([`REAL_MODE`])
/// run no simulation; that no simulated module imports them is checked too.
pub fn nondeterminism(crates: &[Crate]) -> Vec<Violation> {
    let simulated = crates.iter().filter(|c| SIMULATED_PATH.contains(&c.dir.as_str()));
    let real = |f: &&SourceFile| REAL_MODE.iter().any(|dir| f.path.starts_with(dir));
    let leaks =
        simulated.clone().flat_map(|c| &c.files).filter(|f| !real(f) && !f.test_only).filter_map(|f| {
            let line = f
                .source
                .lines()
                .position(|l| l.contains("crate::real::") || l.contains("use crate::real"))?;
            let message = "a simulated module imports real mode, which reads clocks and spawns processes";
            Some(Violation::new(
                &f.path,
                line + 1,
                format!("{}: imports crate::real", f.path),
                message.to_owned(),
            ))
        });
    let mut out: Vec<Violation> = leaks.collect();
    out.extend(
        simulated
            .flat_map(|c| &c.files)
            .filter(|f| !real(f) && !f.test_only && f.target != Target::BuildScript)
            .flat_map(|f| nondeterminism::check(&f.path, &f.source)),
    );
    out
}

/// `pub fn`s in private modules of every crate.
pub fn pub_in_private(crates: &[Crate]) -> Vec<Violation> {
    crates.iter().flat_map(|c| visibility::check(&c.files)).collect()
}

/// Import loops among the modules of each crate target, test code included. A loop in a
/// library is named by its crate's folder, one in another target by that target's root file.
pub fn import_loops(crates: &[Crate]) -> Vec<Violation> {
    let mut found = Vec::new();
    for krate in crates {
        let mut targets: BTreeMap<&str, Vec<&SourceFile>> = BTreeMap::new();
        for file in &krate.files {
            targets.entry(file.root.as_str()).or_default().push(file);
        }
        for (root, files) in targets {
            let lib = root.strip_prefix(krate.dir.as_str()) == Some("/src/lib.rs");
            let label = if lib { krate.dir.as_str() } else { root };
            found.extend(imports::check(label, &files));
        }
    }
    found
}

/// Each harness crate's forbidden dependencies ([`DEPENDENCY_LIMITS`]), from the text of
/// `Cargo.lock` and the workspace members' manifests.
pub fn dependency_limits(lock: &str, manifests: &[Manifest]) -> Vec<Violation> {
    let lock = cargo::parse_lock(lock);
    let limits = DEPENDENCY_LIMITS.iter();
    limits.flat_map(|(krate, forbidden)| dependencies::check(krate, forbidden, &lock, manifests)).collect()
}

fn non_test(crates: &[Crate]) -> impl Iterator<Item = &SourceFile> {
    crates.iter().flat_map(|c| &c.files).filter(|f| !f.test_only)
}
