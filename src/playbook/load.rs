//! Reading a playbook file: TOML into the typed [`Playbook`], with every problem found before
//! anything runs (unknown step kinds and arguments, missing inputs, references to steps that
//! do not exist, come later or have no such field, unquoted values in SQL) and reported with
//! its line. All problems are reported at once.

use super::expr::{self, Expr, Filter, Reference, Root, Template};
use super::kinds::{self, ArgType};
use super::{Arg, ArgValue, Cond, Input, OnFailure, Playbook, Step};
use serde_json::Value;

/// Largest playbook file read, in bytes.
pub const MAX_FILE: usize = 1 << 20;

/// A playbook that cannot be used: every problem with its line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: {} problem(s):{}", problems.len(), problems.iter().map(|(l, m)| format!("\n  - {file}:{l}: {m}")).collect::<String>())]
pub struct LoadError {
    /// The file.
    pub file: String,
    /// `(line, message)`, in line order.
    pub problems: Vec<(usize, String)>,
}

/// A TOML value with the line it starts on.
#[derive(Debug, Clone)]
enum T {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Arr(Vec<(usize, T)>),
    Tab(Vec<(String, usize, T)>),
}

impl T {
    fn json(&self) -> Value {
        match self {
            T::Str(s) => Value::String(s.clone()),
            T::Int(i) => Value::from(*i),
            T::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            T::Bool(b) => Value::Bool(*b),
            T::Arr(a) => Value::Array(a.iter().map(|(_, t)| t.json()).collect()),
            T::Tab(t) => Value::Object(t.iter().map(|(k, _, v)| (k.clone(), v.json())).collect()),
        }
    }
    fn what(&self) -> &'static str {
        match self {
            T::Str(_) => "text",
            T::Int(_) | T::Float(_) => "a number",
            T::Bool(_) => "true/false",
            T::Arr(_) => "a list",
            T::Tab(_) => "a table",
        }
    }
}

struct Lines(Vec<usize>);

impl Lines {
    fn of(text: &str) -> Lines {
        Lines(
            std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
                .collect(),
        )
    }
    fn line(&self, span: Option<std::ops::Range<usize>>) -> usize {
        match span {
            Some(s) => self.0.partition_point(|&start| start <= s.start),
            None => 0,
        }
    }
}

fn value(v: &toml_edit::Value, lines: &Lines) -> T {
    use toml_edit::Value as V;
    match v {
        V::String(s) => T::Str(s.value().clone()),
        V::Integer(i) => T::Int(*i.value()),
        V::Float(f) => T::Float(*f.value()),
        V::Boolean(b) => T::Bool(*b.value()),
        V::Datetime(d) => T::Str(d.value().to_string()),
        V::Array(a) => T::Arr(
            a.iter()
                .map(|x| (lines.line(x.span()), value(x, lines)))
                .collect(),
        ),
        V::InlineTable(t) => T::Tab(
            t.iter()
                .map(|(k, x)| {
                    let line = lines.line(t.key(k).and_then(|k| k.span()).or(x.span()));
                    (k.to_string(), line, value(x, lines))
                })
                .collect(),
        ),
    }
}

fn table(t: &toml_edit::Table, lines: &Lines) -> Vec<(String, usize, T)> {
    t.iter()
        .map(|(k, item)| {
            let line = lines.line(t.key(k).and_then(|k| k.span()).or(item.span()));
            (k.to_string(), line, item_t(item, lines))
        })
        .collect()
}

fn item_t(item: &toml_edit::Item, lines: &Lines) -> T {
    use toml_edit::Item as I;
    match item {
        I::None => T::Tab(Vec::new()),
        I::Value(v) => value(v, lines),
        I::Table(t) => T::Tab(table(t, lines)),
        I::ArrayOfTables(a) => T::Arr(
            a.iter()
                .map(|t| (lines.line(t.span()), T::Tab(table(t, lines))))
                .collect(),
        ),
    }
}

/// Whether `name` can be used in references (`steps.NAME`, `inputs.NAME`).
pub fn is_name(name: &str) -> bool {
    let mut c = name.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
        && name.len() <= 63
}

