//! Transaction control in user SQL, recognised from tokens (any case, any spelling, comments
//! before it): `BEGIN`/`START TRANSACTION`, `COMMIT`/`END`, `ROLLBACK`/`ABORT`, savepoints,
//! two-phase commit and `SET TRANSACTION`.
//!
//! `dbkit check` and `dbkit explain` never send such a statement on a user's connection: they
//! model it inside the transaction they own (see `ops::check`), so nothing the user wrote can end
//! that transaction and commit what was meant to be rolled back.

use super::lexer::{Lexer, TokenKind};

/// A transaction-control statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnControl {
    /// `BEGIN`, `BEGIN WORK`, `START TRANSACTION …`.
    Begin,
    /// `COMMIT`, `END`, `COMMIT AND CHAIN` (`chain`: a new transaction starts at once).
    Commit {
        /// `AND CHAIN`.
        chain: bool,
    },
    /// `ROLLBACK`, `ABORT`, `ROLLBACK AND CHAIN`.
    Rollback {
        /// `AND CHAIN`.
        chain: bool,
    },
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`.
    RollbackTo(String),
    /// `PREPARE TRANSACTION`, `COMMIT PREPARED`, `ROLLBACK PREPARED`: the command tag.
    TwoPhase(&'static str),
    /// `SET TRANSACTION …`, `SET SESSION CHARACTERISTICS AS TRANSACTION …`.
    SetTransaction,
}

impl TxnControl {
    /// The command as PostgreSQL names it.
    pub fn command(&self) -> &'static str {
        match self {
            TxnControl::Begin => "BEGIN",
            TxnControl::Commit { .. } => "COMMIT",
            TxnControl::Rollback { .. } => "ROLLBACK",
            TxnControl::Savepoint(_) => "SAVEPOINT",
            TxnControl::Release(_) => "RELEASE",
            TxnControl::RollbackTo(_) => "ROLLBACK TO SAVEPOINT",
            TxnControl::TwoPhase(tag) => tag,
            TxnControl::SetTransaction => "SET TRANSACTION",
        }
    }
}

/// A word token lowercased, or a quoted identifier's name (with `""` undone).
fn name_of(kind: TokenKind, text: &str) -> Option<String> {
    match kind {
        TokenKind::Word => Some(text.to_ascii_lowercase()),
        TokenKind::QuotedIdent => {
            // An unterminated identifier (to the end of the input) has no closing quote, and
            // its last character may be several bytes long (fuzzing found one ending in a BOM).
            let inner = text.strip_prefix('"')?;
            let inner = inner.strip_suffix('"').unwrap_or(inner);
            Some(inner.replace("\"\"", "\""))
        }
        _ => None,
    }
}

/// The transaction-control statement `sql` is, if it is one.
///
/// ```
/// use dbkit::sql::txn::{transaction_control, TxnControl};
/// assert_eq!(transaction_control("/* done */ END"), Some(TxnControl::Commit { chain: false }));
/// assert_eq!(transaction_control("rollback work to sp1"), Some(TxnControl::RollbackTo("sp1".into())));
/// assert_eq!(transaction_control("SELECT 1"), None);
/// ```
pub fn transaction_control(sql: &str) -> Option<TxnControl> {
    let toks: Vec<(TokenKind, &str)> = Lexer::new(sql)
        .filter(|t| !t.kind.is_trivia() && t.kind != TokenKind::MetaCommand)
        .take(8)
        .map(|t| (t.kind, t.text(sql)))
        .collect();
    let word = |i: usize| -> Option<String> {
        toks.get(i)
            .filter(|(k, _)| *k == TokenKind::Word)
            .map(|(_, t)| t.to_ascii_lowercase())
    };
    let words: Vec<String> = (0..toks.len()).map_while(word).collect();
    let w = |i: usize| words.get(i).map(String::as_str);
    let chain = words.windows(2).any(|p| p[0] == "and" && p[1] == "chain")
        && !words
            .windows(3)
            .any(|p| p[0] == "and" && p[1] == "no" && p[2] == "chain");
    // The savepoint name: the first token after the keywords in `skip`.
    let name_after = |from: usize, skip: &[&str]| -> Option<String> {
        let mut i = from;
        while w(i).is_some_and(|x| skip.contains(&x)) {
            i += 1;
        }
        toks.get(i).and_then(|(k, t)| name_of(*k, t))
    };
    match w(0)? {
        "begin" => Some(TxnControl::Begin),
        "start" if w(1) == Some("transaction") => Some(TxnControl::Begin),
        "commit" if w(1) == Some("prepared") => Some(TxnControl::TwoPhase("COMMIT PREPARED")),
        "commit" | "end" => Some(TxnControl::Commit { chain }),
        "rollback" if w(1) == Some("prepared") => Some(TxnControl::TwoPhase("ROLLBACK PREPARED")),
        "rollback" | "abort" => {
            let to = words.iter().position(|x| x == "to");
            match to {
                Some(i) if w(0) == Some("rollback") => {
                    name_after(i + 1, &["savepoint"]).map(TxnControl::RollbackTo)
                }
                _ => Some(TxnControl::Rollback { chain }),
            }
        }
        "savepoint" => name_after(1, &[]).map(TxnControl::Savepoint),
        "release" => name_after(1, &["savepoint"]).map(TxnControl::Release),
        "prepare" if w(1) == Some("transaction") => {
            Some(TxnControl::TwoPhase("PREPARE TRANSACTION"))
        }
        "set" if w(1) == Some("transaction") => Some(TxnControl::SetTransaction),
        "set" if w(1) == Some("session") && w(2) == Some("characteristics") => {
            Some(TxnControl::SetTransaction)
        }
        _ => None,
    }
}

