//! The migration rule family (`dbkit check`, static part): each statement of each migration file
//! is read as tokens (robust to PostgreSQL syntax a parser may not know), in the transaction the
//! file's runner gives it ([`txmode`]), with the locks it takes ([`locks`]) and the schema the
//! history, a schema dump and the files before it built ([`schema`]): tables created in the same
//! file are new and empty (lock rules do not fire on them). One file per rule;
//! `-- dbkit:ignore rule-id [reason]` on the line before a statement silences a rule there, and an
//! ignore that silences nothing is reported.

mod add_column_not_null_no_default;
mod add_column_rewrite;
mod add_column_volatile_default;
mod alter_column_type_rewrite;
mod ban_char_field;
mod check_not_valid;
mod concurrent_in_transaction;
mod detach_partition_not_concurrent;
mod domain_constraint_not_valid;
mod drop_column;
mod drop_database;
mod drop_index_not_concurrent;
mod drop_schema_cascade;
mod drop_table;
mod enum_add_value_in_transaction;
mod fk_not_valid;
mod index_not_concurrent;
mod index_on_partitioned_table;
mod lock_table;
pub mod locks;
mod missing_lock_timeout;
mod missing_statement_timeout;
mod prefer_bigint_key;
mod prefer_identity;
mod prefer_jsonb;
mod prefer_timestamptz;
mod refresh_matview_not_concurrent;
mod reindex_not_concurrent;
mod rename_column;
mod rename_table;
pub mod schema;
mod set_logged_unlogged;
mod set_not_null;
mod set_tablespace;
mod truncate_cascade;
pub mod txmode;
mod unique_constraint_lock;
mod vacuum_full_cluster;
mod validate_in_same_transaction;
mod whole_table_dml;
mod words;
mod work_after_access_exclusive;

pub mod report;

use crate::finding::{Finding, Location, RuleId, Severity};
use crate::sql::lexer::{Lexer, TokenKind};
use crate::sql::span::Span;
use locks::TableLock;
use schema::{Origin, Schema};
use std::collections::{HashMap, HashSet};
use txmode::{FilePlan, Runner, TxSetting};

/// A statement of a migration, as tokens.
#[derive(Debug, Clone)]
pub struct Stmt {
    /// Where.
    pub span: Span,
    /// The text.
    pub text: String,
    /// Significant tokens: lowercased words and other tokens' text.
    pub words: Vec<String>,
    /// Comments just before it.
    pub leading_comments: Vec<String>,
    /// Whether it runs inside a transaction.
    pub in_transaction: bool,
}

impl Stmt {
    fn new(raw: &crate::sql::RawStatement<'_>, in_transaction: bool) -> Stmt {
        let words = Lexer::new(raw.text)
            .filter(|t| !t.kind.is_trivia())
            .map(|t| {
                let x = t.text(raw.text);
                match t.kind {
                    TokenKind::Word => x.to_ascii_lowercase(),
                    TokenKind::QuotedIdent => x.trim_matches('"').replace("\"\"", "\""),
                    _ => x.to_string(),
                }
            })
            .collect();
        Stmt {
            span: raw.span,
            text: raw.text.to_string(),
            words,
            leading_comments: raw.leading_comments.iter().map(|c| c.to_string()).collect(),
            in_transaction,
        }
    }

    /// Whether the words start with `seq`.
    pub fn starts(&self, seq: &[&str]) -> bool {
        words::starts(&self.words, seq)
    }

    /// The position of the first occurrence of `seq`.
    pub fn find(&self, seq: &[&str]) -> Option<usize> {
        words::find(&self.words, seq)
    }

    /// Whether `seq` occurs.
    pub fn has(&self, seq: &[&str]) -> bool {
        words::has(&self.words, seq)
    }

