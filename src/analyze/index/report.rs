//! The report of `dbkit index check`.

use super::{check, size};
use crate::catalog::Catalog;
use crate::config::Config;
use crate::finding::Finding;
use crate::view::{Report, Table};
use serde::Serialize;

/// `dbkit index check`.
#[derive(Debug, Clone, Serialize)]
pub struct IndexCheckReport {
    /// Database.
    pub database: String,
    /// Indexes examined.
    pub indexes: usize,
    /// Their total size, bytes.
    pub total_bytes: i64,
    /// Statistics window: since when, and days.
    pub stats_since: Option<String>,
    /// Days of statistics.
    pub stats_age_days: Option<f64>,
    /// Findings.
    pub findings: Vec<Finding>,
}

impl IndexCheckReport {
    /// Run the index rules over a catalog.
    pub fn build(cat: &Catalog, cfg: &Config) -> Self {
        IndexCheckReport {
            database: cat.database.clone(),
            indexes: cat.indexes.len(),
            total_bytes: cat.indexes.iter().map(|i| i.size_bytes).sum(),
            stats_since: cat.stats_since.clone(),
            stats_age_days: cat.stats_age_days,
            findings: check(cat, cfg),
        }
    }
}

impl Report for IndexCheckReport {
    fn kind(&self) -> &'static str {
        "index-check"
    }
    fn summary(&self) -> String {
        format!(
            "{}: {} indexes ({}), statistics of {:.1} days; {} finding(s)",
            self.database,
            self.indexes,
            size(self.total_bytes),
            self.stats_age_days.unwrap_or(0.0),
            self.findings.len()
        )
    }
    fn tables(&self) -> Vec<Table> {
        // The findings are the report; the renderers list them.
        Vec::new()
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}
