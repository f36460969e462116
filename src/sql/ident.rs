//! Identifier quoting, as PostgreSQL's `quote_ident` does it: quotes only when needed, always
//! correctly (`"we""ird"`). Every module that generates SQL quotes through here.

/// PostgreSQL keywords that cannot be used as bare column names (reserved, type/function-name and
/// column-name keywords of PostgreSQL 15 to 17), sorted for binary search.
const NON_UNRESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "json",
    "json_array",
    "json_arrayagg",
    "json_exists",
    "json_object",
    "json_objectagg",
    "json_query",
    "json_scalar",
    "json_serialize",
    "json_table",
    "json_value",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "merge_action",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// True for a keyword that must be quoted to be used as an identifier.
pub fn is_non_unreserved_keyword(word: &str) -> bool {
    NON_UNRESERVED.binary_search(&word).is_ok()
}

/// True when `name` can be written bare: lowercase letters, digits, `_` and `$`, not starting
/// with a digit or `$`, and not a keyword that needs quoting.
pub fn is_bare_identifier(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_lowercase() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'$')
        && !is_non_unreserved_keyword(name)
}

/// Quote an identifier only when needed: `orders` stays, `Order Items` becomes `"Order Items"`,
/// `we"ird` becomes `"we""ird"`.
///
/// ```
/// use dbkit::sql::ident::quote_ident;
/// assert_eq!(quote_ident("orders"), "orders");
/// assert_eq!(quote_ident("order"), "\"order\"");
/// assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
/// ```
pub fn quote_ident(name: &str) -> String {
    if is_bare_identifier(name) {
        name.to_string()
    } else {
        let mut s = String::with_capacity(name.len() + 2);
        s.push('"');
        for c in name.chars() {
            if c == '"' {
                s.push('"');
            }
            s.push(c);
        }
        s.push('"');
        s
    }
}

/// Quote a possibly schema-qualified name given as parts (`["public", "Orders"]`).
pub fn quote_qualified(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| quote_ident(p))
        .collect::<Vec<_>>()
        .join(".")
}

/// Quote a string literal so that it reads the same under any server setting: `o'brien`
/// becomes `'o''brien'`; a value with a backslash uses the escape form `E'a\\b'`, which
/// does not depend on `standard_conforming_strings` (PostgreSQL's own `quote_literal` does the
/// same).
///
/// ```
/// use dbkit::sql::ident::quote_literal;
/// assert_eq!(quote_literal("o'brien"), "'o''brien'");
/// assert_eq!(quote_literal("a\\'b"), "E'a\\\\''b'");
/// ```
pub fn quote_literal(value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 3);
    if value.contains('\\') {
        s.push('E');
    }
    s.push('\'');
    for c in value.chars() {
        if c == '\'' || c == '\\' {
            s.push(c);
        }
        s.push(c);
    }
    s.push('\'');
    s
}

/// Text made safe for a generated SQL comment (`-- …` or `/* … */`): control characters
/// (newlines among them, which would end a `--` comment and let the rest run as SQL) and
/// Unicode line and paragraph separators are written as `\n`, `\u{2028}`…, and `*/` and
/// `/*` are broken up so a block comment cannot end or nest early.
///
/// ```
/// use dbkit::sql::ident::comment_text;
/// assert_eq!(comment_text("x\nDROP TABLE victim; --"), "x\\nDROP TABLE victim; --");
/// assert_eq!(comment_text("a */ b"), "a * / b");
/// ```
pub fn comment_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut prev = '\0';
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push(' '),
            '/' if prev == '*' => out.push_str(" /"),
            '*' if prev == '/' => out.push_str(" *"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{85}') => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_list_is_sorted_for_binary_search() {
        assert!(NON_UNRESERVED.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote_ident("orders"), "orders");
        assert_eq!(quote_ident("order_items2"), "order_items2");
        assert_eq!(quote_ident("Orders"), "\"Orders\"");
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        assert_eq!(quote_ident("2fa"), "\"2fa\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_ident(""), "\"\"");
        assert_eq!(quote_ident("naïve"), "\"naïve\"");
        // Unreserved keywords stay bare, as quote_ident() does.
        assert_eq!(quote_ident("name"), "name");
        assert_eq!(
            quote_qualified(&["public", "My Table"]),
            "public.\"My Table\""
        );
        assert_eq!(quote_literal("o'brien"), "'o''brien'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
        assert_eq!(
            quote_literal("\\'; select 1; --"),
            "E'\\\\''; select 1; --'"
        );
    }

    #[test]
    fn comment_text_cannot_end_a_comment() {
        for hostile in [
            "x\nDROP TABLE victim; --",
            "x\r\nDROP TABLE victim;",
            "a */ DROP TABLE victim; /*",
            "a\u{2028}b\u{85}c\u{0}d\u{1b}[31m",
            "**//**/",
        ] {
            let c = comment_text(hostile);
            assert!(!c.contains('\n') && !c.contains('\r'), "{c:?}");
            assert!(!c.contains("*/") && !c.contains("/*"), "{c:?}");
            assert!(!c.chars().any(|ch| ch.is_control()), "{c:?}");
            // Both comment forms stay one comment: the lexer sees nothing after them.
            for sql in [format!("-- {c}\nselect 1"), format!("/* {c} */ select 1")] {
                let toks: Vec<_> = crate::sql::lexer::Lexer::new(&sql)
                    .filter(|t| !t.kind.is_trivia())
                    .map(|t| t.text(&sql).to_string())
                    .collect();
                assert_eq!(toks, vec!["select", "1"], "{sql:?}");
            }
        }
    }

    #[test]
    fn quoted_names_parse_back_to_the_same_identifier() {
        use sqlparser::dialect::PostgreSqlDialect;
        use sqlparser::parser::Parser;
        for name in [
            "orders",
            "Orders",
            "order",
            "we\"ird",
            "a b",
            "x;drop table t",
            "ü",
        ] {
            let sql = format!("SELECT {} FROM t", quote_ident(name));
            let stmts = Parser::parse_sql(&PostgreSqlDialect {}, &sql).expect(&sql);
            assert_eq!(stmts.len(), 1);
            let printed = stmts[0].to_string();
            assert!(printed.contains(&quote_ident(name)), "{printed}");
        }
    }
}
