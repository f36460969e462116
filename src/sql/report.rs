//! The reports of `dbkit sql split|parse|fingerprint|classify`: typed, serializable, and
//! viewable as tables through [`crate::view::Report`].

use super::classify::Classification;
use super::extract::{Operand, References};
use super::fingerprint::Fingerprint;
use super::parse::{analyze, significant_tokens, TokenText};
use super::span::Span;
use super::split::{split, SplitNote};
use crate::finding::RuleId;
use crate::finding::{Finding, Location, Severity};
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;
use std::collections::HashMap;

/// Tokens listed for an unparsed statement, at most.
pub const MAX_REPORTED_TOKENS: usize = 10_000;

/// Text shown in table cells, at most (characters); JSON always has the whole text.
const CELL_CHARS: usize = 120;

fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= CELL_CHARS {
        one_line
    } else {
        let mut t: String = one_line.chars().take(CELL_CHARS - 1).collect();
        t.push('…');
        t
    }
}

fn loc(span: &Span) -> String {
    format!("{}:{}", span.start.line, span.start.column)
}

/// One statement of a split report.
#[derive(Debug, Clone, Serialize)]
pub struct SplitItem {
    /// 0-based index.
    pub index: usize,
    /// Where it is.
    pub span: Span,
    /// Ended with `;`.
    pub terminated: bool,
    /// Comments just before it.
    pub leading_comments: Vec<String>,
    /// A lexical problem (unterminated quote).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// The statement's text.
    pub text: String,
}

/// `dbkit sql split`.
#[derive(Debug, Clone, Serialize)]
pub struct SplitReport {
    /// The input's name (`-` for stdin).
    pub file: String,
    /// The statements.
    pub statements: Vec<SplitItem>,
    /// Skipped psql meta-commands.
    pub notes: Vec<SplitNote>,
    /// Lexical problems as findings (`sql-lex-error`).
    pub findings: Vec<Finding>,
}

fn lex_findings<'a>(
    file: &str,
    items: impl Iterator<Item = (&'a Span, &'a Option<String>)>,
) -> Vec<Finding> {
    items
        .filter_map(|(span, problem)| {
            problem.as_ref().map(|p| Finding {
                rule: RuleId::SqlLexError,
                severity: Severity::Error,
                message: p.clone(),
                location: Location {
                    file: Some(file.to_string()),
                    line: Some(span.start.line),
                    column: Some(span.start.column),
                    node: None,
                },
                evidence: serde_json::json!({ "start_byte": span.start_byte, "end_byte": span.end_byte }),
                suggestion: Some("close the quote or comment; the statement runs to the end of the file".to_string()),
            })
        })
        .collect()
}

impl SplitReport {
    /// Split `src` (named `file`).
    pub fn build(file: &str, src: &str) -> Self {
        let sp = split(src);
        let statements: Vec<SplitItem> = sp
            .statements
            .iter()
            .map(|s| SplitItem {
                index: s.index,
                span: s.span,
                terminated: s.terminated,
                leading_comments: s.leading_comments.iter().map(|c| c.to_string()).collect(),
                problem: s.problem.clone(),
                text: s.text.to_string(),
            })
            .collect();
        let findings = lex_findings(file, statements.iter().map(|s| (&s.span, &s.problem)));
        SplitReport {
            file: file.to_string(),
            statements,
            notes: sp.notes,
            findings,
        }
    }
}

