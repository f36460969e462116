//! `dbkit.toml`: rule thresholds and switches, read once and applied the same way by every
//! command ([`Config::apply`]). Every field has a documented default; unknown keys and unknown
//! rule ids are errors (naming the closest valid id), so a typo never silently does nothing.
//!
//! ```toml
//! [rules]
//! disabled = ["jit-overhead"]
//!
//! [rules.severity]
//! drop-table = "error"
//!
//! [rules.plan]
//! seq_scan_min_rows = 50000
//!
//! [[rules.ignore]]
//! paths = ["migrations/legacy/**"]
//! rules = ["drop-table"]
//! ```

use crate::finding::{Finding, RuleId, Severity};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// Errors reading the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// The whole `dbkit.toml`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Rule settings.
    pub rules: RulesConfig,
    /// `[check]`: migration checks.
    pub check: CheckConfig,
}

/// `[check]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckConfig {
    /// Rule ids never reported: an alias of `[rules] disabled`, kept for existing files.
    pub exclude: Vec<RuleId>,
    /// `--fail-on` default for `dbkit check` (`info`, `warning`, `error`).
    pub fail_on: Option<Severity>,
    /// Target PostgreSQL major version (default 15).
    pub pg_version: Option<u32>,
    /// How to decide whether a migration file runs in a transaction (`auto`, `always`, `never`).
    pub transaction: Option<TxSetting>,
    /// The migration runner whose conventions apply (`goose`, `flyway`…).
    pub runner: Option<Runner>,
}

/// `[rules]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Rule ids that never report.
    pub disabled: Vec<RuleId>,
    /// Rules that are off by default and switched on here (`missing-statement-timeout`).
    pub enabled: Vec<RuleId>,
    /// `[rules.severity]`: a severity per rule id, replacing the rule's own.
    pub severity: BTreeMap<RuleId, Severity>,
    /// `[[rules.ignore]]`: rules silenced for findings located in matching files.
    pub ignore: Vec<PathIgnore>,
    /// `[rules.plan]` thresholds.
    pub plan: PlanThresholds,
    /// `[rules.index]` thresholds.
    pub index: IndexThresholds,
    /// `[rules.workload]` thresholds.
    pub workload: WorkloadThresholds,
}

/// `[[rules.ignore]]`: findings in files matching `paths` are dropped, for the rules listed (every
/// rule when `rules` is empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathIgnore {
    /// Glob patterns over the finding's file as given on the command line: `*` and `?` within a
    /// path segment, `**` across segments.
    pub paths: Vec<String>,
    /// The rules to drop there; empty means every rule.
    pub rules: Vec<RuleId>,
}

/// `[rules.workload]`: thresholds of the n-plus-one and redundant-query rules (the command-line
/// options `--window`, `--tolerance`, `--min-repeats` override them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadThresholds {
    /// Repeats that make a burst worth reporting.
    pub min_repeats: usize,
    /// A gap longer than this ends a burst, ms.
    pub window_ms: i64,
    /// Other statements that may interleave between two repeats.
    pub tolerance: usize,
}

impl Default for WorkloadThresholds {
    fn default() -> Self {
        WorkloadThresholds {
            min_repeats: 5,
            window_ms: 1000,
            tolerance: 1,
        }
    }
}

/// `[rules.index]`: thresholds of the index rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndexThresholds {
    /// unused-index: days of statistics needed for a warning (with less, it is info).
    pub unused_min_days: f64,
}

impl Default for IndexThresholds {
    fn default() -> Self {
        IndexThresholds {
            unused_min_days: 7.0,
        }
    }
}

