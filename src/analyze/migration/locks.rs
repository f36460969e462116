//! The table locks a migration statement takes, exactly as PostgreSQL takes them: the lock table
//! of the documentation (explicit locking, and each command's page) for every statement kind and
//! every `ALTER TABLE` subcommand, per server version where it changed. `tests/check_locks_pg.rs`
//! runs each kind on a real server and compares with `pg_locks`.

use super::words::{has, name, name_list, split_commas, starts};
use super::Stmt;
use serde::Serialize;
use std::fmt;

/// A table-level lock mode, weakest first (the order is the strength order of the conflict
/// table as far as "blocks more" goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LockMode {
    /// SELECT.
    AccessShare,
    /// SELECT … FOR UPDATE/SHARE.
    RowShare,
    /// INSERT, UPDATE, DELETE, MERGE.
    RowExclusive,
    /// VACUUM, ANALYZE, CREATE INDEX CONCURRENTLY, VALIDATE CONSTRAINT…: blocks other schema
    /// changes only.
    ShareUpdateExclusive,
    /// CREATE INDEX: blocks writes.
    Share,
    /// CREATE TRIGGER, ADD FOREIGN KEY: blocks writes and other SHARE ROW EXCLUSIVE.
    ShareRowExclusive,
    /// REFRESH MATERIALIZED VIEW CONCURRENTLY: blocks writes and row locks; reads continue.
    Exclusive,
    /// Most ALTER TABLE forms, DROP, TRUNCATE, VACUUM FULL, CLUSTER: blocks everything.
    AccessExclusive,
}

impl LockMode {
    /// The name the documentation uses (`ACCESS EXCLUSIVE`).
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::AccessShare => "ACCESS SHARE",
            LockMode::RowShare => "ROW SHARE",
            LockMode::RowExclusive => "ROW EXCLUSIVE",
            LockMode::ShareUpdateExclusive => "SHARE UPDATE EXCLUSIVE",
            LockMode::Share => "SHARE",
            LockMode::ShareRowExclusive => "SHARE ROW EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
        }
    }

    /// The mode from `pg_locks.mode` (`AccessExclusiveLock`).
    pub fn from_pg_locks(mode: &str) -> Option<LockMode> {
        Some(match mode {
            "AccessShareLock" => LockMode::AccessShare,
            "RowShareLock" => LockMode::RowShare,
            "RowExclusiveLock" => LockMode::RowExclusive,
            "ShareUpdateExclusiveLock" => LockMode::ShareUpdateExclusive,
            "ShareLock" => LockMode::Share,
            "ShareRowExclusiveLock" => LockMode::ShareRowExclusive,
            "ExclusiveLock" => LockMode::Exclusive,
            "AccessExclusiveLock" => LockMode::AccessExclusive,
            _ => return None,
        })
    }

    /// Whether it blocks INSERT, UPDATE and DELETE on the table (SHARE and stronger).
    pub fn blocks_writes(self) -> bool {
        self >= LockMode::Share
    }

    /// Whether it blocks plain SELECTs (ACCESS EXCLUSIVE only).
    pub fn blocks_reads(self) -> bool {
        self == LockMode::AccessExclusive
    }

    /// What it blocks, for messages.
    pub fn blocks(self) -> &'static str {
        if self.blocks_reads() {
            "every query on the table, reads included"
        } else if self.blocks_writes() {
            "inserts, updates and deletes (reads continue)"
        } else if self == LockMode::ShareUpdateExclusive {
            "other schema changes, VACUUM and ANALYZE only (reads and writes continue)"
        } else {
            "only stronger locks"
        }
    }

    /// The lock of `LOCK TABLE … IN <mode> MODE`, from the words after `IN`.
    fn from_words(w: &[String]) -> Option<LockMode> {
        let w: Vec<&str> = w.iter().map(String::as_str).take(3).collect();
        Some(match w.as_slice() {
            ["access", "share", ..] => LockMode::AccessShare,
            ["row", "share", ..] => LockMode::RowShare,
            ["row", "exclusive", ..] => LockMode::RowExclusive,
            ["share", "update", "exclusive"] => LockMode::ShareUpdateExclusive,
            ["share", "row", "exclusive"] => LockMode::ShareRowExclusive,
            ["share", ..] => LockMode::Share,
            ["exclusive", ..] => LockMode::Exclusive,
            ["access", "exclusive", ..] => LockMode::AccessExclusive,
            _ => return None,
        })
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lock a statement takes on a table (or, for an index named without its table, on the table
/// of that index: `table` is then `the table of index <name>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableLock {
    /// The mode.
    pub mode: LockMode,
    /// The table, as written (possibly schema-qualified).
    pub table: String,
    /// The index the statement names when the table is not named (DROP INDEX, REINDEX INDEX).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_index: Option<String>,
}

impl fmt::Display for TableLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.mode, self.table)
    }
}

