//! `validate-in-same-transaction`: VALIDATE CONSTRAINT in the transaction that added the constraint NOT VALID: the validating scan runs under the ADD's lock (ACCESS EXCLUSIVE for a CHECK, SHARE ROW EXCLUSIVE on both tables for a foreign key), so the split gained nothing.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::ValidateInSameTransaction,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let t = s.altered_table()?;
    if !s.in_transaction {
        return None;
    }
    let short = super::schema::short(&t).to_string();
    let c = super::locks::subcommands(s).into_iter().find_map(|c| {
        (c.first().is_some_and(|w| w == "validate") && c.get(1).is_some_and(|w| w == "constraint"))
            .then(|| c.get(2).cloned())
            .flatten()
    })?;
    if !ctx.not_valid_in_tx.contains(&(short, c.clone())) {
        return None;
    }
    Some(Hit::from((
        format!("VALIDATE CONSTRAINT {c} runs in the transaction that added it NOT VALID: its scan of {t} runs under the lock the ADD took, held until COMMIT, so NOT VALID gained nothing"),
        format!("commit after the ADD … NOT VALID and run ALTER TABLE {t} VALIDATE CONSTRAINT {c}; in a later transaction (a migration of its own)"),
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::fires;

    const R: &str = "validate-in-same-transaction";

    #[test]
    fn bad_fires_ok_does_not() {
        let both = "ALTER TABLE t ADD CONSTRAINT f FOREIGN KEY (u) REFERENCES u (id) NOT VALID;\nALTER TABLE t VALIDATE CONSTRAINT f;";
        assert!(fires(both, R));
        assert!(!fires(&format!("-- dbkit:no-transaction\n{both}"), R));
        assert!(!fires("BEGIN;\nALTER TABLE t ADD CONSTRAINT f CHECK (a > 0) NOT VALID;\nCOMMIT;\nBEGIN;\nALTER TABLE t VALIDATE CONSTRAINT f;\nCOMMIT;", R));
        assert!(!fires("ALTER TABLE t VALIDATE CONSTRAINT f;", R));
    }
}
