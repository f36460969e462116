//! Reading a table's definition from a `CREATE TABLE` statement (a `--schema` file): columns,
//! types, primary key and unique constraints, identity columns, and where the column list ends
//! (so a `PARTITION BY` clause can be put right after it).

use crate::sql::lexer::{Lexer, TokenKind};
use serde::Serialize;
use sqlparser::ast::{ColumnOption, CreateTable, Statement, TableConstraint};

/// Errors reading a table definition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// No such table in the file.
    #[error("no CREATE TABLE for {0} in the schema")]
    NotFound(String),
    /// The statement could not be parsed.
    #[error("the CREATE TABLE for {table} does not parse: {message}")]
    Parse {
        /// The table.
        table: String,
        /// The parser's message, with the statement's position.
        message: String,
    },
    /// No readable CREATE TABLE for the table, and statements of the file could not be read:
    /// the first one is named, since it may be the table's.
    #[error("no CREATE TABLE for {table} could be read: the statement at line {line}, column {column} {message}")]
    Unreadable {
        /// The table.
        table: String,
        /// Where the unreadable statement starts.
        line: usize,
        /// Its column.
        column: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// A column of a table definition, from a schema file or a live table's catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ColumnDef {
    /// Name (as PostgreSQL folds it).
    pub name: String,
    /// Type as written (`timestamptz`, `bigint`, `varchar(20)`), or as `format_type` prints it.
    pub type_name: String,
    /// Declared `NOT NULL` (or part of the primary key).
    pub not_null: bool,
    /// The `DEFAULT` expression.
    pub default: Option<String>,
    /// `GENERATED … AS IDENTITY`.
    pub identity: bool,
}

/// A named object of a table with its definition as the server prints it (a CHECK constraint,
/// an index, a view on the table, a trigger).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NamedDef {
    /// Its name (a view's is schema-qualified).
    pub name: String,
    /// `CHECK (…)`, `CREATE INDEX …`, the view's query, `CREATE TRIGGER …`.
    pub definition: String,
}

/// A unique constraint other than the primary key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UniqueKey {
    /// The constraint's name.
    pub name: String,
    /// Its columns in order.
    pub columns: Vec<String>,
}

/// A sequence owned by a column (`serial`, `OWNED BY`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OwnedSequence {
    /// The sequence, schema-qualified.
    pub sequence: String,
    /// The owning column.
    pub column: String,
}

/// A foreign key of another table that references this one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForeignKeyRef {
    /// The constraint's name.
    pub constraint: String,
    /// The referencing table, schema-qualified.
    pub table: String,
}

/// A table definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDef {
    /// Schema, when qualified.
    pub schema: Option<String>,
    /// Name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<ColumnDef>,
    /// Primary key columns.
    pub primary_key: Vec<String>,
    /// Unique constraints' columns.
    pub unique: Vec<Vec<String>>,
    /// The statement's text.
    pub sql: String,
    /// Byte offset in `sql` just after the column list's closing parenthesis.
    pub columns_end: usize,
    /// Statements the table needs first (the sequences of its serial columns).
    pub preamble: Vec<String>,
    /// `CREATE INDEX` statements on the table found in the schema, as written.
    pub indexes: Vec<String>,
}

impl TableDef {
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

fn ident(i: &sqlparser::ast::Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_ascii_lowercase()
    }
}

fn index_columns(cols: &[sqlparser::ast::IndexColumn]) -> Vec<String> {
    cols.iter()
        .map(|c| match &c.column.expr {
            sqlparser::ast::Expr::Identifier(i) => ident(i),
            other => other.to_string(),
        })
        .collect()
}

