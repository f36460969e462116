//! pg_stat_statements rows: from a live server (see `db::pgss`) or from an export, as CSV with
//! a header (`\copy (SELECT * FROM pg_stat_statements) TO 'pgss.csv' CSV HEADER`) or as a JSON
//! array of objects (`SELECT json_agg(s) FROM pg_stat_statements s`). PostgreSQL 12's column
//! names (`total_time`…) and 13+'s (`total_exec_time`…) are both read.

use super::csvlog::records;
use super::{ReadStats, WorkloadError};
use serde::Serialize;

/// One pg_stat_statements row.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PgssRow {
    /// The normalized query as the server keeps it.
    pub query: String,
    /// Calls.
    pub calls: u64,
    /// Total execution time, ms.
    pub total_ms: f64,
    /// Minimum, ms.
    pub min_ms: Option<f64>,
    /// Maximum, ms.
    pub max_ms: Option<f64>,
    /// Rows returned or affected.
    pub rows: Option<u64>,
    /// User (name, or OID when exported without a join).
    pub user: Option<String>,
    /// Database (name, or OID).
    pub database: Option<String>,
}

fn column(names: &[String], wanted: &[&str]) -> Option<usize> {
    wanted
        .iter()
        .find_map(|w| names.iter().position(|n| n == w))
}

/// Whether the start of a file looks like an export: a JSON array of objects, or a CSV header
/// line naming `query` and `calls` columns.
pub fn looks_like_export(head: &[u8]) -> bool {
    let t = crate::sql::span::strip_bom(head).trim_ascii_start();
    if let Some(rest) = t.strip_prefix(b"[") {
        return rest.trim_ascii_start().starts_with(b"{")
            || rest.trim_ascii_start().starts_with(b"]");
    }
    let first = t.split(|&b| b == b'\n').next().unwrap_or_default();
    let names: Vec<String> = first
        .split(|&b| b == b',')
        .map(|f| {
            String::from_utf8_lossy(f)
                .trim()
                .trim_matches('"')
                .to_ascii_lowercase()
        })
        .collect();
    column(&names, &["query"]).is_some() && column(&names, &["calls"]).is_some()
}

/// Read an export (CSV with a header, or a JSON array).
pub fn parse_export(bytes: &[u8]) -> Result<Vec<PgssRow>, WorkloadError> {
    let bytes = crate::sql::span::strip_bom(bytes);
    let t = bytes.trim_ascii_start();
    if t.starts_with(b"[") {
        let v: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(t)
            .map_err(|e| {
                WorkloadError::UnknownFormat(format!(
                    "pg_stat_statements JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ))
            })?;
        let num = |o: &serde_json::Map<String, serde_json::Value>, ks: &[&str]| {
            ks.iter().find_map(|k| o.get(*k)).and_then(|x| {
                x.as_f64()
                    .or_else(|| x.as_str().and_then(|s| s.parse().ok()))
            })
        };
        let text = |o: &serde_json::Map<String, serde_json::Value>, ks: &[&str]| {
            ks.iter()
                .find_map(|k| o.get(*k))
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
        };
        return v
            .iter()
            .map(|o| {
                Ok(PgssRow {
                    query: text(o, &["query"]).ok_or_else(|| {
                        WorkloadError::UnknownFormat(
                            "pg_stat_statements JSON: a row has no \"query\"".to_string(),
                        )
                    })?,
                    calls: num(o, &["calls"]).unwrap_or(0.0) as u64,
                    total_ms: num(o, &["total_exec_time", "total_time"]).unwrap_or(0.0),
                    min_ms: num(o, &["min_exec_time", "min_time"]),
                    max_ms: num(o, &["max_exec_time", "max_time"]),
                    rows: num(o, &["rows"]).map(|r| r as u64),
                    user: text(o, &["user", "username", "rolname", "userid"]),
                    database: text(o, &["database", "datname", "dbid"]),
                })
            })
            .collect();
    }
    let mut header: Option<Vec<String>> = None;
    let mut out = Vec::new();
    let mut err = None;
    records(bytes, &mut ReadStats::default(), |rec| {
        let fields: Vec<String> = rec
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let Some(h) = &header else {
            header = Some(fields);
            return;
        };
        let (Some(q), Some(c)) = (column(h, &["query"]), column(h, &["calls"])) else {
            err.get_or_insert_with(|| {
                "pg_stat_statements CSV: the header has no query and calls columns".to_string()
            });
            return;
        };
        let f = |i: Option<usize>| i.and_then(|i| fields.get(i)).filter(|v| !v.is_empty());
        let n = |i: Option<usize>| f(i).and_then(|v| v.parse::<f64>().ok());
        out.push(PgssRow {
            query: fields.get(q).cloned().unwrap_or_default(),
            calls: fields.get(c).and_then(|v| v.parse().ok()).unwrap_or(0),
            total_ms: n(column(h, &["total_exec_time", "total_time"])).unwrap_or(0.0),
            min_ms: n(column(h, &["min_exec_time", "min_time"])),
            max_ms: n(column(h, &["max_exec_time", "max_time"])),
            rows: n(column(h, &["rows"])).map(|r| r as u64),
            user: f(column(h, &["user", "username", "rolname", "userid"])).cloned(),
            database: f(column(h, &["database", "datname", "dbid"])).cloned(),
        });
    });
    match err {
        Some(e) => Err(WorkloadError::UnknownFormat(e)),
        None if header.is_none() => Err(WorkloadError::UnknownFormat(
            "the pg_stat_statements export is empty".to_string(),
        )),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_json_exports_of_13_and_12() {
        let csv =
            "userid,dbid,queryid,query,calls,total_exec_time,min_exec_time,max_exec_time,rows\n\
                   10,5,123,\"SELECT * FROM t WHERE a = $1\",100,250.5,0.5,30,100\n";
        let r = parse_export(csv.as_bytes()).unwrap();
        assert_eq!(r[0].calls, 100);
        assert_eq!(r[0].total_ms, 250.5);
        assert_eq!(r[0].user.as_deref(), Some("10"));
        let json = r#"[{"query": "SELECT 1", "calls": 3, "total_time": 1.5, "min_time": 0.1, "max_time": 1.0}]"#;
        let r = parse_export(json.as_bytes()).unwrap();
        assert_eq!(
            (r[0].calls, r[0].total_ms, r[0].max_ms),
            (3, 1.5, Some(1.0))
        );
        assert!(parse_export(b"a,b\n1,2\n").is_err());
        assert!(parse_export(b"[{\"calls\": 1}").is_err());
    }
}
