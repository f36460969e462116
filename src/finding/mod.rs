//! The finding shape every rule family emits, severities with their ordering for `--fail-on`,
//! and the rule registry: every finding names a [`RuleId`], a typed id registered in
//! one table (`finding/rules.rs`) with its family, default severity, thresholds and explanation, so a
//! finding from an unregistered rule cannot be built.

mod rules;

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
    #[serde(alias = "warn")]
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
    /// The rule (serialized as its stable kebab-case id).
    pub rule: RuleId,
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

impl Finding {
    /// A finding of `rule` with the rule's default severity and nothing located yet: the one way
    /// every command builds its findings.
    pub fn new(rule: RuleId, message: impl Into<String>) -> Finding {
        Finding {
            rule,
            severity: rule.severity(),
            message: message.into(),
            location: Location::default(),
            evidence: serde_json::Value::Null,
            suggestion: None,
        }
    }

    /// With another severity (a rule that escalates, as row-misestimate does past its error factor).
    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    /// Located.
    pub fn at(mut self, location: Location) -> Finding {
        self.location = location;
        self
    }

    /// With the numbers behind it.
    pub fn with_evidence(mut self, evidence: serde_json::Value) -> Finding {
        self.evidence = evidence;
        self
    }

    /// With a suggestion.
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Finding {
        self.suggestion = Some(suggestion.into());
        self
    }
}

/// A rule family: which part of dbkit emits the rule's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// The SQL reader (`dbkit sql …`).
    Sql,
    /// What dbkit refuses or warns about to keep a database unchanged.
    Safety,
    /// Rules over one EXPLAIN plan.
    Plan,
    /// Comparing two plans of the same query.
    PlanDiff,
    /// Index hygiene and index advice.
    Index,
    /// Migration checks, static and observed on a database.
    Migration,
    /// Query-log and trace analysis.
    Workload,
    /// Shard maps, inspection and rebalance planning.
    Shard,
    /// Replica routing maps, probes and exports.
    Routing,
    /// Playbook runs: assertions and failed steps.
    Playbook,
}

impl Family {
    /// Every family, in listing order.
    pub const ALL: &'static [Family] = &[
        Family::Sql,
        Family::Safety,
        Family::Plan,
        Family::PlanDiff,
        Family::Index,
        Family::Migration,
        Family::Workload,
        Family::Shard,
        Family::Routing,
        Family::Playbook,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Sql => "sql",
            Family::Safety => "safety",
            Family::Plan => "plan",
            Family::PlanDiff => "plan-diff",
            Family::Index => "index",
            Family::Migration => "migration",
            Family::Workload => "workload",
            Family::Shard => "shard",
            Family::Routing => "routing",
            Family::Playbook => "playbook",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Family {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Family::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownName::new("family", s, Family::ALL.iter().map(|f| f.as_str())))
    }
}

/// A threshold a rule reads from dbkit.toml: `[rules.<section>] <key> = value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Threshold {
    /// The dbkit.toml table under `[rules]` (`plan`, `index`, `workload`).
    pub section: &'static str,
    /// The key in that table.
    pub key: &'static str,
    /// The unit of the value (rows, share, factor, ms, MB, days…).
    pub unit: &'static str,
    /// What it bounds.
    pub meaning: &'static str,
}

/// Everything the registry knows about one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleInfo {
    /// The id.
    pub id: RuleId,
    /// Its family.
    pub family: Family,
    /// Default severity (dbkit.toml `[rules.severity]` may override it).
    pub severity: Severity,
    /// Thresholds it reads.
    pub thresholds: &'static [Threshold],
    /// One line: what it finds.
    pub description: &'static str,
    /// Why it matters and the safe alternative (`dbkit rules explain ID`).
    pub explanation: &'static str,
}

/// Declares [`RuleId`] and its registry from the table in `rules.rs`.
macro_rules! registry {
    ($( $variant:ident = $id:literal, $family:ident, $severity:ident, [$($th:expr),*], $description:literal, $explanation:literal; )*) => {
        /// A registered rule. Serialized as its stable kebab-case id.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum RuleId {
            $( #[doc = $description] $variant, )*
        }

        impl RuleId {
            /// Every registered rule, in listing order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant),*];

            /// The stable kebab-case id.
            pub fn as_str(self) -> &'static str {
                match self { $(RuleId::$variant => $id,)* }
            }

            /// What the registry says about the rule.
            pub fn info(self) -> &'static RuleInfo {
                match self {
                    $(RuleId::$variant => {
                        const INFO: RuleInfo = RuleInfo {
                            id: RuleId::$variant,
                            family: Family::$family,
                            severity: Severity::$severity,
                            thresholds: &[$($th),*],
                            description: $description,
                            explanation: $explanation,
                        };
                        &INFO
                    })*
                }
            }
        }
    };
}
use registry;
pub use rules::RuleId;

impl RuleId {
    /// The default severity.
    pub fn severity(self) -> Severity {
        self.info().severity
    }

    /// The family.
    pub fn family(self) -> Family {
        self.info().family
    }

    /// Rules that run only when `[rules] enabled` names them.
    pub fn off_by_default(self) -> bool {
        matches!(self, RuleId::MissingStatementTimeout)
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RuleId {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        RuleId::ALL
            .iter()
            .copied()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownName::new("rule", s, RuleId::ALL.iter().map(|r| r.as_str())))
    }
}

