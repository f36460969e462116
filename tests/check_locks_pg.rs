//! The static lock model of `dbkit check` against PostgreSQL itself: every statement kind of
//! the documentation's lock table runs on a scratch server inside a rolled-back transaction,
//! and the table locks it took (pg_locks, ROW EXCLUSIVE and stronger) must be the ones the
//! static model names, mode for mode.

use dbkit::analyze::migration::locks::{locks_of_sql, LockMode};
use dbkit::db::ScratchCluster;
use std::collections::BTreeMap;

const SCHEMA: &str = "
CREATE TABLE u (id bigint PRIMARY KEY);
CREATE TABLE t (id bigint PRIMARY KEY, u_id bigint, a int, b text, c varchar(10));
CREATE INDEX t_a ON t (a);
ALTER TABLE t ADD CONSTRAINT t_a_pos CHECK (a > 0) NOT VALID;
ALTER TABLE t ADD CONSTRAINT t_u_fk FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID;
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg();
CREATE TABLE p (id bigint, at date) PARTITION BY RANGE (at);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE p2 (id bigint, at date);
CREATE TABLE lone (id int);
CREATE MATERIALIZED VIEW mv AS SELECT id FROM u;
CREATE UNIQUE INDEX mv_id ON mv (id);
CREATE TABLE parent_t (id int);
CREATE TABLE kid (id int);
CREATE TABLE kid2 (id int) INHERITS (parent_t);
CREATE TABLE idt (id int NOT NULL);
CREATE TABLE gen (a int, b int GENERATED ALWAYS AS (a * 2) STORED);
CREATE DOMAIN pos AS int CHECK (VALUE > 0);
CREATE TABLE dom_t (v pos);
ALTER DOMAIN pos ADD CONSTRAINT pos_small CHECK (VALUE < 1000000) NOT VALID;
";

/// Each statement kind, one per line.
const STATEMENTS: &[&str] = &[
    "ALTER TABLE t ADD COLUMN d int",
    "ALTER TABLE t ADD COLUMN e int DEFAULT 0",
    "ALTER TABLE t ADD COLUMN f bigint REFERENCES u (id)",
    "ALTER TABLE t DROP COLUMN b",
    "ALTER TABLE t ALTER COLUMN c TYPE varchar(20)",
    "ALTER TABLE t ALTER COLUMN c SET DATA TYPE text",
    "ALTER TABLE t ALTER COLUMN a SET NOT NULL",
    "ALTER TABLE t ALTER COLUMN a DROP NOT NULL",
    "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1",
    "ALTER TABLE t ALTER COLUMN a DROP DEFAULT",
    "ALTER TABLE t ALTER COLUMN a SET STATISTICS 500",
    "ALTER TABLE t ALTER COLUMN a SET (n_distinct = 10)",
    "ALTER TABLE t ALTER COLUMN a RESET (n_distinct)",
    "ALTER TABLE t ALTER COLUMN b SET STORAGE EXTERNAL",
    "ALTER TABLE t ALTER COLUMN b SET COMPRESSION pglz",
    "ALTER TABLE t ADD CONSTRAINT t_small CHECK (a < 100)",
    "ALTER TABLE t ADD CONSTRAINT t_small CHECK (a < 100) NOT VALID",
    "ALTER TABLE t ADD CONSTRAINT t_u2 FOREIGN KEY (u_id) REFERENCES u (id)",
    "ALTER TABLE t ADD CONSTRAINT t_u3 FOREIGN KEY (u_id) REFERENCES u (id) NOT VALID",
    "ALTER TABLE t ADD CONSTRAINT t_c_key UNIQUE (c)",
    "ALTER TABLE t VALIDATE CONSTRAINT t_a_pos",
    "ALTER TABLE t VALIDATE CONSTRAINT t_u_fk",
    "ALTER TABLE t DROP CONSTRAINT t_a_pos",
    "ALTER TABLE t RENAME COLUMN c TO cc",
    "ALTER TABLE t RENAME CONSTRAINT t_a_pos TO t_a_positive",
    "ALTER TABLE t SET (fillfactor = 70)",
    "ALTER TABLE t SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)",
    "ALTER TABLE t RESET (fillfactor)",
    "ALTER TABLE t SET UNLOGGED",
    "ALTER TABLE t SET TABLESPACE pg_default",
    "ALTER TABLE t CLUSTER ON t_a",
    "ALTER TABLE t SET WITHOUT CLUSTER",
    "ALTER TABLE t DISABLE TRIGGER t_trg",
    "ALTER TABLE t ENABLE TRIGGER ALL",
    "ALTER TABLE t REPLICA IDENTITY FULL",
    "ALTER TABLE t ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE t OWNER TO CURRENT_USER",
    "ALTER TABLE t VALIDATE CONSTRAINT t_a_pos, ADD COLUMN g int",
    "ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')",
    "ALTER TABLE p DETACH PARTITION p1",
    "CREATE INDEX t_b ON t (b)",
    "CREATE UNIQUE INDEX t_c ON t (c)",
    "CREATE INDEX p_at ON ONLY p (at)",
    "DROP INDEX t_a",
    "REINDEX TABLE t",
    "REINDEX INDEX t_a",
    "CREATE TRIGGER t_trg2 AFTER UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg()",
    "DROP TRIGGER t_trg ON t",
    "CREATE RULE r AS ON INSERT TO lone DO ALSO NOTHING",
    "CREATE POLICY pol ON t USING (true)",
    "COMMENT ON TABLE t IS 'x'",
    "COMMENT ON COLUMN t.a IS 'x'",
    "ANALYZE t",
    "CLUSTER t USING t_a",
    "TRUNCATE lone",
    "DROP TABLE lone",
    "LOCK TABLE t IN SHARE MODE",
    "LOCK TABLE t IN ROW EXCLUSIVE MODE",
    "LOCK lone",
    "LOCK TABLE t, u IN SHARE ROW EXCLUSIVE MODE",
    "CREATE STATISTICS st ON a, c FROM t",
    "CREATE TABLE child (id int REFERENCES u (id))",
    "CREATE TABLE p3 PARTITION OF p FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
    "UPDATE t SET a = 1 WHERE id = 0",
    "DELETE FROM lone",
    "INSERT INTO u VALUES (1)",
    "ALTER TABLE kid INHERIT parent_t",
    "ALTER TABLE kid2 NO INHERIT parent_t",
    "ALTER TABLE t ALTER CONSTRAINT t_u_fk DEFERRABLE INITIALLY DEFERRED",
    "ALTER TABLE idt ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY",
    "ALTER TABLE t SET ACCESS METHOD heap",
    "ALTER TABLE gen ALTER COLUMN b DROP EXPRESSION",
    "ALTER TABLE t ALTER COLUMN a SET DEFAULT 1, ALTER COLUMN a SET STATISTICS 100",
    "GRANT SELECT ON t TO PUBLIC",
    "REFRESH MATERIALIZED VIEW mv",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
    "ALTER DOMAIN pos ADD CONSTRAINT pos_max CHECK (VALUE < 1000)",
    "ALTER DOMAIN pos ADD CONSTRAINT pos_max CHECK (VALUE < 1000) NOT VALID",
    "ALTER DOMAIN pos VALIDATE CONSTRAINT pos_small",
    "ALTER DOMAIN pos SET NOT NULL",
];

