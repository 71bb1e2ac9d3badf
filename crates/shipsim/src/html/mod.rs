//! A run as a self-contained HTML space-time diagram: [`layout`] turns trace records into lanes,
//! arrows and marks; [`render`] draws them as inline SVG with a little CSS and JavaScript.

pub mod layout;
pub mod render;

pub use layout::Layout;

use crate::trace::Record;

/// The HTML page of a run's records.
pub fn page(records: &[Record]) -> String {
    render::render(&Layout::of(records))
}
