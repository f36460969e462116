//! Statement classification: read, write, DDL, transaction control or utility, and whether the
//! statement must run on a primary (with the reasons why).
//!
//! Classification reads tokens, not a parse tree, so it works for statements sqlparser cannot
//! parse and streams through statements of any size. It is conservative: a function it does not
//! know may write, so a read that calls one is sent to the primary, with the reason said.

use super::lexer::{Lexer, TokenKind};
use serde::Serialize;

/// The broad class of a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatementKind {
    /// SELECT, VALUES, TABLE, COPY … TO.
    Read,
    /// INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY … FROM.
    Write,
    /// CREATE, ALTER, DROP, COMMENT, GRANT, REVOKE, SELECT INTO.
    Ddl,
    /// BEGIN, COMMIT, ROLLBACK, SAVEPOINT, SET TRANSACTION, two-phase commit.
    Transaction,
    /// SET, SHOW, EXPLAIN, VACUUM, LOCK, LISTEN, CALL, DO and other commands.
    Utility,
}

impl StatementKind {
    /// The kebab-case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            StatementKind::Read => "read",
            StatementKind::Write => "write",
            StatementKind::Ddl => "ddl",
            StatementKind::Transaction => "transaction",
            StatementKind::Utility => "utility",
        }
    }
}

/// What a statement is and where it may run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// The broad class.
    pub kind: StatementKind,
    /// The command tag, as PostgreSQL would name it (`SELECT`, `CREATE INDEX`, `COPY FROM`).
    pub command: String,
    /// True when the statement must run on a primary (it writes, locks rows, or may write).
    pub requires_primary: bool,
    /// Why it must run on the primary; empty when it may run on a replica.
    pub reasons: Vec<String>,
}

/// Read-only built-in functions (and function-like keywords) that are safe on a replica.
pub(crate) const SAFE_FUNCTIONS: &[&str] = &[
    "abs",
    "age",
    "any",
    "array_agg",
    "array_length",
    "array_position",
    "array_remove",
    "array_to_string",
    "avg",
    "bit_and",
    "bit_or",
    "bool_and",
    "bool_or",
    "btrim",
    "cardinality",
    "cast",
    "ceil",
    "ceiling",
    "char_length",
    "clock_timestamp",
    "coalesce",
    "concat",
    "concat_ws",
    "count",
    "cume_dist",
    "current_setting",
    "date_part",
    "date_trunc",
    "dense_rank",
    "div",
    "every",
    "exists",
    "exp",
    "extract",
    "first_value",
    "floor",
    "format",
    "gen_random_uuid",
    "generate_series",
    "generate_subscripts",
    "greatest",
    "grouping",
    "initcap",
    "json_agg",
    "json_array_length",
    "json_build_array",
    "json_build_object",
    "json_extract_path",
    "json_extract_path_text",
    "json_object_agg",
    "jsonb_agg",
    "jsonb_array_elements",
    "jsonb_array_elements_text",
    "jsonb_array_length",
    "jsonb_build_array",
    "jsonb_build_object",
    "jsonb_each",
    "jsonb_extract_path",
    "jsonb_extract_path_text",
    "jsonb_object_agg",
    "jsonb_object_keys",
    "jsonb_path_query",
    "jsonb_set",
    "jsonb_typeof",
    "justify_interval",
    "lag",
    "last_value",
    "lead",
    "least",
    "left",
    "length",
    "ln",
    "localtime",
    "localtimestamp",
    "log",
    "lower",
    "lpad",
    "ltrim",
    "make_date",
    "make_interval",
    "make_timestamp",
    "make_timestamptz",
    "max",
    "md5",
    "min",
    "mod",
    "now",
    "nth_value",
    "ntile",
    "nullif",
    "octet_length",
    "overlay",
    "percent_rank",
    "percentile_cont",
    "percentile_disc",
    "pg_backend_pid",
    "pg_column_size",
    "pg_database_size",
    "pg_indexes_size",
    "pg_is_in_recovery",
    "pg_last_wal_replay_lsn",
    "pg_relation_size",
    "pg_size_pretty",
    "pg_table_size",
    "pg_total_relation_size",
    "plainto_tsquery",
    "position",
    "power",
    "random",
    "rank",
    "regexp_match",
    "regexp_matches",
    "regexp_replace",
    "regexp_split_to_array",
    "repeat",
    "replace",
    "reverse",
    "right",
    "round",
    "row",
    "row_number",
    "row_to_json",
    "rpad",
    "rtrim",
    "set_config",
    "setweight",
    "sign",
    "split_part",
    "sqrt",
    "statement_timestamp",
    "stddev",
    "stddev_pop",
    "stddev_samp",
    "string_agg",
    "string_to_array",
    "strpos",
    "substr",
    "substring",
    "sum",
    "timeofday",
    "to_char",
    "to_date",
    "to_json",
    "to_jsonb",
    "to_number",
    "to_timestamp",
    "to_tsquery",
    "to_tsvector",
    "transaction_timestamp",
    "translate",
    "trim",
    "trunc",
    "ts_rank",
    "unnest",
    "upper",
    "uuid_generate_v4",
    "variance",
    "version",
    "websearch_to_tsquery",
    "width_bucket",
];

