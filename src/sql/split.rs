//! Splitting a multi-statement SQL text into statements with exact spans, as psql does.
//!
//! A statement ends at a `;` outside quotes, comments, parentheses and SQL-standard function
//! bodies (`BEGIN ATOMIC … END` after a `CREATE [OR REPLACE] FUNCTION|PROCEDURE` header, as
//! psql and the server read them), or at a psql `\g`. Other psql meta-commands (`\set`, `\i`, …)
//! are skipped and reported as notes. Comments between two statements are kept as the next
//! statement's leading comments (later rules read directives such as `-- dbkit:ignore` there).

use super::lexer::{Lexer, TokenKind};
use super::span::{LineIndex, Span};
use serde::Serialize;

/// One statement of a split text, borrowing from it.
#[derive(Debug, Clone)]
pub struct RawStatement<'a> {
    /// 0-based index in the file.
    pub index: usize,
    /// The statement's text, from its first token to its last (the `;` excluded).
    pub text: &'a str,
    /// Where `text` is in the file.
    pub span: Span,
    /// True when the statement ended with `;` or `\g`.
    pub terminated: bool,
    /// Comments between the previous statement and this one, in order.
    pub leading_comments: Vec<&'a str>,
    /// A lexical problem, such as a quote that is never closed.
    pub problem: Option<String>,
}

/// A note about something the splitter skipped (psql meta-commands).
#[derive(Debug, Clone, Serialize)]
pub struct SplitNote {
    /// Where the skipped text is.
    pub span: Span,
    /// What was skipped and why.
    pub message: String,
}

/// The statements of a text and the notes about what was skipped.
#[derive(Debug, Clone, Default)]
pub struct Split<'a> {
    /// The statements in file order.
    pub statements: Vec<RawStatement<'a>>,
    /// Notes about skipped input.
    pub notes: Vec<SplitNote>,
}

struct Builder<'a> {
    src: &'a str,
    idx: LineIndex<'a>,
    out: Split<'a>,
    first: Option<usize>,
    last_end: usize,
    comments: Vec<&'a str>,
    problem: Option<String>,
}

impl<'a> Builder<'a> {
    fn finish(&mut self, terminated: bool) {
        if let Some(first) = self.first.take() {
            let span = self.idx.span(first, self.last_end);
            self.out.statements.push(RawStatement {
                index: self.out.statements.len(),
                text: &self.src[first..self.last_end],
                span,
                terminated,
                leading_comments: std::mem::take(&mut self.comments),
                problem: self.problem.take(),
            });
        }
    }
}

/// How far the leading words of a statement match `CREATE [OR REPLACE] FUNCTION|PROCEDURE`:
/// only such a statement can have a `BEGIN ATOMIC … END` body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Header {
    /// No word seen yet.
    #[default]
    Start,
    /// `CREATE`.
    Create,
    /// `CREATE OR`.
    Or,
    /// `CREATE OR REPLACE`.
    Replace,
    /// The whole header: a routine definition.
    Routine,
    /// Anything else.
    Other,
}

impl Header {
    fn token(&mut self, kind: TokenKind, text: &str, depth: usize) {
        let word = |w: &str| kind == TokenKind::Word && depth == 0 && text.eq_ignore_ascii_case(w);
        *self = match *self {
            Header::Start if word("create") => Header::Create,
            Header::Create if word("or") => Header::Or,
            Header::Or if word("replace") => Header::Replace,
            Header::Create | Header::Replace if word("function") || word("procedure") => {
                Header::Routine
            }
            Header::Routine => Header::Routine,
            _ => Header::Other,
        };
    }

    fn is_routine(self) -> bool {
        self == Header::Routine
    }
}

