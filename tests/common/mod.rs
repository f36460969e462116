//! Helpers shared by the CLI test crates.

use std::process::Command;

/// Runs the dbkit binary from the crate root (so fixture paths resolve) with `args`, the
/// environment variables in `unset` removed and those in `env` set: exit code, stdout, stderr.
#[allow(dead_code)]
pub fn dbkit_in(
    args: &[&str],
    env: &[(&str, &str)],
    unset: &[&str],
) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbkit"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args(args);
    for v in unset {
        cmd.env_remove(v);
    }
    let out = cmd.envs(env.iter().copied()).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The rule ids of a report's findings, in order.
#[allow(dead_code)]
pub fn rule_ids(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

/// A scratch cluster, or a loud failure saying the server binaries are needed.
#[allow(dead_code)]
pub fn start() -> dbkit::db::ScratchCluster {
    dbkit::db::ScratchCluster::start()
        .unwrap_or_else(|e| panic!("scratch PostgreSQL is required: {e}"))
}

/// A two-thread runtime for a test's own queries.
#[allow(dead_code)]
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Run a script on the cluster's `postgres` database.
#[allow(dead_code)]
pub fn exec(c: &dbkit::db::ScratchCluster, sql: &str) {
    rt().block_on(async {
        let mut conn = dbkit::db::connect(&c.conn_spec("postgres")).await.unwrap();
        dbkit::db::exec_script(&mut conn, "setup", sql)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        dbkit::db::close(conn).await;
    })
}

/// One bigint from the cluster's `postgres` database.
#[allow(dead_code)]
pub fn int(c: &dbkit::db::ScratchCluster, sql: &str) -> i64 {
    rt().block_on(async {
        let mut conn = dbkit::db::connect(&c.conn_spec("postgres")).await.unwrap();
        let v: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        dbkit::db::close(conn).await;
        v
    })
}
