//! What the migration history says about the schema: tables with their columns (type, default,
//! NOT NULL, generated), constraints with their validity, indexes, and which tables are
//! partitioned. Built by replaying statements (`--history` migrations, a `pg_dump --schema-only`
//! file, and the checked files as they go), from tokens, so syntax a parser lacks is skipped
//! rather than fatal. Names are kept unqualified: the schema part is dropped.

use super::locks::subcommands;
use super::words::{has, parens, split_commas};
use super::Stmt;
use std::collections::HashMap;

/// A column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Column {
    /// The type, normalised (see [`SqlType`]).
    pub sql_type: SqlType,
    /// NOT NULL (declared, or part of the primary key).
    pub not_null: bool,
    /// Has a default.
    pub default: bool,
    /// A generated column (stored expression or identity).
    pub generated: bool,
}

/// A constraint of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// Its name.
    pub name: String,
    /// `check`, `foreign-key`, `unique`, `primary-key`, `exclude`.
    pub kind: &'static str,
    /// Validated (existing rows checked).
    pub valid: bool,
    /// For `CHECK (col IS NOT NULL)`: the column.
    pub not_null_of: Option<String>,
}

/// Where the schema learned of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Already deployed: the history, the schema dump, or an earlier checked file.
    Deployed,
    /// Created by the file being checked (new and empty).
    ThisFile,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableInfo {
    /// Columns by name, in order.
    pub columns: Vec<(String, Column)>,
    /// Constraints.
    pub constraints: Vec<Constraint>,
    /// `PARTITION BY`.
    pub partitioned: bool,
    /// Where it came from.
    pub origin: Origin,
}

impl TableInfo {
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    fn column_mut(&mut self, name: &str) -> Option<&mut Column> {
        self.columns
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
    }
}

/// A column type, normalised: the base name with PostgreSQL's aliases folded (`int4`,
/// `integer` and `int` are `integer`; `character varying` is `varchar`; `timestamp with time
/// zone` is `timestamptz`), its modifiers, and whether it is an array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqlType {
    /// The base name (empty: unknown).
    pub base: String,
    /// Type modifiers: `varchar(20)` has `[20]`, `numeric(10,2)` `[10, 2]`.
    pub mods: Vec<u32>,
    /// `[]`.
    pub array: bool,
}

impl std::fmt::Display for SqlType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.base)?;
        if !self.mods.is_empty() {
            let m: Vec<String> = self.mods.iter().map(u32::to_string).collect();
            write!(f, "({})", m.join(","))?;
        }
        if self.array {
            f.write_str("[]")?;
        }
        Ok(())
    }
}

impl SqlType {
    /// Read a type from its words (lowercased tokens), up to the first word that is not part of
    /// it. Returns the type and how many words it took.
    pub fn read(w: &[String]) -> (SqlType, usize) {
        let word = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
        let mut i = 0;
        // A qualified name: keep the last part.
        while word(i + 1) == "." && !word(i + 2).is_empty() {
            i += 2;
        }
        let (base, mut n) = match (word(i), word(i + 1)) {
            ("character" | "char", "varying") => ("varchar", i + 2),
            ("bit", "varying") => ("varbit", i + 2),
            ("double", "precision") => ("float8", i + 2),
            (b, _) => (
                match b {
                    "int" | "int4" | "integer" | "serial" | "serial4" => "integer",
                    "int8" | "bigint" | "bigserial" | "serial8" => "bigint",
                    "int2" | "smallint" | "smallserial" | "serial2" => "smallint",
                    "decimal" => "numeric",
                    "bool" => "boolean",
                    "float" | "real" | "float4" => "float4",
                    "char" | "character" | "bpchar" => "char",
                    other => other,
                },
                i + 1,
            ),
        };
        let mut base = base.to_string();
        let mut mods = Vec::new();
        if word(n) == "(" {
            let mut k = n + 1;
            while let Ok(v) = word(k).parse::<u32>() {
                mods.push(v);
                k += 1;
                if word(k) == "," {
                    k += 1;
                }
            }
            if word(k) == ")" {
                n = k + 1;
            }
        }
        if matches!(base.as_str(), "timestamp" | "time") {
            match (word(n), word(n + 1), word(n + 2)) {
                ("with", "time", "zone") => {
                    base.push_str("tz");
                    n += 3;
                }
                ("without", "time", "zone") => n += 3,
                _ => {}
            }
        }
        let mut array = false;
        while word(n) == "[" {
            array = true;
            n += 1;
            while !word(n).is_empty() && word(n) != "]" {
                n += 1;
            }
            n += 1;
        }
        if word(n) == "array" {
            array = true;
            n += 1;
        }
        (SqlType { base, mods, array }, n.min(w.len()))
    }
}

