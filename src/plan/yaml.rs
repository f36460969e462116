//! Reading `EXPLAIN (FORMAT YAML)`: the block style PostgreSQL writes (`Key: value` maps,
//! `- ` sequence items, strings in double quotes with JSON's escapes, numbers and booleans bare),
//! turned into the JSON text PostgreSQL's FORMAT JSON would have written, so both formats share
//! one plan reader (and its speed).
//! Not a general YAML reader: flow style, anchors and block scalars are not PostgreSQL's and are
//! reported as errors.

use super::scan::{find, Trim};
use super::PlanError;
use serde_json::Value;

/// Nesting deeper than this is refused (two levels per plan level: the map and `Plans`).
const MAX_DEPTH: usize = 2 * super::json::MAX_DEPTH + 16;

struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

/// Parse EXPLAIN YAML into a JSON value (tests and fuzzing; [`super::parse`] reads
/// [`to_json_text`] with the fast JSON reader).
pub(crate) fn to_json(input: &str) -> Result<Value, PlanError> {
    let text = super::with_large_stack(|| to_json_text(input))?;
    let mut de = serde_json::Deserializer::from_str(&text);
    de.disable_recursion_limit();
    let v = super::with_large_stack(|| serde::Deserialize::deserialize(&mut de));
    v.map_err(|e| err(1, &format!("the plan does not convert: {e}")))
}

/// Turn EXPLAIN YAML into JSON text (an array of `{ "Plan": … }` objects, or one object).
/// Recursive per nesting level: run it on a large stack for deep plans.
pub(crate) fn to_json_text(input: &str) -> Result<String, PlanError> {
    let lines: Vec<Line> = input
        .lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let text = l.ws();
            (!text.is_empty()).then(|| Line {
                no: i + 1,
                indent: l.bytes().take_while(|&b| b == b' ').count(),
                text,
            })
        })
        .collect();
    let Some(first) = lines.first() else {
        return Err(PlanError::Empty("the YAML plan is empty".to_string()));
    };
    let mut p = Parser {
        lines: &lines,
        i: 0,
        out: String::with_capacity(input.len()),
    };
    p.block(first.indent, 0)?;
    if let Some(l) = lines.get(p.i) {
        return Err(err(l.no, "unexpected indentation"));
    }
    Ok(p.out)
}

fn err(line: usize, message: &str) -> PlanError {
    PlanError::Text {
        line,
        message: format!("EXPLAIN YAML: {message}"),
    }
}

struct Parser<'a> {
    lines: &'a [Line<'a>],
    i: usize,
    out: String,
}

impl Parser<'_> {
    /// A block at `indent`: a sequence when its first line starts with `-`, else a map.
    fn block(&mut self, indent: usize, depth: usize) -> Result<(), PlanError> {
        let Some(l) = self.lines.get(self.i) else {
            self.out.push_str("null");
            return Ok(());
        };
        if depth > MAX_DEPTH {
            return Err(err(l.no, "nested too deeply"));
        }
        if l.text == "-" || l.text.starts_with("- ") {
            self.sequence(indent, depth)
        } else {
            self.map(indent, None, depth)
        }
    }

    fn sequence(&mut self, indent: usize, depth: usize) -> Result<(), PlanError> {
        self.out.push('[');
        let mut first = true;
        while let Some(l) = self.lines.get(self.i) {
            if l.indent != indent || !(l.text == "-" || l.text.starts_with("- ")) {
                break;
            }
            if !first {
                self.out.push(',');
            }
            first = false;
            let rest = l.text[1..].trim_start();
            if rest.is_empty() {
                self.i += 1;
                let next = self.lines.get(self.i).map_or(0, |n| n.indent);
                if next > indent {
                    self.block(next, depth + 1)?;
                } else {
                    self.out.push_str("null");
                }
            } else if key_value(rest).is_some() {
                // `- Key: value` opens a map whose keys sit two columns right of the dash.
                let item_indent = indent + (l.text.len() - rest.len());
                self.map(item_indent, Some(rest), depth + 1)?;
            } else {
                self.i += 1;
                scalar(&mut self.out, rest, l.no)?;
            }
        }
        self.out.push(']');
        Ok(())
    }

    /// A map at `indent`; `first` is its first `Key: value` when it sat after a `- `.
    fn map(
        &mut self,
        indent: usize,
        mut first: Option<&str>,
        depth: usize,
    ) -> Result<(), PlanError> {
        self.out.push('{');
        let mut empty = true;
        while let Some(l) = self.lines.get(self.i) {
            let text = match first.take() {
                Some(t) => t,
                None if l.indent == indent => l.text,
                None => break,
            };
            let no = l.no;
            let (k, v) = key_value(text).ok_or_else(|| err(no, "expected `Key: value`"))?;
            if !empty {
                self.out.push(',');
            }
            empty = false;
            super::json::write_string(&mut self.out, k);
            self.out.push(':');
            self.i += 1;
            if v.is_empty() {
                match self.lines.get(self.i) {
                    Some(n) if n.indent > indent => {
                        let ni = n.indent;
                        self.block(ni, depth + 1)?
                    }
                    // PostgreSQL writes sequences under a key indented, but YAML allows them level.
                    Some(n) if n.indent == indent && n.text.starts_with("- ") && depth > 0 => {
                        self.sequence(indent, depth + 1)?
                    }
                    _ => self.out.push_str("[]"),
                }
            } else {
                scalar(&mut self.out, v, no)?;
            }
        }
        self.out.push('}');
        Ok(())
    }
}

