//! `n-plus-one`: one query shape run again and again in a burst with different values — an
//! application loop that should be one batched query (`= ANY($1)`) or a join with its parent.
//! Also builds the report of `dbkit workload n-plus-one`, which carries `redundant-query` too.

use super::bursts::{Burst, BurstRow, Collector};
use super::redundant_query;
use crate::finding::{Finding, Location, RuleId, Severity};
use crate::sql::extract::{extract, Operand};
use crate::view::{fmt_ms, fmt_n};
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;

/// The rule's id.
pub const ID: RuleId = RuleId::NPlusOne;

/// The column a looped query filters on with a parameter, and its table.
fn loop_column(normalized: &str) -> Option<(Option<String>, String)> {
    let stmt = crate::sql::parse_statement(normalized).ok()?;
    let refs = extract(&stmt);
    refs.predicates
        .iter()
        .find(|p| {
            p.op == "="
                && matches!(p.operand, Operand::Parameter | Operand::Constant { .. })
                && p.expression.is_none()
        })
        .map(|p| (p.table.clone(), p.column.clone()))
}

/// `col = $k` → `col = any($k)` in a normalized statement.
fn batched(normalized: &str, column: &str) -> Option<String> {
    let pat = format!("{column} = $");
    let at = normalized.find(&pat)?;
    let num_start = at + pat.len();
    let num_end = normalized[num_start..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(normalized.len(), |p| num_start + p);
    let n = &normalized[num_start..num_end];
    Some(format!(
        "{}{column} = any(${n}){}",
        &normalized[..at],
        &normalized[num_end..]
    ))
}

/// `orders` → `order` (good enough for the usual plural table names).
fn singular(t: &str) -> &str {
    t.strip_suffix('s').unwrap_or(t)
}

/// How the parent relates to the loop: the JOIN condition, when the names say so.
fn join_with_parent(parent: &str, child_table: &str, column: &str) -> Option<String> {
    let stmt = crate::sql::parse_statement(parent).ok()?;
    let refs = extract(&stmt);
    if let Some(stem) = column.strip_suffix("_id") {
        for t in &refs.tables {
            let name = t.name.rsplit('.').next().unwrap_or(&t.name);
            if singular(name) == stem || name == stem {
                return Some(format!(
                    "JOIN {child_table} ON {child_table}.{column} = {name}.id"
                ));
            }
        }
    }
    if column == "id" {
        let fk = format!(
            "{}_id",
            singular(child_table.rsplit('.').next().unwrap_or(child_table))
        );
        if let Some(c) = refs.columns.iter().find(|c| c.column == fk) {
            let owner = c.table.clone().unwrap_or_else(|| {
                refs.tables
                    .first()
                    .map(|t| t.name.clone())
                    .unwrap_or_default()
            });
            return Some(format!(
                "JOIN {child_table} ON {child_table}.id = {owner}.{fk}"
            ));
        }
    }
    None
}

/// `dbkit workload n-plus-one`.
#[derive(Debug, Clone, Serialize)]
pub struct NPlusOneReport {
    /// Inputs.
    pub inputs: Vec<String>,
    /// Format read.
    pub format: String,
    /// What was read.
    pub read: crate::workload::ReadStats,
    /// Queries considered.
    pub queries: usize,
    /// Scopes (sessions/traces).
    pub scopes: usize,
    /// Patterns, by total time.
    pub patterns: Vec<BurstRow>,
    /// One finding per pattern.
    pub findings: Vec<Finding>,
    /// Inputs read only in part.
    pub warnings: Vec<String>,
}

impl NPlusOneReport {
    /// Group bursts into patterns (shape, parent, kind) and turn each into a finding, ranked by
    /// total time.
    pub fn build(
        inputs: &[String],
        format: String,
        read: crate::workload::ReadStats,
        c: &Collector,
        bursts: Vec<Burst>,
    ) -> Self {
        use std::collections::{BTreeSet, HashMap};
        // n-plus-one: one pattern per (shape, parent); redundant-query: one per shape.
        let mut groups: HashMap<(bool, u64, Option<u64>), Vec<&Burst>> = HashMap::new();
        for b in &bursts {
            let redundant = b.distinct_values <= 1;
            let parent = if redundant { None } else { b.parent };
            groups.entry((redundant, b.fp, parent)).or_default().push(b);
        }
        let mut rows: Vec<(BurstRow, Finding)> = groups
            .into_iter()
            .map(|((redundant, fp, parent_fp), bs)| {
                let query = c.shapes.get(&fp).cloned().unwrap_or_default();
                let parent = parent_fp.and_then(|p| c.shapes.get(&p).cloned());
                let parents: Vec<String> = bs
                    .iter()
                    .filter_map(|b| b.parent)
                    .collect::<BTreeSet<u64>>()
                    .iter()
                    .filter_map(|p| c.shapes.get(p).cloned())
                    .collect();
                let total: f64 = bs.iter().map(|b| b.total_ms).sum();
                let wasted: f64 = bs.iter().map(|b| b.total_ms - b.total_ms / b.count as f64).sum();
                let repeats: usize = bs.iter().map(|b| b.count).sum();
                let sessions: BTreeSet<u32> = bs.iter().map(|b| b.scope).collect();
                let top = bs.iter().max_by_key(|b| b.count).copied().unwrap_or(bs[0]);
                let example_session = c.scopes.get(top.scope as usize).cloned().unwrap_or_default();
                let row = BurstRow {
                    rule: if redundant { redundant_query::ID } else { ID },
                    fingerprint: format!("{fp:016x}"),
                    query: query.clone(),
                    parent: parent.clone(),
                    parents: parents.clone(),
                    bursts: bs.len(),
                    repeats,
                    max_burst: top.count,
                    sessions: sessions.len(),
                    example_session: example_session.clone(),
                    total_ms: total,
                    wasted_ms: wasted,
                };
                let samples: Vec<String> = c
                    .samples
                    .get(&fp)
                    .map(|v| v.iter().map(|(sql, p)| p.clone().unwrap_or_else(|| sql.clone())).collect())
                    .unwrap_or_default();
                let evidence = serde_json::json!({
                    "fingerprint": row.fingerprint, "bursts": row.bursts, "repeats": repeats, "max_burst": top.count,
                    "distinct_values_in_longest": top.distinct_values, "sessions": row.sessions, "total_ms": total,
                    "wasted_ms": wasted, "example_session": example_session,
                    "first_burst": crate::analyze::workload::top::iso(bs.iter().map(|b| b.start_ms).min().unwrap_or(0)),
                    "parent": parent, "parents": parents, "examples": samples,
                });
                let location = Location { node: Some(format!("session {example_session}")), ..Default::default() };
                let finding = if redundant {
                    redundant_query::finding(&row, location, evidence)
                } else {
                    loop_finding(&row, location, evidence)
                };
                (row, finding)
            })
            .collect();
        rows.sort_by(|a, b| {
            b.0.total_ms
                .partial_cmp(&a.0.total_ms)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.0.fingerprint.cmp(&b.0.fingerprint))
        });
        let (patterns, findings) = rows.into_iter().unzip();
        NPlusOneReport {
            inputs: inputs.to_vec(),
            format,
            read,
            queries: c.events.len(),
            scopes: c.scopes.len(),
            patterns,
            findings,
            warnings: Vec::new(),
        }
    }
}

