//! Playbook expressions and templates. References name an input (`inputs.table`) or a field of
//! an earlier step's result (`steps.advise.recommendations[0].ddl`); expressions combine them
//! for `when`, `unless` and `assert` (`steps.advise.saving_pct >= 20 && !steps.check.errors`);
//! templates put them into step arguments (`"${inputs.table | ident}"`). Everything is parsed
//! when the playbook is loaded; evaluation only looks values up.
//!
//! Grammar (precedence from loosest): `||`, `&&`, `!`, comparisons (`== != < <= > >=`), `+ -`,
//! `* /`, unary `-`, then literals (numbers, `'text'` or `"text"`, `true`, `false`, `null`),
//! references, `len(x)`, `contains(list_or_text, x)` and parentheses. Work is linear in the
//! text and nesting is bounded.

use serde_json::Value;
use std::fmt;

/// Deepest nesting of parentheses and unary operators.
const MAX_DEPTH: usize = 64;
/// Longest expression, in bytes.
pub const MAX_EXPR: usize = 4096;

/// One step of a reference's path.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// `.name`
    Field(String),
    /// `[n]`
    Index(usize),
}

/// `inputs.NAME` or `steps.NAME.path…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// `inputs` or `steps`.
    pub root: Root,
    /// The input or step name.
    pub name: String,
    /// The path into a step's result.
    pub path: Vec<Segment>,
}

