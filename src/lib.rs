//! # dbkit
//!
//! PostgreSQL operations in one tool: query tuning (EXPLAIN analysis, workload analysis, index
//! advice verified against a real planner), migration checks for CI, partition DDL, shard
//! rebalancing and replica routing. This crate is the library; the `dbkit` binary is a thin
//! CLI over it, and everything the CLI does a Rust program can do through this API.
//!
//! ## Where to start
//!
//! The crate is layered; a module imports only from layers below it.
//!
//! | layer | modules | owns |
//! |---|---|---|
//! | L0 | [`config`], [`finding`], [`calendar`], [`secret`], [`view`] | dbkit.toml, applied to every command's findings ([`config::Config::apply`]); the shared finding shape and the rule registry ([`RuleId`]: every rule of every family, with its family, severity, thresholds and explanation); calendar arithmetic; secrets kept out of messages; the renderer-neutral report view |
//! | L1 | [`catalog`], [`mapfile`] | tables, columns, indexes, foreign keys and their statistics; reading shard and routing map files |
//! | L1 | [`sql`], [`plan`], [`workload`] | splitting, parsing, fingerprints, classification, references; the EXPLAIN model (JSON and text); query-log and trace readers |
//! | L1/L2 | [`shard`], [`routing`] | the PostgreSQL-compatible shard hash, shard maps and the rebalance planner; a shard move's names, row filters, journal and comparisons (`shard::moves`); postgres_fdw, PL/Proxy and Citus SQL (`shard::export`); routing maps, the statement router and replica admission (`routing::admission`) |
//! | L2 | [`analyze`], [`advise`], [`ddl`] | rule families (one file per rule) and plan diff; index candidates and their selection under budgets (`advise::select`, over costs a caller supplies); DDL generation |
//! | L3 | [`db`], [`report`] | connections, one statement per message, dbkit's guarded transactions, scratch clusters and their interrupt cleanup, safe EXPLAIN, shard moves with logical replication (`db::logical`, the initial copy in `db::initial_copy`) (the only sqlx user); rendering, SVG charts and the built-in templates (the only tera/comfy-table user) |
//! | L4 | [`ops`] | one module per command group, each a request type and a function returning the command's typed report: explain, check, index advise/check, partition create/convert/maintain, shard move/verify/rebalance/export, route export, workload scans and workload files (logs, exports, SQL) |
//! | L5 | [`playbook`] | declarative multi-step runs from TOML files: checked at load with every problem's line, a dry run, a journal per run, resume re-checking finished steps, approval, rollback; each step calls an `ops` request |
//! | top | [`error`] | the crate-wide error: every module's error converts into it; only `db` and `ops` return it, so it sits above them |
//! | — | [`fuzzing`] | one entry point per fuzz target (`fuzz/`), shared with the regression test |
//!
//! A typical flow: bytes → [`sql::span::check_utf8`] → [`sql::report::ParseReport::build`] →
//! [`report::render`] to JSON, a table, markdown or text.
//!
//! ```
//! use dbkit::sql::{fingerprint, classify, StatementKind};
//!
//! let a = fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3)");
//! let b = fingerprint("select * from t where id in ($1) -- one id");
//! assert_eq!(a.id, b.id);
//! assert_eq!(a.normalized, "select * from t where id in ($1 /*, ... */)");
//!
//! let c = classify("SELECT * FROM orders WHERE id = 1 FOR UPDATE");
//! assert_eq!(c.kind, StatementKind::Read);
//! assert!(c.requires_primary);
//! ```
//!
//! `finding` and `view` sit in L0 beside `error` because every rule family (L2) and every report
//! (L1 to L4) produces them, and `report` (L3) renders them.

#![warn(missing_docs)]
#![warn(unnameable_types)]
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]

pub mod advise;
pub mod analyze;
pub mod calendar;
pub mod catalog;
pub mod config;
pub mod db;
pub mod ddl;
pub mod error;
pub mod finding;
pub mod fuzzing;
pub mod mapfile;
pub mod ops;
pub mod plan;
pub mod playbook;
pub mod report;
pub mod routing;
pub mod secret;
pub mod shard;
pub mod sql;
pub mod view;
pub mod workload;

pub use error::Error;

/// The tracing target of progress events: `done` of `total` steps of `what` finished, the next
/// under way (`done == total` ends it). The CLI draws them as one line on a terminal; a program can subscribe to them like
/// any tracing event.
pub const PROGRESS_TARGET: &str = "dbkit::progress";

/// Report progress of a long step (a debug event on [`PROGRESS_TARGET`]).
pub fn progress(what: &str, done: usize, total: usize) {
    tracing::debug!(target: "dbkit::progress", what, done, total);
}
pub use finding::{Family, Finding, Location, RuleId, Severity};
pub use view::Report;
