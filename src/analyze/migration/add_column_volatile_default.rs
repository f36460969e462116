//! `add-column-volatile-default`: ADD COLUMN with a volatile default (or any default before PostgreSQL 11) rewrites the table under ACCESS EXCLUSIVE. A function dbkit does not know to be stable or immutable is taken to be volatile, and named.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::AddColumnVolatileDefault,
    check,
};

/// Functions known to be STABLE or IMMUTABLE (evaluated once for ADD COLUMN … DEFAULT), and
/// function-like keywords that are not calls.
const NOT_VOLATILE: &[&str] = &[
    "now",
    "statement_timestamp",
    "transaction_timestamp",
    "current_date",
    "current_time",
    "current_timestamp",
    "localtime",
    "localtimestamp",
    "current_setting",
    "current_user",
    "current_schema",
    "session_user",
    "lower",
    "upper",
    "coalesce",
    "nullif",
    "greatest",
    "least",
    "concat",
    "concat_ws",
    "length",
    "md5",
    "trim",
    "btrim",
    "ltrim",
    "rtrim",
    "replace",
    "substring",
    "substr",
    "left",
    "right",
    "to_char",
    "to_date",
    "to_timestamp",
    "to_number",
    "make_date",
    "make_interval",
    "make_timestamp",
    "make_timestamptz",
    "date_trunc",
    "date_part",
    "extract",
    "timezone",
    "jsonb_build_object",
    "json_build_object",
    "jsonb_build_array",
    "json_build_array",
    "to_jsonb",
    "to_json",
    "array",
    "row",
    "cast",
    "abs",
    "round",
    "floor",
    "ceil",
    "power",
    "interval",
    "format",
    "inet",
    "point",
];

/// Functions that are volatile for sure (no lookup needed to say so).
const VOLATILE: &[&str] = &[
    "random",
    "clock_timestamp",
    "timeofday",
    "gen_random_uuid",
    "uuid_generate_v4",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "nextval",
    "txid_current",
    "random_normal",
];

/// The first function the default calls that is not known to be stable or immutable.
pub fn volatile_call<'a>(expr: &'a [String], known: &dyn Fn(&str) -> bool) -> Option<&'a str> {
    let word = |w: &str| {
        w.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
    };
    // Words of a type after `::` (`::character varying(10)`) are not calls.
    let mut in_type = false;
    expr.iter().enumerate().find_map(|(i, w)| {
        if w == "::" {
            in_type = true;
            return None;
        }
        if in_type && word(w) {
            return None;
        }
        in_type = false;
        let call = expr.get(i + 1).map(String::as_str) == Some("(")
            && word(w)
            && !NOT_VOLATILE.contains(&w.as_str())
            && !known(w);
        call.then_some(w.as_str())
    })
}

/// The words of the DEFAULT expression of a column definition starting at `def` (the DEFAULT
/// keyword), up to the next column constraint at its level.
pub fn default_expr(w: &[String], def: usize) -> &[String] {
    let mut depth = 0usize;
    let start = (def + 1).min(w.len());
    for (i, x) in w.iter().enumerate().skip(start) {
        match x.as_str() {
            "(" => depth += 1,
            ")" if depth == 0 => return &w[start..i],
            ")" => depth -= 1,
            "," | ";" | "not" | "null" | "constraint" | "check" | "references" | "primary"
            | "unique" | "generated" | "collate"
                if depth == 0 =>
            {
                return &w[start..i]
            }
            _ => {}
        }
    }
    &w[start..]
}

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !ctx.existing(&t) {
        return None;
    }
    for c in s.added_columns() {
        let Some(def) = c.iter().position(|w| w == "default") else {
            continue;
        };
        let expr = default_expr(c, def);
        let declared = |f: &str| ctx.schema.function_not_volatile(f) == Some(true);
        let volatile = volatile_call(expr, &declared);
        if volatile.is_none() && ctx.pg_version >= 11 {
            continue;
        }
        let why = match volatile {
            Some(f) if VOLATILE.contains(&f) => format!("its default calls {f}(), which is volatile"),
            Some(f) if ctx.schema.function_not_volatile(f) == Some(false) => format!("its default calls {f}(), which the schema declares VOLATILE"),
            Some(f) => format!("its default calls {f}(), which dbkit does not know to be stable or immutable (pass --history or --schema with its CREATE FUNCTION), so it is taken as volatile: a volatile default is computed per row"),
            None => format!("PostgreSQL {} rewrites for any default", ctx.pg_version),
        };
        return Some(Hit::from((
            format!("ADD COLUMN on {t} rewrites the whole table under an ACCESS EXCLUSIVE lock: {why}"),
            "add the column without a default (or with a constant one), then backfill in batches and SET DEFAULT afterwards".to_string(),
        )));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{fires, fires_on};

    #[test]
    fn bad_fires_ok_does_not() {
        let r = "add-column-volatile-default";
        assert!(fires(
            "ALTER TABLE t ADD COLUMN c uuid DEFAULT gen_random_uuid();",
            r
        ));
        assert!(fires(
            "ALTER TABLE t ADD COLUMN c int DEFAULT my_counter();",
            r
        ));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN c timestamptz DEFAULT now();",
            r
        ));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN c jsonb DEFAULT '{}'::jsonb NOT NULL;",
            r
        ));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN c varchar(10) DEFAULT 'x'::character varying(10);",
            r
        ));
        assert!(fires_on("ALTER TABLE t ADD COLUMN c int DEFAULT 0;", r, 10));
        assert!(!fires(
            "CREATE TABLE t (c uuid DEFAULT gen_random_uuid());",
            r
        ));
    }

    #[test]
    fn functions_declared_in_the_history() {
        use super::super::test_util::fires_after;
        let r = "add-column-volatile-default";
        let h = "CREATE FUNCTION public.tenant_code() RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT 'x; volatile' $$;\nCREATE FUNCTION next_code() RETURNS text LANGUAGE sql AS $$ SELECT 'y' $$;";
        assert!(!fires_after(
            h,
            "ALTER TABLE t ADD COLUMN c text DEFAULT public.tenant_code();",
            r
        ));
        assert!(fires_after(
            h,
            "ALTER TABLE t ADD COLUMN c text DEFAULT next_code();",
            r
        ));
    }
}