/// `Key: value` or `Key:` (value empty). Keys are PostgreSQL's words, never quoted.
fn key_value(t: &str) -> Option<(&str, &str)> {
    if t.starts_with('"') {
        return None;
    }
    if let Some(k) = t.strip_suffix(':') {
        return find(k, ": ").is_none().then_some((k, ""));
    }
    let i = find(t, ": ")?;
    Some((&t[..i], t[i + 2..].ws()))
}

/// A double-quoted string (JSON's escapes, as PostgreSQL writes them: copied as they are), a
/// number, a boolean, or a bare word (kept as a string).
fn scalar(out: &mut String, v: &str, line: usize) -> Result<(), PlanError> {
    if v.starts_with('"') {
        if !super::json::is_string_literal(v) {
            return Err(err(line, "a quoted string that does not end"));
        }
        out.push_str(v);
        return Ok(());
    }
    if v.starts_with(['[', '{', '&', '*', '|', '>']) {
        return Err(err(
            line,
            "YAML flow style, anchors and block scalars are not EXPLAIN's",
        ));
    }
    super::json::write_scalar(out, v);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgresql_yaml() {
        let y = "- Plan: \n    Node Type: \"Sort\"\n    Parallel Aware: false\n    Total Cost: 21.07\n    Sort Key: \n      - \"a\"\n      - \"b \\\"x\\\"\"\n    Plans: \n      - Node Type: \"Seq Scan\"\n        Relation Name: \"t\"\n        Filter: \"(b = 1)\"\n  Planning: \n    Shared Hit Blocks: 31\n  Triggers: \n  Execution Time: 0.314\n";
        let v = to_json(y).unwrap();
        let q = &v[0];
        assert_eq!(q["Plan"]["Node Type"], "Sort");
        assert_eq!(q["Plan"]["Parallel Aware"], false);
        assert_eq!(q["Plan"]["Total Cost"], 21.07);
        assert_eq!(q["Plan"]["Sort Key"][1], "b \"x\"");
        assert_eq!(q["Plan"]["Plans"][0]["Filter"], "(b = 1)");
        assert_eq!(q["Planning"]["Shared Hit Blocks"], 31.0);
        assert_eq!(q["Triggers"], Value::Array(vec![]));
        assert_eq!(q["Execution Time"], 0.314);
    }

    #[test]
    fn quoted_strings_are_checked_and_bare_words_escaped() {
        let y = "- Plan: \n    Node Type: \"Seq \\u00e9\\\"Scan\"\n    Alias: a\"b\\c\n    Plan Rows: 007\n";
        let t = to_json_text(y).unwrap();
        let v: Value = serde_json::from_str(&t).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(v[0]["Plan"]["Node Type"], "Seq é\"Scan");
        assert_eq!(v[0]["Plan"]["Alias"], "a\"b\\c");
        assert_eq!(v[0]["Plan"]["Plan Rows"], 7);
        for bad in ["\"a\\qb\"", "\"a\"b\"", "\"a\\u12\"", "\"tab\there\""] {
            let y = format!("- Plan: \n    Node Type: {bad}\n");
            let e = to_json_text(&y).unwrap_err().to_string();
            assert!(e.contains("line 2"), "{bad}: {e}");
        }
    }

    #[test]
    fn bad_yaml_is_an_error_with_a_line() {
        let e = to_json("- Plan: \n    Node Type: \"Sort\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = to_json("- Plan: \n    Node Type: \"Sort\"\n  oops\n").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
    }
}