struct Loader {
    problems: Vec<(usize, String)>,
}

impl Loader {
    fn bad(&mut self, line: usize, m: impl Into<String>) {
        self.problems.push((line, m.into()));
    }

    fn text(&mut self, line: usize, key: &str, t: &T) -> Option<String> {
        match t {
            T::Str(s) => Some(s.clone()),
            other => {
                self.bad(line, format!("`{key}` must be text, not {}", other.what()));
                None
            }
        }
    }

    fn arg_value(&mut self, line: usize, t: &T) -> ArgValue {
        match t {
            T::Str(s) => match Template::parse(s) {
                Ok(tpl) if tpl.exprs().next().is_some() => ArgValue::Tpl(tpl),
                Ok(_) => ArgValue::Lit(Value::String(s.replace("$${", "${"))),
                Err(e) => {
                    self.bad(line, format!("in {s:?}: {e}"));
                    ArgValue::Lit(Value::Null)
                }
            },
            T::Arr(a) => ArgValue::List(a.iter().map(|(l, x)| self.arg_value(*l, x)).collect()),
            T::Tab(t) => ArgValue::Table(
                t.iter()
                    .map(|(k, l, x)| (k.clone(), self.arg_value(*l, x)))
                    .collect(),
            ),
            other => ArgValue::Lit(other.json()),
        }
    }

    fn cond(&mut self, line: usize, key: &str, t: &T) -> Option<Cond> {
        let text = self.text(line, key, t)?;
        match expr::parse(&text) {
            Ok(e) => Some(Cond {
                text,
                expr: e,
                line,
            }),
            Err(e) => {
                self.bad(line, format!("`{key}` {text:?}: {e}"));
                None
            }
        }
    }

    fn inputs(&mut self, t: &T, line: usize) -> Vec<Input> {
        let T::Tab(entries) = t else {
            self.bad(line, "`inputs` must be a table of inputs ([inputs.NAME])");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, line, def) in entries {
            if !is_name(name) {
                self.bad(*line, format!("input name {name:?}: use letters, digits and _ (it is referenced as inputs.NAME)"));
                continue;
            }
            let T::Tab(fields) = def else {
                self.bad(
                    *line,
                    format!("input `{name}` must be a table: {{ type = \"string\", default = … }}"),
                );
                continue;
            };
            let mut input = Input {
                name: name.clone(),
                ty: ArgType::Str,
                default: None,
                description: String::new(),
                line: *line,
            };
            for (k, l, v) in fields {
                match k.as_str() {
                    "type" => {
                        if let Some(s) = self.text(*l, "type", v) {
                            match ArgType::parse(&s) {
                                Some(ty) => input.ty = ty,
                                None => self.bad(*l, format!("input `{name}`: unknown type {s:?} (string, int, number, bool, path, url, list or table)")),
                            }
                        }
                    }
                    "description" => input.description = self.text(*l, k, v).unwrap_or_default(),
                    "default" => input.default = Some((*l, v.json())).map(|(_, j)| j),
                    other => self.bad(
                        *l,
                        format!(
                            "input `{name}`: unknown key `{other}` (type, default, description)"
                        ),
                    ),
                }
            }
            if let Some(d) = &input.default {
                if !input.ty.accepts(d) {
                    self.bad(
                        *line,
                        format!(
                            "input `{name}`: the default is {} but the type is {}",
                            expr::type_name(d),
                            input.ty.name()
                        ),
                    );
                }
                if input.ty == ArgType::Url && d.as_str().is_some_and(has_password) {
                    self.bad(*line, format!("input `{name}`: the default holds a password; pass it with --var, DATABASE_URL, PGPASSWORD or ~/.pgpass"));
                }
            }
            out.push(input);
        }
        out
    }

