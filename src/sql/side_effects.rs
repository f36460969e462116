//! Effects that survive a rollback. `EXPLAIN ANALYZE` executes its statement and `dbkit check`
//! applies a migration, both inside a transaction that is rolled back — but some functions act
//! outside the transaction (a sequence set with `setval`, a replication slot, a reset of the
//! statistics, a terminated backend, a row written through dblink) and some statements write
//! files on the server (`COPY … TO 'file'`, `COPY … PROGRAM`). This module finds them.
//!
//! Calls are read from tokens, so a statement sqlparser cannot parse is checked all the same:
//! any word or quoted identifier directly followed by `(` (schema-qualified or not). The bodies
//! of `DO` blocks are scanned too. Functions defined in the database are judged by their
//! bodies through a [`FunctionCatalog`] (the db layer reads `pg_proc`); without one, every
//! function dbkit does not know is reported as unknown.
//!
//! Known limits: functions reached through operators, casts, triggers or rules are not seen.

use super::classify::{PAREN_KEYWORDS, SAFE_FUNCTIONS, WRITING_FUNCTIONS};
use super::lexer::{Lexer, TokenKind};
use serde::Serialize;
use std::collections::BTreeSet;

/// Built-in functions whose effect survives a rollback, with what they do. Names ending in `*`
/// are prefixes.
pub const NON_TRANSACTIONAL: &[(&str, &str)] = &[
    (
        "dblink*",
        "runs SQL on another server, in a transaction of its own",
    ),
    (
        "lo_*",
        "works on large objects and server files outside the transaction",
    ),
    (
        "pg_advisory_lock",
        "takes a session-level advisory lock that outlives the transaction",
    ),
    (
        "pg_advisory_lock_shared",
        "takes a session-level advisory lock that outlives the transaction",
    ),
    (
        "pg_advisory_unlock",
        "releases a session-level advisory lock",
    ),
    (
        "pg_advisory_unlock_all",
        "releases session-level advisory locks",
    ),
    (
        "pg_advisory_unlock_shared",
        "releases a session-level advisory lock",
    ),
    ("pg_backup_start", "starts a backup"),
    ("pg_backup_stop", "stops a backup"),
    ("pg_cancel_backend", "cancels another session's query"),
    (
        "pg_copy_logical_replication_slot",
        "creates a replication slot",
    ),
    (
        "pg_copy_physical_replication_slot",
        "creates a replication slot",
    ),
    (
        "pg_create_logical_replication_slot",
        "creates a replication slot",
    ),
    (
        "pg_create_physical_replication_slot",
        "creates a replication slot",
    ),
    (
        "pg_create_restore_point",
        "writes a restore point into the WAL",
    ),
    ("pg_drop_replication_slot", "drops a replication slot"),
    ("pg_file_rename", "renames a file on the server"),
    ("pg_file_sync", "syncs a file on the server"),
    ("pg_file_unlink", "deletes a file on the server"),
    ("pg_file_write", "writes a file on the server"),
    (
        "pg_log_backend_memory_contexts",
        "writes into the server log",
    ),
    ("pg_logical_emit_message", "writes a message into the WAL"),
    (
        "pg_logical_slot_get_binary_changes",
        "consumes a replication slot's changes",
    ),
    (
        "pg_logical_slot_get_changes",
        "consumes a replication slot's changes",
    ),
    ("pg_notify", "queues a notification"),
    ("pg_promote", "promotes a standby"),
    ("pg_reload_conf", "reloads the server configuration"),
    (
        "pg_replication_origin_advance",
        "moves a replication origin",
    ),
    (
        "pg_replication_origin_create",
        "creates a replication origin",
    ),
    ("pg_replication_origin_drop", "drops a replication origin"),
    (
        "pg_replication_origin_session_reset",
        "changes the session's replication origin",
    ),
    (
        "pg_replication_origin_session_setup",
        "changes the session's replication origin",
    ),
    (
        "pg_replication_origin_xact_setup",
        "changes the transaction's replication origin",
    ),
    ("pg_replication_slot_advance", "moves a replication slot"),
    ("pg_rotate_logfile", "rotates the server log"),
    ("pg_start_backup", "starts a backup"),
    ("pg_stat_reset*", "resets statistics"),
    ("pg_stat_statements_reset", "resets pg_stat_statements"),
    ("pg_stop_backup", "stops a backup"),
    ("pg_switch_wal", "switches to a new WAL file"),
    ("pg_terminate_backend", "terminates another session"),
    (
        "pg_try_advisory_lock",
        "takes a session-level advisory lock that outlives the transaction",
    ),
    (
        "pg_try_advisory_lock_shared",
        "takes a session-level advisory lock that outlives the transaction",
    ),
    ("pg_wal_replay_pause", "pauses WAL replay"),
    ("pg_wal_replay_resume", "resumes WAL replay"),
    ("setval", "sets a sequence, which a rollback does not undo"),
];

