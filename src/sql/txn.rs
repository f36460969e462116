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
        TokenKind::QuotedIdent if text.len() >= 2 && text.starts_with('"') => {
            Some(text[1..text.len() - 1].replace("\"\"", "\""))
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

#[cfg(test)]
mod tests {
    use super::*;

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