/// What a reference starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// The playbook's inputs.
    Inputs,
    /// An earlier step's result.
    Steps,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let root = match self.root {
            Root::Inputs => "inputs",
            Root::Steps => "steps",
        };
        write!(f, "{root}.{}", self.name)?;
        for s in &self.path {
            match s {
                Segment::Field(n) => write!(f, ".{n}")?,
                Segment::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `||`
    Or,
    /// `&&`
    And,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `len(list | text | object)`
    Len,
    /// `contains(list | text, value)`
    Contains,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal.
    Lit(Value),
    /// A reference.
    Ref(Reference),
    /// `!x`
    Not(Box<Expr>),
    /// `-x`
    Neg(Box<Expr>),
    /// `a op b`
    Bin(Op, Box<Expr>, Box<Expr>),
    /// `f(args)`
    Call(Func, Vec<Expr>),
}

impl Expr {
    /// Every reference in the expression, in order.
    pub fn references(&self) -> Vec<&Reference> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Reference>) {
        match self {
            Expr::Lit(_) => {}
            Expr::Ref(r) => out.push(r),
            Expr::Not(e) | Expr::Neg(e) => e.collect(out),
            Expr::Bin(_, a, b) => {
                a.collect(out);
                b.collect(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.collect(out)),
        }
    }
}

/// A problem in an expression: what and at which byte of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// Byte offset in the expression.
    pub at: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    Word(String),
    Sym(&'static str),
    Int(usize),
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    if text.len() > MAX_EXPR {
        return Err(ParseError {
            at: MAX_EXPR,
            message: format!("expression longer than {MAX_EXPR} bytes"),
        });
    }
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    const SYMS: [&str; 19] = [
        "||", "&&", "==", "!=", "<=", ">=", "<", ">", "!", "+", "-", "*", "/", "(", ")", "[", "]",
        ".", ",",
    ];
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.' || b[i] == b'_') {
                // `[0].x`: a dot after digits inside brackets is a path, not a decimal point.
                if b[i] == b'.' && !b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    break;
                }
                i += 1;
            }
            let raw: String = text[start..i].chars().filter(|&c| c != '_').collect();
            let prev_bracket = matches!(out.last(), Some((_, Tok::Sym("["))));
            if prev_bracket && !raw.contains('.') {
                let n = raw.parse::<usize>().map_err(|_| ParseError {
                    at: start,
                    message: format!("index {raw} is too large"),
                })?;
                out.push((start, Tok::Int(n)));
            } else {
                let n = raw.parse::<f64>().map_err(|_| ParseError {
                    at: start,
                    message: format!("{raw} is not a number"),
                })?;
                out.push((start, Tok::Num(n)));
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push((start, Tok::Word(text[start..i].to_string())));
            continue;
        }
        if c == b'\'' || c == b'"' {
            i += 1;
            let mut s = String::new();
            loop {
                let Some(ch) = text[i..].chars().next() else {
                    return Err(ParseError {
                        at: start,
                        message: "text literal not closed".into(),
                    });
                };
                i += ch.len_utf8();
                if ch as u32 == c as u32 {
                    // A doubled quote is the quote itself.
                    if b.get(i) == Some(&c) {
                        s.push(ch);
                        i += 1;
                        continue;
                    }
                    break;
                }
                s.push(ch);
            }
            out.push((start, Tok::Str(s)));
            continue;
        }
        match SYMS.iter().find(|s| text[i..].starts_with(**s)) {
            Some(s) => {
                out.push((start, Tok::Sym(s)));
                i += s.len();
            }
            None => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return Err(ParseError {
                    at: start,
                    message: format!("unexpected {ch:?}"),
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.1)
    }
    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.end, |t| t.0)
    }
    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            at: self.at(),
            message: message.into(),
        })
    }
    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Sym(s)) if *s == sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, sym: &str) -> Result<(), ParseError> {
        if self.eat(sym) {
            Ok(())
        } else {
            self.err(format!("expected `{sym}`"))
        }
    }
    fn deeper(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(format!("nested more than {MAX_DEPTH} deep"));
        }
        Ok(())
    }

    fn binary(
        &mut self,
        ops: &[(&'static str, Op)],
        next: fn(&mut Parser) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        let mut left = next(self)?;
        'outer: loop {
            for (s, op) in ops {
                if self.eat(s) {
                    let right = next(self)?;
                    left = Expr::Bin(*op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }
    fn or(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("||", Op::Or)], Parser::and)
    }
    fn and(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("&&", Op::And)], Parser::not)
    }
    fn not(&mut self) -> Result<Expr, ParseError> {
        if self.eat("!") {
            self.deeper()?;
            let e = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(e)));
        }
        self.cmp()
    }
    fn cmp(&mut self) -> Result<Expr, ParseError> {
        let left = self.sum()?;
        for (s, op) in [
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("<", Op::Lt),
            (">", Op::Gt),
        ] {
            if self.eat(s) {
                let right = self.sum()?;
                return Ok(Expr::Bin(op, Box::new(left), Box::new(right)));
            }
        }
        Ok(left)
    }
    fn sum(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("+", Op::Add), ("-", Op::Sub)], Parser::product)
    }
    fn product(&mut self) -> Result<Expr, ParseError> {
        self.binary(&[("*", Op::Mul), ("/", Op::Div)], Parser::unary)
    }
    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat("-") {
            self.deeper()?;
            let e = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(e)));
        }
        self.atom()
    }
    fn atom(&mut self) -> Result<Expr, ParseError> {
        let Some(tok) = self.peek().cloned() else {
            return self.err("expected a value");
        };
        match tok {
            Tok::Num(n) => {
                self.pos += 1;
                Ok(Expr::Lit(number(n)))
            }
            Tok::Int(_) => self.err("an index outside brackets"),
            Tok::Str(s) => {
                self.pos += 1;
                Ok(Expr::Lit(Value::String(s)))
            }
            Tok::Sym("(") => {
                self.pos += 1;
                self.deeper()?;
                let e = self.or()?;
                self.depth -= 1;
                self.expect(")")?;
                Ok(e)
            }
            Tok::Sym(s) => self.err(format!("unexpected `{s}`")),
            Tok::Word(w) => {
                self.pos += 1;
                match w.as_str() {
                    "true" => Ok(Expr::Lit(Value::Bool(true))),
                    "false" => Ok(Expr::Lit(Value::Bool(false))),
                    "null" => Ok(Expr::Lit(Value::Null)),
                    "inputs" | "steps" => self.reference(&w),
                    "len" | "contains" => {
                        let (f, n) = if w == "len" {
                            (Func::Len, 1)
                        } else {
                            (Func::Contains, 2)
                        };
                        self.expect("(")?;
                        self.deeper()?;
                        let mut args = vec![self.or()?];
                        while self.eat(",") {
                            args.push(self.or()?);
                        }
                        self.depth -= 1;
                        self.expect(")")?;
                        if args.len() != n {
                            return self.err(format!("{w}() takes {n} argument(s)"));
                        }
                        Ok(Expr::Call(f, args))
                    }
                    _ => {
                        self.pos -= 1;
                        self.err(format!(
                            "unknown name `{w}` (references start with `inputs.` or `steps.`; text is quoted: '{w}')"
                        ))
                    }
                }
            }
        }
    }
    fn name(&mut self) -> Result<String, ParseError> {
        match self.peek().cloned() {
            Some(Tok::Word(w)) => {
                self.pos += 1;
                Ok(w)
            }
            _ => self.err("expected a name"),
        }
    }
    fn reference(&mut self, root: &str) -> Result<Expr, ParseError> {
        self.expect(".")?;
        let name = self.name()?;
        let root = if root == "inputs" {
            Root::Inputs
        } else {
            Root::Steps
        };
        let mut path = Vec::new();
        loop {
            if self.eat(".") {
                path.push(Segment::Field(self.name()?));
            } else if self.eat("[") {
                match self.peek().cloned() {
                    Some(Tok::Int(n)) => {
                        self.pos += 1;
                        path.push(Segment::Index(n));
                    }
                    _ => return self.err("expected an index (a whole number)"),
                }
                self.expect("]")?;
            } else {
                break;
            }
        }
        if root == Root::Inputs && !path.is_empty() {
            return self.err("an input has no fields");
        }
        Ok(Expr::Ref(Reference { root, name, path }))
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// Parse an expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        end: text.len(),
        depth: 0,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return p.err("unexpected text after the expression");
    }
    Ok(e)
}