/// `[rules.plan]`: thresholds of the plan rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlanThresholds {
    /// seq-scan-filter: rows a Seq Scan must read (returned + removed, all loops).
    pub seq_scan_min_rows: f64,
    /// seq-scan-filter: share of the rows read that the filter must remove.
    pub seq_scan_min_removed: f64,
    /// row-misestimate: factor for a warning.
    pub misestimate_warning: f64,
    /// row-misestimate: factor for an error.
    pub misestimate_error: f64,
    /// row-misestimate: ignore nodes where both estimate and actual are below this (rows/loop).
    pub misestimate_min_rows: f64,
    /// nested-loop-many-loops: loops of the inner side.
    pub nested_loop_min_loops: f64,
    /// nested-loop-many-loops: share of the total time the inner side must take.
    pub nested_loop_min_share: f64,
    /// nested-loop-many-loops: milliseconds the inner side must take in all (a fast query with
    /// many cheap probes is fine).
    pub nested_loop_min_ms: f64,
    /// index-filter-inefficient: rows an index scan must remove by filter (all loops).
    pub index_filter_min_removed_rows: f64,
    /// index-filter-inefficient: share of fetched rows the filter must remove.
    pub index_filter_min_removed: f64,
    /// heap-fetches: heap fetches (all loops) of an index-only scan.
    pub heap_fetches_min: f64,
    /// large-offset: rows a Limit must discard.
    pub large_offset_min_rows: f64,
    /// jit-overhead: share of execution time spent in JIT.
    pub jit_min_share: f64,
    /// temp-io: temp file writes, MB.
    pub temp_io_min_mb: f64,
    /// trigger-time: share of the execution time one trigger must take.
    pub trigger_min_share: f64,
    /// trigger-time: milliseconds one trigger must take in all.
    pub trigger_min_ms: f64,
    /// sort-spill, hash-batches, hashagg-spill: the largest work_mem dbkit proposes, MB; an
    /// operation that needs more is told to shrink instead (every sort and hash of every
    /// connection may take work_mem).
    pub work_mem_max_mb: f64,
    /// plan-regression: after/before total cost that counts as a regression.
    pub diff_cost_ratio: f64,
    /// plan-regression: after/before execution time that counts as a regression.
    pub diff_time_ratio: f64,
}

impl Default for PlanThresholds {
    fn default() -> Self {
        PlanThresholds {
            seq_scan_min_rows: 10_000.0,
            seq_scan_min_removed: 0.9,
            misestimate_warning: 10.0,
            misestimate_error: 100.0,
            misestimate_min_rows: 100.0,
            nested_loop_min_loops: 1_000.0,
            nested_loop_min_share: 0.1,
            nested_loop_min_ms: 10.0,
            index_filter_min_removed_rows: 1_000.0,
            index_filter_min_removed: 0.9,
            heap_fetches_min: 1_000.0,
            large_offset_min_rows: 1_000.0,
            jit_min_share: 0.2,
            temp_io_min_mb: 50.0,
            trigger_min_share: 0.2,
            trigger_min_ms: 10.0,
            work_mem_max_mb: 256.0,
            diff_cost_ratio: 1.2,
            diff_time_ratio: 2.0,
        }
    }
}

