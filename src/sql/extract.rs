//! What a parsed statement touches: tables (read or written), columns, predicate shapes
//! (column, operator, operand kind), sort and grouping keys and whether it has a LIMIT.
//!
//! Index advice and read routing build on this. Names are resolved through the aliases and
//! scopes of each SELECT; an unqualified column is attributed to the only table in scope, and
//! left unattributed (`table: null`) when several tables could own it.

use serde::Serialize;
use sqlparser::ast::{
    visit_expressions, visit_relations, BinaryOperator, Expr, FromTable, FunctionArg,
    FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, InTarget, JoinConstraint, JoinOperator,
    LimitClause, ObjectName, ObjectNamePart, OrderByKind, Query, Select, SelectItem, SetExpr,
    Statement, TableFactor, TableObject, TableWithJoins, UnaryOperator, UpdateTableFromKind, Value,
};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

/// How a statement uses a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Rows are read.
    Read,
    /// Rows are inserted, updated or deleted.
    Write,
    /// The table's definition is created, changed or dropped.
    Ddl,
}

/// A table the statement references.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TableRef {
    /// The name as written, normalized (`public.orders`, `"Orders"` keeps its case).
    pub name: String,
    /// How it is used.
    pub access: Access,
}

/// A column the statement references.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ColumnRef {
    /// The owning table when it can be resolved.
    pub table: Option<String>,
    /// The column name.
    pub column: String,
}

/// What a predicate compares its column with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Operand {
    /// A literal; `value` is its SQL text.
    Constant {
        /// The literal as written (`'pending'`, `42`).
        value: String,
    },
    /// A bind parameter (`$1`).
    Parameter,
    /// Another column (a join or correlation key).
    Column {
        /// The other column's table, when resolved.
        table: Option<String>,
        /// The other column.
        column: String,
    },
    /// A list (`IN (…)`, `ANY(ARRAY[…])`).
    List {
        /// Number of elements.
        len: usize,
    },
    /// A subquery.
    Subquery,
    /// Any other expression (`now() - interval '1 day'`).
    Expression,
    /// No operand (`IS NULL`).
    None,
}

/// One predicate shape: `[table.]column op operand`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Predicate {
    /// The column's table, when resolved.
    pub table: Option<String>,
    /// The column.
    pub column: String,
    /// The expression over the column when it is not the bare column (`lower(email)`).
    pub expression: Option<String>,
    /// The operator (`=`, `<`, `IN`, `NOT IN`, `BETWEEN`, `LIKE`, `IS NULL`, `= ANY`, `@>`…).
    pub op: String,
    /// What it is compared with.
    pub operand: Operand,
}

/// A sort key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SortKey {
    /// The column's table, when resolved.
    pub table: Option<String>,
    /// The column, or the expression's text.
    pub column: String,
    /// `DESC`.
    pub descending: bool,
    /// `NULLS FIRST` (true), `NULLS LAST` (false), or the default (null).
    pub nulls_first: Option<bool>,
}

/// Everything a statement references.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct References {
    /// Tables, each once per access kind, sorted.
    pub tables: Vec<TableRef>,
    /// Columns, each once, sorted.
    pub columns: Vec<ColumnRef>,
    /// Predicates of WHERE, JOIN … ON and HAVING clauses, in order.
    pub predicates: Vec<Predicate>,
    /// ORDER BY keys of the outermost query.
    pub order_by: Vec<SortKey>,
    /// GROUP BY columns.
    pub group_by: Vec<ColumnRef>,
    /// Whether the outermost query has LIMIT/FETCH.
    pub has_limit: bool,
}

