//! A plan in the shape of its JSON, as a flat list of tokens: what the XML and YAML readers
//! produce, read
//! straight into the typed plan by a serde deserializer (no JSON text written and parsed again,
//! which was most of an XML plan's read), or written out as the JSON text PostgreSQL's FORMAT
//! JSON would have had (for the generic reader, tests and fuzzing).
//!
//! Bare scalars (an XML element's text) mean what [`super::json::write_scalar`] makes of them:
//! a boolean, a number (visited as serde_json visits that number's JSON text), else a string;
//! so the deserializer and the JSON text agree on every input.

use super::json::{bare_scalar, Bare};
use serde::de::{self, DeserializeSeed, Visitor};
use std::fmt;

/// One token of a plan's JSON shape: 12 bytes (a 6 MB YAML plan is 750,000 of them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Token {
    /// `{`: keys and their values follow, then [`Token::End`].
    Object,
    /// `[`: values follow, then [`Token::End`].
    Array,
    /// `}` or `]`.
    End,
    /// A key of the object being read: its index in [`Tokens::keys`].
    Key(u32),
    /// A bare scalar in the input: a boolean, a number or a string (see the module
    /// documentation).
    Scalar(Span),
    /// A bare scalar rewritten by the reader (XML entities replaced), in [`Tokens::rewritten`].
    Rewritten(Span),
    /// A JSON string literal in the input, quotes and escapes as written (YAML's quoted
    /// strings), checked by the reader with [`super::json::is_string_literal`].
    Quoted(Span),
    /// `null` (an empty YAML value).
    Null,
}

/// Where a token's text is: a byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Span {
    at: u32,
    len: u32,
}

/// The tokens of one plan document, the input their text is in, and the keys they name (each
/// distinct key once).
#[derive(Debug)]
pub(crate) struct Tokens<'a> {
    input: &'a str,
    /// The tokens, in document order.
    pub(crate) list: Vec<Token>,
    /// The JSON keys, as [`Token::Key`] indexes them.
    pub(crate) keys: Vec<String>,
    /// The text of [`Token::Rewritten`] scalars.
    rewritten: String,
    /// The deepest nesting of objects and arrays.
    pub(crate) depth: usize,
}

impl Tokens<'_> {
    /// The text of a scalar or quoted token (empty for the others).
    fn text(&self, t: &Token) -> &str {
        let (s, span): (&str, _) = match t {
            Token::Scalar(span) | Token::Quoted(span) => (self.input, span),
            Token::Rewritten(span) => (&self.rewritten, span),
            _ => return "",
        };
        let at = span.at as usize;
        s.get(at..at + span.len as usize).unwrap_or_default()
    }
}

/// Nesting the typed plan is read at on the caller's stack (a plan level is two: the node and
/// its `Plans`); deeper tokens are read on a large stack.
const SHALLOW: usize = 64;

/// The typed plan from the tokens (see [`super::json::from_tokens`]): on this thread when they
/// are shallow (a thread's fresh stack and allocator arena cost page faults on every read),
/// else on a large stack.
pub(crate) fn typed(tokens: &Tokens<'_>) -> Option<Vec<super::Plan>> {
    if tokens.depth <= SHALLOW {
        super::json::from_tokens(tokens)
    } else {
        super::with_large_stack(|| super::json::from_tokens(tokens))
    }
}

/// Builds [`Tokens`] as a reader goes through its input.
pub(crate) struct Builder<'a> {
    tokens: Tokens<'a>,
    cache: KeyCache<'a>,
}

impl<'a> Builder<'a> {
    /// A builder for tokens about `input` (`None` past 4 GiB: offsets are 32 bits), with room
    /// for `capacity` tokens.
    pub(crate) fn new(input: &'a str, capacity: usize) -> Option<Self> {
        u32::try_from(input.len()).ok()?;
        Some(Builder {
            tokens: Tokens {
                input,
                list: Vec::with_capacity(capacity),
                keys: Vec::new(),
                rewritten: String::new(),
                depth: 0,
            },
            cache: KeyCache::new(),
        })
    }

    /// Add a token without text.
    pub(crate) fn push(&mut self, t: Token) {
        self.tokens.list.push(t);
    }

    /// Add the key of `name` (see [`KeyCache::key`]).
    pub(crate) fn key(
        &mut self,
        name: &'a str,
        seen: u8,
        make: impl FnOnce(&str, u8, &mut String),
    ) {
        let k = self.cache.key(name, seen, &mut self.tokens.keys, make);
        self.tokens.list.push(Token::Key(k));
    }

