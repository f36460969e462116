//! The step kinds a playbook may use: for each, its arguments (name, type, required), the
//! fields of its result that later steps may reference, and whether it changes anything (a
//! step that changes something runs only with `--execute`). Pure data, checked at load.

/// The type of an argument or an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgType {
    /// Text.
    Str,
    /// A whole number.
    Int,
    /// A number.
    Num,
    /// true or false.
    Bool,
    /// A file or directory (relative to the current directory).
    Path,
    /// A connection string (its password never printed or journaled).
    Url,
    /// A list of text values.
    List,
    /// A table of text values (`{ "shard-a" = "postgres://…" }`).
    Table,
    /// Anything (a list of objects from an earlier step).
    Any,
}

impl ArgType {
    /// The name written in playbooks (`type = "url"`).
    pub fn name(self) -> &'static str {
        match self {
            ArgType::Str => "string",
            ArgType::Int => "int",
            ArgType::Num => "number",
            ArgType::Bool => "bool",
            ArgType::Path => "path",
            ArgType::Url => "url",
            ArgType::List => "list",
            ArgType::Table => "table",
            ArgType::Any => "any",
        }
    }

    /// The type named `name` (inputs may not be `any`).
    pub fn parse(name: &str) -> Option<ArgType> {
        [
            ArgType::Str,
            ArgType::Int,
            ArgType::Num,
            ArgType::Bool,
            ArgType::Path,
            ArgType::Url,
            ArgType::List,
            ArgType::Table,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }

    /// Whether a JSON value fits the type (text fits text-like types; a whole number fits a
    /// number).
    pub fn accepts(self, v: &serde_json::Value) -> bool {
        use serde_json::Value as V;
        match (self, v) {
            (ArgType::Any, _) => true,
            (ArgType::Str | ArgType::Path | ArgType::Url, V::String(_)) => true,
            (ArgType::Int, V::Number(n)) => n.as_i64().is_some(),
            (ArgType::Num, V::Number(_)) => true,
            (ArgType::Bool, V::Bool(_)) => true,
            (ArgType::List, V::Array(a)) => a.iter().all(|x| x.is_string()),
            (ArgType::Table, V::Object(m)) => m.values().all(|x| x.is_string()),
            _ => false,
        }
    }

    /// A value given as text (`--var k=v`) converted to the type.
    pub fn from_text(self, text: &str) -> Result<serde_json::Value, String> {
        use serde_json::Value as V;
        Ok(match self {
            ArgType::Str | ArgType::Path | ArgType::Url | ArgType::Any => V::String(text.into()),
            ArgType::Int => V::from(
                text.trim()
                    .parse::<i64>()
                    .map_err(|_| format!("{text:?} is not a whole number"))?,
            ),
            ArgType::Num => {
                let n = text
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|n| n.is_finite())
                    .ok_or_else(|| format!("{text:?} is not a number"))?;
                serde_json::Number::from_f64(n).map_or(V::Null, V::Number)
            }
            ArgType::Bool => match text.trim() {
                "true" | "yes" | "on" | "1" => V::Bool(true),
                "false" | "no" | "off" | "0" => V::Bool(false),
                _ => return Err(format!("{text:?} is not true or false")),
            },
            ArgType::List => V::Array(
                text.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| V::String(s.into()))
                    .collect(),
            ),
            ArgType::Table => {
                let mut m = serde_json::Map::new();
                for pair in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (k, v) = pair
                        .split_once('=')
                        .ok_or_else(|| format!("{pair:?} is not name=value"))?;
                    m.insert(k.trim().into(), V::String(v.trim().into()));
                }
                V::Object(m)
            }
        })
    }
}

/// The shape of a result field, for checking references at load.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Text.
    Str,
    /// A number.
    Num,
    /// true or false.
    Bool,
    /// Anything (not checked further).
    Any,
    /// A list of these.
    List(&'static Shape),
    /// An object with these fields.
    Obj(&'static [(&'static str, Shape)]),
}

