//! Reading the EXPLAIN text format (what psql prints by default and what people paste), into
//! the same model as JSON: node names are mapped to JSON's (`Hash Left Join` is a `Hash Join`
//! with join type `Left`, `HashAggregate` an `Aggregate` with strategy `Hashed`).

use super::paste::Line;
use super::scan::{find, Trim};
use super::{Jit, Node, Plan, PlanError, Trigger};

const NODE_TYPES: &[&str] = &[
    "Aggregate",
    "Append",
    "Bitmap Heap Scan",
    "Bitmap Index Scan",
    "BitmapAnd",
    "BitmapOr",
    "CTE Scan",
    "Custom Scan",
    "Foreign Scan",
    "Function Scan",
    "Gather",
    "Gather Merge",
    "Group",
    "Hash",
    "Hash Join",
    "Incremental Sort",
    "Index Only Scan",
    "Index Scan",
    "Limit",
    "LockRows",
    "Materialize",
    "Memoize",
    "Merge Append",
    "Merge Join",
    "ModifyTable",
    "Named Tuplestore Scan",
    "Nested Loop",
    "ProjectSet",
    "Recursive Union",
    "Result",
    "Sample Scan",
    "Seq Scan",
    "SetOp",
    "Sort",
    "Subquery Scan",
    "Table Function Scan",
    "Tid Range Scan",
    "Tid Scan",
    "Unique",
    "Values Scan",
    "WindowAgg",
    "WorkTable Scan",
];

/// Join the halves of lines a terminal wrapped: a line at column 0 that is not a plan node or a
/// statement-level line (`Planning Time: …`, `JIT:`) continues the line before it, when that line
/// was cut at the terminal's width (the longest line) or its parentheses are still open.
/// Also counts the node lines (`->`), for the reader to size its arena.
fn join_wrapped(lines: Vec<Line<'_>>) -> (Vec<Line<'_>>, usize) {
    // The terminal's width: the longest line, measured only when a line may be a tail.
    let mut width = None;
    // A cut that fell just before a space leaves the tail indented by that space: a line no
    // deeper than the root node that is not a node or a statement line is a tail too, after a
    // line cut at the width.
    let root_indent = lines
        .iter()
        .find(|(_, l)| super::paste::is_node_line(l))
        .map_or(0, |(_, l)| indent(l));
    let mut out: Vec<Line<'_>> = Vec::with_capacity(lines.len());
    let mut node_lines = 0;
    let mut lines = lines;
    for i in 0..lines.len() {
        let (n, l) = (lines[i].0, std::mem::take(&mut lines[i].1));
        let t = l.ws_start();
        let ind = l.len() - t.len();
        if t.starts_with("->") {
            node_lines += 1;
        }
        let tail = !t.is_empty()
            && ind <= root_indent
            && !l.starts_with("->")
            && !super::paste::is_node_line(&l)
            && !is_statement_line(t);
        if tail && !out.is_empty() {
            // Measured at the first tail, before any line was joined: the lines before it are
            // in `out` as they were, this one and the rest still in `lines`.
            let width = *width.get_or_insert_with(|| {
                let before = out.iter().map(|(_, l)| l.chars().count()).max();
                let after = lines[i + 1..].iter().map(|(_, l)| l.chars().count()).max();
                before.max(after).unwrap_or(0).max(l.chars().count())
            });
            if let Some((_, prev)) = out.last_mut() {
                let cut = width >= 40 && prev.chars().count() + 2 >= width;
                if (ind == 0 && paren_balance(prev) > 0) || cut {
                    // The space at a cut may have gone with the margin: put it back between
                    // figures and words, and before a `Key:` of a `Key: value  Key: value` line.
                    let key_next = l.starts_with(|c: char| c.is_ascii_uppercase())
                        && l.split_once(':').is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_alphabetic() || c == ' ')
                        });
                    let space = !prev.ends_with(' ')
                        && (key_next
                            || prev.ends_with(|c: char| c.is_ascii_digit() || c == ')')
                                && l.starts_with(|c: char| c.is_ascii_alphabetic()));
                    let prev = prev.to_mut();
                    if space {
                        prev.push(' ');
                    }
                    prev.push_str(&l);
                    continue;
                }
            }
        }
        out.push((n, l));
    }
    (out, node_lines)
}

/// `Planning Time: 0.1 ms`, `JIT:`, `Trigger for constraint …: time=…`: the lines PostgreSQL
/// writes after the plan tree (any case: `Execution time` before 13, `Total runtime` before 9.4).
fn is_statement_line(l: &str) -> bool {
    if l.starts_with("Trigger ") {
        return true;
    }
    let Some((k, _)) = l.split_once(':') else {
        return false;
    };
    [
        "planning",
        "planning time",
        "execution time",
        "total runtime",
        "jit",
        "settings",
        "query identifier",
        "serialization",
    ]
    .iter()
    .any(|s| k.eq_ignore_ascii_case(s))
}

