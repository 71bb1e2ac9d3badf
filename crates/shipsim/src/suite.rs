//! Scenario folders as `cargo test` cases: one case per scenario file and seed, on any
//! transport, for a user's own `tests/` (and for the workspace's `sims/`).
//!
//! A test target declared with `harness = false` in the user's `Cargo.toml`
//!
//! ```toml
//! [[test]]
//! name = "scenarios"
//! harness = false
//! ```
//!
//! whose `main` (in `tests/scenarios.rs`) is the single line
//!
//! ```no_run
//! shipsim::Suite::new().dir("tests/scenarios").run();
//! ```
//!
//! gets, for each `.yaml`/`.yml` file of the folder and the folders below it (sorted by path):
//! - `<scenario>::seed-<N>` for each of the file's `seeds`: runs it and checks every invariant;
//!   a failure prints the run's report, writes a repro under the failures folder and prints
//!   the command that replays it;
//! - `<scenario>::deterministic`: runs the first seed twice and compares the traces byte for
//!   byte;
//! - `<file stem>::loads`, instead of the above, when the file does not load: it fails with
//!   the load error (file, line, column).
//!
//! Each file runs on the transport its `transport.kind` names (TCP when it names none), or on
//! the one [`Suite::transport`] gives. [`Suite::each_transport`] runs each file on every
//! bundled transport instead (a file that names its kind, on that one only), and the case
//! names say which: `<scenario>::<kind>::seed-<N>`, `<scenario>::<kind>::deterministic`. A
//! failing case's repro names its transport, so its replay command reruns that very case.
//!
//! A scenario the transport cannot run (it needs a capability the factory lacks, such as
//! dropping routes) gets its cases *ignored* with the reason, never passed.
//!
//! Environment, read when the cases are built:
//! - `SHIPSIM_SEED=N` runs seed N instead of each file's `seeds`;
//! - `SHIPSIM_SEEDS=N` runs seeds 1..=N of every file (a nightly sweep).
//!
//! libtest's own arguments work as usual: `cargo test --test sims -- partition-heal` runs one
//! scenario's cases.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use libtest_mimic::{Arguments, Completion, Conclusion, Failed, Trial};

use crate::Simulation;
use crate::report;
use crate::repro;
use crate::scenario::{Scenario, TransportKind};
use crate::search::ledger::Ledger;
use crate::sim::RunError;
use crate::transport::TransportFactory;
use crate::transport::kinds;

/// The scenario folders of a test target and the transport their cases run on.
#[derive(Clone)]
pub struct Suite {
    dirs: Vec<PathBuf>,
    /// The transport `.transport` gave, for every case; `None`: each file's `transport.kind`.
    /// `shipsim replay` runs only the bundled transports, so a failure on a given one says
    /// how to rerun its own case instead.
    factory: Option<Arc<dyn TransportFactory>>,
    failures: Option<PathBuf>,
    base: Option<PathBuf>,
    seeds: Option<Vec<u64>>,
    /// Each file on every bundled transport ([`Suite::each_transport`]).
    each_transport: bool,
    /// Whether a probe no case reached fails the run ([`Suite::coverage`]).
    coverage: bool,
    /// The probes the cases reached so far.
    ledger: Arc<Mutex<Ledger>>,
}

impl Default for Suite {
    fn default() -> Self {
        Self::new()
    }
}

impl Suite {
    /// No folders yet; each file will run on the transport its `transport.kind` names
    /// (shipper-net's TCP when it names none), its cases named `<scenario>::seed-<N>` and
    /// `<scenario>::deterministic`.
    pub fn new() -> Self {
        Suite {
            dirs: Vec::new(),
            factory: None,
            failures: None,
            base: None,
            seeds: None,
            each_transport: false,
            coverage: false,
            ledger: Arc::default(),
        }
    }