/// One argument of a step kind.
#[derive(Debug, Clone, Copy)]
pub struct ArgSpec {
    /// Its key in the step's table.
    pub name: &'static str,
    /// Its type.
    pub ty: ArgType,
    /// Whether the step needs it.
    pub required: bool,
}

const fn req(name: &'static str, ty: ArgType) -> ArgSpec {
    ArgSpec {
        name,
        ty,
        required: true,
    }
}
const fn opt(name: &'static str, ty: ArgType) -> ArgSpec {
    ArgSpec {
        name,
        ty,
        required: false,
    }
}

/// A step kind.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// `index.advise`…
    pub name: &'static str,
    /// One line: what it does (the dbkit command it runs).
    pub doc: &'static str,
    /// Its arguments.
    pub args: &'static [ArgSpec],
    /// The fields of its result, besides the common ones ([`COMMON`]).
    pub outputs: &'static [(&'static str, Shape)],
    /// Whether it changes a database or writes a file (runs only with `--execute`; a dry run
    /// shows what it would do).
    pub changes: bool,
}

/// Fields every step's result has.
pub const COMMON: &[(&str, Shape)] = &[
    ("summary", Shape::Str),
    ("findings", Shape::List(&FINDING)),
    ("errors", Shape::Num),
    ("warnings", Shape::Num),
];

const FINDING: Shape = Shape::Obj(&[
    ("rule", Shape::Str),
    ("severity", Shape::Str),
    ("message", Shape::Str),
    ("location", Shape::Any),
    ("evidence", Shape::Any),
    ("suggestion", Shape::Any),
]);

const RECOMMENDATION: Shape = Shape::Obj(&[
    ("ddl", Shape::Str),
    ("name", Shape::Str),
    ("table", Shape::Str),
    ("index", Shape::Any),
    ("verified", Shape::Bool),
    ("size_bytes", Shape::Num),
    ("weighted_saving", Shape::Num),
    ("saving_pct", Shape::Num),
    ("queries", Shape::Any),
    ("why", Shape::List(&Shape::Str)),
    ("kind", Shape::Str),
    ("note", Shape::Any),
]);

const APPLIED: Shape = Shape::Obj(&[
    ("ddl", Shape::Str),
    ("name", Shape::Str),
    ("status", Shape::Str),
    ("seconds", Shape::Num),
    ("tries", Shape::Num),
    ("error", Shape::Any),
]);

const STATEMENT: Shape = Shape::Obj(&[
    ("text", Shape::Str),
    ("line", Shape::Num),
    ("status", Shape::Str),
    ("execution_ms", Shape::Num),
    ("total_cost", Shape::Num),
    ("indexes", Shape::List(&Shape::Str)),
    ("seq_scans", Shape::List(&Shape::Str)),
    ("error", Shape::Any),
]);

const MOVE: Shape = Shape::Obj(&[
    ("shards", Shape::List(&Shape::Num)),
    ("from", Shape::Str),
    ("to", Shape::Str),
    ("bytes", Shape::Num),
]);

const SERVER: Shape = Shape::Obj(&[
    ("name", Shape::Str),
    ("role", Shape::Any),
    ("reachable", Shape::Bool),
    ("lag_ms", Shape::Any),
    ("lag_bytes", Shape::Any),
    ("admitted", Shape::Bool),
    ("reason", Shape::Any),
]);

use ArgType::*;

const URL: ArgSpec = opt("url", Url);
const MAP: ArgSpec = req("map", Path);
const URLS: ArgSpec = opt("urls", Table);