/// Functions known to write or to need the primary's state, with the reason.
pub(crate) const WRITING_FUNCTIONS: &[(&str, &str)] = &[
    (
        "currval",
        "reads a sequence value that only the primary session has",
    ),
    (
        "lastval",
        "reads a sequence value that only the primary session has",
    ),
    ("lo_create", "creates a large object"),
    ("lo_import", "creates a large object"),
    ("lo_unlink", "deletes a large object"),
    ("nextval", "advances a sequence"),
    (
        "pg_advisory_lock",
        "takes an advisory lock, which only coordinates on the primary",
    ),
    (
        "pg_advisory_xact_lock",
        "takes an advisory lock, which only coordinates on the primary",
    ),
    ("pg_current_xact_id", "assigns a transaction id"),
    ("pg_notify", "sends a notification"),
    (
        "pg_try_advisory_lock",
        "takes an advisory lock, which only coordinates on the primary",
    ),
    (
        "pg_try_advisory_xact_lock",
        "takes an advisory lock, which only coordinates on the primary",
    ),
    ("setval", "sets a sequence"),
    ("txid_current", "assigns a transaction id"),
];

/// Words followed by `(` that are syntax, not function calls.
pub(crate) const PAREN_KEYWORDS: &[&str] = &[
    "all",
    "and",
    "array",
    "as",
    "between",
    "bit",
    "by",
    "char",
    "character",
    "check",
    "conflict",
    "cube",
    "decimal",
    "default",
    "distinct",
    "do",
    "else",
    "filter",
    "float",
    "from",
    "group",
    "groupingsets",
    "having",
    "in",
    "interval",
    "into",
    "is",
    "join",
    "key",
    "lateral",
    "like",
    "not",
    "numeric",
    "on",
    "or",
    "order",
    "over",
    "partition",
    "primary",
    "references",
    "returning",
    "rollup",
    "select",
    "sets",
    "some",
    "table",
    "then",
    "time",
    "timestamp",
    "union",
    "unique",
    "using",
    "values",
    "varchar",
    "when",
    "where",
    "window",
    "with",
    "within",
];

/// Classify one statement.
pub fn classify(sql: &str) -> Classification {
    let mut scan = Scan::default();
    let mut toks = Lexer::new(sql)
        .filter(|t| !t.kind.is_trivia() && t.kind != TokenKind::MetaCommand)
        .peekable();
    let mut prev: Option<(TokenKind, &str)> = None;
    let mut depth = 0usize;
    while let Some(tok) = toks.next() {
        let text = tok.text(sql);
        let next = toks.peek().map(|t| (t.kind, t.text(sql)));
        scan.token(tok.kind, text, prev, next, depth);
        match tok.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        prev = Some((tok.kind, text));
    }
    scan.finish(sql)
}

