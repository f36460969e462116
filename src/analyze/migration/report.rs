//! The report of `dbkit check` (static rules).

use crate::finding::Finding;
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;

/// `dbkit check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Files checked, in order.
    pub files: Vec<String>,
    /// Statements checked.
    pub statements: usize,
    /// PostgreSQL version the verdicts are for.
    pub pg_version: u32,
    /// How each file was taken to run (transaction mode, runner, why).
    pub transactions: Vec<super::txmode::FilePlan>,
    /// Down migrations of a directory (`N_x.down.sql` beside `N_x.up.sql`), not checked.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub down_migrations: Vec<String>,
    /// Findings, in file order.
    pub findings: Vec<Finding>,
}

impl Report for CheckReport {
    fn kind(&self) -> &'static str {
        "check"
    }
    fn summary(&self) -> String {
        let e = self
            .findings
            .iter()
            .filter(|f| f.severity == crate::Severity::Error)
            .count();
        let downs = match self.down_migrations.len() {
            0 => String::new(),
            n => format!(" ({n} down migration(s) beside their .up.sql not checked)"),
        };
        format!(
            "{} file(s), {} statement(s) checked for PostgreSQL {}: {} error(s), {} warning(s){downs}",
            self.files.len(),
            self.statements,
            self.pg_version,
            e,
            self.findings.len() - e
        )
    }
    /// One table per file with findings, in file order: where, severity, rule, lock, what and
    /// the safe alternative.
    fn tables(&self) -> Vec<Table> {
        let mut tables: Vec<Table> = Vec::new();
        // How files run: every file with findings, or whose mode is not one transaction.
        let mut modes = Table::new(
            "How each file runs",
            &["file", "runner", "transaction", "why"],
        );
        for p in &self.transactions {
            let flagged = self
                .findings
                .iter()
                .any(|f| f.location.file.as_deref() == Some(p.file.as_str()));
            if !flagged && p.mode == super::txmode::TxMode::OneTransaction && p.skipped.is_none() {
                continue;
            }
            let why = match &p.skipped {
                Some(s) => format!("{}; not checked: {s}", p.why),
                None => p.why.clone(),
            };
            modes.row(vec![
                Cell::text(p.file.clone()),
                Cell::text(p.runner.map_or("-".to_string(), |r| r.to_string())),
                Cell::text(p.mode.as_str()),
                Cell::text(why),
            ]);
        }
        if !modes.rows.is_empty() {
            tables.push(modes);
        }
        let mut shown: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for f in &self.findings {
            // A fix already shown for another finding is not printed again.
            let fix = match f.suggestion.as_deref() {
                Some(s) if !shown.insert(s) => "(the same fix as above)".to_string(),
                other => other.unwrap_or_default().to_string(),
            };
            let file = f.location.file.as_deref().unwrap_or("(input)");
            if tables
                .last()
                .is_none_or(|t| t.title != file || t.headers.len() != 6)
            {
                tables.push(Table::new(
                    file,
                    &["at", "severity", "rule", "lock", "message", "fix"],
                ));
            }
            let Some(t) = tables.last_mut() else { continue };
            t.row(vec![
                Cell::text(format!(
                    "{}:{}",
                    f.location.line.unwrap_or(0),
                    f.location.column.unwrap_or(0)
                )),
                Cell::toned(
                    f.severity.as_str(),
                    if f.severity == crate::Severity::Error {
                        Tone::Bad
                    } else {
                        Tone::Warn
                    },
                ),
                Cell::text(f.rule.as_str()),
                Cell::text(
                    f.evidence
                        .get("lock")
                        .and_then(|l| l.as_str())
                        .unwrap_or("")
                        .to_string(),
                ),
                Cell::text(f.message.clone()),
                Cell::text(fix),
            ]);
        }
        if !tables.iter().any(|t| t.headers.len() == 6) {
            tables.push(Table::new("Findings", &["at", "rule", "message"]));
        }
        tables
    }
    fn lists_findings(&self) -> bool {
        true
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}