/// Every step kind, in listing order.
pub const KINDS: &[KindSpec] = &[
    KindSpec {
        name: "explain",
        doc: "EXPLAIN (ANALYZE, BUFFERS) statements in a rolled-back transaction (dbkit explain)",
        args: &[
            URL,
            opt("sql", Str),
            opt("file", Path),
            opt("analyze", Bool),
            opt("timeout", Str),
        ],
        outputs: &[
            ("statements", Shape::List(&STATEMENT)),
            ("failed", Shape::Num),
            ("indexes", Shape::List(&Shape::Str)),
            ("seq_scans", Shape::List(&Shape::Str)),
            ("total_ms", Shape::Num),
            ("total_cost", Shape::Num),
        ],
        changes: false,
    },
    KindSpec {
        name: "index.advise",
        doc: "indexes for a workload, verified with HypoPG (dbkit index advise)",
        args: &[
            URL,
            opt("workload", Path),
            opt("max_indexes", Int),
            opt("max_per_table", Int),
            opt("max_size_mb", Num),
        ],
        outputs: &[
            ("recommendations", Shape::List(&RECOMMENDATION)),
            ("unverified", Shape::List(&RECOMMENDATION)),
            ("count", Shape::Num),
            ("hypopg", Shape::Bool),
            ("cost_before", Shape::Num),
            ("cost_after", Shape::Num),
            ("saving_pct", Shape::Num),
            ("queries", Shape::Num),
        ],
        changes: false,
    },
    KindSpec {
        name: "index.apply",
        doc: "build indexes with CREATE INDEX CONCURRENTLY under lock_timeout, one at a time; an invalid build is dropped and retried, and so is a build that timed out waiting for its lock (`retries`)",
        args: &[
            URL,
            req("indexes", Any),
            opt("lock_timeout", Str),
            opt("retries", Int),
            opt("max", Int),
        ],
        outputs: &[
            ("applied", Shape::List(&APPLIED)),
            ("built", Shape::List(&Shape::Str)),
            ("failed", Shape::Num),
        ],
        changes: true,
    },
    KindSpec {
        name: "partition.create",
        doc: "the partitioning DDL of a table, checked; nothing is run (dbkit partition create)",
        args: &[
            URL,
            opt("schema", Path),
            req("table", Str),
            req("key", Str),
            opt("interval", Str),
            opt("step", Int),
            opt("modulus", Int),
            opt("start", Str),
            opt("end", Str),
            opt("premake", Int),
            opt("default_partition", Bool),
            opt("timezone", Str),
        ],
        outputs: &[
            ("sql", Shape::Str),
            ("partitions", Shape::Num),
            ("table", Shape::Str),
        ],
        changes: false,
    },
    KindSpec {
        name: "partition.convert",
        doc: "convert a live table into time partitions, resumable (dbkit partition convert); `check_only = true`: its plan and SQL only, even when executing",
        args: &[
            URL,
            req("table", Str),
            req("key", Str),
            req("interval", Str),
            opt("premake", Int),
            opt("timezone", Str),
            opt("lock_timeout", Str),
            opt("check_only", Bool),
        ],
        outputs: &[
            ("table", Shape::Str),
            ("boundary", Shape::Str),
            ("steps", Shape::Num),
            ("sql", Shape::List(&Shape::Str)),
            ("partitioned", Shape::Bool),
        ],
        changes: true,
    },
    KindSpec {
        name: "partition.maintain",
        doc: "premake future partitions and apply retention, with the default-partition preflight (dbkit partition maintain); `check_only = true`: the plan only, even when executing",
        args: &[
            URL,
            opt("table", Str),
            opt("premake", Int),
            opt("retention_days", Num),
            opt("drop", Bool),
            opt("timezone", Str),
            opt("lock_timeout", Str),
            opt("check_only", Bool),
        ],
        outputs: &[
            ("steps", Shape::Num),
            ("created", Shape::Num),
            ("detached", Shape::Num),
            ("dropped", Shape::Num),
            ("failed", Shape::Num),
            ("sql", Shape::List(&Shape::Str)),
            ("tables", Shape::Any),
        ],
        changes: true,
    },
    KindSpec {
        name: "check",
        doc: "migration checks: static rules, and with a database (or a scratch copy) the locks, rewrites and plan regressions observed (dbkit check)",
        args: &[
            req("paths", List),
            URL,
            opt("scratch", Bool),
            opt("base", List),
            opt("history", List),
            opt("schema", Path),
            opt("workload", Path),
            opt("max_cost_increase", Num),
            opt("pg_version", Int),
        ],
        outputs: &[
            ("files", Shape::Num),
            ("regressions", Shape::Num),
            ("observed", Shape::Bool),
        ],
        changes: false,
    },
    KindSpec {
        name: "shard.inspect",
        doc: "read every node of a shard map (read-only) and compare live sizes with the map (dbkit shard inspect)",
        args: &[MAP, URLS, opt("threshold", Num), opt("write_map", Path)],
        outputs: &[
            ("nodes", Shape::Num),
            ("unread", Shape::List(&Shape::Str)),
            ("map_written", Shape::Any),
        ],
        changes: false,
    },
    KindSpec {
        name: "shard.plan",
        doc: "the moves that balance a shard map (dbkit shard plan)",
        args: &[
            MAP,
            opt("strategy", Str),
            opt("threshold", Num),
            opt("drain", List),
            opt("add", List),
            opt("no_split", Bool),
            opt("write_map", Path),
        ],
        outputs: &[
            ("moves", Shape::List(&MOVE)),
            ("move_count", Shape::Num),
            ("splits", Shape::Num),
            ("version", Shape::Num),
            ("new_version", Shape::Num),
            ("bytes_moved", Shape::Num),
        ],
        changes: false,
    },
    KindSpec {
        name: "shard.move",
        doc: "move one shard with logical replication, verification and a short cutover (dbkit shard move)",
        args: &[
            MAP,
            req("shard", Int),
            req("to", Str),
            URLS,
            opt("max_pause_ms", Int),
            opt("drop_source", Bool),
        ],
        outputs: &[
            ("done", Shape::Bool),
            ("verified", Shape::Bool),
            ("from", Shape::Str),
            ("to", Shape::Str),
            ("pause_ms", Shape::Any),
        ],
        changes: true,
    },
    KindSpec {
        name: "shard.rebalance",
        doc: "plan and run every move, each verified, the map updated after each (dbkit shard rebalance)",
        args: &[
            MAP,
            URLS,
            opt("strategy", Str),
            opt("threshold", Num),
            opt("drain", List),
            opt("add", List),
            opt("max_pause_ms", Int),
            opt("max_concurrent_moves", Int),
            opt("drop_source", Bool),
        ],
        outputs: &[
            ("moves", Shape::Num),
            ("done", Shape::Num),
            ("verified", Shape::Bool),
            ("finished", Shape::Bool),
        ],
        changes: true,
    },
    KindSpec {
        name: "shard.export",
        doc: "the SQL that hands a shard map to postgres_fdw, PL/Proxy or Citus, written to a file (dbkit shard export)",
        args: &[
            MAP,
            req("engine", Str),
            URLS,
            opt("cluster", Str),
            req("output", Path),
        ],
        outputs: &[("sql", Shape::Str), ("output", Shape::Str)],
        changes: true,
    },
    KindSpec {
        name: "route.probe",
        doc: "observe every server of a routing map: role, lag, admission (dbkit route probe)",
        args: &[MAP],
        outputs: &[
            ("servers", Shape::List(&SERVER)),
            ("admitted", Shape::Num),
            ("max_lag_ms", Shape::Any),
        ],
        changes: false,
    },
    KindSpec {
        name: "route.export",
        doc: "the routing configuration of a pooler (PgBouncer, pgcat, pgdog, HAProxy…) written to a file (dbkit route export)",
        args: &[
            MAP,
            req("tool", Str),
            opt("listen_port", Int),
            req("output", Path),
        ],
        outputs: &[("config", Shape::Str), ("output", Shape::Str)],
        changes: true,
    },
    KindSpec {
        name: "sql",
        doc: "one declared statement, with its expected effect (`expect_rows`) and an optional `done` query that says the effect is already in place",
        args: &[
            URL,
            req("sql", Str),
            opt("expect_rows", Int),
            opt("done", Str),
            opt("read_only", Bool),
            opt("timeout", Str),
        ],
        outputs: &[
            ("rows", Shape::List(&Shape::Any)),
            ("count", Shape::Num),
            ("affected", Shape::Num),
        ],
        changes: true,
    },
    KindSpec {
        name: "note",
        doc: "a message for the report (a hint, the next thing to schedule)",
        args: &[req("text", Str)],
        outputs: &[("text", Shape::Str)],
        changes: false,
    },
];

