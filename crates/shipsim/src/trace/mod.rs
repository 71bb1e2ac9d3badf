//! Trace records, and writing, reading and hashing them.

pub mod jsonl;
mod record;

pub use record::*;