/// Collect what `stmt` references.
pub fn extract(stmt: &Statement) -> References {
    let mut w = Walker::default();
    let root = Scope::default();
    match stmt {
        Statement::Query(q) => w.query(q, &root, true),
        Statement::Insert(ins) => {
            if let TableObject::TableName(name) = &ins.table {
                let t = object_name(name);
                for c in &ins.columns {
                    w.column(Some(t.clone()), last_part(c));
                }
                w.table(t, Access::Write);
            }
            if let Some(src) = &ins.source {
                w.query(src, &root, false);
            }
        }
        Statement::Update(sqlparser::ast::Update {
            table,
            assignments,
            from,
            selection,
            ..
        }) => {
            let mut scope = Scope::default();
            w.table_with_joins(table, &mut scope, &root, Access::Write);
            if let Some(from) = from {
                let items = match from {
                    UpdateTableFromKind::BeforeSet(v) | UpdateTableFromKind::AfterSet(v) => v,
                };
                for item in items {
                    w.table_with_joins(item, &mut scope, &root, Access::Read);
                }
            }
            let target = scope.entries.first().and_then(|e| e.1.clone());
            for a in assignments {
                if let sqlparser::ast::AssignmentTarget::ColumnName(n) = &a.target {
                    w.column(target.clone(), last_part(n));
                }
                w.expr(&a.value, &scope, false);
            }
            if let Some(sel) = selection {
                w.expr(sel, &scope, true);
            }
        }
        Statement::Delete(del) => {
            let mut scope = Scope::default();
            let items = match &del.from {
                FromTable::WithFromKeyword(v) | FromTable::WithoutKeyword(v) => v,
            };
            for item in items {
                w.table_with_joins(item, &mut scope, &root, Access::Write);
            }
            if let Some(using) = &del.using {
                for item in using {
                    w.table_with_joins(item, &mut scope, &root, Access::Read);
                }
            }
            if let Some(sel) = &del.selection {
                w.expr(sel, &scope, true);
            }
        }
        _ => {}
    }
    // Relations the walk did not reach (DDL, MERGE, COPY …).
    let access = match stmt {
        Statement::Query(_) => Access::Read,
        Statement::Insert(_)
        | Statement::Update { .. }
        | Statement::Delete(_)
        | Statement::Merge { .. }
        | Statement::Truncate { .. }
        | Statement::Copy { .. } => Access::Write,
        _ => Access::Ddl,
    };
    let ctes = w.ctes.clone();
    let mut seen: BTreeSet<String> = w.tables.iter().map(|t| t.name.clone()).collect();
    let _ = visit_relations(stmt, |rel| {
        let name = object_name(rel);
        if !ctes.contains(&name) && seen.insert(name.clone()) {
            w.tables.insert(TableRef { name, access });
        }
        ControlFlow::<()>::Continue(())
    });
    References {
        tables: w.tables.into_iter().collect(),
        columns: w.columns.into_iter().collect(),
        predicates: w.predicates,
        order_by: w.order_by,
        group_by: w.group_by,
        has_limit: w.has_limit,
    }
}

/// Names visible in one FROM clause: (visible name, table name or None for a derived table).
#[derive(Debug, Default)]
struct Scope<'p> {
    entries: Vec<(String, Option<String>)>,
    parent: Option<&'p Scope<'p>>,
}

impl Scope<'_> {
    fn resolve(&self, qualifier: Option<&str>) -> Option<String> {
        match qualifier {
            Some(q) => {
                let mut s = Some(self);
                while let Some(sc) = s {
                    if let Some((_, t)) = sc.entries.iter().find(|(v, _)| v == q) {
                        return t.clone();
                    }
                    s = sc.parent;
                }
                // Not a visible name: maybe the table name itself written fully.
                Some(q.to_string())
            }
            None => match self.entries.as_slice() {
                [(_, t)] => t.clone(),
                _ => None,
            },
        }
    }
}

#[derive(Default)]
struct Walker {
    tables: BTreeSet<TableRef>,
    columns: BTreeSet<ColumnRef>,
    predicates: Vec<Predicate>,
    order_by: Vec<SortKey>,
    group_by: Vec<ColumnRef>,
    has_limit: bool,
    ctes: BTreeSet<String>,
}

fn ident(i: &Ident) -> String {
    if i.quote_style.is_some() {
        i.value.clone()
    } else {
        i.value.to_ascii_lowercase()
    }
}

fn part(p: &ObjectNamePart) -> String {
    match p {
        ObjectNamePart::Identifier(i) => ident(i),
        ObjectNamePart::Function(f) => ident(&f.name),
    }
}

fn object_name(n: &ObjectName) -> String {
    n.0.iter().map(part).collect::<Vec<_>>().join(".")
}

fn last_part(n: &ObjectName) -> String {
    n.0.last().map(part).unwrap_or_default()
}

