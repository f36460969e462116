//! The index hygiene rule family (`dbkit index check`): one file per rule, each reading the
//! [`Catalog`] and emitting findings in the shared shape.

mod duplicate_index;
mod fk_missing_index;
mod invalid_index;
mod redundant_index;
mod unused_index;

pub mod report;

use super::RuleInfo;
use crate::catalog::{Catalog, Index};
use crate::config::{Config, IndexThresholds};
use crate::finding::{Finding, Location, Severity};

/// One index rule.
pub struct Rule {
    /// Stable id.
    pub id: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// One line: what it finds.
    pub description: &'static str,
    /// Thresholds with their values.
    pub thresholds: fn(&IndexThresholds) -> Vec<(&'static str, String, &'static str)>,
    /// The check.
    pub check: fn(&Catalog, &IndexThresholds, &mut Vec<Finding>),
}

/// Every index rule.
pub const RULES: &[Rule] = &[
    invalid_index::RULE,
    duplicate_index::RULE,
    redundant_index::RULE,
    unused_index::RULE,
    fk_missing_index::RULE,
];

/// Catalogue entries.
pub fn rules(t: &IndexThresholds) -> Vec<RuleInfo> {
    RULES
        .iter()
        .map(|r| RuleInfo {
            id: r.id,
            family: "index",
            severity: r.severity,
            description: r.description,
            thresholds: (r.thresholds)(t),
            enabled: true,
        })
        .collect()
}

/// Run every enabled index rule.
pub fn check(cat: &Catalog, cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in RULES.iter().filter(|r| cfg.enabled(r.id)) {
        (r.check)(cat, &cfg.rules.index, &mut out);
    }
    out
}

/// `schema.table` / `schema.index` for messages.
pub fn qualified(schema: &str, name: &str) -> String {
    crate::sql::ident::quote_qualified(&[schema, name])
}

/// A finding about an index.
pub fn index_finding(
    rule: &str,
    severity: Severity,
    ix: &Index,
    message: String,
    evidence: serde_json::Value,
    suggestion: String,
) -> Finding {
    Finding {
        rule: rule.to_string(),
        severity,
        message,
        location: Location {
            node: Some(qualified(&ix.schema, &ix.name)),
            ..Default::default()
        },
        evidence,
        suggestion: Some(suggestion),
    }
}

/// Bytes as `8.0 MB`.
pub fn size(bytes: i64) -> String {
    crate::view::human_bytes(bytes as f64)
}

#[cfg(test)]
pub(crate) mod test_util {
    //! A small catalog to test the rules on.
    use crate::catalog::{Catalog, Index, IndexKey, Table};

    /// A btree index on plain columns.
    pub fn ix(name: &str, table: &str, cols: &[&str]) -> Index {
        Index {
            schema: "public".into(),
            name: name.into(),
            table: table.into(),
            method: "btree".into(),
            keys: cols
                .iter()
                .map(|c| IndexKey {
                    column: Some(c.to_string()),
                    text: c.to_string(),
                    desc: false,
                    nulls_first: false,
                })
                .collect(),
            valid: true,
            scans: 10,
            size_bytes: 8192,
            definition: format!(
                "CREATE INDEX {name} ON public.{table} USING btree ({})",
                cols.join(", ")
            ),
            ..Default::default()
        }
    }

    /// A catalog with tables `t` and `u` and the given indexes.
    pub fn cat(indexes: Vec<Index>) -> Catalog {
        Catalog {
            tables: vec![
                Table {
                    schema: "public".into(),
                    name: "t".into(),
                    ..Default::default()
                },
                Table {
                    schema: "public".into(),
                    name: "u".into(),
                    ..Default::default()
                },
            ],
            indexes,
            stats_age_days: Some(30.0),
            stats_since: Some("2024-01-01 00:00:00+00".into()),
            ..Default::default()
        }
    }
}