/// Open minus closed parentheses outside single-quoted literals.
fn paren_balance(l: &str) -> i64 {
    let (mut n, mut quoted) = (0i64, false);
    // Bytes: the three are ASCII, and no byte of a multi-byte character is ASCII.
    for c in l.bytes() {
        match c {
            b'\'' => quoted = !quoted,
            b'(' if !quoted => n += 1,
            b')' if !quoted => n -= 1,
            _ => {}
        }
    }
    n
}

fn indent(l: &str) -> usize {
    l.len() - l.ws_start().len()
}

struct Pending {
    relationship: Option<String>,
    name: Option<String>,
}

/// Parse one text-format plan, as printed or pasted (see [`super::paste`]).
pub fn parse(input: &str) -> Result<Plan, PlanError> {
    let entry = super::paste::unwrap(input).into_iter().next();
    match entry.map(|e| (e.query_text, e.body)) {
        Some((query_text, super::paste::Body::Text(lines))) => {
            let mut p = parse_lines(lines)?;
            p.query_text = query_text;
            Ok(p)
        }
        _ => Err(PlanError::Empty(
            "no text-format plan found (expected lines such as 'Seq Scan on t  (cost=…)')"
                .to_string(),
        )),
    }
}

/// Parse the lines of one text-format plan, decorations already removed.
pub(crate) fn parse_lines(lines: Vec<Line<'_>>) -> Result<Plan, PlanError> {
    let (lines, node_lines) = join_wrapped(lines);
    let mut plan = Plan::default();
    // Arena: (indent, node, parent index).
    // The nodes as read, with their indentation and parent: kept in three vectors sized for
    // the node lines up front (a plan node is large; growing a vector of them copies them all).
    let node_lines = node_lines + 1;
    let mut arena = Arena {
        indents: Vec::with_capacity(node_lines),
        nodes: Vec::with_capacity(node_lines),
        parents: Vec::with_capacity(node_lines),
    };
    let mut stack: Vec<usize> = Vec::new();
    let mut pending = Pending {
        relationship: None,
        name: None,
    };
    let mut in_section: Option<(String, usize)> = None;
    for (lineno, raw) in &lines {
        let t = raw.ws_start();
        if t.is_empty() {
            continue;
        }
        let ind = raw.len() - t.len();
        if let Some((_, sind)) = &in_section {
            if ind > *sind {
                if let Some((name, _)) = &in_section {
                    if name == "JIT" {
                        jit_line(&mut plan, t);
                    }
                }
                continue;
            }
            in_section = None;
        }
        let is_node = t.starts_with("->") || arena.nodes.is_empty();
        if is_node {
            let body = t.trim_start_matches("->").ws_start();
            let node_indent = ind;
            let mut node = node_header(body).ok_or_else(|| PlanError::Text {
                line: *lineno,
                message: format!(
                    "expected a plan node such as 'Seq Scan on t  (cost=…)', found '{}'",
                    truncate(body, 60)
                ),
            })?;
            node.parent_relationship = pending.relationship.take();
            node.subplan_name = pending.name.take();
            while let Some(&top) = stack.last() {
                if arena.indents[top] >= node_indent {
                    stack.pop();
                } else {
                    break;
                }
            }
            let parent = stack.last().copied();
            if parent.is_none() && !arena.nodes.is_empty() {
                return Err(PlanError::Text {
                    line: *lineno,
                    message: "a second root node (is this two plans pasted together?)".to_string(),
                });
            }
            arena.indents.push(node_indent);
            arena.nodes.push(Some(node));
            arena.parents.push(parent);
            stack.push(arena.nodes.len() - 1);
            continue;
        }
        // Statement-level lines sit at the root's indentation or less.
        let root_indent = arena.indents.first().copied().unwrap_or(0);
        if ind <= root_indent {
            if (t.contains("(cost=") || t.contains("(actual")) && node_header(t).is_some() {
                return Err(PlanError::Text {
                    line: *lineno,
                    message: "a second root node (is this two plans pasted together?)".to_string(),
                });
            }
            if let Some((k, v)) = t.split_once(':') {
                // "Planning time" and "Execution time" before PostgreSQL 13, "Total runtime"
                // before 9.4.
                let lower = k.to_ascii_lowercase();
                match k {
                    _ if lower == "planning time" => plan.planning_time_ms = ms(v),
                    _ if lower == "execution time" || lower == "total runtime" => {
                        plan.execution_time_ms = ms(v)
                    }
                    "JIT" | "Planning" => in_section = Some((k.to_string(), ind)),
                    "Settings" => {
                        plan.settings = v
                            .split(", ")
                            .filter_map(|kv| kv.split_once(" = "))
                            .map(|(a, b)| {
                                (a.ws().to_string(), b.ws().trim_matches('\'').to_string())
                            })
                            .collect()
                    }
                    _ if k.starts_with("Trigger ") => {
                        if let Some(t) = trigger_line(k, v) {
                            plan.trigger_time_ms =
                                Some(plan.trigger_time_ms.unwrap_or(0.0) + t.time_ms);
                            plan.triggers.push(t);
                        }
                    }
                    _ => {}
                }
            }
            continue;
        }
        // InitPlan / SubPlan / CTE markers introduce the next node.
        if let Some(p) = subplan_marker(t) {
            pending = p;
            pop_to(&mut stack, &arena.indents, ind);
            continue;
        }
        // `Worker N:  actual time=…` and the lines under it (its buffers, I/O, sort) are that
        // worker's share: they never overwrite the node's own figures.
        if t.strip_prefix("Worker ")
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
        {
            in_section = Some(("Worker".to_string(), ind));
            continue;
        }
        // A property of the innermost node whose line is less indented than this one.
        pop_to(&mut stack, &arena.indents, ind);
        let Some(&cur) = stack.last() else { continue };
        if let Some((k, v)) = find(t, ": ").map(|i| (&t[..i], &t[i + 2..])) {
            if let Some(n) = arena.nodes[cur].as_mut() {
                property(n, k, v.ws());
            }
        }
    }
    if arena.nodes.is_empty() {
        return Err(PlanError::Empty(
            "no plan node found (expected EXPLAIN output in JSON or text format)".to_string(),
        ));
    }
    // Assemble the tree from the arena, children in order.
    let Arena {
        mut nodes, parents, ..
    } = arena;
    // The text format does not say which child is outer and which inner; JSON does.
    let mut seen = vec![0usize; nodes.len()];
    for i in 1..nodes.len() {
        let Some(p) = parents[i] else { continue };
        let parent_type = nodes[p]
            .as_ref()
            .map(|n| n.node_type.clone())
            .unwrap_or_default();
        if let Some(child) = nodes[i].as_mut() {
            if child.parent_relationship.is_none() {
                let rel = match parent_type.as_str() {
                    "Append" | "Merge Append" | "BitmapAnd" | "BitmapOr" => "Member",
                    "Subquery Scan" => "Subquery",
                    _ if seen[p] == 0 => "Outer",
                    _ => "Inner",
                };
                child.parent_relationship = Some(rel.to_string());
                seen[p] += 1;
            }
        }
    }
    // Children come after their parent (pre-order): filling parents from the last node back,
    // each child is complete when its parent takes it.
    let mut children_of: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, p) in parents.iter().enumerate() {
        if let Some(p) = p {
            children_of[*p].push(i);
        }
    }
    for i in (0..nodes.len()).rev() {
        if children_of[i].is_empty() {
            continue;
        }
        let mut kids: Vec<Node> = Vec::with_capacity(children_of[i].len());
        kids.extend(children_of[i].iter().filter_map(|&c| nodes[c].take()));
        if let Some(Some(parent)) = nodes.get_mut(i) {
            parent.children = kids;
        }
    }
    plan.root = nodes.into_iter().next().flatten().unwrap_or_default();
    Ok(plan.finish())
}