/// What a non-transactional built-in does, if `name` is one.
pub fn non_transactional(name: &str) -> Option<&'static str> {
    NON_TRANSACTIONAL.iter().find_map(|(n, why)| {
        let hit = match n.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *n,
        };
        hit.then_some(*why)
    })
}

/// One effect that survives a rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideEffect {
    /// What does it: `setval()`, `COPY … TO PROGRAM`, `f() → setval()`.
    pub what: String,
    /// What it does.
    pub why: String,
}

/// What a statement does beyond its transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SideEffects {
    /// Effects that survive a rollback.
    pub effects: Vec<SideEffect>,
    /// Functions called whose effects dbkit cannot tell (C, other languages, dynamic SQL, or
    /// not found), by name.
    pub unknown: Vec<String>,
}

impl SideEffects {
    /// No effect and nothing unknown.
    pub fn is_clean(&self) -> bool {
        self.effects.is_empty() && self.unknown.is_empty()
    }

    /// The effects as one line: `setval() sets a sequence…; COPY … PROGRAM runs a program`.
    pub fn describe(&self) -> String {
        self.effects
            .iter()
            .map(|e| format!("{} {}", e.what, e.why))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A function defined in the database, as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    /// Its schema.
    pub schema: String,
    /// Its language (`sql`, `plpgsql`, `c`, `internal`…).
    pub language: String,
    /// Its body (`prosrc`).
    pub body: String,
}

/// Where the definitions of called functions come from.
pub trait FunctionCatalog {
    /// Every overload of `name`, or `None` when the catalog was not asked about it.
    fn lookup(&self, name: &str) -> Option<&[FunctionDef]>;
}

/// No catalog: every function dbkit does not know is unknown.
pub struct NoCatalog;
impl FunctionCatalog for NoCatalog {
    fn lookup(&self, _: &str) -> Option<&[FunctionDef]> {
        None
    }
}

impl FunctionCatalog for std::collections::HashMap<String, Vec<FunctionDef>> {
    fn lookup(&self, name: &str) -> Option<&[FunctionDef]> {
        self.get(name).map(Vec::as_slice)
    }
}

/// How deep function bodies are followed (f calls g calls h…).
pub const MAX_BODY_DEPTH: usize = 4;

/// What one text calls, from its tokens.
#[derive(Debug, Default)]
struct Calls {
    /// Names in the position of a function call.
    functions: BTreeSet<String>,
    /// Every name followed by `(`, wherever it is (a table's column list too): checked
    /// against [`NON_TRANSACTIONAL`] so that no context rule can hide a dangerous call.
    any: BTreeSet<String>,
    copy_program: bool,
    copy_to_file: bool,
    dynamic_sql: bool,
}

fn scan_text(sql: &str, body: bool, out: &mut Calls, depth: usize) {
    let toks: Vec<(TokenKind, &str)> = Lexer::new(sql)
        .filter(|t| !t.kind.is_trivia() && t.kind != TokenKind::MetaCommand)
        .map(|t| (t.kind, t.text(sql)))
        .collect();
    let first = toks
        .first()
        .filter(|(k, _)| *k == TokenKind::Word)
        .map(|(_, t)| t.to_ascii_lowercase());
    // Where each `(` closes, in one pass.
    let mut close: Vec<Option<usize>> = vec![None; toks.len()];
    let mut open = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        match t.0 {
            TokenKind::LParen => open.push(i),
            TokenKind::RParen => {
                if let Some(o) = open.pop() {
                    close[o] = Some(i);
                }
            }
            _ => {}
        }
    }
    let is_do = first.as_deref() == Some("do");
    let is_copy = first.as_deref() == Some("copy");
    let mut copy_dir: Option<&str> = None;
    for (i, &(kind, text)) in toks.iter().enumerate() {
        let next = toks.get(i + 1).map(|t| t.0);
        let prev = i.checked_sub(1).map(|j| toks[j]);
        let lw = text.to_ascii_lowercase();
        if is_copy && kind == TokenKind::Word {
            match lw.as_str() {
                "to" | "from" if copy_dir.is_none() => {
                    copy_dir = Some(if lw == "to" { "to" } else { "from" });
                    if lw == "to"
                        && toks.get(i + 1).is_some_and(|t| {
                            matches!(t.0, TokenKind::String | TokenKind::EscapeString)
                        })
                    {
                        out.copy_to_file = true;
                    }
                }
                "program" if copy_dir.is_some() => out.copy_program = true,
                _ => {}
            }
        }
        if body && kind == TokenKind::Word && lw == "execute" {
            out.dynamic_sql = true;
        }
        // Code inside a DO block (or a body being scanned) runs: scan its strings too.
        if (is_do || body)
            && depth < MAX_BODY_DEPTH
            && matches!(kind, TokenKind::DollarString | TokenKind::String)
        {
            scan_text(string_content(kind, text), true, out, depth + 1);
        }
        if next != Some(TokenKind::LParen) {
            continue;
        }
        let name = match kind {
            TokenKind::Word => lw,
            TokenKind::QuotedIdent => {
                let inner = text.strip_prefix('"').unwrap_or(text);
                inner
                    .strip_suffix('"')
                    .unwrap_or(inner)
                    .replace("\"\"", "\"")
            }
            _ => continue,
        };
        let after_cast_or_as = match prev {
            Some((TokenKind::Cast, _)) => true,
            Some((TokenKind::Word, p)) => p.eq_ignore_ascii_case("as"),
            _ => false,
        };
        if after_cast_or_as || (kind == TokenKind::Word && PAREN_KEYWORDS.contains(&name.as_str()))
        {
            continue;
        }
        out.any.insert(name.clone());
        if is_call_position(&toks, &close, i, first.as_deref() == Some("create")) {
            out.functions.insert(name);
        }
    }
}

