//! `dbkit.toml`: rule thresholds and switches. Every field has a documented default; unknown
//! keys are errors, so a typo never silently does nothing.
//!
//! ```toml
//! [rules]
//! disabled = ["jit-overhead"]
//!
//! [rules.plan]
//! seq_scan_min_rows = 50000
//! ```

use serde::{Deserialize, Serialize};
use std::path::Path;

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
    /// Rule ids never reported by `dbkit check`.
    pub exclude: Vec<String>,
    /// `--fail-on` default for `dbkit check` (`info`, `warning`, `error`).
    pub fail_on: Option<String>,
    /// Target PostgreSQL major version (default 15).
    pub pg_version: Option<u32>,
}

/// `[rules]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Rule ids that never report.
    pub disabled: Vec<String>,
    /// `[rules.plan]` thresholds.
    pub plan: PlanThresholds,
    /// `[rules.index]` thresholds.
    pub index: IndexThresholds,
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
            index_filter_min_removed_rows: 1_000.0,
            index_filter_min_removed: 0.9,
            heap_fetches_min: 1_000.0,
            large_offset_min_rows: 1_000.0,
            jit_min_share: 0.2,
            temp_io_min_mb: 50.0,
            diff_cost_ratio: 1.5,
            diff_time_ratio: 2.0,
        }
    }
}

impl Config {
    /// Parse TOML text.
    pub fn from_toml(text: &str, path: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Read {
            path: path.to_string(),
            message: crate::secret::safe_message(&e.to_string()).replace('\n', " "),
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

    /// Whether a rule is switched on.
    pub fn enabled(&self, rule: &str) -> bool {
        !self.rules.disabled.iter().any(|r| r == rule)
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
        assert!(!c.enabled("jit-overhead"));
        assert!(c.enabled("sort-spill"));
        let e = Config::from_toml("[rules.plan]\nseq_scan_min_rowz = 5\n", "dbkit.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("dbkit.toml:") && e.contains("seq_scan_min_rowz"),
            "{e}"
        );
    }
}