    /// Add a bare scalar: borrowed from the input when it is part of it, else copied.
    pub(crate) fn scalar(&mut self, text: &str) {
        let t = match self.span_in_input(text) {
            Some(span) => Token::Scalar(span),
            None => {
                let at = self.tokens.rewritten.len();
                self.tokens.rewritten.push_str(text);
                Token::Rewritten(Span {
                    at: at as u32,
                    len: text.len() as u32,
                })
            }
        };
        self.tokens.list.push(t);
    }

    /// Add a JSON string literal that is part of the input (checked by the caller).
    pub(crate) fn quoted(&mut self, literal: &str) {
        match self.span_in_input(literal) {
            Some(span) => self.tokens.list.push(Token::Quoted(span)),
            // Not part of the input (never, from the YAML reader): its text, unescaped (the
            // caller checked it is a JSON string literal, so it parses).
            None => {
                let s: String = serde_json::from_str(literal).unwrap_or_default();
                self.scalar(&s);
            }
        }
    }

    /// Note a nesting depth reached.
    pub(crate) fn reached(&mut self, depth: usize) {
        self.tokens.depth = self.tokens.depth.max(depth);
    }

    /// The tokens.
    pub(crate) fn finish(self) -> Tokens<'a> {
        self.tokens
    }

    fn span_in_input(&self, text: &str) -> Option<Span> {
        let base = self.tokens.input.as_ptr() as usize;
        let at = (text.as_ptr() as usize).checked_sub(base)?;
        (at + text.len() <= self.tokens.input.len()).then_some(Span {
            at: at as u32,
            len: text.len() as u32,
        })
    }
}

/// Keys by the name a reader found (an XML element name and how many of its siblings had that
/// name before it): a 256-slot cache, so a name repeated 100,000 times is turned into its JSON
/// key once (a miss only costs making the key again).
pub(crate) struct KeyCache<'a> {
    slots: Vec<(&'a str, u8, u32)>,
}

impl<'a> KeyCache<'a> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        KeyCache {
            slots: vec![("", 0, u32::MAX); 256],
        }
    }

    /// The index in `keys` of the key of `name` (`seen` of its name before it), made by `make`
    /// when not cached.
    pub(crate) fn key(
        &mut self,
        name: &'a str,
        seen: u8,
        keys: &mut Vec<String>,
        make: impl FnOnce(&str, u8, &mut String),
    ) -> u32 {
        let b = name.as_bytes();
        let h = match b {
            [] => 0,
            [.., last] => b
                .len()
                .wrapping_mul(31)
                .wrapping_add(usize::from(b[0]))
                .wrapping_add(usize::from(b[b.len() / 2]).wrapping_mul(7))
                .wrapping_add(usize::from(*last).wrapping_mul(13))
                .wrapping_add(usize::from(seen).wrapping_mul(101)),
        } & 255;
        let slot = &mut self.slots[h];
        if slot.2 != u32::MAX && slot.1 == seen && slot.0 == name {
            return slot.2;
        }
        let mut k = String::with_capacity(name.len() + 4);
        make(name, seen, &mut k);
        let i = match keys.iter().position(|x| *x == k) {
            Some(i) => i,
            None => {
                keys.push(k);
                keys.len() - 1
            }
        } as u32;
        *slot = (name, seen, i);
        i
    }
}

/// The JSON text of the tokens (compact).
pub(crate) fn to_json_text(tokens: &Tokens<'_>, size_hint: usize) -> String {
    let mut out = String::with_capacity(size_hint);
    // Per open array: whether a value was written (a comma goes before the next).
    let mut open: Vec<(bool, bool)> = Vec::new();
    for t in &tokens.list {
        let value = !matches!(t, Token::End | Token::Key(_));
        if value {
            if let Some((false, written)) = open.last_mut() {
                if *written {
                    out.push(',');
                }
                *written = true;
            }
        }
        match t {
            Token::Object => {
                out.push('{');
                open.push((true, false));
            }
            Token::Array => {
                out.push('[');
                open.push((false, false));
            }
            Token::End => match open.pop() {
                Some((true, _)) => out.push('}'),
                _ => out.push(']'),
            },
            Token::Key(k) => {
                if let Some((true, written)) = open.last_mut() {
                    if *written {
                        out.push(',');
                    }
                    *written = true;
                }
                super::json::write_string(&mut out, &tokens.keys[*k as usize]);
                out.push(':');
            }
            Token::Scalar(_) | Token::Rewritten(_) => {
                super::json::write_scalar(&mut out, tokens.text(t));
            }
            Token::Quoted(_) => out.push_str(tokens.text(t)),
            Token::Null => out.push_str("null"),
        }
    }
    out
}

