//! Reading `EXPLAIN (FORMAT XML)`: elements named after the JSON keys with `-` for spaces
//! (`<Node-Type>`, `<Rows-Removed-by-Filter>`), lists as `<Plans><Plan>…`, `<Sort-Key><Item>…`,
//! turned into the same JSON value the JSON reader takes. The reader covers what PostgreSQL
//! writes (elements, text, the five entities and character references, an XML declaration,
//! comments, attributes it ignores) and works without recursion, so nesting costs no stack.

use super::scan::{find, Trim};
use super::tokens::{Builder, Token, Tokens};
use super::PlanError;
use serde_json::Value;
use std::borrow::Cow;

/// Elements nested deeper than this are refused.
const MAX_DEPTH: usize = 2 * super::json::MAX_DEPTH + 16;

/// An element being read: its name, what its value turned out to be, where its text starts,
/// and how many of the repeated groups it has seen.
struct Open<'a> {
    name: &'a str,
    kind: Kind,
    /// The text of a leaf so far (pieces around a comment are joined).
    text: Cow<'a, str>,
    groups: usize,
    spaces: usize,
}

/// What an element's value is, known at its first child (or its end).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No child yet: a leaf when it ends so.
    Unknown,
    /// `{…}` written.
    Object,
    /// `[…]` written.
    Array,
}

/// Elements whose children are list items: `<Plans><Plan>…`, `<Triggers><Trigger>…`.
fn is_list(name: &str) -> bool {
    matches!(name, "explain" | "Plans" | "Triggers" | "Workers")
}

/// Plans from EXPLAIN XML: the tokens read straight into the typed plan, or, when they do not
/// fit it, their JSON text read by the JSON reader (which takes what the typed one cannot).
pub(crate) fn parse(input: &str) -> Result<Vec<super::Plan>, PlanError> {
    let tokens = tokens(input)?;
    match super::tokens::typed(&tokens) {
        Some(plans) => Ok(plans),
        None => super::json::parse(&super::tokens::to_json_text(&tokens, input.len())),
    }
}

/// Parse EXPLAIN XML into a JSON value (an array of `{ "Plan": … }` objects), for tests and
/// fuzzing.
pub(crate) fn to_json(input: &str) -> Result<Value, PlanError> {
    let text = to_json_text(input)?;
    let mut de = serde_json::Deserializer::from_str(&text);
    de.disable_recursion_limit();
    let v = super::with_large_stack(|| serde::Deserialize::deserialize(&mut de));
    v.map_err(|e| err(1, &format!("the plan does not convert: {e}")))
}

/// Turn EXPLAIN XML into the JSON text PostgreSQL's FORMAT JSON would have written.
pub(crate) fn to_json_text(input: &str) -> Result<String, PlanError> {
    Ok(super::tokens::to_json_text(&tokens(input)?, input.len()))
}