/// The subcommands of an `ALTER TABLE` (the words after the table name, split at top-level
/// commas).
pub fn subcommands(s: &Stmt) -> Vec<&[String]> {
    match alter_table_body(s) {
        Some(start) if start < s.words.len() => split_commas(&s.words[start..]),
        _ => Vec::new(),
    }
}

/// Where the subcommands of an `ALTER TABLE [IF EXISTS] [ONLY] name [*]` start.
fn alter_table_body(s: &Stmt) -> Option<usize> {
    if !s.starts(&["alter", "table"]) {
        return None;
    }
    let mut i = 2;
    while matches!(
        s.words.get(i).map(String::as_str),
        Some("if" | "exists" | "only")
    ) {
        i += 1;
    }
    i += 1;
    while s.words.get(i).map(String::as_str) == Some(".") {
        i += 2;
    }
    if s.words.get(i).map(String::as_str) == Some("*") {
        i += 1;
    }
    Some(i)
}

/// The table a `REFERENCES` clause names, for each one in `w`.
fn referenced(w: &[String]) -> Vec<String> {
    w.iter()
        .enumerate()
        .filter(|(_, x)| *x == "references")
        .filter_map(|(i, _)| name(w, i + 1))
        .collect()
}

/// The lock one `ALTER TABLE` subcommand takes on the altered table, for PostgreSQL `pg`.
pub fn subcommand_lock(c: &[String], pg: u32) -> LockMode {
    use LockMode::*;
    let first = c.first().map(String::as_str).unwrap_or("");
    match first {
        "validate" => return ShareUpdateExclusive,
        "cluster" => return ShareUpdateExclusive,
        "attach" if pg >= 12 => return ShareUpdateExclusive,
        "detach" if has(c, &["concurrently"]) || has(c, &["finalize"]) => {
            return ShareUpdateExclusive
        }
        "enable" | "disable" if has(c, &["trigger"]) => return ShareRowExclusive,
        _ => {}
    }
    if starts(c, &["set", "without", "cluster"]) {
        return ShareUpdateExclusive;
    }
    if starts(c, &["set", "statistics"]) {
        return ShareUpdateExclusive;
    }
    // ALTER [COLUMN] c SET STATISTICS / SET (n_distinct …) / RESET (…).
    if first == "alter" {
        let rest: Vec<&str> = c
            .iter()
            .map(String::as_str)
            .skip(1)
            .skip_while(|w| *w == "column")
            .skip(1)
            .collect();
        if matches!(
            rest.as_slice(),
            ["set", "statistics", ..] | ["set", "(", ..] | ["reset", "(", ..]
        ) {
            return ShareUpdateExclusive;
        }
    }
    // SET ( storage_parameter … ) / RESET (…): the autovacuum, toast, fillfactor and planner
    // parameters take SHARE UPDATE EXCLUSIVE; others ACCESS EXCLUSIVE.
    if starts(c, &["set", "("]) || starts(c, &["reset", "("]) {
        const LIGHT: &[&str] = &[
            "fillfactor",
            "parallel_workers",
            "toast_tuple_target",
            "vacuum_index_cleanup",
            "vacuum_truncate",
            "log_autovacuum_min_duration",
        ];
        let all_light = c[2..]
            .iter()
            .enumerate()
            .filter(|(i, _)| *i == 0 || c[2 + i - 1] == ",")
            .map(|(_, w)| w.as_str())
            .filter(|w| *w != ")")
            .all(|w| {
                LIGHT.contains(&w)
                    || w.starts_with("autovacuum_")
                    || w == "toast"
                    || w.starts_with("toast.")
            });
        return if all_light {
            ShareUpdateExclusive
        } else {
            AccessExclusive
        };
    }
    if first == "add"
        && (has(c, &["foreign", "key"]) || (!has(c, &["column"]) && has(c, &["references"])))
        && !has(c, &["column"])
    {
        // ADD [CONSTRAINT n] FOREIGN KEY … REFERENCES: both tables.
        if !has(c, &["check"]) && !has(c, &["unique"]) && !has(c, &["primary"]) {
            return ShareRowExclusive;
        }
    }
    AccessExclusive
}

