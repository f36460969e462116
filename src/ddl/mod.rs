//! Generating DDL: every statement quotes identifiers correctly and parses again.

pub mod convert;
pub mod index;
pub mod maintenance;
pub mod partition;
pub mod table;