/// EXPLAIN XML as the tokens of its JSON shape, in one pass without building a tree (a 7 MB plan
/// would otherwise be a million small allocations); text is borrowed unless it had entities.
pub(crate) fn tokens(input: &str) -> Result<Tokens<'_>, PlanError> {
    // About one token per 20 bytes of PostgreSQL's XML.
    let mut out = Builder::new(input, input.len() / 16)
        .ok_or_else(|| PlanError::Empty("an XML plan over 4 GiB is not read".to_string()))?;
    let mut stack: Vec<Open> = Vec::new();
    let mut done = false;
    let mut rest = input;
    // Line numbers are counted only for an error (counting for every tag is quadratic).
    let pos = |rest: &str| input.len() - rest.len();
    while !rest.is_empty() {
        let Some(lt) = find(rest, "<") else {
            push_text(&mut stack, rest);
            break;
        };
        if stack.is_empty() {
            if !rest[..lt].ws().is_empty() && !done {
                return Err(err(
                    line_of(input, pos(rest)),
                    "text before the first element",
                ));
            }
        } else {
            push_text(&mut stack, &rest[..lt]);
        }
        rest = &rest[lt..];
        if let Some(r) = rest.strip_prefix("<?") {
            rest = skip_past(r, "?>")
                .ok_or_else(|| err(line_of(input, pos(rest)), "unterminated <?"))?;
            continue;
        }
        if let Some(r) = rest.strip_prefix("<!--") {
            rest = skip_past(r, "-->")
                .ok_or_else(|| err(line_of(input, pos(rest)), "unterminated comment"))?;
            continue;
        }
        let gt = find(rest, ">").ok_or_else(|| {
            err(
                line_of(input, pos(rest)),
                "a tag that does not end (truncated input?)",
            )
        })?;
        let tag = &rest[1..gt];
        let at = pos(rest);
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .ok_or_else(|| err(line_of(input, at), "a closing tag with nothing open"))?;
            let name = name.ws();
            if open.name != name {
                return Err(err(
                    line_of(input, at),
                    &format!("</{name}> closes <{}>", open.name),
                ));
            }
            close(&mut out, open).map_err(|m| err(line_of(input, at), &m))?;
            done = stack.is_empty();
            continue;
        }
        let self_closing = tag.ends_with('/');
        // The name ends at whitespace (attributes follow) or the `/` of `<a/>`.
        let name = tag.trim_end_matches('/');
        let name = match name.bytes().position(|b| b.is_ascii_whitespace()) {
            Some(i) => &name[..i],
            None => name,
        };
        if name.is_empty() || name.starts_with('!') {
            return Err(err(line_of(input, at), "expected an element"));
        }
        if done {
            return Err(err(line_of(input, at), "a second top-level element"));
        }
        if let Some(parent) = stack.last_mut() {
            if parent.kind == Kind::Unknown {
                parent.kind = if is_list(parent.name) || name == "Item" {
                    out.push(Token::Array);
                    Kind::Array
                } else {
                    out.push(Token::Object);
                    Kind::Object
                };
            }
            if parent.kind == Kind::Object {
                let seen = match name {
                    "Incremental-Sort-Groups" => {
                        parent.groups += 1;
                        parent.groups - 1
                    }
                    "Sort-Space" => {
                        parent.spaces += 1;
                        parent.spaces - 1
                    }
                    _ => 0,
                };
                let seen = seen.min(1) as u8;
                out.key(name, seen, |n, s, k| json_key(n, s.into(), k));
            }
        }
        if stack.len() >= MAX_DEPTH {
            return Err(err(line_of(input, at), "nested too deeply"));
        }
        let open = Open {
            name,
            kind: Kind::Unknown,
            text: Cow::Borrowed(""),
            groups: 0,
            spaces: 0,
        };
        if self_closing {
            close(&mut out, open).map_err(|m| err(line_of(input, at), &m))?;
            done = stack.is_empty();
        } else {
            stack.push(open);
            out.reached(stack.len());
        }
    }
    if let Some(open) = stack.last() {
        return Err(err(
            line_of(input, input.len()),
            &format!("<{}> is never closed (truncated input?)", open.name),
        ));
    }
    if !done {
        return Err(PlanError::Empty("no XML element in the input".to_string()));
    }
    Ok(out.finish())
}

/// Text inside the innermost open element (a leaf's value; whitespace between children).
fn push_text<'a>(stack: &mut [Open<'a>], piece: &'a str) {
    let Some(top) = stack.last_mut() else { return };
    if top.kind != Kind::Unknown || piece.is_empty() {
        return;
    }
    if top.text.is_empty() {
        top.text = Cow::Borrowed(piece);
    } else {
        top.text.to_mut().push_str(piece);
    }
}

/// The end of an element's value: the end of its children; for a leaf its text, a bare scalar
/// (an empty list element is `[]`).
fn close(out: &mut Builder<'_>, open: Open<'_>) -> Result<(), String> {
    match open.kind {
        Kind::Object | Kind::Array => out.push(Token::End),
        Kind::Unknown if is_list(open.name) => {
            out.push(Token::Array);
            out.push(Token::End);
        }
        Kind::Unknown => out.scalar(&unescape(&open.text)?),
    }
    Ok(())
}

fn skip_past<'a>(s: &'a str, end: &str) -> Option<&'a str> {
    s.find(end).map(|i| &s[i + end.len()..])
}

