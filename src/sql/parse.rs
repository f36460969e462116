//! Parsing statements with sqlparser's PostgreSQL dialect, and the combined per-statement
//! analysis (span, fingerprint, classification, parse tree, references).
//!
//! A statement sqlparser cannot parse is kept: its text and tokens stay, it is marked unparsed
//! with the parser's message, and it is still fingerprinted and classified from its tokens.
//! Statements over [`MAX_PARSE_BYTES`] are not handed to sqlparser (its token vector would be
//! many times the statement's size); they are fingerprinted and classified all the same.

use super::classify::{classify, Classification};
use super::extract::{extract, References};
use super::fingerprint::{Fingerprint, Normalizer};
use super::lexer::{Lexer, TokenKind};
use super::span::Span;
use super::split::{split, RawStatement, SplitNote};
use serde::Serialize;
use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// Statements longer than this are not given to sqlparser (memory stays bounded).
pub const MAX_PARSE_BYTES: usize = 1 << 20;

/// Nesting depth sqlparser may recurse to before it gives up with an error (not a stack overflow).
pub const RECURSION_LIMIT: usize = 64;

/// Brackets (`(`, `[`) nested deeper than this are refused before sqlparser sees the statement:
/// no real query nests this deep, and the parser's work stays linear in the input.
pub const MAX_NESTING: usize = 48;

/// The deepest nesting of `(` and `[` in `sql`, from its tokens (quotes and comments skipped).
pub fn nesting_depth(sql: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for t in Lexer::new(sql) {
        match t.kind {
            TokenKind::LParen | TokenKind::LBracket => {
                depth += 1;
                max = max.max(depth);
            }
            TokenKind::RParen | TokenKind::RBracket => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Parse one statement's text. The error is the parser's message.
pub fn parse_statement(sql: &str) -> Result<Statement, super::SqlError> {
    if sql.len() > MAX_PARSE_BYTES {
        return Err(super::SqlError::Parse(format!(
            "statement is {} bytes, over the {} byte limit for a full parse; fingerprinted and classified from its tokens",
            sql.len(),
            MAX_PARSE_BYTES
        )));
    }
    let depth = nesting_depth(sql);
    if depth > MAX_NESTING {
        return Err(super::SqlError::Parse(format!(
            "brackets nest {depth} levels deep, over the limit of {MAX_NESTING} for a full parse; fingerprinted and classified from its tokens"
        )));
    }
    let dialect = PostgreSqlDialect {};
    let result = std::panic::catch_unwind(|| {
        Parser::new(&dialect)
            .with_recursion_limit(RECURSION_LIMIT)
            .try_with_sql(sql)
            .and_then(|mut p| p.parse_statements())
    });
    match result {
        Ok(Ok(mut stmts)) => match stmts.len() {
            1 => Ok(stmts.remove(0)),
            0 => Err(super::SqlError::Parse("no statement".to_string())),
            n => Err(super::SqlError::Parse(format!(
                "expected one statement, found {n}"
            ))),
        },
        Ok(Err(e)) => Err(super::SqlError::Parse(e.to_string())),
        Err(_) => Err(super::SqlError::Parse(
            "the SQL parser failed on this statement".to_string(),
        )),
    }
}

/// A token of an unparsed statement, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenText {
    /// The token kind (`word`, `string`, `operator`…).
    pub kind: &'static str,
    /// The token's text.
    pub text: String,
}

/// The significant tokens of `sql` (no whitespace or comments), at most `limit` of them.
pub fn significant_tokens(sql: &str, limit: usize) -> (Vec<TokenText>, bool) {
    let mut out = Vec::new();
    let mut truncated = false;
    for t in Lexer::new(sql).filter(|t| !t.kind.is_trivia() && t.kind != TokenKind::MetaCommand) {
        if out.len() == limit {
            truncated = true;
            break;
        }
        out.push(TokenText {
            kind: t.kind.name(),
            text: t.text(sql).to_string(),
        });
    }
    (out, truncated)
}

/// One statement with everything the SQL layer knows about it.
#[derive(Debug, Clone)]
pub struct AnalyzedStatement<'a> {
    /// The statement as split from its file.
    pub raw: RawStatement<'a>,
    /// Its fingerprint.
    pub fingerprint: Fingerprint,
    /// Its classification.
    pub classification: Classification,
    /// The parse tree, when sqlparser could parse it.
    pub ast: Option<Statement>,
    /// The parser's message when it could not.
    pub parse_error: Option<String>,
    /// Tables, columns and predicates, when parsed.
    pub references: Option<References>,
}

impl AnalyzedStatement<'_> {
    /// The statement's span in its file.
    pub fn span(&self) -> Span {
        self.raw.span
    }
}