impl PartialEq<str> for RuleId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for RuleId {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A name that is not one of the known ones, with the closest known name when one is close.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{name}'{}", .closest.as_ref().map(|c| format!(" (did you mean {c}?)")).unwrap_or_default())]
pub struct UnknownName {
    /// What kind of name (`rule`, `family`).
    pub what: &'static str,
    /// The name given (cut to 64 characters).
    pub name: String,
    /// The closest known name, when within a few edits.
    pub closest: Option<&'static str>,
}

impl UnknownName {
    fn new(what: &'static str, name: &str, known: impl Iterator<Item = &'static str>) -> Self {
        let len = name.chars().take(64).count();
        // The distance is at least the difference in length: skip names that cannot be close.
        let closest = known
            .filter(|k| len.abs_diff(k.len()) <= 3.max(k.len() / 4))
            .map(|k| (edit_distance(name, k), k))
            .filter(|(d, k)| *d <= 3.max(k.len() / 4))
            .min_by_key(|(d, _)| *d)
            .map(|(_, k)| k);
        UnknownName {
            what,
            name: name.chars().take(64).collect(),
            closest,
        }
    }
}

/// Levenshtein distance over chars (names here are short; inputs are cut to 64 characters).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// One finding for a rule that fires again and again for the same cause: within a file, a
/// finding with the same rule, message and suggestion as that rule's previous finding there is
/// folded into it (its message says at which other lines; `evidence.also_at` lists them).
/// Order is kept; findings without a file are left alone.
pub fn collapse_repeats(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::with_capacity(findings.len());
    let mut also: Vec<Vec<usize>> = Vec::new();
    let mut last: std::collections::HashMap<(String, RuleId), usize> =
        std::collections::HashMap::new();
    for f in findings {
        let Some(file) = f.location.file.clone() else {
            out.push(f);
            also.push(Vec::new());
            continue;
        };
        let key = (file, f.rule);
        if let Some(&i) = last.get(&key) {
            let prev = &out[i];
            if prev.message == f.message
                && prev.suggestion == f.suggestion
                && prev.severity == f.severity
                && f.location.line.is_some()
            {
                also[i].extend(f.location.line);
                continue;
            }
        }
        last.insert(key, out.len());
        out.push(f);
        also.push(Vec::new());
    }
    for (f, lines) in out.iter_mut().zip(also) {
        if lines.is_empty() {
            continue;
        }
        let list: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        f.message = format!(
            "{} (also at line{} {})",
            f.message,
            if lines.len() > 1 { "s" } else { "" },
            list.join(", ")
        );
        if let serde_json::Value::Object(m) = &mut f.evidence {
            m.insert("also_at".to_string(), serde_json::json!(lines));
        } else if f.evidence.is_null() {
            f.evidence = serde_json::json!({ "also_at": lines });
        }
    }
    out
}

/// The most severe finding's severity, if any.
pub fn max_severity(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_fold_into_one_finding() {
        let f = |rule: RuleId, line: usize, msg: &str| {
            Finding::new(rule, msg).at(Location {
                file: Some("m.sql".to_string()),
                line: Some(line),
                ..Default::default()
            })
        };
        let out = collapse_repeats(vec![
            f(RuleId::MissingLockTimeout, 1, "on a"),
            f(RuleId::MissingLockTimeout, 2, "on a"),
            f(RuleId::DropTable, 2, "drop"),
            f(RuleId::MissingLockTimeout, 3, "on b"),
            f(RuleId::MissingLockTimeout, 4, "on b"),
            f(RuleId::MissingLockTimeout, 5, "on b"),
        ]);
        let got: Vec<(RuleId, Option<usize>, &str)> = out
            .iter()
            .map(|f| (f.rule, f.location.line, f.message.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (RuleId::MissingLockTimeout, Some(1), "on a (also at line 2)"),
                (RuleId::DropTable, Some(2), "drop"),
                (
                    RuleId::MissingLockTimeout,
                    Some(3),
                    "on b (also at lines 4, 5)"
                ),
            ]
        );
        assert_eq!(out[2].evidence["also_at"], serde_json::json!([4, 5]));
    }

    #[test]
    fn severities_order_and_parse() {
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
        assert_eq!("WARN".parse::<Severity>(), Ok(Severity::Warning));
        assert!("fatal".parse::<Severity>().is_err());
    }

    #[test]
    fn every_rule_is_registered_once_with_its_texts() {
        let mut seen = std::collections::HashSet::new();
        for &r in RuleId::ALL {
            assert!(seen.insert(r.as_str()), "{r} registered twice");
            assert_eq!(r.as_str().parse::<RuleId>(), Ok(r));
            assert_eq!(r.info().id, r);
            let i = r.info();
            assert!(
                !i.description.is_empty() && i.explanation.contains("Instead"),
                "{r}"
            );
            assert!(
                r.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{r}"
            );
        }
        assert_eq!(
            serde_json::to_string(&RuleId::DropTable).unwrap(),
            "\"drop-table\""
        );
    }

    #[test]
    fn unknown_ids_name_the_closest() {
        let e = "drop-tabel".parse::<RuleId>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown rule 'drop-tabel' (did you mean drop-table?)"
        );
        let e = "no-such-thing-at-all".parse::<RuleId>().unwrap_err();
        assert_eq!(e.closest, None, "{e}");
        assert_eq!("PLAN".parse::<Family>(), Ok(Family::Plan));
        assert!(serde_json::from_str::<RuleId>("\"sort-spil\"")
            .unwrap_err()
            .to_string()
            .contains("did you mean sort-spill"));
    }

    #[test]
    fn finding_serializes_in_the_shared_shape() {
        let f = Finding {
            rule: RuleId::SqlParseError,
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
            serde_json::json!({"rule": "sql-parse-error", "severity": "warning", "message": "m",
                "location": {"file": "q.sql", "line": 3}, "evidence": {"n": 1}})
        );
    }
}