/// Words after which a name and `(` are a table or column list, not a call.
const NAME_INTRODUCERS: &[&str] = &[
    "into",
    "table",
    "references",
    "with",
    "function",
    "procedure",
    "index",
    "only",
    "copy",
    "type",
    "view",
    "trigger",
    "aggregate",
    "using",
];

/// Words after which a name and `(` are a call (besides the reserved keywords).
const CALL_INTRODUCERS: &[&str] = &["by", "perform", "return", "call", "raise", "over"];

/// Whether the name at `i` (followed by `(`) is called: not a table's column list
/// (`INSERT INTO t (a)`, `CREATE INDEX ON t (a)`), a CTE's (`WITH c (a) AS (…)`) or an alias's
/// (`FROM f() AS g(a)`, `FROM t x(a)`).
fn is_call_position(
    toks: &[(TokenKind, &str)],
    close: &[Option<usize>],
    i: usize,
    create: bool,
) -> bool {
    // The start of a qualified name `a.b.c`.
    let mut start = i;
    while start >= 2
        && toks[start - 1].0 == TokenKind::Dot
        && matches!(toks[start - 2].0, TokenKind::Word | TokenKind::QuotedIdent)
    {
        start -= 2;
    }
    // A CTE column list: `name (cols) AS (` or `AS [NOT] MATERIALIZED`.
    if let Some(j) = close.get(i + 1).copied().flatten() {
        let w = |k: usize| toks.get(k).map(|t| t.1.to_ascii_lowercase());
        if w(j + 1).as_deref() == Some("as")
            && (toks.get(j + 2).is_some_and(|t| t.0 == TokenKind::LParen)
                || matches!(w(j + 2).as_deref(), Some("materialized" | "not")))
        {
            return false;
        }
    }
    let Some(&(kind, text)) = start.checked_sub(1).map(|j| &toks[j]) else {
        return true;
    };
    match kind {
        TokenKind::RParen | TokenKind::QuotedIdent => false,
        TokenKind::Word => {
            let p = text.to_ascii_lowercase();
            let partition_by = p == "by"
                && start >= 2
                && toks[start - 2].1.eq_ignore_ascii_case("partition")
                && toks[start - 2].0 == TokenKind::Word;
            if NAME_INTRODUCERS.contains(&p.as_str()) || (create && p == "on") || partition_by {
                false
            } else {
                crate::sql::ident::is_non_unreserved_keyword(&p)
                    || CALL_INTRODUCERS.contains(&p.as_str())
            }
        }
        _ => true,
    }
}

