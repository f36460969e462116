//! Index candidates from a workload: what each query's predicates, joins, sort and grouping
//! would like an index on, in the right column order (equality columns first, then one range
//! column, then the sort columns), plus partial, covering, expression, GIN, trigram and BRIN
//! variants where they fit. Pure: the catalog and the parsed queries in, candidates out; the
//! verification with hypothetical indexes lives in `ops::index`.

pub(crate) mod select;

use crate::catalog::{Catalog, Table};
use crate::ddl::index::{IndexSpec, Key, KeySpec};
use crate::sql::extract::{Operand, Predicate, References};
use serde::Serialize;
use std::collections::BTreeMap;

/// One query of the workload with its weight.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadQuery {
    /// Fingerprint id (hex).
    pub fingerprint: String,
    /// A statement to plan (real literals, or `$n` parameters).
    pub sql: String,
    /// How often it runs (its weight).
    pub calls: u64,
}

impl WorkloadQuery {
    /// The statements of a SQL file, one query per distinct shape, weighted by how often the
    /// shape appears (the first text of each shape is kept).
    pub fn from_sql(text: &str) -> Vec<WorkloadQuery> {
        let sp = crate::sql::split(text);
        let mut by_fp: std::collections::HashMap<u64, WorkloadQuery> = Default::default();
        let mut order = Vec::new();
        for s in &sp.statements {
            let fp = crate::sql::fingerprint(s.text);
            by_fp
                .entry(fp.id)
                .and_modify(|q| q.calls += 1)
                .or_insert_with(|| {
                    order.push(fp.id);
                    WorkloadQuery {
                        fingerprint: fp.hex(),
                        sql: s.text.to_string(),
                        calls: 1,
                    }
                });
        }
        order
            .into_iter()
            .filter_map(|id| by_fp.remove(&id))
            .collect()
    }

    /// pg_stat_statements rows (live or exported), weighted by their calls.
    pub fn from_pgss(rows: Vec<crate::workload::pgss::PgssRow>) -> Vec<WorkloadQuery> {
        rows.into_iter()
            .map(|r| WorkloadQuery {
                fingerprint: crate::sql::fingerprint(&r.query).hex(),
                sql: r.query,
                calls: r.calls.max(1),
            })
            .collect()
    }
}

/// Whether a pg_stat_statements entry is not the application's: a query that reads only system
/// catalogs (`pg_class`, `information_schema.columns`, dbkit's own catalog reads among them) or
/// calls HypoPG, or one of the statements dbkit runs to plan (EXPLAIN, PREPARE dbkit_…).
/// pg_stat_statements keeps no application_name, so dbkit's sessions (application_name `dbkit`)
/// are told apart by what they run. Index advice on such queries would be noise.
pub fn not_the_applications(sql: &str) -> bool {
    let lower = sql.trim_start().to_ascii_lowercase();
    if lower.contains("hypopg")
        || lower.starts_with("explain")
        || lower.starts_with("prepare dbkit_")
    {
        return true;
    }
    let Ok(stmt) = crate::sql::parse_statement(sql) else {
        return false;
    };
    let refs = crate::sql::extract::extract(&stmt);
    // A set-returning function in FROM (`generate_series(…)`) is no table of the application.
    let squeezed: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    !refs.tables.is_empty()
        && refs.tables.iter().all(|t| {
            let name = t.name.to_ascii_lowercase();
            let (schema, rel) = name.rsplit_once('.').unwrap_or(("", &name));
            matches!(schema, "pg_catalog" | "information_schema")
                || rel.starts_with("pg_")
                || squeezed.contains(&format!("{rel}("))
        })
}

#[cfg(test)]
mod pgss_tests {
    use super::not_the_applications;

    #[test]
    fn catalog_reads_and_planning_statements_are_not_the_applications() {
        for own in [
            "SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname <> $1",
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1",
            "SELECT * FROM hypopg_create_index($1)",
            "EXPLAIN (FORMAT JSON) SELECT * FROM orders WHERE id = $1",
            "PREPARE dbkit_hypo_3 AS SELECT 1",
            "SELECT c.relname, k.n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid, generate_series (1, i.indnkeyatts) k(n)",
        ] {
            assert!(not_the_applications(own), "{own}");
        }
        for app in [
            "SELECT * FROM orders WHERE customer_id = $1",
            "SELECT o.id FROM orders o JOIN pg_class c ON c.relname = o.note",
            "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
        ] {
            assert!(!not_the_applications(app), "{app}");
        }
    }
}

