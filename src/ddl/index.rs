//! Index DDL: `CREATE INDEX CONCURRENTLY IF NOT EXISTS … USING … (…) INCLUDE (…) WHERE …;` and
//! `DROP INDEX CONCURRENTLY IF EXISTS …;`, with deterministic names within PostgreSQL's 63-byte
//! limit and every identifier quoted correctly.

use crate::sql::fingerprint::fnv1a64;
use crate::sql::ident::{quote_ident, quote_qualified};
use serde::Serialize;

/// PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes.
pub const MAX_NAME_BYTES: usize = 63;

/// One key of an index to create.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Key {
    /// A column, by name (quoted as needed).
    Column(String),
    /// An expression, as SQL text (written in parentheses).
    Expr(String),
}

/// A key with its order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct KeySpec {
    /// Column or expression.
    pub key: Key,
    /// DESC.
    pub desc: bool,
    /// `NULLS FIRST` (true) / `NULLS LAST` (false) when it differs from the default.
    pub nulls_first: Option<bool>,
    /// An operator class (`gin_trgm_ops`).
    pub opclass: Option<String>,
}

impl KeySpec {
    /// An ascending column key.
    pub fn column(name: &str) -> Self {
        KeySpec {
            key: Key::Column(name.to_string()),
            desc: false,
            nulls_first: None,
            opclass: None,
        }
    }

    fn sql(&self) -> String {
        let mut s = match &self.key {
            Key::Column(c) => quote_ident(c),
            Key::Expr(e) => format!("({e})"),
        };
        if let Some(op) = &self.opclass {
            s.push(' ');
            s.push_str(op);
        }
        if self.desc {
            s.push_str(" DESC");
        }
        match (self.desc, self.nulls_first) {
            // Defaults: ASC NULLS LAST, DESC NULLS FIRST.
            (false, Some(true)) => s.push_str(" NULLS FIRST"),
            (true, Some(false)) => s.push_str(" NULLS LAST"),
            _ => {}
        }
        s
    }

    fn name_part(&self) -> String {
        let raw = match &self.key {
            Key::Column(c) => c.clone(),
            Key::Expr(e) => e.clone(),
        };
        // Keep letters, digits and underscores; collapse the rest.
        let mut out = String::new();
        for ch in raw.chars() {
            if ch.is_alphanumeric() || ch == '_' {
                out.extend(ch.to_lowercase());
            } else if !out.ends_with('_') {
                out.push('_');
            }
        }
        out.trim_matches('_').to_string()
    }
}

/// An index to create.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct IndexSpec {
    /// Schema of the table.
    pub schema: String,
    /// Table.
    pub table: String,
    /// `btree`, `gin`, `gist`, `brin`, `hash`.
    pub method: String,
    /// Keys.
    pub keys: Vec<KeySpec>,
    /// INCLUDE columns.
    pub include: Vec<String>,
    /// Partial index predicate (SQL).
    pub predicate: Option<String>,
}

/// Cut `s` to at most `max` bytes on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl IndexSpec {
    /// A deterministic name: `<table>_<keys>[_part]_idx`; when that exceeds 63 bytes it is cut
    /// and given 8 hex digits of a hash of the whole definition, so names stay unique.
    pub fn name(&self) -> String {
        let parts: Vec<String> = self.keys.iter().map(KeySpec::name_part).collect();
        let mut base = format!("{}_{}", self.table, parts.join("_"));
        if self.predicate.is_some() {
            base.push_str("_part");
        }
        if self.method != "btree" {
            base.push('_');
            base.push_str(&self.method);
        }
        let full = format!("{base}_idx");
        if full.len() <= MAX_NAME_BYTES {
            return full;
        }
        let hash = fnv1a64(self.create_sql_named("x").as_bytes());
        let suffix = format!("_{:08x}_idx", hash as u32);
        format!("{}{suffix}", cut(&base, MAX_NAME_BYTES - suffix.len()))
    }

    fn create_sql_named(&self, name: &str) -> String {
        let keys: Vec<String> = self.keys.iter().map(KeySpec::sql).collect();
        let mut s = format!(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {} USING {} ({})",
            quote_ident(name),
            self.relation_sql(),
            self.method,
            keys.join(", ")
        );
        if !self.include.is_empty() {
            let inc: Vec<String> = self.include.iter().map(|c| quote_ident(c)).collect();
            s.push_str(&format!(" INCLUDE ({})", inc.join(", ")));
        }
        if let Some(p) = &self.predicate {
            s.push_str(&format!(" WHERE {p}"));
        }
        s.push(';');
        s
    }

    /// The table, schema-qualified when the schema is known (an empty schema: as the search
    /// path finds it, as in a plan read without VERBOSE).
    pub fn relation_sql(&self) -> String {
        if self.schema.is_empty() {
            quote_ident(&self.table)
        } else {
            quote_qualified(&[&self.schema, &self.table])
        }
    }

    /// A plain btree on columns, ascending, no INCLUDE, no predicate.
    pub fn btree(schema: &str, table: &str, cols: &[&str]) -> IndexSpec {
        IndexSpec {
            schema: schema.into(),
            table: table.into(),
            method: "btree".into(),
            keys: cols.iter().map(|c| KeySpec::column(c)).collect(),
            include: vec![],
            predicate: None,
        }
    }

    /// `CREATE INDEX CONCURRENTLY IF NOT EXISTS …;`
    pub fn create_sql(&self) -> String {
        self.create_sql_named(&self.name())
    }

    /// The same index as plain `CREATE INDEX` (what HypoPG takes, and what runs in a transaction).
    pub fn create_sql_plain(&self) -> String {
        self.create_sql().replacen(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ",
            "CREATE INDEX ",
            1,
        )
    }
}