/// Why the tokens did not fit the type asked for (the caller falls back to the generic reader).
#[derive(Debug)]
pub(crate) struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// A serde deserializer over tokens.
pub(crate) struct Deserializer<'t, 'a> {
    tokens: &'t Tokens<'a>,
    at: usize,
}

impl<'t, 'a> Deserializer<'t, 'a> {
    /// A deserializer at the first token.
    pub(crate) fn new(tokens: &'t Tokens<'a>) -> Self {
        Deserializer { tokens, at: 0 }
    }

    fn next(&mut self) -> Result<&'t Token, Error> {
        let t = self
            .tokens
            .list
            .get(self.at)
            .ok_or_else(|| Error("the plan ends early".to_string()))?;
        self.at += 1;
        Ok(t)
    }
}

impl<'de> de::Deserializer<'de> for &mut Deserializer<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        match self.next()? {
            Token::Object => v.visit_map(Entries(self)),
            Token::Array => v.visit_seq(Items(self)),
            t @ (Token::Scalar(_) | Token::Rewritten(_)) => visit_scalar(self.tokens.text(t), v),
            t @ Token::Quoted(_) => {
                let q = self.tokens.text(t);
                let inner = q.get(1..q.len().saturating_sub(1)).unwrap_or_default();
                if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
                    v.visit_str(inner)
                } else {
                    let s: String = serde_json::from_str(q).map_err(de::Error::custom)?;
                    v.visit_string(s)
                }
            }
            Token::Null => v.visit_unit(),
            Token::End | Token::Key(_) => Err(Error("expected a value".to_string())),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        if matches!(self.tokens.list.get(self.at), Some(Token::Null)) {
            self.at += 1;
            return v.visit_none();
        }
        v.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

/// A bare scalar, visited as serde_json visits what [`super::json::write_scalar`] writes.
fn visit_scalar<'de, V: Visitor<'de>>(s: &str, v: V) -> Result<V::Value, Error> {
    match bare_scalar(s) {
        Bare::Bool(b) => v.visit_bool(b),
        Bare::Text => v.visit_str(s),
        Bare::Number(n) => visit_number(&n, v),
    }
}

/// A JSON number's text, visited as serde_json does: integers as u64 (i64 when negative, f64
/// when out of range or `-0`), the rest as f64.
fn visit_number<'de, V: Visitor<'de>>(n: &str, v: V) -> Result<V::Value, Error> {
    let float = |v: V| match n.parse::<f64>() {
        Ok(f) => v.visit_f64(f),
        Err(_) => Err(Error(format!("not a number: {n}"))),
    };
    if n.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
        return float(v);
    }
    if n.starts_with('-') {
        match n.parse::<i64>() {
            Ok(i) if i != 0 => v.visit_i64(i),
            _ => float(v),
        }
    } else {
        match n.parse::<u64>() {
            Ok(u) => v.visit_u64(u),
            Err(_) => float(v),
        }
    }
}

struct Entries<'d, 't, 'a>(&'d mut Deserializer<'t, 'a>);

impl<'de> de::MapAccess<'de> for Entries<'_, '_, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.0.next()? {
            Token::End => Ok(None),
            Token::Key(k) => {
                let key = self
                    .0
                    .tokens
                    .keys
                    .get(*k as usize)
                    .ok_or_else(|| Error("a key out of range".to_string()))?;
                seed.deserialize(KeyStr(key)).map(Some)
            }
            _ => Err(Error("expected a key".to_string())),
        }
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Error> {
        seed.deserialize(&mut *self.0)
    }
}

struct Items<'d, 't, 'a>(&'d mut Deserializer<'t, 'a>);

impl<'de> de::SeqAccess<'de> for Items<'_, '_, '_> {
    type Error = Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Error> {
        if matches!(self.0.tokens.list.get(self.0.at), Some(Token::End)) {
            self.0.at += 1;
            return Ok(None);
        }
        seed.deserialize(&mut *self.0).map(Some)
    }
}

