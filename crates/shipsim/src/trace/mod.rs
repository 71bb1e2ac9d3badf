//! Trace records, and writing, reading and hashing them.

mod counts;
mod expect;
mod fault;
pub mod jsonl;
pub mod load;
mod record;
mod text;

pub use counts::{Counts, fmt_t};
pub use expect::{ExpectDelivery, ExpectOrdering, ExpectPlacement, ExpectStats};
pub use fault::{FaultAction, HealTarget, SettleText};
pub use record::*;
pub use text::Text;
