//! The catalog model: tables with their columns, statistics and activity, indexes with their keys
//! and usage, foreign keys. Loaded from a live server by `db::catalog`; rules and the index
//! advisor read it without a connection.

use serde::Serialize;

/// A column.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Column {
    /// Name.
    pub name: String,
    /// Type as `format_type` prints it.
    pub type_name: String,
    /// NOT NULL.
    pub not_null: bool,
    /// Physical order correlation from pg_stats (BRIN fits near ±1).
    pub correlation: Option<f64>,
    /// Distinct values from pg_stats (negative: a fraction of rows).
    pub n_distinct: Option<f64>,
    /// Share of NULLs.
    pub null_frac: Option<f64>,
}

/// A table (or partitioned table) as the planner sees it: size, rows, scan and write counts, and
/// per-column statistics, which index advice and hygiene read. Its definition (defaults,
/// constraints, owned sequences) is [`crate::ddl::table::TableDef`] from a schema file and
/// [`crate::ddl::table::ConvertSource`] from a live catalog, which share one column model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Table {
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Estimated rows (reltuples).
    pub rows: f64,
    /// Total size with indexes and TOAST, bytes.
    pub size_bytes: i64,
    /// Sequential scans since the stats reset.
    pub seq_scan: i64,
    /// Index scans since the stats reset.
    pub idx_scan: i64,
    /// Rows inserted.
    pub n_tup_ins: i64,
    /// Rows updated.
    pub n_tup_upd: i64,
    /// Rows deleted.
    pub n_tup_del: i64,
}

impl Table {
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Writes since the stats reset.
    pub fn writes(&self) -> i64 {
        self.n_tup_ins + self.n_tup_upd + self.n_tup_del
    }
}

/// An index key: a column or an expression, with its order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IndexKey {
    /// The column name, when the key is a plain column.
    pub column: Option<String>,
    /// The key as `pg_get_indexdef` prints it (column name or expression).
    pub text: String,
    /// DESC.
    pub desc: bool,
    /// NULLS FIRST.
    pub nulls_first: bool,
}

/// An index.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Index {
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// Table name (same schema).
    pub table: String,
    /// `btree`, `gin`, `brin`…
    pub method: String,
    /// Key columns/expressions.
    pub keys: Vec<IndexKey>,
    /// INCLUDE columns.
    pub include: Vec<String>,
    /// Partial index predicate.
    pub predicate: Option<String>,
    /// UNIQUE.
    pub unique: bool,
    /// PRIMARY KEY.
    pub primary: bool,
    /// Usable (a failed CREATE INDEX CONCURRENTLY leaves it invalid).
    pub valid: bool,
    /// The constraint it backs, if any.
    pub constraint: Option<String>,
    /// Scans since the stats reset.
    pub scans: i64,
    /// Size, bytes.
    pub size_bytes: i64,
    /// `CREATE INDEX …` as the server prints it.
    pub definition: String,
}

impl Index {
    /// The key texts with their order, for comparing definitions.
    pub fn key_signature(&self) -> Vec<(String, bool, bool)> {
        self.keys
            .iter()
            .map(|k| (k.text.clone(), k.desc, k.nulls_first))
            .collect()
    }

    /// Whether dropping it would drop a uniqueness guarantee or a constraint.
    pub fn enforces_something(&self) -> bool {
        self.unique || self.primary || self.constraint.is_some()
    }
}

/// A foreign key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ForeignKey {
    /// Schema of the referencing table.
    pub schema: String,
    /// The referencing table.
    pub table: String,
    /// Constraint name.
    pub name: String,
    /// Referencing columns, in order.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references: String,
}

/// What the server's catalog says.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Catalog {
    /// Database name.
    pub database: String,
    /// server_version_num.
    pub version_num: i32,
    /// Tables.
    pub tables: Vec<Table>,
    /// Indexes.
    pub indexes: Vec<Index>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKey>,
    /// When the statistics were last reset (ISO 8601), or the server started if never.
    pub stats_since: Option<String>,
    /// Days since then.
    pub stats_age_days: Option<f64>,
    /// Installed extensions.
    pub extensions: Vec<String>,
}

impl Catalog {
    /// A table by (optionally schema-qualified) name; unqualified names search `public` first.
    pub fn table(&self, name: &str) -> Option<&Table> {
        match name.split_once('.') {
            Some((s, n)) => self.tables.iter().find(|t| t.schema == s && t.name == n),
            None => self
                .tables
                .iter()
                .find(|t| t.schema == "public" && t.name == name)
                .or_else(|| self.tables.iter().find(|t| t.name == name)),
        }
    }

    /// The valid indexes of a table.
    pub fn indexes_of<'a>(&'a self, t: &'a Table) -> impl Iterator<Item = &'a Index> + 'a {
        self.indexes
            .iter()
            .filter(move |i| i.schema == t.schema && i.table == t.name && i.valid)
    }

    /// Whether an extension is installed.
    pub fn has_extension(&self, name: &str) -> bool {
        self.extensions.iter().any(|e| e == name)
    }
}
