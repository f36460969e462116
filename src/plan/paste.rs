//! What people paste instead of a bare plan, taken apart: psql's table in every setting
//! (`\pset linestyle ascii|unicode`, `\pset border 0|1|2`, `\x` expanded, `-A` unaligned, the
//! `QUERY PLAN` header, `+`/`↵` continuation marks, the `(N rows)` footer), copies from GUI clients
//! (lines in double quotes, a trailing `|` on every line), auto_explain entries from a server log
//! (`duration: … ms  plan:` with `Query Text:` and tab-indented continuation lines), and a
//! statement, comments or a psql prompt before the plan. What is left is one plan body per
//! entry, in the format it was written in.

use std::borrow::Cow;

/// The plan body, in the format it was written in: borrowed from the input when it is bare
/// (a 5 MB JSON plan is not copied), rebuilt when decorations came off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body<'a> {
    /// `EXPLAIN (FORMAT JSON)`, or auto_explain's JSON object (what follows its end is the JSON
    /// reader's to cut).
    Json(Cow<'a, str>),
    /// `EXPLAIN (FORMAT YAML)`.
    Yaml(Cow<'a, str>),
    /// `EXPLAIN (FORMAT XML)`.
    Xml(Cow<'a, str>),
    /// The text format: lines with their 1-based line numbers in the input, decorations removed.
    Text(Vec<(usize, String)>),
}

/// One plan found in the input, and the statement it belongs to when the input says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry<'a> {
    /// `Query Text:` of auto_explain, or the `EXPLAIN …` statement typed before the plan.
    pub query_text: Option<String>,
    /// auto_explain's `duration: … ms`: the statement's run time (auto_explain prints no
    /// `Execution Time` line).
    pub duration_ms: Option<f64>,
    /// The plan.
    pub body: Body<'a>,
}

/// Take the input apart into plan entries (one, or one per auto_explain log entry).
pub(crate) fn unwrap(input: &str) -> Vec<Entry<'_>> {
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    // Bare EXPLAIN output, as a client or `psql -At` writes it: nothing to take apart.
    let t = input.trim_start();
    // psql marks every line of a multi-line cell, so the first lines tell.
    let mut cut = t.len().min(4096);
    while !t.is_char_boundary(cut) {
        cut -= 1;
    }
    let marked = t[..cut].lines().take(4).any(|l| {
        let l = l.trim_end();
        l.ends_with('↵') || l.ends_with('+')
    });
    let bare = if (t.starts_with('[') || t.starts_with('{')) && !marked {
        Some(Body::Json(Cow::Borrowed(t)))
    } else if t.starts_with("- Plan:") {
        Some(Body::Yaml(Cow::Borrowed(input)))
    } else if t.starts_with("<explain") || t.starts_with("<?xml") {
        Some(Body::Xml(Cow::Borrowed(input)))
    } else {
        None
    };
    if let Some(body) = bare {
        return vec![Entry {
            query_text: None,
            duration_ms: None,
            body,
        }];
    }
    let lines: Vec<(usize, &str)> = input
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
        .collect();
    let auto = auto_explain(&lines);
    if !auto.is_empty() {
        return auto;
    }
    vec![body_of(undecorate(&lines))]
}

/// auto_explain entries: a log line ending in `plan:` after `duration: … ms`, and the
/// continuation lines under it (a tab at the start, as the server writes them in stderr logs).
fn auto_explain(lines: &[(usize, &str)]) -> Vec<Entry<'static>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].1.trim_end();
        let starts = l.ends_with("plan:")
            && l.find("duration: ")
                .is_some_and(|d| l[d..].contains(" ms") && l.len() > d);
        if !starts {
            i += 1;
            continue;
        }
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() {
            let (n, l) = lines[i];
            if !(l.starts_with('\t') || l.starts_with(' ') || l.trim().is_empty()) {
                break;
            }
            body.push((n, l.strip_prefix('\t').unwrap_or(l).to_string()));
            i += 1;
        }
        while body.last().is_some_and(|(_, l)| l.trim().is_empty()) {
            body.pop();
        }
        let duration_ms = l.find("duration: ").and_then(|d| {
            l[d + 10..]
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
        });
        let mut e = body_of(strip_common_indent(body));
        e.duration_ms = duration_ms;
        out.push(e);
    }
    out
}

