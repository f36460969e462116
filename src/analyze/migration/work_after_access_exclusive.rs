//! `work-after-access-exclusive`: statements run in the same transaction after one that took a lock blocking writes (SHARE or stronger; ACCESS EXCLUSIVE blocks reads too) on an existing table: the lock is held until COMMIT. Judged when the transaction ends, once per lock, naming the statements that extend it.

use super::locks::TableLock;
use super::Hit;

/// The finding for a lock held through the statements at `lines`.
pub fn judge(lock: &TableLock, lines: &[usize]) -> Hit {
    let shown: Vec<String> = lines.iter().take(10).map(usize::to_string).collect();
    let more = if lines.len() > 10 {
        format!(" and {} more", lines.len() - 10)
    } else {
        String::new()
    };
    Hit::from((
        format!(
            "{} is held until COMMIT while {} more statement(s) run (line {}{more}); all that time it blocks {}",
            lock,
            lines.len(),
            shown.join(", "),
            lock.mode.blocks()
        ),
        "take the locking statement last in its transaction, or give it a migration of its own".to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{findings, fires};

    const R: &str = "work-after-access-exclusive";

    #[test]
    fn once_per_lock_with_the_lines() {
        let sql = "ALTER TABLE t ADD COLUMN c int;\nUPDATE u SET a = 1 WHERE id = 1;\nALTER TABLE t ADD COLUMN d int;\nSELECT 1;\n";
        let f: Vec<_> = findings(sql, &Default::default())
            .into_iter()
            .filter(|f| f.rule.as_str() == R)
            .collect();
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].location.line, Some(1));
        assert!(f[0].message.contains("line 2, 3)"), "{}", f[0].message);
        assert!(!fires("ALTER TABLE t ADD COLUMN c int;", R));
        assert!(!fires(
            "ALTER TABLE t ADD COLUMN c int;\nSET lock_timeout = 0;",
            R
        ));
        assert!(!fires("-- dbkit:no-transaction\nALTER TABLE t ADD COLUMN c int;\nUPDATE u SET a = 1 WHERE id = 1;", R));
        assert!(!fires(
            "BEGIN;\nALTER TABLE t ADD COLUMN c int;\nCOMMIT;\nUPDATE u SET a = 1 WHERE id = 1;",
            R
        ));
    }
}
