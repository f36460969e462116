//! What people paste instead of a bare plan, taken apart: psql's table in every setting
//! (`\pset linestyle ascii|unicode`, `\pset border 0|1|2`, `\x` expanded, `-A` unaligned, the
//! `QUERY PLAN` header, `+`/`↵` continuation marks, the `(N rows)` footer), copies from GUI clients
//! (lines in double quotes, a trailing `|` on every line), auto_explain entries from a server log
//! (`duration: … ms  plan:` with `Query Text:` and tab-indented continuation lines), and a
//! statement, comments or a psql prompt before the plan. What is left is one plan body per
//! entry, in the format it was written in.

use super::scan::{find, Trim};
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
    /// The text format: lines with their 1-based line numbers in the input, decorations removed
    /// (borrowed from the input unless a decoration had to be rewritten).
    Text(Vec<Line<'a>>),
}

/// A line of a text plan and its 1-based number in the input.
pub(crate) type Line<'a> = (usize, Cow<'a, str>);

/// Narrow a line to the part of it `f` returns (a subslice of its argument), without copying a
/// borrowed line.
pub(crate) fn narrow(l: &mut Cow<'_, str>, f: impl for<'s> FnOnce(&'s str) -> &'s str) {
    let s: &str = l;
    let t = f(s);
    let from = (t.as_ptr() as usize).wrapping_sub(s.as_ptr() as usize);
    if from > s.len() || s.len() - from < t.len() {
        // Not a subslice (a constant): take it as it is.
        *l = Cow::Owned(t.to_string());
        return;
    }
    let to = from + t.len();
    match l {
        Cow::Borrowed(b) => *b = &b[from..to],
        Cow::Owned(o) => {
            o.truncate(to);
            o.drain(..from);
        }
    }
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
    let t = input.ws_start();
    // psql marks every line of a multi-line cell, so the first lines tell.
    let mut cut = t.len().min(4096);
    while !t.is_char_boundary(cut) {
        cut -= 1;
    }
    let marked = t[..cut].lines().take(4).any(|l| {
        let l = l.ws_end();
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
    vec![body_of(undecorate(super::wrapped::join(&lines, is_rule)))]
}

/// auto_explain entries: a log line ending in `plan:` after `duration: … ms`, and the
/// continuation lines under it (a tab at the start, as the server writes them in stderr logs).
fn auto_explain<'a>(lines: &[(usize, &'a str)]) -> Vec<Entry<'a>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].1.ws_end();
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
            if !(l.starts_with('\t') || l.starts_with(' ') || l.ws().is_empty()) {
                break;
            }
            body.push((n, Cow::Borrowed(l.strip_prefix('\t').unwrap_or(l))));
            i += 1;
        }
        while body.last().is_some_and(|(_, l)| l.ws().is_empty()) {
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
    // `all` first: it stops at the first character of a plan line.
    !t.is_empty()
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
        && t.chars().any(|c| matches!(c, '-' | '─' | '═' | '━'))
}

/// The vertical rules of psql's tables.
pub(crate) fn is_frame(c: char) -> bool {
    matches!(c, '|' | '│' | '║')
}