    fn step(&mut self, line: usize, t: &T, rollback_section: bool) -> Option<Step> {
        let T::Tab(fields) = t else {
            self.bad(line, "a step must be a table ([[steps]])");
            return None;
        };
        let get = |k: &str| fields.iter().find(|(n, _, _)| n == k);
        let name = match get("name") {
            Some((_, l, v)) => self.text(*l, "name", v),
            None => {
                self.bad(line, "a step needs a `name`");
                None
            }
        }?;
        if !is_name(&name) {
            self.bad(line, format!("step name {name:?}: use letters, digits and _ (it is referenced as steps.NAME)"));
        }
        let kind_name = match get("kind") {
            Some((_, l, v)) => self.text(*l, "kind", v),
            None => {
                self.bad(line, format!("step `{name}` needs a `kind`"));
                None
            }
        }?;
        let Some(kind) = kinds::kind(&kind_name) else {
            let known: Vec<&str> = kinds::KINDS.iter().map(|k| k.name).collect();
            let l = get("kind").map_or(line, |f| f.1);
            self.bad(
                l,
                format!(
                    "step `{name}`: unknown step kind {kind_name:?} (known: {})",
                    known.join(", ")
                ),
            );
            return None;
        };
        let mut step = Step {
            name: name.clone(),
            kind,
            description: String::new(),
            line,
            args: Vec::new(),
            when: None,
            unless: None,
            asserts: Vec::new(),
            approve: false,
            on_failure: OnFailure::Stop,
            rollback: None,
            on_failure_line: line,
        };
        for (k, l, v) in fields {
            match k.as_str() {
                "name" | "kind" => {}
                "description" => step.description = self.text(*l, k, v).unwrap_or_default(),
                "when" => step.when = self.cond(*l, k, v),
                "unless" => step.unless = self.cond(*l, k, v),
                "assert" => match v {
                    T::Arr(items) => {
                        for (il, item) in items {
                            if let Some(c) = self.cond(*il, "assert", item) {
                                step.asserts.push(c);
                            }
                        }
                    }
                    other => {
                        if let Some(c) = self.cond(*l, "assert", other) {
                            step.asserts.push(c);
                        }
                    }
                },
                "approve" => match v {
                    T::Bool(b) => step.approve = *b,
                    other => self.bad(
                        *l,
                        format!("`approve` must be true or false, not {}", other.what()),
                    ),
                },
                "on_failure" => {
                    step.on_failure_line = *l;
                    match self.text(*l, k, v).as_deref() {
                        Some("stop") => step.on_failure = OnFailure::Stop,
                        Some("continue") => step.on_failure = OnFailure::Continue,
                        Some("rollback") => step.on_failure = OnFailure::Rollback,
                        Some(other) => self.bad(*l, format!("`on_failure` is \"stop\", \"continue\" or \"rollback\", not {other:?}")),
                        None => {}
                    }
                }
                "rollback" => step.rollback = self.text(*l, k, v),
                arg => match kind.args.iter().find(|a| a.name == arg) {
                    Some(spec) => {
                        let value = self.arg_value(*l, v);
                        if let ArgValue::Lit(lit) = &value {
                            if !spec.ty.accepts(lit) {
                                self.bad(
                                    *l,
                                    format!(
                                        "step `{name}`: `{arg}` must be {} ({}), not {}",
                                        spec.ty.name(),
                                        kind.name,
                                        v.what()
                                    ),
                                );
                            }
                        }
                        step.args.push(Arg {
                            name: spec.name,
                            ty: spec.ty,
                            value,
                            line: *l,
                        });
                    }
                    None => {
                        let takes: Vec<&str> = kind.args.iter().map(|a| a.name).collect();
                        self.bad(*l, format!("step `{name}`: unknown argument `{arg}` for {} (it takes: {}; and name, kind, description, when, unless, assert, approve, on_failure, rollback)", kind.name, takes.join(", ")));
                    }
                },
            }
        }
        for a in kind.args.iter().filter(|a| a.required) {
            if !step.args.iter().any(|x| x.name == a.name) {
                self.bad(
                    line,
                    format!("step `{name}`: {} needs `{}`", kind.name, a.name),
                );
            }
        }
        if rollback_section && step.on_failure == OnFailure::Rollback {
            self.bad(
                step.on_failure_line,
                format!("rollback step `{name}` cannot itself roll back"),
            );
        }
        Some(step)
    }
}

