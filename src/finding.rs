//! The finding shape every rule family emits (plan rules, migration checks, N+1, index hygiene),
//! and severities with their ordering for `--fail-on`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How serious a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never fails a run by default.
    Info,
    /// Likely a problem.
    Warning,
    /// A problem.
    Error,
}

impl Severity {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "error" => Ok(Severity::Error),
            other => Err(format!(
                "unknown severity '{other}' (expected info, warning or error)"
            )),
        }
    }
}

/// Where a finding points: a file position, a plan node, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The input file, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// A plan node (`Seq Scan on orders`) or another logical place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// One finding: a rule id, a severity, a message with the evidence in numbers, where, the raw
/// evidence, and a concrete suggestion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case rule id.
    pub rule: String,
    /// Severity.
    pub severity: Severity,
    /// What was found, with numbers.
    pub message: String,
    /// Where.
    pub location: Location,
    /// The numbers behind the message, as a JSON object.
    #[serde(default)]
    pub evidence: serde_json::Value,
    /// What to do about it (SQL where possible).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

/// The most severe finding's severity, if any.
pub fn max_severity(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
        assert_eq!("WARN".parse::<Severity>(), Ok(Severity::Warning));
        assert!("fatal".parse::<Severity>().is_err());
    }

    #[test]
    fn finding_serializes_in_the_shared_shape() {
        let f = Finding {
            rule: "parse-error".into(),
            severity: Severity::Warning,
            message: "m".into(),
            location: Location {
                file: Some("q.sql".into()),
                line: Some(3),
                ..Default::default()
            },
            evidence: serde_json::json!({"n": 1}),
            suggestion: None,
        };
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"rule": "parse-error", "severity": "warning", "message": "m",
                "location": {"file": "q.sql", "line": 3}, "evidence": {"n": 1}})
        );
    }
}
