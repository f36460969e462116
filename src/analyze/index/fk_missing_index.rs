//! `fk-missing-index`: a foreign key whose referencing columns lead no index — deleting or
//! updating a referenced row scans the whole referencing table.

use super::{qualified, Rule};
use crate::catalog::Catalog;
use crate::config::IndexThresholds;
use crate::ddl::index::{IndexSpec, KeySpec};
use crate::finding::RuleId;
use crate::finding::{Finding, Location};

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::FkMissingIndex,
    check,
};

fn check(cat: &Catalog, _: &IndexThresholds, out: &mut Vec<Finding>) {
    for fk in &cat.foreign_keys {
        let n = fk.columns.len();
        let served = cat.indexes.iter().any(|ix| {
            ix.valid
                && ix.schema == fk.schema
                && ix.table == fk.table
                && ix.predicate.is_none()
                && ix.keys.len() >= n
                && {
                    let mut lead: Vec<Option<&str>> =
                        ix.keys[..n].iter().map(|k| k.column.as_deref()).collect();
                    let mut want: Vec<Option<&str>> =
                        fk.columns.iter().map(|c| Some(c.as_str())).collect();
                    lead.sort();
                    want.sort();
                    lead == want
                }
        });
        if served {
            continue;
        }
        let rows = cat
            .tables
            .iter()
            .find(|t| t.schema == fk.schema && t.name == fk.table)
            .map_or(0.0, |t| t.rows);
        let spec = IndexSpec {
            schema: fk.schema.clone(),
            table: fk.table.clone(),
            method: "btree".into(),
            keys: fk.columns.iter().map(|c| KeySpec::column(c)).collect(),
            include: vec![],
            predicate: None,
        };
        out.push(Finding {
            rule: RULE.id,
            severity: RULE.id.severity(),
            message: format!(
                "foreign key {} on {} ({}) → {} has no index leading with its columns: each DELETE or key UPDATE on {} scans {:.0} rows",
                fk.name,
                qualified(&fk.schema, &fk.table),
                fk.columns.join(", "),
                fk.references,
                fk.references,
                rows
            ),
            location: Location { node: Some(qualified(&fk.schema, &fk.table)), ..Default::default() },
            evidence: serde_json::json!({ "constraint": fk.name, "columns": fk.columns, "references": fk.references, "table_rows": rows }),
            suggestion: Some(spec.create_sql()),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{cat, ix};
    use super::*;
    use crate::catalog::ForeignKey;

    #[test]
    fn unindexed_foreign_keys() {
        let fk = |cols: &[&str]| ForeignKey {
            schema: "public".into(),
            table: "t".into(),
            name: "t_fk".into(),
            columns: cols.iter().map(|c| c.to_string()).collect(),
            references: "u".into(),
        };
        let mut c = cat(vec![
            ix("t_b_a", "t", &["b", "a"]),
            ix("t_x", "t", &["x", "u_id"]),
        ]);
        c.foreign_keys = vec![fk(&["u_id"]), fk(&["a", "b"])];
        let mut out = Vec::new();
        check(&c, &IndexThresholds::default(), &mut out);
        assert_eq!(
            out.len(),
            1,
            "(a, b) is served by (b, a); u_id is not leading"
        );
        assert_eq!(out[0].suggestion.as_deref(), Some("CREATE INDEX CONCURRENTLY IF NOT EXISTS t_u_id_idx ON public.t USING btree (u_id);"));
    }
}