/// Where evaluation finds values.
pub trait Scope {
    /// The value a reference names, or why there is none.
    fn lookup(&self, r: &Reference) -> Result<Value, String>;
}

/// Walk `path` into `v`.
pub fn walk(v: &Value, path: &[Segment]) -> Result<Value, String> {
    let mut cur = v;
    for s in path {
        cur = match (s, cur) {
            (Segment::Field(f), Value::Object(m)) => m
                .get(f)
                .ok_or_else(|| format!("the result has no field {f:?}"))?,
            (Segment::Index(i), Value::Array(a)) => a.get(*i).ok_or_else(|| {
                format!(
                    "index [{i}] is past the end of a list of {} item(s)",
                    a.len()
                )
            })?,
            (Segment::Field(f), other) => {
                return Err(format!("cannot take .{f} of {}", type_name(other)))
            }
            (Segment::Index(i), other) => {
                return Err(format!("cannot take [{i}] of {}", type_name(other)))
            }
        };
    }
    Ok(cur.clone())
}

/// `a number`, `a list`…
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn num(v: &Value, what: &str) -> Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("{what} needs numbers, got {}", type_name(v)))
}

fn truthy(v: &Value, what: &str) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("{what} needs true or false, got {}", type_name(v)))
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Evaluate an expression.
pub fn eval(e: &Expr, scope: &dyn Scope) -> Result<Value, String> {
    Ok(match e {
        Expr::Lit(v) => v.clone(),
        Expr::Ref(r) => scope.lookup(r).map_err(|m| format!("{r}: {m}"))?,
        Expr::Not(x) => Value::Bool(!truthy(&eval(x, scope)?, "`!`")?),
        Expr::Neg(x) => number(-num(&eval(x, scope)?, "`-`")?),
        Expr::Bin(Op::And, a, b) => {
            Value::Bool(truthy(&eval(a, scope)?, "`&&`")? && truthy(&eval(b, scope)?, "`&&`")?)
        }
        Expr::Bin(Op::Or, a, b) => {
            Value::Bool(truthy(&eval(a, scope)?, "`||`")? || truthy(&eval(b, scope)?, "`||`")?)
        }
        Expr::Bin(op, a, b) => {
            let (a, b) = (eval(a, scope)?, eval(b, scope)?);
            match op {
                Op::Eq => Value::Bool(equal(&a, &b)),
                Op::Ne => Value::Bool(!equal(&a, &b)),
                Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                    let ord = match (&a, &b) {
                        (Value::String(x), Value::String(y)) => x.partial_cmp(y),
                        _ => num(&a, "a comparison")?.partial_cmp(&num(&b, "a comparison")?),
                    };
                    let Some(ord) = ord else {
                        return Ok(Value::Bool(false));
                    };
                    Value::Bool(match op {
                        Op::Lt => ord.is_lt(),
                        Op::Le => ord.is_le(),
                        Op::Gt => ord.is_gt(),
                        _ => ord.is_ge(),
                    })
                }
                Op::Add => match (&a, &b) {
                    (Value::String(x), Value::String(y)) => Value::String(format!("{x}{y}")),
                    _ => number(num(&a, "`+`")? + num(&b, "`+`")?),
                },
                Op::Sub => number(num(&a, "`-`")? - num(&b, "`-`")?),
                Op::Mul => number(num(&a, "`*`")? * num(&b, "`*`")?),
                Op::Div => {
                    let d = num(&b, "`/`")?;
                    if d == 0.0 {
                        return Err("division by zero".into());
                    }
                    number(num(&a, "`/`")? / d)
                }
                Op::And | Op::Or => unreachable!("handled above"),
            }
        }
        Expr::Call(Func::Len, args) => {
            let v = eval(&args[0], scope)?;
            Value::from(match &v {
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                Value::String(s) => s.chars().count(),
                Value::Null => 0,
                other => return Err(format!("len() of {}", type_name(other))),
            })
        }
        Expr::Call(Func::Contains, args) => {
            let (hay, needle) = (eval(&args[0], scope)?, eval(&args[1], scope)?);
            Value::Bool(match (&hay, &needle) {
                (Value::Array(a), n) => a.iter().any(|x| equal(x, n)),
                (Value::String(s), Value::String(n)) => s.contains(n.as_str()),
                (other, _) => return Err(format!("contains() in {}", type_name(other))),
            })
        }
    })
}