    /// The (possibly qualified) name after `seq`, skipping `IF [NOT] EXISTS`, `ONLY`,
    /// `CONCURRENTLY` and `TABLE`.
    pub fn name_after(&self, seq: &[&str]) -> Option<String> {
        words::name_at(&self.words, self.find(seq)? + seq.len()).map(|(n, _)| n)
    }

    /// The column definitions an `ALTER TABLE` adds: for each `ADD [COLUMN] [IF NOT EXISTS]`
    /// subcommand that adds a column (not a table constraint), the words from the column's name.
    pub fn added_columns(&self) -> Vec<&[String]> {
        locks::subcommands(self)
            .into_iter()
            .filter_map(|c| {
                if c.first().map(String::as_str) != Some("add") {
                    return None;
                }
                let mut i = 1;
                match c.get(1).map(String::as_str) {
                    Some("column") => i = 2,
                    Some("constraint" | "check" | "unique" | "primary" | "foreign" | "exclude") => {
                        return None
                    }
                    _ => {}
                }
                if c.get(i).map(String::as_str) == Some("if") {
                    i += 3;
                }
                c.get(i..).filter(|d| !d.is_empty())
            })
            .collect()
    }

    /// The table an `ALTER TABLE` works on.
    pub fn altered_table(&self) -> Option<String> {
        // ALTER TABLE ALL IN TABLESPACE … names no table.
        if self.starts(&["alter", "table"]) && !self.starts(&["alter", "table", "all", "in"]) {
            self.name_after(&["alter", "table"])
        } else {
            None
        }
    }
}

/// What the rules know besides the statement.
#[derive(Debug, Clone, Default)]
pub struct Ctx {
    /// Target PostgreSQL major version.
    pub pg_version: u32,
    /// The schema so far: the history, the schema dump, earlier files and this file up to here.
    pub schema: Schema,
    /// `SET lock_timeout` seen earlier in this file.
    pub lock_timeout_set: bool,
    /// `SET statement_timeout` seen earlier in this file.
    pub statement_timeout_set: bool,
    /// `SET TimeZone` seen earlier in this file: whether it is UTC (`None`: not set).
    pub timezone_utc: Option<bool>,
    /// Constraints added NOT VALID in the current transaction: `(table, constraint)`.
    pub not_valid_in_tx: HashSet<(String, String)>,
    /// How the current file runs (runner, mode, why).
    pub plan: Option<FilePlan>,
    /// The locks the statement being judged takes on existing tables
    /// ([`Ctx::locks_on_existing`], computed once per statement).
    pub locks: Vec<TableLock>,
}

impl Ctx {
    /// Whether `table` existed before this file (lock rules only matter then). A table the
    /// schema does not know is taken to exist.
    pub fn existing(&self, table: &str) -> bool {
        self.schema
            .table(table)
            .is_none_or(|t| t.origin == Origin::Deployed)
    }

    /// The strongest lock that blocks writes among those the statement being judged takes on
    /// existing tables ([`Ctx::locks`]).
    pub fn strongest_write_lock(&self) -> Option<&TableLock> {
        self.locks
            .iter()
            .filter(|l| l.mode.blocks_writes())
            .max_by_key(|l| l.mode)
    }

    /// The locks `s` takes on tables that existed before this file, with index names resolved
    /// to their tables where the schema knows them.
    pub fn locks_on_existing(&self, s: &Stmt) -> Vec<TableLock> {
        let created = locks::created_table(s);
        locks::locks(s, self.pg_version)
            .into_iter()
            .filter(|l| Some(&l.table) != created.as_ref())
            .map(|mut l| {
                if let Some(t) = l
                    .via_index
                    .as_deref()
                    .and_then(|i| self.schema.table_of_index(i))
                {
                    l.table = t.to_string();
                }
                l
            })
            .filter(|l| self.existing(&l.table))
            .collect()
    }
}

/// A rule's verdict on one statement.
#[derive(Debug, Clone)]
pub struct Hit {
    /// What is wrong.
    pub message: String,
    /// The safe alternative.
    pub suggestion: String,
    /// A severity other than the rule's own (a verdict that depends on what is unknown).
    pub severity: Option<Severity>,
}

