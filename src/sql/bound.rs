//! Partition bounds as PostgreSQL prints them (`pg_get_expr(relpartbound, oid)`):
//! `FOR VALUES WITH (modulus 8, remainder 3)`, `FOR VALUES FROM ('a') TO (MAXVALUE)`,
//! `FOR VALUES IN (1, 2, NULL)`, `DEFAULT`. Read into values, quotes removed, so callers can
//! compare them with keys.

/// One datum of a range bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundValue {
    /// `MINVALUE`: below every key.
    MinValue,
    /// `MAXVALUE`: above every key.
    MaxValue,
    /// A value, unquoted (`'it''s'` → `it's`; numbers as printed).
    Value(String),
}

/// A partition's bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionBound {
    /// Hash partition: rows whose hash modulo `modulus` is `remainder`.
    Hash {
        /// The modulus.
        modulus: u64,
        /// The remainder.
        remainder: u64,
    },
    /// Range partition `[from, to)`, one datum per key column.
    Range {
        /// Lower bound (inclusive).
        from: Vec<BoundValue>,
        /// Upper bound (exclusive).
        to: Vec<BoundValue>,
    },
    /// List partition; `None` is `NULL`.
    List(Vec<Option<String>>),
    /// The default partition.
    Default,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(String),
    Punct(char),
}

fn tokens(s: &str) -> Option<Vec<Tok>> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' | b')' | b',' => {
                out.push(Tok::Punct(c as char));
                i += 1;
            }
            b'\'' => {
                let mut v = String::new();
                let mut j = i + 1;
                loop {
                    let k = j + s[j..].find('\'')?;
                    v.push_str(&s[j..k]);
                    if b.get(k + 1) == Some(&b'\'') {
                        v.push('\'');
                        j = k + 2;
                    } else {
                        i = k + 1;
                        break;
                    }
                }
                out.push(Tok::Str(v));
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                // A cast (`'x'::text`): skip the type name, which may have spaces and dots.
                i += 2;
                while i < b.len() && !matches!(b[i], b',' | b')') {
                    i += 1;
                }
            }
            b'-' | b'+' | b'.' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < b.len()
                    && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
                out.push(Tok::Num(s[start..i].to_string()));
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                i += 1;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push(Tok::Word(s[start..i].to_ascii_uppercase()));
            }
            _ => return None,
        }
    }
    Some(out)
}

struct Cursor {
    toks: Vec<Tok>,
    at: usize,
}

impl Cursor {
    fn next(&mut self) -> Option<&Tok> {
        let t = self.toks.get(self.at);
        self.at += 1;
        t
    }
    fn word(&mut self, w: &str) -> Option<()> {
        matches!(self.next(), Some(Tok::Word(x)) if x == w).then_some(())
    }
    fn punct(&mut self, p: char) -> Option<()> {
        matches!(self.next(), Some(Tok::Punct(x)) if *x == p).then_some(())
    }
    /// `( item, item, … )` with `item` read by `f`.
    fn list<T>(&mut self, mut f: impl FnMut(&mut Cursor) -> Option<T>) -> Option<Vec<T>> {
        self.punct('(')?;
        let mut out = vec![f(self)?];
        loop {
            match self.next()? {
                Tok::Punct(',') => out.push(f(self)?),
                Tok::Punct(')') => return Some(out),
                _ => return None,
            }
        }
    }
    fn datum(&mut self) -> Option<Option<String>> {
        match self.next()? {
            Tok::Str(s) | Tok::Num(s) => Some(Some(s.clone())),
            Tok::Word(w) if w == "NULL" => Some(None),
            Tok::Word(w) if w == "TRUE" || w == "FALSE" => Some(Some(w.to_ascii_lowercase())),
            _ => None,
        }
    }
    fn range_value(&mut self) -> Option<BoundValue> {
        match self.toks.get(self.at)? {
            Tok::Word(w) if w == "MINVALUE" => {
                self.at += 1;
                Some(BoundValue::MinValue)
            }
            Tok::Word(w) if w == "MAXVALUE" => {
                self.at += 1;
                Some(BoundValue::MaxValue)
            }
            _ => self.datum()?.map(BoundValue::Value),
        }
    }
    fn hash_part(&mut self, name: &str) -> Option<u64> {
        self.word(name)?;
        match self.next()? {
            Tok::Num(n) => n.parse().ok(),
            _ => None,
        }
    }
}