impl Report for SplitReport {
    fn kind(&self) -> &'static str {
        "sql-split"
    }
    fn summary(&self) -> String {
        format!(
            "{}: {} statement(s), {} note(s)",
            self.file,
            self.statements.len(),
            self.notes.len()
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("Statements", &["#", "at", "lines", "statement"]);
        for s in &self.statements {
            let text = match &s.problem {
                Some(p) => Cell::toned(format!("{} [{p}]", short(&s.text)), Tone::Bad),
                None => Cell::text(short(&s.text)),
            };
            t.row(vec![
                Cell::num(s.index + 1),
                Cell::text(loc(&s.span)),
                Cell::num(s.span.end.line - s.span.start.line + 1),
                text,
            ]);
        }
        let mut out = vec![t];
        if !self.notes.is_empty() {
            let mut n = Table::new("Notes", &["at", "note"]);
            for note in &self.notes {
                n.row(vec![
                    Cell::text(loc(&note.span)),
                    Cell::toned(note.message.clone(), Tone::Dim),
                ]);
            }
            out.push(n);
        }
        out
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}

/// One statement of a parse report.
#[derive(Debug, Clone, Serialize)]
pub struct ParseItem {
    /// 0-based index.
    pub index: usize,
    /// Where it is.
    pub span: Span,
    /// The statement's text.
    pub text: String,
    /// Whether sqlparser parsed it.
    pub parsed: bool,
    /// The parser's message when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The statement as sqlparser prints it back, when parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canonical: Option<String>,
    /// Fingerprint.
    pub fingerprint: Fingerprint,
    /// Classification.
    pub classification: Classification,
    /// What it references, when parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<References>,
    /// Tokens, when not parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Vec<TokenText>>,
    /// True when `tokens` was cut at [`MAX_REPORTED_TOKENS`].
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tokens_truncated: bool,
}

/// `dbkit sql parse`.
#[derive(Debug, Clone, Serialize)]
pub struct ParseReport {
    /// The input's name.
    pub file: String,
    /// The statements.
    pub statements: Vec<ParseItem>,
    /// Skipped psql meta-commands.
    pub notes: Vec<SplitNote>,
    /// `sql-parse-error` (warning) for each statement sqlparser could not parse, and
    /// `sql-lex-error` (error) for unterminated quotes.
    pub findings: Vec<Finding>,
}

impl ParseReport {
    /// Parse every statement of `src` (named `file`).
    pub fn build(file: &str, src: &str) -> Self {
        let (stmts, notes) = analyze(src);
        let statements: Vec<ParseItem> = stmts
            .into_iter()
            .map(|a| {
                let (tokens, tokens_truncated) = if a.ast.is_none() {
                    let (t, tr) = significant_tokens(a.raw.text, MAX_REPORTED_TOKENS);
                    (Some(t), tr)
                } else {
                    (None, false)
                };
                ParseItem {
                    index: a.raw.index,
                    span: a.raw.span,
                    text: a.raw.text.to_string(),
                    parsed: a.ast.is_some(),
                    error: a.parse_error.clone().or_else(|| a.raw.problem.clone()),
                    canonical: a.ast.as_ref().map(|s| s.to_string()),
                    fingerprint: a.fingerprint,
                    classification: a.classification,
                    references: a.references,
                    tokens,
                    tokens_truncated,
                }
            })
            .collect();
        let mut findings = lex_findings(
            file,
            statements
                .iter()
                .map(|s| (&s.span, &s.error))
                .filter(|(_, e)| e.as_deref().is_some_and(|e| e.starts_with("unterminated"))),
        );
        for s in statements.iter().filter(|s| !s.parsed) {
            if findings
                .iter()
                .any(|f| f.location.line == Some(s.span.start.line) && f.rule == "sql-lex-error")
            {
                continue;
            }
            findings.push(Finding {
                rule: RuleId::SqlParseError,
                severity: Severity::Warning,
                message: format!(
                    "statement {} could not be parsed: {}",
                    s.index + 1,
                    s.error.as_deref().unwrap_or("unknown error")
                ),
                location: Location {
                    file: Some(file.to_string()),
                    line: Some(s.span.start.line),
                    column: Some(s.span.start.column),
                    node: None,
                },
                evidence: serde_json::json!({ "tokens": s.tokens.as_ref().map_or(0, Vec::len), "command": s.classification.command }),
                suggestion: Some(
                    "it is still fingerprinted and classified from its tokens; check the syntax if it is not a PostgreSQL extension"
                        .to_string(),
                ),
            });
        }
        ParseReport {
            file: file.to_string(),
            statements,
            notes,
            findings,
        }
    }
}

fn operand_text(o: &Operand) -> String {
    match o {
        Operand::Constant { value } => value.clone(),
        Operand::Parameter => "$n".to_string(),
        Operand::Column { table, column } => match table {
            Some(t) => format!("{t}.{column}"),
            None => column.clone(),
        },
        Operand::List { len } => format!("({len} values)"),
        Operand::Subquery => "(subquery)".to_string(),
        Operand::Expression => "(expression)".to_string(),
        Operand::None => String::new(),
    }
}

impl Report for ParseReport {
    fn kind(&self) -> &'static str {
        "sql-parse"
    }
    fn summary(&self) -> String {
        let parsed = self.statements.iter().filter(|s| s.parsed).count();
        format!(
            "{}: {} statement(s), {} parsed, {} unparsed",
            self.file,
            self.statements.len(),
            parsed,
            self.statements.len() - parsed
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Statements",
            &["#", "at", "command", "parsed", "tables", "predicates"],
        );
        for s in &self.statements {
            let (tables, preds) = match &s.references {
                Some(r) => (
                    r.tables
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.predicates
                        .iter()
                        .map(|p| {
                            let col = match (&p.expression, &p.table) {
                                (Some(e), _) => e.clone(),
                                (None, Some(t)) => format!("{t}.{}", p.column),
                                (None, None) => p.column.clone(),
                            };
                            format!("{col} {} {}", p.op, operand_text(&p.operand))
                                .trim_end()
                                .to_string()
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                None => (String::new(), String::new()),
            };
            t.row(vec![
                Cell::num(s.index + 1),
                Cell::text(loc(&s.span)),
                Cell::text(s.classification.command.clone()),
                if s.parsed {
                    Cell::toned("yes", Tone::Good)
                } else {
                    Cell::toned(
                        format!("no: {}", short(s.error.as_deref().unwrap_or(""))),
                        Tone::Warn,
                    )
                },
                Cell::text(tables),
                Cell::text(short(&preds)),
            ]);
        }
        vec![t]
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}

/// One statement of a fingerprint report.
#[derive(Debug, Clone, Serialize)]
pub struct FingerprintItem {
    /// 0-based index.
    pub index: usize,
    /// Where it is.
    pub span: Span,
    /// Fingerprint id (hex) and normalized text.
    pub fingerprint: Fingerprint,
}

/// Statements grouped by fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct FingerprintGroup {
    /// Fingerprint id (hex) and normalized text.
    pub fingerprint: Fingerprint,
    /// How many statements share it.
    pub count: usize,
    /// Their 0-based indexes.
    pub statements: Vec<usize>,
}

/// `dbkit sql fingerprint`.
#[derive(Debug, Clone, Serialize)]
pub struct FingerprintReport {
    /// The input's name.
    pub file: String,
    /// Per statement.
    pub statements: Vec<FingerprintItem>,
    /// Distinct shapes, most frequent first, then by first appearance.
    pub groups: Vec<FingerprintGroup>,
}

impl FingerprintReport {
    /// Fingerprint every statement of `src`.
    pub fn build(file: &str, src: &str) -> Self {
        let sp = split(src);
        let mut norm = super::fingerprint::Normalizer::default();
        let statements: Vec<FingerprintItem> = sp
            .statements
            .iter()
            .map(|s| {
                let mut normalized = String::new();
                let id = norm.normalize_into(s.text, &mut normalized);
                FingerprintItem {
                    index: s.index,
                    span: s.span,
                    fingerprint: Fingerprint { id, normalized },
                }
            })
            .collect();
        let mut order: Vec<u64> = Vec::new();
        let mut groups: HashMap<u64, FingerprintGroup> = HashMap::new();
        for s in &statements {
            groups
                .entry(s.fingerprint.id)
                .or_insert_with(|| {
                    order.push(s.fingerprint.id);
                    FingerprintGroup {
                        fingerprint: s.fingerprint.clone(),
                        count: 0,
                        statements: Vec::new(),
                    }
                })
                .statements
                .push(s.index);
        }
        let mut groups: Vec<FingerprintGroup> = order
            .into_iter()
            .filter_map(|id| groups.remove(&id))
            .map(|mut g| {
                g.count = g.statements.len();
                g
            })
            .collect();
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.statements[0].cmp(&b.statements[0]))
        });
        FingerprintReport {
            file: file.to_string(),
            statements,
            groups,
        }
    }
}

