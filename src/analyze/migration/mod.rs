//! The migration rule family (`dbkit check`, static part): each statement of each migration file
//! is read as tokens (robust to PostgreSQL syntax a parser may not know), in its transaction
//! context, knowing which tables the migration itself created (new and empty: lock rules do not
//! fire on them). One file per rule; `-- dbkit:ignore rule-id [reason]` on the line before a
//! statement silences a rule there, and an ignore that silences nothing is reported.

mod add_column_not_null_no_default;
mod add_column_volatile_default;
mod alter_column_type_rewrite;
mod ban_char_field;
mod check_not_valid;
mod concurrent_in_transaction;
mod detach_partition_not_concurrent;
mod drop_column;
mod drop_index_not_concurrent;
mod drop_table;
mod fk_not_valid;
mod index_not_concurrent;
mod missing_lock_timeout;
mod prefer_bigint_key;
mod prefer_identity;
mod prefer_jsonb;
mod prefer_timestamptz;
mod rename_column;
mod rename_table;
mod set_not_null;
mod truncate_cascade;
mod unique_constraint_lock;
mod vacuum_full_cluster;
mod work_after_access_exclusive;

pub mod report;

use crate::finding::{Finding, Location, RuleId, Severity};
use crate::sql::lexer::{Lexer, TokenKind};
use crate::sql::span::Span;
use std::collections::HashSet;

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
        self.words.len() >= seq.len() && self.words.iter().zip(seq).all(|(a, b)| a == b)
    }

    /// The position of the first occurrence of `seq`.
    pub fn find(&self, seq: &[&str]) -> Option<usize> {
        if seq.is_empty() || self.words.len() < seq.len() {
            return None;
        }
        (0..=self.words.len() - seq.len()).find(|&i| {
            self.words[i..i + seq.len()]
                .iter()
                .zip(seq)
                .all(|(a, b)| a == b)
        })
    }

    /// Whether `seq` occurs.
    pub fn has(&self, seq: &[&str]) -> bool {
        self.find(seq).is_some()
    }

    /// The (possibly qualified) name after `seq`, skipping `IF [NOT] EXISTS` and `ONLY`.
    pub fn name_after(&self, seq: &[&str]) -> Option<String> {
        let mut i = self.find(seq)? + seq.len();
        while i < self.words.len()
            && matches!(
                self.words[i].as_str(),
                "if" | "not" | "exists" | "only" | "concurrently"
            )
        {
            i += 1;
        }
        let mut name = self.words.get(i)?.clone();
        while self.words.get(i + 1).map(String::as_str) == Some(".") {
            name.push('.');
            name.push_str(self.words.get(i + 2)?);
            i += 2;
        }
        Some(name)
    }

    /// The table an `ALTER TABLE` works on.
    pub fn altered_table(&self) -> Option<String> {
        if self.starts(&["alter", "table"]) {
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
    /// Tables created earlier in this migration (new and empty).
    pub new_tables: HashSet<String>,
    /// `SET lock_timeout` seen earlier in this file.
    pub lock_timeout_set: bool,
    /// Columns with a validated `CHECK (col IS NOT NULL)` earlier: `table.column`.
    pub not_null_checked: HashSet<String>,
    /// In the current transaction, a statement already took ACCESS EXCLUSIVE on an existing table.
    pub after_access_exclusive: Option<String>,
}

impl Ctx {
    /// Whether `table` existed before this migration (lock rules only matter then).
    pub fn existing(&self, table: &str) -> bool {
        let short = table.rsplit('.').next().unwrap_or(table);
        !self.new_tables.contains(table) && !self.new_tables.contains(short)
    }
}

/// A rule's verdict on one statement: message, suggestion.
pub type Hit = (String, String);

/// One migration rule: its registered id and its check.
pub struct Rule {
    /// The registered rule.
    pub id: RuleId,
    /// The check.
    pub check: fn(&Stmt, &Ctx) -> Option<Hit>,
}

/// Every migration rule.
pub const RULES: &[Rule] = &[
    index_not_concurrent::RULE,
    drop_index_not_concurrent::RULE,
    concurrent_in_transaction::RULE,
    add_column_volatile_default::RULE,
    add_column_not_null_no_default::RULE,
    alter_column_type_rewrite::RULE,
    fk_not_valid::RULE,
    check_not_valid::RULE,
    set_not_null::RULE,
    unique_constraint_lock::RULE,
    drop_column::RULE,
    drop_table::RULE,
    rename_column::RULE,
    rename_table::RULE,
    missing_lock_timeout::RULE,
    work_after_access_exclusive::RULE,
    vacuum_full_cluster::RULE,
    truncate_cascade::RULE,
    detach_partition_not_concurrent::RULE,
    prefer_jsonb::RULE,
    prefer_bigint_key::RULE,
    prefer_timestamptz::RULE,
    prefer_identity::RULE,
    ban_char_field::RULE,
];

/// The lock a statement takes on an existing table, when it is one that blocks: the lock's name
/// and the table.
pub fn heavy_lock(s: &Stmt) -> Option<(&'static str, String)> {
    if let Some(t) = s.altered_table() {
        let light = s.has(&["validate", "constraint"])
            || (s.has(&["detach", "partition"]) && s.has(&["concurrently"]));
        return (!light).then_some(("ACCESS EXCLUSIVE", t));
    }
    if s.starts(&["create", "index"]) || s.starts(&["create", "unique", "index"]) {
        if s.has(&["concurrently"]) {
            return None;
        }
        return s.name_after(&["on"]).map(|t| ("SHARE", t));
    }
    for (seq, lock) in [
        (&["drop", "table"][..], "ACCESS EXCLUSIVE"),
        (&["truncate"][..], "ACCESS EXCLUSIVE"),
        (&["vacuum", "full"][..], "ACCESS EXCLUSIVE"),
        (&["cluster"][..], "ACCESS EXCLUSIVE"),
    ] {
        if s.starts(seq) {
            let t = s.words.get(seq.len()).cloned().unwrap_or_default();
            let t = if t == "table" {
                s.words.get(seq.len() + 1).cloned().unwrap_or_default()
            } else {
                t
            };
            return Some((lock, t));
        }
    }
    None
}

/// Check migration files: each `(name, text)` in order (earlier files are the base of later
/// ones). `no_transaction` forces "not in a transaction" for files that do not say.
pub fn check(
    files: &[(String, String)],
    pg_version: u32,
    no_transaction: bool,
    excluded: &[RuleId],
) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut ctx = Ctx {
        pg_version,
        ..Default::default()
    };
    for (name, text) in files {
        let sp = crate::sql::split(text);
        let marker = text.contains("dbkit:no-transaction");
        let manages = sp.statements.iter().any(|s| {
            let w = s.text.trim_start().to_ascii_lowercase();
            w.starts_with("begin") || w.starts_with("start transaction") || w.starts_with("commit")
        });
        let mut in_tx = !(no_transaction || marker || manages);
        ctx.lock_timeout_set = false;
        ctx.after_access_exclusive = None;
        for raw in &sp.statements {
            let lower = raw.text.trim_start().to_ascii_lowercase();
            if manages && (lower.starts_with("begin") || lower.starts_with("start transaction")) {
                in_tx = true;
                continue;
            }
            if manages
                && (lower.starts_with("commit")
                    || lower.starts_with("end")
                    || lower.starts_with("rollback"))
            {
                in_tx = false;
                ctx.after_access_exclusive = None;
                continue;
            }
            let s = Stmt::new(raw, in_tx);
            let ignores: Vec<(String, bool)> = s
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
            let mut ignores = ignores;
            for r in RULES.iter().filter(|r| !excluded.contains(&r.id)) {
                if let Some((message, suggestion)) = (r.check)(&s, &ctx) {
                    if let Some(ig) = ignores.iter_mut().find(|(id, _)| r.id == id.as_str()) {
                        ig.1 = true;
                        continue;
                    }
                    let lock = heavy_lock(&s).map(|(l, t)| format!("{l} on {t}"));
                    out.push(Finding {
                        rule: r.id,
                        severity: r.id.severity(),
                        message,
                        location: Location { file: Some(name.clone()), line: Some(s.span.start.line), column: Some(s.span.start.column), node: None },
                        evidence: serde_json::json!({ "statement": s.text, "lock": lock, "in_transaction": s.in_transaction }),
                        suggestion: Some(suggestion),
                    });
                }
            }
            for (id, used) in ignores.iter().filter(|(_, used)| !used) {
                let _ = used;
                out.push(Finding {
                    rule: RuleId::UnusedIgnore,
                    severity: Severity::Warning,
                    message: format!("-- dbkit:ignore {id} silences nothing on this statement"),
                    location: Location { file: Some(name.clone()), line: Some(s.span.start.line), column: Some(s.span.start.column), node: None },
                    evidence: serde_json::json!({ "rule": id }),
                    suggestion: Some("remove the directive, or put it on the line before the statement it is for".to_string()),
                });
            }
            // Update the context after the statement.
            if s.starts(&["create", "table"]) {
                if let Some(t) = s.name_after(&["table"]) {
                    ctx.new_tables.insert(t);
                }
            }
            if s.starts(&["set", "lock_timeout"]) || s.starts(&["set", "local", "lock_timeout"]) {
                ctx.lock_timeout_set = true;
            }
            if let (Some(t), true) = (
                s.altered_table(),
                s.has(&["is", "not", "null"]) && s.has(&["check"]) && !s.has(&["not", "valid"]),
            ) {
                if let Some(i) = s.find(&["is", "not", "null"]) {
                    if let Some(col) = s.words.get(i.wrapping_sub(1)) {
                        ctx.not_null_checked.insert(format!("{t}.{col}"));
                    }
                }
            }
            if s.in_transaction {
                if let Some(("ACCESS EXCLUSIVE", t)) = heavy_lock(&s) {
                    if ctx.existing(&t) && ctx.after_access_exclusive.is_none() {
                        ctx.after_access_exclusive = Some(t);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::finding::Finding;

    /// Rule ids found in one migration (run in a transaction, PostgreSQL 15).
    pub fn ids(sql: &str) -> Vec<String> {
        super::check(&[("m.sql".to_string(), sql.to_string())], 15, false, &[])
            .into_iter()
            .map(|f: Finding| f.rule.to_string())
            .collect()
    }

    /// Whether `rule` fires on `sql`.
    pub fn fires(sql: &str, rule: &str) -> bool {
        ids(sql).iter().any(|r| r == rule)
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