/// `(3 rows)`, `(1 row)`.
fn is_footer(t: &str) -> bool {
    t.strip_prefix('(')
        .and_then(|r| r.strip_suffix(" rows)").or_else(|| r.strip_suffix(" row)")))
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

fn is_header(t: &str) -> bool {
    let t = t.ws();
    // Most lines are plan lines, ending in `)` or a value: rejected by their last byte.
    if !matches!(t.as_bytes().last(), Some(b'N' | b'|' | b'"' | 0x80..)) {
        return false;
    }
    let t = t.trim_matches(|c: char| is_frame(c) || c == '"').ws();
    t == "QUERY PLAN"
}

/// psql's table and GUI copies removed, lines numbered as in the input.
fn undecorate(lines: Vec<Line<'_>>) -> Vec<Line<'_>> {
    let aligned = lines.iter().take(8).any(|(_, l)| is_rule(l.ws()));
    // `-[ RECORD 1 ]---`, `+-[ RECORD 1 ]---+`, `┌─[ RECORD 1 ]───┐`: on a line of rules;
    // `* Record 1` with `\pset border 0`.
    let record = |l: &str| {
        let t = l.ws_start();
        (t.starts_with(['-', '+', '─', '┌', '├', '╔', '╠']) && find(t, "[ RECORD ").is_some())
            || t.starts_with("* Record ")
    };
    let expanded = lines.iter().any(|(_, l)| record(l));
    // Border 0 has no frame between the column name and the value: `QUERY PLAN value`, then
    // the value's further lines under it.
    let unframed = expanded && lines.iter().any(|(_, l)| l.starts_with("* Record "));
    const HEAD: &str = "QUERY PLAN ";
    let mut out: Vec<Line<'_>> = Vec::with_capacity(lines.len());
    for (n, mut l) in lines {
        let t = l.ws();
        if is_rule(t) || (expanded && record(t)) || is_footer(t) || is_header(t) {
            continue;
        }
        narrow(&mut l, |l| {
            let mut s = l.ws_end();
            // Border 2: `| … |` or `│ … │` around every line.
            let framed = s.ws_start().starts_with(is_frame) && s.ends_with(is_frame);
            if framed {
                let inner = s.ws_start();
                let inner = &inner[inner.chars().next().map_or(0, char::len_utf8)..];
                let inner = &inner[..inner.len() - inner.chars().last().map_or(0, char::len_utf8)];
                s = inner.strip_prefix(' ').unwrap_or(inner).ws_end();
            }
            // Expanded display: `QUERY PLAN | value`, then `           | value` for more lines.
            if unframed {
                s = s.strip_prefix(HEAD).unwrap_or_else(|| {
                    let blank = s
                        .bytes()
                        .take(HEAD.len())
                        .take_while(|&b| b == b' ')
                        .count();
                    &s[blank..]
                });
            } else if expanded {
                if let Some(i) = s.find(|c: char| is_frame(c)) {
                    let (head, rest) = s.split_at(i);
                    if head.ws().is_empty() || head.ws() == "QUERY PLAN" {
                        let rest = &rest[rest.chars().next().map_or(0, char::len_utf8)..];
                        s = rest.strip_prefix(' ').unwrap_or(rest);
                    }
                }
            }
            // Continuation marks of a multi-line cell.
            s = s.ws_end();
            if let Some(x) = s.strip_suffix('↵') {
                s = x.ws_end();
            } else if aligned || expanded {
                if let Some(x) = s.strip_suffix('+') {
                    s = x.ws_end();
                }
            }
            s
        });
        out.push((n, l));
    }
    if gui_copies(&mut out) {
        out.retain(|(_, l)| !is_header(l) && !is_footer(l.ws()));
    }
    strip_common_indent(out)
}

/// Copies from GUI clients: every line in double quotes (pgAdmin, CSV export) or every line
/// ending in `|` (DBeaver's text view). Whether it took any off.
fn gui_copies(lines: &mut [Line<'_>]) -> bool {
    let nonblank = || lines.iter().filter(|(_, l)| !l.ws().is_empty());
    let count = nonblank().count();
    if count == 0 {
        return false;
    }
    let quoted = nonblank().all(|(_, l)| {
        let t = l.ws();
        t.len() >= 2 && t.starts_with('"') && t.ends_with('"')
    });
    if quoted {
        for (_, l) in lines.iter_mut() {
            let t = l.ws();
            if t.len() >= 2 {
                if t.contains("\"\"") {
                    *l = Cow::Owned(t[1..t.len() - 1].replace("\"\"", "\""));
                } else {
                    narrow(l, |s| {
                        let t = s.ws();
                        &t[1..t.len() - 1]
                    });
                }
            }
        }
        return true;
    }
    let piped = nonblank().all(|(_, l)| l.ends_with('|') && !l.ws_start().starts_with('|'));
    if piped {
        for (_, l) in lines.iter_mut() {
            narrow(l, |s| s.strip_suffix('|').map_or(s, |x: &str| x.ws_end()));
        }
    }
    piped
}

fn strip_common_indent(lines: Vec<Line<'_>>) -> Vec<Line<'_>> {
    let indent = |l: &str| l.len() - l.ws_start().len();
    let common = lines
        .iter()
        .filter_map(|(_, l)| Some(indent(l)).filter(|&i| i < l.len()))
        .min()
        .unwrap_or(0);
    let mut lines = lines;
    if common > 0 {
        for (_, l) in &mut lines {
            narrow(l, |s| &s[boundary(s, common.min(indent(s)))..]);
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
    let t = t.ws_start();
    let t = t.strip_prefix("->").unwrap_or(t).ws_start();
    t.starts_with(|c: char| c.is_ascii_uppercase())
        && t.match_indices('(').any(|(i, _)| {
            let r = &t[i + 1..];
            t[..i].ends_with("  ")
                && (r.starts_with("cost=")
                    || r.starts_with("actual")
                    || r.starts_with("never executed"))
        })
}

/// Decide the format and drop what comes before the plan (a statement, comments, a prompt).
fn body_of(lines: Vec<Line<'_>>) -> Entry<'_> {
    let from = |i: usize| {
        let mut s = String::new();
        for (_, l) in &lines[i..] {
            s.push_str(l);
            s.push('\n');
        }
        s
    };
    let before = |i: usize| query_before(&lines[..i]);
    // One pass to the first line that starts a plan: XML, YAML, JSON or a text node.
    let mut yaml_checked = false;
    for (i, (_, l)) in lines.iter().enumerate() {
        let t = l.ws();
        if t.starts_with("<explain") || t.starts_with("<?xml") {
            return Entry {
                duration_ms: None,
                query_text: before(i),
                body: Body::Xml(Cow::Owned(from(i))),
            };
        }
        if !yaml_checked && (t == "- Plan:" || t == "Plan:" || t.starts_with("Query Text: \"")) {
            yaml_checked = true;
            if lines
                .iter()
                .any(|(_, l)| l.ws_start().starts_with("Node Type: "))
            {
                return Entry {
                    duration_ms: None,
                    query_text: before(i),
                    body: Body::Yaml(Cow::Owned(from(i))),
                };
            }
        }
        if t.starts_with('[') || t.starts_with('{') {
            return Entry {
                duration_ms: None,
                query_text: before(i),
                body: Body::Json(Cow::Owned(from(i))),
            };
        }
        if is_node_line(l) {
            break;
        }
    }
    let (query_text, lines) = match lines.iter().position(|(_, l)| is_node_line(l)) {
        Some(i) => {
            // The root is the least indented line of a plan: what is left of it is decoration
            // (psql's leading space), and a prompt after the plan does not count.
            let root = &lines[i].1;
            let cut = root.len() - root.ws_start().len();
            let query = query_before(&lines[..i]);
            let mut plan = lines;
            plan.drain(..i);
            if cut > 0 {
                for (_, l) in &mut plan {
                    narrow(l, |s| {
                        &s[boundary(s, cut.min(s.len() - s.ws_start().len()))..]
                    });
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
fn query_before(lines: &[Line<'_>]) -> Option<String> {
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
        let q = q.ws_end();
        return (!q.is_empty()).then(|| q.to_string());
    }
    let mut parts = Vec::new();
    for (_, l) in lines {
        let mut t = l.ws();
        if let Some(i) = t.find(|c: char| c.is_whitespace()) {
            let prompt = &t[..i];
            if prompt.ends_with("=#")
                || prompt.ends_with("=>")
                || prompt.ends_with("-#")
                || prompt.ends_with("->")
            {
                t = t[i..].ws_start();
            }
        }
        if t.is_empty() || t.starts_with("--") {
            continue;
        }
        parts.push(t);
    }
    let joined = parts.join("\n");
    let rest = strip_explain(&joined)?;
    let rest = rest.ws().trim_end_matches(';').ws();
    (!rest.is_empty()).then(|| rest.to_string())
}

/// `EXPLAIN (ANALYZE, BUFFERS) SELECT …` → `SELECT …`; `None` unless the text starts with EXPLAIN.
fn strip_explain(s: &str) -> Option<&str> {
    let head = s.get(..7)?;
    if !head.eq_ignore_ascii_case("explain") {
        return None;
    }
    let mut rest = s[7..].ws_start();
    if rest.starts_with('(') {
        let close = rest.find(')')?;
        rest = rest[close + 1..].ws_start();
    }
    for word in ["analyze", "analyse", "verbose"] {
        if rest.len() >= word.len()
            && rest.is_char_boundary(word.len())
            && rest[..word.len()].eq_ignore_ascii_case(word)
            && rest[word.len()..].starts_with(char::is_whitespace)
        {
            rest = rest[word.len()..].ws_start();
        }
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(input: &str) -> Vec<String> {
        match unwrap(input).remove(0).body {
            Body::Text(l) => l.into_iter().map(|(_, l)| l.into_owned()).collect(),
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
        // `\pset border 0`: no frame after the column name.
        let unframed: String = PLAIN
            .iter()
            .enumerate()
            .map(|(i, l)| format!("* Record {}   \nQUERY PLAN {l}\n", i + 1))
            .collect();
        assert_eq!(text(&unframed), PLAIN);
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
        assert!(matches!(&entries[1].body, Body::Json(j) if j.ws_end().ends_with('}')));
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
