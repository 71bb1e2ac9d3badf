//! Trace records, and writing, reading and hashing them.

mod fault;
pub mod jsonl;
pub mod load;
mod record;
mod text;

pub use fault::{FaultAction, HealTarget, SettleText};
pub use record::*;
pub use text::Text;