/// Every table lock the statement takes, for PostgreSQL `pg` (each table once, at its strongest
/// mode). Light locks of plain reads are left out; writes take ROW EXCLUSIVE.
pub fn locks(s: &Stmt, pg: u32) -> Vec<TableLock> {
    let mut out: Vec<TableLock> = Vec::new();
    let mut add = |mode: LockMode, table: String, via: Option<String>| {
        if let Some(l) = out.iter_mut().find(|l| l.table == table) {
            l.mode = l.mode.max(mode);
        } else {
            out.push(TableLock {
                mode,
                table,
                via_index: via,
            });
        }
    };
    use LockMode::*;
    let w = &s.words;
    if let Some(t) = s.altered_table() {
        let subs = subcommands(s);
        let mut mode = subs
            .iter()
            .map(|c| subcommand_lock(c, pg))
            .max()
            .unwrap_or(AccessExclusive);
        if subs.is_empty() {
            mode = AccessExclusive;
        }
        add(mode, t, None);
        for c in &subs {
            let lock = subcommand_lock(c, pg);
            if lock == ShareRowExclusive && c.first().map(String::as_str) == Some("add") {
                for r in referenced(c) {
                    add(ShareRowExclusive, r, None);
                }
            }
            if c.first().map(String::as_str) == Some("add") && has(c, &["references"]) {
                // ADD COLUMN … REFERENCES: the referenced table too.
                for r in referenced(c) {
                    add(ShareRowExclusive, r, None);
                }
            }
            // INHERIT parent: SHARE UPDATE EXCLUSIVE on the parent (NO INHERIT: a light one).
            if c.first().is_some_and(|w| w == "inherit") {
                if let Some(p) = name(c, 1) {
                    add(ShareUpdateExclusive, p, None);
                }
            }
            if matches!(c.first().map(String::as_str), Some("attach" | "detach")) {
                if let Some(p) = name(c, 2) {
                    let child = if has(c, &["concurrently"]) || has(c, &["finalize"]) {
                        ShareUpdateExclusive
                    } else {
                        AccessExclusive
                    };
                    add(child, p, None);
                }
            }
        }
        return out;
    }
    let first: Vec<&str> = w.iter().map(String::as_str).take(4).collect();
    match first.as_slice() {
        ["alter", "table" | "index" | "materialized", "all", ..]
        | ["alter", "materialized", "view", "all"] => {
            // ALTER TABLE ALL IN TABLESPACE x … SET TABLESPACE y: every table there, one by one.
            if let Some(ts) = s.name_after(&["in", "tablespace"]) {
                add(
                    AccessExclusive,
                    format!("every table in tablespace {ts}"),
                    None,
                );
            }
        }
        ["create", "index" | "unique", ..] => {
            if let Some(t) = s.name_after(&["on"]) {
                let mode = if s.has(&["concurrently"]) {
                    ShareUpdateExclusive
                } else {
                    Share
                };
                add(mode, t, None);
            }
        }
        ["drop", "index", ..] => {
            let mode = if s.has(&["concurrently"]) {
                ShareUpdateExclusive
            } else {
                AccessExclusive
            };
            if let Some(i) = s.name_after(&["index"]) {
                add(mode, format!("the table of index {i}"), Some(i));
            }
        }
        ["reindex", ..] => {
            let mode = if s.has(&["concurrently"]) {
                ShareUpdateExclusive
            } else {
                Share
            };
            let mut i = 1;
            if w.get(1).map(String::as_str) == Some("(") {
                i = w.iter().position(|x| x == ")").map_or(w.len(), |p| p + 1);
            }
            let kind = w.get(i).cloned().unwrap_or_default();
            let name = name(w, i + 1).unwrap_or_default();
            match kind.as_str() {
                "table" => add(mode, name, None),
                "index" => add(mode, format!("the table of index {name}"), Some(name)),
                _ => add(mode, format!("every table of {kind} {name}"), None),
            }
        }
        ["create", "trigger" | "constraint", ..] | ["create", "or", "replace", "trigger"] => {
            if let Some(t) = s.name_after(&["on"]) {
                add(ShareRowExclusive, t, None);
            }
        }
        ["drop", "trigger" | "rule" | "policy", ..] => {
            if let Some(t) = s.name_after(&["on"]) {
                add(AccessExclusive, t, None);
            }
        }
        ["create", "rule", ..] | ["create", "or", "replace", "rule"] => {
            if let Some(t) = s.name_after(&["to"]) {
                add(AccessExclusive, t, None);
            }
        }
        ["create" | "alter", "policy", ..] => {
            if let Some(t) = s.name_after(&["on"]) {
                add(AccessExclusive, t, None);
            }
        }
        ["comment", "on", "table" | "column", ..] => {
            if let Some(n) = name(w, 3) {
                let t = if first[2] == "column" {
                    n.rsplit_once('.').map_or(n.clone(), |(t, _)| t.to_string())
                } else {
                    n
                };
                add(ShareUpdateExclusive, t, None);
            }
        }
        ["vacuum", ..] | ["analyze" | "analyse", ..] => {
            let full = is_vacuum_full(s);
            let mode = if full {
                AccessExclusive
            } else {
                ShareUpdateExclusive
            };
            for t in maintenance_tables(s) {
                add(mode, t, None);
            }
        }
        ["cluster", ..] => {
            for t in maintenance_tables(s) {
                add(AccessExclusive, t, None);
            }
        }
        ["truncate", ..] => {
            for t in name_list(w, 1, &[]) {
                add(AccessExclusive, t, None);
            }
        }
        ["drop", "table", ..] | ["drop", "materialized", "view", ..] => {
            let at = if first[1] == "table" { 2 } else { 3 };
            for t in name_list(w, at, &[]) {
                add(AccessExclusive, t, None);
            }
        }
        ["lock", ..] => {
            let mode = s
                .find(&["in"])
                .and_then(|i| LockMode::from_words(&w[i + 1..]))
                .unwrap_or(AccessExclusive);
            for t in name_list(w, 1, &["in", "nowait"]) {
                add(mode, t, None);
            }
        }
        ["alter", "domain", ..] => {
            // Adding a checked constraint, SET NOT NULL and VALIDATE CONSTRAINT scan every
            // column of the domain under SHARE on each table (PostgreSQL 15, observed).
            let mode = if s.has(&["validate", "constraint"])
                || s.has(&["add"]) && !s.has(&["not", "valid"])
                || s.has(&["set", "not", "null"])
            {
                Some(Share)
            } else {
                None
            };
            if let (Some(mode), Some(d)) = (mode, s.name_after(&["domain"])) {
                add(
                    mode,
                    format!("every table with a column of domain {d}"),
                    None,
                );
            }
        }
        ["refresh", "materialized", "view", ..] => {
            let mode = if s.has(&["concurrently"]) {
                Exclusive
            } else {
                AccessExclusive
            };
            if let Some(t) = name(w, 3) {
                add(mode, t, None);
            }
        }
        ["create", "statistics", ..] => {
            if let Some(t) = s.name_after(&["from"]) {
                add(ShareUpdateExclusive, t, None);
            }
        }
        ["create", ..] if s.has(&["table"]) => {
            // The new table itself (nobody else can see it before COMMIT).
            if let Some(t) = created_table(s) {
                add(AccessExclusive, t, None);
            }
            if let Some(p) = s.name_after(&["partition", "of"]) {
                add(AccessExclusive, p, None);
            }
            for r in referenced(w) {
                add(ShareRowExclusive, r, None);
            }
        }
        ["update", ..] => {
            if let Some(t) = name(w, 1) {
                add(RowExclusive, t, None);
            }
        }
        ["delete", "from", ..] => {
            if let Some(t) = name(w, 2) {
                add(RowExclusive, t, None);
            }
        }
        ["insert", "into", ..] | ["merge", "into", ..] => {
            if let Some(t) = name(w, 2) {
                add(RowExclusive, t, None);
            }
        }
        _ => {}
    }
    out
}