/// `InitPlan 1 (returns $0)`, `SubPlan 2`, `CTE recent`: the relationship and name of the next node.
fn subplan_marker(t: &str) -> Option<Pending> {
    // The whole line is the name, as JSON's "Subplan Name" has it: `InitPlan 1 (returns $0)`.
    let relationship = if t.starts_with("InitPlan ") {
        "InitPlan"
    } else if t.starts_with("SubPlan ") {
        "SubPlan"
    } else if t.starts_with("CTE ") && !t.contains(':') {
        "InitPlan"
    } else {
        return None;
    };
    Some(Pending {
        relationship: Some(relationship.to_string()),
        name: Some(t.ws().to_string()),
    })
}

/// `Trigger RI_ConstraintTrigger_a_1 for constraint orders_customer_id_fkey on customers:
/// time=63.4 calls=9` (name and table with VERBOSE), `Trigger audit: time=1.0 calls=5`.
fn trigger_line(k: &str, v: &str) -> Option<Trigger> {
    let time = v
        .split_whitespace()
        .find_map(|w| w.strip_prefix("time="))?
        .parse()
        .ok()?;
    let calls = v
        .split_whitespace()
        .find_map(|w| w.strip_prefix("calls="))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0.0);
    let rest = k.strip_prefix("Trigger ")?;
    let (rest, relation) = match rest.rsplit_once(" on ") {
        Some((a, r)) => (a, Some(r.ws().to_string())),
        None => (rest, None),
    };
    let (name, constraint) = match rest.split_once("for constraint ") {
        Some((n, c)) => (n.ws(), Some(c.ws().to_string())),
        None => (rest.ws(), None),
    };
    Some(Trigger {
        name: (!name.is_empty()).then(|| name.to_string()),
        constraint,
        relation,
        time_ms: time,
        calls,
    })
}

