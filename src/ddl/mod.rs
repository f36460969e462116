//! Generating DDL: every statement quotes identifiers correctly and parses again.

pub mod index;
pub mod partition;
pub mod table;
