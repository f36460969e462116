//! `invalid-index`: an index left invalid (a failed CREATE INDEX CONCURRENTLY): it is maintained
//! on every write and never used.

use super::{index_finding, qualified, Rule};
use crate::catalog::Catalog;
use crate::config::IndexThresholds;
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::InvalidIndex,
    check,
};

fn check(cat: &Catalog, _: &IndexThresholds, out: &mut Vec<Finding>) {
    for ix in cat.indexes.iter().filter(|i| !i.valid) {
        out.push(index_finding(
            RULE.id,
            RULE.id.severity(),
            ix,
            format!(
                "index {} on {} is invalid",
                qualified(&ix.schema, &ix.name),
                qualified(&ix.schema, &ix.table)
            ),
            serde_json::json!({ "definition": ix.definition, "size_bytes": ix.size_bytes }),
            format!(
                "{} then build it again: {}",
                crate::ddl::index::drop_sql(&ix.schema, &ix.name),
                ix.definition
                    .replacen("CREATE INDEX ", "CREATE INDEX CONCURRENTLY ", 1)
                    .replacen(
                        "CREATE UNIQUE INDEX ",
                        "CREATE UNIQUE INDEX CONCURRENTLY ",
                        1
                    )
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{cat, ix};
    use super::*;

    #[test]
    fn finds_invalid_only() {
        let mut bad = ix("t_a_idx", "t", &["a"]);
        bad.valid = false;
        let mut out = Vec::new();
        check(
            &cat(vec![bad, ix("t_b_idx", "t", &["b"])]),
            &IndexThresholds::default(),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert!(out[0]
            .suggestion
            .as_deref()
            .unwrap()
            .starts_with("DROP INDEX CONCURRENTLY IF EXISTS public.t_a_idx;"));
    }
}