/// The table a `CREATE [TEMP|UNLOGGED] TABLE` creates.
pub fn created_table(s: &Stmt) -> Option<String> {
    let at = s
        .find(&["table"])
        .filter(|&i| i <= 4 && s.starts(&["create"]))?;
    name(&s.words, at + 1)
}

/// Whether a VACUUM is a VACUUM FULL (`VACUUM FULL`, `VACUUM (FULL)`, `VACUUM (FULL TRUE)`,
/// `VACUUM (VERBOSE, FULL 1)`; not `VACUUM (FULL FALSE)` / `off` / `0`).
pub fn is_vacuum_full(s: &Stmt) -> bool {
    if !s.starts(&["vacuum"]) {
        return false;
    }
    if s.words.get(1).map(String::as_str) == Some("(") {
        let end = s
            .words
            .iter()
            .position(|x| x == ")")
            .unwrap_or(s.words.len());
        let opts = &s.words[2..end];
        return opts.iter().enumerate().any(|(i, w)| {
            w == "full"
                && (i == 0 || opts[i - 1] == ",")
                && !matches!(
                    opts.get(i + 1).map(String::as_str),
                    Some("false" | "off" | "0" | "'false'" | "'off'" | "'0'")
                )
        });
    }
    s.words[1..]
        .iter()
        .take_while(|w| matches!(w.as_str(), "full" | "freeze" | "verbose" | "analyze"))
        .any(|w| w == "full")
}

