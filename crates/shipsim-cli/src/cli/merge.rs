//! `shipsim merge`: the shards of a sweep run apart (`explore --shard i/n --report-out FILE`,
//! on CI jobs or machines of their own), put back together: one report and one ledger, those of
//! the whole sweep (docs/exploring.md, "Sharding a sweep").

use std::path::PathBuf;

use clap::Args;
use shipsim::ShardReport;

use super::ExitStatus;
use super::stdout::out;

/// Options of `shipsim merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// The shards' report files (`explore --report-out`).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write the merged report and ledger as JSON (another merge can read it).
    #[arg(long, value_name = "FILE")]
    pub report_out: Option<PathBuf>,
}

/// `shipsim merge`: exit 0 no shard failed, 1 a failure, 2 a file that does not load or
/// does not belong with the others.
pub(crate) fn merge(args: &MergeArgs) -> ExitStatus {
    let mut reports = Vec::new();
    for path in &args.files {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) => {
                eprintln!("error: {}: {err}", path.display());
                return ExitStatus::BadInput;
            }
        };
        match ShardReport::from_json(&text) {
            Ok(report) => reports.push(report),
            Err(err) => {
                eprintln!("error: {}:{err}", path.display());
                return ExitStatus::BadInput;
            }
        }
    }
    let merged = match ShardReport::merge(&reports) {
        Ok(merged) => merged,
        Err(err) => {
            eprintln!("error: {err} (reports in the order of the files given)");
            return ExitStatus::BadInput;
        }
    };
    out!("{}", merged.render());
    out!("{}", merged.ledger().render());
    out!("{}", merged.faults.render());
    if let Some(path) = &args.report_out
        && let Err(err) = std::fs::write(path, merged.to_json())
    {
        eprintln!("error: cannot write {}: {err}", path.display());
        return ExitStatus::BadInput;
    }
    if merged.failures.is_empty() { ExitStatus::Pass } else { ExitStatus::Fail }
}