#[derive(Default)]
struct Scan {
    /// Leading words at depth 0, lowercased (at most 8).
    head: Vec<String>,
    head_done: bool,
    /// The main command word of a WITH statement.
    main: Option<String>,
    locking: Option<String>,
    modifying_cte: bool,
    select_into: bool,
    seen_from: bool,
    copy_from: Option<bool>,
    explain_analyze: bool,
    functions: Vec<(String, Option<&'static str>)>,
}

impl Scan {
    fn token(
        &mut self,
        kind: TokenKind,
        text: &str,
        prev: Option<(TokenKind, &str)>,
        next: Option<(TokenKind, &str)>,
        depth: usize,
    ) {
        let is_word = kind == TokenKind::Word;
        if !self.head_done {
            if is_word && depth == 0 && self.head.len() < 8 {
                self.head.push(text.to_ascii_lowercase());
            } else {
                self.head_done = true;
            }
        }
        if !is_word {
            return;
        }
        let lw = text.to_ascii_lowercase();
        let lw = lw.as_str();
        let first = self.head.first().map(String::as_str).unwrap_or("");
        // WITH: the main command is the first DML word at depth 0.
        if first == "with"
            && self.main.is_none()
            && depth == 0
            && matches!(
                lw,
                "select" | "insert" | "update" | "delete" | "merge" | "values" | "table"
            )
            && !matches!(prev, Some((TokenKind::Word, p)) if p.eq_ignore_ascii_case("for"))
        {
            self.main = Some(lw.to_string());
        }
        if matches!(prev, Some((TokenKind::LParen, _)))
            && matches!(lw, "insert" | "update" | "delete" | "merge")
        {
            self.modifying_cte = true;
        }
        if let Some((TokenKind::Word, p)) = prev {
            if p.eq_ignore_ascii_case("for") && self.locking.is_none() {
                let mode = match lw {
                    "update" => Some("FOR UPDATE"),
                    "share" => Some("FOR SHARE"),
                    "no" => Some("FOR NO KEY UPDATE"),
                    "key" => Some("FOR KEY SHARE"),
                    _ => None,
                };
                self.locking = mode.map(str::to_string);
            }
        }
        if depth == 0 && lw == "from" {
            self.seen_from = true;
        }
        if depth == 0 && lw == "into" && !self.seen_from {
            self.select_into = true;
        }
        if first == "copy" && depth == 0 && self.copy_from.is_none() {
            match lw {
                "from" => self.copy_from = Some(true),
                "to" => self.copy_from = Some(false),
                _ => {}
            }
        }
        if first == "explain" && lw == "analyze" {
            self.explain_analyze = true;
        }
        // Function calls: a word directly followed by `(`, not after `::` (a type) or `AS` (an
        // alias column list), and not a keyword that takes parentheses.
        if matches!(next, Some((TokenKind::LParen, _)))
            && !matches!(prev, Some((TokenKind::Cast, _)))
            && !matches!(prev, Some((TokenKind::Word, p)) if p.eq_ignore_ascii_case("as"))
            && !PAREN_KEYWORDS.contains(&lw)
        {
            let known_writer = WRITING_FUNCTIONS
                .iter()
                .find(|(f, _)| *f == lw)
                .map(|(_, why)| *why);
            if (known_writer.is_some() || !SAFE_FUNCTIONS.contains(&lw))
                && !self.functions.iter().any(|(f, _)| f == lw)
            {
                self.functions.push((lw.to_string(), known_writer));
            }
        }
    }