/// Find `CREATE TABLE <table>` in `schema_sql` (`table` may be schema-qualified) and read it.
pub fn find(schema_sql: &str, table: &str) -> Result<TableDef, TableError> {
    let want = table.rsplit('.').next().unwrap_or(table);
    let mut found = None;
    let mut indexes = Vec::new();
    let mut unreadable: Option<(usize, usize, String, bool)> = None;
    for st in crate::sql::split(schema_sql).statements {
        let parsed = crate::sql::parse_statement(st.text);
        if let Err(e) = &parsed {
            // Is it the table's own statement? `CREATE … TABLE … <name>` from its tokens.
            let words: Vec<String> = Lexer::new(st.text)
                .filter(|t| matches!(t.kind, TokenKind::Word | TokenKind::QuotedIdent))
                .take(12)
                .map(|t| {
                    let s = t.text(st.text);
                    if t.kind == TokenKind::QuotedIdent {
                        s.trim_matches('"').replace("\"\"", "\"")
                    } else {
                        s.to_ascii_lowercase()
                    }
                })
                .collect();
            let is_create_table = words.first().map(String::as_str) == Some("create")
                && words.iter().any(|w| w == "table");
            let names_it = is_create_table && words.iter().any(|w| w == want);
            let message = match &st.problem {
                Some(p) => p.clone(),
                None => format!("does not parse: {e}"),
            };
            let better = unreadable.as_ref().is_none_or(|u| !u.3 && names_it);
            if better {
                unreadable = Some((st.span.start.line, st.span.start.column, message, names_it));
            }
        }
        match parsed {
            Ok(Statement::CreateTable(ct)) if found.is_none() => {
                let parts: Vec<String> = ct
                    .name
                    .0
                    .iter()
                    .map(|p| p.as_ident().map(ident).unwrap_or_default())
                    .collect();
                if parts.last().map(String::as_str) == Some(want) {
                    found = Some(from_ast(&ct, parts, st.text));
                }
            }
            Ok(Statement::CreateIndex(ci)) => {
                let on = ci.table_name.0.last().and_then(|p| p.as_ident()).map(ident);
                if on.as_deref() == Some(want) {
                    indexes.push(st.text.to_string());
                }
            }
            _ => {}
        }
    }
    let mut def = match (found, unreadable) {
        (Some(d), _) => d,
        (None, Some((line, column, message, _))) => {
            return Err(TableError::Unreadable {
                table: table.to_string(),
                line,
                column,
                message,
            })
        }
        (None, None) => return Err(TableError::NotFound(table.to_string())),
    };
    def.indexes = indexes;
    Ok(def)
}

fn from_ast(ct: &CreateTable, parts: Vec<String>, sql: &str) -> TableDef {
    let mut primary_key = Vec::new();
    let mut unique = Vec::new();
    let columns = ct
        .columns
        .iter()
        .map(|c| {
            let name = ident(&c.name);
            let mut identity = false;
            let mut not_null = false;
            let mut default = None;
            for o in &c.options {
                match &o.option {
                    ColumnOption::NotNull => not_null = true,
                    ColumnOption::Default(e) => default = Some(e.to_string()),
                    ColumnOption::PrimaryKey(_) => {
                        not_null = true;
                        primary_key = vec![name.clone()];
                    }
                    ColumnOption::Unique(_) => unique.push(vec![name.clone()]),
                    ColumnOption::Identity(_) => identity = true,
                    // PostgreSQL's GENERATED … AS IDENTITY (a stored generated column has an expression).
                    ColumnOption::Generated {
                        generation_expr: None,
                        ..
                    } => identity = true,
                    _ => {}
                }
            }
            ColumnDef {
                name,
                type_name: c.data_type.to_string().to_lowercase(),
                not_null,
                default,
                identity,
            }
        })
        .collect::<Vec<_>>();
    let mut columns = columns;
    for con in &ct.constraints {
        match con {
            TableConstraint::PrimaryKey(c) => primary_key = index_columns(&c.columns),
            TableConstraint::Unique(c) => unique.push(index_columns(&c.columns)),
            _ => {}
        }
    }
    for c in &mut columns {
        c.not_null |= primary_key.contains(&c.name);
    }
    // The end of the column list: the `)` that closes the first `(` after the name.
    let mut depth = 0usize;
    let mut columns_end = sql.len();
    for t in Lexer::new(sql) {
        match t.kind {
            TokenKind::LParen => depth += 1,
            TokenKind::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    columns_end = t.end;
                    break;
                }
            }
            _ => {}
        }
    }
    let (schema, name) = match parts.len() {
        0 | 1 => (None, parts.into_iter().next().unwrap_or_default()),
        _ => (
            Some(parts[parts.len() - 2].clone()),
            parts[parts.len() - 1].clone(),
        ),
    };
    TableDef {
        schema,
        name,
        columns,
        primary_key,
        unique,
        sql: sql.to_string(),
        columns_end,
        preamble: Vec::new(),
        indexes: Vec::new(),
    }
}