/// `DROP INDEX CONCURRENTLY IF EXISTS schema.name;`
pub fn drop_sql(schema: &str, name: &str) -> String {
    format!(
        "DROP INDEX CONCURRENTLY IF EXISTS {};",
        quote_qualified(&[schema, name])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(table: &str, cols: &[&str]) -> IndexSpec {
        IndexSpec::btree("public", table, cols)
    }

    #[test]
    fn ddl_text_and_names() {
        let mut s = spec("orders", &["user_id", "created_at"]);
        s.keys[1].desc = true;
        s.include = vec!["status".into()];
        assert_eq!(
            s.create_sql(),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_user_id_created_at_idx ON public.orders USING btree (user_id, created_at DESC) INCLUDE (status);"
        );
        let mut p = spec("orders", &["created_at"]);
        p.predicate = Some("status = 'pending'".into());
        assert_eq!(p.name(), "orders_created_at_part_idx");
        let e = IndexSpec {
            keys: vec![KeySpec {
                key: Key::Expr("lower(email)".into()),
                desc: false,
                nulls_first: None,
                opclass: None,
            }],
            ..spec("users", &[])
        };
        assert_eq!(e.name(), "users_lower_email_idx");
        assert_eq!(
            drop_sql("public", "Weird \"Name\""),
            "DROP INDEX CONCURRENTLY IF EXISTS public.\"Weird \"\"Name\"\"\";"
        );
    }

    #[test]
    fn hostile_identifiers_are_quoted_and_names_fit() {
        let s = spec(
            "Order Items ü \"x\"",
            &["Order\"Id", "naïve column", "select"],
        );
        let sql = s.create_sql();
        assert!(
            sql.contains("ON public.\"Order Items ü \"\"x\"\"\""),
            "{sql}"
        );
        assert!(
            sql.contains("(\"Order\"\"Id\", \"naïve column\", \"select\")"),
            "{sql}"
        );
        let long = spec(
            "a_table_with_a_really_long_name_that_goes_on",
            &["and_a_column_with_a_long_name", "another_long_column_name"],
        );
        let n = long.name();
        assert!(n.len() <= MAX_NAME_BYTES, "{n}");
        assert!(n.ends_with("_idx"));
        let other = spec(
            "a_table_with_a_really_long_name_that_goes_on",
            &[
                "and_a_column_with_a_long_name",
                "another_long_column_name_2",
            ],
        );
        assert_ne!(n, other.name(), "hash keeps long names distinct");
        let uni = spec(&"ü".repeat(40), &["c"]);
        assert!(uni.name().len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn generated_sql_parses_again() {
        use sqlparser::dialect::PostgreSqlDialect;
        use sqlparser::parser::Parser;
        let mut s = spec("Order Items", &["Order\"Id", "created_at"]);
        s.keys[1].desc = true;
        s.keys[1].nulls_first = Some(false);
        s.include = vec!["naïve".into()];
        s.predicate = Some("status = 'pending'".into());
        // sqlparser does not know DROP INDEX CONCURRENTLY: parse the rest of it here; the real
        // server runs the whole statement in the index tests.
        let drop = drop_sql("public", &s.name()).replacen(" CONCURRENTLY", "", 1);
        for sql in [s.create_sql(), s.create_sql_plain(), drop] {
            let parsed = Parser::parse_sql(&PostgreSqlDialect {}, &sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert_eq!(parsed.len(), 1, "{sql}");
        }
    }
}