/// The nodes of a text plan as they are read.
struct Arena {
    indents: Vec<usize>,
    nodes: Vec<Option<Node>>,
    parents: Vec<Option<usize>>,
}

fn pop_to(stack: &mut Vec<usize>, indents: &[usize], ind: usize) {
    while let Some(&top) = stack.last() {
        if indents[top] >= ind {
            stack.pop();
        } else {
            break;
        }
    }
}

pub(crate) fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

fn ms(v: &str) -> Option<f64> {
    v.ws().trim_end_matches("ms").ws().parse().ok()
}

fn jit_line(plan: &mut Plan, t: &str) {
    let jit = plan.jit.get_or_insert(Jit::default());
    if let Some(v) = t.strip_prefix("Functions:") {
        jit.functions = v.ws().parse().unwrap_or(0.0);
    } else if let Some(v) = t.strip_prefix("Timing:") {
        // "Generation 0.5 ms (Deform 0.1 ms), Inlining 0 ms, …, Total 3.5 ms"
        if let Some(idx) = v.rfind("Total ") {
            jit.total_ms = v[idx + 6..]
                .ws()
                .trim_end_matches("ms")
                .ws()
                .parse()
                .unwrap_or(0.0);
        }
    }
}

/// Parse `Seq Scan on t  (cost=… rows=… width=…) (actual time=… rows=… loops=…)`.
fn node_header(body: &str) -> Option<Node> {
    let (desc, figures) = match find(body, "  (")
        .or_else(|| find(body, " (cost="))
        .or_else(|| find(body, " (actual"))
        .or_else(|| find(body, " (never"))
    {
        Some(i) => (body[..i].ws(), &body[i..]),
        None => (body.ws(), ""),
    };
    let mut n = describe(desc)?;
    n.executed = true;
    if find(figures, "never executed").is_some() {
        n.executed = false;
        n.actual_loops = Some(0.0);
        n.actual_rows = Some(0.0);
        n.actual_total_time = Some(0.0);
    }
    for group in figures.split('(').skip(1) {
        let group = group.split(')').next().unwrap_or("");
        let actual = group.starts_with("actual");
        for w in group.split_whitespace() {
            let Some((k, v)) = w.split_once('=') else {
                continue;
            };
            match (k, actual) {
                ("cost", false) => {
                    if let Some((a, b)) = v.split_once("..") {
                        n.startup_cost = a.parse().ok();
                        n.total_cost = b.parse().ok();
                    }
                }
                ("rows", false) => n.plan_rows = v.parse().ok(),
                ("width", false) => n.plan_width = v.parse().ok(),
                ("time", true) => {
                    if let Some((a, b)) = v.split_once("..") {
                        n.actual_startup_time = a.parse().ok();
                        n.actual_total_time = b.parse().ok();
                    }
                }
                ("rows", true) => n.actual_rows = v.parse().ok(),
                ("loops", true) => {
                    n.actual_loops = v.parse().ok();
                    if n.actual_loops == Some(0.0) {
                        n.executed = false;
                    }
                }
                _ => {}
            }
        }
    }
    Some(n)
}