/// The text inside a string or dollar-quoted token.
fn string_content(kind: TokenKind, text: &str) -> &str {
    match kind {
        TokenKind::DollarString => {
            let tag_end = text[1..].find('$').map_or(text.len(), |p| p + 2);
            let close = text.len().saturating_sub(tag_end);
            text.get(tag_end..close.max(tag_end)).unwrap_or("")
        }
        // Without the quotes; an unterminated token may end inside a multi-byte character.
        _ => text.get(1..text.len().saturating_sub(1)).unwrap_or(""),
    }
}

/// Words that look like calls in bodies but are syntax (PL/pgSQL and SQL).
const BODY_SYNTAX: &[&str] = &[
    "if",
    "elsif",
    "while",
    "return",
    "query",
    "perform",
    "raise",
    "format",
    "exception",
    "loop",
    "foreach",
    "into",
    "strict",
    "exists",
    "coalesce",
    "nullif",
    "greatest",
    "least",
];

/// Find the effects of `sql` that survive a rollback, following the bodies of SQL and
/// PL/pgSQL functions the catalog knows.
///
/// ```
/// use dbkit::sql::side_effects::{assess, NoCatalog};
/// let s = assess("SELECT pg_catalog.setval('s', 1), lower(name) FROM t", &NoCatalog);
/// assert_eq!(s.effects[0].what, "setval()");
/// assert!(s.unknown.is_empty());
/// ```
pub fn assess(sql: &str, catalog: &dyn FunctionCatalog) -> SideEffects {
    let mut calls = Calls::default();
    scan_text(sql, false, &mut calls, 0);
    let mut out = SideEffects::default();
    if calls.copy_program {
        out.effects.push(SideEffect {
            what: "COPY … PROGRAM".into(),
            why: "runs a program on the server".into(),
        });
    }
    if calls.copy_to_file {
        out.effects.push(SideEffect {
            what: "COPY … TO 'file'".into(),
            why: "writes a file on the server".into(),
        });
    }
    if calls.dynamic_sql {
        out.unknown
            .push("dynamic SQL (EXECUTE) in a DO block".into());
    }
    let mut seen = BTreeSet::new();
    for f in calls.any.iter().filter(|f| non_transactional(f).is_some()) {
        follow(f, f, catalog, 0, &mut seen, &mut out);
    }
    for f in &calls.functions {
        follow(f, f, catalog, 0, &mut seen, &mut out);
    }
    out.unknown.sort();
    out.unknown.dedup();
    out
}

