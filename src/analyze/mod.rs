//! Rules: pure functions from data (plans, later migrations and workloads) to findings. Each
//! rule is one file with its tests beside it, registered in its family's list; [`catalogue`]
//! lists every rule of every family for `dbkit rules`.

pub mod index;
pub mod migration;
pub mod plan;
pub mod plan_diff;
pub mod workload;

use crate::config::Config;
use crate::finding::Severity;
use crate::view::{Cell, Report, Table};
use serde::Serialize;

/// What `dbkit rules` says about one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleInfo {
    /// Stable kebab-case id.
    pub id: &'static str,
    /// The family (`plan`, `sql`…).
    pub family: &'static str,
    /// Default severity (a rule may raise it, as row-misestimate does past its error factor).
    pub severity: Severity,
    /// One line: what it finds.
    pub description: &'static str,
    /// Thresholds: (dbkit.toml key under `[rules.<family>]`, current value, meaning).
    pub thresholds: Vec<(&'static str, String, &'static str)>,
    /// Whether dbkit.toml switched it off.
    pub enabled: bool,
}

/// The SQL-layer rules (emitted by `dbkit sql …`).
fn sql_rules() -> Vec<RuleInfo> {
    vec![
        RuleInfo {
            id: "sql-lex-error",
            family: "sql",
            severity: Severity::Error,
            description: "a quote, dollar quote or comment is never closed; the statement runs to the end of the file",
            thresholds: vec![],
            enabled: true,
        },
        RuleInfo {
            id: "sql-parse-error",
            family: "sql",
            severity: Severity::Warning,
            description: "a statement the PostgreSQL-dialect parser cannot parse (still fingerprinted and classified from tokens)",
            thresholds: vec![],
            enabled: true,
        },
    ]
}

/// The safety rules (emitted by `dbkit explain` and `dbkit check` on a database).
fn safety_rules() -> Vec<RuleInfo> {
    let rule = |id, severity, description| RuleInfo {
        id,
        family: "safety",
        severity,
        description,
        thresholds: vec![],
        enabled: true,
    };
    vec![
        rule(
            "side-effect",
            Severity::Warning,
            "a statement calls something a rollback does not undo (setval, dblink, slots, statistics resets, COPY … PROGRAM): planned only, or not run, unless --allow-side-effects",
        ),
        rule(
            "unknown-function",
            Severity::Warning,
            "EXPLAIN ANALYZE or a checked migration ran functions whose effects dbkit cannot read (C, other languages, dynamic SQL)",
        ),
        rule(
            "statement-not-run",
            Severity::Info,
            "a migration statement the check's transaction cannot run (CONCURRENTLY, VACUUM, two-phase commit): its locks and rewrites are not observed",
        ),
    ]
}

/// Every rule of every family, with the thresholds in force.
pub fn catalogue(cfg: &Config) -> Vec<RuleInfo> {
    let mut all = sql_rules();
    all.extend(safety_rules());
    all.extend(plan::rules(&cfg.rules.plan));
    all.extend(plan_diff::rules(cfg));
    all.extend(index::rules(&cfg.rules.index));
    all.push(crate::advise::rule_info());
    all.extend(migration::rules());
    all.extend(workload::rules(
        workload::bursts::BurstOptions::default().min_repeats,
    ));
    for r in &mut all {
        r.enabled = cfg.enabled(r.id);
    }
    all
}

/// `dbkit rules`.
#[derive(Debug, Clone, Serialize)]
pub struct RulesReport {
    /// Every rule.
    pub rules: Vec<RuleInfo>,
}

impl Report for RulesReport {
    fn kind(&self) -> &'static str {
        "rules"
    }
    fn summary(&self) -> String {
        let families: std::collections::BTreeSet<&str> =
            self.rules.iter().map(|r| r.family).collect();
        format!(
            "{} rules in {} families ({})",
            self.rules.len(),
            families.len(),
            families.into_iter().collect::<Vec<_>>().join(", ")
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Rules",
            &["id", "family", "severity", "thresholds", "description"],
        );
        for r in &self.rules {
            let th = r
                .thresholds
                .iter()
                .map(|(k, v, _)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ");
            let id = if r.enabled {
                Cell::text(r.id)
            } else {
                Cell::toned(format!("{} (disabled)", r.id), crate::view::Tone::Dim)
            };
            t.row(vec![
                id,
                Cell::text(r.family),
                Cell::text(r.severity.as_str()),
                Cell::text(th),
                Cell::text(r.description),
            ]);
        }
        vec![t]
    }
}
