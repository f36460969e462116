//! The index hygiene rule family (`dbkit index check`): one file per rule, each reading the
//! [`Catalog`] and emitting findings in the shared shape.

mod duplicate_index;
mod fk_missing_index;
mod invalid_index;
mod redundant_index;
mod unused_index;

pub mod report;

use crate::catalog::{Catalog, Index};
use crate::config::{Config, IndexThresholds};
use crate::finding::{Finding, Location, RuleId, Severity};

/// One index rule: its registered id and its check.
pub struct Rule {
    /// The registered rule.
    pub id: RuleId,
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
    rule: RuleId,
    severity: Severity,
    ix: &Index,
    message: String,
    evidence: serde_json::Value,
    suggestion: String,
) -> Finding {
    Finding {
        rule,
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