impl Report for FingerprintReport {
    fn kind(&self) -> &'static str {
        "sql-fingerprint"
    }
    fn summary(&self) -> String {
        format!(
            "{}: {} statement(s), {} distinct fingerprint(s)",
            self.file,
            self.statements.len(),
            self.groups.len()
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Fingerprints",
            &["fingerprint", "count", "first at", "normalized"],
        );
        for g in &self.groups {
            let first = &self.statements[g.statements[0]];
            t.row(vec![
                Cell::text(g.fingerprint.hex()),
                Cell::num(g.count),
                Cell::text(loc(&first.span)),
                Cell::text(short(&g.fingerprint.normalized)),
            ]);
        }
        vec![t]
    }
}

/// One statement of a classify report.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifyItem {
    /// 0-based index.
    pub index: usize,
    /// Where it is.
    pub span: Span,
    /// The statement's text.
    pub text: String,
    /// The classification.
    #[serde(flatten)]
    pub classification: Classification,
}

/// `dbkit sql classify`.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifyReport {
    /// The input's name.
    pub file: String,
    /// Per statement.
    pub statements: Vec<ClassifyItem>,
    /// Statements that may run on a replica.
    pub replica_safe: usize,
    /// Statements that must run on the primary.
    pub primary_only: usize,
}

impl ClassifyReport {
    /// Classify every statement of `src`.
    pub fn build(file: &str, src: &str) -> Self {
        let sp = split(src);
        let statements: Vec<ClassifyItem> = sp
            .statements
            .iter()
            .map(|s| ClassifyItem {
                index: s.index,
                span: s.span,
                text: s.text.to_string(),
                classification: super::classify::classify(s.text),
            })
            .collect();
        let primary_only = statements
            .iter()
            .filter(|s| s.classification.requires_primary)
            .count();
        ClassifyReport {
            file: file.to_string(),
            replica_safe: statements.len() - primary_only,
            primary_only,
            statements,
        }
    }
}

impl Report for ClassifyReport {
    fn kind(&self) -> &'static str {
        "sql-classify"
    }
    fn summary(&self) -> String {
        format!(
            "{}: {} statement(s): {} may run on a replica, {} need the primary",
            self.file,
            self.statements.len(),
            self.replica_safe,
            self.primary_only
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Classification",
            &["#", "at", "kind", "command", "runs on", "why", "statement"],
        );
        for s in &self.statements {
            let c = &s.classification;
            t.row(vec![
                Cell::num(s.index + 1),
                Cell::text(loc(&s.span)),
                Cell::text(c.kind.as_str()),
                Cell::text(c.command.clone()),
                if c.requires_primary {
                    Cell::toned("primary", Tone::Warn)
                } else {
                    Cell::toned("any", Tone::Good)
                },
                Cell::text(c.reasons.join("; ")),
                Cell::text(short(&s.text)),
            ]);
        }
        vec![t]
    }
}