impl Config {
    /// Parse TOML text.
    pub fn from_toml(text: &str, path: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Read {
            path: path.to_string(),
            message: crate::secret::safe_message(e.to_string().trim_end()),
        })
    }

    /// Load `path`; or, when `path` is `None`, `./dbkit.toml` if it exists, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let (p, required) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => (Path::new("dbkit.toml").to_path_buf(), false),
        };
        match std::fs::read_to_string(&p) {
            Ok(text) => Self::from_toml(
                text.strip_prefix('\u{feff}').unwrap_or(&text),
                &p.display().to_string(),
            ),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Config::default())
            }
            Err(e) => Err(ConfigError::Read {
                path: p.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    /// Whether a rule is switched on (`[rules] disabled`, or its alias `[check] exclude`).
    pub fn enabled(&self, rule: RuleId) -> bool {
        !self.rules.disabled.contains(&rule)
            && !self.check.exclude.contains(&rule)
            && (!rule.off_by_default() || self.rules.enabled.contains(&rule))
    }

    /// Every switched-off rule (`[rules] disabled` and `[check] exclude`).
    pub fn disabled_rules(&self) -> Vec<RuleId> {
        let mut v: Vec<RuleId> = self
            .rules
            .disabled
            .iter()
            .chain(&self.check.exclude)
            .copied()
            .chain(
                RuleId::ALL
                    .iter()
                    .copied()
                    .filter(|r| r.off_by_default() && !self.rules.enabled.contains(r)),
            )
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The severity a rule reports with: `[rules.severity]`, else the rule's own.
    pub fn severity(&self, rule: RuleId, own: Severity) -> Severity {
        self.rules.severity.get(&rule).copied().unwrap_or(own)
    }

    /// A threshold's value as configured (`section`/`key` as the registry names them).
    pub fn threshold(&self, section: &str, key: &str) -> Option<String> {
        // Only the section's table (not the whole [rules], whose ignore list may be long).
        let v = match section {
            "plan" => serde_json::to_value(&self.rules.plan),
            "index" => serde_json::to_value(&self.rules.index),
            "workload" => serde_json::to_value(&self.rules.workload),
            _ => return None,
        }
        .ok()?;
        let v = v.get(key)?;
        Some(match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }

    /// [`Config::apply`] to a report's findings.
    pub fn apply_to<R: crate::view::Report + ?Sized>(&self, report: &mut R) {
        if let Some(f) = report.findings_mut() {
            self.apply(f);
        }
    }

    /// Apply the configuration to findings, the same way for every command: drop disabled rules
    /// and findings under a matching `[[rules.ignore]]`, and set configured severities.
    pub fn apply(&self, findings: &mut Vec<Finding>) {
        findings.retain(|f| {
            self.enabled(f.rule)
                && !self.rules.ignore.iter().any(|ig| {
                    (ig.rules.is_empty() || ig.rules.contains(&f.rule))
                        && f.location
                            .file
                            .as_deref()
                            .is_some_and(|file| ig.paths.iter().any(|p| glob_match(p, file)))
                })
        });
        for f in findings.iter_mut() {
            f.severity = self.severity(f.rule, f.severity);
        }
    }
}

/// Glob matching for `[[rules.ignore]] paths`: `*` and `?` stay within a path segment, `**`
/// matches any number of segments. A leading `./` on either side is ignored. Linear in practice
/// (patterns are short); never recursive on the input.
pub fn glob_match(pattern: &str, path: &str) -> bool {
    let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
    let path = path.strip_prefix("./").unwrap_or(path);
    let pats: Vec<&str> = pattern.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    // Dynamic programming over (pattern segment, path segment).
    let mut reach = vec![vec![false; segs.len() + 1]; pats.len() + 1];
    reach[0][0] = true;
    for i in 0..pats.len() {
        for j in 0..=segs.len() {
            if !reach[i][j] {
                continue;
            }
            if pats[i] == "**" {
                for r in reach[i + 1].iter_mut().skip(j) {
                    *r = true;
                }
            } else if j < segs.len() && segment_match(pats[i], segs[j]) {
                reach[i + 1][j + 1] = true;
            }
        }
    }
    reach[pats.len()][segs.len()]
}

fn segment_match(p: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (p.chars().collect(), s.chars().collect());
    let (mut pi, mut si, mut star, mut mark) = (0, 0, None, 0);
    while si < s.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
            pi += 1;
            si += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `[check] transaction` / `--transaction`: how to decide whether a file runs in a transaction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxSetting {
    /// Read the runner's markers and the file's statements (the default).
    #[default]
    Auto,
    /// Every file runs in one transaction (unless it has its own BEGIN/COMMIT).
    Always,
    /// No file runs in a transaction (unless it has its own BEGIN/COMMIT).
    Never,
}

impl FromStr for TxSetting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(TxSetting::Auto),
            "always" => Ok(TxSetting::Always),
            "never" => Ok(TxSetting::Never),
            _ => Err(format!(
                "unknown transaction mode {s:?}: auto, always or never"
            )),
        }
    }
}

/// The migration runners whose conventions dbkit knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runner {
    /// Rails (ActiveRecord): each migration in a transaction unless `disable_ddl_transaction!`.
    Rails,
    /// Django: each migration atomic unless `atomic = False` (sqlmigrate prints the BEGIN/COMMIT).
    Django,
    /// Flyway: each migration in a transaction; one with a statement PostgreSQL refuses in a
    /// transaction runs outside one (or `executeInTransaction=false` in its `.sql.conf`).
    Flyway,
    /// Liquibase formatted SQL: one transaction per `--changeset`, unless `runInTransaction:false`.
    Liquibase,
    /// goose: the `-- +goose Up` section in a transaction unless `-- +goose NO TRANSACTION`.
    Goose,
    /// dbmate: the `-- migrate:up` section in a transaction unless `transaction:false`.
    Dbmate,
    /// golang-migrate: the file is sent as one multi-statement query (one implicit transaction);
    /// a file of one statement runs alone.
    GolangMigrate,
    /// sqitch: deploy scripts run by psql with no transaction of its own; scripts say BEGIN/COMMIT.
    Sqitch,
    /// Atlas: each file in a transaction unless `-- atlas:txmode none`.
    Atlas,
    /// psql -f: every statement commits on its own unless the file says BEGIN/COMMIT.
    Psql,
}