/// The kind named `name`.
pub fn kind(name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.name == name)
}

/// Check a reference path into a result of `kind`; the error says what the result has.
pub fn check_path(kind: &KindSpec, path: &[super::expr::Segment]) -> Result<(), String> {
    use super::expr::Segment;
    let Some(Segment::Field(first)) = path.first() else {
        return Ok(());
    };
    let Some((_, mut shape)) = COMMON
        .iter()
        .chain(kind.outputs)
        .find(|(n, _)| n == first)
        .copied()
    else {
        let names: Vec<&str> = kind.outputs.iter().chain(COMMON).map(|(n, _)| *n).collect();
        return Err(format!(
            "the result of {} has no field `{first}` (it has: {})",
            kind.name,
            names.join(", ")
        ));
    };
    for seg in &path[1..] {
        shape = match (seg, shape) {
            (_, Shape::Any) => return Ok(()),
            (Segment::Index(_), Shape::List(inner)) => *inner,
            (Segment::Field(f), Shape::Obj(fields)) => match fields.iter().find(|(n, _)| n == f) {
                Some((_, s)) => *s,
                None => {
                    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
                    return Err(format!(
                        "no field `{f}` there (it has: {})",
                        names.join(", ")
                    ));
                }
            },
            (Segment::Field(f), Shape::List(_)) => {
                return Err(format!(
                    "`.{f}` of a list: pick an item first, as in [0].{f}"
                ))
            }
            (Segment::Index(i), _) => return Err(format!("[{i}] of something that is not a list")),
            (Segment::Field(f), _) => return Err(format!("`.{f}` of a single value")),
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::expr::Segment::{Field, Index};
    use super::*;

    #[test]
    fn paths_are_checked_against_the_kinds_result() {
        let k = kind("index.advise").unwrap();
        assert!(check_path(
            k,
            &[
                Field("recommendations".into()),
                Index(0),
                Field("ddl".into())
            ]
        )
        .is_ok());
        let e = check_path(k, &[Field("indexes".into())]).unwrap_err();
        assert!(
            e.contains("no field `indexes`") && e.contains("recommendations"),
            "{e}"
        );
        let e = check_path(k, &[Field("recommendations".into()), Field("ddl".into())]).unwrap_err();
        assert!(e.contains("pick an item"), "{e}");
        let e = check_path(
            k,
            &[
                Field("recommendations".into()),
                Index(0),
                Field("dll".into()),
            ],
        )
        .unwrap_err();
        assert!(e.contains("no field `dll`"), "{e}");
        assert!(check_path(k, &[Field("errors".into())]).is_ok());
        assert!(check_path(
            k,
            &[
                Field("recommendations".into()),
                Index(0),
                Field("index".into()),
                Field("x".into())
            ]
        )
        .is_ok());
    }

    #[test]
    fn kinds_are_unique_and_types_convert_from_text() {
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
        assert_eq!(ArgType::Int.from_text("12").unwrap(), serde_json::json!(12));
        assert!(ArgType::Int.from_text("1.5").is_err());
        assert_eq!(
            ArgType::Table.from_text("a=x, b=y").unwrap(),
            serde_json::json!({"a": "x", "b": "y"})
        );
        assert_eq!(
            ArgType::List.from_text("a, b").unwrap(),
            serde_json::json!(["a", "b"])
        );
        assert!(ArgType::Bool.from_text("maybe").is_err());
        assert!(ArgType::Int.accepts(&serde_json::json!(3)));
        assert!(!ArgType::Int.accepts(&serde_json::json!("3")));
    }
}