/// The node type and names from `Parallel Index Scan Backward using i on s.t x`.
fn describe(desc: &str) -> Option<Node> {
    let mut n = Node::default();
    let mut d = desc;
    if let Some(rest) = d.strip_prefix("Parallel ") {
        n.parallel_aware = true;
        d = rest;
    }
    for p in ["Finalize ", "Partial ", "Async "] {
        if let Some(rest) = d.strip_prefix(p) {
            if p != "Async " {
                n.partial_mode = Some(p.ws_end().to_string());
            }
            d = rest;
        }
    }
    let (head, on) = match find(d, " on ") {
        Some(i) => (&d[..i], Some(d[i + 4..].ws())),
        None => (d, None),
    };
    let (head, using) = match find(head, " using ") {
        Some(i) => (&head[..i], Some(head[i + 7..].ws())),
        None => (head, None),
    };
    let mut head = head.ws();
    if let Some(h) = head.strip_suffix(" Backward") {
        n.scan_direction = Some("Backward".to_string());
        head = h;
    }
    let node_type = match head {
        "HashAggregate" => {
            n.strategy = Some("Hashed".to_string());
            "Aggregate".to_string()
        }
        "GroupAggregate" => {
            n.strategy = Some("Sorted".to_string());
            "Aggregate".to_string()
        }
        "MixedAggregate" => {
            n.strategy = Some("Mixed".to_string());
            "Aggregate".to_string()
        }
        "Aggregate" => {
            n.strategy = Some("Plain".to_string());
            "Aggregate".to_string()
        }
        "Insert" | "Update" | "Delete" | "Merge" => {
            n.operation = Some(head.to_string());
            "ModifyTable".to_string()
        }
        "Foreign Insert" | "Foreign Update" | "Foreign Delete" => "Foreign Scan".to_string(),
        h if h == "SetOp" || h.starts_with("SetOp ") => "SetOp".to_string(),
        h if h == "HashSetOp" || h.starts_with("HashSetOp ") => {
            n.strategy = Some("Hashed".to_string());
            "SetOp".to_string()
        }
        h if h.ends_with(" Join") || h.starts_with("Nested Loop") => {
            let (method, rest) = if let Some(r) = h.strip_prefix("Nested Loop") {
                ("Nested Loop", r)
            } else if let Some(r) = h.strip_prefix("Hash") {
                ("Hash Join", r)
            } else if let Some(r) = h.strip_prefix("Merge") {
                ("Merge Join", r)
            } else {
                return None;
            };
            let jt = rest.ws().trim_end_matches("Join").ws();
            n.join_type = Some(if jt.is_empty() {
                "Inner".to_string()
            } else {
                jt.to_string()
            });
            method.to_string()
        }
        h => {
            // Up to the first word in parentheses.
            let h = match find(h, " (") {
                Some(i) => &h[..i],
                None => h,
            };
            if NODE_TYPES.contains(&h) {
                h.to_string()
            } else {
                // Older servers: `Subquery Scan x`, without `on`.
                let (t, alias) = h.rsplit_once(' ')?;
                if !NODE_TYPES.contains(&t) || !t.ends_with(" Scan") {
                    return None;
                }
                n.alias = Some(alias.to_string());
                t.to_string()
            }
        }
    };
    n.index_name = using.map(str::to_string);
    if let Some(on) = on {
        if node_type == "Bitmap Index Scan" {
            n.index_name = Some(on.to_string());
        } else {
            let mut parts = on.split_whitespace();
            if let Some(rel) = parts.next() {
                match rel.rsplit_once('.') {
                    Some((schema, r)) => {
                        n.schema = Some(schema.to_string());
                        n.relation_name = Some(r.to_string());
                    }
                    None => n.relation_name = Some(rel.to_string()),
                }
            }
            n.alias = parts
                .next()
                .map(str::to_string)
                .or_else(|| n.relation_name.clone());
        }
    }
    n.node_type = node_type;
    Some(n)
}

fn kv_num(s: &str, key: &str) -> Option<f64> {
    s.split(|c: char| c.is_whitespace() || c == ',')
        .find_map(|w| w.strip_prefix(key))
        .and_then(|v| v.trim_end_matches("kB").parse().ok())
}

/// The number after `label` in a line of `Label: value  Label: value` pairs (`kB` dropped).
fn labeled(s: &str, label: &str) -> Option<f64> {
    let i = s.find(label)?;
    s[i + label.len()..]
        .split_whitespace()
        .next()?
        .trim_end_matches("kB")
        .parse()
        .ok()
}

/// The sum of the `key` figures of an `I/O Timings:` line (`read=1.2 write=0.3`, or
/// `shared/local read=… write=…, temp read=… write=…` from PostgreSQL 15).
fn io_timing(v: &str, key: &str) -> Option<f64> {
    v.split(|c: char| c.is_whitespace() || c == ',')
        .filter_map(|w| w.strip_prefix(key))
        .filter_map(|x| x.parse::<f64>().ok())
        .fold(None, |acc, t| Some(acc.unwrap_or(0.0) + t))
}

