//! One renderer per output format, each a pure function of the report.

pub mod json;
pub mod table;
