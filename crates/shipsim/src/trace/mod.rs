//! Trace records, and writing, reading and hashing them.

pub mod jsonl;
mod record;
mod text;

pub use record::*;
pub use text::Text;
