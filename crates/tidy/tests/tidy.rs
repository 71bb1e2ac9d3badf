//! The tidy rules over the real workspace: `cargo test -p tidy` fails on any violation
//! not in `src/allowlist.rs`, and on any allowlist entry that excuses nothing now.

use std::path::{Path, PathBuf};

use tidy::allowlist::{ALLOWLIST_CRATES, HARNESS_CRATES, LONG_FUNCTIONS};
use tidy::report::render;
use tidy::walk::{self, Crate};
use tidy::{Violation, run};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

fn crates() -> Vec<Crate> {
    walk::workspace(&root()).expect("walk the workspace's crates")
}

fn assert_clean(title: &str, violations: &[Violation]) {
    assert!(violations.is_empty(), "\n{}", render(title, violations));
}

#[test]
fn functions_fit_in_70_lines() {
    assert_clean("functions longer than 70 lines (split them)", &run::long_functions(&crates()));
}

#[test]
fn simulated_path_is_deterministic() {
    assert_clean("nondeterminism on the simulated path", &run::nondeterminism(&crates()));
}

#[test]
fn no_pub_fn_in_private_modules() {
    assert_clean("`pub fn` in private modules (make them `pub(crate)`)", &run::pub_in_private(&crates()));
}

/// Every `.rs` file under a crate's `src/` is reached by following `mod` declarations;
/// a file tidy did not reach is a file no rule checked.
#[test]
fn every_source_file_is_reached() {
    let root = root();
    let crates = crates();
    assert!(crates.iter().any(|c| c.dir == "crates/shipper"), "found no crates under {}", root.display());
    let unreached: Vec<String> =
        crates.iter().flat_map(|c| walk::unreached(&root, c).expect("list src")).collect();
    assert!(unreached.is_empty(), "source files no crate root reaches: {unreached:#?}");
}

/// A loop between modules makes them one module in several files (`src/imports.rs`).
#[test]
fn no_import_loops() {
    assert_clean("import loops between modules (break each at one edge)", &run::import_loops(&crates()));
}

/// Reading and checking a trace compiles no runtime, simulator or system under test
/// (`src/dependencies.rs`).
#[test]
fn harness_crates_keep_their_dependency_limits() {
    let root = root();
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).expect("read Cargo.lock");
    let manifests = walk::manifests(&root).expect("read the members' manifests");
    assert!(manifests.iter().any(|m| m.path == "crates/shipsim-check/Cargo.toml"), "{manifests:?}");
    assert_clean("forbidden dependencies of harness crates", &run::dependency_limits(&lock, &manifests));
}

/// Each file's module path follows its `mod` declarations from the crate root.
#[test]
fn module_paths_follow_mod_declarations() {
    let crates = crates();
    let module = |path: &str| {
        let file = crates.iter().flat_map(|c| &c.files).find(|f| f.path == path);
        file.map(|f| (f.module.as_str(), f.root.as_str()))
    };
    assert_eq!(module("crates/shipsim/src/lib.rs"), Some(("crate", "crates/shipsim/src/lib.rs")));
    assert_eq!(
        module("crates/shipsim/src/scenario/model.rs"),
        Some(("crate::scenario::model", "crates/shipsim/src/lib.rs"))
    );
    assert_eq!(
        module("crates/shipsim-cli/src/cli/bench/speed.rs"),
        Some(("crate::cli::bench::speed", "crates/shipsim-cli/src/main.rs"))
    );
}

#[test]
fn allowlist_names_only_transport_and_bench_crates() {
    for entry in LONG_FUNCTIONS {
        assert!(
            ALLOWLIST_CRATES.iter().any(|c| entry.starts_with(c)),
            "`{entry}` is outside {ALLOWLIST_CRATES:?}"
        );
    }
}

#[test]
fn harness_crates_have_no_allowlist_entries() {
    for entry in LONG_FUNCTIONS {
        assert!(
            !HARNESS_CRATES.iter().any(|c| entry.starts_with(c)),
            "`{entry}`: harness crates get no allowlist"
        );
    }
}

/// Every `probe!("name")` placed in the code under test is listed in `shipper::probes::ALL`,
/// and every listed probe is placed: the coverage ledger reports the probes no run reached
/// from that list, so a probe missing from it would never be missed, and a listed probe
/// placed nowhere would always be.
#[test]
fn probes_placed_and_listed_agree() {
    const LIST: &str = "crates/shipper/src/probes.rs";
    let files: Vec<_> = crates().into_iter().flat_map(|c| c.files).filter(|f| !f.test_only).collect();
    let mut placed = std::collections::BTreeSet::new();
    for file in files.iter().filter(|f| f.path != LIST) {
        for piece in file.source.split("probe!(\"").skip(1) {
            placed.insert(piece.split('"').next().unwrap_or_default().to_owned());
        }
    }
    let list = files.iter().find(|f| f.path == LIST).expect("the probes module");
    let body = list.source.split("pub const ALL: &[Probe] = &[").nth(1).expect("the list");
    let body = body.split("];").next().unwrap_or_default();
    // Each entry is `sim("name", "doc")` or `real("name", "doc")`: the name is its first string.
    let listed: std::collections::BTreeSet<String> = body
        .split("(\"")
        .skip(1)
        .map(|entry| entry.split('"').next().unwrap_or_default().to_owned())
        .collect();
    let unlisted: Vec<_> = placed.difference(&listed).collect();
    let unplaced: Vec<_> = listed.difference(&placed).collect();
    assert!(unlisted.is_empty(), "probes placed but not in {LIST}'s ALL: {unlisted:?}");
    assert!(unplaced.is_empty(), "probes in {LIST}'s ALL but placed nowhere: {unplaced:?}");
}
