//! `redundant-index`: a btree whose keys are a leading prefix of another btree's keys on the
//! same table with the same predicate — the longer index serves its queries too.

use super::{index_finding, qualified, size, Rule};
use crate::catalog::{Catalog, Index};
use crate::config::IndexThresholds;
use crate::finding::Finding;
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::RedundantIndex,
    check,
};

fn covers(long: &Index, short: &Index) -> bool {
    let (l, s) = (long.key_signature(), short.key_signature());
    long.method == "btree"
        && short.method == "btree"
        && long.schema == short.schema
        && long.table == short.table
        && long.predicate == short.predicate
        && l.len() > s.len()
        && l[..s.len()] == s[..]
        && short
            .include
            .iter()
            .all(|c| long.include.contains(c) || l.iter().any(|k| &k.0 == c))
}

fn check(cat: &Catalog, _: &IndexThresholds, out: &mut Vec<Finding>) {
    let valid: Vec<&Index> = cat.indexes.iter().filter(|i| i.valid).collect();
    for short in &valid {
        if short.enforces_something() {
            continue;
        }
        if let Some(long) = valid.iter().find(|l| covers(l, short)) {
            out.push(index_finding(
                RULE.id,
                RULE.id.severity(),
                short,
                format!(
                    "index {} ({}) is a prefix of {} ({}) on {} ({} could be freed)",
                    qualified(&short.schema, &short.name),
                    short.keys.iter().map(|k| k.text.as_str()).collect::<Vec<_>>().join(", "),
                    qualified(&long.schema, &long.name),
                    long.keys.iter().map(|k| k.text.as_str()).collect::<Vec<_>>().join(", "),
                    qualified(&short.schema, &short.table),
                    size(short.size_bytes)
                ),
                serde_json::json!({ "redundant": short.name, "covered_by": long.name, "size_bytes": short.size_bytes }),
                crate::ddl::index::drop_sql(&short.schema, &short.name),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{cat, ix};
    use super::*;

    #[test]
    fn prefix_with_same_predicate_only() {
        let mut out = Vec::new();
        check(
            &cat(vec![
                ix("t_a", "t", &["a"]),
                ix("t_a_b", "t", &["a", "b"]),
                ix("t_b", "t", &["b"]),
            ]),
            &IndexThresholds::default(),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].evidence["redundant"], "t_a");
        let mut partial = ix("t_a_b", "t", &["a", "b"]);
        partial.predicate = Some("(a > 0)".into());
        let mut uniq = ix("t_x", "t", &["x"]);
        uniq.unique = true;
        let mut out = Vec::new();
        check(
            &cat(vec![
                ix("t_a", "t", &["a"]),
                partial,
                uniq,
                ix("t_x_y", "t", &["x", "y"]),
            ]),
            &IndexThresholds::default(),
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
    }
}