/// Whether a line is a rule of psql's table: dashes, box drawing, `+` crossings.
fn is_rule(t: &str) -> bool {
    !t.is_empty()
        && t.chars().any(|c| matches!(c, '-' | '─' | '═' | '━'))
        && t.chars().all(|c| {
            matches!(
                c,
                '-' | '+'
                    | ' '
                    | '|'
                    | '─'
                    | '═'
                    | '━'
                    | '│'
                    | '┼'
                    | '┬'
                    | '┴'
                    | '┌'
                    | '┐'
                    | '└'
                    | '┘'
                    | '├'
                    | '┤'
                    | '╞'
                    | '╡'
                    | '╪'
                    | '╔'
                    | '╗'
                    | '╚'
                    | '╝'
                    | '╠'
                    | '╣'
                    | '║'
            )
        })
}

fn is_frame(c: char) -> bool {
    matches!(c, '|' | '│' | '║')
}

/// `(3 rows)`, `(1 row)`.
fn is_footer(t: &str) -> bool {
    t.strip_prefix('(')
        .and_then(|r| r.strip_suffix(" rows)").or_else(|| r.strip_suffix(" row)")))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn is_header(t: &str) -> bool {
    let t = t
        .trim()
        .trim_matches(|c: char| is_frame(c) || c == '"')
        .trim();
    t == "QUERY PLAN"
}

/// psql's table and GUI copies removed, lines numbered as in the input.
fn undecorate(lines: &[(usize, &str)]) -> Vec<(usize, String)> {
    let aligned = lines.iter().take(8).any(|(_, l)| is_rule(l.trim()));
    let expanded = lines.iter().any(|(_, l)| l.contains("[ RECORD "));
    let mut out: Vec<(usize, String)> = Vec::with_capacity(lines.len());
    for &(n, l) in lines {
        let t = l.trim();
        if is_rule(t) || (expanded && t.contains("[ RECORD ")) || is_footer(t) || is_header(t) {
            continue;
        }
        let mut s: &str = l.trim_end();
        // Border 2: `| … |` or `│ … │` around every line.
        let framed = s.trim_start().starts_with(is_frame) && s.ends_with(is_frame);
        if framed {
            let inner = s.trim_start();
            let inner = &inner[inner.chars().next().map_or(0, char::len_utf8)..];
            let inner = &inner[..inner.len() - inner.chars().last().map_or(0, char::len_utf8)];
            s = inner.strip_prefix(' ').unwrap_or(inner).trim_end();
        }
        // Expanded display: `QUERY PLAN | value`, then `           | value` for more lines.
        if expanded {
            if let Some(i) = s.find(|c: char| is_frame(c)) {
                let (head, rest) = s.split_at(i);
                if head.trim().is_empty() || head.trim() == "QUERY PLAN" {
                    let rest = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
                    s = rest.strip_prefix(' ').unwrap_or(rest);
                }
            }
        }
        // Continuation marks of a multi-line cell.
        let mut owned = s.trim_end().to_string();
        if let Some(x) = owned.strip_suffix('↵') {
            owned = x.trim_end().to_string();
        } else if aligned || expanded {
            if let Some(x) = owned.strip_suffix('+') {
                owned = x.trim_end().to_string();
            }
        }
        out.push((n, owned));
    }
    gui_copies(&mut out);
    out.retain(|(_, l)| !is_header(l) && !is_footer(l.trim()));
    strip_common_indent(out)
}

/// Copies from GUI clients: every line in double quotes (pgAdmin, CSV export) or every line
/// ending in `|` (DBeaver's text view).
fn gui_copies(lines: &mut [(usize, String)]) {
    let nonblank = || lines.iter().filter(|(_, l)| !l.trim().is_empty());
    let count = nonblank().count();
    if count == 0 {
        return;
    }
    let quoted = nonblank().all(|(_, l)| {
        let t = l.trim();
        t.len() >= 2 && t.starts_with('"') && t.ends_with('"')
    });
    if quoted {
        for (_, l) in lines.iter_mut() {
            let t = l.trim();
            if t.len() >= 2 {
                *l = t[1..t.len() - 1].replace("\"\"", "\"");
            }
        }
        return;
    }
    let piped = nonblank().all(|(_, l)| l.ends_with('|') && !l.trim_start().starts_with('|'));
    if piped {
        for (_, l) in lines.iter_mut() {
            if let Some(x) = l.strip_suffix('|') {
                *l = x.trim_end().to_string();
            }
        }
    }
}

fn strip_common_indent(lines: Vec<(usize, String)>) -> Vec<(usize, String)> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let common = lines
        .iter()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(_, l)| indent(l))
        .min()
        .unwrap_or(0);
    let mut lines = lines;
    if common > 0 {
        for (_, l) in &mut lines {
            l.drain(..boundary(l, common.min(indent(l))));
        }
    }
    lines
}