impl PartitionBound {
    /// Reads a bound as `pg_get_expr` prints it; `None` when it is not one.
    pub fn parse(text: &str) -> Option<PartitionBound> {
        let mut c = Cursor {
            toks: tokens(text)?,
            at: 0,
        };
        let bound = match c.next()? {
            Tok::Word(w) if w == "DEFAULT" => PartitionBound::Default,
            Tok::Word(w) if w == "FOR" => {
                c.word("VALUES")?;
                match c.next()? {
                    Tok::Word(w) if w == "WITH" => {
                        c.punct('(')?;
                        let modulus = c.hash_part("MODULUS")?;
                        c.punct(',')?;
                        let remainder = c.hash_part("REMAINDER")?;
                        c.punct(')')?;
                        PartitionBound::Hash { modulus, remainder }
                    }
                    Tok::Word(w) if w == "FROM" => {
                        let from = c.list(Cursor::range_value)?;
                        c.word("TO")?;
                        let to = c.list(Cursor::range_value)?;
                        PartitionBound::Range { from, to }
                    }
                    Tok::Word(w) if w == "IN" => PartitionBound::List(c.list(Cursor::datum)?),
                    _ => return None,
                }
            }
            _ => return None,
        };
        (c.at == c.toks.len()).then_some(bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> BoundValue {
        BoundValue::Value(s.into())
    }

    #[test]
    fn reads_every_kind_of_bound() {
        assert_eq!(
            PartitionBound::parse("FOR VALUES WITH (modulus 8, remainder 3)"),
            Some(PartitionBound::Hash {
                modulus: 8,
                remainder: 3
            })
        );
        assert_eq!(
            PartitionBound::parse("FOR VALUES FROM (MINVALUE) TO ('it''s')"),
            Some(PartitionBound::Range {
                from: vec![BoundValue::MinValue],
                to: vec![v("it's")]
            })
        );
        assert_eq!(
            PartitionBound::parse("FOR VALUES FROM (-100, 'a') TO (250, MAXVALUE)"),
            Some(PartitionBound::Range {
                from: vec![v("-100"), v("a")],
                to: vec![v("250"), BoundValue::MaxValue]
            })
        );
        assert_eq!(
            PartitionBound::parse(
                "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-02-01 00:00:00+00')"
            ),
            Some(PartitionBound::Range {
                from: vec![v("2024-01-01 00:00:00+00")],
                to: vec![v("2024-02-01 00:00:00+00")]
            })
        );
        assert_eq!(
            PartitionBound::parse("FOR VALUES IN ('a', 'b,c', NULL, 7)"),
            Some(PartitionBound::List(vec![
                Some("a".into()),
                Some("b,c".into()),
                None,
                Some("7".into())
            ]))
        );
        assert_eq!(
            PartitionBound::parse("FOR VALUES IN ('x'::text)"),
            Some(PartitionBound::List(vec![Some("x".into())]))
        );
        assert_eq!(
            PartitionBound::parse("DEFAULT"),
            Some(PartitionBound::Default)
        );
    }

    #[test]
    fn anything_else_is_none_not_a_panic() {
        for s in [
            "",
            "FOR",
            "FOR VALUES",
            "FOR VALUES WITH (modulus 8)",
            "FOR VALUES WITH (modulus x, remainder 1)",
            "FOR VALUES FROM ('a') TO",
            "FOR VALUES FROM ('unterminated) TO ('b')",
            "FOR VALUES IN ()",
            "FOR VALUES IN ('a' 'b')",
            "DEFAULT DEFAULT",
            "FOR VALUES IN ('a') trailing",
            "\u{0}\u{ff}",
        ] {
            assert_eq!(PartitionBound::parse(s), None, "{s:?}");
        }
    }
}