/// Why `sql` cannot run inside a transaction block, if it cannot (`CREATE INDEX
/// CONCURRENTLY`, `VACUUM`, `CREATE DATABASE`, `ALTER SYSTEM`…), from its leading words.
pub fn needs_no_transaction(sql: &str) -> Option<String> {
    let words: Vec<String> = Lexer::new(sql)
        .filter(|t| !t.kind.is_trivia() && t.kind != TokenKind::MetaCommand)
        .take_while(|t| t.kind == TokenKind::Word)
        .take(8)
        .map(|t| t.text(sql).to_ascii_lowercase())
        .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    // Only these commands can be refused in a transaction block: anything else (most of a
    // migration) is answered from its first word, without reading the rest.
    if !matches!(
        w.first(),
        Some(&("vacuum" | "create" | "drop" | "reindex" | "alter" | "cluster" | "discard"))
    ) {
        return None;
    }
    let concurrently = || {
        Lexer::new(sql)
            .any(|t| t.kind == TokenKind::Word && t.text(sql).eq_ignore_ascii_case("concurrently"))
    };
    let what = match w.as_slice() {
        ["vacuum", ..] => "VACUUM",
        ["create" | "drop", "database", ..] => "CREATE/DROP DATABASE",
        ["create" | "drop", "tablespace", ..] => "CREATE/DROP TABLESPACE",
        ["alter", "system", ..] => "ALTER SYSTEM",
        ["create", rest @ ..] if rest.contains(&"index") && concurrently() => {
            "CREATE INDEX CONCURRENTLY"
        }
        ["drop", "index", ..] if concurrently() => "DROP INDEX CONCURRENTLY",
        ["reindex", ..] if concurrently() => "REINDEX CONCURRENTLY",
        ["reindex", "system" | "database", ..] => "REINDEX SYSTEM/DATABASE",
        ["alter", "table", ..] if concurrently() => "ALTER TABLE … DETACH PARTITION CONCURRENTLY",
        ["cluster"] => "CLUSTER without a table",
        ["discard", "all"] => "DISCARD ALL",
        ["create", "subscription", ..] => "CREATE SUBSCRIPTION",
        ["drop", "subscription", ..] => "DROP SUBSCRIPTION",
        _ => return None,
    };
    Some(format!("{what} cannot run inside a transaction block"))
}

/// What dbkit sends in place of a transaction-control statement of a migration (see
/// [`TxnModel::apply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modelled {
    /// Send these statements, which dbkit generated.
    Send(Vec<String>),
    /// Send nothing, for this reason.
    Skip(String),
    /// The server would fail the statement with this message.
    Fail(String),
}

/// A migration's own transaction control, modelled inside the one transaction dbkit runs the
/// check in: the file's BEGIN … COMMIT becomes a savepoint released at COMMIT and rolled back
/// to at ROLLBACK; its savepoints become savepoints of dbkit's naming. Nothing of the user's
/// text is sent, so nothing can end dbkit's transaction.
#[derive(Debug, Clone, Default)]
pub struct TxnModel {
    open: bool,
    savepoints: Vec<String>,
}