/// Split `src` into statements.
///
/// ```
/// let sp = dbkit::sql::split("select 'a;b';\n\\set x 1\nselect 2;");
/// assert_eq!(sp.statements.len(), 2);
/// assert_eq!(sp.statements[1].span.start.line, 3);
/// assert_eq!(sp.notes.len(), 1);
/// ```
pub fn split(src: &str) -> Split<'_> {
    let mut b = Builder {
        src,
        idx: LineIndex::new(src),
        out: Split::default(),
        first: None,
        last_end: 0,
        comments: Vec::new(),
        problem: None,
    };
    let mut depth: usize = 0;
    let mut atomic: usize = 0;
    let mut header = Header::default();
    let mut prev_begin = false;
    for tok in Lexer::new(src) {
        let text = tok.text(src);
        match tok.kind {
            TokenKind::Whitespace => continue,
            TokenKind::LineComment | TokenKind::BlockComment => {
                if b.first.is_none() {
                    b.comments.push(text);
                }
                if !tok.terminated {
                    let p = b.idx.pos(tok.start);
                    b.problem.get_or_insert(format!(
                        "unterminated block comment starting at line {}, column {}",
                        p.line, p.column
                    ));
                }
                continue;
            }
            TokenKind::MetaCommand => {
                let cmd = text.split_whitespace().next().unwrap_or("\\");
                if cmd.starts_with("\\g") && b.first.is_some() {
                    b.finish(true);
                    depth = 0;
                    atomic = 0;
                    header = Header::default();
                } else {
                    b.out.notes.push(SplitNote {
                        span: b.idx.span(tok.start, tok.end),
                        message: format!("psql meta-command {cmd} skipped"),
                    });
                }
                continue;
            }
            TokenKind::Semicolon if depth == 0 && atomic == 0 => {
                if b.first.is_some() {
                    b.finish(true);
                } else {
                    // An empty statement (`;;`): comments before it stay for the next one.
                }
                header = Header::default();
                prev_begin = false;
                continue;
            }
            _ => {}
        }
        if b.first.is_none() {
            b.first = Some(tok.start);
        }
        header.token(tok.kind, text, depth);
        b.last_end = tok.end;
        if !tok.terminated && b.problem.is_none() {
            let p = b.idx.pos(tok.start);
            let what = match tok.kind {
                TokenKind::DollarString => "dollar-quoted string",
                TokenKind::QuotedIdent => "quoted identifier",
                _ => "string literal",
            };
            b.problem = Some(format!(
                "unterminated {what} starting at line {}, column {}",
                p.line, p.column
            ));
        }
        match tok.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => depth = depth.saturating_sub(1),
            TokenKind::Word => {
                if atomic > 0 {
                    if text.eq_ignore_ascii_case("case") {
                        atomic += 1;
                    } else if text.eq_ignore_ascii_case("end") {
                        atomic -= 1;
                    }
                } else if prev_begin
                    && depth == 0
                    && header.is_routine()
                    && text.eq_ignore_ascii_case("atomic")
                {
                    atomic = 1;
                }
                prev_begin = text.eq_ignore_ascii_case("begin");
                continue;
            }
            _ => {}
        }
        prev_begin = false;
    }
    b.finish(false);
    b.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        split(s).statements.iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_on_semicolons_outside_quotes() {
        let src = "select 'a;b'; select \"x;\" from t; select $$;$$;select E'\\';' ;";
        assert_eq!(
            texts(src),
            vec![
                "select 'a;b'",
                "select \"x;\" from t",
                "select $$;$$",
                "select E'\\';'"
            ]
        );
    }

    #[test]
    fn function_bodies_and_nested_comments() {
        let src = "create function f() returns int as $body$ begin return 1; end $body$ language plpgsql;\n/* a /* ; */ b */ select 1;";
        let sp = split(src);
        assert_eq!(sp.statements.len(), 2);
        assert!(sp.statements[0].text.ends_with("plpgsql"));
        assert_eq!(sp.statements[1].text, "select 1");
        assert_eq!(sp.statements[1].leading_comments, vec!["/* a /* ; */ b */"]);
    }

    #[test]
    fn begin_atomic_bodies_keep_their_semicolons() {
        let src = "CREATE FUNCTION f(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END; SELECT 2; END;\nSELECT 3;";
        let t = texts(src);
        assert_eq!(t.len(), 2, "{t:?}");
        assert!(t[0].ends_with("SELECT 2; END"));
        assert_eq!(t[1], "SELECT 3");
    }

    #[test]
    fn begin_atomic_is_a_body_only_in_a_routine_definition() {
        // `begin` is a column alias here: the server reads four statements, and so must we.
        let src = "CREATE TABLE escape_probe AS SELECT begin atomic FROM (SELECT 1 AS begin) s; COMMIT; DROP TABLE cart_items; END;";
        assert_eq!(
            texts(src),
            vec![
                "CREATE TABLE escape_probe AS SELECT begin atomic FROM (SELECT 1 AS begin) s",
                "COMMIT",
                "DROP TABLE cart_items",
                "END"
            ]
        );
        for (src, n) in [
            ("create or replace procedure p() language sql begin atomic insert into t values (1); end; select 1;", 2),
            ("CREATE OR REPLACE FUNCTION f() RETURNS int BEGIN ATOMIC; SELECT 1; END; select 2", 2),
            ("create view v as select 1 as begin, 2 as atomic; select 2;", 2),
            ("create trigger t before insert on x for each row execute function f(); begin; select 1;", 3),
            ("create table f (begin int); select begin atomic from f; end;", 3),
            ("select (begin atomic); commit;", 2),
        ] {
            assert_eq!(texts(src).len(), n, "{src}: {:?}", texts(src));
        }
    }

    #[test]
    fn spans_are_exact() {
        let src = "-- first\nselect 1;\n  update t\n  set a = 1 ;";
        let sp = split(src);
        let s1 = &sp.statements[1];
        assert_eq!(s1.text, "update t\n  set a = 1");
        assert_eq!((s1.span.start.line, s1.span.start.column), (3, 3));
        assert_eq!((s1.span.end.line, s1.span.end.column), (4, 11));
        assert_eq!(&src[s1.span.start_byte..s1.span.end_byte], s1.text);
        assert_eq!(sp.statements[0].leading_comments, vec!["-- first"]);
    }

    #[test]
    fn psql_meta_commands_are_skipped_with_a_note() {
        let src = "\\set ON_ERROR_STOP on\nselect 1;\n\\i other.sql\nselect 2 \\g\nselect 3";
        let sp = split(src);
        let t: Vec<&str> = sp.statements.iter().map(|s| s.text).collect();
        assert_eq!(t, vec!["select 1", "select 2", "select 3"]);
        assert_eq!(sp.notes.len(), 2);
        assert!(sp.notes[0].message.contains("\\set"));
        assert_eq!(sp.notes[1].span.start.line, 3);
        assert!(!sp.statements[2].terminated);
    }

    #[test]
    fn unterminated_quotes_are_reported_not_lost() {
        let sp = split("select 1; select $x$ never closed;\nselect 2;");
        assert_eq!(sp.statements.len(), 2);
        let p = sp.statements[1].problem.as_deref().unwrap();
        assert_eq!(
            p,
            "unterminated dollar-quoted string starting at line 1, column 18"
        );
        assert!(sp.statements[1].text.ends_with("select 2;"));
        let sp = split("select 'abc");
        assert!(sp.statements[0]
            .problem
            .as_deref()
            .unwrap()
            .starts_with("unterminated string literal"));
    }

    #[test]
    fn empty_and_comment_only_inputs_have_no_statements() {
        assert!(split("").statements.is_empty());
        assert!(split(" ;; -- just a comment\n/* and another */")
            .statements
            .is_empty());
    }

    #[test]
    fn parenthesised_semicolons_do_not_split() {
        let t = texts("create rule r as on insert to t do also (insert into a values (1); insert into b values (2)); select 1;");
        assert_eq!(t.len(), 2);
    }
}