fn is_comparison(op: &BinaryOperator) -> bool {
    !matches!(
        op,
        BinaryOperator::And
            | BinaryOperator::Or
            | BinaryOperator::Xor
            | BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Modulo
            | BinaryOperator::StringConcat
            | BinaryOperator::BitwiseOr
            | BinaryOperator::BitwiseAnd
            | BinaryOperator::BitwiseXor
            | BinaryOperator::PGBitwiseXor
            | BinaryOperator::PGBitwiseShiftLeft
            | BinaryOperator::PGBitwiseShiftRight
            | BinaryOperator::PGExp
            | BinaryOperator::Arrow
            | BinaryOperator::LongArrow
            | BinaryOperator::HashArrow
            | BinaryOperator::HashLongArrow
            | BinaryOperator::HashMinus
            | BinaryOperator::DuckIntegerDivide
            | BinaryOperator::MyIntegerDivide
    )
}

impl Walker {
    fn table(&mut self, name: String, access: Access) {
        if !self.ctes.contains(&name) {
            self.tables.insert(TableRef { name, access });
        }
    }

    fn column(&mut self, table: Option<String>, column: String) {
        self.columns.insert(ColumnRef { table, column });
    }

    fn query(&mut self, q: &Query, outer: &Scope, outermost: bool) {
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                self.ctes.insert(ident(&cte.alias.name));
            }
            for cte in &with.cte_tables {
                self.query(&cte.query, outer, false);
            }
        }
        let scope_entries = self.set_expr(&q.body, outer);
        let scope = Scope {
            entries: scope_entries,
            parent: Some(outer),
        };
        if let Some(ob) = &q.order_by {
            if let OrderByKind::Expressions(keys) = &ob.kind {
                for k in keys {
                    self.expr(&k.expr, &scope, false);
                    if outermost {
                        let (table, column) = match column_of(&k.expr) {
                            Some((q, c, None)) => (scope.resolve(q.as_deref()), c),
                            _ => (None, k.expr.to_string()),
                        };
                        self.order_by.push(SortKey {
                            table,
                            column,
                            descending: matches!(
                                k.options.sort,
                                Some(sqlparser::ast::OrderBySort::Desc)
                            ),
                            nulls_first: k.options.nulls_first,
                        });
                    }
                }
            }
        }
        if outermost {
            self.has_limit = q.fetch.is_some()
                || matches!(
                    &q.limit_clause,
                    Some(LimitClause::LimitOffset { limit: Some(_), .. })
                )
                || matches!(&q.limit_clause, Some(LimitClause::OffsetCommaLimit { .. }));
        }
    }

    fn set_expr(&mut self, s: &SetExpr, outer: &Scope) -> Vec<(String, Option<String>)> {
        match s {
            SetExpr::Select(sel) => self.select(sel, outer),
            SetExpr::Query(q) => {
                self.query(q, outer, false);
                Vec::new()
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.set_expr(left, outer);
                self.set_expr(right, outer);
                Vec::new()
            }
            SetExpr::Values(v) => {
                for row in &v.rows {
                    for e in &row.content {
                        self.expr(e, outer, false);
                    }
                }
                Vec::new()
            }
            SetExpr::Table(t) => {
                if let Some(name) = &t.table_name {
                    let full = match &t.schema_name {
                        Some(s) => {
                            format!("{}.{}", ident(s), ident(name))
                        }
                        None => ident(name),
                    };
                    self.table(full, Access::Read);
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn table_with_joins(
        &mut self,
        twj: &TableWithJoins,
        scope: &mut Scope,
        outer: &Scope,
        access: Access,
    ) {
        self.factor(&twj.relation, scope, outer, access);
        for j in &twj.joins {
            self.factor(&j.relation, scope, outer, Access::Read);
            let constraint = match &j.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c)
                | JoinOperator::Semi(c)
                | JoinOperator::LeftSemi(c)
                | JoinOperator::RightSemi(c)
                | JoinOperator::Anti(c)
                | JoinOperator::LeftAnti(c)
                | JoinOperator::RightAnti(c)
                | JoinOperator::StraightJoin(c) => Some(c),
                _ => None,
            };
            if let Some(JoinConstraint::On(e)) = constraint {
                // Resolve against the scope built so far (with the parent for lateral refs).
                let view = Scope {
                    entries: scope.entries.clone(),
                    parent: Some(outer),
                };
                self.expr(e, &view, true);
            }
            if let Some(JoinConstraint::Using(cols)) = constraint {
                let n = scope.entries.len();
                for c in cols {
                    let col = last_part(c);
                    let left = if n >= 2 {
                        scope.entries[n - 2].1.clone()
                    } else {
                        None
                    };
                    let right = scope.entries.last().and_then(|e| e.1.clone());
                    self.column(left.clone(), col.clone());
                    self.column(right.clone(), col.clone());
                    self.predicates.push(Predicate {
                        table: right,
                        column: col.clone(),
                        expression: None,
                        op: "=".to_string(),
                        operand: Operand::Column {
                            table: left,
                            column: col,
                        },
                    });
                }
            }
        }
    }

    fn factor(&mut self, f: &TableFactor, scope: &mut Scope, outer: &Scope, access: Access) {
        match f {
            TableFactor::Table {
                name, alias, args, ..
            } => {
                let full = object_name(name);
                let visible = alias
                    .as_ref()
                    .map(|a| ident(&a.name))
                    .unwrap_or_else(|| last_part(name));
                if args.is_some() {
                    // A set-returning function in FROM.
                    scope.entries.push((visible, None));
                    return;
                }
                if self.ctes.contains(&full) {
                    scope.entries.push((visible, None));
                } else {
                    self.table(full.clone(), access);
                    scope.entries.push((visible, Some(full)));
                }
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let view = Scope {
                    entries: scope.entries.clone(),
                    parent: Some(outer),
                };
                self.query(subquery, &view, false);
                if let Some(a) = alias {
                    scope.entries.push((ident(&a.name), None));
                }
            }
            TableFactor::NestedJoin {
                table_with_joins,
                alias,
            } => {
                self.table_with_joins(table_with_joins, scope, outer, access);
                if let Some(a) = alias {
                    scope.entries.push((ident(&a.name), None));
                }
            }
            TableFactor::TableFunction { expr, alias } => {
                self.expr(expr, outer, false);
                if let Some(a) = alias {
                    scope.entries.push((ident(&a.name), None));
                }
            }
            TableFactor::Function { args, alias, .. } => {
                for a in args {
                    self.function_arg(a, outer);
                }
                if let Some(a) = alias {
                    scope.entries.push((ident(&a.name), None));
                }
            }
            TableFactor::UNNEST {
                array_exprs, alias, ..
            } => {
                for e in array_exprs {
                    self.expr(e, outer, false);
                }
                if let Some(a) = alias {
                    scope.entries.push((ident(&a.name), None));
                }
            }
            _ => {}
        }
    }

    fn select(&mut self, sel: &Select, outer: &Scope) -> Vec<(String, Option<String>)> {
        let mut scope = Scope {
            entries: Vec::new(),
            parent: Some(outer),
        };
        for item in &sel.from {
            self.table_with_joins(item, &mut scope, outer, Access::Read);
        }
        for p in &sel.projection {
            match p {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.expr(e, &scope, false)
                }
                _ => {}
            }
        }
        if let Some(w) = &sel.selection {
            self.expr(w, &scope, true);
        }
        if let GroupByExpr::Expressions(exprs, _) = &sel.group_by {
            for e in exprs {
                self.expr(e, &scope, false);
                if let Some((q, c, None)) = column_of(e) {
                    self.group_by.push(ColumnRef {
                        table: scope.resolve(q.as_deref()),
                        column: c,
                    });
                }
            }
        }
        if let Some(h) = &sel.having {
            self.expr(h, &scope, true);
        }
        scope.entries
    }

    fn function_arg(&mut self, a: &FunctionArg, scope: &Scope) {
        let e = match a {
            FunctionArg::Named { arg, .. }
            | FunctionArg::ExprNamed { arg, .. }
            | FunctionArg::Unnamed(arg) => arg,
        };
        if let FunctionArgExpr::Expr(e) = e {
            self.expr(e, scope, false);
        }
    }

    fn operand(&mut self, e: &Expr, scope: &Scope) -> Operand {
        match e {
            Expr::Value(v) => match &v.value {
                Value::Placeholder(_) => Operand::Parameter,
                other => Operand::Constant {
                    value: other.to_string(),
                },
            },
            Expr::TypedString { .. } => Operand::Constant {
                value: e.to_string(),
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus | UnaryOperator::Plus,
                expr,
            } if matches!(**expr, Expr::Value(_)) => match self.operand(expr, scope) {
                Operand::Constant { .. } => Operand::Constant {
                    value: e.to_string(),
                },
                other => other,
            },
            Expr::Cast { expr, .. } | Expr::Nested(expr) => match self.operand(expr, scope) {
                Operand::Constant { .. } => Operand::Constant {
                    value: e.to_string(),
                },
                Operand::Column { .. } | Operand::Expression => Operand::Expression,
                other => other,
            },
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => match column_of(e) {
                Some((q, c, _)) => Operand::Column {
                    table: scope.resolve(q.as_deref()),
                    column: c,
                },
                None => Operand::Expression,
            },
            Expr::Subquery(_) => Operand::Subquery,
            Expr::Array(a) => Operand::List { len: a.elem.len() },
            Expr::Tuple(t) => Operand::List { len: t.len() },
            _ => Operand::Expression,
        }
    }

    fn predicate(&mut self, col: &Expr, op: String, operand: Operand, scope: &Scope) -> bool {
        match column_of(col) {
            Some((q, c, expression)) => {
                self.predicates.push(Predicate {
                    table: scope.resolve(q.as_deref()),
                    column: c,
                    expression,
                    op,
                    operand,
                });
                true
            }
            None => false,
        }
    }

    fn expr(&mut self, e: &Expr, scope: &Scope, pred: bool) {
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) => {
                if let Some((q, c, _)) = column_of(e) {
                    let t = scope.resolve(q.as_deref());
                    self.column(t, c);
                }
            }
            Expr::Nested(inner) => self.expr(inner, scope, pred),
            Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => self.expr(expr, scope, pred),
            Expr::BinaryOp { left, op, right } => {
                let logical = matches!(op, BinaryOperator::And | BinaryOperator::Or);
                if pred && !logical && is_comparison(op) {
                    let rhs = self.operand(right, scope);
                    let rhs_is_col = matches!(rhs, Operand::Column { .. });
                    if !self.predicate(left, op.to_string(), rhs, scope) || rhs_is_col {
                        // `5 < col`, or the other side of a join key.
                        let lhs = self.operand(left, scope);
                        if !rhs_is_col || matches!(lhs, Operand::Column { .. }) {
                            self.predicate(right, flip(op), lhs, scope);
                        }
                    }
                }
                self.expr(left, scope, pred && logical);
                self.expr(right, scope, pred && logical);
            }
            Expr::In {
                expr,
                target: InTarget::List(list),
                negated,
                ..
            } => {
                if pred {
                    let op = if *negated { "NOT IN" } else { "IN" };
                    self.predicate(
                        expr,
                        op.to_string(),
                        Operand::List { len: list.len() },
                        scope,
                    );
                }
                self.expr(expr, scope, false);
                for x in list {
                    self.expr(x, scope, false);
                }
            }
            Expr::In {
                expr,
                target: InTarget::Subquery(subquery),
                negated,
                ..
            } => {
                if pred {
                    let op = if *negated { "NOT IN" } else { "IN" };
                    self.predicate(expr, op.to_string(), Operand::Subquery, scope);
                }
                self.expr(expr, scope, false);
                self.query(subquery, scope, false);
            }
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                if pred {
                    let op = if *negated { "NOT BETWEEN" } else { "BETWEEN" };
                    let operand = self.operand(low, scope);
                    self.predicate(expr, op.to_string(), operand, scope);
                }
                for x in [expr, low, high] {
                    self.expr(x, scope, false);
                }
            }
            Expr::IsNull(x) | Expr::IsNotNull(x) | Expr::IsTrue(x) | Expr::IsFalse(x) => {
                if pred {
                    let op = match e {
                        Expr::IsNull(_) => "IS NULL",
                        Expr::IsNotNull(_) => "IS NOT NULL",
                        Expr::IsTrue(_) => "IS TRUE",
                        _ => "IS FALSE",
                    };
                    self.predicate(x, op.to_string(), Operand::None, scope);
                }
                self.expr(x, scope, false);
            }
            Expr::Like {
                negated,
                expr,
                pattern,
                ..
            }
            | Expr::ILike {
                negated,
                expr,
                pattern,
                ..
            } => {
                if pred {
                    let base = if matches!(e, Expr::Like { .. }) {
                        "LIKE"
                    } else {
                        "ILIKE"
                    };
                    let op = if *negated {
                        format!("NOT {base}")
                    } else {
                        base.to_string()
                    };
                    let operand = self.operand(pattern, scope);
                    self.predicate(expr, op, operand, scope);
                }
                self.expr(expr, scope, false);
                self.expr(pattern, scope, false);
            }
            Expr::AnyOp {
                left,
                compare_op,
                right,
                ..
            }
            | Expr::AllOp {
                left,
                compare_op,
                right,
            } => {
                if pred {
                    let q = if matches!(e, Expr::AnyOp { .. }) {
                        "ANY"
                    } else {
                        "ALL"
                    };
                    let operand = match self.operand(right, scope) {
                        Operand::Constant { .. } | Operand::Expression => match &**right {
                            Expr::Value(_) => Operand::Parameter,
                            _ => self.operand(right, scope),
                        },
                        other => other,
                    };
                    self.predicate(left, format!("{compare_op} {q}"), operand, scope);
                }
                self.expr(left, scope, false);
                self.expr(right, scope, false);
            }
            Expr::Subquery(q) => self.query(q, scope, false),
            Expr::Exists { subquery, .. } => self.query(subquery, scope, false),
            Expr::Function(f) => {
                if let FunctionArguments::List(list) = &f.args {
                    for a in &list.args {
                        self.function_arg(a, scope);
                    }
                }
                if let FunctionArguments::Subquery(q) = &f.args {
                    self.query(q, scope, false);
                }
                if let Some(filter) = &f.filter {
                    self.expr(filter, scope, false);
                }
            }
            Expr::Cast { expr, .. } => self.expr(expr, scope, false),
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(o) = operand {
                    self.expr(o, scope, false);
                }
                for c in conditions {
                    self.expr(&c.condition, scope, false);
                    self.expr(&c.result, scope, false);
                }
                if let Some(x) = else_result {
                    self.expr(x, scope, false);
                }
            }
            other => {
                // Any other expression: record the columns inside it.
                let mut found = Vec::new();
                let _ = visit_expressions(other, |x| {
                    if let Some((q, c, None)) = column_of(x) {
                        found.push((q, c));
                    }
                    ControlFlow::<()>::Continue(())
                });
                for (q, c) in found {
                    let t = scope.resolve(q.as_deref());
                    self.column(t, c);
                }
            }
        }
    }
}