/// What kind of candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CandidateKind {
    /// Equality/range/sort columns.
    Btree,
    /// A join key.
    JoinKey,
    /// With INCLUDE columns for an index-only scan.
    Covering,
    /// Partial (`WHERE col = constant`).
    Partial,
    /// On an expression (`lower(email)`).
    Expression,
    /// GIN for jsonb/array/full-text operators.
    Gin,
    /// GIN trigram for `LIKE '%x%'`.
    Trigram,
    /// BRIN for a column in physical order.
    Brin,
}

/// An index worth trying.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// The index.
    pub spec: IndexSpec,
    /// What kind.
    pub kind: CandidateKind,
    /// Why: the predicates/sorts it serves.
    pub why: Vec<String>,
    /// Queries (indexes into the workload) it is for.
    pub queries: Vec<usize>,
    /// Why it cannot be verified with a hypothetical index, if it cannot.
    pub unverifiable: Option<String>,
}

/// Operators a GIN index serves.
const GIN_OPS: &[&str] = &["@>", "<@", "?", "?|", "?&", "&&", "@@"];

fn is_eq(p: &Predicate) -> bool {
    matches!(p.op.as_str(), "=" | "IN" | "= ANY" | "IS NULL")
        && !matches!(p.operand, Operand::Column { .. } | Operand::Subquery)
}

fn is_range(p: &Predicate) -> bool {
    matches!(p.op.as_str(), "<" | "<=" | ">" | ">=" | "BETWEEN")
        && !matches!(p.operand, Operand::Column { .. } | Operand::Subquery)
}

/// `lower(u.email)` → `lower(email)`: drop qualifiers in front of the column.
pub(crate) fn unqualify(expr: &str, column: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < expr.len() {
        // An identifier followed by '.' and then the column: skip the qualifier.
        if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' || bytes[i] == b'"' {
            let start = i;
            while i < expr.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'"')
            {
                i += 1;
            }
            if i < expr.len() && bytes[i] == b'.' && expr[i + 1..].starts_with(column) {
                i += 1;
                continue;
            }
            out.push_str(&expr[start..i]);
            continue;
        }
        let ch = expr[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

/// Selectivity order for equality columns: more distinct values first.
fn distinct(t: &Table, col: &str) -> f64 {
    match t.column(col).and_then(|c| c.n_distinct) {
        Some(d) if d < 0.0 => -d * t.rows.max(1.0),
        Some(d) => d,
        None => 0.0,
    }
}

fn key(col: &str) -> KeySpec {
    KeySpec::column(col)
}

struct Builder<'a> {
    cat: &'a Catalog,
    out: BTreeMap<String, Candidate>,
}

impl Builder<'_> {
    fn add(
        &mut self,
        spec: IndexSpec,
        kind: CandidateKind,
        why: String,
        query: usize,
        unverifiable: Option<String>,
    ) {
        if spec.keys.is_empty() || self.served(&spec) {
            return;
        }
        let k = spec.create_sql();
        let c = self.out.entry(k).or_insert_with(|| Candidate {
            spec,
            kind,
            why: Vec::new(),
            queries: Vec::new(),
            unverifiable,
        });
        if !c.why.contains(&why) {
            c.why.push(why);
        }
        if !c.queries.contains(&query) {
            c.queries.push(query);
        }
    }

    /// An existing valid index with the same method, predicate and leading keys serves it.
    fn served(&self, spec: &IndexSpec) -> bool {
        let Some(t) = self.cat.table(&format!("{}.{}", spec.schema, spec.table)) else {
            return false;
        };
        self.cat.indexes_of(t).any(|ix| {
            ix.method == spec.method
                && ix.keys.len() >= spec.keys.len()
                && spec.predicate.is_none() == ix.predicate.is_none()
                && spec.keys.iter().zip(&ix.keys).all(|(want, have)| {
                    let text = match &want.key {
                        Key::Column(c) => have.column.as_deref() == Some(c.as_str()),
                        Key::Expr(e) => {
                            have.text.replace(' ', "") == e.replace(' ', "")
                                || have.text.replace(' ', "") == format!("({})", e.replace(' ', ""))
                        }
                    };
                    text && (want.desc == have.desc || spec.keys.len() == 1)
                })
        })
    }
}