/// The savepoint that stands for a migration file's own transaction.
pub const FILE_SAVEPOINT: &str = "dbkit_file_tx";

fn user_savepoint(name: &str) -> String {
    crate::sql::ident::quote_ident(&format!("dbkit_sp_{name}"))
}

impl TxnModel {
    /// Whether the file has an open transaction of its own.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// What to send for `c`.
    pub fn apply(&mut self, c: &TxnControl) -> Modelled {
        let begin = || format!("SAVEPOINT {FILE_SAVEPOINT}");
        let release = || format!("RELEASE SAVEPOINT {FILE_SAVEPOINT}");
        match c {
            TxnControl::Begin if self.open => {
                Modelled::Skip("BEGIN inside the file's transaction: the server only warns".into())
            }
            TxnControl::Begin => {
                self.open = true;
                Modelled::Send(vec![begin()])
            }
            TxnControl::Commit { .. } | TxnControl::Rollback { .. } if !self.open => {
                Modelled::Skip(format!(
                    "{} outside a transaction of the file's: the server only warns",
                    c.command()
                ))
            }
            TxnControl::Commit { chain } | TxnControl::Rollback { chain } => {
                self.savepoints.clear();
                let mut out = Vec::new();
                if matches!(c, TxnControl::Rollback { .. }) {
                    out.push(format!("ROLLBACK TO SAVEPOINT {FILE_SAVEPOINT}"));
                }
                out.push(release());
                if *chain {
                    out.push(begin());
                } else {
                    self.open = false;
                }
                Modelled::Send(out)
            }
            TxnControl::Savepoint(n) => {
                self.savepoints.push(n.clone());
                Modelled::Send(vec![format!("SAVEPOINT {}", user_savepoint(n))])
            }
            TxnControl::Release(n) | TxnControl::RollbackTo(n) => {
                let Some(i) = self.savepoints.iter().rposition(|s| s == n) else {
                    return Modelled::Fail(format!("savepoint \"{n}\" does not exist"));
                };
                if matches!(c, TxnControl::Release(_)) {
                    self.savepoints.truncate(i);
                    Modelled::Send(vec![format!("RELEASE SAVEPOINT {}", user_savepoint(n))])
                } else {
                    self.savepoints.truncate(i + 1);
                    Modelled::Send(vec![format!("ROLLBACK TO SAVEPOINT {}", user_savepoint(n))])
                }
            }
            TxnControl::TwoPhase(tag) => Modelled::Skip(format!(
                "{tag} is two-phase commit, which dbkit check does not run"
            )),
            TxnControl::SetTransaction => Modelled::Skip(
                "SET TRANSACTION is not run: the check's transaction has already started".into(),
            ),
        }
    }