impl From<(String, String)> for Hit {
    fn from((message, suggestion): (String, String)) -> Hit {
        Hit {
            message,
            suggestion,
            severity: None,
        }
    }
}

/// One migration rule: its registered id and its check.
pub struct Rule {
    /// The registered rule.
    pub id: RuleId,
    /// The check.
    pub check: fn(&Stmt, &Ctx) -> Option<Hit>,
}

/// Every per-statement migration rule (`work-after-access-exclusive` is judged per
/// transaction, when it ends).
pub const RULES: &[Rule] = &[
    index_not_concurrent::RULE,
    drop_index_not_concurrent::RULE,
    concurrent_in_transaction::RULE,
    add_column_volatile_default::RULE,
    add_column_not_null_no_default::RULE,
    add_column_rewrite::RULE,
    alter_column_type_rewrite::RULE,
    fk_not_valid::RULE,
    check_not_valid::RULE,
    domain_constraint_not_valid::RULE,
    validate_in_same_transaction::RULE,
    set_not_null::RULE,
    unique_constraint_lock::RULE,
    index_on_partitioned_table::RULE,
    drop_column::RULE,
    drop_table::RULE,
    rename_column::RULE,
    rename_table::RULE,
    missing_lock_timeout::RULE,
    missing_statement_timeout::RULE,
    lock_table::RULE,
    vacuum_full_cluster::RULE,
    reindex_not_concurrent::RULE,
    refresh_matview_not_concurrent::RULE,
    set_logged_unlogged::RULE,
    set_tablespace::RULE,
    whole_table_dml::RULE,
    truncate_cascade::RULE,
    drop_database::RULE,
    drop_schema_cascade::RULE,
    enum_add_value_in_transaction::RULE,
    detach_partition_not_concurrent::RULE,
    prefer_jsonb::RULE,
    prefer_bigint_key::RULE,
    prefer_timestamptz::RULE,
    prefer_identity::RULE,
    ban_char_field::RULE,
];

/// How to check.
#[derive(Debug, Clone)]
pub struct Options {
    /// Target PostgreSQL major version.
    pub pg_version: u32,
    /// How to decide whether a file runs in a transaction.
    pub transaction: TxSetting,
    /// The runner whose conventions apply (`None`: recognised from each file's markers).
    pub runner: Option<Runner>,
    /// Rules not run.
    pub excluded: Vec<RuleId>,
    /// Migrations already applied, read for the schema only: `(name, text)` in order.
    pub history: Vec<(String, String)>,
    /// A `pg_dump --schema-only` (or any DDL), read for the schema only.
    pub schema: Vec<(String, String)>,
    /// Flyway `<file>.conf` texts, by migration file name.
    pub sidecars: HashMap<String, String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            pg_version: 15,
            transaction: TxSetting::Auto,
            runner: None,
            excluded: Vec::new(),
            history: Vec::new(),
            schema: Vec::new(),
            sidecars: HashMap::new(),
        }
    }
}

/// What the static check found.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// Findings, in file order.
    pub findings: Vec<Finding>,
    /// How each file was taken to run, and why.
    pub plans: Vec<FilePlan>,
    /// Statements checked.
    pub statements: usize,
    /// Tables the `--schema` files define.
    pub schema_tables: usize,
    /// Tables known before the first checked file (the schema and the history together).
    pub known_tables: usize,
}

/// A strong lock held by the open transaction, and the statements after it.
#[derive(Debug, Clone)]
struct Held {
    lock: TableLock,
    file: String,
    span: Span,
    statement: String,
    after: Vec<usize>,
}