/// Candidates for every query of the workload. `parsed[i]` are the references of
/// `workload[i]` (None when it did not parse).
pub fn candidates(
    cat: &Catalog,
    workload: &[WorkloadQuery],
    parsed: &[Option<References>],
) -> Vec<Candidate> {
    let mut b = Builder {
        cat,
        out: BTreeMap::new(),
    };
    for (qi, refs) in parsed.iter().enumerate() {
        let Some(refs) = refs else { continue };
        let _ = &workload[qi];
        for tref in &refs.tables {
            let Some(t) = cat.table(&tref.name) else {
                continue;
            };
            let preds: Vec<&Predicate> = refs
                .predicates
                .iter()
                .filter(|p| {
                    p.table.as_deref().is_some_and(|pt| {
                        cat.table(pt)
                            .is_some_and(|x| x.name == t.name && x.schema == t.schema)
                    })
                })
                .filter(|p| t.column(&p.column).is_some())
                .collect();
            let base = |keys: Vec<KeySpec>| IndexSpec {
                schema: t.schema.clone(),
                table: t.name.clone(),
                method: "btree".into(),
                keys,
                include: vec![],
                predicate: None,
            };
            // Equality and range columns on plain columns.
            let mut eq: Vec<&str> = Vec::new();
            let mut range: Vec<&str> = Vec::new();
            for p in preds.iter().filter(|p| p.expression.is_none()) {
                if is_eq(p) && !eq.contains(&p.column.as_str()) {
                    eq.push(&p.column);
                } else if is_range(p) && !range.contains(&p.column.as_str()) {
                    range.push(&p.column);
                }
            }
            eq.sort_by(|a, b| {
                distinct(t, b)
                    .partial_cmp(&distinct(t, a))
                    .unwrap_or(std::cmp::Ordering::Equal)
            });
            range.retain(|r| !eq.contains(r));
            // Sort columns (only with LIMIT, only when all on this table).
            let sort: Vec<KeySpec> = if refs.has_limit
                && !refs.order_by.is_empty()
                && refs.order_by.iter().all(|s| {
                    s.table
                        .as_deref()
                        .is_some_and(|st| cat.table(st).is_some_and(|x| x.name == t.name))
                        && t.column(&s.column).is_some()
                }) {
                refs.order_by
                    .iter()
                    .map(|s| KeySpec {
                        key: Key::Column(s.column.clone()),
                        desc: s.descending,
                        nulls_first: s.nulls_first,
                        opclass: None,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let mut keys: Vec<KeySpec> = eq.iter().map(|c| key(c)).collect();
            if let Some(r) = range.first() {
                if sort.is_empty() || sort.iter().all(|s| s.key != Key::Column(r.to_string())) {
                    keys.push(key(r));
                }
            }
            for s in &sort {
                if !keys.iter().any(|k| k.key == s.key) {
                    keys.push(s.clone());
                }
            }
            let mut why: Vec<String> = preds
                .iter()
                .filter(|p| p.expression.is_none() && (is_eq(p) || is_range(p)))
                .map(|p| format!("{} {}", p.column, p.op))
                .collect();
            if !sort.is_empty() {
                why.push(format!(
                    "ORDER BY {} LIMIT",
                    sort.iter()
                        .map(|s| format!(
                            "{}{}",
                            match &s.key {
                                Key::Column(c) => c.as_str(),
                                Key::Expr(e) => e.as_str(),
                            },
                            if s.desc { " DESC" } else { "" }
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let why_text = why.join(", ");
            if !keys.is_empty() {
                b.add(
                    base(keys.clone()),
                    CandidateKind::Btree,
                    why_text.clone(),
                    qi,
                    None,
                );
                // Covering: the other columns this query reads from the table, when few.
                let key_cols: Vec<&str> = keys
                    .iter()
                    .filter_map(|k| match &k.key {
                        Key::Column(c) => Some(c.as_str()),
                        _ => None,
                    })
                    .collect();
                let others: Vec<String> = refs
                    .columns
                    .iter()
                    .filter(|c| {
                        c.table
                            .as_deref()
                            .is_some_and(|ct| cat.table(ct).is_some_and(|x| x.name == t.name))
                    })
                    .map(|c| c.column.clone())
                    .filter(|c| !key_cols.contains(&c.as_str()) && t.column(c).is_some())
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                if !others.is_empty() && others.len() <= 3 {
                    let mut cov = base(keys.clone());
                    cov.include = others.clone();
                    b.add(
                        cov,
                        CandidateKind::Covering,
                        format!(
                            "{why_text}; INCLUDE {} for an index-only scan",
                            others.join(", ")
                        ),
                        qi,
                        None,
                    );
                }
            }
            // Partial: equality with a constant on a low-cardinality column, other keys remain.
            for p in preds
                .iter()
                .filter(|p| p.op == "=" && p.expression.is_none())
            {
                let Operand::Constant { value } = &p.operand else {
                    continue;
                };
                let d = distinct(t, &p.column);
                if d == 0.0 || d > 20.0 {
                    continue;
                }
                let rest: Vec<KeySpec> = keys
                    .iter()
                    .filter(|k| k.key != Key::Column(p.column.clone()))
                    .cloned()
                    .collect();
                if rest.is_empty() {
                    continue;
                }
                let mut part = base(rest);
                part.predicate = Some(format!(
                    "{} = {value}",
                    crate::sql::ident::quote_ident(&p.column)
                ));
                b.add(
                    part,
                    CandidateKind::Partial,
                    format!("{} = {value} recurs ({d:.0} distinct values)", p.column),
                    qi,
                    None,
                );
            }
            // Expressions on a column: lower(email) = …
            for p in preds
                .iter()
                .filter(|p| p.expression.is_some() && (is_eq(p) || is_range(p) || p.op == "LIKE"))
            {
                let Some(expr) = &p.expression else { continue };
                let e = unqualify(expr, &p.column);
                b.add(
                    base(vec![KeySpec {
                        key: Key::Expr(e.clone()),
                        desc: false,
                        nulls_first: None,
                        opclass: None,
                    }]),
                    CandidateKind::Expression,
                    format!("{e} {}", p.op),
                    qi,
                    None,
                );
            }
            // GIN for containment/array/full-text operators.
            for p in preds
                .iter()
                .filter(|p| GIN_OPS.contains(&p.op.as_str()) && p.expression.is_none())
            {
                let mut g = base(vec![key(&p.column)]);
                g.method = "gin".into();
                b.add(
                    g,
                    CandidateKind::Gin,
                    format!("{} {}", p.column, p.op),
                    qi,
                    Some("HypoPG cannot simulate GIN indexes".into()),
                );
            }
            // Trigram for LIKE '%x%'.
            for p in preds
                .iter()
                .filter(|p| matches!(p.op.as_str(), "LIKE" | "ILIKE"))
            {
                let Operand::Constant { value } = &p.operand else {
                    continue;
                };
                if !value.starts_with("'%") {
                    continue;
                }
                let k = match &p.expression {
                    Some(e) => Key::Expr(unqualify(e, &p.column)),
                    None => Key::Column(p.column.clone()),
                };
                let mut g = base(vec![KeySpec {
                    key: k,
                    desc: false,
                    nulls_first: None,
                    opclass: Some("gin_trgm_ops".into()),
                }]);
                g.method = "gin".into();
                let reason = if cat.has_extension("pg_trgm") {
                    "HypoPG cannot simulate GIN indexes".to_string()
                } else {
                    "needs the pg_trgm extension (CREATE EXTENSION pg_trgm), and HypoPG cannot simulate GIN".to_string()
                };
                b.add(
                    g,
                    CandidateKind::Trigram,
                    format!(
                        "{} {} {value} (a leading wildcard: btree cannot help)",
                        p.column, p.op
                    ),
                    qi,
                    Some(reason),
                );
            }
            // BRIN for range predicates on columns in physical order.
            for p in preds
                .iter()
                .filter(|p| is_range(p) && p.expression.is_none())
            {
                let corr = t
                    .column(&p.column)
                    .and_then(|c| c.correlation)
                    .unwrap_or(0.0);
                if corr.abs() >= 0.95 && t.rows >= 100_000.0 {
                    let mut br = base(vec![key(&p.column)]);
                    br.method = "brin".into();
                    b.add(
                        br,
                        CandidateKind::Brin,
                        format!(
                            "{} {} on a column in physical order (correlation {corr:.2})",
                            p.column, p.op
                        ),
                        qi,
                        None,
                    );
                }
            }
            // Join keys: the column this table is joined on (the inner side of a nested loop).
            for p in preds.iter().filter(|p| {
                p.op == "=" && matches!(p.operand, Operand::Column { .. }) && p.expression.is_none()
            }) {
                b.add(
                    base(vec![key(&p.column)]),
                    CandidateKind::JoinKey,
                    format!("join key {}", p.column),
                    qi,
                    None,
                );
            }
        }
    }
    b.out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Column, Index, IndexKey};

    fn cat() -> Catalog {
        let col = |n: &str, d: f64, corr: f64| Column {
            name: n.into(),
            type_name: "int".into(),
            n_distinct: Some(d),
            correlation: Some(corr),
            ..Default::default()
        };
        Catalog {
            tables: vec![
                Table {
                    schema: "public".into(),
                    name: "orders".into(),
                    rows: 100_000.0,
                    columns: vec![
                        col("id", -1.0, 1.0),
                        col("user_id", 5000.0, 0.1),
                        col("status", 5.0, 0.2),
                        col("created_at", -1.0, 0.99),
                        col("total", -0.5, 0.0),
                    ],
                    ..Default::default()
                },
                Table {
                    schema: "public".into(),
                    name: "users".into(),
                    rows: 1000.0,
                    columns: vec![col("id", -1.0, 1.0), col("email", -1.0, 0.0)],
                    ..Default::default()
                },
            ],
            indexes: vec![Index {
                schema: "public".into(),
                name: "orders_pkey".into(),
                table: "orders".into(),
                method: "btree".into(),
                keys: vec![IndexKey {
                    column: Some("id".into()),
                    text: "id".into(),
                    desc: false,
                    nulls_first: false,
                }],
                unique: true,
                primary: true,
                valid: true,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn run(sqls: &[&str]) -> Vec<Candidate> {
        let wl: Vec<WorkloadQuery> = sqls
            .iter()
            .map(|s| WorkloadQuery {
                fingerprint: String::new(),
                sql: s.to_string(),
                calls: 1,
            })
            .collect();
        let parsed: Vec<Option<References>> = sqls
            .iter()
            .map(|s| {
                crate::sql::parse_statement(s)
                    .ok()
                    .map(|st| crate::sql::extract::extract(&st))
            })
            .collect();
        candidates(&cat(), &wl, &parsed)
    }

    fn ddls(c: &[Candidate]) -> Vec<String> {
        c.iter().map(|c| c.spec.create_sql_plain()).collect()
    }

    #[test]
    fn equality_then_range_then_sort() {
        let c = run(&["SELECT id FROM orders WHERE created_at > now() - interval '1 day' AND user_id = 42 ORDER BY created_at DESC LIMIT 20"]);
        let d = ddls(&c);
        assert!(d.contains(&"CREATE INDEX orders_user_id_created_at_idx ON public.orders USING btree (user_id, created_at DESC);".to_string()), "{d:#?}");
        assert!(
            d.iter().any(|x| x.contains("USING brin (created_at)")),
            "{d:#?}"
        );
    }

    #[test]
    fn partial_expression_gin_trigram_join_and_served() {
        let c = run(&[
            "SELECT id FROM orders WHERE status = 'pending' AND user_id = 3",
            "SELECT id FROM users WHERE lower(email) = 'a@b.c'",
            "SELECT id FROM users WHERE email LIKE '%lamp%'",
            "SELECT o.id FROM orders o JOIN users u ON u.id = o.user_id WHERE u.email = 'x'",
            "SELECT * FROM orders WHERE id = 5",
        ]);
        let d = ddls(&c);
        assert!(
            d.iter()
                .any(|x| x.contains("(user_id) WHERE status = 'pending'")),
            "{d:#?}"
        );
        assert!(d.iter().any(|x| x.contains("((lower(email)))")), "{d:#?}");
        let trgm = c.iter().find(|x| x.kind == CandidateKind::Trigram).unwrap();
        assert!(trgm.unverifiable.as_deref().unwrap().contains("pg_trgm"));
        assert!(
            d.iter().any(|x| x.contains("orders USING btree (user_id)")),
            "join key: {d:#?}"
        );
        assert!(
            !d.iter().any(|x| x.contains("orders USING btree (id)")),
            "served by the primary key: {d:#?}"
        );
    }
}
