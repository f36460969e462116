//! `duplicate-index`: two indexes with the same definition (method, keys, order, INCLUDE,
//! predicate): one of them only costs writes and space.

use super::{index_finding, qualified, size, Rule};
use crate::catalog::{Catalog, Index};
use crate::config::IndexThresholds;
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::DuplicateIndex,
    check,
};

fn same(a: &Index, b: &Index) -> bool {
    a.schema == b.schema
        && a.table == b.table
        && a.method == b.method
        && a.key_signature() == b.key_signature()
        && a.include == b.include
        && a.predicate == b.predicate
}

fn check(cat: &Catalog, _: &IndexThresholds, out: &mut Vec<Finding>) {
    let valid: Vec<&Index> = cat.indexes.iter().filter(|i| i.valid).collect();
    for (i, a) in valid.iter().enumerate() {
        for b in &valid[i + 1..] {
            if !same(a, b) {
                continue;
            }
            // Keep the one that enforces the most (primary key, constraint, unique); drop the other,
            // unless it backs a constraint itself (that needs ALTER TABLE, not DROP INDEX).
            let score = |i: &Index| {
                (i.primary as u8) * 4 + (i.constraint.is_some() as u8) * 2 + i.unique as u8
            };
            let (keep, drop) = if score(b) > score(a) { (b, a) } else { (a, b) };
            if drop.constraint.is_some() || (drop.unique && !keep.unique) {
                continue;
            }
            out.push(index_finding(
                RULE.id,
                RULE.id.severity(),
                drop,
                format!(
                    "index {} duplicates {} on {} ({} wasted)",
                    qualified(&drop.schema, &drop.name),
                    qualified(&keep.schema, &keep.name),
                    qualified(&drop.schema, &drop.table),
                    size(drop.size_bytes)
                ),
                serde_json::json!({ "duplicate": drop.name, "kept": keep.name, "size_bytes": drop.size_bytes, "definition": drop.definition }),
                crate::ddl::index::drop_sql(&drop.schema, &drop.name),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{cat, ix};
    use super::*;

    #[test]
    fn keeps_the_constraint_backing_one() {
        let mut pk = ix("t_pkey", "t", &["id"]);
        pk.primary = true;
        pk.unique = true;
        pk.constraint = Some("t_pkey".into());
        let mut dup = ix("t_id_idx", "t", &["id"]);
        dup.unique = true;
        let mut out = Vec::new();
        check(
            &cat(vec![dup, pk, ix("t_other", "t", &["id", "x"])]),
            &IndexThresholds::default(),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert!(
            out[0]
                .message
                .starts_with("index public.t_id_idx duplicates public.t_pkey"),
            "{}",
            out[0].message
        );
    }

    #[test]
    fn different_order_or_predicate_is_not_a_duplicate() {
        let a = ix("a", "t", &["x"]);
        let mut b = ix("b", "t", &["x"]);
        b.keys[0].desc = true;
        let mut c = ix("c", "t", &["x"]);
        c.predicate = Some("(x > 0)".into());
        let mut out = Vec::new();
        check(&cat(vec![a, b, c]), &IndexThresholds::default(), &mut out);
        assert!(out.is_empty());
    }
}