fn has_password(url: &str) -> bool {
    crate::secret::scrub(url) != url
}

/// Read and check a playbook. `file` names it in messages; `dir` is where its runs are kept.
pub fn load(file: &str, bytes: &[u8]) -> Result<Playbook, crate::Error> {
    let input = |message: String| crate::Error::Input {
        path: file.to_string(),
        message,
    };
    if bytes.len() > MAX_FILE {
        return Err(input(format!(
            "{} bytes: a playbook is at most {MAX_FILE} bytes",
            bytes.len()
        )));
    }
    let text = crate::sql::span::check_utf8(bytes).map_err(|e| input(e.to_string()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines = Lines::of(text);
    let doc = toml_edit::ImDocument::parse(text).map_err(|e| LoadError {
        file: file.to_string(),
        problems: vec![(
            lines.line(e.span()).max(1),
            format!("not TOML: {}", e.message().trim_end().replace('\n', " ")),
        )],
    })?;
    let root = table(doc.as_table(), &lines);
    let mut ld = Loader {
        problems: Vec::new(),
    };
    let mut pb = Playbook {
        file: file.to_string(),
        name: String::new(),
        description: String::new(),
        inputs: Vec::new(),
        steps: Vec::new(),
        rollbacks: Vec::new(),
        digest: format!("{:016x}", crate::sql::fingerprint::fnv1a64(text.as_bytes())),
    };
    let mut saw_steps = false;
    for (k, l, v) in &root {
        match k.as_str() {
            "name" => pb.name = ld.text(*l, k, v).unwrap_or_default(),
            "description" => pb.description = ld.text(*l, k, v).unwrap_or_default(),
            "inputs" => pb.inputs = ld.inputs(v, *l),
            "steps" | "rollback" => {
                let T::Arr(items) = v else {
                    ld.bad(*l, format!("`{k}` must be a list of tables ([[{k}]])"));
                    continue;
                };
                saw_steps |= k == "steps";
                for (sl, s) in items {
                    if let Some(step) = ld.step(*sl, s, k == "rollback") {
                        if k == "steps" {
                            pb.steps.push(step);
                        } else {
                            pb.rollbacks.push(step);
                        }
                    }
                }
            }
            other => ld.bad(
                *l,
                format!("unknown key `{other}` (name, description, inputs, steps, rollback)"),
            ),
        }
    }
    if pb.name.is_empty() {
        ld.bad(1, "the playbook needs a `name`");
    }
    if !saw_steps || pb.steps.is_empty() {
        ld.bad(1, "the playbook has no steps ([[steps]])");
    }
    check_references(&pb, &mut ld);
    if ld.problems.is_empty() {
        return Ok(pb);
    }
    ld.problems.sort_by_key(|p| p.0);
    ld.problems.dedup();
    Err(LoadError {
        file: file.to_string(),
        problems: ld.problems,
    }
    .into())
}

/// Where a reference may point from a step: inputs, steps before it, itself in its asserts,
/// and (from a rollback step) any main step.
fn check_references(pb: &Playbook, ld: &mut Loader) {
    let mut seen: Vec<&str> = Vec::new();
    for s in pb.steps.iter().chain(&pb.rollbacks) {
        if seen.contains(&s.name.as_str()) {
            ld.bad(s.line, format!("a second step named `{}`", s.name));
        }
        seen.push(&s.name);
    }
    let main: Vec<&Step> = pb.steps.iter().collect();
    for (i, s) in pb.steps.iter().enumerate() {
        check_step(pb, ld, s, &main[..i], false);
    }
    for s in &pb.rollbacks {
        check_step(pb, ld, s, &main, true);
    }
}

fn check_step(pb: &Playbook, ld: &mut Loader, s: &Step, before: &[&Step], rollback: bool) {
    let check = |ld: &mut Loader, line: usize, r: &Reference, itself: bool| match r.root {
        Root::Inputs => {
            if !pb.inputs.iter().any(|i| i.name == r.name) {
                let names: Vec<&str> = pb.inputs.iter().map(|i| i.name.as_str()).collect();
                ld.bad(
                    line,
                    format!(
                        "step `{}`: `{r}` names no input (inputs: {})",
                        s.name,
                        if names.is_empty() {
                            "none".to_string()
                        } else {
                            names.join(", ")
                        }
                    ),
                );
            }
        }
        Root::Steps => {
            let target = before
                .iter()
                .find(|b| b.name == r.name)
                .copied()
                .or_else(|| (itself && r.name == s.name).then_some(s));
            match target {
                Some(t) => {
                    if let Err(m) = kinds::check_path(t.kind, &r.path) {
                        ld.bad(line, format!("step `{}`: `{r}`: {m}", s.name));
                    }
                }
                None => {
                    let why = if pb
                        .steps
                        .iter()
                        .chain(&pb.rollbacks)
                        .any(|x| x.name == r.name)
                    {
                        if rollback {
                            "is a rollback step, whose result cannot be referenced"
                        } else {
                            "runs later, so its result is not known here"
                        }
                    } else {
                        "is no step of this playbook"
                    };
                    ld.bad(
                        line,
                        format!("step `{}`: `{r}`: `{}` {why}", s.name, r.name),
                    );
                }
            }
        }
    };
    for c in s.when.iter().chain(&s.unless) {
        for r in c.expr.references() {
            check(ld, c.line, r, false);
        }
    }
    for c in &s.asserts {
        for r in c.expr.references() {
            check(ld, c.line, r, true);
        }
    }
    for a in &s.args {
        let mut exprs: Vec<(&Expr, Filter)> = Vec::new();
        a.value.exprs(&mut exprs);
        for (e, f) in exprs {
            for r in e.references() {
                check(ld, a.line, r, false);
            }
            if s.kind.name == "sql" && (a.name == "sql" || a.name == "done") && f == Filter::Plain {
                ld.bad(a.line, format!("step `{}`: a value put into SQL needs `| ident`, `| literal` or (for generated SQL passed along) `| raw`", s.name));
            }
        }
    }
    match (s.on_failure, &s.rollback) {
        (OnFailure::Rollback, None) => ld.bad(
            s.on_failure_line,
            format!("step `{}`: on_failure = \"rollback\" needs `rollback = \"STEP\"` naming a [[rollback]] step", s.name),
        ),
        (OnFailure::Rollback, Some(r)) if !pb.rollbacks.iter().any(|x| &x.name == r) => {
            let names: Vec<&str> = pb.rollbacks.iter().map(|x| x.name.as_str()).collect();
            ld.bad(
                s.on_failure_line,
                format!(
                    "step `{}`: rollback `{r}` is no [[rollback]] step (they are: {})",
                    s.name,
                    if names.is_empty() { "none".into() } else { names.join(", ") }
                ),
            );
        }
        (OnFailure::Rollback, Some(_)) => {}
        (_, Some(_)) => ld.bad(
            s.on_failure_line,
            format!("step `{}`: `rollback` is only used with on_failure = \"rollback\"", s.name),
        ),
        _ => {}
    }
    let has = |n: &str| s.args.iter().any(|a| a.name == n);
    match s.kind.name {
        "explain" if has("sql") == has("file") => ld.bad(
            s.line,
            format!("step `{}`: explain takes one of `sql` and `file`", s.name),
        ),
        "partition.create" if has("schema") == has("url") => ld.bad(
            s.line,
            format!(
                "step `{}`: partition.create reads the table from one of `schema` and `url`",
                s.name
            ),
        ),
        "partition.create" if !(has("interval") || has("step") || has("modulus")) => ld.bad(
            s.line,
            format!(
                "step `{}`: partition.create needs `interval`, `step` or `modulus`",
                s.name
            ),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<(usize, String)> {
        match load("p.toml", text.as_bytes()) {
            Ok(_) => vec![],
            Err(crate::Error::Playbook(e)) => e.problems,
            Err(e) => vec![(0, e.to_string())],
        }
    }

    const GOOD: &str = r#"
name = "demo"
description = "x"

[inputs.url]
type = "url"

[inputs.min]
type = "number"
default = 20

[[steps]]
name = "advise"
kind = "index.advise"
url = "${inputs.url}"
workload = "q.sql"

[[steps]]
name = "build"
kind = "index.apply"
when = "steps.advise.saving_pct >= inputs.min"
indexes = "${steps.advise.recommendations}"
approve = true
on_failure = "rollback"
rollback = "undo"
assert = ["steps.build.failed == 0"]

[[steps]]
name = "analyze"
kind = "sql"
sql = "ANALYZE ${steps.advise.recommendations[0].table | ident}"

[[rollback]]
name = "undo"
kind = "sql"
sql = "DROP INDEX CONCURRENTLY IF EXISTS ${steps.build.built[0] | ident}"
"#;

    #[test]
    fn a_good_playbook_loads() {
        let pb = load("p.toml", GOOD.as_bytes()).unwrap();
        assert_eq!(pb.steps.len(), 3);
        assert_eq!(pb.rollbacks.len(), 1);
        assert!(pb.steps[1].approve);
        assert_eq!(pb.steps[1].line, 18);
        assert_eq!(pb.inputs[1].default, Some(serde_json::json!(20)));
        let bom = format!("\u{feff}{GOOD}");
        assert!(load("p.toml", bom.as_bytes()).is_ok());
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let bad = GOOD
            .replace("kind = \"index.apply\"", "kind = \"index.aply\"")
            .replace("recommendations[0].table", "recomendations[0].table")
            .replace("workload = \"q.sql\"", "workload = \"q.sql\"\nworkers = 3");
        let p = problems(&bad);
        assert!(
            p.iter()
                .any(|(l, m)| *l == 21 && m.contains("unknown step kind \"index.aply\"")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|(l, m)| *l == 17 && m.contains("unknown argument `workers`")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|(l, m)| *l == 32 && m.contains("no field `recomendations`")),
            "{p:?}"
        );
    }

    #[test]
    fn references_must_name_inputs_and_earlier_steps() {
        let p = problems(&GOOD.replace(">= inputs.min", ">= inputs.minimum"));
        assert!(
            p.iter()
                .any(|(l, m)| *l == 21 && m.contains("names no input")),
            "{p:?}"
        );
        let p = problems(&GOOD.replace(
            "when = \"steps.advise.saving_pct >= inputs.min\"",
            "when = \"steps.analyze.count > 0\"",
        ));
        assert!(p.iter().any(|(_, m)| m.contains("runs later")), "{p:?}");
        let p = problems(&GOOD.replace("steps.build.failed", "steps.nope.failed"));
        assert!(p.iter().any(|(_, m)| m.contains("is no step")), "{p:?}");
        let p = problems(&GOOD.replace("rollback = \"undo\"", "rollback = \"undoo\""));
        assert!(
            p.iter().any(|(_, m)| m.contains("no [[rollback]] step")),
            "{p:?}"
        );
    }

    #[test]
    fn sql_steps_quote_what_they_interpolate() {
        let p = problems(&GOOD.replace("[0].table | ident}", "[0].table}"));
        assert!(
            p.iter().any(|(l, m)| *l == 31 && m.contains("| ident")),
            "{p:?}"
        );
    }

    #[test]
    fn bad_bytes_and_bad_toml_are_errors_not_panics() {
        assert!(load("p.toml", b"\xff\xfe").is_err());
        let e = load("p.toml", b"name = \"x\"\n[[steps]\n").unwrap_err();
        assert!(e.to_string().contains("p.toml:2: not TOML"), "{e}");
        let deep = format!("x = {}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(load("p.toml", deep.as_bytes()).is_err());
        assert!(!problems("name = \"x\"").is_empty());
        let p = problems("name = 3\nsteps = 4\n");
        assert!(p.len() >= 2, "{p:?}");
    }

    #[test]
    fn a_password_in_a_default_is_refused() {
        let p = problems(&GOOD.replace(
            "type = \"url\"",
            "type = \"url\"\ndefault = \"postgres://u:secret@h/db\"",
        ));
        assert!(
            p.iter()
                .any(|(_, m)| m.contains("password") && !m.contains("secret")),
            "{p:?}"
        );
    }
}