fn property(n: &mut Node, k: &str, v: &str) {
    let num = || {
        v.split_whitespace()
            .next()
            .and_then(|x| x.parse::<f64>().ok())
    };
    match k {
        "Filter" => n.filter = Some(v.to_string()),
        "Rows Removed by Filter" => n.rows_removed_by_filter = num(),
        "Index Cond" => n.index_cond = Some(v.to_string()),
        "Recheck Cond" => n.recheck_cond = Some(v.to_string()),
        "Rows Removed by Index Recheck" => n.rows_removed_by_index_recheck = num(),
        "Join Filter" => n.join_filter = Some(v.to_string()),
        "Rows Removed by Join Filter" => n.rows_removed_by_join_filter = num(),
        "Hash Cond" => n.hash_cond = Some(v.to_string()),
        "Merge Cond" => n.merge_cond = Some(v.to_string()),
        "One-Time Filter" => n.one_time_filter = Some(v.to_string()),
        "Run Condition" => n.run_condition = Some(v.to_string()),
        "Group Key" => n.group_key = v.split(", ").map(str::to_string).collect(),
        "Presorted Key" => n.presorted_key = v.split(", ").map(str::to_string).collect(),
        "Cache Key" => n.cache_key = Some(v.to_string()),
        // Memoize: "Hits: 10  Misses: 5  Evictions: 0  Overflows: 0  Memory Usage: 1kB".
        "Hits" => {
            n.cache_hits = num();
            n.cache_misses = labeled(v, "Misses: ");
            n.cache_evictions = labeled(v, "Evictions: ");
            n.cache_overflows = labeled(v, "Overflows: ");
            n.peak_memory_usage_kb = labeled(v, "Memory Usage: ");
        }
        // HashAggregate: "Planned Partitions: 4  Batches: 5  Memory Usage: 4145kB  Disk Usage:
        // 10000kB", the first part only without ANALYZE, the last only when it spilled.
        "Planned Partitions" | "Batches" => {
            let line = format!("{k}: {v}");
            n.planned_partitions = labeled(&line, "Planned Partitions: ");
            n.hashagg_batches = labeled(&line, "Batches: ");
            n.peak_memory_usage_kb = labeled(&line, "Memory Usage: ");
            n.disk_usage_kb = labeled(&line, "Disk Usage: ");
        }
        // Incremental Sort: "Full-sort Groups: 4  Sort Method: quicksort  Average Memory: 26kB
        // Peak Memory: 26kB", "Sort Methods: top-N heapsort, quicksort" for several, and
        // "Average Disk: …  Peak Disk: …" when a group spilled.
        "Full-sort Groups" | "Pre-sorted Groups" => {
            let methods = ["Sort Method: ", "Sort Methods: "]
                .iter()
                .find_map(|l| v.find(l).map(|i| &v[i + l.len()..]))
                .map_or("", |m| m.split("  ").next().unwrap_or("").ws());
            n.add_sort_group(
                methods,
                labeled(v, "Peak Memory: "),
                labeled(v, "Peak Disk: "),
            );
        }
        "WAL" => {
            let get = |k: &str| kv_num(v, k).unwrap_or(0.0) as u64;
            n.wal = Some(super::Wal {
                records: get("records="),
                fpi: get("fpi="),
                bytes: get("bytes="),
            });
        }
        "I/O Timings" => {
            n.io_read_ms = io_timing(v, "read=");
            n.io_write_ms = io_timing(v, "write=");
        }
        "Heap Fetches" => n.heap_fetches = num(),
        "Heap Blocks" => {
            n.exact_heap_blocks = kv_num(v, "exact=");
            n.lossy_heap_blocks = kv_num(v, "lossy=");
        }
        "Sort Key" => n.sort_key = v.split(", ").map(str::to_string).collect(),
        "Sort Method" => {
            // "external merge  Disk: 4128kB" or "quicksort  Memory: 25kB"
            let (method, space) = match v.split_once("  ") {
                Some((m, s)) => (m.ws(), s.ws()),
                None => (v.ws(), ""),
            };
            n.sort_method = Some(method.to_string());
            if let Some((kind, amount)) = space.split_once(':') {
                n.sort_space_type = Some(kind.ws().to_string());
                n.sort_space_used_kb = amount.ws().trim_end_matches("kB").ws().parse().ok();
            }
        }
        "Buckets" => {
            // "1024 (originally 1024)  Batches: 4 (originally 1)  Memory Usage: 300kB"
            let mut words = v.split_whitespace();
            n.hash_buckets = words.next().and_then(|x| x.parse().ok());
            if let Some(i) = v.find("Batches: ") {
                let rest = &v[i + 9..];
                let mut w = rest.split_whitespace();
                n.hash_batches = w.next().and_then(|x| x.parse().ok());
                n.original_hash_batches = match (w.next(), w.next()) {
                    (Some("(originally"), Some(o)) => o.trim_end_matches(')').parse().ok(),
                    _ => n.hash_batches,
                };
            }
            n.peak_memory_usage_kb = labeled(v, "Memory Usage: ");
        }
        "Workers Planned" => n.workers_planned = num(),
        "Workers Launched" => n.workers_launched = num(),
        "Output" => n.output = v.split(", ").map(str::to_string).collect(),
        "Buffers" => {
            let mut b = n.buffers.unwrap_or_default();
            for part in v.split(", ") {
                let part = part.ws();
                let (scope, rest) = part.split_once(' ').unwrap_or((part, ""));
                let get = |key: &str| kv_num(rest, key).unwrap_or(0.0) as u64;
                match scope {
                    "shared" => {
                        b.shared_hit = get("hit=");
                        b.shared_read = get("read=");
                        b.shared_dirtied = get("dirtied=");
                        b.shared_written = get("written=");
                    }
                    "local" => {
                        b.local_hit = get("hit=");
                        b.local_read = get("read=");
                    }
                    "temp" => {
                        b.temp_read = get("read=");
                        b.temp_written = get("written=");
                    }
                    _ => {}
                }
            }
            n.buffers = Some(b);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = "\
                                                        QUERY PLAN
---------------------------------------------------------------------------------------------------------------------------
 Sort  (cost=5000.10..5000.20 rows=40 width=16) (actual time=45.100..45.200 rows=3000 loops=1)
   Sort Key: o.created_at DESC
   Sort Method: external merge  Disk: 4128kB
   Buffers: shared hit=10 read=531, temp read=516 written=517
   ->  Hash Left Join  (cost=10.00..4990.00 rows=40 width=16) (actual time=1.000..40.000 rows=3000 loops=1)
         Hash Cond: (o.user_id = u.id)
         ->  Seq Scan on public.orders o  (cost=0.00..2041.00 rows=40 width=16) (actual time=0.010..30.000 rows=3000 loops=1)
               Filter: (status = 'pending'::text)
               Rows Removed by Filter: 97000
         ->  Hash  (cost=5.00..5.00 rows=400 width=8) (actual time=0.500..0.500 rows=400 loops=1)
               Buckets: 1024 (originally 512)  Batches: 4 (originally 1)  Memory Usage: 300kB
               ->  Index Only Scan Backward using users_pkey on users u  (cost=0.29..5.00 rows=400 width=8) (actual time=0.010..0.300 rows=400 loops=1)
                     Heap Fetches: 12
   SubPlan 1
     ->  Result  (cost=0.00..0.01 rows=1 width=4) (never executed)
 Planning Time: 0.321 ms
 JIT:
   Functions: 4
   Timing: Generation 0.5 ms, Inlining 0.000 ms, Optimization 0.2 ms, Emission 3.1 ms, Total 3.8 ms
 Execution Time: 46.000 ms
(21 rows)
";

    #[test]
    fn psql_text_plan() {
        let p = parse(PLAN).unwrap();
        let sort = &p.root;
        assert_eq!(sort.node_type, "Sort");
        assert_eq!(sort.sort_method.as_deref(), Some("external merge"));
        assert_eq!(sort.sort_space_type.as_deref(), Some("Disk"));
        assert_eq!(sort.sort_space_used_kb, Some(4128.0));
        assert_eq!(sort.buffers.unwrap().temp_written, 517);
        assert_eq!(sort.children.len(), 2);
        let join = &sort.children[0];
        assert_eq!(
            (join.node_type.as_str(), join.join_type.as_deref()),
            ("Hash Join", Some("Left"))
        );
        let scan = &join.children[0];
        assert_eq!(scan.label(), "Seq Scan on public.orders o");
        assert_eq!(scan.rows_removed_by_filter, Some(97000.0));
        let hash = &join.children[1];
        assert_eq!(
            (hash.hash_batches, hash.original_hash_batches),
            (Some(4.0), Some(1.0))
        );
        let ios = &hash.children[0];
        assert_eq!(ios.node_type, "Index Only Scan");
        assert_eq!(ios.index_name.as_deref(), Some("users_pkey"));
        assert_eq!(ios.scan_direction.as_deref(), Some("Backward"));
        assert_eq!(ios.heap_fetches, Some(12.0));
        let sub = &sort.children[1];
        assert_eq!(sub.parent_relationship.as_deref(), Some("SubPlan"));
        assert!(!sub.executed);
        assert_eq!(p.execution_time_ms, Some(46.0));
        assert_eq!(p.planning_time_ms, Some(0.321));
        assert_eq!(p.jit.unwrap().total_ms, 3.8);
    }

    #[test]
    fn plain_explain_without_psql_wrapper() {
        let p = parse("Limit  (cost=0.29..0.50 rows=10 width=8)\n  ->  Index Scan using i on t  (cost=0.29..100.00 rows=5000 width=8)\n        Index Cond: (a > 5)\n").unwrap();
        assert_eq!(p.root.children[0].index_cond.as_deref(), Some("(a > 5)"));
        assert!(!p.analyzed());
    }

    #[test]
    fn worker_lines_belong_to_the_worker() {
        let text = [
            " Gather  (cost=1000.00..10000.00 rows=100 width=4) (actual time=0.500..50.000 rows=300 loops=1)",
            "   Workers Planned: 2",
            "   Workers Launched: 2",
            "   ->  Parallel Seq Scan on t  (cost=0.00..9000.00 rows=42 width=4) (actual time=0.100..45.000 rows=100 loops=3)",
            "         Filter: (a = 1)",
            "         Buffers: shared hit=443",
            "         Worker 0:  actual time=0.090..44.000 rows=90 loops=1",
            "           Buffers: shared hit=100",
            "           Sort Method: quicksort  Memory: 25kB",
            "         Worker 1:  actual time=0.080..44.500 rows=110 loops=1",
            "           Buffers: shared hit=120",
            "         Rows Removed by Filter: 33233",
        ]
        .join("\n");
        let p = parse(&text).unwrap();
        let scan = &p.root.children[0];
        assert_eq!(scan.buffers.as_ref().map(|b| b.shared_hit), Some(443));
        assert_eq!(scan.actual_rows, Some(100.0));
        assert_eq!(scan.actual_loops, Some(3.0));
        assert_eq!(scan.sort_method, None);
        // A property after the worker blocks, at the node's indentation, is the node's again.
        assert_eq!(scan.rows_removed_by_filter, Some(33233.0));
        assert_eq!(p.root.workers_launched, Some(2.0));
    }

    #[test]
    fn costs_off_plans_read_as_their_shape() {
        // EXPLAIN (COSTS OFF), as PostgreSQL's own regression tests and many posts show plans.
        let text = "            QUERY PLAN\n-----------------------------------\n Limit\n   ->  Incremental Sort\n         Sort Key: tenk1.four, tenk1.ten\n         Presorted Key: tenk1.four\n         ->  Sort\n               Sort Key: tenk1.four\n               ->  Seq Scan on tenk1\n(7 rows)\n";
        let p = crate::plan::parse(text).unwrap().remove(0);
        assert_eq!(p.root.count(), 4);
        let inc = &p.root.children[0];
        assert_eq!(inc.node_type, "Incremental Sort");
        assert_eq!(inc.presorted_key, ["tenk1.four"]);
        assert_eq!(inc.children[0].children[0].label(), "Seq Scan on tenk1");
        assert!(!p.analyzed() && p.root.total_cost.is_none());
    }

    #[test]
    fn wal_usage_reads_as_the_json_of_the_same_plan() {
        let text = "Update on t  (cost=0.00..35.50 rows=0 width=0) (actual time=0.200..0.200 rows=0 loops=1)\n  Buffers: shared hit=12 dirtied=2\n  WAL: records=10 fpi=1 bytes=1650\n  ->  Seq Scan on t  (cost=0.00..35.50 rows=10 width=10) (actual time=0.010..0.020 rows=10 loops=1)\n";
        let json = r#"[{"Plan": {"Node Type": "ModifyTable", "Operation": "Update", "Relation Name": "t", "WAL Records": 10, "WAL FPI": 1, "WAL Bytes": 1650,
            "Plans": [{"Node Type": "Seq Scan", "Relation Name": "t"}]}}]"#;
        let t = parse(text).unwrap();
        let j = crate::plan::json::parse(json).unwrap().remove(0);
        assert_eq!(
            t.root.wal,
            Some(crate::plan::Wal {
                records: 10,
                fpi: 1,
                bytes: 1650
            })
        );
        assert_eq!(t.root.wal, j.root.wal);
        assert_eq!(t.root.label(), "Update on t");
        assert_eq!(j.root.label(), "Update on t");
    }

    #[test]
    fn older_servers_timing_lines() {
        let node = "Seq Scan on t  (cost=0.00..1.00 rows=1 width=4) (actual time=0.010..0.020 rows=1 loops=1)\n";
        let p = parse(&format!(
            "{node}Planning time: 0.050 ms\nExecution time: 0.100 ms\n"
        ))
        .unwrap();
        assert_eq!(
            (p.planning_time_ms, p.execution_time_ms),
            (Some(0.05), Some(0.1))
        );
        let p = parse(&format!("{node}Total runtime: 0.200 ms\n")).unwrap();
        assert_eq!(p.execution_time_ms, Some(0.2));
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = parse("hello world\nthis is not a plan")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("cannot read the text plan at line 1"), "{e}");
        let e = parse("Seq Scan on a  (cost=0.00..1.00 rows=1 width=4)\nSeq Scan on b  (cost=0.00..1.00 rows=1 width=4)").unwrap_err();
        assert!(e.to_string().contains("second root"), "{e}");
    }
}