    /// Adds the scenario files of `dir`. A relative path is taken as cargo runs tests: from
    /// the package's folder. A folder that does not exist is one failing case
    /// (`<dir>::exists`): a mistyped path must not make a green suite of no cases.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dirs.push(dir.into());
        self
    }

    /// Runs the cases on the transports `factory` builds instead, whatever each file's
    /// `transport.kind` (and [`Suite::each_transport`] with it: there is one transport).
    pub fn transport(mut self, factory: impl TransportFactory) -> Self {
        self.factory = Some(Arc::new(factory));
        self
    }

    /// Runs each file on every bundled transport ([`TransportKind::ALL`]), so one folder of
    /// scenarios tests them all; a file whose `transport.kind` is written runs on that one
    /// only (it is about that transport). The case names carry the kind:
    /// `<scenario>::<kind>::seed-<N>` and `<scenario>::<kind>::deterministic`, so
    /// `cargo test -- ::grpc::` runs one transport's cases.
    pub fn each_transport(mut self) -> Self {
        self.each_transport = true;
        self
    }

    /// Fails the run, naming each one, when a probe placed in the code under test
    /// (`shipper::probes::ALL`) is reached by no case: an unreachable probe is dead code or a
    /// hole in the fault model. Checked only when every case ran and passed (no filter, no
    /// failure) and the build counts probes (shipsim's `probes` feature).
    pub fn coverage(mut self) -> Self {
        self.coverage = true;
        self
    }

    /// Writes failure repros under `dir` instead of `target/shipsim/failures` (relative to
    /// `CARGO_TARGET_DIR` when it is set).
    pub fn failures(mut self, dir: impl Into<PathBuf>) -> Self {
        self.failures = Some(dir.into());
        self
    }

    /// Runs `seeds` for every file instead of each file's own `seeds` (`SHIPSIM_SEED` and
    /// `SHIPSIM_SEEDS` still win, so a nightly sweep can widen any suite).
    pub fn seeds(mut self, seeds: impl IntoIterator<Item = u64>) -> Self {
        self.seeds = Some(seeds.into_iter().collect());
        self
    }

    /// Shows scenario paths relative to `base` in reports (they are shown as given otherwise).
    pub fn relative_to(mut self, base: impl Into<PathBuf>) -> Self {
        self.base = Some(base.into());
        self
    }

    /// The cases of every folder (and the folders below it), in folder order, then path order.
    /// A bad `SHIPSIM_SEED` or `SHIPSIM_SEEDS` is one failing case that says so, never a
    /// silently ignored setting.
    pub fn trials(&self) -> Vec<Trial> {
        match Seeds::from_env() {
            Ok(seeds) => self.trials_under(seeds),
            Err(message) => vec![Trial::test("environment::seeds", move || Err(message.into()))],
        }
    }

    /// The cases with `env` standing for what the environment asks.
    fn trials_under(&self, env: Seeds) -> Vec<Trial> {
        let seeds = env.or(self.seeds.clone());
        let mut trials = Vec::new();
        let mut names: BTreeMap<String, PathBuf> = BTreeMap::new();
        for dir in &self.dirs {
            if !dir.is_dir() {
                let message = format!("no scenario folder {}", dir.display());
                trials
                    .push(Trial::test(format!("{}::exists", self.display(dir)), move || Err(message.into())));
                continue;
            }
            for path in scenario_files(dir) {
                trials.extend(self.trials_for(&path, &seeds, &mut names));
            }
        }
        trials
    }

    /// Parses libtest's arguments from the command line, runs the cases and exits with
    /// libtest's status.
    pub fn run(&self) -> ! {
        self.run_with(&Arguments::from_args()).exit()
    }

    /// Runs the cases under `args` and returns how it went.
    pub fn run_with(&self, args: &Arguments) -> Conclusion {
        let mut conclusion = libtest_mimic::run(args, self.trials());
        let whole = args.filter.is_none() && args.skip.is_empty() && !args.ignored && !args.list;
        if self.coverage && whole && conclusion.num_failed == 0 && shipper::probes::ENABLED {
            let ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
            let never = ledger.never_reached();
            if !never.is_empty() {
                eprintln!(
                    "coverage: {} probe(s) reached by no case of the suite: {}\n(each is dead code or a hole \
                     in the fault model: add a scenario that reaches it, or remove it)",
                    never.len(),
                    never.join(", ")
                );
                conclusion.num_failed += 1;
            }
        }
        conclusion
    }

    /// The cases of one file; `names` maps each scenario name seen so far to its file, since
    /// two files of one name would give cases of the same names.
    fn trials_for(&self, path: &Path, seeds: &Seeds, names: &mut BTreeMap<String, PathBuf>) -> Vec<Trial> {
        let shown = self.display(path);
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let scenario = match crate::load(path) {
            Ok(scenario) => scenario,
            Err(err) => {
                let message = err.to_string();
                return vec![Trial::test(format!("{stem}::loads"), move || Err(message.into()))];
            }
        };
        if let Some(first) = names.insert(scenario.name.clone(), path.to_path_buf()) {
            let message = format!(
                "two scenario files are named `{}`: {} and {}; give each its own `name`",
                scenario.name,
                self.display(&first),
                shown
            );
            return vec![Trial::test(format!("{}::unique-name", scenario.name), move || Err(message.into()))];
        }
        let mut trials = Vec::new();
        for (prefix, scenario, factory) in self.runs_of(scenario) {
            for seed in seeds.of(&scenario) {
                let case = Case {
                    name: format!("{prefix}::seed-{seed}"),
                    scenario: scenario.clone(),
                    shown: shown.clone(),
                    factory: factory.clone(),
                    failures: self.failures_dir(),
                    custom: self.factory.is_some(),
                    ledger: self.ledger.clone(),
                };
                trials.push(Trial::ignorable_test(case.name.clone(), move || case.run(seed)));
            }
            // The file's first seed: the determinism case does not move with a sweep.
            let seed = scenario.seeds.first().copied().unwrap_or(1);
            let name = format!("{prefix}::deterministic");
            trials.push(Trial::ignorable_test(name, move || deterministic(&scenario, seed, &factory)));
        }
        trials
    }

    /// The runs a loaded file makes: its case-name prefix, the scenario as run and the
    /// transport. Under [`Suite::each_transport`] each run's scenario names its kind, so its
    /// repros replay on it.
    fn runs_of(&self, scenario: Scenario) -> Vec<(String, Scenario, Arc<dyn TransportFactory>)> {
        if let Some(factory) = &self.factory {
            return vec![(scenario.name.clone(), scenario, factory.clone())];
        }
        if !self.each_transport {
            let factory = kinds::scenario_factory(&scenario);
            return vec![(scenario.name.clone(), scenario, factory)];
        }
        let on_kinds = match scenario.transport.kind {
            Some(kind) => vec![kind],
            None => TransportKind::ALL.to_vec(),
        };
        on_kinds
            .into_iter()
            .map(|kind| {
                let mut on = scenario.clone();
                on.transport.kind = Some(kind);
                (format!("{}::{kind}", scenario.name), on, kinds::factory_for(kind))
            })
            .collect()
    }

    fn display(&self, path: &Path) -> String {
        let base = self.base.as_deref();
        base.and_then(|b| path.strip_prefix(b).ok()).unwrap_or(path).display().to_string()
    }

    fn failures_dir(&self) -> PathBuf {
        self.failures.clone().unwrap_or_else(|| target_dir().join("shipsim/failures"))
    }
}