/// A key, handed to the field visitor as a string.
struct KeyStr<'k>(&'k str);

impl<'de> de::Deserializer<'de> for KeyStr<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_str(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::Value;

    fn xml_tokens(x: &str) -> Tokens<'_> {
        super::super::xml::tokens(x).unwrap()
    }

    fn tokens(list: Vec<Token>) -> Tokens<'static> {
        Tokens {
            input: "",
            list,
            keys: vec!["a".to_string()],
            rewritten: String::new(),
            depth: 1,
        }
    }

    /// The deserializer and the JSON text give the same value, scalar by scalar.
    #[test]
    fn the_deserializer_reads_what_the_json_text_says() {
        let x = "<explain><Query><A>007</A><B>-0</B><C>1e400</C><D>-12</D><E>2.50</E>\
                 <F>18446744073709551616</F><G>true</G><H>Seq Scan</H><I>+5</I><J>.5</J>\
                 <K>-9223372036854775808</K><L></L><Sort-Space>1</Sort-Space><Sort-Space>2</Sort-Space>\
                 <Plans/><Sort-Key><Item>a</Item><Item>1</Item></Sort-Key><N>{long}</N></Query></explain>";
        // A long decimal: serde_json rounds it as Rust does only with its float_roundtrip
        // feature (found by fuzzing).
        let x = x.replace("{long}", &format!("{}0.190", "5".repeat(108)));
        let t = xml_tokens(&x);
        let from_text: Value = serde_json::from_str(&to_json_text(&t, 0)).unwrap();
        let direct = Value::deserialize(&mut Deserializer::new(&t)).unwrap();
        assert_eq!(direct, from_text);
        // serde_json's Value tells u64, i64 and f64 apart: the kinds agree too.
        assert_eq!(format!("{direct:?}"), format!("{from_text:?}"));
        assert_eq!(direct[0]["B"].as_f64(), Some(-0.0));
        assert!(direct[0]["K"].is_i64() && direct[0]["F"].is_f64());
    }

    /// PostgreSQL's own YAML and XML take the direct way, and read as their JSON text does.
    #[test]
    fn every_yaml_and_xml_fixture_reads_straight_into_the_typed_plan() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plans/formats");
        let mut seen = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
            if !matches!(ext, "yaml" | "xml") {
                continue;
            }
            let input = std::fs::read_to_string(&path).unwrap();
            let t = if ext == "xml" {
                super::super::xml::tokens(&input).unwrap()
            } else {
                super::super::yaml::tokens(&input).unwrap()
            };
            let direct = super::super::json::from_tokens(&t)
                .unwrap_or_else(|| panic!("{}: not the typed plan", path.display()));
            let via = super::super::json::parse(&to_json_text(&t, 0)).unwrap();
            assert!(direct == via, "{}", path.display());
            seen += 1;
        }
        assert!(seen >= 20, "{seen} fixtures");
    }

    /// The deepest plan read on the caller's stack fits a test thread's 2 MB (debug build).
    #[test]
    fn shallow_tokens_are_read_on_the_callers_stack() {
        let doc = |levels: usize| {
            let node = "<Plan><Node-Type>Limit</Node-Type><Total-Cost>1.5</Total-Cost>";
            format!(
                "<explain><Query>{}{}</Plan></Query></explain>",
                vec![node; levels].join("<Plans>"),
                "</Plan></Plans>".repeat(levels - 1)
            )
        };
        let levels = (1..)
            .take_while(|&n| super::super::xml::tokens(&doc(n)).unwrap().depth <= SHALLOW)
            .last()
            .unwrap();
        let x = doc(levels);
        let t = super::super::xml::tokens(&x).unwrap();
        assert!(t.depth <= SHALLOW && t.depth + 2 > SHALLOW, "{}", t.depth);
        let p = typed(&t).unwrap();
        assert_eq!(p[0].root.count(), levels);
    }

    #[test]
    fn tokens_that_do_not_fit_are_an_error_not_a_panic() {
        for t in [
            vec![Token::Object, Token::Key(0)],
            vec![Token::Array, Token::Key(0), Token::End],
            vec![Token::Object, Token::Key(7), Token::End],
            vec![],
        ] {
            assert!(Value::deserialize(&mut Deserializer::new(&tokens(t))).is_err());
        }
    }
}