fn at_least_row_exclusive(
    pairs: impl IntoIterator<Item = (String, LockMode)>,
) -> BTreeMap<String, LockMode> {
    let mut m = BTreeMap::new();
    for (t, mode) in pairs {
        if mode >= LockMode::RowExclusive {
            let e = m.entry(t).or_insert(mode);
            *e = (*e).max(mode);
        }
    }
    m
}

#[test]
fn static_locks_match_pg_locks_on_postgresql_15() {
    let c = ScratchCluster::start()
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let spec = c.conn_spec("postgres");
    let mut mismatches = Vec::new();
    rt.block_on(async {
        let mut conn = dbkit::db::connect(&spec).await.unwrap();
        dbkit::db::exec_script(&mut conn, "schema.sql", SCHEMA)
            .await
            .unwrap();
        dbkit::db::close(conn).await;
        let opts = dbkit::ops::check::ObserveOptions::default();
        for sql in STATEMENTS {
            // dbkit's observed mode: the statement in a rolled-back transaction, its new
            // pg_locks rows reported as lock-acquired.
            let files = [("s.sql".to_string(), format!("{sql};"))];
            let findings = dbkit::ops::check::observe(&spec, &[], &files, &[], &opts)
                .await
                .unwrap();
            if let Some(f) = findings
                .iter()
                .find(|f| f.rule.as_str() == "migration-error")
            {
                panic!("{sql}: {}", f.message);
            }
            let observed = at_least_row_exclusive(
                findings
                    .iter()
                    .filter(|f| f.rule.as_str() == "lock-acquired")
                    .map(|f| {
                        let mode = f.evidence["mode"].as_str().unwrap();
                        (
                            f.evidence["table"].as_str().unwrap().to_string(),
                            LockMode::from_pg_locks(mode).unwrap(),
                        )
                    }),
            );
            let predicted = at_least_row_exclusive(locks_of_sql(sql, 15).into_iter().map(|l| {
                // The tables the schema gives an index or a domain.
                let table = if l.via_index.is_some() {
                    "t".to_string()
                } else if l.table == "every table with a column of domain pos" {
                    "dom_t".to_string()
                } else {
                    l.table
                };
                (table, l.mode)
            }));
            // A dropped table is gone from pg_class inside the transaction: pg_locks still has
            // its lock, but the observed mode can no longer name it.
            if sql.starts_with("DROP TABLE") {
                assert!(observed.is_empty(), "{sql}: {observed:?}");
                assert_eq!(
                    predicted.into_iter().collect::<Vec<_>>(),
                    [("lone".to_string(), LockMode::AccessExclusive)]
                );
                continue;
            }
            if observed != predicted {
                mismatches.push(format!(
                    "{sql}\n  pg_locks: {observed:?}\n  dbkit:    {predicted:?}"
                ));
            }
        }
    });
    assert!(
        mismatches.is_empty(),
        "{} of {} statements:\n{}",
        mismatches.len(),
        STATEMENTS.len(),
        mismatches.join("\n")
    );
}