    fn finish(self, sql: &str) -> Classification {
        let h: Vec<&str> = self.head.iter().map(String::as_str).collect();
        let first = h.first().copied().unwrap_or("");
        let mut reasons: Vec<String> = Vec::new();
        let (kind, command) = match first {
            "select" | "values" | "table" | "with" => {
                let main = if first == "with" {
                    self.main.as_deref().unwrap_or("select")
                } else {
                    first
                };
                match main {
                    "insert" | "update" | "delete" | "merge" => {
                        (StatementKind::Write, main.to_ascii_uppercase())
                    }
                    _ if first == "select" && self.select_into => {
                        (StatementKind::Ddl, "SELECT INTO".to_string())
                    }
                    _ => (StatementKind::Read, main.to_ascii_uppercase()),
                }
            }
            "insert" | "update" | "delete" | "merge" | "truncate" => {
                (StatementKind::Write, first.to_ascii_uppercase())
            }
            "copy" => match self.copy_from {
                Some(true) => (StatementKind::Write, "COPY FROM".to_string()),
                _ => (StatementKind::Read, "COPY TO".to_string()),
            },
            "create" | "alter" | "drop" => (StatementKind::Ddl, ddl_command(&h)),
            "comment" | "grant" | "revoke" | "security" | "import" => {
                (StatementKind::Ddl, first.to_ascii_uppercase())
            }
            "begin" | "start" | "commit" | "end" | "rollback" | "abort" | "savepoint"
            | "release" => {
                let tag = match (first, h.get(1).copied()) {
                    ("commit", Some("prepared")) => "COMMIT PREPARED".to_string(),
                    ("rollback", Some("prepared")) => "ROLLBACK PREPARED".to_string(),
                    ("rollback", Some("to")) => "ROLLBACK TO SAVEPOINT".to_string(),
                    ("start", _) => "START TRANSACTION".to_string(),
                    ("end", _) => "COMMIT".to_string(),
                    ("abort", _) => "ROLLBACK".to_string(),
                    _ => first.to_ascii_uppercase(),
                };
                (StatementKind::Transaction, tag)
            }
            "prepare" if h.get(1) == Some(&"transaction") => (
                StatementKind::Transaction,
                "PREPARE TRANSACTION".to_string(),
            ),
            "set" if h.get(1) == Some(&"transaction") => {
                (StatementKind::Transaction, "SET TRANSACTION".to_string())
            }
            "" => (StatementKind::Utility, String::new()),
            other => (StatementKind::Utility, other.to_ascii_uppercase()),
        };

        match kind {
            StatementKind::Write => reasons.push(format!("{command} writes data")),
            StatementKind::Ddl => reasons.push(format!("{command} changes the schema")),
            StatementKind::Transaction => {
                if matches!(
                    command.as_str(),
                    "PREPARE TRANSACTION" | "COMMIT PREPARED" | "ROLLBACK PREPARED"
                ) {
                    reasons.push(format!("{command} is two-phase commit, which writes"));
                }
            }
            StatementKind::Read => {}
            StatementKind::Utility => match first {
                "set" | "reset" | "show" | "discard" | "deallocate" | "fetch" | "move"
                | "close" | "load" | "" => {}
                "explain" => {
                    if self.explain_analyze && self.writes_in_body(sql) {
                        reasons
                            .push("EXPLAIN ANALYZE executes a statement that writes".to_string());
                    }
                }
                "prepare" | "declare" => {}
                "vacuum" | "analyze" | "analyse" | "reindex" | "cluster" | "checkpoint"
                | "refresh" => reasons.push(format!("{command} is maintenance that writes")),
                "lock" => reasons
                    .push("LOCK coordinates with writers, who are on the primary".to_string()),
                "listen" | "unlisten" | "notify" => {
                    reasons.push(format!("{command} is not allowed on a replica"))
                }
                "do" | "call" | "execute" => {
                    reasons.push(format!("{command} runs code that may write"))
                }
                other => reasons.push(format!(
                    "unrecognised command {}",
                    other.to_ascii_uppercase()
                )),
            },
        }
        if let Some(mode) = &self.locking {
            reasons.push(format!("{mode} locks rows"));
        }
        if self.modifying_cte && kind == StatementKind::Read {
            reasons.push("a data-modifying WITH clause writes".to_string());
        }
        if matches!(kind, StatementKind::Read | StatementKind::Utility) {
            for (f, why) in &self.functions {
                match why {
                    Some(why) => reasons.push(format!("calls {f}(), which {why}")),
                    None => reasons.push(format!(
                        "calls {f}(), whose volatility is unknown; assumed to write"
                    )),
                }
            }
        }
        let kind = if self.modifying_cte && kind == StatementKind::Read {
            StatementKind::Write
        } else {
            kind
        };
        Classification {
            kind,
            command,
            requires_primary: !reasons.is_empty(),
            reasons,
        }
    }