/// Whether a statement only changes session settings (it does not extend a lock's hold).
fn session_only(s: &Stmt) -> bool {
    match s.words.first().map(String::as_str) {
        Some("set") => !s.starts(&["set", "constraints"]),
        Some("reset" | "show") => true,
        Some("select") => !s.has(&["from"]) && !s.has(&["pg_sleep"]),
        _ => false,
    }
}

fn location(file: &str, span: &Span) -> Location {
    Location {
        file: Some(file.to_string()),
        line: Some(span.start.line),
        column: Some(span.start.column),
        node: None,
    }
}

/// Replay files for the schema only.
fn replay(schema: &mut Schema, files: &[(String, String)], o: &Options) {
    for (name, text) in files {
        let plan = txmode::plan(name, text, None, o.transaction, o.runner);
        for raw in crate::sql::split(text).statements {
            if plan
                .units
                .iter()
                .any(|u| (u.start..u.end.max(u.start + 1)).contains(&raw.span.start_byte))
            {
                schema.apply(&Stmt::new(&raw, false), Origin::Deployed);
            }
        }
    }
    schema.deploy();
}

/// Check migration files: each `(name, text)` in order (earlier files are deployed before later
/// ones: the tables they create are existing tables).
pub fn check(files: &[(String, String)], o: &Options) -> Checked {
    let mut out = Checked::default();
    let mut ctx = Ctx {
        pg_version: o.pg_version,
        ..Default::default()
    };
    replay(&mut ctx.schema, &o.schema, o);
    out.schema_tables = ctx.schema.tables.len();
    replay(&mut ctx.schema, &o.history, o);
    out.known_tables = ctx.schema.tables.len();
    let hold_rule = !o.excluded.contains(&RuleId::WorkAfterAccessExclusive);
    for (name, text) in files {
        let plan = txmode::plan(
            name,
            text,
            o.sidecars.get(name).map(String::as_str),
            o.transaction,
            o.runner,
        );
        ctx.lock_timeout_set = false;
        ctx.statement_timeout_set = false;
        ctx.timezone_utc = None;
        ctx.plan = Some(plan.clone());
        let statements = crate::sql::split(text).statements;
        let first_finding = out.findings.len();
        for unit in &plan.units {
            let mut in_tx = unit.transaction;
            let mut held: Vec<Held> = Vec::new();
            ctx.not_valid_in_tx.clear();
            let close = |held: &mut Vec<Held>, out: &mut Checked| {
                for h in held.drain(..).filter(|h| !h.after.is_empty() && hold_rule) {
                    let hit = work_after_access_exclusive::judge(&h.lock, &h.after);
                    out.findings.push(Finding {
                        rule: RuleId::WorkAfterAccessExclusive,
                        severity: RuleId::WorkAfterAccessExclusive.severity(),
                        message: hit.message,
                        location: location(&h.file, &h.span),
                        evidence: serde_json::json!({ "statement": h.statement, "lock": h.lock.to_string(), "in_transaction": true, "held_through_lines": h.after }),
                        suggestion: Some(hit.suggestion),
                    });
                }
            };
            for raw in statements
                .iter()
                .filter(|r| r.span.start_byte >= unit.start && r.span.start_byte < unit.end)
            {
                if let Some(c) = crate::sql::txn::transaction_control(raw.text) {
                    use crate::sql::txn::TxnControl as T;
                    match c {
                        T::Begin => in_tx = true,
                        T::Commit { chain } | T::Rollback { chain } => {
                            close(&mut held, &mut out);
                            ctx.not_valid_in_tx.clear();
                            in_tx = chain;
                        }
                        _ => {}
                    }
                    continue;
                }
                out.statements += 1;
                let s = Stmt::new(raw, in_tx);
                for h in held.iter_mut() {
                    if !session_only(&s) {
                        h.after.push(s.span.start.line);
                    }
                }
                ctx.locks = ctx.locks_on_existing(&s);
                judge(&s, &ctx, name, o, &mut out.findings);
                // What the statement changes for the ones after it.
                if in_tx {
                    for l in ctx
                        .locks_on_existing(&s)
                        .into_iter()
                        .filter(|l| l.mode.blocks_writes())
                    {
                        match held.iter_mut().find(|h| h.lock.table == l.table) {
                            Some(h) if h.lock.mode >= l.mode => {}
                            Some(h) => h.lock.mode = l.mode,
                            None => held.push(Held {
                                lock: l,
                                file: name.clone(),
                                span: s.span,
                                statement: s.text.clone(),
                                after: Vec::new(),
                            }),
                        }
                    }
                }
                note(&s, &mut ctx);
                ctx.schema.apply(&s, Origin::ThisFile);
            }
            close(&mut held, &mut out);
        }
        // Findings judged when a transaction ends go back to their statement's place.
        out.findings[first_finding..].sort_by_key(|f| f.location.line);
        ctx.schema.deploy();
        out.plans.push(plan);
    }
    out
}