/// Which seeds each file runs: its own, or the environment's override.
enum Seeds {
    Own,
    One(u64),
    Sweep(u64),
    Given(Vec<u64>),
}

impl Seeds {
    fn from_env() -> Result<Self, String> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The seeds `var` (the environment, or a test's stand-in) asks for; `Err` names a value
    /// that is not a whole number.
    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let number =
            |name: &str| match var(name) {
                None => Ok(None),
                Some(text) => text.trim().parse::<u64>().map(Some).map_err(|_| {
                    format!("{name}={text:?} is not a seed: give a whole number (e.g. {name}=42)")
                }),
            };
        Ok(match (number("SHIPSIM_SEED")?, number("SHIPSIM_SEEDS")?) {
            (Some(seed), _) => Seeds::One(seed),
            (None, Some(n)) => Seeds::Sweep(n),
            (None, None) => Seeds::Own,
        })
    }

    /// The environment's choice, else the suite's own list, else each file's seeds.
    fn or(self, given: Option<Vec<u64>>) -> Self {
        match (self, given) {
            (Seeds::Own, Some(seeds)) => Seeds::Given(seeds),
            (seeds, _) => seeds,
        }
    }

    fn of(&self, scenario: &Scenario) -> Vec<u64> {
        match self {
            Seeds::Own => scenario.seeds.clone(),
            Seeds::One(seed) => vec![*seed],
            Seeds::Sweep(n) => (1..=*n).collect(),
            Seeds::Given(seeds) => seeds.clone(),
        }
    }
}

