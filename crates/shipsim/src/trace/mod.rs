//! Trace records, and writing, reading and hashing them.

pub mod jsonl;
pub mod load;
mod record;
mod text;

pub use record::*;
pub use text::Text;