/// The schema known at a point of the migration.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// Tables by unqualified name.
    pub tables: HashMap<String, TableInfo>,
    /// Index name → table name (unqualified).
    pub indexes: HashMap<String, String>,
    /// Partitions' parents: partition → parent.
    pub parents: HashMap<String, String>,
    /// Functions created in the history (unqualified name) that are declared STABLE or
    /// IMMUTABLE: `true`; declared or left VOLATILE: `false`.
    pub functions: HashMap<String, bool>,
}

/// The unqualified part of a name.
pub fn short(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// A column definition: `name type [constraints…]`.
fn column_def(def: &[String]) -> Option<(String, Column)> {
    let name = def.first()?.clone();
    let (sql_type, n) = SqlType::read(&def[1..]);
    let rest = &def[(1 + n).min(def.len())..];
    Some((
        name,
        Column {
            sql_type,
            not_null: has(rest, &["not", "null"]) || has(rest, &["primary", "key"]),
            default: rest.iter().any(|x| x == "default"),
            generated: rest.iter().any(|x| x == "generated"),
        },
    ))
}

/// The column of a `CHECK (col IS NOT NULL)` body (with any parentheses around it).
pub fn not_null_check(body: &[String]) -> Option<String> {
    let bare: Vec<&String> = body.iter().filter(|x| *x != "(" && *x != ")").collect();
    match bare.as_slice() {
        [col, is, not, null] if *is == "is" && *not == "not" && *null == "null" => {
            Some((*col).clone())
        }
        _ => None,
    }
}

/// A table constraint (`[CONSTRAINT name] CHECK (…) | FOREIGN KEY … | UNIQUE … | PRIMARY KEY …`).
fn constraint(def: &[String], table: &str) -> Option<Constraint> {
    let (name, body) = if def.first().map(String::as_str) == Some("constraint") {
        (def.get(1).cloned(), def.get(2..).unwrap_or(&[]))
    } else {
        (None, def)
    };
    let kind = match body.first().map(String::as_str)? {
        "check" => "check",
        "foreign" => "foreign-key",
        "unique" => "unique",
        "primary" => "primary-key",
        "exclude" => "exclude",
        _ => return None,
    };
    let not_null_of = if kind == "check" {
        not_null_check(parens(body, 1).0)
    } else {
        None
    };
    // PostgreSQL's names for unnamed constraints: t_pkey, t_col_check, t_col_key, t_col_fkey.
    let cols = |from: usize| -> String {
        let (inside, _) = parens(body, from);
        inside
            .iter()
            .filter(|w| *w != ",")
            .cloned()
            .collect::<Vec<_>>()
            .join("_")
    };
    let default_name = match kind {
        "primary-key" => format!("{table}_pkey"),
        "check" => match &not_null_of {
            Some(c) => format!("{table}_{c}_check"),
            None => format!("{table}_check"),
        },
        "unique" => format!("{table}_{}_key", cols(1)),
        "foreign-key" => format!("{table}_{}_fkey", cols(2)),
        _ => format!("{table}_excl"),
    };
    Some(Constraint {
        name: name.unwrap_or(default_name),
        kind,
        valid: !has(body, &["not", "valid"]),
        not_null_of,
    })
}

impl Schema {
    /// A table by (possibly qualified) name.
    pub fn table(&self, name: &str) -> Option<&TableInfo> {
        self.tables.get(short(name))
    }

    /// The table of an index, by (possibly qualified) index name.
    pub fn table_of_index(&self, index: &str) -> Option<&str> {
        self.indexes.get(short(index)).map(String::as_str)
    }

    /// Whether the history declares function `name` STABLE or IMMUTABLE (`None`: not known).
    pub fn function_not_volatile(&self, name: &str) -> Option<bool> {
        self.functions.get(short(name)).copied()
    }

    /// Mark every table deployed (at the end of a file).
    pub fn deploy(&mut self) {
        for t in self.tables.values_mut() {
            t.origin = Origin::Deployed;
        }
    }

    /// Replay one statement.
    pub fn apply(&mut self, s: &Stmt, origin: Origin) {
        let w = &s.words;
        if s.starts(&["create"]) && s.find(&["table"]).is_some_and(|i| i <= 4) {
            self.create_table(s, origin);
        } else if let Some(t) = s.altered_table() {
            self.alter_table(s, short(&t).to_string());
        } else if s.starts(&["drop", "table"]) {
            let mut i = 2;
            while let Some(x) = w.get(i) {
                if matches!(x.as_str(), "if" | "exists" | "," | ".") {
                    i += 1;
                    continue;
                }
                if matches!(x.as_str(), "cascade" | "restrict" | ";") {
                    break;
                }
                if w.get(i + 1).map(String::as_str) != Some(".") {
                    self.tables.remove(x.as_str());
                }
                i += 1;
            }
        } else if (s.starts(&["create", "index"]) || s.starts(&["create", "unique", "index"]))
            && s.has(&["on"])
        {
            let on = s.find(&["on"]).unwrap_or(0);
            let name = w[..on]
                .iter()
                .rev()
                .find(|x| {
                    !matches!(
                        x.as_str(),
                        "index" | "concurrently" | "exists" | "not" | "if" | "unique" | "create"
                    )
                })
                .filter(|x| *x != ".")
                .cloned();
            if let (Some(n), Some(t)) = (name, s.name_after(&["on"])) {
                self.indexes
                    .insert(short(&n).to_string(), short(&t).to_string());
            }
        } else if s.starts(&["create", "function"])
            || s.starts(&["create", "or", "replace", "function"])
        {
            if let Some(f) = s.name_after(&["function"]) {
                // The attributes are outside the body (a dollar-quoted string is one token).
                let not_volatile = s.has(&["immutable"]) || s.has(&["stable"]);
                self.functions
                    .insert(short(&f).to_string(), not_volatile && !s.has(&["volatile"]));
            }
        } else if s.starts(&["drop", "index"]) {
            if let Some(i) = s.name_after(&["index"]) {
                self.indexes.remove(short(&i));
            }
        } else if s.starts(&["alter", "index"]) && s.has(&["rename", "to"]) {
            if let (Some(old), Some(new)) =
                (s.name_after(&["index"]), s.name_after(&["rename", "to"]))
            {
                if let Some(t) = self.indexes.remove(short(&old)) {
                    self.indexes.insert(short(&new).to_string(), t);
                }
            }
        }
    }

    fn create_table(&mut self, s: &Stmt, origin: Origin) {
        let Some(name) = s.name_after(&["table"]) else {
            return;
        };
        let name = short(&name).to_string();
        let w = &s.words;
        let mut t = TableInfo {
            columns: Vec::new(),
            constraints: Vec::new(),
            partitioned: s.has(&["partition", "by"]),
            origin,
        };
        if let Some(parent) = s.name_after(&["partition", "of"]) {
            let parent = short(&parent).to_string();
            if let Some(p) = self.tables.get(&parent) {
                t.columns = p.columns.clone();
            }
            self.parents.insert(name.clone(), parent);
        } else if let Some(open) = w
            .iter()
            .position(|x| x == "(")
            .filter(|&open| !w[..open].iter().any(|x| x == "as"))
        {
            for def in split_commas(parens(w, open).0) {
                if let Some(c) = constraint(def, &name) {
                    if c.kind == "primary-key" {
                        let key = def
                            .iter()
                            .position(|x| x == "key")
                            .map(|k| parens(def, k + 1).0);
                        for col in key.unwrap_or(&[]) {
                            if let Some(c) = t.column_mut(col) {
                                c.not_null = true;
                            }
                        }
                    }
                    t.constraints.push(c);
                } else if !matches!(def[0].as_str(), "like" | "exclude") {
                    if let Some(c) = column_def(def) {
                        t.columns.push(c);
                    }
                }
            }
        }
        self.tables.insert(name, t);
    }

    fn alter_table(&mut self, s: &Stmt, table: String) {
        if let Some(to) = s.name_after(&["rename", "to"]) {
            if !s.has(&["column"]) && !s.has(&["constraint"]) {
                let subs = subcommands(s);
                if subs.len() == 1
                    && subs[0].first().map(String::as_str) == Some("rename")
                    && subs[0].get(1).map(String::as_str) == Some("to")
                {
                    if let Some(t) = self.tables.remove(&table) {
                        self.tables.insert(short(&to).to_string(), t);
                    }
                    return;
                }
            }
        }
        for c in subcommands(s) {
            self.subcommand(&table, c);
        }
    }

    fn subcommand(&mut self, table: &str, c: &[String]) {
        let word = |i: usize| c.get(i).map(String::as_str).unwrap_or("");
        if word(0) == "attach" && word(1) == "partition" {
            if let Some(p) = c.get(2) {
                self.parents.insert(short(p).to_string(), table.to_string());
            }
            return;
        }
        if word(0) == "detach" && word(1) == "partition" {
            if let Some(p) = c.get(2) {
                self.parents.remove(short(p));
            }
            return;
        }
        // A table altered before any CREATE was seen existed before: remember what is learned.
        let t = self
            .tables
            .entry(table.to_string())
            .or_insert_with(|| TableInfo {
                columns: Vec::new(),
                constraints: Vec::new(),
                partitioned: false,
                origin: Origin::Deployed,
            });
        match word(0) {
            "add" => {
                let mut i = 1;
                if word(1) == "column" {
                    i = 2;
                }
                if word(i) == "if" {
                    i += 3;
                }
                if let Some(k) = constraint(&c[i.min(c.len())..], table) {
                    t.constraints.retain(|x| x.name != k.name);
                    t.constraints.push(k);
                } else if let Some(col) = column_def(&c[i.min(c.len())..]) {
                    t.columns.retain(|(n, _)| *n != col.0);
                    t.columns.push(col);
                }
            }
            "drop" if word(1) == "constraint" => {
                let n = if word(2) == "if" { word(4) } else { word(2) };
                t.constraints.retain(|x| x.name != n);
            }
            "drop" => {
                let mut i = 1;
                if word(1) == "column" {
                    i = 2;
                }
                if word(i) == "if" {
                    i += 2;
                }
                let n = word(i).to_string();
                t.columns.retain(|(x, _)| *x != n);
            }
            "validate" if word(1) == "constraint" => {
                if let Some(k) = t.constraints.iter_mut().find(|k| k.name == word(2)) {
                    k.valid = true;
                }
            }
            "rename" if word(1) == "constraint" => {
                let (old, new) = (word(2).to_string(), word(4).to_string());
                if let Some(k) = t.constraints.iter_mut().find(|k| k.name == old) {
                    k.name = new;
                }
            }
            "rename" => {
                let i = if word(1) == "column" { 2 } else { 1 };
                let (old, new) = (word(i).to_string(), word(i + 2).to_string());
                if let Some(col) = t.columns.iter_mut().find(|(n, _)| *n == old) {
                    col.0 = new;
                }
            }
            "alter" => {
                let i = if word(1) == "column" { 2 } else { 1 };
                let col = word(i).to_string();
                let rest = &c[(i + 1).min(c.len())..];
                let Some(column) = t.column_mut(&col) else {
                    return;
                };
                let r = |k: usize| rest.get(k).map(String::as_str).unwrap_or("");
                match (r(0), r(1), r(2)) {
                    ("type", ..) => column.sql_type = SqlType::read(&rest[1..]).0,
                    ("set", "data", "type") => column.sql_type = SqlType::read(&rest[3..]).0,
                    ("set", "not", "null") => column.not_null = true,
                    ("drop", "not", "null") => column.not_null = false,
                    ("set", "default", _) => column.default = true,
                    ("drop", "default", _) => column.default = false,
                    ("add", "generated", _) => column.generated = true,
                    ("drop", "identity" | "expression", _) => column.generated = false,
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::stmt;
    use super::*;

    fn ty(s: &str) -> String {
        let w: Vec<String> = crate::sql::lexer::Lexer::new(s)
            .filter(|t| !t.kind.is_trivia())
            .map(|t| t.text(s).to_ascii_lowercase())
            .collect();
        SqlType::read(&w).0.to_string()
    }

    #[test]
    fn types_are_normalised() {
        assert_eq!(ty("character varying(20)"), "varchar(20)");
        assert_eq!(ty("int4"), "integer");
        assert_eq!(ty("numeric(10, 2)"), "numeric(10,2)");
        assert_eq!(ty("timestamp with time zone"), "timestamptz");
        assert_eq!(ty("timestamp(3) without time zone"), "timestamp(3)");
        assert_eq!(ty("text[]"), "text[]");
        assert_eq!(ty("pg_catalog.int8"), "bigint");
        assert_eq!(ty("bigserial"), "bigint");
    }

    #[test]
    fn broken_constraints_are_read_without_panicking() {
        let mut s = Schema::default();
        for sql in [
            "CREATE TABLE t (a int, CONSTRAINT c CHECK ) NOT VALID)",
            "ALTER TABLE accounts ADD CONSTRAINT c CHECK ) NOT VALID",
            "ALTER TABLE accounts ADD CONSTRAINT c FOREIGN",
            "ALTER TABLE accounts ADD UNIQUE",
            "CREATE TABLE u (CONSTRAINT k PRIMARY KEY",
        ] {
            s.apply(&stmt(sql), Origin::Deployed);
        }
        assert!(s.table("accounts").is_some());
    }

    #[test]
    fn replays_a_pg_dump() {
        let mut s = Schema::default();
        for sql in [
            "CREATE TABLE public.accounts (\n id bigint NOT NULL,\n email character varying(100),\n score numeric(10,2) DEFAULT 0\n)",
            "ALTER TABLE ONLY public.accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY (id)",
            "ALTER TABLE public.accounts ADD CONSTRAINT email_nn CHECK ((email IS NOT NULL)) NOT VALID",
            "CREATE TABLE public.events (id bigint, at timestamptz) PARTITION BY RANGE (at)",
            "CREATE INDEX accounts_email ON public.accounts USING btree (email)",
        ] {
            s.apply(&stmt(sql), Origin::Deployed);
        }
        let a = s.table("public.accounts").unwrap();
        assert_eq!(
            a.column("email").unwrap().sql_type.to_string(),
            "varchar(100)"
        );
        assert!(a.column("score").unwrap().default);
        let k = a.constraints.iter().find(|k| k.name == "email_nn").unwrap();
        assert_eq!((k.valid, k.not_null_of.as_deref()), (false, Some("email")));
        assert!(s.table("events").unwrap().partitioned);
        assert_eq!(s.table_of_index("accounts_email"), Some("accounts"));
        s.apply(
            &stmt("ALTER TABLE accounts VALIDATE CONSTRAINT email_nn"),
            Origin::ThisFile,
        );
        s.apply(
            &stmt("ALTER TABLE accounts ALTER COLUMN email TYPE text"),
            Origin::ThisFile,
        );
        let a = s.table("accounts").unwrap();
        assert!(a
            .constraints
            .iter()
            .any(|k| k.name == "email_nn" && k.valid));
        assert_eq!(a.column("email").unwrap().sql_type.to_string(), "text");
    }
}