/// Evaluate a condition: it must be true or false.
pub fn eval_bool(e: &Expr, scope: &dyn Scope) -> Result<bool, String> {
    truthy(&eval(e, scope)?, "a condition")
}

/// How an interpolated value is written into the text around it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// As it is (text as is, numbers and true/false written out).
    Plain,
    /// A SQL identifier, quoted when needed; `schema.name` quotes each part.
    Ident,
    /// A SQL literal, quoted and escaped.
    Literal,
    /// Text as it is, on purpose (for generated DDL passed along); the only way to put an
    /// unquoted value into a `sql` step.
    Raw,
    /// JSON.
    Json,
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text as written.
    Text(String),
    /// `${expr | filter}`
    Value(Expr, Filter),
}

/// A parsed string argument: text with `${…}` interpolations (`$${` writes `${`).
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// As written.
    pub text: String,
    /// Its pieces.
    pub parts: Vec<Part>,
}

impl Template {
    /// Parse a template; `at` of an error is the byte in `text`.
    pub fn parse(text: &str) -> Result<Template, ParseError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            if rest.starts_with("$${") {
                lit.push_str("${");
                i += 3;
            } else if rest.starts_with("${") {
                let close = rest.find('}').ok_or(ParseError {
                    at: i,
                    message: "`${` not closed by `}`".into(),
                })?;
                let inner = &rest[2..close];
                let (expr, filter) = match inner.rfind('|') {
                    Some(bar)
                        if !inner[bar..].starts_with("||") && !inner[..bar].ends_with('|') =>
                    {
                        let f = match inner[bar + 1..].trim() {
                            "ident" => Filter::Ident,
                            "literal" => Filter::Literal,
                            "raw" => Filter::Raw,
                            "json" => Filter::Json,
                            other => {
                                return Err(ParseError {
                                    at: i + 2 + bar + 1,
                                    message: format!(
                                        "unknown filter {other:?} (ident, literal, raw or json)"
                                    ),
                                })
                            }
                        };
                        (&inner[..bar], f)
                    }
                    _ => (inner, Filter::Plain),
                };
                let e = parse(expr).map_err(|e| ParseError {
                    at: i + 2 + e.at,
                    message: e.message,
                })?;
                if !lit.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut lit)));
                }
                parts.push(Part::Value(e, filter));
                i += close + 1;
            } else {
                let ch = rest.chars().next().unwrap_or(' ');
                lit.push(ch);
                i += ch.len_utf8();
            }
        }
        if !lit.is_empty() || parts.is_empty() {
            parts.push(Part::Text(lit));
        }
        Ok(Template {
            text: text.to_string(),
            parts,
        })
    }

    /// The expressions in it.
    pub fn exprs(&self) -> impl Iterator<Item = (&Expr, Filter)> {
        self.parts.iter().filter_map(|p| match p {
            Part::Value(e, f) => Some((e, *f)),
            Part::Text(_) => None,
        })
    }

    /// Whether the template is one unfiltered `${…}` and nothing else (its value keeps its
    /// type: a list stays a list).
    pub fn whole(&self) -> Option<&Expr> {
        match self.parts.as_slice() {
            [Part::Value(e, Filter::Plain)] => Some(e),
            _ => None,
        }
    }

    /// The value: a whole reference keeps its type, anything else is text.
    pub fn eval(&self, scope: &dyn Scope) -> Result<Value, String> {
        if let Some(e) = self.whole() {
            return eval(e, scope);
        }
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Value(e, f) => out.push_str(&write(&eval(e, scope)?, *f)?),
            }
        }
        Ok(Value::String(out))
    }
}

