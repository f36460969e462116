//! The report of `dbkit route classify`: per statement, the target and why.

use super::route::{Decision, Target};
use crate::finding::Finding;
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;

/// One routed statement.
#[derive(Debug, Serialize)]
pub struct Routed {
    /// 1-based line where the statement starts.
    pub line: usize,
    /// The statement (shortened in tables).
    pub statement: String,
    /// The decision.
    #[serde(flatten)]
    pub decision: Decision,
}

/// Statements of a file routed in order, as one session would send them.
#[derive(Debug, Serialize)]
pub struct ClassifyReport {
    /// The cluster.
    pub cluster: String,
    /// The file.
    pub file: String,
    /// Per statement.
    pub statements: Vec<Routed>,
    /// Problems reading the file.
    pub findings: Vec<Finding>,
}

impl Report for ClassifyReport {
    fn kind(&self) -> &'static str {
        "route-classify"
    }
    fn summary(&self) -> String {
        let replica = self
            .statements
            .iter()
            .filter(|r| r.decision.target == Target::Replica)
            .count();
        format!(
            "{} on {}: {} statement(s), {} to the replica pool, {} to the primary",
            self.file,
            self.cluster,
            self.statements.len(),
            replica,
            self.statements.len() - replica
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("Routing", &["line", "target", "reason", "statement"]);
        for r in &self.statements {
            let (name, tone) = match r.decision.target {
                Target::Primary => ("primary", Tone::Warn),
                Target::Replica => ("replica", Tone::Good),
            };
            let mut text: String = r.statement.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.chars().count() > 70 {
                text = text.chars().take(69).collect::<String>() + "…";
            }
            t.row(vec![
                Cell::num(r.line),
                Cell::toned(name, tone),
                Cell::text(r.decision.reason.clone()),
                Cell::text(text),
            ]);
        }
        vec![t]
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
}
