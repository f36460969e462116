//! CI formats for any report's findings: GitHub Actions annotations, SARIF 2.1.0, JUnit XML.

use crate::finding::{Finding, Severity};
use serde_json::json;

fn gh_escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn gh_escape_prop(s: &str) -> String {
    gh_escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `::error file=…,line=…,col=…,title=rule::message` lines.
pub fn github(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let level = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut props = Vec::new();
        if let Some(file) = &f.location.file {
            props.push(format!("file={}", gh_escape_prop(file)));
        }
        if let Some(l) = f.location.line {
            props.push(format!("line={l}"));
        }
        if let Some(c) = f.location.column {
            props.push(format!("col={c}"));
        }
        props.push(format!("title={}", gh_escape_prop(f.rule.as_str())));
        let msg = match &f.suggestion {
            Some(s) => format!("{}\nFix: {s}", f.message),
            None => f.message.clone(),
        };
        out.push_str(&format!(
            "::{level} {}::{}\n",
            props.join(","),
            gh_escape_data(&msg)
        ));
    }
    out
}

/// A SARIF 2.1.0 log with one run.
pub fn sarif(kind: &str, findings: &[Finding]) -> serde_json::Value {
    let mut rules: Vec<crate::finding::RuleId> = findings.iter().map(|f| f.rule).collect();
    rules.sort();
    rules.dedup();
    let rule_objs: Vec<serde_json::Value> = rules
        .iter()
        .map(|id| {
            let info = id.info();
            json!({ "id": id, "shortDescription": { "text": info.description },
                    "fullDescription": { "text": info.explanation } })
        })
        .collect();
    let results: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let level = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "note",
            };
            let mut r = json!({
                "ruleId": f.rule,
                "level": level,
                "message": { "text": match &f.suggestion { Some(s) => format!("{} Fix: {s}", f.message), None => f.message.clone() } },
            });
            if let Some(file) = &f.location.file {
                let mut region = serde_json::Map::new();
                if let Some(l) = f.location.line {
                    region.insert("startLine".into(), json!(l));
                }
                if let Some(c) = f.location.column {
                    region.insert("startColumn".into(), json!(c));
                }
                let mut phys = json!({ "artifactLocation": { "uri": file } });
                if !region.is_empty() {
                    phys["region"] = serde_json::Value::Object(region);
                }
                r["locations"] = json!([{ "physicalLocation": phys }]);
            }
            r
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": { "name": "dbkit", "version": env!("CARGO_PKG_VERSION"), "rules": rule_objs } },
            "automationDetails": { "id": kind },
            "results": results,
        }]
    })
}

/// JUnit XML: a failing test case per finding at warning or above, or one passing case.
pub fn junit(kind: &str, summary: &str, findings: &[Finding]) -> String {
    let failing: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
        .collect();
    let mut cases = String::new();
    for f in &failing {
        let at = match (&f.location.file, f.location.line) {
            (Some(file), Some(l)) => format!("{file}:{l}"),
            (Some(file), None) => file.clone(),
            _ => f.location.node.clone().unwrap_or_default(),
        };
        cases.push_str(&format!(
            "    <testcase classname=\"dbkit.{}\" name=\"{} at {}\">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n",
            super::xml_escape(kind),
            super::xml_escape(f.rule.as_str()),
            super::xml_escape(&at),
            f.severity,
            super::xml_escape(&f.message),
            super::xml_escape(f.suggestion.as_deref().unwrap_or(""))
        ));
    }
    if failing.is_empty() {
        cases.push_str(&format!(
            "    <testcase classname=\"dbkit.{}\" name=\"{}\"/>\n",
            super::xml_escape(kind),
            super::xml_escape(summary)
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"dbkit {}\" tests=\"{}\" failures=\"{}\">\n{cases}  </testsuite>\n</testsuites>\n",
        super::xml_escape(kind),
        failing.len().max(1),
        failing.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Location, RuleId};

    fn f() -> Finding {
        Finding {
            rule: RuleId::IndexNotConcurrent,
            severity: Severity::Error,
            message: "bad, very: bad\nreally".into(),
            location: Location {
                file: Some("db/m 1.sql".into()),
                line: Some(3),
                column: Some(1),
                node: None,
            },
            evidence: json!({}),
            suggestion: Some("CREATE INDEX CONCURRENTLY <x> …".into()),
        }
    }

    #[test]
    fn github_annotations_escape() {
        let g = github(&[f()]);
        assert_eq!(g, "::error file=db/m 1.sql,line=3,col=1,title=index-not-concurrent::bad, very: bad%0Areally%0AFix: CREATE INDEX CONCURRENTLY <x> …\n");
    }

    #[test]
    fn sarif_shape() {
        let s = sarif("check", &[f()]);
        assert_eq!(s["version"], "2.1.0");
        let r = &s["runs"][0]["results"][0];
        assert_eq!(r["ruleId"], "index-not-concurrent");
        assert_eq!(r["level"], "error");
        assert_eq!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            3
        );
        assert_eq!(
            s["runs"][0]["tool"]["driver"]["rules"][0]["id"],
            "index-not-concurrent"
        );
    }

    #[test]
    fn junit_cases() {
        let j = junit("check", "ok", &[f()]);
        assert!(j.contains("failures=\"1\""));
        assert!(j.contains("&lt;x&gt;"));
        let j = junit("check", "all clean", &[]);
        assert!(j.contains("failures=\"0\"") && j.contains("name=\"all clean\""));
    }
}