/// Run every rule on one statement, honouring `-- dbkit:ignore`.
fn judge(s: &Stmt, ctx: &Ctx, name: &str, o: &Options, out: &mut Vec<Finding>) {
    let mut ignores: Vec<(String, bool)> = s
        .leading_comments
        .iter()
        .filter_map(|c| {
            c.trim_start_matches("--")
                .trim()
                .strip_prefix("dbkit:ignore")
                .map(|r| r.split_whitespace().next().unwrap_or("").to_string())
        })
        .map(|id| (id, false))
        .collect();
    let lock = locks::describe(&ctx.locks);
    for r in RULES.iter().filter(|r| !o.excluded.contains(&r.id)) {
        let Some(hit) = (r.check)(s, ctx) else {
            continue;
        };
        if let Some(ig) = ignores.iter_mut().find(|(id, _)| r.id == id.as_str()) {
            ig.1 = true;
            continue;
        }
        out.push(Finding {
            rule: r.id,
            severity: hit.severity.unwrap_or(r.id.severity()),
            message: hit.message,
            location: location(name, &s.span),
            evidence: serde_json::json!({ "statement": s.text, "lock": lock, "in_transaction": s.in_transaction }),
            suggestion: Some(hit.suggestion),
        });
    }
    for (id, _) in ignores.iter().filter(|(_, used)| !used) {
        out.push(Finding {
            rule: RuleId::UnusedIgnore,
            severity: Severity::Warning,
            message: format!("-- dbkit:ignore {id} silences nothing on this statement"),
            location: location(name, &s.span),
            evidence: serde_json::json!({ "rule": id }),
            suggestion: Some(
                "remove the directive, or put it on the line before the statement it is for"
                    .to_string(),
            ),
        });
    }
}