impl Runner {
    /// Every runner, in the order the README lists them.
    pub const ALL: &'static [Runner] = &[
        Runner::Rails,
        Runner::Django,
        Runner::Flyway,
        Runner::Liquibase,
        Runner::Goose,
        Runner::Dbmate,
        Runner::GolangMigrate,
        Runner::Sqitch,
        Runner::Atlas,
        Runner::Psql,
    ];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Runner::Rails => "rails",
            Runner::Django => "django",
            Runner::Flyway => "flyway",
            Runner::Liquibase => "liquibase",
            Runner::Goose => "goose",
            Runner::Dbmate => "dbmate",
            Runner::GolangMigrate => "golang-migrate",
            Runner::Sqitch => "sqitch",
            Runner::Atlas => "atlas",
            Runner::Psql => "psql",
        }
    }
}

impl fmt::Display for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Runner {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Runner::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<&str> = Runner::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown runner {s:?}: one of {}", all.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_toml(
            "[rules]\ndisabled = [\"jit-overhead\"]\n[rules.plan]\nseq_scan_min_rows = 5\n",
            "x",
        )
        .unwrap();
        assert_eq!(c.rules.plan.seq_scan_min_rows, 5.0);
        assert_eq!(c.rules.plan.seq_scan_min_removed, 0.9);
        assert!(!c.enabled(RuleId::JitOverhead));
        assert!(c.enabled(RuleId::SortSpill));
        let e = Config::from_toml("[rules.plan]\nseq_scan_min_rowz = 5\n", "dbkit.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("dbkit.toml:") && e.contains("seq_scan_min_rowz"),
            "{e}"
        );
    }

    #[test]
    fn unknown_rule_ids_name_the_closest() {
        let e = Config::from_toml("[rules]\ndisabled = [\"drop-tabel\"]\n", "dbkit.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean drop-table"), "{e}");
        let e = Config::from_toml("[rules.severity]\nsort-spil = \"error\"\n", "dbkit.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean sort-spill"), "{e}");
        let e = Config::from_toml("[check]\nexclude = [\"drop-colum\"]\n", "dbkit.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean drop-column"), "{e}");
    }

    #[test]
    fn apply_disables_overrides_and_ignores_by_path() {
        let c = Config::from_toml(
            "[rules]\ndisabled = [\"drop-column\"]\n[rules.severity]\ndrop-table = \"error\"\n\
             [[rules.ignore]]\npaths = [\"migrations/legacy/**\"]\nrules = [\"rename-table\"]\n\
             [check]\nexclude = [\"ban-char-field\"]\n",
            "x",
        )
        .unwrap();
        let at = |rule: RuleId, file: &str| {
            Finding::new(rule, "m").at(crate::finding::Location {
                file: Some(file.into()),
                ..Default::default()
            })
        };
        let mut f = vec![
            at(RuleId::DropColumn, "m/1.sql"),
            at(RuleId::DropTable, "m/1.sql"),
            at(RuleId::RenameTable, "migrations/legacy/2019/01.sql"),
            at(RuleId::RenameTable, "migrations/02.sql"),
            at(RuleId::BanCharField, "m/1.sql"),
        ];
        c.apply(&mut f);
        let got: Vec<_> = f.iter().map(|f| (f.rule.as_str(), f.severity)).collect();
        assert_eq!(
            got,
            vec![
                ("drop-table", Severity::Error),
                ("rename-table", Severity::Warning)
            ]
        );
        assert_eq!(
            c.threshold("plan", "seq_scan_min_rows").as_deref(),
            Some("10000.0")
        );
        assert_eq!(c.threshold("workload", "min_repeats").as_deref(), Some("5"));
    }

    #[test]
    fn globs() {
        assert!(glob_match("migrations/*.sql", "migrations/01.sql"));
        assert!(!glob_match("migrations/*.sql", "migrations/old/01.sql"));
        assert!(glob_match("migrations/**/*.sql", "migrations/old/x/01.sql"));
        assert!(glob_match("migrations/**", "migrations/01.sql"));
        assert!(glob_match("**/0?.sql", "./a/b/01.sql"));
        assert!(!glob_match("a/*", "b/c"));
    }
}