/// The `.yaml`/`.yml` files of `dir` and of the folders below it, sorted by path so the case
/// list is stable.
fn scenario_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// One seed's case: what it needs, owned, since libtest runs it on a thread of its own.
struct Case {
    /// The case's name, as libtest filters it.
    name: String,
    scenario: Scenario,
    shown: String,
    factory: Arc<dyn TransportFactory>,
    failures: PathBuf,
    /// Run on a transport given to the suite (see [`Suite::transport`]), which `shipsim
    /// replay` cannot run.
    custom: bool,
    /// Where the probes the run reached are counted.
    ledger: Arc<Mutex<Ledger>>,
}

impl Case {
    fn run(&self, seed: u64) -> Result<Completion, Failed> {
        let result = match Simulation::with_factory(&self.scenario, self.factory.clone()).run(seed) {
            Ok(result) => result,
            Err(err) => return outcome(err).map_err(|e| format!("{} seed {seed}: {e}", self.shown).into()),
        };
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner).add(seed, result.probes.keys());
        if result.passed() {
            return Ok(Completion::Completed);
        }
        let mut message = report::render(&self.shown, seed, &result, std::time::Duration::ZERO);
        // The failure's repro: the scenario with this seed only.
        match repro::write(&self.failures, &self.scenario, seed, result.violations.first(), &[]) {
            // `shipsim replay` runs shipsim's own transports: on another one, rerun this case.
            Ok(path) if self.custom => message.push_str(&format!(
                "repro: {}\nrerun: SHIPSIM_SEED={seed} cargo test -- '{}' \
                 (`shipsim replay` would run shipsim's own transport, not this one)\n",
                path.display(),
                self.name
            )),
            Ok(path) => message.push_str(&format!(
                "repro: {}\nreplay: {}\n",
                path.display(),
                repro::replay_command(&path)
            )),
            Err(err) => message.push_str(&format!("(cannot write the repro: {err})\n")),
        }
        Err(message.into())
    }
}

fn deterministic(
    scenario: &Scenario,
    seed: u64,
    factory: &Arc<dyn TransportFactory>,
) -> Result<Completion, Failed> {
    match Simulation::with_factory(scenario, factory.clone()).check_determinism(seed) {
        Ok(_) => Ok(Completion::Completed),
        Err(err) => outcome(err).map_err(|e| e.into()),
    }
}

/// A run that did not happen: ignored, with the reason, when the transport lacks what the
/// scenario needs (it is not a pass); an error otherwise.
fn outcome(err: RunError) -> Result<Completion, String> {
    match err {
        RunError::Unsupported(why) => Ok(Completion::ignored_with(why)),
        err => Err(err.to_string()),
    }
}

