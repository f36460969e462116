//! Reading `EXPLAIN (FORMAT JSON)` output, raw or as psql prints it.

use super::{Buffers, Jit, Node, Plan, PlanError, Trigger, Wal};
use serde_json::{Map, Value};

/// Parse EXPLAIN JSON: an array of `{ "Plan": … }` objects, or one such object.
///
/// The fast path deserializes straight into typed structs; input it cannot take (a field of an
/// unexpected type, a malformed document) goes through the generic path, which also finds the
/// exact position or JSON path of any problem. Plans nested deeper than serde_json's default
/// limit (128 JSON levels, about 60 plan levels) are read on a thread with a large stack, up to
/// [`MAX_DEPTH`] plan levels.
pub fn parse(json: &str) -> Result<Vec<Plan>, PlanError> {
    let json = json.strip_prefix('\u{feff}').unwrap_or(json);
    // A large plan goes straight to the fast path, which reads the first value and stops
    // there, on a large stack (nesting is not known before a scan of the whole input, which
    // would cost a third of the read); a small one is scanned first.
    if json.len() > 1 << 20 {
        if let Some(plans) = super::with_large_stack(|| typed::from_str(json)) {
            return Ok(plans);
        }
    }
    // What follows the first value (psql's footer, a prompt) is not the plan's.
    let (depth, end) = first_value(json);
    let json = end.map_or(json, |e| &json[..e]);
    if depth > 2 * MAX_DEPTH + 8 {
        return Err(PlanError::Shape {
            path: "$".to_string(),
            message: format!("plan nested deeper than {MAX_DEPTH} levels"),
        });
    }
    if depth > 120 {
        return super::with_large_stack(|| {
            let mut de = serde_json::Deserializer::from_str(json);
            de.disable_recursion_limit();
            let v = serde::Deserialize::deserialize(&mut de).map_err(json_error)?;
            de.end().map_err(json_error)?;
            from_value(&v)
        });
    }
    if let Some(plans) = typed::from_str(json) {
        return Ok(plans);
    }
    parse_generic(json)
}

/// Plans from the tokens of a plan's JSON shape, read straight into the typed plan; `None` when
/// they do not fit it (the caller reads their JSON text instead). Recursion follows the plan's
/// nesting: call on a large stack.
pub(crate) fn from_tokens(tokens: &super::tokens::Tokens<'_>) -> Option<Vec<Plan>> {
    typed::from_tokens(tokens)
}

/// The first JSON value of `s`, scanned for brackets outside strings (bytes: brackets and
/// quotes are ASCII): its deepest nesting, and where it ends (after its closing bracket; `None`
/// when it never closes).
pub(crate) fn first_value(s: &str) -> (usize, Option<usize>) {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => {
                let Some(d) = depth.checked_sub(1) else {
                    return (max, None);
                };
                depth = d;
                if depth == 0 {
                    return (max, Some(i + 1));
                }
            }
            _ => {}
        }
    }
    (max, None)
}

fn json_error(e: serde_json::Error) -> PlanError {
    PlanError::Json {
        line: e.line(),
        column: e.column(),
        message: match e.classify() {
            serde_json::error::Category::Eof => {
                "the JSON ends early (truncated input?)".to_string()
            }
            _ => e
                .to_string()
                .split(" at line")
                .next()
                .unwrap_or("")
                .to_string(),
        },
    }
}

fn parse_generic(json: &str) -> Result<Vec<Plan>, PlanError> {
    let v: Value = serde_json::from_str(json).map_err(json_error)?;
    generic_from_value(&v)
}

/// Plans from a JSON value: what the YAML and XML readers produce, and the generic JSON path.
/// The typed structs read the value when they can (fast); the generic reader finds the path of
/// any problem.
pub(crate) fn from_value(v: &Value) -> Result<Vec<Plan>, PlanError> {
    if let Some(plans) = typed::from_value(v) {
        return Ok(plans);
    }
    generic_from_value(v)
}

fn generic_from_value(v: &Value) -> Result<Vec<Plan>, PlanError> {
    let items: Vec<(String, &Value)> = match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| (format!("[{i}]"), x))
            .collect(),
        Value::Object(_) => vec![(String::new(), v)],
        _ => {
            return Err(PlanError::Shape {
                path: "$".to_string(),
                message: "expected an array or an object".to_string(),
            })
        }
    };
    if items.is_empty() {
        return Err(PlanError::Empty("the JSON array is empty".to_string()));
    }
    items
        .into_iter()
        .map(|(path, item)| plan(item, &path))
        .collect()
}