/// `at`, moved back to a character boundary of `l` (indents measured on other lines may end
/// inside a multi-byte space of this one).
fn boundary(l: &str, mut at: usize) -> usize {
    at = at.min(l.len());
    while !l.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Whether a text line is a plan node with figures: `Seq Scan on t  (cost=…)`.
pub(crate) fn is_node_line(t: &str) -> bool {
    let t = t.trim_start();
    let t = t.strip_prefix("->").unwrap_or(t).trim_start();
    t.starts_with(|c: char| c.is_ascii_uppercase())
        && (t.contains("  (cost=") || t.contains("  (actual") || t.contains("  (never executed"))
}

/// Decide the format and drop what comes before the plan (a statement, comments, a prompt).
fn body_of(lines: Vec<(usize, String)>) -> Entry<'static> {
    let start = |pred: &dyn Fn(&str) -> bool| lines.iter().position(|(_, l)| pred(l.trim()));
    let from = |i: usize| {
        let mut s = String::new();
        for (_, l) in &lines[i..] {
            s.push_str(l);
            s.push('\n');
        }
        s
    };
    let before = |i: usize| query_before(&lines[..i]);
    if let Some(i) = start(&|t| t.starts_with("<explain") || t.starts_with("<?xml")) {
        return Entry {
            duration_ms: None,
            query_text: before(i),
            body: Body::Xml(Cow::Owned(from(i))),
        };
    }
    if let Some(i) = start(&|t| t == "- Plan:" || t == "Plan:" || t.starts_with("Query Text: \"")) {
        if lines
            .iter()
            .any(|(_, l)| l.trim_start().starts_with("Node Type: "))
        {
            return Entry {
                duration_ms: None,
                query_text: before(i),
                body: Body::Yaml(Cow::Owned(from(i))),
            };
        }
    }
    if let Some(i) = start(&|t| t.starts_with('[') || t.starts_with('{')) {
        if !lines.iter().take(i + 1).any(|(_, l)| is_node_line(l)) {
            return Entry {
                duration_ms: None,
                query_text: before(i),
                body: Body::Json(Cow::Owned(from(i))),
            };
        }
    }
    let (query_text, lines) = match lines.iter().position(|(_, l)| is_node_line(l)) {
        Some(i) => {
            // The root is the least indented line of a plan: what is left of it is decoration
            // (psql's leading space), and a prompt after the plan does not count.
            let root = &lines[i].1;
            let cut = root.len() - root.trim_start().len();
            let query = query_before(&lines[..i]);
            let mut plan = lines;
            plan.drain(..i);
            if cut > 0 {
                for (_, l) in &mut plan {
                    let c = cut.min(l.len() - l.trim_start().len());
                    l.drain(..boundary(l, c));
                }
            }
            (query, plan)
        }
        None => (None, lines),
    };
    Entry {
        query_text,
        duration_ms: None,
        body: Body::Text(lines),
    }
}