/// A value written as text under a filter.
pub fn write(v: &Value, f: Filter) -> Result<String, String> {
    let plain = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            other => Err(format!(
                "{} cannot be written into text (use `| json`)",
                type_name(other)
            )),
        }
    };
    Ok(match f {
        Filter::Plain | Filter::Raw => plain(v)?,
        Filter::Json => v.to_string(),
        Filter::Literal => crate::sql::ident::quote_literal(&plain(v)?),
        Filter::Ident => {
            let s = plain(v)?;
            if s.is_empty() {
                return Err("an empty identifier".into());
            }
            let parts: Vec<&str> = match s.split_once('.') {
                Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains('.') => vec![a, b],
                _ => vec![s.as_str()],
            };
            crate::sql::ident::quote_qualified(&parts)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct S(Value);
    impl Scope for S {
        fn lookup(&self, r: &Reference) -> Result<Value, String> {
            let base = match r.root {
                Root::Inputs => self.0["inputs"].get(&r.name),
                Root::Steps => self.0["steps"].get(&r.name),
            }
            .ok_or("not known")?;
            walk(base, &r.path)
        }
    }

    fn scope() -> S {
        S(json!({
            "inputs": {"table": "public.orders", "min": 20, "name": "we\"ird"},
            "steps": {"advise": {"saving_pct": 42.5, "recommendations": [{"ddl": "CREATE INDEX x;", "name": "x"}], "count": 1},
                      "check": {"errors": 0, "used": ["a", "b"]}}
        }))
    }

    fn ev(t: &str) -> Value {
        eval(&parse(t).unwrap(), &scope()).unwrap()
    }

    #[test]
    fn references_walk_fields_and_indexes() {
        assert_eq!(
            ev("steps.advise.recommendations[0].ddl"),
            json!("CREATE INDEX x;")
        );
        assert_eq!(ev("inputs.min"), json!(20));
        let e = parse("steps.advise.recommendations[0].ddl").unwrap();
        assert_eq!(
            e.references()[0].to_string(),
            "steps.advise.recommendations[0].ddl"
        );
    }

    #[test]
    fn conditions_compare_combine_and_call() {
        assert_eq!(ev("steps.advise.saving_pct >= inputs.min"), json!(true));
        assert_eq!(
            ev("steps.advise.saving_pct >= 50 || steps.check.errors == 0"),
            json!(true)
        );
        assert_eq!(ev("!(steps.check.errors == 0) && true"), json!(false));
        assert_eq!(
            ev("len(steps.check.used) == 2 && contains(steps.check.used, 'b')"),
            json!(true)
        );
        assert_eq!(ev("1 + 2 * 3 - 4 / 2"), json!(5));
        assert_eq!(ev("-inputs.min < 0"), json!(true));
        assert_eq!(ev("'a''b'"), json!("a'b"));
        assert_eq!(ev("contains(inputs.table, '.')"), json!(true));
    }

    #[test]
    fn errors_say_what_and_where() {
        let e = parse("steps.advise.saving_pct >= ").unwrap_err();
        assert!(e.message.contains("expected a value"), "{e}");
        let e = parse("saving_pct > 1").unwrap_err();
        assert!(e.message.contains("unknown name `saving_pct`"), "{e}");
        assert_eq!(e.at, 0);
        assert!(parse("inputs.table.x").is_err());
        assert!(parse("'open").is_err());
        assert!(parse("len(1, 2)").is_err());
        assert!(parse("steps.a[x]").is_err());
        let deep = format!("{}1{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
        assert!(parse(&"!".repeat(10_000)).is_err());
        let r = eval(
            &parse("steps.advise.recommendations[3].ddl").unwrap(),
            &scope(),
        );
        assert!(r.unwrap_err().contains("past the end"));
        let r = eval(&parse("steps.check.used > 1").unwrap(), &scope());
        assert!(r.unwrap_err().contains("needs numbers"));
        assert!(eval_bool(&parse("1").unwrap(), &scope()).is_err());
        assert!(eval(&parse("1 / 0").unwrap(), &scope()).is_err());
    }

    #[test]
    fn templates_keep_types_whole_and_quote_with_filters() {
        let t = Template::parse("${steps.check.used}").unwrap();
        assert_eq!(t.eval(&scope()).unwrap(), json!(["a", "b"]));
        let t = Template::parse("ANALYZE ${inputs.table | ident}").unwrap();
        assert_eq!(t.eval(&scope()).unwrap(), json!("ANALYZE public.orders"));
        let t = Template::parse("SELECT ${inputs.name | ident}, ${inputs.name | literal}").unwrap();
        assert_eq!(
            t.eval(&scope()).unwrap(),
            json!("SELECT \"we\"\"ird\", 'we\"ird'")
        );
        let t = Template::parse("cost $${not} ${steps.advise.count}%").unwrap();
        assert_eq!(t.eval(&scope()).unwrap(), json!("cost ${not} 1%"));
        assert!(Template::parse("${inputs.x | upper}").is_err());
        assert!(Template::parse("${inputs.x").is_err());
        let t = Template::parse("x ${steps.check.used}").unwrap();
        assert!(t.eval(&scope()).unwrap_err().contains("json"));
        let t = Template::parse("${steps.check.errors == 0 || false}").unwrap();
        assert_eq!(t.eval(&scope()).unwrap(), json!(true));
    }
}
