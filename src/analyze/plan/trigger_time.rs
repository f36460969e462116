//! `trigger-time`: a trigger that took a large share of the statement's time, typically a
//! foreign-key trigger scanning a referencing table that has no index on the key.

use super::{fmt_ms, PlanCtx, Rule};
use crate::finding::{Finding, RuleId};
use crate::sql::ident::quote_ident;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::TriggerTime,
    check,
};

fn check(ctx: &PlanCtx, out: &mut Vec<Finding>) {
    let total = ctx.plan.total_ms();
    for t in &ctx.plan.triggers {
        let share = t.time_ms / total;
        if t.time_ms < ctx.t.trigger_min_ms || share < ctx.t.trigger_min_share {
            continue;
        }
        let per_call = if t.calls > 0.0 {
            format!(", {} a call", fmt_ms(t.time_ms / t.calls))
        } else {
            String::new()
        };
        // Foreign-key triggers are named RI_ConstraintTrigger_a_* (on the referenced table: a
        // delete or key update looks up referencing rows) and _c_* (on the referencing table).
        let lookup = t
            .name
            .as_deref()
            .is_none_or(|n| n.starts_with("RI_ConstraintTrigger_a_"));
        let (what, suggestion) = match (&t.constraint, lookup) {
            (Some(c), true) => (
                format!("the foreign-key trigger of {}", quote_ident(c)),
                format!(
                    "an index on the referencing columns of {} (CREATE INDEX CONCURRENTLY, in the key's column order): each call looks up referencing rows, a sequential scan without it; `dbkit index check` gives the exact DDL (fk-missing-index)",
                    quote_ident(c)
                ),
            ),
            (Some(c), false) => (
                format!("the constraint trigger of {}", quote_ident(c)),
                format!(
                    "check that the referenced key of {} is served by its unique index, and that rows are not checked one by one in a loop",
                    quote_ident(c)
                ),
            ),
            (None, _) => (
                format!(
                    "trigger {}",
                    t.name.as_deref().map(quote_ident).unwrap_or_default()
                ),
                "look at what the trigger runs for each row, or make it a statement-level trigger with transition tables".to_string(),
            ),
        };
        let on = t
            .relation
            .as_deref()
            .map(|r| format!(" on {}", quote_ident(r)))
            .unwrap_or_default();
        out.push(ctx.finding(
            RULE.id,
            RULE.id.severity(),
            None,
            format!(
                "{what}{on} took {} ({:.0}% of the execution time) over {} calls{per_call}",
                fmt_ms(t.time_ms),
                share * 100.0,
                super::fmt_n(t.calls)
            ),
            serde_json::json!({
                "trigger": t.name, "constraint": t.constraint, "relation": t.relation,
                "time_ms": t.time_ms, "calls": t.calls, "share": share,
            }),
            Some(suggestion),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{only, run};

    #[test]
    fn a_slow_foreign_key_trigger_fires_and_a_cheap_one_does_not() {
        let plan = |time: f64| {
            format!(
                r#"[{{"Plan": {{"Node Type": "ModifyTable", "Operation": "Delete", "Relation Name": "customers",
                "Actual Total Time": 0.2, "Actual Rows": 0, "Actual Loops": 1, "Plan Rows": 0}},
                "Triggers": [{{"Trigger Name": "RI_ConstraintTrigger_a_16430", "Constraint Name": "orders_customer_id_fkey",
                "Relation": "customers", "Time": {time}, "Calls": 9}}], "Execution Time": {}}}]"#,
                time + 0.3
            )
        };
        let f = run(&plan(63.4));
        let t = only(&f, "trigger-time");
        assert_eq!(t.len(), 1);
        assert!(
            t[0].message.contains("orders_customer_id_fkey"),
            "{}",
            t[0].message
        );
        assert!(t[0].message.contains("9 calls"), "{}", t[0].message);
        assert!(t[0]
            .suggestion
            .as_deref()
            .unwrap()
            .contains("referencing columns"));
        // Under 10 ms in all: quiet, whatever its share.
        assert!(only(&run(&plan(3.0)), "trigger-time").is_empty());
    }
}
