//! `concurrent-in-transaction`: CONCURRENTLY cannot run inside a transaction block: the migration fails.

use super::{Ctx, Hit, Rule, Stmt};
use crate::finding::RuleId;

/// The rule.
pub const RULE: Rule = Rule {
    id: RuleId::ConcurrentInTransaction,
    check,
};

fn check(s: &Stmt, ctx: &Ctx) -> Option<Hit> {
    let _ = ctx;
    if !s.in_transaction {
        return None;
    }
    let why = crate::sql::txn::needs_no_transaction(&s.text)?;
    use super::txmode::{Runner, TxMode};
    let plan = ctx.plan.as_ref();
    let how = plan.map_or(String::new(), |p| format!(": {}", p.why));
    let fix = match plan.map(|p| (p.mode, p.runner)) {
        Some((TxMode::OwnControl, _)) => "move it out of the file's BEGIN … COMMIT, into a migration of its own".to_string(),
        Some((_, Some(Runner::Goose))) => "a migration of its own with -- +goose NO TRANSACTION at the top".to_string(),
        Some((_, Some(Runner::Dbmate))) => "a migration of its own whose up section is marked -- migrate:up transaction:false".to_string(),
        Some((_, Some(Runner::Atlas))) => "a migration file of its own with -- atlas:txmode none".to_string(),
        Some((_, Some(Runner::Liquibase))) => "a changeset of its own with runInTransaction:false".to_string(),
        Some((_, Some(Runner::Flyway))) => "a migration of its own (Flyway runs it outside a transaction), or executeInTransaction=false in its .sql.conf".to_string(),
        Some((_, Some(Runner::Rails))) => "a migration of its own with disable_ddl_transaction! (and -- dbkit:no-transaction on its SQL)".to_string(),
        Some((_, Some(Runner::Django))) => "a migration of its own with atomic = False (AddIndexConcurrently needs it)".to_string(),
        Some((_, Some(Runner::GolangMigrate))) => "a migration file with this one statement only (golang-migrate then sends it alone)".to_string(),
        _ => "run this migration outside a transaction: a file of its own marked -- dbkit:no-transaction (and the runner configured likewise)".to_string(),
    };
    Some(Hit::from((
        format!("{why}, and this file runs in one{how}"),
        fix,
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{findings, fires};
    use super::super::{txmode::TxSetting, Options};

    #[test]
    fn bad_fires_ok_does_not() {
        let always = Options {
            transaction: TxSetting::Always,
            ..Options::default()
        };
        assert!(findings("CREATE INDEX CONCURRENTLY i ON t (a);", &always)
            .iter()
            .any(|f| f.rule.as_str() == "concurrent-in-transaction"));
        // auto: a file with CONCURRENTLY and no marker is taken to run outside a transaction.
        assert!(!fires(
            "CREATE INDEX CONCURRENTLY i ON t (a);",
            "concurrent-in-transaction"
        ));
        // goose runs the file in a transaction unless told not to.
        assert!(fires(
            "-- +goose Up\nCREATE INDEX CONCURRENTLY i ON t (a);",
            "concurrent-in-transaction"
        ));
        assert!(fires(
            "BEGIN;\nCREATE INDEX CONCURRENTLY i ON t (a);\nCOMMIT;",
            "concurrent-in-transaction"
        ));
        assert!(!fires(
            "-- dbkit:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (a);",
            "concurrent-in-transaction"
        ));
    }
}