    /// For EXPLAIN ANALYZE: does the explained statement write?
    fn writes_in_body(&self, sql: &str) -> bool {
        let lower = sql.to_ascii_lowercase();
        [
            "insert",
            "update",
            "delete",
            "merge",
            "create",
            "select into",
        ]
        .iter()
        .any(|w| {
            lower
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .any(|t| t == *w)
        }) || self.modifying_cte
    }
}

/// `CREATE INDEX`, `ALTER TABLE`, `DROP MATERIALIZED VIEW`, … from the leading words.
fn ddl_command(h: &[&str]) -> String {
    const SKIP: &[&str] = &[
        "or",
        "replace",
        "temp",
        "temporary",
        "unlogged",
        "global",
        "local",
        "unique",
        "trusted",
        "procedural",
        "recursive",
        "if",
        "not",
        "exists",
        "default",
        "constraint",
    ];
    const TWO_WORD: &[&str] = &[
        "materialized",
        "foreign",
        "event",
        "text",
        "access",
        "user",
        "operator",
    ];
    let verb = h[0].to_ascii_uppercase();
    let mut i = 1;
    while i < h.len() && SKIP.contains(&h[i]) && !(h[i] == "user" && i + 1 < h.len()) {
        i += 1;
    }
    let Some(obj) = h.get(i) else { return verb };
    let mut out = format!("{verb} {}", obj.to_ascii_uppercase());
    if TWO_WORD.contains(obj) {
        if let Some(second) = h.get(i + 1) {
            if *obj != "user" || *second == "mapping" {
                out.push(' ');
                out.push_str(&second.to_ascii_uppercase());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(sql: &str) -> Classification {
        classify(sql)
    }

    #[test]
    fn reads_may_run_on_replicas() {
        for sql in [
            "SELECT * FROM orders WHERE id = 1",
            "select count(*), lower(email) from users group by 2",
            "VALUES (1), (2)",
            "with x as (select 1) select * from x",
            "COPY orders TO STDOUT",
            "select now(), date_trunc('day', created_at)::date from events",
        ] {
            let k = c(sql);
            assert_eq!(k.kind, StatementKind::Read, "{sql}");
            assert!(!k.requires_primary, "{sql}: {:?}", k.reasons);
        }
    }

    #[test]
    fn writes_and_locks_need_the_primary() {
        let k = c("UPDATE orders SET status = 'paid' WHERE id = 3");
        assert_eq!(
            (k.kind, k.command.as_str()),
            (StatementKind::Write, "UPDATE")
        );
        assert!(k.requires_primary);
        let k = c("select * from orders where id = 1 for no key update skip locked");
        assert_eq!(k.kind, StatementKind::Read);
        assert_eq!(k.reasons, vec!["FOR NO KEY UPDATE locks rows"]);
        let k = c("with d as (delete from carts where id = 1 returning *) select * from d");
        assert_eq!(k.kind, StatementKind::Write);
        assert!(k.reasons.iter().any(|r| r.contains("data-modifying")));
        let k = c("select nextval('orders_id_seq')");
        assert_eq!(
            k.reasons,
            vec!["calls nextval(), which advances a sequence"]
        );
        let k = c("select my_func(1)");
        assert!(k.requires_primary);
        assert!(
            k.reasons[0].contains("my_func() whose") || k.reasons[0].contains("my_func(), whose")
        );
        let k = c("select * into archive from orders");
        assert_eq!(
            (k.kind, k.command.as_str()),
            (StatementKind::Ddl, "SELECT INTO")
        );
        let k = c("COPY orders FROM STDIN");
        assert_eq!(
            (k.kind, k.command.as_str()),
            (StatementKind::Write, "COPY FROM")
        );
    }

    #[test]
    fn ddl_transaction_and_utility() {
        assert_eq!(
            c("CREATE UNIQUE INDEX CONCURRENTLY i ON t (a)").command,
            "CREATE INDEX"
        );
        assert_eq!(
            c("create or replace function f() returns int as $$ select 1 $$ language sql").command,
            "CREATE FUNCTION"
        );
        assert_eq!(
            c("DROP MATERIALIZED VIEW IF EXISTS mv").command,
            "DROP MATERIALIZED VIEW"
        );
        assert_eq!(c("alter table t add column x int").kind, StatementKind::Ddl);
        let k = c("BEGIN");
        assert_eq!(
            (k.kind, k.requires_primary),
            (StatementKind::Transaction, false)
        );
        assert!(c("PREPARE TRANSACTION 'x'").requires_primary);
        let k = c("SET statement_timeout = 5000");
        assert_eq!(
            (k.kind, k.requires_primary),
            (StatementKind::Utility, false)
        );
        assert!(c("VACUUM ANALYZE orders").requires_primary);
        assert!(c("EXPLAIN ANALYZE DELETE FROM t").requires_primary);
        assert!(!c("EXPLAIN SELECT 1").requires_primary);
        assert!(c("frobnicate everything").reasons[0].starts_with("unrecognised command"));
    }

    #[test]
    fn casts_and_aliases_are_not_calls() {
        let k = c("select x::varchar(10), v.a from (values (1)) as v(a)");
        assert!(!k.requires_primary, "{:?}", k.reasons);
    }
}