/// Update the context after a statement (settings and constraints of the transaction).
fn note(s: &Stmt, ctx: &mut Ctx) {
    let setting = if s.starts(&["set", "local"]) || s.starts(&["set", "session"]) {
        s.words.get(2)
    } else if s.starts(&["set"]) {
        s.words.get(1)
    } else {
        None
    };
    // `SET x = 0`, `TO DEFAULT` and `RESET x` leave no timeout (0 disables it; pg_dump files
    // start with `SET lock_timeout = 0`).
    let value = s
        .words
        .last()
        .map(|w| w.trim_matches('\'').to_ascii_lowercase());
    let nonzero = value.as_deref().is_some_and(|v| {
        let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        v != "default" && digits.parse::<f64>().map_or(true, |n| n > 0.0)
    });
    if s.starts(&["reset"]) {
        match s.words.get(1).map(String::as_str) {
            Some("lock_timeout") => ctx.lock_timeout_set = false,
            Some("statement_timeout") => ctx.statement_timeout_set = false,
            Some("all") => {
                ctx.lock_timeout_set = false;
                ctx.statement_timeout_set = false;
            }
            _ => {}
        }
    }
    match setting.map(String::as_str) {
        Some("lock_timeout") => ctx.lock_timeout_set = nonzero,
        Some("statement_timeout") => ctx.statement_timeout_set = nonzero,
        Some("timezone") | Some("time") => {
            // SET TimeZone = 'UTC' / SET TIME ZONE 'UTC' / SET LOCAL …: the value is the last word.
            let v = s
                .words
                .last()
                .map(|w| w.trim_matches('\'').to_ascii_lowercase());
            ctx.timezone_utc = v.map(|v| {
                matches!(
                    v.as_str(),
                    "utc"
                        | "etc/utc"
                        | "gmt"
                        | "etc/gmt"
                        | "universal"
                        | "zulu"
                        | "etc/universal"
                        | "etc/zulu"
                )
            });
        }
        _ => {}
    }
    // set_config('lock_timeout', …) in a SELECT.
    if s.starts(&["select"]) && s.has(&["set_config"]) {
        if s.text.contains("'lock_timeout'") {
            ctx.lock_timeout_set = true;
        }
        if s.text.contains("'statement_timeout'") {
            ctx.statement_timeout_set = true;
        }
    }
    if let (Some(t), true) = (s.altered_table(), s.in_transaction) {
        for c in locks::subcommands(s) {
            if c.first().map(String::as_str) == Some("add") && words::has(c, &["not", "valid"]) {
                if let Some(i) = c.iter().position(|x| x == "constraint") {
                    if let Some(n) = c.get(i + 1) {
                        ctx.not_valid_in_tx
                            .insert((schema::short(&t).to_string(), n.clone()));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use super::{Options, Stmt};
    use crate::finding::Finding;

    /// Findings for one migration under `o` (the file is `m.sql`).
    pub fn findings(sql: &str, o: &Options) -> Vec<Finding> {
        super::check(&[("m.sql".to_string(), sql.to_string())], o).findings
    }

    /// Rule ids found in one migration (transaction mode `auto`, PostgreSQL 15).
    pub fn ids(sql: &str) -> Vec<String> {
        findings(sql, &Options::default())
            .into_iter()
            .map(|f: Finding| f.rule.to_string())
            .collect()
    }

    /// Whether `rule` fires on `sql`.
    pub fn fires(sql: &str, rule: &str) -> bool {
        ids(sql).iter().any(|r| r == rule)
    }

    /// Whether `rule` fires on `sql` for PostgreSQL `pg`.
    pub fn fires_on(sql: &str, rule: &str, pg: u32) -> bool {
        let o = Options {
            pg_version: pg,
            ..Options::default()
        };
        findings(sql, &o).iter().any(|f| f.rule.as_str() == rule)
    }

    /// Whether `rule` fires on `sql` after the history `history`.
    pub fn fires_after(history: &str, sql: &str, rule: &str) -> bool {
        let o = Options {
            history: vec![("h.sql".to_string(), history.to_string())],
            ..Options::default()
        };
        findings(sql, &o).iter().any(|f| f.rule.as_str() == rule)
    }

    /// One statement, as the rules see it (in a transaction).
    pub fn stmt(sql: &str) -> Stmt {
        let sp = crate::sql::split(sql);
        Stmt::new(&sp.statements[0], true)
    }
}

#[cfg(test)]
mod tests {
    use super::test_util::ids;

    #[test]
    fn new_tables_are_exempt_and_ignores_work() {
        let got = ids("CREATE TABLE t (id bigint PRIMARY KEY);\nCREATE INDEX t_x ON t (id);");
        assert!(
            !got.contains(&"index-not-concurrent".to_string()),
            "{got:?}"
        );
        let got = ids("-- dbkit:ignore drop-table it is empty\nDROP TABLE old_stuff;");
        assert!(!got.contains(&"drop-table".to_string()), "{got:?}");
        let got = ids("-- dbkit:ignore drop-column\nSELECT 1;");
        assert!(got.contains(&"unused-ignore".to_string()), "{got:?}");
    }
}
