//! The SQL layer: lexing, splitting files into statements with exact spans, parsing with
//! sqlparser's PostgreSQL dialect, fingerprints, classification, and what statements reference.
//!
//! Everything here is synchronous and pure; readers take `&str` (see [`span::check_utf8`] for
//! bytes).

pub(crate) mod bound;
pub mod classify;
pub mod extract;
pub mod fingerprint;
pub mod ident;
pub(crate) mod lexer;
pub mod parse;
pub mod report;
pub mod side_effects;
pub mod span;
pub mod split;
pub mod txn;

pub use classify::{classify, Classification, StatementKind};
pub use fingerprint::{fingerprint, Fingerprint};
pub use parse::{analyze, parse_statement, AnalyzedStatement};
pub use split::{split, RawStatement, Split};

/// Errors of the SQL layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SqlError {
    /// A statement the parser cannot read (or will not: over dbkit's size or nesting bounds),
    /// with the parser's message.
    #[error("{0}")]
    Parse(String),
    /// The input is not UTF-8.
    #[error("input is not valid UTF-8 at line {line}, column {column} (byte offset {offset})")]
    InvalidUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
        /// Its line.
        line: usize,
        /// Its column.
        column: usize,
    },
}
