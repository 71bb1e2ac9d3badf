//! A run as a self-contained HTML space-time diagram: [`layout`] turns trace records into lanes,
//! arrows and marks (the coverage marks in `marks`); [`render`] draws them as inline SVG with a little CSS and JavaScript.

mod layout;
mod marks;
mod render;

pub(crate) use layout::Layout;

use shipsim_trace::Record;

/// The HTML page of a run's records.
pub fn page(records: &[Record]) -> String {
    render::render(&Layout::of(records))
}