/// Split, fingerprint, classify, parse and extract every statement of `src`.
pub fn analyze(src: &str) -> (Vec<AnalyzedStatement<'_>>, Vec<SplitNote>) {
    let sp = split(src);
    let mut norm = Normalizer::default();
    let stmts = sp
        .statements
        .into_iter()
        .map(|raw| {
            let mut normalized = String::new();
            let id = norm.normalize_into(raw.text, &mut normalized);
            let classification = classify(raw.text);
            let (ast, parse_error) = match parse_statement(raw.text) {
                Ok(ast) => (Some(ast), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let references = ast.as_ref().map(extract);
            AnalyzedStatement {
                raw,
                fingerprint: Fingerprint { id, normalized },
                classification,
                ast,
                parse_error,
                references,
            }
        })
        .collect();
    (stmts, sp.notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unparsable_statements_are_kept_and_fingerprinted() {
        let (stmts, _) = analyze("select 1; frobnicate 'x' now; select 2");
        assert_eq!(stmts.len(), 3);
        assert!(stmts[0].ast.is_some());
        let bad = &stmts[1];
        assert!(bad.ast.is_none());
        assert!(
            bad.parse_error.as_deref().unwrap().contains("frobnicate"),
            "{:?}",
            bad.parse_error
        );
        assert_eq!(bad.fingerprint.normalized, "frobnicate $1 now");
        assert!(bad.classification.requires_primary);
        let (toks, truncated) = significant_tokens(bad.raw.text, 2);
        assert_eq!(toks.len(), 2);
        assert!(truncated);
        assert_eq!(
            toks[1],
            TokenText {
                kind: "string",
                text: "'x'".into()
            }
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let sql = format!("select {}1{}", "(".repeat(5000), ")".repeat(5000));
        let err = parse_statement(&sql).unwrap_err().to_string();
        assert!(err.contains("5000 levels deep"), "{err}");
        // Nesting sqlparser counts but brackets do not show (unary minus) hits its own limit.
        let sql = format!("select {}1", "- ".repeat(500));
        let err = parse_statement(&sql).unwrap_err().to_string();
        assert!(err.contains("recursion"), "{err}");
    }

    fn nested(call: &str, n: usize) -> String {
        format!(
            "UPDATE t SET d = {}d{} WHERE id = 1",
            format!("{call}(").repeat(n),
            ", '{a}', '1')".repeat(n)
        )
    }

    #[test]
    fn nested_function_arguments_parse_in_linear_time() {
        // sqlparser before 0.60 took 2^n steps here: 36 levels ran for over ten minutes. A
        // regression shows as this test never finishing.
        for n in [20, 36, MAX_NESTING] {
            let ast = parse_statement(&nested("jsonb_set", n)).unwrap();
            assert!(ast.to_string().matches("jsonb_set(").count() == n);
        }
        for shape in [
            nested("jsonb_set", 1000),
            format!("SELECT {}1{}", "CAST(CASE (".repeat(1000), ")".repeat(3000)),
            format!("SELECT 1 FROM {}t{}", "(".repeat(1000), ")".repeat(1000)),
            format!("SELECT {}1{}", "ARRAY[".repeat(1000), "]".repeat(1000)),
        ] {
            let err = parse_statement(&shape).unwrap_err().to_string();
            assert!(err.contains("levels deep"), "{err}");
        }
    }

    #[test]
    fn random_fragments_never_panic() {
        // Deterministic fuzzing over the lexical hazards: quotes, comments, lists, nesting.
        const FRAGS: &[&str] = &[
            "select", "'", "$$", "$a$", "(", ")", "[", "]", ",", ";", "in", "values", "array", "-",
            "1", "\"", "/*", "*/", "--", "\n", "é", "E'", "\\", "::", "is", "null", "not", "for",
            "update", "with", "begin", "atomic", "end", "case", " ", "$1", "x", "=", "'a'",
            "insert", "into", "t", "create", "function", "\\g", ".", "U&\"", "0x", "1e", "€",
        ];
        let mut state: u64 = 0x243f_6a88_85a3_08d3;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let n = 1 + (next() % 60) as usize;
            let mut sql = String::new();
            for _ in 0..n {
                sql.push_str(FRAGS[(next() % FRAGS.len() as u64) as usize]);
                if next() % 3 == 0 {
                    sql.push(' ');
                }
            }
            let (stmts, _) = analyze(&sql);
            for st in &stmts {
                assert!(st.raw.span.end_byte <= sql.len());
                let _ = significant_tokens(st.raw.text, 100);
            }
        }
    }

    #[test]
    fn oversized_statements_skip_the_parser() {
        let sql = format!("select '{}'", "x".repeat(MAX_PARSE_BYTES));
        let err = parse_statement(&sql).unwrap_err().to_string();
        assert!(err.contains("byte limit"));
    }
}