impl TableDef {
    /// A definition rebuilt from a live table's catalog entries (for `--url` input).
    pub fn from_source(src: &ConvertSource) -> TableDef {
        use crate::sql::ident::{quote_ident, quote_qualified};
        let mut parts: Vec<String> = src
            .columns
            .iter()
            .map(|c| {
                let mut s = format!("{} {}", quote_ident(&c.name), c.type_name);
                if c.not_null {
                    s.push_str(" NOT NULL");
                }
                if c.identity {
                    s.push_str(" GENERATED BY DEFAULT AS IDENTITY");
                } else if let Some(d) = &c.default {
                    s.push_str(&format!(" DEFAULT {d}"));
                }
                s
            })
            .collect();
        let list = |c: &[String]| {
            c.iter()
                .map(|x| quote_ident(x))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !src.primary_key.is_empty() {
            parts.push(format!("PRIMARY KEY ({})", list(&src.primary_key)));
        }
        for u in &src.unique {
            parts.push(format!("UNIQUE ({})", list(&u.columns)));
        }
        let sql = format!(
            "CREATE TABLE {} ({})",
            quote_qualified(&[&src.schema, &src.table]),
            parts.join(", ")
        );
        TableDef {
            schema: Some(src.schema.clone()),
            name: src.table.clone(),
            columns: src.columns.clone(),
            primary_key: src.primary_key.clone(),
            unique: src.unique.iter().map(|u| u.columns.clone()).collect(),
            columns_end: sql.len(),
            sql,
            // Identity sequences come with their columns; only the others are created first.
            preamble: src
                .sequences
                .iter()
                .filter(|o| !src.columns.iter().any(|c| c.identity && c.name == o.column))
                .map(|o| format!("CREATE SEQUENCE IF NOT EXISTS {};", o.sequence))
                .collect(),
            indexes: Vec::new(),
        }
    }
}

/// What the catalog says about a live table (read by `db::partitions::convert_source`): what
/// `partition create --url` and `partition convert` build from.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConvertSource {
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// Columns in order.
    pub columns: Vec<ColumnDef>,
    /// Primary key columns.
    pub primary_key: Vec<String>,
    /// The primary key constraint's name.
    pub primary_key_name: Option<String>,
    /// Unique constraints other than the primary key.
    pub unique: Vec<UniqueKey>,
    /// CHECK constraints (definitions as `CHECK (…)`).
    pub checks: Vec<NamedDef>,
    /// Other indexes (definitions as `pg_get_indexdef` prints them).
    pub indexes: Vec<NamedDef>,
    /// Sequences owned by a column.
    pub sequences: Vec<OwnedSequence>,
    /// Foreign keys that reference the table.
    pub referenced_by: Vec<ForeignKeyRef>,
    /// Views on the table (schema-qualified names, their queries).
    pub views: Vec<NamedDef>,
    /// Row triggers.
    pub triggers: Vec<NamedDef>,
    /// Whether it is already partitioned.
    pub partitioned: bool,
    /// Estimated rows.
    pub rows: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_columns_keys_and_identity() {
        let schema = "CREATE TABLE other (x int);\n\
            CREATE TABLE public.\"Events\" (id bigint GENERATED ALWAYS AS IDENTITY, \"At\" timestamptz NOT NULL, kind text UNIQUE DEFAULT 'view',\n\
            payload jsonb, PRIMARY KEY (id, \"At\")) WITH (fillfactor = 90);";
        let t = find(schema, "Events").unwrap();
        assert_eq!(t.schema.as_deref(), Some("public"));
        assert_eq!(t.primary_key, vec!["id", "At"]);
        assert_eq!(t.unique, vec![vec!["kind".to_string()]]);
        assert!(t.column("id").unwrap().identity);
        assert_eq!(t.column("At").unwrap().type_name, "timestamptz");
        // NOT NULL as declared, and implied by the table's primary key.
        assert!(t.column("At").unwrap().not_null && t.column("id").unwrap().not_null);
        assert!(!t.column("payload").unwrap().not_null);
        assert_eq!(t.column("kind").unwrap().default.as_deref(), Some("'view'"));
        assert_eq!(t.column("payload").unwrap().default, None);
        assert!(t.sql[t.columns_end..].trim_start().starts_with("WITH"));
        assert!(matches!(find(schema, "nope"), Err(TableError::NotFound(_))));
    }
}
