//! Reading `EXPLAIN (FORMAT YAML)`: the block style PostgreSQL writes (`Key: value` maps,
//! `- ` sequence items, strings in double quotes with JSON's escapes, numbers and booleans bare),
//! turned into the tokens of the JSON PostgreSQL's FORMAT JSON would have written, read straight
//! into the typed plan (or, when they do not fit it, their JSON text by the JSON reader).
//! Not a general YAML reader: flow style, anchors and block scalars are not PostgreSQL's and are
//! reported as errors.

use super::scan::{find, Trim};
use super::tokens::{Builder, Token, Tokens};
use super::PlanError;
use serde_json::Value;

/// Nesting deeper than this is refused (two levels per plan level: the map and `Plans`).
const MAX_DEPTH: usize = 2 * super::json::MAX_DEPTH + 16;

struct Line<'a> {
    no: usize,
    indent: usize,
    text: &'a str,
}

/// Plans from EXPLAIN YAML: the tokens read straight into the typed plan, or, when they do not
/// fit it, their JSON text read by the JSON reader (which takes what the typed one cannot).
pub(crate) fn parse(input: &str) -> Result<Vec<super::Plan>, PlanError> {
    let lines = lines(input);
    // The reader recurses per level of indentation: a deep plan is read on a large stack, a
    // shallow one here (a fresh thread costs page faults on every read).
    let deep = lines.iter().any(|l| l.indent > 256);
    let read = || {
        let t = tokens_of(input, &lines)?;
        let p = super::tokens::typed(&t);
        Ok::<_, PlanError>((t, p))
    };
    let (tokens, plans) = if deep {
        super::with_large_stack(read)?
    } else {
        read()?
    };
    match plans {
        Some(plans) => Ok(plans),
        None => super::json::parse(&super::tokens::to_json_text(&tokens, input.len())),
    }
}

/// Parse EXPLAIN YAML into a JSON value (tests and fuzzing).
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
    Ok(super::tokens::to_json_text(&tokens(input)?, input.len()))
}

/// EXPLAIN YAML as the tokens of its JSON shape. Recursive per nesting level: run it on a large
/// stack for deep plans.
pub(crate) fn tokens(input: &str) -> Result<Tokens<'_>, PlanError> {
    tokens_of(input, &lines(input))
}

/// The lines that are not blank, with their indentation.
fn lines(input: &str) -> Vec<Line<'_>> {
    input
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
        .collect()
}

fn tokens_of<'a>(input: &'a str, lines: &[Line<'a>]) -> Result<Tokens<'a>, PlanError> {
    let Some(first) = lines.first() else {
        return Err(PlanError::Empty("the YAML plan is empty".to_string()));
    };
    let mut p = Parser {
        lines,
        i: 0,
        out: Builder::new(input, 2 * lines.len() + 2)
            .ok_or_else(|| PlanError::Empty("a YAML plan over 4 GiB is not read".to_string()))?,
    };
    p.block(first.indent, 0)?;
    if let Some(l) = lines.get(p.i) {
        return Err(err(l.no, "unexpected indentation"));
    }
    Ok(p.out.finish())
}

fn err(line: usize, message: &str) -> PlanError {
    PlanError::Text {
        line,
        message: format!("EXPLAIN YAML: {message}"),
    }
}

struct Parser<'l, 'a> {
    lines: &'l [Line<'a>],
    i: usize,
    out: Builder<'a>,
}

impl<'a> Parser<'_, 'a> {
    /// A block at `indent`: a sequence when its first line starts with `-`, else a map.
    fn block(&mut self, indent: usize, depth: usize) -> Result<(), PlanError> {
        let Some(l) = self.lines.get(self.i) else {
            self.out.push(Token::Null);
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
        self.out.reached(depth + 1);
        self.out.push(Token::Array);
        while let Some(l) = self.lines.get(self.i) {
            if l.indent != indent || !(l.text == "-" || l.text.starts_with("- ")) {
                break;
            }
            let rest = l.text[1..].trim_start();
            if rest.is_empty() {
                self.i += 1;
                let next = self.lines.get(self.i).map_or(0, |n| n.indent);
                if next > indent {
                    self.block(next, depth + 1)?;
                } else {
                    self.out.push(Token::Null);
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
        self.out.push(Token::End);
        Ok(())
    }

    /// A map at `indent`; `first` is its first `Key: value` when it sat after a `- `.
    fn map(
        &mut self,
        indent: usize,
        mut first: Option<&'a str>,
        depth: usize,
    ) -> Result<(), PlanError> {
        self.out.reached(depth + 1);
        self.out.push(Token::Object);
        while let Some(l) = self.lines.get(self.i) {
            let text = match first.take() {
                Some(t) => t,
                None if l.indent == indent => l.text,
                None => break,
            };
            let no = l.no;
            let (k, v) = key_value(text).ok_or_else(|| err(no, "expected `Key: value`"))?;
            self.out.key(k, 0, |k, _, out| out.push_str(k));
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
                    _ => {
                        self.out.push(Token::Array);
                        self.out.push(Token::End);
                    }
                }
            } else {
                scalar(&mut self.out, v, no)?;
            }
        }
        self.out.push(Token::End);
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
fn scalar(out: &mut Builder<'_>, v: &str, line: usize) -> Result<(), PlanError> {
    if v.starts_with('"') {
        if !super::json::is_string_literal(v) {
            return Err(err(line, "a quoted string that does not end"));
        }
        out.quoted(v);
        return Ok(());
    }
    if v.starts_with(['[', '{', '&', '*', '|', '>']) {
        return Err(err(
            line,
            "YAML flow style, anchors and block scalars are not EXPLAIN's",
        ));
    }
    out.scalar(v);
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
    fn what_the_typed_plan_cannot_take_goes_to_the_generic_reader() {
        // A table named 2024 reads as a number: the typed plan refuses it, the generic reader
        // turns it back into the name; empty values read as nothing.
        let y = "- Plan: \n    Node Type: \"Seq Scan\"\n    Relation Name: 2024\n    Alias: \n    Total Cost: 1.5\n";
        let p = parse(y).unwrap();
        assert_eq!(p[0].root.relation_name.as_deref(), Some("2024"));
        assert_eq!(p[0].root.total_cost, Some(1.5));
        let x = "<explain><Query><Plan><Node-Type>Seq Scan</Node-Type><Relation-Name>2024</Relation-Name>\
                 <Total-Cost>1.5</Total-Cost></Plan></Query></explain>";
        let p = super::super::xml::parse(x).unwrap();
        assert_eq!(p[0].root.relation_name.as_deref(), Some("2024"));
    }

    #[test]
    fn bad_yaml_is_an_error_with_a_line() {
        let e = to_json("- Plan: \n    Node Type: \"Sort\n").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        let e = to_json("- Plan: \n    Node Type: \"Sort\"\n  oops\n").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
    }
}
