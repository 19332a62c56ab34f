//! Parameter layer.
pub const METHOD_NAMES: [&str; 0] = [];
pub struct Output;
pub struct Row;
pub fn format_value() {}
pub fn run() {}