/// The target folder the running test binary was built into: `CARGO_TARGET_DIR` when set,
/// else the binary's `target/<profile>/deps/` two levels up (a workspace member's tests run in
/// its own folder, not in the workspace's, so `target` relative to it would be wrong).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().ok();
    exe.as_deref()
        .and_then(|exe| exe.ancestors().nth(3))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::tcp::TcpFactory;
    use crate::transport::{Capabilities, LifeContext, NodeTransport};

    /// The TCP transport without the capability to drop routes.
    struct NoRoutes;

    impl TransportFactory for NoRoutes {
        fn build(&self, life: &LifeContext<'_>) -> Arc<dyn NodeTransport> {
            TcpFactory.build(life)
        }

        fn capabilities(&self) -> Capabilities {
            Capabilities { routes: false, ..TcpFactory.capabilities() }
        }
    }

    const SMALL: &str = "name: tiny\nseeds: [4, 2]\nnodes: [solo]\nduration: 2s\n\
                         workload:\n  events: 20\n  rate: 100/s\nexpect:\n  settle: 2s\n";

    /// A fresh folder under the system's temporary one, holding `files`.
    fn folder(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("shipsim-suite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        dir
    }

    fn bundled() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
    }

    /// One thread, and the output in `dir`'s `libtest.log`: a nested run's expected failures
    /// must not show in the real run's output.
    fn quiet(dir: &Path) -> Arguments {
        let logfile = Some(dir.join("libtest.log").display().to_string());
        Arguments { test_threads: Some(1), logfile, ..Arguments::default() }
    }

    fn log(dir: &Path) -> String {
        std::fs::read_to_string(dir.join("libtest.log")).unwrap()
    }

    /// Runs the suite's cases as if the environment named no seeds (a sweep's `SHIPSIM_SEEDS`
    /// must not change what these tests expect).
    fn conclude(suite: &Suite, dir: &Path) -> Conclusion {
        libtest_mimic::run(&quiet(dir), suite.trials_under(Seeds::Own))
    }

    fn names(trials: &[Trial]) -> Vec<&str> {
        trials.iter().map(Trial::name).collect()
    }

    #[test]
    fn a_seed_that_is_not_a_number_is_an_error_not_ignored() {
        let vars = |seed: &'static str, seeds: &'static str| {
            move |name: &str| match name {
                "SHIPSIM_SEED" if !seed.is_empty() => Some(seed.to_owned()),
                "SHIPSIM_SEEDS" if !seeds.is_empty() => Some(seeds.to_owned()),
                _ => None,
            }
        };
        let err = Seeds::from_vars(vars("4x", "")).err().expect("an error");
        assert_eq!(err, "SHIPSIM_SEED=\"4x\" is not a seed: give a whole number (e.g. SHIPSIM_SEED=42)");
        let err = Seeds::from_vars(vars("", "-3")).err().expect("an error");
        assert!(err.starts_with("SHIPSIM_SEEDS=\"-3\" is not a seed"), "{err}");
        assert!(matches!(Seeds::from_vars(vars("7", "")), Ok(Seeds::One(7))));
        assert!(matches!(Seeds::from_vars(vars("", "20")), Ok(Seeds::Sweep(20))));
        assert!(matches!(Seeds::from_vars(vars("", "")), Ok(Seeds::Own)));
    }

    #[test]
    fn two_files_of_one_name_are_an_error_naming_both() {
        let dir = folder("dup", &[("a.yaml", SMALL), ("b.yaml", SMALL)]);
        let trials = Suite::new().dir(&dir).trials_under(Seeds::Own);
        assert_eq!(
            names(&trials),
            ["tiny::seed-4", "tiny::seed-2", "tiny::deterministic", "tiny::unique-name"]
        );
        let conclusion = conclude(&Suite::new().dir(&dir), &dir);
        assert_eq!(conclusion.num_failed, 1);
        let log = log(&dir);
        assert!(log.contains("two scenario files are named `tiny`"), "{log}");
        assert!(log.contains("a.yaml") && log.contains("b.yaml"), "{log}");
    }

    #[test]
    fn folders_below_a_suite_folder_are_walked() {
        let dir = folder("nested", &[("top.yaml", SMALL)]);
        std::fs::create_dir_all(dir.join("deeper/still")).unwrap();
        std::fs::write(dir.join("deeper/still/low.yaml"), SMALL.replace("tiny", "low")).unwrap();
        let trials = Suite::new().dir(&dir).trials_under(Seeds::Own);
        assert_eq!(
            names(&trials),
            [
                "low::seed-4",
                "low::seed-2",
                "low::deterministic",
                "tiny::seed-4",
                "tiny::seed-2",
                "tiny::deterministic"
            ]
        );
    }

    #[test]
    fn each_file_gives_a_case_per_seed_and_a_determinism_case_in_file_order() {
        let dir =
            folder("names", &[("b.yaml", SMALL), ("a.yml", &SMALL.replace("tiny", "first")), ("x.txt", "")]);
        let trials = Suite::new().dir(&dir).trials_under(Seeds::Own);
        let expected = [
            "first::seed-4",
            "first::seed-2",
            "first::deterministic",
            "tiny::seed-4",
            "tiny::seed-2",
            "tiny::deterministic",
        ];
        assert_eq!(names(&trials), expected);
    }

    #[test]
    fn a_file_that_does_not_load_is_a_failing_case_naming_the_line() {
        let dir = folder("bad", &[("broken.yaml", "name: broken\nseeds: [1]\nnodes: [a]\nduration: soon\n")]);
        let suite = Suite::new().dir(&dir);
        assert_eq!(names(&suite.trials()), ["broken::loads"]);
        let conclusion = conclude(&suite, &dir);
        assert_eq!((conclusion.num_failed, conclusion.num_passed), (1, 0));
        let log = log(&dir);
        assert!(log.contains("broken.yaml:4:11: invalid duration `soon`"), "{log}");
    }

    #[test]
    fn passing_cases_pass_and_a_missing_folder_is_a_failing_case() {
        let dir = folder("pass", &[("tiny.yaml", SMALL)]);
        let conclusion = conclude(&Suite::new().dir(&dir), &dir);
        assert_eq!((conclusion.num_passed, conclusion.num_failed, conclusion.num_ignored), (3, 0, 0));
        let conclusion = conclude(&Suite::new().dir(&dir).dir(dir.join("absent")), &dir);
        assert_eq!((conclusion.num_passed, conclusion.num_failed, conclusion.num_ignored), (3, 1, 0));
        assert!(log(&dir).contains("no scenario folder"), "{}", log(&dir));
    }

    #[test]
    fn a_scenario_the_transport_cannot_run_is_ignored_not_passed() {
        let dir = folder("unsupported", &[]);
        std::fs::copy(bundled().join("stale-route.yaml"), dir.join("stale-route.yaml")).unwrap();
        let conclusion = conclude(&Suite::new().dir(&dir).transport(NoRoutes), &dir);
        assert_eq!((conclusion.num_passed, conclusion.num_failed, conclusion.num_ignored), (0, 0, 4));
        let log = log(&dir);
        let seed_1 = log.lines().find(|l| l.contains("stale-route::seed-1")).unwrap_or_default();
        assert!(seed_1.contains("ignored (the transport cannot drop or restore routes"), "{log}");
    }

    #[test]
    fn a_failing_case_writes_its_repro_under_the_failures_folder() {
        // Every event must arrive within a tick of the run's end: the settle phase cannot make it.
        let late = SMALL.replace("settle: 2s", "settle: 1ms").replace("events: 20", "events: 400");
        let dir = folder("fail", &[("late.yaml", &late)]);
        let failures = dir.join("failures");
        let case = Case {
            name: "tiny::seed-2".into(),
            scenario: crate::load(&dir.join("late.yaml")).unwrap(),
            shown: "late.yaml".into(),
            factory: Arc::new(TcpFactory),
            failures: failures.clone(),
            custom: false,
            ledger: Arc::default(),
        };
        let message = case.run(2).err().expect("the case fails").message().unwrap_or_default().to_string();
        assert!(message.contains("late.yaml") && message.contains("replay: shipsim replay"), "{message}");
        assert_eq!(std::fs::read_dir(&failures).unwrap().count(), 1);
        // On another transport `shipsim replay` would run the wrong one: the message says how
        // to rerun this very case instead.
        let custom = Case { custom: true, ..case };
        let message = custom.run(2).err().expect("the case fails").message().unwrap_or_default().to_string();
        assert!(message.contains("rerun: SHIPSIM_SEED=2 cargo test -- 'tiny::seed-2'"), "{message}");
        assert!(!message.contains("replay: shipsim replay"), "{message}");
    }

    #[test]
    fn each_transport_names_the_kind_and_a_file_that_names_its_kind_runs_on_it_only() {
        let grpc = SMALL
            .replace("tiny", "first")
            .replace("duration: 2s\n", "duration: 2s\ntransport: {kind: grpc}\n");
        let dir = folder("kinds", &[("b.yaml", SMALL), ("a.yaml", &grpc)]);
        let trials = Suite::new().dir(&dir).each_transport().trials_under(Seeds::Own);
        let expected = [
            "first::grpc::seed-4",
            "first::grpc::seed-2",
            "first::grpc::deterministic",
            "tiny::tcp::seed-4",
            "tiny::tcp::seed-2",
            "tiny::tcp::deterministic",
            "tiny::grpc::seed-4",
            "tiny::grpc::seed-2",
            "tiny::grpc::deterministic",
        ];
        assert_eq!(names(&trials), expected);
        // Without it, each file on its own kind, the names as they always were.
        let trials = Suite::new().dir(&dir).trials_under(Seeds::Own);
        let plain: Vec<&str> = names(&trials);
        assert_eq!(plain[..3], ["first::seed-4", "first::seed-2", "first::deterministic"]);
        assert_eq!(plain[3..], ["tiny::seed-4", "tiny::seed-2", "tiny::deterministic"]);
        // A given transport is the one transport: no kinds in the names.
        let given = Suite::new().dir(&dir).each_transport().transport(TcpFactory).trials_under(Seeds::Own);
        assert_eq!(names(&given), plain);
    }

    #[test]
    fn each_transport_s_failures_leave_a_repro_per_transport_that_replays_on_it() {
        let late = SMALL.replace("settle: 2s", "settle: 1ms").replace("events: 20", "events: 400");
        let dir = folder("kinds-fail", &[("late.yaml", &late)]);
        let failures = dir.join("failures");
        let suite = Suite::new().dir(&dir).each_transport().seeds([2]).failures(&failures);
        let conclusion = conclude(&suite, &dir);
        assert_eq!((conclusion.num_failed, conclusion.num_passed), (2, 2), "{}", log(&dir));
        let log = log(&dir);
        for kind in TransportKind::ALL {
            let repro = failures.join(format!("tiny-{kind}-seed-2.yaml"));
            assert_eq!(crate::load(&repro).unwrap().transport.kind, Some(kind), "{}", repro.display());
            assert!(log.contains(&format!("replay: shipsim replay {}", repro.display())), "{log}");
        }
    }

    #[test]
    fn the_environment_overrides_the_seeds() {
        let s = crate::parse(SMALL, "tiny.yaml").unwrap();
        assert_eq!(Seeds::Own.of(&s), [4, 2]);
        assert_eq!(Seeds::One(9).of(&s), [9]);
        assert_eq!(Seeds::Sweep(3).of(&s), [1, 2, 3]);
        assert_eq!(Seeds::Own.or(Some(vec![7, 8])).of(&s), [7, 8]);
        assert_eq!(Seeds::One(9).or(Some(vec![7, 8])).of(&s), [9]);
        assert_eq!(Seeds::Own.or(None).of(&s), [4, 2]);
    }

    #[test]
    fn the_suite_s_seeds_replace_each_file_s() {
        let dir = folder("seeds", &[("tiny.yaml", SMALL)]);
        let trials = Suite::new().dir(&dir).seeds(5..=6).trials_under(Seeds::Own);
        assert_eq!(names(&trials), ["tiny::seed-5", "tiny::seed-6", "tiny::deterministic"]);
    }

    #[test]
    fn repros_go_under_the_target_folder_the_test_binary_was_built_into() {
        let exe = std::env::current_exe().unwrap();
        let target = target_dir();
        assert!(
            exe.starts_with(&target) || target.is_relative(),
            "{} not under {}",
            exe.display(),
            target.display()
        );
        assert_eq!(Suite::new().failures_dir(), target.join("shipsim/failures"));
        assert_eq!(Suite::new().failures("/x").failures_dir(), Path::new("/x"));
    }

    #[test]
    fn reports_show_paths_relative_to_the_base() {
        let suite = Suite::new().relative_to("/a/b");
        assert_eq!(suite.display(Path::new("/a/b/scenarios/x.yaml")), "scenarios/x.yaml");
        assert_eq!(suite.display(Path::new("/c/x.yaml")), "/c/x.yaml");
    }
}
