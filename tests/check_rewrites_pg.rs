//! The type-change verdicts of `alter-column-type-rewrite` against PostgreSQL itself: each
//! change runs on a scratch PostgreSQL 15 (dbkit's observed mode: a rewrite is a new storage
//! file, `table-rewrite`) and the static rule, knowing the current type from the history, must
//! say the same: an error exactly when the table is rewritten, nothing when it is not, and never
//! a warning (every change here is decidable).

use dbkit::analyze::migration::{check, Options};
use dbkit::db::ScratchCluster;

/// (current type, new type, extra session setting) — the setting runs before the change.
const CHANGES: &[(&str, &str, &str)] = &[
    ("varchar(10)", "varchar(20)", ""),
    ("varchar(20)", "varchar(10)", ""),
    ("varchar(10)", "varchar", ""),
    ("varchar(10)", "text", ""),
    ("text", "varchar", ""),
    ("text", "varchar(10)", ""),
    ("numeric(10,2)", "numeric(12,2)", ""),
    ("numeric(10,2)", "numeric(12,3)", ""),
    ("numeric(10,2)", "numeric", ""),
    ("numeric", "numeric(10,2)", ""),
    ("integer", "bigint", ""),
    ("bigint", "integer", ""),
    ("bigint", "numeric(20,2)", ""),
    ("smallint", "integer", ""),
    ("cidr", "inet", ""),
    ("bit varying(8)", "bit varying(16)", ""),
    ("char(5)", "char(10)", ""),
    ("char(5)", "text", ""),
    ("xml", "text", ""),
    ("integer[]", "bigint[]", ""),
    ("varchar(10)[]", "varchar(20)[]", ""),
    ("text[]", "varchar[]", ""),
    ("varchar[]", "text[]", ""),
    ("text[]", "text", ""),
    ("json", "jsonb", ""),
    ("text", "jsonb USING c::jsonb", ""),
    ("timestamp", "timestamptz", "SET TimeZone = 'UTC'"),
    ("timestamptz", "timestamp", "SET TimeZone = 'UTC'"),
    ("timestamp", "timestamptz", "SET TimeZone = 'Europe/Paris'"),
    ("timestamp", "timestamptz", "SET TIME ZONE 'Etc/UTC'"),
];

fn sample(ty: &str) -> &'static str {
    match ty {
        t if t.ends_with("[]") => "'{1}'",
        "cidr" => "'10.0.0.0/8'",
        "xml" => "'<a/>'",
        "json" => "'{}'",
        t if t.starts_with("bit") => "B'101'",
        t if t.starts_with("timestamp") => "'2024-01-01 00:00'",
        t if t.starts_with("varchar") || t.starts_with("char") || t == "text" => "'1'",
        _ => "1",
    }
}

#[test]
fn static_type_change_verdicts_match_observed_rewrites_on_postgresql_15() {
    let c = ScratchCluster::start()
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required for this test: {e}"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let spec = c.conn_spec("postgres");
    let opts = dbkit::ops::check::ObserveOptions::default();
    let mut disagree = Vec::new();
    for (from, to, setting) in CHANGES {
        let create = format!(
            "CREATE TABLE tc (id int, c {from});\nINSERT INTO tc VALUES (1, {});\n",
            sample(from)
        );
        let change = format!(
            "{setting}{}ALTER TABLE tc ALTER COLUMN c TYPE {to};\n",
            if setting.is_empty() { "" } else { ";\n" }
        );
        let observed = rt.block_on(async {
            dbkit::ops::check::observe(
                &spec,
                &[("base.sql".to_string(), create.clone())],
                &[("m.sql".to_string(), change.clone())],
                &[],
                &opts,
            )
            .await
            .unwrap()
        });
        if let Some(f) = observed
            .iter()
            .find(|f| f.rule.as_str() == "migration-error")
        {
            panic!("{from} -> {to}: {}", f.message);
        }
        let rewritten = observed.iter().any(|f| f.rule.as_str() == "table-rewrite");
        let o = Options {
            history: vec![("h.sql".to_string(), create.clone())],
            ..Options::default()
        };
        let found = check(&[("m.sql".to_string(), change.clone())], &o).findings;
        let verdict = found
            .iter()
            .find(|f| f.rule.as_str() == "alter-column-type-rewrite");
        let ok = match verdict.map(|f| f.severity.as_str()) {
            // An error says the table is rewritten.
            Some("error") => rewritten,
            // Every change here is decidable (the history gives the type, the file sets the
            // TimeZone where it matters): a warning would be a verdict left open.
            Some(_) => false,
            _ => !rewritten,
        };
        if !ok {
            disagree.push(format!(
                "{from} -> {to} {setting}: rewritten {rewritten}, dbkit says {:?}",
                verdict.map(|f| (&f.severity, &f.message))
            ));
        }
    }
    assert!(
        disagree.is_empty(),
        "{} of {}:\n{}",
        disagree.len(),
        CHANGES.len(),
        disagree.join("\n")
    );
}
