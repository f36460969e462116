//! How a migration file runs: in one transaction, outside any, under its own BEGIN/COMMIT, or
//! one transaction per changeset, as the runner that applies it would do; and which part of the
//! file is the forward migration (goose and dbmate files also hold the down migration, which is
//! not checked). The decision is pure: file name and text in, a [`FilePlan`] out, with the reason.

use serde::Serialize;

pub use crate::config::{Runner, TxSetting};

/// How a file runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxMode {
    /// The whole (forward) migration in one transaction.
    OneTransaction,
    /// No transaction: each statement commits on its own.
    NoTransaction,
    /// The file's own BEGIN/COMMIT decide.
    OwnControl,
    /// One transaction per changeset (Liquibase).
    PerChangeset,
}

impl TxMode {
    /// For reports.
    pub fn as_str(self) -> &'static str {
        match self {
            TxMode::OneTransaction => "one transaction",
            TxMode::NoTransaction => "no transaction",
            TxMode::OwnControl => "its own BEGIN/COMMIT",
            TxMode::PerChangeset => "a transaction per changeset",
        }
    }
}

/// A part of a file checked as one unit: a byte range and whether it runs in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Runs inside a transaction the runner opens.
    pub transaction: bool,
}

/// How a file is checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilePlan {
    /// The file.
    pub file: String,
    /// The runner the decision follows (given, or recognised from the file's markers).
    pub runner: Option<Runner>,
    /// The mode.
    pub mode: TxMode,
    /// Why, in words.
    pub why: String,
    /// What is not checked (a down section), when something is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// The units, in order.
    #[serde(skip)]
    pub units: Vec<Unit>,
}

/// A comment line's text without `--` and surrounding spaces, lowercased, with its byte range.
fn comment_lines(text: &str) -> impl Iterator<Item = (usize, usize, String)> + '_ {
    let mut at = 0;
    text.split_inclusive('\n').filter_map(move |line| {
        let start = at;
        at += line.len();
        let t = line.trim();
        t.strip_prefix("--")
            .map(|c| (start, at, c.trim().to_ascii_lowercase()))
    })
}

/// The runner a file's own markers name.
fn recognise(text: &str) -> Option<Runner> {
    for (_, _, c) in comment_lines(text) {
        if c.starts_with("+goose") {
            return Some(Runner::Goose);
        }
        if c.starts_with("migrate:up") || c.starts_with("migrate:down") {
            return Some(Runner::Dbmate);
        }
        if c.starts_with("liquibase formatted sql") || c.starts_with("changeset ") {
            return Some(Runner::Liquibase);
        }
        if c.starts_with("atlas:") {
            return Some(Runner::Atlas);
        }
    }
    None
}