/// The statement typed before a plan: a psql prompt (`db=# `, `db-> `) and `EXPLAIN` with its
/// options removed; `None` when the lines hold no statement.
fn query_before(lines: &[(usize, String)]) -> Option<String> {
    // auto_explain's `Query Text:`, kept as written (continuation lines included).
    if let Some(first) = lines
        .first()
        .and_then(|(_, l)| l.strip_prefix("Query Text: "))
    {
        let mut q = first.to_string();
        for (_, l) in &lines[1..] {
            q.push('\n');
            q.push_str(l);
        }
        let q = q.trim_end();
        return (!q.is_empty()).then(|| q.to_string());
    }
    let mut parts = Vec::new();
    for (_, l) in lines {
        let mut t = l.trim();
        if let Some(i) = t.find(|c: char| c.is_whitespace()) {
            let prompt = &t[..i];
            if prompt.ends_with("=#")
                || prompt.ends_with("=>")
                || prompt.ends_with("-#")
                || prompt.ends_with("->")
            {
                t = t[i..].trim_start();
            }
        }
        if t.is_empty() || t.starts_with("--") {
            continue;
        }
        parts.push(t);
    }
    let joined = parts.join("\n");
    let rest = strip_explain(&joined)?;
    let rest = rest.trim().trim_end_matches(';').trim();
    (!rest.is_empty()).then(|| rest.to_string())
}