/// The operator with its sides swapped (`5 < col` is `col > 5`).
fn flip(op: &BinaryOperator) -> String {
    match op {
        BinaryOperator::Lt => ">".to_string(),
        BinaryOperator::LtEq => ">=".to_string(),
        BinaryOperator::Gt => "<".to_string(),
        BinaryOperator::GtEq => "<=".to_string(),
        BinaryOperator::AtArrow => "<@".to_string(),
        BinaryOperator::ArrowAt => "@>".to_string(),
        other => other.to_string(),
    }
}

/// The column an expression is about: `(qualifier, column, expression text if not bare)`.
fn column_of(e: &Expr) -> Option<(Option<String>, String, Option<String>)> {
    match e {
        Expr::Identifier(i) => Some((None, ident(i), None)),
        Expr::CompoundIdentifier(parts) if !parts.is_empty() => {
            let col = ident(&parts[parts.len() - 1]);
            let q = if parts.len() >= 2 {
                Some(
                    parts[..parts.len() - 1]
                        .iter()
                        .map(ident)
                        .collect::<Vec<_>>()
                        .join("."),
                )
            } else {
                None
            };
            Some((q, col, None))
        }
        Expr::Nested(inner) => column_of(inner),
        Expr::Cast { expr, .. } => column_of(expr).map(|(q, c, _)| (q, c, Some(e.to_string()))),
        Expr::BinaryOp {
            left,
            op:
                BinaryOperator::Arrow
                | BinaryOperator::LongArrow
                | BinaryOperator::HashArrow
                | BinaryOperator::HashLongArrow,
            ..
        } => column_of(left).map(|(q, c, _)| (q, c, Some(e.to_string()))),
        Expr::Function(f) => {
            let FunctionArguments::List(list) = &f.args else {
                return None;
            };
            let cols: Vec<_> = list
                .args
                .iter()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => column_of(x),
                    _ => None,
                })
                .collect();
            match cols.as_slice() {
                [(q, c, _)] => Some((q.clone(), c.clone(), Some(e.to_string()))),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::PostgreSqlDialect;
    use sqlparser::parser::Parser;

    fn refs(sql: &str) -> References {
        let stmts = Parser::parse_sql(&PostgreSqlDialect {}, sql).expect(sql);
        extract(&stmts[0])
    }

    fn preds(r: &References) -> Vec<String> {
        r.predicates
            .iter()
            .map(|p| {
                let rhs = match &p.operand {
                    Operand::Constant { value } => format!("const {value}"),
                    Operand::Parameter => "param".to_string(),
                    Operand::Column { table, column } => {
                        format!("col {}.{column}", table.as_deref().unwrap_or("?"))
                    }
                    Operand::List { len } => format!("list {len}"),
                    Operand::Subquery => "subquery".to_string(),
                    Operand::Expression => "expr".to_string(),
                    Operand::None => "-".to_string(),
                };
                format!(
                    "{}.{}{} {} {rhs}",
                    p.table.as_deref().unwrap_or("?"),
                    p.column,
                    p.expression
                        .as_deref()
                        .map(|x| format!(" [{x}]"))
                        .unwrap_or_default(),
                    p.op
                )
            })
            .collect()
    }

    #[test]
    fn joins_aliases_and_predicates() {
        let r = refs(
            "SELECT o.id, u.email FROM orders o JOIN users u ON u.id = o.user_id \
             WHERE o.status = 'pending' AND o.created_at >= $1 AND lower(u.email) LIKE 'a%' \
             AND o.id IN (1, 2, 3) AND u.deleted_at IS NULL ORDER BY o.created_at DESC NULLS LAST LIMIT 10",
        );
        assert_eq!(
            r.tables,
            vec![
                TableRef {
                    name: "orders".into(),
                    access: Access::Read
                },
                TableRef {
                    name: "users".into(),
                    access: Access::Read
                }
            ]
        );
        assert_eq!(
            preds(&r),
            vec![
                "users.id = col orders.user_id",
                "orders.user_id = col users.id",
                "orders.status = const 'pending'",
                "orders.created_at >= param",
                "users.email [lower(u.email)] LIKE const 'a%'",
                "orders.id IN list 3",
                "users.deleted_at IS NULL -",
            ]
        );
        assert_eq!(r.order_by.len(), 1);
        assert_eq!(r.order_by[0].table.as_deref(), Some("orders"));
        assert!(r.order_by[0].descending);
        assert_eq!(r.order_by[0].nulls_first, Some(false));
        assert!(r.has_limit);
    }

    #[test]
    fn unqualified_columns_resolve_to_the_only_table() {
        let r = refs("select count(*) from events where created_at > now() - interval '1 day' and kind = ANY($1) group by user_id");
        assert_eq!(
            preds(&r),
            vec!["events.created_at > expr", "events.kind = ANY param"]
        );
        assert_eq!(r.group_by[0].table.as_deref(), Some("events"));
        // Two tables and no qualifier: the owner is unknown.
        let r = refs("select 1 from a, b where x = 1");
        assert_eq!(preds(&r), vec!["?.x = const 1"]);
    }

    #[test]
    fn writes_ctes_and_subqueries() {
        let r = refs("UPDATE orders SET status = 'shipped' WHERE id = $1");
        assert_eq!(
            r.tables[0],
            TableRef {
                name: "orders".into(),
                access: Access::Write
            }
        );
        assert_eq!(preds(&r), vec!["orders.id = param"]);
        let r = refs("with recent as (select * from orders where created_at > $1) select * from recent r join users u on u.id = r.user_id");
        let names: Vec<&str> = r.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, vec!["orders", "users"]);
        let r = refs("delete from carts c using users u where c.user_id = u.id and u.id in (select user_id from orders where status = 'x')");
        assert!(preds(&r).contains(&"orders.status = const 'x'".to_string()));
        assert!(r.tables.contains(&TableRef {
            name: "carts".into(),
            access: Access::Write
        }));
        let r = refs(
            "insert into order_items (order_id, product_id) select id, 1 from orders where id = 5",
        );
        assert!(r.columns.contains(&ColumnRef {
            table: Some("order_items".into()),
            column: "product_id".into()
        }));
        assert!(r.tables.contains(&TableRef {
            name: "orders".into(),
            access: Access::Read
        }));
    }

    #[test]
    fn ddl_tables_are_found() {
        let r = refs("CREATE INDEX i ON public.\"Orders\" (status)");
        assert_eq!(
            r.tables,
            vec![TableRef {
                name: "public.Orders".into(),
                access: Access::Ddl
            }]
        );
    }
}
