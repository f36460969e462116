//! Reading `EXPLAIN (FORMAT XML)`: elements named after the JSON keys with `-` for spaces
//! (`<Node-Type>`, `<Rows-Removed-by-Filter>`), lists as `<Plans><Plan>…`, `<Sort-Key><Item>…`,
//! turned into the same JSON value the JSON reader takes. The reader covers what PostgreSQL
//! writes (elements, text, the five entities and character references, an XML declaration,
//! comments, attributes it ignores) and works without recursion, so nesting costs no stack.

use super::PlanError;
use serde_json::{Map, Value};

/// Elements nested deeper than this are refused.
const MAX_DEPTH: usize = 2 * super::json::MAX_DEPTH + 16;

struct Open {
    name: String,
    children: Vec<(String, Value)>,
    text: String,
}

/// Parse EXPLAIN XML into a JSON value (an array of `{ "Plan": … }` objects).
pub(crate) fn to_json(input: &str) -> Result<Value, PlanError> {
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Value> = None;
    let mut rest = input;
    // Line numbers are counted only for an error (counting for every tag is quadratic).
    let pos = |rest: &str| input.len() - rest.len();
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            if let Some(top) = stack.last_mut() {
                top.text.push_str(rest);
            }
            break;
        };
        if let Some(top) = stack.last_mut() {
            top.text.push_str(&rest[..lt]);
        } else if !rest[..lt].trim().is_empty() && root.is_none() {
            return Err(err(
                line_of(input, pos(rest)),
                "text before the first element",
            ));
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
        let gt = rest.find('>').ok_or_else(|| {
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
            if open.name != name.trim() {
                return Err(err(
                    line_of(input, at),
                    &format!("</{}> closes <{}>", name.trim(), open.name),
                ));
            }
            let value = close(open.children, open.text, &open.name)
                .map_err(|m| err(line_of(input, at), &m))?;
            match stack.last_mut() {
                Some(parent) => parent.children.push((open.name, value)),
                None => {
                    root = Some(value);
                }
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let name = tag
            .trim_end_matches('/')
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_string();
        if name.is_empty() || name.starts_with('!') {
            return Err(err(line_of(input, at), "expected an element"));
        }
        if root.is_some() {
            return Err(err(line_of(input, at), "a second top-level element"));
        }
        if self_closing {
            let value =
                close(Vec::new(), String::new(), &name).map_err(|m| err(line_of(input, at), &m))?;
            match stack.last_mut() {
                Some(parent) => parent.children.push((name, value)),
                None => root = Some(value),
            }
            continue;
        }
        if stack.len() >= MAX_DEPTH {
            return Err(err(line_of(input, at), "nested too deeply"));
        }
        stack.push(Open {
            name,
            children: Vec::new(),
            text: String::new(),
        });
    }
    if let Some(open) = stack.last() {
        return Err(err(
            line_of(input, input.len()),
            &format!("<{}> is never closed (truncated input?)", open.name),
        ));
    }
    root.ok_or_else(|| PlanError::Empty("no XML element in the input".to_string()))
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
/// `I-O-Read-Time` → `I/O Read Time`.
fn key(name: &str) -> String {
    let k = name.replace('-', " ").replace("I O ", "I/O ");
    match k.as_str() {
        "One Time Filter" => "One-Time Filter".to_string(),
        _ => k,
    }
}

/// The JSON key of the `seen`-th (0-based) child element named `name`, for the groups XML names
/// by type where JSON names them by label: an Incremental Sort's `Incremental-Sort-Groups` are
/// the full-sort groups, then the pre-sorted ones; their `Sort-Space` is the memory space, then
/// the disk space. (A group that printed one space only reads as memory: the XML does not say.)
fn repeated_key(name: &str, seen: usize) -> String {
    match (name, seen) {
        ("Incremental-Sort-Groups", 0) => "Full-sort Groups".to_string(),
        ("Incremental-Sort-Groups", _) => "Pre-sorted Groups".to_string(),
        ("Sort-Space", 0) => "Sort Space Memory".to_string(),
        ("Sort-Space", _) => "Sort Space Disk".to_string(),
        _ => key(name),
    }
}

/// The value of a closed element: text for a leaf, a list for `<explain>`, `<Plans>`,
/// `<Triggers>` and lists of `<Item>`, else an object.
fn close(children: Vec<(String, Value)>, text: String, name: &str) -> Result<Value, String> {
    let list = matches!(name, "explain" | "Plans" | "Triggers" | "Workers")
        || (!children.is_empty() && children.iter().all(|(n, _)| n == "Item"));
    if list {
        return Ok(Value::Array(children.into_iter().map(|(_, v)| v).collect()));
    }
    if children.is_empty() {
        return unescape(&text).map(|t| super::json::scalar_value(&t));
    }
    let mut m = Map::new();
    let (mut groups, mut spaces) = (0, 0);
    for (n, v) in children {
        let count = match n.as_str() {
            "Incremental-Sort-Groups" => &mut groups,
            "Sort-Space" => &mut spaces,
            _ => {
                m.insert(key(&n), v);
                continue;
            }
        };
        *count += 1;
        m.insert(repeated_key(&n, *count - 1), v);
    }
    Ok(Value::Object(m))
}

fn unescape(s: &str) -> Result<String, String> {
    if !s.contains('&') {
        return Ok(s.to_string());
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
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
