//! `ban-char-field`: char(n) pads with spaces and is no faster than text or varchar.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::BanCharField,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !(s.starts(&["create", "table"]) || s.altered_table().is_some()) {
        return None;
    }
    let w = &s.words;
    let hit = w.iter().enumerate().any(|(i, x)| {
        (x == "char"
            || x == "bpchar"
            || (x == "character" && w.get(i + 1).map(String::as_str) != Some("varying")))
            && w.get(i.wrapping_sub(1)).map(String::as_str) != Some("varying")
    });
    if !hit {
        return None;
    }
    Some(Hit::from((
        "a char(n) column: values are padded with spaces, compared oddly, and no faster"
            .to_string(),
        "use text (with a CHECK on length if needed) or varchar(n)".to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    #[test]
    fn bad_fires_ok_does_not() {
        assert!(fires("CREATE TABLE t (code char(3));", "ban-char-field"));
        assert!(!fires(
            "CREATE TABLE t (code varchar(3), name character varying(10));",
            "ban-char-field"
        ));
    }
}
