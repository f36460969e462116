//! `dbkit check` on a database: apply the migration statement by statement in one transaction
//! and record what really happened (locks taken, tables rewritten), and plan the workload before
//! and after to catch plan regressions and broken queries. Rolled back unless asked to commit.

use crate::advise::WorkloadQuery;
use crate::analyze::plan_diff::diff;
use crate::config::Config;
use crate::db::hypo::HypoSession;
use crate::db::ConnSpec;
use crate::finding::{Finding, Location, Severity};
use std::collections::HashMap;

/// How to observe.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// Commit the migration instead of rolling it back.
    pub commit: bool,
    /// Total cost increase that counts as a regression (0.2 = 20%).
    pub max_cost_increase: f64,
}

fn at(file: &str, line: usize, col: usize) -> Location {
    Location {
        file: Some(file.to_string()),
        line: Some(line),
        column: Some(col),
        node: None,
    }
}

/// Apply `files` (name, text) on the database at `spec` and report what happened.
pub async fn observe(
    spec: &ConnSpec,
    files: &[(String, String)],
    workload: &[WorkloadQuery],
    o: &ObserveOptions,
) -> Result<Vec<Finding>, crate::Error> {
    let mut s = HypoSession::open_plain(spec).await?;
    let mut out = Vec::new();
    // The workload before.
    let mut before: HashMap<usize, crate::plan::Plan> = HashMap::new();
    for (i, q) in workload.iter().enumerate() {
        if let Ok(j) = s.plan(&q.sql).await {
            if let Ok(mut p) = crate::plan::json::parse(&j) {
                before.insert(i, p.remove(0));
            }
        }
    }
    // The migration, statement by statement.
    for (file, text) in files {
        for st in crate::sql::split(text).statements {
            let lower = st.text.to_ascii_lowercase();
            let (line, col) = (st.span.start.line, st.span.start.column);
            if lower.contains("concurrently")
                || lower.starts_with("begin")
                || lower.starts_with("commit")
                || lower.starts_with("vacuum")
            {
                continue; // not runnable inside the observing transaction
            }
            let files_before = s.relfilenodes().await?;
            let locks_before = s.locks().await?;
            let cons_before = s.constraints().await?;
            if let Err(e) = s.execute(st.text).await {
                out.push(Finding {
                    rule: "migration-error".into(),
                    severity: Severity::Error,
                    message: format!("the statement fails: {e}"),
                    location: at(file, line, col),
                    evidence: serde_json::json!({ "statement": st.text }),
                    suggestion: Some(
                        "fix the statement; nothing after it was checked against the database"
                            .into(),
                    ),
                });
                break;
            }
            for (table, mode) in s
                .locks()
                .await?
                .into_iter()
                .filter(|l| !locks_before.contains(l))
            {
                let heavy = matches!(
                    mode.as_str(),
                    "AccessExclusiveLock" | "ExclusiveLock" | "ShareLock" | "ShareRowExclusiveLock"
                );
                out.push(Finding {
                    rule: "lock-acquired".into(),
                    severity: if heavy { Severity::Warning } else { Severity::Info },
                    message: format!("took {mode} on {table}"),
                    location: at(file, line, col),
                    evidence: serde_json::json!({ "table": table, "mode": mode, "statement": st.text }),
                    suggestion: heavy.then(|| "keep it short: lock_timeout before it, nothing slow after it in the same transaction".to_string()),
                });
            }
            for (table, name, valid) in s
                .constraints()
                .await?
                .into_iter()
                .filter(|c| !cons_before.contains(c))
            {
                out.push(Finding {
                    rule: "constraint-added".into(),
                    severity: Severity::Info,
                    message: format!("constraint {name} on {table} is now {}", if valid { "validated" } else { "NOT VALID (existing rows unchecked)" }),
                    location: at(file, line, col),
                    evidence: serde_json::json!({ "table": table, "constraint": name, "validated": valid }),
                    suggestion: None,
                });
            }
            let after = s.relfilenodes().await?;
            for (table, node, rows) in &files_before {
                if let Some((_, new_node, _)) = after.iter().find(|(t, _, _)| t == table) {
                    if new_node != node {
                        out.push(Finding {
                            rule: "table-rewrite".into(),
                            severity: Severity::Error,
                            message: format!("rewrote {table} ({rows:.0} rows) under an exclusive lock"),
                            location: at(file, line, col),
                            evidence: serde_json::json!({ "table": table, "rows": rows, "relfilenode_before": node, "relfilenode_after": new_node }),
                            suggestion: Some("use a change that does not rewrite (see dbkit check's static rules for the safe alternative)".into()),
                        });
                    }
                }
            }
        }
    }
    // The workload after.
    let mut cfg = Config::default();
    cfg.rules.plan.diff_cost_ratio = 1.0 + o.max_cost_increase;
    for (i, q) in workload.iter().enumerate() {
        let short: String = q.sql.split_whitespace().collect::<Vec<_>>().join(" ");
        match s.plan(&q.sql).await {
            Ok(j) => {
                let (Some(b), Ok(mut a)) = (before.get(&i), crate::plan::json::parse(&j)) else { continue };
                let a = a.remove(0);
                let d = diff(b, &a, &cfg);
                // A join method change counts when it made the query costlier.
                let costlier = matches!((d.cost_before, d.cost_after), (Some(x), Some(y)) if y > x);
                for c in d.changes.iter().filter(|c| c.regression || (c.kind == "join-changed" && costlier)) {
                    out.push(Finding {
                        rule: "plan-regression".into(),
                        severity: Severity::Error,
                        message: match c.kind {
                            "index-unused" => format!("`{short}`: index {} on {} is no longer used", c.before, c.subject),
                            _ => format!("`{short}`: {} {} became {}", c.subject, c.before, c.after),
                        },
                        location: Location { node: Some(format!("workload query {}", i + 1)), ..Default::default() },
                        evidence: serde_json::json!({ "query": q.sql, "kind": c.kind, "before": c.before, "after": c.after, "cost_before": d.cost_before, "cost_after": d.cost_after }),
                        suggestion: Some("keep or replace the index this query used, or accept the regression knowingly with -- dbkit:ignore".into()),
                    });
                }
            }
            Err(e) if before.contains_key(&i) => out.push(Finding {
                rule: "query-broken".into(),
                severity: Severity::Error,
                message: format!("`{short}` planned before the migration and fails after it: {e}"),
                location: Location { node: Some(format!("workload query {}", i + 1)), ..Default::default() },
                evidence: serde_json::json!({ "query": q.sql, "error": e.to_string() }),
                suggestion: Some("ship the application change first (expand/contract), or keep the old column or table until nothing uses it".into()),
            }),
            Err(_) => {}
        }
    }
    if o.commit {
        s.commit().await?;
    } else {
        s.close().await;
    }
    Ok(out)
}