fn plan(v: &Value, path: &str) -> Result<Plan, PlanError> {
    let o = v.as_object().ok_or_else(|| PlanError::Shape {
        path: path_or_root(path),
        message: "expected an object with a \"Plan\" key".to_string(),
    })?;
    let root_v = o.get("Plan").ok_or_else(|| PlanError::Shape {
        path: path_or_root(path),
        message: "no \"Plan\" key".to_string(),
    })?;
    let root = node(root_v, &format!("{path}.Plan"))?;
    let jit = o.get("JIT").and_then(Value::as_object).map(|j| Jit {
        functions: num(j, "Functions").unwrap_or(0.0),
        total_ms: j
            .get("Timing")
            .and_then(Value::as_object)
            .and_then(|t| num(t, "Total"))
            .unwrap_or(0.0),
    });
    let settings = o
        .get("Settings")
        .and_then(Value::as_object)
        .map(|s| {
            s.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let triggers: Vec<Trigger> = o
        .get("Triggers")
        .and_then(Value::as_array)
        .map(|ts| {
            ts.iter()
                .filter_map(Value::as_object)
                .filter_map(|t| {
                    Some(Trigger {
                        name: text(t, "Trigger Name"),
                        constraint: text(t, "Constraint Name"),
                        relation: text(t, "Relation"),
                        time_ms: num(t, "Time")?,
                        calls: num(t, "Calls").unwrap_or(0.0),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let trigger_time_ms = (!triggers.is_empty()).then(|| triggers.iter().map(|t| t.time_ms).sum());
    Ok(Plan {
        root,
        planning_time_ms: num(o, "Planning Time"),
        execution_time_ms: num(o, "Execution Time").or_else(|| num(o, "Total Runtime")),
        jit,
        settings,
        trigger_time_ms,
        triggers,
        query_text: text(o, "Query Text"),
    }
    .finish())
}

fn path_or_root(p: &str) -> String {
    if p.is_empty() {
        "$".to_string()
    } else {
        p.to_string()
    }
}

fn num(o: &Map<String, Value>, k: &str) -> Option<f64> {
    o.get(k).and_then(|v| {
        v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    })
}

fn text(o: &Map<String, Value>, k: &str) -> Option<String> {
    match o.get(k)? {
        Value::String(s) => Some(s.clone()),
        // A name that looks like a number (`Alias: 2024`) read as one from YAML or XML.
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What a bare scalar of YAML or the text of an XML leaf is, as JSON would have it.
#[derive(Debug, PartialEq)]
pub(crate) enum Bare<'s> {
    /// `true` or `false`.
    Bool(bool),
    /// A finite number, as JSON writes it (normalized: `007` is `7`).
    Number(std::borrow::Cow<'s, str>),
    /// Anything else: a string.
    Text,
}

/// Classify a bare scalar: a boolean, a finite number, else a string. (A string field that
/// reads as a number here is turned back by the generic reader.)
pub(crate) fn bare_scalar(v: &str) -> Bare<'_> {
    use std::borrow::Cow;
    match v {
        "true" => Bare::Bool(true),
        "false" => Bare::Bool(false),
        // A number as JSON writes it (what PostgreSQL writes): taken as it is.
        _ if is_plain_number(v) => Bare::Number(Cow::Borrowed(v)),
        // Words (`Seq Scan`, `Outer`): no number starts so.
        _ if !v
            .as_bytes()
            .first()
            .is_some_and(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.')) =>
        {
            Bare::Text
        }
        _ => match (v.parse::<i64>(), v.parse::<f64>()) {
            (Ok(i), _) => Bare::Number(Cow::Owned(i.to_string())),
            (_, Ok(f)) if f.is_finite() => Bare::Number(Cow::Owned(f.to_string())),
            _ => Bare::Text,
        },
    }
}

/// Write a bare scalar of YAML or the text of an XML leaf as JSON would have it (see
/// [`bare_scalar`]).
pub(crate) fn write_scalar(out: &mut String, v: &str) {
    match bare_scalar(v) {
        Bare::Bool(_) => out.push_str(v),
        Bare::Number(n) => out.push_str(&n),
        Bare::Text => write_string(out, v),
    }
}

/// Whether `v` is a JSON number without an exponent (`-?(0|[1-9][0-9]*)(\.[0-9]+)?`), short
/// enough to be a finite f64.
fn is_plain_number(v: &str) -> bool {
    let b = v.as_bytes();
    let b = b.strip_prefix(b"-").unwrap_or(b);
    if b.is_empty() || b.len() > 300 {
        return false;
    }
    let int_end = b
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(b.len());
    let int = &b[..int_end];
    if int.is_empty() || (int.len() > 1 && int[0] == b'0') {
        return false;
    }
    match &b[int_end..] {
        [] => true,
        [b'.', frac @ ..] => !frac.is_empty() && frac.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// Write `s` as a JSON string.
pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut from = 0;
    // Runs without a character to escape are copied whole (the bytes matched are ASCII, so
    // every cut is on a character boundary).
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        if esc.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(esc);
        }
        from = i + 1;
    }
    out.push_str(&s[from..]);
    out.push('"');
}

/// Whether `s` is one JSON string literal, quotes included (what PostgreSQL's YAML writes for a
/// string): copied as it is, it stays valid JSON.
pub(crate) fn is_string_literal(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b'"' || b[b.len() - 1] != b'"' {
        return false;
    }
    let mut i = 1;
    while i < b.len() - 1 {
        match b[i] {
            b'"' => return false,
            c if c < 0x20 => return false,
            b'\\' => {
                match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u') => {
                        let hex = b.get(i + 2..i + 6);
                        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                            return false;
                        }
                        i += 6;
                    }
                    _ => return false,
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    i == b.len() - 1
}

fn strings(o: &Map<String, Value>, k: &str) -> Vec<String> {
    match o.get(k) {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Plans nested deeper than this are refused (a hostile input must not overflow the stack).
pub(crate) const MAX_DEPTH: usize = 1000;

/// The I/O read times of a node: PostgreSQL 13–15 (`I/O Read Time`, 15's temp files), 16+
/// (shared, local and temp apart).
const IO_READ: [&str; 4] = [
    "I/O Read Time",
    "Shared I/O Read Time",
    "Local I/O Read Time",
    "Temp I/O Read Time",
];
/// The I/O write times, as [`IO_READ`].
const IO_WRITE: [&str; 4] = [
    "I/O Write Time",
    "Shared I/O Write Time",
    "Local I/O Write Time",
    "Temp I/O Write Time",
];

/// The sum of the I/O times present; `None` when none is.
fn io_sum(times: impl Iterator<Item = Option<f64>>) -> Option<f64> {
    times
        .flatten()
        .fold(None, |acc, t| Some(acc.unwrap_or(0.0) + t))
}

/// Take an Incremental Sort's group objects (`Full-sort Groups`, `Pre-sorted Groups`).
fn sort_groups<'a>(n: &mut Node, groups: impl Iterator<Item = Option<&'a Value>>) {
    for g in groups.flatten() {
        let methods = g
            .get("Sort Methods Used")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        let peak = |k: &str| {
            g.get(k)
                .and_then(Value::as_object)
                .and_then(|s| num(s, "Peak Sort Space Used"))
        };
        n.add_sort_group(&methods, peak("Sort Space Memory"), peak("Sort Space Disk"));
    }
}

fn node(v: &Value, path: &str) -> Result<Node, PlanError> {
    node_at(v, path, 0)
}

fn node_at(v: &Value, path: &str, depth: usize) -> Result<Node, PlanError> {
    if depth > MAX_DEPTH {
        return Err(PlanError::Shape {
            path: path.to_string(),
            message: format!("plan nested deeper than {MAX_DEPTH} levels"),
        });
    }
    let o = v.as_object().ok_or_else(|| PlanError::Shape {
        path: path.to_string(),
        message: "expected a plan node object".to_string(),
    })?;
    let node_type = text(o, "Node Type").ok_or_else(|| PlanError::Shape {
        path: path.to_string(),
        message: "no \"Node Type\"".to_string(),
    })?;
    let has_buffers = [
        "Shared Hit Blocks",
        "Shared Read Blocks",
        "Temp Written Blocks",
    ]
    .iter()
    .any(|k| o.contains_key(*k));
    let b = |k: &str| num(o, k).unwrap_or(0.0) as u64;
    let buffers = has_buffers.then(|| Buffers {
        shared_hit: b("Shared Hit Blocks"),
        shared_read: b("Shared Read Blocks"),
        shared_dirtied: b("Shared Dirtied Blocks"),
        shared_written: b("Shared Written Blocks"),
        local_hit: b("Local Hit Blocks"),
        local_read: b("Local Read Blocks"),
        temp_read: b("Temp Read Blocks"),
        temp_written: b("Temp Written Blocks"),
    });
    let loops = num(o, "Actual Loops");
    let mut children = Vec::new();
    if let Some(plans) = o.get("Plans") {
        let arr = plans.as_array().ok_or_else(|| PlanError::Shape {
            path: format!("{path}.Plans"),
            message: "expected an array".to_string(),
        })?;
        for (i, c) in arr.iter().enumerate() {
            children.push(node_at(c, &format!("{path}.Plans[{i}]"), depth + 1)?);
        }
    }
    let mut n = Node {
        node_type,
        parallel_aware: matches!(o.get("Parallel Aware"), Some(Value::Bool(true))),
        parent_relationship: text(o, "Parent Relationship"),
        subplan_name: text(o, "Subplan Name"),
        join_type: text(o, "Join Type"),
        strategy: text(o, "Strategy"),
        partial_mode: text(o, "Partial Mode"),
        operation: text(o, "Operation"),
        relation_name: text(o, "Relation Name")
            .or_else(|| text(o, "CTE Name"))
            .or_else(|| text(o, "Function Name")),
        schema: text(o, "Schema"),
        alias: text(o, "Alias"),
        index_name: text(o, "Index Name"),
        scan_direction: text(o, "Scan Direction"),
        startup_cost: num(o, "Startup Cost"),
        total_cost: num(o, "Total Cost"),
        plan_rows: num(o, "Plan Rows"),
        plan_width: num(o, "Plan Width").map(|w| w as u64),
        actual_startup_time: num(o, "Actual Startup Time"),
        actual_total_time: num(o, "Actual Total Time"),
        actual_rows: num(o, "Actual Rows"),
        actual_loops: loops,
        executed: loops != Some(0.0),
        filter: text(o, "Filter"),
        rows_removed_by_filter: num(o, "Rows Removed by Filter"),
        index_cond: text(o, "Index Cond"),
        recheck_cond: text(o, "Recheck Cond"),
        rows_removed_by_index_recheck: num(o, "Rows Removed by Index Recheck"),
        join_filter: text(o, "Join Filter"),
        rows_removed_by_join_filter: num(o, "Rows Removed by Join Filter"),
        hash_cond: text(o, "Hash Cond"),
        merge_cond: text(o, "Merge Cond"),
        one_time_filter: text(o, "One-Time Filter"),
        run_condition: text(o, "Run Condition"),
        group_key: strings(o, "Group Key"),
        presorted_key: strings(o, "Presorted Key"),
        cache_key: text(o, "Cache Key"),
        cache_hits: num(o, "Cache Hits"),
        cache_misses: num(o, "Cache Misses"),
        cache_evictions: num(o, "Cache Evictions"),
        cache_overflows: num(o, "Cache Overflows"),
        // JSON prints zeros the text format leaves out.
        planned_partitions: num(o, "Planned Partitions").filter(|v| *v > 0.0),
        hashagg_batches: num(o, "HashAgg Batches"),
        disk_usage_kb: num(o, "Disk Usage").filter(|v| *v > 0.0),
        io_read_ms: io_sum(IO_READ.iter().map(|k| num(o, k))),
        io_write_ms: io_sum(IO_WRITE.iter().map(|k| num(o, k))),
        heap_fetches: num(o, "Heap Fetches"),
        exact_heap_blocks: num(o, "Exact Heap Blocks"),
        lossy_heap_blocks: num(o, "Lossy Heap Blocks"),
        sort_key: strings(o, "Sort Key"),
        sort_method: text(o, "Sort Method"),
        sort_space_used_kb: num(o, "Sort Space Used"),
        sort_space_type: text(o, "Sort Space Type"),
        hash_buckets: num(o, "Hash Buckets"),
        hash_batches: num(o, "Hash Batches"),
        original_hash_batches: num(o, "Original Hash Batches"),
        peak_memory_usage_kb: num(o, "Peak Memory Usage"),
        workers_planned: num(o, "Workers Planned"),
        workers_launched: num(o, "Workers Launched"),
        buffers,
        wal: o.contains_key("WAL Records").then(|| Wal {
            records: b("WAL Records"),
            fpi: b("WAL FPI"),
            bytes: b("WAL Bytes"),
        }),
        output: strings(o, "Output"),
        in_parallel: false,
        cte_ms: 0.0,
        children,
    };
    sort_groups(
        &mut n,
        ["Full-sort Groups", "Pre-sorted Groups"]
            .iter()
            .map(|k| o.get(*k)),
    );
    Ok(n)
}

/// Typed deserialization of what PostgreSQL writes (the fast path).
mod typed {
    use super::super::{Buffers, Jit, Node, Plan, Trigger, Wal};
    use serde::Deserialize;
    use std::collections::BTreeMap;

    /// Plans from EXPLAIN JSON text: an array of plans or one plan, chosen by the first
    /// character (an untagged enum would buffer the whole document first). `None` when the
    /// typed structs cannot take it or it holds no plan.
    /// Plans from the first JSON value of `json` (what follows it is not read: psql's footer,
    /// a prompt); `None` when the typed structs cannot take it (including nesting past
    /// serde_json's limit of 128 levels).
    pub fn from_str(json: &str) -> Option<Vec<Plan>> {
        let mut de = serde_json::Deserializer::from_str(json);
        let raw: Vec<RawPlan> = if json.trim_start().starts_with('{') {
            vec![RawPlan::deserialize(&mut de).ok()?]
        } else {
            Vec::<RawPlan>::deserialize(&mut de).ok()?
        };
        (!raw.is_empty()).then(|| raw.into_iter().map(RawPlan::into_plan).collect())
    }

    /// Plans from the tokens of the XML reader, as [`from_str`].
    pub fn from_tokens(tokens: &super::super::tokens::Tokens<'_>) -> Option<Vec<Plan>> {
        use super::super::tokens::{Deserializer, Token};
        let mut de = Deserializer::new(tokens);
        let raw: Vec<RawPlan> = if matches!(tokens.list.first(), Some(Token::Object)) {
            vec![RawPlan::deserialize(&mut de).ok()?]
        } else {
            Vec::<RawPlan>::deserialize(&mut de).ok()?
        };
        (!raw.is_empty()).then(|| raw.into_iter().map(RawPlan::into_plan).collect())
    }

    /// Plans from a JSON value (what the YAML and XML readers build), as [`from_str`].
    pub fn from_value(v: &serde_json::Value) -> Option<Vec<Plan>> {
        let raw: Vec<RawPlan> = if v.is_object() {
            vec![RawPlan::deserialize(v).ok()?]
        } else {
            Vec::<RawPlan>::deserialize(v).ok()?
        };
        (!raw.is_empty()).then(|| raw.into_iter().map(RawPlan::into_plan).collect())
    }

    #[derive(Deserialize)]
    pub struct RawPlan {
        #[serde(rename = "Plan")]
        plan: RawNode,
        #[serde(rename = "Planning Time")]
        planning: Option<f64>,
        #[serde(rename = "Execution Time")]
        execution: Option<f64>,
        #[serde(rename = "Total Runtime")]
        total_runtime: Option<f64>,
        #[serde(rename = "JIT")]
        jit: Option<RawJit>,
        #[serde(rename = "Settings", default)]
        settings: BTreeMap<String, serde_json::Value>,
        #[serde(rename = "Triggers", default)]
        triggers: Vec<RawTrigger>,
        #[serde(rename = "Query Text")]
        query_text: Option<String>,
    }

    #[derive(Deserialize)]
    struct RawJit {
        #[serde(rename = "Functions")]
        functions: Option<f64>,
        #[serde(rename = "Timing")]
        timing: Option<RawTiming>,
    }

    #[derive(Deserialize)]
    struct RawTiming {
        #[serde(rename = "Total")]
        total: Option<f64>,
    }

    #[derive(Deserialize)]
    struct RawTrigger {
        #[serde(rename = "Trigger Name")]
        name: Option<String>,
        #[serde(rename = "Constraint Name")]
        constraint: Option<String>,
        #[serde(rename = "Relation")]
        relation: Option<String>,
        #[serde(rename = "Time")]
        time: Option<f64>,
        #[serde(rename = "Calls")]
        calls: Option<f64>,
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }

    impl OneOrMany {
        fn into_vec(self) -> Vec<String> {
            match self {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            }
        }
    }

    macro_rules! raw_node {
        ($($field:ident: $ty:ty = $name:literal),* $(,)?) => {
            #[derive(Deserialize)]
            struct RawNode {
                #[serde(rename = "Node Type")]
                node_type: String,
                #[serde(rename = "Plans", default, deserialize_with = "nodes")]
                plans: Vec<Node>,
                #[serde(rename = "Sort Key")]
                sort_key: Option<OneOrMany>,
                #[serde(rename = "Output")]
                output: Option<OneOrMany>,
                #[serde(rename = "Group Key")]
                group_key: Option<OneOrMany>,
                #[serde(rename = "Presorted Key")]
                presorted_key: Option<OneOrMany>,
                #[serde(rename = "Full-sort Groups")]
                full_sort_groups: Option<serde_json::Value>,
                #[serde(rename = "Pre-sorted Groups")]
                presorted_groups: Option<serde_json::Value>,
                $( #[serde(rename = $name)] $field: Option<$ty>, )*
            }
        };
    }

    raw_node! {
        parallel_aware: bool = "Parallel Aware",
        parent_relationship: String = "Parent Relationship",
        subplan_name: String = "Subplan Name",
        join_type: String = "Join Type",
        strategy: String = "Strategy",
        partial_mode: String = "Partial Mode",
        operation: String = "Operation",
        relation_name: String = "Relation Name",
        cte_name: String = "CTE Name",
        function_name: String = "Function Name",
        schema: String = "Schema",
        alias: String = "Alias",
        index_name: String = "Index Name",
        scan_direction: String = "Scan Direction",
        startup_cost: f64 = "Startup Cost",
        total_cost: f64 = "Total Cost",
        plan_rows: f64 = "Plan Rows",
        plan_width: f64 = "Plan Width",
        actual_startup_time: f64 = "Actual Startup Time",
        actual_total_time: f64 = "Actual Total Time",
        actual_rows: f64 = "Actual Rows",
        actual_loops: f64 = "Actual Loops",
        filter: String = "Filter",
        rows_removed_by_filter: f64 = "Rows Removed by Filter",
        index_cond: String = "Index Cond",
        recheck_cond: String = "Recheck Cond",
        rows_removed_by_index_recheck: f64 = "Rows Removed by Index Recheck",
        join_filter: String = "Join Filter",
        rows_removed_by_join_filter: f64 = "Rows Removed by Join Filter",
        hash_cond: String = "Hash Cond",
        merge_cond: String = "Merge Cond",
        one_time_filter: String = "One-Time Filter",
        run_condition: String = "Run Condition",
        cache_key: String = "Cache Key",
        cache_hits: f64 = "Cache Hits",
        cache_misses: f64 = "Cache Misses",
        cache_evictions: f64 = "Cache Evictions",
        cache_overflows: f64 = "Cache Overflows",
        planned_partitions: f64 = "Planned Partitions",
        hashagg_batches: f64 = "HashAgg Batches",
        disk_usage: f64 = "Disk Usage",
        io_read: f64 = "I/O Read Time",
        shared_io_read: f64 = "Shared I/O Read Time",
        local_io_read: f64 = "Local I/O Read Time",
        temp_io_read: f64 = "Temp I/O Read Time",
        io_write: f64 = "I/O Write Time",
        shared_io_write: f64 = "Shared I/O Write Time",
        local_io_write: f64 = "Local I/O Write Time",
        temp_io_write: f64 = "Temp I/O Write Time",
        heap_fetches: f64 = "Heap Fetches",
        exact_heap_blocks: f64 = "Exact Heap Blocks",
        lossy_heap_blocks: f64 = "Lossy Heap Blocks",
        sort_method: String = "Sort Method",
        sort_space_used: f64 = "Sort Space Used",
        sort_space_type: String = "Sort Space Type",
        hash_buckets: f64 = "Hash Buckets",
        hash_batches: f64 = "Hash Batches",
        original_hash_batches: f64 = "Original Hash Batches",
        peak_memory_usage: f64 = "Peak Memory Usage",
        workers_planned: f64 = "Workers Planned",
        workers_launched: f64 = "Workers Launched",
        shared_hit: f64 = "Shared Hit Blocks",
        shared_read: f64 = "Shared Read Blocks",
        shared_dirtied: f64 = "Shared Dirtied Blocks",
        shared_written: f64 = "Shared Written Blocks",
        local_hit: f64 = "Local Hit Blocks",
        local_read: f64 = "Local Read Blocks",
        temp_read: f64 = "Temp Read Blocks",
        temp_written: f64 = "Temp Written Blocks",
        wal_records: f64 = "WAL Records",
        wal_fpi: f64 = "WAL FPI",
        wal_bytes: f64 = "WAL Bytes",
    }

    /// A node's `Plans`, each child made a [`Node`] as soon as it is read (a list of raw nodes
    /// would be built, grown and copied first).
    fn nodes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Node>, D::Error> {
        struct Children;
        impl<'de> serde::de::Visitor<'de> for Children {
            type Value = Vec<Node>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of plan nodes")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<Node>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(n) = seq.next_element::<RawNode>()? {
                    out.push(n.into_node());
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Children)
    }

    impl RawNode {
        fn into_node(self) -> Node {
            let has_buffers = self.shared_hit.is_some()
                || self.shared_read.is_some()
                || self.temp_written.is_some();
            let b = |v: Option<f64>| v.unwrap_or(0.0) as u64;
            let buffers = has_buffers.then(|| Buffers {
                shared_hit: b(self.shared_hit),
                shared_read: b(self.shared_read),
                shared_dirtied: b(self.shared_dirtied),
                shared_written: b(self.shared_written),
                local_hit: b(self.local_hit),
                local_read: b(self.local_read),
                temp_read: b(self.temp_read),
                temp_written: b(self.temp_written),
            });
            let mut n = Node {
                node_type: self.node_type,
                parallel_aware: self.parallel_aware.unwrap_or(false),
                parent_relationship: self.parent_relationship,
                subplan_name: self.subplan_name,
                join_type: self.join_type,
                strategy: self.strategy,
                partial_mode: self.partial_mode,
                operation: self.operation,
                relation_name: self.relation_name.or(self.cte_name).or(self.function_name),
                schema: self.schema,
                alias: self.alias,
                index_name: self.index_name,
                scan_direction: self.scan_direction,
                startup_cost: self.startup_cost,
                total_cost: self.total_cost,
                plan_rows: self.plan_rows,
                plan_width: self.plan_width.map(|w| w as u64),
                actual_startup_time: self.actual_startup_time,
                actual_total_time: self.actual_total_time,
                actual_rows: self.actual_rows,
                actual_loops: self.actual_loops,
                executed: self.actual_loops != Some(0.0),
                filter: self.filter,
                rows_removed_by_filter: self.rows_removed_by_filter,
                index_cond: self.index_cond,
                recheck_cond: self.recheck_cond,
                rows_removed_by_index_recheck: self.rows_removed_by_index_recheck,
                join_filter: self.join_filter,
                rows_removed_by_join_filter: self.rows_removed_by_join_filter,
                hash_cond: self.hash_cond,
                merge_cond: self.merge_cond,
                one_time_filter: self.one_time_filter,
                run_condition: self.run_condition,
                group_key: self.group_key.map(OneOrMany::into_vec).unwrap_or_default(),
                presorted_key: self
                    .presorted_key
                    .map(OneOrMany::into_vec)
                    .unwrap_or_default(),
                cache_key: self.cache_key,
                cache_hits: self.cache_hits,
                cache_misses: self.cache_misses,
                cache_evictions: self.cache_evictions,
                cache_overflows: self.cache_overflows,
                // JSON prints zeros the text format leaves out.
                planned_partitions: self.planned_partitions.filter(|v| *v > 0.0),
                hashagg_batches: self.hashagg_batches,
                disk_usage_kb: self.disk_usage.filter(|v| *v > 0.0),
                io_read_ms: super::io_sum(
                    [
                        self.io_read,
                        self.shared_io_read,
                        self.local_io_read,
                        self.temp_io_read,
                    ]
                    .into_iter(),
                ),
                io_write_ms: super::io_sum(
                    [
                        self.io_write,
                        self.shared_io_write,
                        self.local_io_write,
                        self.temp_io_write,
                    ]
                    .into_iter(),
                ),
                heap_fetches: self.heap_fetches,
                exact_heap_blocks: self.exact_heap_blocks,
                lossy_heap_blocks: self.lossy_heap_blocks,
                sort_key: self.sort_key.map(OneOrMany::into_vec).unwrap_or_default(),
                sort_method: self.sort_method,
                sort_space_used_kb: self.sort_space_used,
                sort_space_type: self.sort_space_type,
                hash_buckets: self.hash_buckets,
                hash_batches: self.hash_batches,
                original_hash_batches: self.original_hash_batches,
                peak_memory_usage_kb: self.peak_memory_usage,
                workers_planned: self.workers_planned,
                workers_launched: self.workers_launched,
                buffers,
                wal: self.wal_records.map(|r| Wal {
                    records: r as u64,
                    fpi: b(self.wal_fpi),
                    bytes: b(self.wal_bytes),
                }),
                output: self.output.map(OneOrMany::into_vec).unwrap_or_default(),
                in_parallel: false,
                cte_ms: 0.0,
                children: self.plans,
            };
            super::sort_groups(
                &mut n,
                [
                    self.full_sort_groups.as_ref(),
                    self.presorted_groups.as_ref(),
                ]
                .into_iter(),
            );
            n
        }
    }

    impl RawPlan {
        fn into_plan(self) -> Plan {
            let triggers: Vec<Trigger> = self
                .triggers
                .into_iter()
                .filter_map(|t| {
                    Some(Trigger {
                        name: t.name,
                        constraint: t.constraint,
                        relation: t.relation,
                        time_ms: t.time?,
                        calls: t.calls.unwrap_or(0.0),
                    })
                })
                .collect();
            Plan {
                root: self.plan.into_node(),
                planning_time_ms: self.planning,
                execution_time_ms: self.execution.or(self.total_runtime),
                jit: self.jit.map(|j| Jit {
                    functions: j.functions.unwrap_or(0.0),
                    total_ms: j.timing.and_then(|t| t.total).unwrap_or(0.0),
                }),
                settings: self
                    .settings
                    .into_iter()
                    .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
                    .collect(),
                trigger_time_ms: (!triggers.is_empty())
                    .then(|| triggers.iter().map(|t| t.time_ms).sum()),
                triggers,
                query_text: self.query_text,
            }
            .finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_written_as_json_reads_them() {
        for (v, want) in [
            ("0.00", "0.00"),
            ("-12.5", "-12.5"),
            ("100", "100"),
            ("007", "7"),
            ("1.", "1"),
            (".5", "0.5"),
            ("1e3", "1000"),
            ("1e999", "\"1e999\""),
            ("NaN", "\"NaN\""),
            ("-", "\"-\""),
            ("true", "true"),
            ("x\"y", "\"x\\\"y\""),
        ] {
            let mut out = String::new();
            write_scalar(&mut out, v);
            assert_eq!(out, want, "{v}");
            assert!(serde_json::from_str::<Value>(&out).is_ok(), "{v}: {out}");
        }
    }

    const SMALL: &str = r#"[
  {
    "Plan": {
      "Node Type": "Seq Scan", "Parallel Aware": false, "Relation Name": "orders", "Alias": "orders",
      "Startup Cost": 0.00, "Total Cost": 2041.00, "Plan Rows": 3000, "Plan Width": 40,
      "Actual Startup Time": 0.01, "Actual Total Time": 8.5, "Actual Rows": 3000, "Actual Loops": 1,
      "Filter": "(status = 'pending'::text)", "Rows Removed by Filter": 97000,
      "Shared Hit Blocks": 541, "Shared Read Blocks": 0, "Some Future Field": {"x": 1}
    },
    "Planning Time": 0.1, "Triggers": [], "Execution Time": 9.0,
    "JIT": {"Functions": 2, "Timing": {"Generation": 0.2, "Total": 3.5}}
  }
]"#;

    #[test]
    fn typed_and_generic_paths_agree() {
        let fast = parse(SMALL).unwrap();
        let slow = parse_generic(SMALL).unwrap();
        assert_eq!(fast, slow);
        // A number written as a string is not what PostgreSQL writes; the generic path takes it.
        let odd = parse(r#"[{"Plan": {"Node Type": "Result", "Total Cost": "1.5"}}]"#).unwrap();
        assert_eq!(odd[0].root.total_cost, Some(1.5));
    }

    #[test]
    fn raw_json() {
        let plans = parse(SMALL).unwrap();
        let p = &plans[0];
        assert_eq!(p.root.node_type, "Seq Scan");
        assert_eq!(p.root.rows_removed_by_filter, Some(97000.0));
        assert_eq!(p.root.buffers.unwrap().shared_hit, 541);
        assert_eq!(p.execution_time_ms, Some(9.0));
        assert_eq!(p.jit.unwrap().total_ms, 3.5);
        assert_eq!(p.root.label(), "Seq Scan on orders");
        assert_eq!(p.root.rows_read(), 100000.0);
    }

    #[test]
    fn psql_wrapped_json() {
        let mut wrapped = String::from(
            "                 QUERY PLAN\n--------------------------------------------\n",
        );
        let lines: Vec<&str> = SMALL.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if i + 1 < lines.len() {
                wrapped.push_str(&format!(" {l:<60}+\n"));
            } else {
                wrapped.push_str(&format!(" {l}\n"));
            }
        }
        wrapped.push_str("(1 row)\n\n");
        let plans = super::super::parse(&wrapped).unwrap();
        assert_eq!(plans[0].root.actual_rows, Some(3000.0));
    }

    #[test]
    fn truncated_and_malformed_json_name_the_position() {
        let cut = &SMALL[..SMALL.len() / 2];
        let e = parse(cut).unwrap_err().to_string();
        assert!(e.contains("line") && e.contains("truncated"), "{e}");
        let e = parse("[{\"Plan\": {\"Total Cost\": 1}}]")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "not an EXPLAIN plan at [0].Plan: no \"Node Type\"");
        let e = parse("[{\"Plan\": {\"Node Type\": \"Result\", \"Plans\": [7]}}]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("[0].Plan.Plans[0]"), "{e}");
        assert!(parse("[]").is_err());
        assert!(parse("42").is_err());
    }

    #[test]
    fn hostile_nesting_is_refused() {
        let mut s = String::new();
        for _ in 0..5000 {
            s.push_str("{\"Node Type\": \"Result\", \"Plans\": [");
        }
        // serde_json's own recursion limit answers first; either way, an error and no crash.
        let deep = format!("[{{\"Plan\": {s}");
        assert!(parse(&deep).is_err());
    }
}