/// The first statement of `text` that PostgreSQL refuses inside a transaction block, with its
/// line and the reason.
fn first_non_transactional(stmts: &[crate::sql::RawStatement<'_>]) -> Option<(usize, String)> {
    stmts.iter().find_map(|s| {
        crate::sql::txn::needs_no_transaction(s.text).map(|why| (s.span.start.line, why))
    })
}

fn own_control(stmts: &[crate::sql::RawStatement<'_>]) -> Option<usize> {
    stmts.iter().find_map(|s| {
        matches!(
            crate::sql::txn::transaction_control(s.text),
            Some(crate::sql::txn::TxnControl::Begin)
        )
        .then_some(s.span.start.line)
    })
}

/// Decide how `file` runs. `sidecar` is the text of a Flyway `<file>.conf` next to it, if any.
pub fn plan(
    file: &str,
    text: &str,
    sidecar: Option<&str>,
    setting: TxSetting,
    runner: Option<Runner>,
) -> FilePlan {
    let whole = |transaction: bool| {
        vec![Unit {
            start: 0,
            end: text.len(),
            transaction,
        }]
    };
    let recognised = recognise(text);
    let runner_used = runner.or(recognised);
    let mut p = FilePlan {
        file: file.to_string(),
        runner: runner_used,
        mode: TxMode::OneTransaction,
        why: String::new(),
        skipped: None,
        units: whole(true),
    };
    // The forward part of goose and dbmate files.
    let (up, skipped) = match runner_used {
        Some(Runner::Goose) => section(text, "+goose up", "+goose down", "-- +goose Down"),
        Some(Runner::Dbmate) => section(text, "migrate:up", "migrate:down", "-- migrate:down"),
        _ => ((0, text.len()), None),
    };
    p.skipped = skipped;
    let body = &text[up.0..up.1];
    let split = crate::sql::split(body);
    let stmts = &split.statements;
    let unit = |transaction: bool| {
        vec![Unit {
            start: up.0,
            end: up.1,
            transaction,
        }]
    };
    let own = own_control(stmts);
    let dbkit_marker = comment_lines(body).any(|(_, _, c)| c.starts_with("dbkit:no-transaction"));
    if let Some(line) = own {
        p.mode = TxMode::OwnControl;
        p.why = format!("the file opens its own transaction (BEGIN at line {line})");
        p.units = unit(false);
        return p;
    }
    match setting {
        TxSetting::Always => {
            p.why = "--transaction always".to_string();
            p.units = unit(true);
            return p;
        }
        TxSetting::Never => {
            p.mode = TxMode::NoTransaction;
            p.why = "--transaction never".to_string();
            p.units = unit(false);
            return p;
        }
        TxSetting::Auto => {}
    }
    if dbkit_marker {
        p.mode = TxMode::NoTransaction;
        p.why = "-- dbkit:no-transaction".to_string();
        p.units = unit(false);
        return p;
    }
    let no_tx = |p: &mut FilePlan, why: String| {
        p.mode = TxMode::NoTransaction;
        p.why = why;
        p.units = unit(false);
    };
    match runner_used {
        Some(Runner::Goose) => {
            if comment_lines(text).any(|(_, _, c)| c.starts_with("+goose no transaction")) {
                no_tx(&mut p, "-- +goose NO TRANSACTION".to_string());
            } else {
                p.why = "goose runs each migration in a transaction".to_string();
                p.units = unit(true);
            }
        }
        Some(Runner::Dbmate) => {
            let off = comment_lines(text).any(|(_, _, c)| {
                c.starts_with("migrate:up") && c.replace(' ', "").contains("transaction:false")
            });
            if off {
                no_tx(&mut p, "-- migrate:up transaction:false".to_string());
            } else {
                p.why = "dbmate runs each migration in a transaction".to_string();
                p.units = unit(true);
            }
        }
        Some(Runner::Atlas) => {
            let none = comment_lines(text).any(|(_, _, c)| {
                c.starts_with("atlas:txmode") && c.split_whitespace().nth(1) == Some("none")
            });
            if none {
                no_tx(&mut p, "-- atlas:txmode none".to_string());
            } else {
                p.why = "Atlas runs each file in a transaction".to_string();
                p.units = unit(true);
            }
        }
        Some(Runner::Liquibase) => {
            p.mode = TxMode::PerChangeset;
            p.units = changesets(text);
            let off = p.units.iter().filter(|u| !u.transaction).count();
            p.why = format!(
                "Liquibase runs each of the {} changeset(s) in its own transaction{}",
                p.units.len(),
                if off > 0 {
                    format!(" ({off} with runInTransaction:false)")
                } else {
                    String::new()
                }
            );
        }
        Some(Runner::Flyway) => {
            let conf_off = sidecar.is_some_and(|c| {
                c.lines().any(|l| {
                    l.replace(' ', "").eq_ignore_ascii_case("executeintransaction=false")
                })
            });
            if conf_off {
                no_tx(&mut p, format!("executeInTransaction=false in {file}.conf"));
            } else if let Some((line, why)) = first_non_transactional(stmts) {
                no_tx(&mut p, format!("Flyway runs a file outside a transaction when a statement needs it: line {line}, {why}"));
            } else {
                p.why = "Flyway runs each migration in a transaction".to_string();
            }
        }
        Some(Runner::GolangMigrate) => {
            let n = stmts.len();
            if n <= 1 {
                no_tx(&mut p, "golang-migrate sends a one-statement file alone".to_string());
            } else {
                p.why = format!("golang-migrate sends the {n} statements as one query, which PostgreSQL runs as one implicit transaction");
            }
        }
        Some(Runner::Sqitch) => no_tx(
            &mut p,
            "sqitch runs deploy scripts with psql, which commits each statement unless the script says BEGIN".to_string(),
        ),
        Some(Runner::Psql) => no_tx(
            &mut p,
            "psql commits each statement unless the file says BEGIN".to_string(),
        ),
        Some(r @ (Runner::Rails | Runner::Django)) => {
            p.why = format!("{r} runs each migration in a transaction");
        }
        None => {
            if let Some((line, why)) = first_non_transactional(stmts) {
                no_tx(
                    &mut p,
                    format!("line {line}: {why}, so the file is taken to run outside one"),
                );
            } else {
                p.why = "no marker: taken to run in one transaction, as most runners do".to_string();
            }
        }
    }
    p
}

/// The byte range of the section that starts after a comment line beginning with `open` and ends
/// at one beginning with `close` (the whole file when there is no `open` line), and what is left
/// out.
fn section(text: &str, open: &str, close: &str, shown: &str) -> ((usize, usize), Option<String>) {
    let mut start = None;
    let mut end = text.len();
    for (s, e, c) in comment_lines(text) {
        if start.is_none() && c.starts_with(open) {
            start = Some(e);
        } else if start.is_some() && c.starts_with(close) {
            end = s;
            break;
        }
    }
    match start {
        Some(s) => (
            (s, end.max(s)),
            (end < text.len()).then(|| format!("the down section (from {shown})")),
        ),
        None => ((0, text.len()), None),
    }
}

/// Liquibase formatted SQL: one unit per `--changeset` (the text before the first is a unit in
/// a transaction too).
fn changesets(text: &str) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    let mut cur = Unit {
        start: 0,
        end: text.len(),
        transaction: true,
    };
    for (s, _, c) in comment_lines(text) {
        if let Some(rest) = c.strip_prefix("changeset") {
            cur.end = s;
            if cur.end > cur.start {
                units.push(cur.clone());
            }
            cur = Unit {
                start: s,
                end: text.len(),
                transaction: !rest.replace(' ', "").contains("runintransaction:false"),
            };
        }
    }
    units.push(cur);
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str, runner: Option<Runner>) -> FilePlan {
        plan("m.sql", text, None, TxSetting::Auto, runner)
    }

    #[test]
    fn auto_reads_markers_and_statements() {
        assert_eq!(
            p("ALTER TABLE t ADD c int;", None).mode,
            TxMode::OneTransaction
        );
        let c = p("CREATE INDEX CONCURRENTLY i ON t (a);", None);
        assert_eq!(c.mode, TxMode::NoTransaction);
        assert!(c.why.contains("line 1"), "{}", c.why);
        assert_eq!(
            p("BEGIN;\nALTER TABLE t ADD c int;\nCOMMIT;", None).mode,
            TxMode::OwnControl
        );
        assert_eq!(
            p("-- dbkit:no-transaction\nALTER TABLE t ADD c int;", None).mode,
            TxMode::NoTransaction
        );
    }

    #[test]
    fn goose_up_section_and_no_transaction() {
        let text =
            "-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- +goose Down\nDROP INDEX i;\n";
        let g = p(text, None);
        assert_eq!(g.runner, Some(Runner::Goose));
        // goose would run it in a transaction and fail: no auto-detection for goose files.
        assert_eq!(g.mode, TxMode::OneTransaction);
        assert!(g.skipped.is_some());
        assert_eq!(
            &text[g.units[0].start..g.units[0].end],
            "CREATE INDEX CONCURRENTLY i ON t (a);\n"
        );
        let text =
            "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);\n";
        assert_eq!(p(text, None).mode, TxMode::NoTransaction);
    }

    #[test]
    fn dbmate_atlas_liquibase() {
        let d = p("-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n-- migrate:down\nDROP INDEX i;\n", None);
        assert_eq!(
            (d.runner, d.mode),
            (Some(Runner::Dbmate), TxMode::NoTransaction)
        );
        let a = p(
            "-- atlas:txmode none\nCREATE INDEX CONCURRENTLY i ON t (a);",
            None,
        );
        assert_eq!(a.mode, TxMode::NoTransaction);
        let l = p("--liquibase formatted sql\n--changeset a:1\nALTER TABLE t ADD c int;\n--changeset a:2 runInTransaction:false\nCREATE INDEX CONCURRENTLY i ON t (c);\n", None);
        assert_eq!(l.mode, TxMode::PerChangeset);
        let tx: Vec<bool> = l.units.iter().map(|u| u.transaction).collect();
        assert_eq!(tx, [true, true, false]);
    }

    #[test]
    fn explicit_runners() {
        let cic = "CREATE INDEX CONCURRENTLY i ON t (a);";
        assert_eq!(p(cic, Some(Runner::Rails)).mode, TxMode::OneTransaction);
        assert_eq!(p(cic, Some(Runner::Flyway)).mode, TxMode::NoTransaction);
        assert_eq!(
            p(cic, Some(Runner::GolangMigrate)).mode,
            TxMode::NoTransaction
        );
        assert_eq!(
            p(
                "SELECT 1;\nCREATE INDEX CONCURRENTLY i ON t (a);",
                Some(Runner::GolangMigrate)
            )
            .mode,
            TxMode::OneTransaction
        );
        assert_eq!(
            p("ALTER TABLE t ADD c int;", Some(Runner::Psql)).mode,
            TxMode::NoTransaction
        );
        let f = plan(
            "V1__x.sql",
            "ALTER TABLE t ADD c int;",
            Some("executeInTransaction=false\n"),
            TxSetting::Auto,
            Some(Runner::Flyway),
        );
        assert_eq!(f.mode, TxMode::NoTransaction);
        assert_eq!(
            plan("m.sql", cic, None, TxSetting::Always, None).mode,
            TxMode::OneTransaction
        );
        assert_eq!(
            plan(
                "m.sql",
                "ALTER TABLE t ADD c int;",
                None,
                TxSetting::Never,
                None
            )
            .mode,
            TxMode::NoTransaction
        );
    }
}