fn follow(
    name: &str,
    path: &str,
    catalog: &dyn FunctionCatalog,
    depth: usize,
    seen: &mut BTreeSet<String>,
    out: &mut SideEffects,
) {
    if !seen.insert(name.to_string()) {
        return;
    }
    if let Some(why) = non_transactional(name) {
        out.effects.push(SideEffect {
            what: format!("{path}()"),
            why: why.to_string(),
        });
        return;
    }
    let defs = catalog.lookup(name);
    let builtin = |d: &FunctionDef| d.schema == "pg_catalog" || d.schema == "information_schema";
    match defs {
        Some(defs) if !defs.is_empty() && defs.iter().all(builtin) => {}
        Some(defs) if !defs.is_empty() => {
            for d in defs.iter().filter(|d| !builtin(d)) {
                let readable = matches!(d.language.as_str(), "sql" | "plpgsql");
                if !readable || depth >= MAX_BODY_DEPTH {
                    out.unknown.push(format!("{name} ({})", d.language));
                    continue;
                }
                let mut calls = Calls::default();
                scan_text(&d.body, true, &mut calls, 0);
                if calls.dynamic_sql && d.language == "plpgsql" {
                    out.unknown.push(format!("{name} (dynamic SQL)"));
                }
                let dangerous = calls.any.iter().filter(|c| non_transactional(c).is_some());
                for c in dangerous
                    .chain(calls.functions.iter())
                    .filter(|c| !BODY_SYNTAX.contains(&c.as_str()))
                {
                    follow(c, &format!("{path}() → {c}"), catalog, depth + 1, seen, out);
                }
            }
        }
        // Known built-ins: read-only ones, and writers whose writes the rollback undoes
        // (`nextval` advances its sequence all the same: documented).
        _ if SAFE_FUNCTIONS.contains(&name)
            || WRITING_FUNCTIONS.iter().any(|(f, _)| *f == name)
            || BODY_SYNTAX.contains(&name) => {}
        // Asked and not found, or not asked: nothing known about it.
        _ => out.unknown.push(name.to_string()),
    }
}

/// Function names `sql` calls, including those inside DO blocks: what a catalog lookup needs.
pub fn called_functions(sql: &str) -> BTreeSet<String> {
    let mut calls = Calls::default();
    scan_text(sql, false, &mut calls, 0);
    calls.functions
}