/// The tables a VACUUM, ANALYZE or CLUSTER names (none: every table of the database).
fn maintenance_tables(s: &Stmt) -> Vec<String> {
    let w = &s.words;
    let mut i = 1;
    if w.get(1).map(String::as_str) == Some("(") {
        i = w.iter().position(|x| x == ")").map_or(w.len(), |p| p + 1);
    }
    while matches!(
        w.get(i).map(String::as_str),
        Some("full" | "freeze" | "verbose" | "analyze" | "analyse")
    ) {
        i += 1;
    }
    let mut out = name_list(w, i, &["using"]);
    if s.starts(&["cluster"]) {
        // CLUSTER t USING i: the table only.
        out.truncate(1);
    }
    if out.is_empty() {
        out.push("every table of the database".to_string());
    }
    out
}

/// The table locks of the first statement of `sql` (see [`locks`]).
pub fn locks_of_sql(sql: &str, pg: u32) -> Vec<TableLock> {
    let sp = crate::sql::split(sql);
    sp.statements
        .first()
        .map(|r| locks(&Stmt::new(r, true), pg))
        .unwrap_or_default()
}

/// The strongest lock the statement takes on any table, with the table.
pub fn strongest(s: &Stmt, pg: u32) -> Option<TableLock> {
    locks(s, pg).into_iter().max_by_key(|l| l.mode)
}