fn loop_finding(row: &BurstRow, location: Location, evidence: serde_json::Value) -> Finding {
    let loop_col = loop_column(&row.query);
    let mut suggestion = match &loop_col {
        Some((_, col)) => match batched(&row.query, col) {
            Some(q) => format!("one query for all values: {q}"),
            None => format!("fetch all rows in one query with {col} = ANY($1)"),
        },
        None => {
            "fetch all rows in one batched query (WHERE key = ANY($1)) instead of one per value"
                .to_string()
        }
    };
    if let (Some(p), Some((table, col))) = (&row.parent, &loop_col) {
        if let Some(j) = join_with_parent(p, table.as_deref().unwrap_or_default(), col) {
            suggestion.push_str(&format!("; or join it to the parent query: {j}"));
        }
    }
    let parent_note = row
        .parent
        .as_deref()
        .map(|p| format!(" after `{p}`"))
        .unwrap_or_default();
    Finding {
        rule: ID,
        severity: Severity::Warning,
        message: format!(
            "`{}` ran {} times in {} burst(s){parent_note} (longest {}, {} session(s)): {} in all, {} wasted",
            row.query,
            fmt_n(row.repeats as f64),
            fmt_n(row.bursts as f64),
            row.max_burst,
            row.sessions,
            fmt_ms(row.total_ms),
            fmt_ms(row.wasted_ms)
        ),
        location,
        evidence,
        suggestion: Some(suggestion),
    }
}

impl Report for NPlusOneReport {
    fn kind(&self) -> &'static str {
        "workload-n-plus-one"
    }
    fn summary(&self) -> String {
        let n = self.patterns.iter().filter(|b| b.rule == ID).count();
        format!(
            "{} n-plus-one and {} redundant-query pattern(s) in {} queries over {} sessions ({})",
            n,
            self.patterns.len() - n,
            self.queries,
            self.scopes,
            self.format
        )
    }
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Patterns by total time",
            &[
                "rule", "repeats", "bursts", "longest", "sessions", "total", "wasted", "query",
                "after",
            ],
        );
        let short = |s: &str| {
            let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
            if s.chars().count() > 60 {
                s.chars().take(59).collect::<String>() + "…"
            } else {
                s
            }
        };
        for b in &self.patterns {
            t.row(vec![
                Cell::toned(
                    b.rule.as_str(),
                    if b.rule == ID { Tone::Warn } else { Tone::Dim },
                ),
                Cell::num(fmt_n(b.repeats as f64)),
                Cell::num(fmt_n(b.bursts as f64)),
                Cell::num(b.max_burst),
                Cell::num(b.sessions),
                Cell::num(fmt_ms(b.total_ms)),
                Cell::num(fmt_ms(b.wasted_ms)),
                Cell::text(short(&b.query)),
                Cell::text(b.parent.as_deref().map(short).unwrap_or_default()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_rewrite_and_parent_join() {
        assert_eq!(
            batched("select * from order_items where order_id = $1", "order_id").as_deref(),
            Some("select * from order_items where order_id = any($1)")
        );
        assert_eq!(
            loop_column("select * from order_items where order_id = $1"),
            Some((Some("order_items".to_string()), "order_id".to_string()))
        );
        assert_eq!(
            join_with_parent(
                "select * from orders where user_id = $1",
                "order_items",
                "order_id"
            )
            .as_deref(),
            Some("JOIN order_items ON order_items.order_id = orders.id")
        );
        assert_eq!(
            join_with_parent(
                "select tag_id from post_tags where post_id in ($1 /*, ... */)",
                "tags",
                "id"
            )
            .as_deref(),
            Some("JOIN tags ON tags.id = post_tags.tag_id")
        );
        assert_eq!(join_with_parent("select 1", "tags", "id"), None);
    }
}