/// Function names a function body calls (for following bodies through the catalog).
pub fn body_calls(body: &str) -> BTreeSet<String> {
    let mut calls = Calls::default();
    scan_text(body, true, &mut calls, 0);
    calls
        .functions
        .into_iter()
        .filter(|c| !BODY_SYNTAX.contains(&c.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn effects(sql: &str) -> Vec<String> {
        assess(sql, &NoCatalog)
            .effects
            .into_iter()
            .map(|e| e.what)
            .collect()
    }

    #[test]
    fn non_transactional_calls_are_found_however_written() {
        for sql in [
            "SELECT setval('s', 1)",
            "select SETVAL ('s', 1)",
            "SELECT pg_catalog.setval('s', 1)",
            "SELECT \"setval\"('s', 1)",
            "SELECT /* x */ setval\n('s', 1)",
            "WITH x AS (SELECT setval('s', 1)) SELECT * FROM x",
            "UPDATE t SET a = (SELECT setval('s', 1))",
            "SELECT 1 FROM t WHERE setval('s', 1) > 0",
        ] {
            assert_eq!(effects(sql), vec!["setval()"], "{sql}");
        }
        assert_eq!(effects("SELECT pg_stat_reset()"), vec!["pg_stat_reset()"]);
        assert_eq!(
            effects("select pg_stat_reset_single_table_counters(1)"),
            vec!["pg_stat_reset_single_table_counters()"]
        );
        assert_eq!(
            effects("SELECT * FROM dblink('x', 'delete from t') AS r(a int)"),
            vec!["dblink()"]
        );
        assert_eq!(
            effects("SELECT lo_export(1, '/tmp/x')"),
            vec!["lo_export()"]
        );
        assert_eq!(
            effects("DO $$ BEGIN PERFORM pg_terminate_backend(42); END $$"),
            vec!["pg_terminate_backend()"]
        );
        assert_eq!(
            effects("COPY t TO PROGRAM 'rm -rf /'"),
            vec!["COPY … PROGRAM"]
        );
        assert_eq!(effects("COPY t TO '/tmp/out'"), vec!["COPY … TO 'file'"]);
        assert!(effects("COPY t TO STDOUT").is_empty());
    }

    #[test]
    fn harmless_statements_are_clean() {
        for sql in [
            "SELECT nextval('s')",
            "SELECT count(*), lower(email) FROM users WHERE id = any($1)",
            "SELECT 'setval(1)' AS text, \"x\" FROM t",
            "SELECT x::numeric(10, 2), CAST(y AS varchar(3)) FROM t",
            "SELECT pg_advisory_xact_lock(1)",
            "SELECT 1 -- setval('s', 1)",
            "INSERT INTO t (a, b) VALUES (1, 2)",
            "INSERT INTO public.\"T\" (a) SELECT g FROM generate_series(1, 3) AS s(g)",
            "SELECT * FROM generate_series(1, 3) g(x) JOIN t u(a) ON true ORDER BY abs(x)",
            "WITH c (a) AS (SELECT 1), d (b) AS MATERIALIZED (SELECT 2) SELECT * FROM c, d",
            "CREATE INDEX i ON t (a)",
            "COPY t (a, b) FROM STDIN",
            "CREATE INDEX i ON t USING gin (doc)",
            "CREATE TABLE e (id int, at timestamptz, price numeric(10, 2)) PARTITION BY RANGE (at)",
            "ALTER TABLE t ALTER COLUMN c TYPE varchar(20)",
        ] {
            let s = assess(sql, &NoCatalog);
            assert!(s.is_clean(), "{sql}: {s:?}");
        }
    }

    #[test]
    fn a_dangerous_name_is_found_in_any_position() {
        // A context rule must never hide these: a column list named like one is still flagged.
        assert_eq!(
            effects("INSERT INTO setval (a) VALUES (1)"),
            vec!["setval()"]
        );
        assert_eq!(
            assess("SELECT 1 FROM t x(a) WHERE f(a)", &NoCatalog).unknown,
            vec!["f"]
        );
    }

    #[test]
    fn unknown_functions_are_named_and_catalog_bodies_are_followed() {
        let s = assess("SELECT my_func(1), other_func()", &NoCatalog);
        assert_eq!(s.unknown, vec!["my_func", "other_func"]);
        assert!(s.effects.is_empty());

        let def = |language: &str, body: &str| FunctionDef {
            schema: "public".into(),
            language: language.into(),
            body: body.into(),
        };
        let mut cat: HashMap<String, Vec<FunctionDef>> = HashMap::new();
        cat.insert("bump".into(), vec![def("sql", "SELECT inner_bump($1)")]);
        cat.insert(
            "inner_bump".into(),
            vec![def(
                "plpgsql",
                "BEGIN PERFORM setval('s', $1); RETURN 1; END",
            )],
        );
        cat.insert("pure".into(), vec![def("sql", "SELECT $1 + 1")]);
        cat.insert("native".into(), vec![def("c", "native_fn")]);
        cat.insert(
            "dynamic".into(),
            vec![def("plpgsql", "BEGIN EXECUTE 'select 1'; END")],
        );
        cat.insert(
            "upper".into(),
            vec![FunctionDef {
                schema: "pg_catalog".into(),
                language: "internal".into(),
                body: "upper".into(),
            }],
        );
        let s = assess(
            "SELECT bump(1), pure(2), native(3), dynamic(), upper('x')",
            &cat,
        );
        assert_eq!(s.effects.len(), 1, "{s:?}");
        assert_eq!(s.effects[0].what, "bump() → inner_bump() → setval()");
        assert_eq!(s.unknown, vec!["dynamic (dynamic SQL)", "native (c)"]);
        // A function that calls itself is followed once.
        cat.insert("rec".into(), vec![def("sql", "SELECT rec($1)")]);
        assert!(assess("SELECT rec(1)", &cat).is_clean());
    }
}
