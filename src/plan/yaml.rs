//! Reading `EXPLAIN (FORMAT YAML)`: the block style PostgreSQL writes (`Key: value` maps,
//! `- ` sequence items, strings in double quotes with JSON's escapes, numbers and booleans bare),
//! turned into the same JSON value the JSON reader takes, so both formats share one plan builder.
//! Not a general YAML reader: flow style, anchors and block scalars are not PostgreSQL's and are
//! reported as errors.

use super::PlanError;
use serde_json::{Map, Value};

/// Nesting deeper than this is refused (two levels per plan level: the map and `Plans`).
const MAX_DEPTH: usize = 2 * super::json::MAX_DEPTH + 16;

struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

/// Parse EXPLAIN YAML into a JSON value (an array of `{ "Plan": … }` objects, or one object).
pub(crate) fn to_json(input: &str) -> Result<Value, PlanError> {
    let lines: Vec<Line> = input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| Line {
            no: i + 1,
            indent: l.len() - l.trim_start_matches(' ').len(),
            text: l.trim(),
        })
        .collect();
    let Some(first) = lines.first() else {
        return Err(PlanError::Empty("the YAML plan is empty".to_string()));
    };
    let mut p = Parser {
        lines: &lines,
        i: 0,
    };
    let v = p.block(first.indent, 0)?;
    if let Some(l) = lines.get(p.i) {
        return Err(err(l.no, "unexpected indentation"));
    }
    Ok(v)
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
}

impl Parser<'_> {
    /// A block at `indent`: a sequence when its first line starts with `-`, else a map.
    fn block(&mut self, indent: usize, depth: usize) -> Result<Value, PlanError> {
        let Some(l) = self.lines.get(self.i) else {
            return Ok(Value::Null);
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

    fn sequence(&mut self, indent: usize, depth: usize) -> Result<Value, PlanError> {
        let mut items = Vec::new();
        while let Some(l) = self.lines.get(self.i) {
            if l.indent != indent || !(l.text == "-" || l.text.starts_with("- ")) {
                break;
            }
            let rest = l.text[1..].trim_start();
            if rest.is_empty() {
                self.i += 1;
                let next = self.lines.get(self.i).map_or(0, |n| n.indent);
                items.push(if next > indent {
                    self.block(next, depth + 1)?
                } else {
                    Value::Null
                });
            } else if key_value(rest).is_some() {
                // `- Key: value` opens a map whose keys sit two columns right of the dash.
                let item_indent = indent + (l.text.len() - rest.len());
                items.push(self.map(item_indent, Some(rest), depth + 1)?);
            } else {
                self.i += 1;
                items.push(scalar(rest, l.no)?);
            }
        }
        Ok(Value::Array(items))
    }

    /// A map at `indent`; `first` is its first `Key: value` when it sat after a `- `.
    fn map(
        &mut self,
        indent: usize,
        mut first: Option<&str>,
        depth: usize,
    ) -> Result<Value, PlanError> {
        let mut m = Map::new();
        while let Some(l) = self.lines.get(self.i) {
            let text = match first.take() {
                Some(t) => t,
                None if l.indent == indent => l.text,
                None => break,
            };
            let no = l.no;
            let (k, v) = key_value(text).ok_or_else(|| err(no, "expected `Key: value`"))?;
            self.i += 1;
            let value = if v.is_empty() {
                match self.lines.get(self.i) {
                    Some(n) if n.indent > indent => {
                        let ni = n.indent;
                        self.block(ni, depth + 1)?
                    }
                    // PostgreSQL writes sequences under a key indented, but YAML allows them level.
                    Some(n) if n.indent == indent && n.text.starts_with("- ") && depth > 0 => {
                        self.sequence(indent, depth + 1)?
                    }
                    _ => Value::Array(Vec::new()),
                }
            } else {
                scalar(v, no)?
            };
            m.insert(k.to_string(), value);
        }
        Ok(Value::Object(m))
    }
}

/// `Key: value` or `Key:` (value empty). Keys are PostgreSQL's words, never quoted.
fn key_value(t: &str) -> Option<(&str, &str)> {
    if t.starts_with('"') {
        return None;
    }
    if let Some(k) = t.strip_suffix(':') {
        return (!k.contains(": ")).then_some((k, ""));
    }
    let (k, v) = t.split_once(": ")?;
    Some((k, v.trim()))
}

/// A double-quoted string (JSON's escapes, as PostgreSQL writes them), a number, a boolean, or a
/// bare word (kept as a string).
fn scalar(v: &str, line: usize) -> Result<Value, PlanError> {
    if v.starts_with('"') {
        return serde_json::from_str::<String>(v)
            .map(Value::String)
            .map_err(|_| err(line, "a quoted string that does not end"));
    }
    if v.starts_with(['[', '{', '&', '*', '|', '>']) {
        return Err(err(
            line,
            "YAML flow style, anchors and block scalars are not EXPLAIN's",
        ));
    }
    Ok(super::json::scalar_value(v))
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
    fn bad_yaml_is_an_error_with_a_line() {
        let e = to_json("- Plan: \n    Node Type: \"Sort\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = to_json("- Plan: \n    Node Type: \"Sort\"\n  oops\n").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
    }
}