fn line_of(input: &str, byte: usize) -> usize {
    // `byte` is an offset into `input`.
    input.as_bytes()[..byte.min(input.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn err(line: usize, message: &str) -> PlanError {
    PlanError::Text {
        line,
        message: format!("EXPLAIN XML: {message}"),
    }
}

/// The JSON key of an element: `Rows-Removed-by-Filter` → `Rows Removed by Filter`,
/// `Shared-I-O-Read-Time` → `Shared I/O Read Time`, `One-Time-Filter` → `One-Time Filter`.
fn key(name: &str, out: &mut String) {
    if name == "One-Time-Filter" {
        out.push_str("One-Time Filter");
        return;
    }
    if !name.contains('-') {
        out.push_str(name);
        return;
    }
    // Word by word: `I-O` is `I/O`.
    let mut words = name.split('-').peekable();
    let mut first = true;
    while let Some(w) = words.next() {
        if !first {
            out.push(' ');
        }
        first = false;
        if w == "I" && words.peek() == Some(&"O") {
            words.next();
            out.push_str("I/O");
        } else {
            out.push_str(w);
        }
    }
}

/// The JSON key of the `seen`-th (0-based) child element named `name` (see [`repeated_key`]),
/// appended to `out`; names of letters, digits and dashes (all PostgreSQL writes) are copied
/// straight, dashes as spaces.
pub(crate) fn json_key(name: &str, seen: usize, out: &mut String) {
    let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && find(name, "I-O").is_none()
        && !matches!(
            name,
            "One-Time-Filter" | "Incremental-Sort-Groups" | "Sort-Space"
        );
    if !plain {
        return repeated_key(name, seen, out);
    }
    let mut rest = name;
    while let Some(i) = rest.bytes().position(|b| b == b'-') {
        out.push_str(&rest[..i]);
        out.push(' ');
        rest = &rest[i + 1..];
    }
    out.push_str(rest);
}

/// The JSON key of the `seen`-th (0-based) child element named `name`, for the groups XML names
/// by type where JSON names them by label: an Incremental Sort's `Incremental-Sort-Groups` are
/// the full-sort groups, then the pre-sorted ones; their `Sort-Space` is the memory space, then
/// the disk space. (A group that printed one space only reads as memory: the XML does not say.)
fn repeated_key(name: &str, seen: usize, out: &mut String) {
    out.push_str(match (name, seen) {
        ("Incremental-Sort-Groups", 0) => "Full-sort Groups",
        ("Incremental-Sort-Groups", _) => "Pre-sorted Groups",
        ("Sort-Space", 0) => "Sort Space Memory",
        ("Sort-Space", _) => "Sort Space Disk",
        _ => return key(name, out),
    });
}

fn unescape(s: &str) -> Result<Cow<'_, str>, String> {
    if !s.contains('&') {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let semi = rest[i..]
            .find(';')
            .ok_or_else(|| "an entity without ';'".to_string())?;
        let ent = &rest[i + 1..i + semi];
        let c = match ent {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = if let Some(h) = ent.strip_prefix("#x") {
                    u32::from_str_radix(h, 16).ok()
                } else {
                    ent.strip_prefix('#').and_then(|d| d.parse().ok())
                };
                code.and_then(char::from_u32)
                    .ok_or_else(|| format!("unknown entity &{};", super::text::truncate(ent, 20)))?
            }
        };
        out.push(c);
        rest = &rest[i + semi + 1..];
    }
    out.push_str(rest);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_and_text_make_valid_json() {
        let x = "<explain><Query><Node\"\\x>a\"b\\c\u{1}\n&lt;é</Node\"\\x><Plans/><N>007</N><M>1e400</M></Query></explain>";
        let t = to_json_text(x).unwrap();
        let v: Value = serde_json::from_str(&t).unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(v[0]["Node\"\\x"], "a\"b\\c\u{1}\n<é");
        assert_eq!(v[0]["Plans"], Value::Array(vec![]));
        assert_eq!(v[0]["N"], 7);
        assert_eq!(v[0]["M"], "1e400", "not a finite number: kept as text");
    }

    #[test]
    fn postgresql_xml() {
        let x = r#"<explain xmlns="http://www.postgresql.org/2009/explain">
  <Query>
    <Plan>
      <Node-Type>Sort</Node-Type>
      <Parallel-Aware>false</Parallel-Aware>
      <Total-Cost>21.07</Total-Cost>
      <Sort-Key>
        <Item>a</Item>
        <Item>b &lt; &quot;c&quot; &#233;</Item>
      </Sort-Key>
      <Plans>
        <Plan>
          <Node-Type>Seq Scan</Node-Type>
          <Rows-Removed-by-Filter>900</Rows-Removed-by-Filter>
          <I-O-Read-Time>1.5</I-O-Read-Time>
        </Plan>
      </Plans>
    </Plan>
    <Triggers>
    </Triggers>
    <Execution-Time>0.242</Execution-Time>
  </Query>
</explain>"#;
        let v = to_json(x).unwrap();
        let q = &v[0];
        assert_eq!(q["Plan"]["Node Type"], "Sort");
        assert_eq!(q["Plan"]["Parallel Aware"], false);
        assert_eq!(q["Plan"]["Sort Key"][1], "b < \"c\" é");
        let scan = &q["Plan"]["Plans"][0];
        assert_eq!(scan["Rows Removed by Filter"], 900);
        assert_eq!(scan["I/O Read Time"], 1.5);
        assert_eq!(q["Triggers"], Value::Array(vec![]));
    }

    #[test]
    fn broken_xml_is_an_error_with_a_line() {
        for (x, want) in [
            ("<explain>\n<Query>\n<Plan>", "never closed"),
            ("<explain>\n</Query>", "closes"),
            (
                "<explain><Query><Plan><Node-Type>a &bogus; b",
                "never closed",
            ),
            ("<explain>\n<Query", "does not end"),
        ] {
            let e = to_json(x).unwrap_err().to_string();
            assert!(e.contains(want), "{x}: {e}");
        }
        let e = to_json("<explain><Query><Plan><Node-Type>a &bogus; b</Node-Type>")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown entity"), "{e}");
    }
}