/// The locks as one phrase: `SHARE ROW EXCLUSIVE on accounts, users`.
pub fn describe(locks: &[TableLock]) -> Option<String> {
    let mut modes: Vec<LockMode> = locks.iter().map(|l| l.mode).collect();
    modes.sort();
    modes.dedup();
    modes.reverse();
    let parts: Vec<String> = modes
        .iter()
        .map(|m| {
            let tables: Vec<&str> = locks
                .iter()
                .filter(|l| l.mode == *m)
                .map(|l| l.table.as_str())
                .collect();
            format!("{m} on {}", tables.join(", "))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::stmt;
    use super::LockMode::*;
    use super::*;

    fn l(sql: &str) -> Vec<(LockMode, String)> {
        locks(&stmt(sql), 15)
            .into_iter()
            .map(|l| (l.mode, l.table))
            .collect()
    }

    #[test]
    fn alter_table_subcommands() {
        assert_eq!(
            l("ALTER TABLE t ADD COLUMN c int"),
            [(AccessExclusive, "t".into())]
        );
        assert_eq!(
            l("ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id)"),
            [
                (ShareRowExclusive, "t".into()),
                (ShareRowExclusive, "u".into())
            ]
        );
        assert_eq!(
            l("ALTER TABLE t VALIDATE CONSTRAINT f"),
            [(ShareUpdateExclusive, "t".into())]
        );
        assert_eq!(
            l("ALTER TABLE t ALTER COLUMN c SET STATISTICS 500"),
            [(ShareUpdateExclusive, "t".into())]
        );
        assert_eq!(
            l("ALTER TABLE t SET (fillfactor = 70, autovacuum_enabled = off)"),
            [(ShareUpdateExclusive, "t".into())]
        );
        assert_eq!(
            l("ALTER TABLE t VALIDATE CONSTRAINT f, ADD COLUMN c int"),
            [(AccessExclusive, "t".into())]
        );
        assert_eq!(
            l("ALTER TABLE p ATTACH PARTITION p1 FOR VALUES FROM (1) TO (2)"),
            [
                (ShareUpdateExclusive, "p".into()),
                (AccessExclusive, "p1".into())
            ]
        );
        assert_eq!(
            locks(&stmt("ALTER TABLE p ATTACH PARTITION p1 DEFAULT"), 11)[0].mode,
            AccessExclusive
        );
        assert_eq!(
            l("ALTER TABLE t DISABLE TRIGGER ALL"),
            [(ShareRowExclusive, "t".into())]
        );
    }

    #[test]
    fn statements() {
        assert_eq!(l("CREATE INDEX i ON s.t (a)"), [(Share, "s.t".into())]);
        assert_eq!(
            l("CREATE INDEX CONCURRENTLY i ON t (a)"),
            [(ShareUpdateExclusive, "t".into())]
        );
        assert_eq!(
            l("CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()")[0].0,
            ShareRowExclusive
        );
        assert_eq!(
            l("LOCK TABLE a, b IN SHARE MODE"),
            [(Share, "a".into()), (Share, "b".into())]
        );
        assert_eq!(l("LOCK t"), [(AccessExclusive, "t".into())]);
        assert_eq!(
            l("VACUUM (FULL FALSE) t"),
            [(ShareUpdateExclusive, "t".into())]
        );
        assert_eq!(
            l("VACUUM (VERBOSE, FULL) t"),
            [(AccessExclusive, "t".into())]
        );
        assert_eq!(l("TRUNCATE a, b CASCADE").len(), 2);
        assert_eq!(l("REINDEX TABLE t"), [(Share, "t".into())]);
        assert_eq!(
            l("REFRESH MATERIALIZED VIEW CONCURRENTLY m"),
            [(Exclusive, "m".into())]
        );
        assert_eq!(
            l("CREATE TABLE c (id int REFERENCES p (id))"),
            [
                (AccessExclusive, "c".into()),
                (ShareRowExclusive, "p".into())
            ]
        );
        assert_eq!(l("UPDATE t SET a = 1"), [(RowExclusive, "t".into())]);
        assert_eq!(l("CLUSTER t USING i"), [(AccessExclusive, "t".into())]);
        assert_eq!(
            l("ALTER TABLE ALL IN TABLESPACE old OWNED BY a, b SET TABLESPACE new NOWAIT"),
            [(AccessExclusive, "every table in tablespace old".into())]
        );
    }
}