/// `EXPLAIN (ANALYZE, BUFFERS) SELECT …` → `SELECT …`; `None` unless the text starts with EXPLAIN.
fn strip_explain(s: &str) -> Option<&str> {
    let head = s.get(..7)?;
    if !head.eq_ignore_ascii_case("explain") {
        return None;
    }
    let mut rest = s[7..].trim_start();
    if rest.starts_with('(') {
        let close = rest.find(')')?;
        rest = rest[close + 1..].trim_start();
    }
    for word in ["analyze", "analyse", "verbose"] {
        if rest.len() >= word.len()
            && rest.is_char_boundary(word.len())
            && rest[..word.len()].eq_ignore_ascii_case(word)
            && rest[word.len()..].starts_with(char::is_whitespace)
        {
            rest = rest[word.len()..].trim_start();
        }
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(input: &str) -> Vec<String> {
        match unwrap(input).remove(0).body {
            Body::Text(l) => l.into_iter().map(|(_, l)| l).collect(),
            b => panic!("not text: {b:?}"),
        }
    }

    const PLAIN: [&str; 4] = [
        "Sort  (cost=20.82..21.07 rows=100 width=8)",
        "  Sort Key: a",
        "  ->  Seq Scan on t  (cost=0.00..17.50 rows=100 width=8)",
        "        Filter: (b = 1)",
    ];

    #[test]
    fn psql_tables_in_every_border_and_linestyle() {
        let bordered = [
            "┌──────────────────────────────────────────────────────────┐",
            "│                        QUERY PLAN                        │",
            "├──────────────────────────────────────────────────────────┤",
            "│ Sort  (cost=20.82..21.07 rows=100 width=8)               │",
            "│   Sort Key: a                                            │",
            "│   ->  Seq Scan on t  (cost=0.00..17.50 rows=100 width=8) │",
            "│         Filter: (b = 1)                                  │",
            "└──────────────────────────────────────────────────────────┘",
            "(4 rows)",
        ]
        .join("\n");
        assert_eq!(text(&bordered), PLAIN);
        let ascii = bordered
            .replace(['┌', '┐', '└', '┘', '├', '┤'], "+")
            .replace('─', "-")
            .replace('│', "|");
        assert_eq!(text(&ascii), PLAIN);
        let unaligned = format!("QUERY PLAN\n{}\n(4 rows)\n", PLAIN.join("\n"));
        assert_eq!(text(&unaligned), PLAIN);
        let expanded: String = PLAIN
            .iter()
            .enumerate()
            .map(|(i, l)| format!("-[ RECORD {} ]------------\nQUERY PLAN | {l}\n", i + 1))
            .collect();
        assert_eq!(text(&expanded), PLAIN);
    }

    #[test]
    fn indents_of_multibyte_spaces_cut_on_character_boundaries() {
        // The root is indented by two ASCII spaces, a property by an ideographic space (3 bytes).
        let input = "  Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)\n\u{3000}Filter: (a = 1)\n";
        let _ = unwrap(input);
        let _ = crate::plan::parse(input);
        let input = "\u{3000}Seq Scan on t  (cost=0.00..1.00 rows=1 width=4)\n  Filter: (a = 1)\n";
        let _ = crate::plan::parse(input);
    }

    #[test]
    fn gui_copies() {
        let quoted: String = std::iter::once("\"QUERY PLAN\"".to_string())
            .chain(
                PLAIN
                    .iter()
                    .map(|l| format!("\"{}\"", l.replace('"', "\"\""))),
            )
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(text(&quoted), PLAIN);
        let piped: String = PLAIN.iter().map(|l| format!("{l}  |\n")).collect();
        assert_eq!(text(&piped), PLAIN);
    }

    #[test]
    fn a_statement_and_prompt_before_the_plan() {
        let input = format!(
            "shop=# EXPLAIN (ANALYZE, BUFFERS)\nshop-# SELECT * FROM t WHERE b = 1 ORDER BY a;\n                QUERY PLAN\n-----------------\n {}\n(4 rows)\n\nshop=# ",
            PLAIN.join("\n ")
        );
        let e = unwrap(&input).remove(0);
        assert_eq!(
            e.query_text.as_deref(),
            Some("SELECT * FROM t WHERE b = 1 ORDER BY a")
        );
        match e.body {
            Body::Text(l) => assert_eq!(l[0].1, PLAIN[0]),
            b => panic!("{b:?}"),
        }
    }

    #[test]
    fn auto_explain_entries_from_a_stderr_log() {
        let log = "2026-12-02 12:07:47.295 UTC [5918] LOG:  duration: 0.131 ms  plan:\n\tQuery Text: SELECT count(*)\n\t  FROM t WHERE b=1;\n\tAggregate  (cost=17.75..17.76 rows=1 width=8) (actual time=0.121..0.122 rows=1 loops=1)\n\t  ->  Seq Scan on t  (cost=0.00..17.50 rows=100 width=0) (actual time=0.021..0.111 rows=100 loops=1)\n2026-12-02 12:07:47.296 UTC [5918] LOG:  duration: 0.104 ms  plan:\n\t{\n\t  \"Query Text\": \"SELECT 1\",\n\t  \"Plan\": {\"Node Type\": \"Result\"}\n\t}\n2026-12-02 12:07:48.000 UTC [5918] LOG:  checkpoint starting: time\n";
        let entries = unwrap(log);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].duration_ms, Some(0.131));
        assert_eq!(
            entries[0].query_text.as_deref(),
            Some("SELECT count(*)\n  FROM t WHERE b=1;")
        );
        match &entries[0].body {
            Body::Text(l) => {
                assert!(l[0].1.starts_with("Aggregate"));
                assert_eq!(l.len(), 2);
            }
            b => panic!("{b:?}"),
        }
        assert!(matches!(&entries[1].body, Body::Json(j) if j.trim_end().ends_with('}')));
    }

    #[test]
    fn json_with_unicode_marks_and_a_prompt_after() {
        let input = " [                 ↵\n   {\"Plan\": {}}  ↵\n ]\n(1 row)\n\ndb=# \\q\n";
        // The body runs to the end; the JSON reader stops at the end of the first value.
        match unwrap(input).remove(0).body {
            Body::Json(j) => {
                let end = super::super::json::first_value(&j).1.unwrap();
                assert_eq!(
                    j[..end].lines().map(str::trim).collect::<Vec<_>>(),
                    ["[", "{\"Plan\": {}}", "]"]
                );
            }
            b => panic!("{b:?}"),
        }
        let e = crate::plan::parse(input).unwrap_err().to_string();
        assert!(e.contains("no \"Node Type\""), "{e}");
    }
}
