//! Each rule over the whole workspace, with its allowlists applied.

use crate::allowlist::SIMULATED_PATH;
use crate::allowlist::{LONG_FUNCTIONS, PENDING_NONDETERMINISM, PENDING_PUB_IN_PRIVATE, PENDING_SPLIT};
use crate::report::{self, Violation};
use crate::walk::{Crate, SourceFile, Target};
use crate::{functions, nondeterminism, visibility};

/// Functions over the limit in every crate's non-test code, and stale entries of
/// [`LONG_FUNCTIONS`] and [`PENDING_SPLIT`].
pub fn long_functions(crates: &[Crate]) -> Vec<Violation> {
    let mut fns = Vec::new();
    let mut out = Vec::new();
    for file in non_test(crates) {
        match functions::measure(&file.path, &file.source) {
            Ok(found) => fns.extend(found),
            Err(unparsable) => out.push(unparsable),
        }
    }
    out.extend(functions::check(
        &fns,
        &[("LONG_FUNCTIONS", LONG_FUNCTIONS), ("PENDING_SPLIT", PENDING_SPLIT)],
    ));
    out
}

/// Nondeterminism in the non-test code of the crates on [`SIMULATED_PATH`] (build
/// scripts excepted: they run before any simulation), and stale entries of
/// [`PENDING_NONDETERMINISM`].
pub fn nondeterminism(crates: &[Crate]) -> Vec<Violation> {
    let simulated = crates.iter().filter(|c| SIMULATED_PATH.contains(&c.dir.as_str()));
    let found = simulated
        .flat_map(|c| &c.files)
        .filter(|f| !f.test_only && f.target != Target::BuildScript)
        .flat_map(|f| nondeterminism::check(&f.path, &f.source))
        .collect();
    report::apply_allowlist(found, &[("PENDING_NONDETERMINISM", PENDING_NONDETERMINISM)])
}

/// `pub fn`s in private modules of every crate, and stale entries of
/// [`PENDING_PUB_IN_PRIVATE`].
pub fn pub_in_private(crates: &[Crate]) -> Vec<Violation> {
    let found = crates.iter().flat_map(|c| visibility::check(&c.files)).collect();
    report::apply_allowlist(found, &[("PENDING_PUB_IN_PRIVATE", PENDING_PUB_IN_PRIVATE)])
}

fn non_test(crates: &[Crate]) -> impl Iterator<Item = &SourceFile> {
    crates.iter().flat_map(|c| &c.files).filter(|f| !f.test_only)
}
