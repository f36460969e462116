//! Rules: pure functions from data (plans, migrations, workloads, catalogs) to findings. Each
//! rule is one file with its tests beside it; every rule id is registered in
//! [`crate::finding::RuleId`], and [`catalogue`] lists the registry with the configuration in
//! force for `dbkit rules`.

pub mod index;
pub mod migration;
pub mod plan;
pub mod plan_diff;
pub mod workload;

use crate::config::Config;
use crate::finding::{Family, RuleId, Severity};
use crate::view::{Cell, Report, Table};
use serde::Serialize;

/// A threshold with the value in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdValue {
    /// dbkit.toml key, under `[rules.<section>]`.
    pub key: &'static str,
    /// dbkit.toml table under `[rules]`.
    pub section: &'static str,
    /// The value in force (the default unless dbkit.toml sets it).
    pub value: String,
    /// Unit.
    pub unit: &'static str,
    /// What it bounds.
    pub meaning: &'static str,
}

/// What `dbkit rules` says about one rule: the registry's entry with the configuration applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleEntry {
    /// The rule.
    pub id: RuleId,
    /// Its family.
    pub family: Family,
    /// The severity it reports with (dbkit.toml `[rules.severity]`, else its default).
    pub severity: Severity,
    /// The registry's default severity.
    pub default_severity: Severity,
    /// One line: what it finds.
    pub description: &'static str,
    /// Thresholds with their values.
    pub thresholds: Vec<ThresholdValue>,
    /// Whether dbkit.toml leaves it on.
    pub enabled: bool,
}

impl RuleEntry {
    /// The entry of `id` under `cfg`.
    pub fn new(id: RuleId, cfg: &Config) -> RuleEntry {
        let info = id.info();
        RuleEntry {
            id,
            family: info.family,
            severity: cfg.severity(id, info.severity),
            default_severity: info.severity,
            description: info.description,
            thresholds: info
                .thresholds
                .iter()
                .map(|t| ThresholdValue {
                    key: t.key,
                    section: t.section,
                    value: cfg.threshold(t.section, t.key).unwrap_or_default(),
                    unit: t.unit,
                    meaning: t.meaning,
                })
                .collect(),
            enabled: cfg.enabled(id),
        }
    }
}

/// Every registered rule (of one family, when given), with the configuration in force.
pub fn catalogue(cfg: &Config, family: Option<Family>) -> Vec<RuleEntry> {
    RuleId::ALL
        .iter()
        .filter(|r| family.is_none_or(|f| r.family() == f))
        .map(|&r| RuleEntry::new(r, cfg))
        .collect()
}

/// `dbkit rules`.
#[derive(Debug, Clone, Serialize)]
pub struct RulesReport {
    /// Every rule.
    pub rules: Vec<RuleEntry>,
}

impl Report for RulesReport {
    fn kind(&self) -> &'static str {
        "rules"
    }
    fn summary(&self) -> String {
        let families: std::collections::BTreeSet<&str> =
            self.rules.iter().map(|r| r.family.as_str()).collect();
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
                .map(|t| format!("{}={}", t.key, t.value))
                .collect::<Vec<_>>()
                .join(", ");
            let id = if r.enabled {
                Cell::text(r.id.as_str())
            } else {
                Cell::toned(format!("{} (disabled)", r.id), crate::view::Tone::Dim)
            };
            t.row(vec![
                id,
                Cell::text(r.family.as_str()),
                Cell::text(r.severity.as_str()),
                Cell::text(th),
                Cell::text(r.description),
            ]);
        }
        vec![t]
    }
}

/// `dbkit rules explain ID`: one rule in full.
#[derive(Debug, Clone, Serialize)]
pub struct RuleExplainReport {
    /// The rule with the configuration in force.
    pub rule: RuleEntry,
    /// Why it matters and the safe alternative.
    pub explanation: &'static str,
}

impl RuleExplainReport {
    /// The report for `id` under `cfg`.
    pub fn new(id: RuleId, cfg: &Config) -> RuleExplainReport {
        RuleExplainReport {
            rule: RuleEntry::new(id, cfg),
            explanation: id.info().explanation,
        }
    }
}

impl Report for RuleExplainReport {
    fn kind(&self) -> &'static str {
        "rule-explain"
    }
    fn summary(&self) -> String {
        format!("{}: {}", self.rule.id, self.rule.description)
    }
    fn tables(&self) -> Vec<Table> {
        let r = &self.rule;
        let mut props = vec![
            ("rule", r.id.to_string()),
            ("family", r.family.to_string()),
            (
                "severity",
                if r.severity == r.default_severity {
                    r.severity.to_string()
                } else {
                    format!("{} (default {})", r.severity, r.default_severity)
                },
            ),
            (
                "enabled",
                if r.enabled { "yes" } else { "no (dbkit.toml)" }.to_string(),
            ),
        ];
        for t in &r.thresholds {
            props.push((
                "threshold",
                format!(
                    "[rules.{}] {} = {} ({}: {})",
                    t.section, t.key, t.value, t.unit, t.meaning
                ),
            ));
        }
        let t = Table::properties("Rule", props);
        let mut e = Table::new("Explanation", &["text"]);
        for para in self.explanation.split("\n\n") {
            e.row(vec![Cell::text(para)]);
        }
        vec![t, e]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_lists_every_family_and_applies_the_configuration() {
        let cfg = Config::from_toml(
            "[rules]\ndisabled = [\"jit-overhead\"]\n[rules.severity]\ndrop-table = \"error\"\n[rules.plan]\nseq_scan_min_rows = 5\n",
            "x",
        )
        .unwrap();
        let all = catalogue(&cfg, None);
        assert_eq!(all.len(), RuleId::ALL.len());
        for f in Family::ALL {
            assert!(all.iter().any(|r| r.family == *f), "no rule in {f}");
        }
        let get = |id: RuleId| all.iter().find(|r| r.id == id).unwrap();
        assert!(!get(RuleId::JitOverhead).enabled);
        assert_eq!(get(RuleId::DropTable).severity, Severity::Error);
        assert_eq!(get(RuleId::DropTable).default_severity, Severity::Warning);
        assert_eq!(get(RuleId::SeqScanFilter).thresholds[0].value, "5.0");
        // Every threshold the registry names exists in dbkit.toml.
        for r in &all {
            for t in &r.thresholds {
                assert!(
                    !t.value.is_empty(),
                    "{}: [rules.{}] {} is not in Config",
                    r.id,
                    t.section,
                    t.key
                );
            }
        }
        let shard = catalogue(&cfg, Some(Family::Shard));
        assert!(!shard.is_empty() && shard.iter().all(|r| r.family == Family::Shard));
    }
}