    /// At the end of a file: a transaction the file left open is closed (its work stays for
    /// the files after it, as the check's transaction keeps everything until its rollback).
    pub fn finish_file(&mut self) -> Vec<String> {
        self.savepoints.clear();
        if std::mem::take(&mut self.open) {
            vec![format!("RELEASE SAVEPOINT {FILE_SAVEPOINT}")]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unterminated_identifier_ending_in_a_multibyte_character() {
        // Found by fuzzing: the name was cut one byte before its end, inside the character.
        assert_eq!(
            transaction_control("savepoint \"ab\u{feff}"),
            Some(TxnControl::Savepoint("ab\u{feff}".into()))
        );
        assert_eq!(
            transaction_control("release \""),
            Some(TxnControl::Release(String::new()))
        );
    }

    #[test]
    fn every_spelling_is_recognised() {
        use TxnControl::*;
        for (sql, want) in [
            ("BEGIN", Begin),
            ("begin work", Begin),
            ("Begin Transaction Isolation Level Serializable", Begin),
            ("START TRANSACTION READ ONLY", Begin),
            ("-- comment\n  commit", Commit { chain: false }),
            ("/* a */ /* b */ END", Commit { chain: false }),
            ("end transaction", Commit { chain: false }),
            ("COMMIT AND CHAIN", Commit { chain: true }),
            ("commit and no chain", Commit { chain: false }),
            ("ABORT", Rollback { chain: false }),
            ("rollback", Rollback { chain: false }),
            ("ROLLBACK AND CHAIN", Rollback { chain: true }),
            ("SAVEPOINT s1", Savepoint("s1".into())),
            ("savepoint \"My \"\"Point\"", Savepoint("My \"Point".into())),
            ("RELEASE SAVEPOINT S1", Release("s1".into())),
            ("release s1", Release("s1".into())),
            ("ROLLBACK TO SAVEPOINT s1", RollbackTo("s1".into())),
            ("rollback transaction to s1", RollbackTo("s1".into())),
            ("PREPARE TRANSACTION 'x'", TwoPhase("PREPARE TRANSACTION")),
            ("COMMIT PREPARED 'x'", TwoPhase("COMMIT PREPARED")),
            ("ROLLBACK PREPARED 'x'", TwoPhase("ROLLBACK PREPARED")),
            (
                "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                SetTransaction,
            ),
            (
                "set session characteristics as transaction read only",
                SetTransaction,
            ),
        ] {
            assert_eq!(transaction_control(sql), Some(want), "{sql}");
        }
    }

    #[test]
    fn a_file_transaction_becomes_a_savepoint() {
        let mut m = TxnModel::default();
        let sends = |m: &mut TxnModel, sql: &str| match m.apply(&transaction_control(sql).unwrap())
        {
            Modelled::Send(v) => v,
            other => panic!("{sql}: {other:?}"),
        };
        assert_eq!(sends(&mut m, "BEGIN"), vec!["SAVEPOINT dbkit_file_tx"]);
        assert!(matches!(m.apply(&TxnControl::Begin), Modelled::Skip(_)));
        assert_eq!(sends(&mut m, "savepoint a"), vec!["SAVEPOINT dbkit_sp_a"]);
        assert_eq!(
            sends(&mut m, "SAVEPOINT \"We ird\"\"\""),
            vec!["SAVEPOINT \"dbkit_sp_We ird\"\"\""]
        );
        assert_eq!(
            sends(&mut m, "rollback to a"),
            vec!["ROLLBACK TO SAVEPOINT dbkit_sp_a"]
        );
        assert_eq!(
            sends(&mut m, "release a"),
            vec!["RELEASE SAVEPOINT dbkit_sp_a"]
        );
        assert_eq!(
            m.apply(&transaction_control("release a").unwrap()),
            Modelled::Fail("savepoint \"a\" does not exist".into())
        );
        assert_eq!(
            sends(&mut m, "ABORT"),
            vec![
                "ROLLBACK TO SAVEPOINT dbkit_file_tx",
                "RELEASE SAVEPOINT dbkit_file_tx"
            ]
        );
        assert!(!m.is_open());
        assert!(matches!(
            m.apply(&TxnControl::Commit { chain: false }),
            Modelled::Skip(_)
        ));
        sends(&mut m, "begin");
        assert_eq!(
            sends(&mut m, "commit and chain"),
            vec!["RELEASE SAVEPOINT dbkit_file_tx", "SAVEPOINT dbkit_file_tx"]
        );
        assert_eq!(m.finish_file(), vec!["RELEASE SAVEPOINT dbkit_file_tx"]);
        assert!(m.finish_file().is_empty());
        assert!(matches!(
            m.apply(&transaction_control("PREPARE TRANSACTION 'x'").unwrap()),
            Modelled::Skip(_)
        ));
    }

    #[test]
    fn statements_that_cannot_run_in_a_transaction() {
        for sql in [
            "CREATE INDEX CONCURRENTLY i ON t (a)",
            "create unique index concurrently if not exists i on t (a)",
            "DROP INDEX CONCURRENTLY i",
            "VACUUM (ANALYZE) t",
            "REINDEX INDEX CONCURRENTLY i",
            "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
            "CREATE DATABASE x",
            "ALTER SYSTEM SET work_mem = '1GB'",
        ] {
            assert!(needs_no_transaction(sql).is_some(), "{sql}");
        }
        for sql in [
            "CREATE INDEX i ON t (a)",
            "CLUSTER t USING i",
            "SELECT 'concurrently'",
        ] {
            assert_eq!(needs_no_transaction(sql), None, "{sql}");
        }
    }

    #[test]
    fn other_statements_are_not_transaction_control() {
        for sql in [
            "SELECT 1",
            "select begin from t",
            "PREPARE q AS SELECT 1",
            "set search_path = x",
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END",
            "DO $$ BEGIN COMMIT; END $$",
            "'commit'",
            "",
        ] {
            assert_eq!(transaction_control(sql), None, "{sql}");
        }
    }
}
