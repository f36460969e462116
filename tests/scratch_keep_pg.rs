//! `dbkit scratch start --keep` leaves a cluster running between commands: the command returns
//! once it is ready, `scratch list` shows it, it serves queries on the port asked for, a second
//! start under the same name is refused, and `scratch stop` stops it and deletes its directory.

use std::process::Command;

fn dbkit(registry: &std::path::Path, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .args(["--format", "json"])
        .env("DBKIT_SCRATCH_REGISTRY", registry)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), v, err)
}

#[test]
fn a_kept_cluster_runs_until_stopped() {
    let registry = tempfile::tempdir().unwrap();
    let reg = registry.path();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (code, v, err) = dbkit(
        reg,
        &[
            "scratch",
            "start",
            "--keep",
            "--name",
            "kept-test",
            "--port",
            &port.to_string(),
            "--schema",
            "fixtures/shop/schema.sql",
        ],
    );
    assert_eq!(
        code,
        Some(0),
        "scratch PostgreSQL is required for this test: {err}"
    );
    let kept = &v["clusters"][0];
    assert_eq!(kept["port"], port, "{v:#}");
    let url = kept["url"].as_str().unwrap().to_string();
    let data_dir = std::path::PathBuf::from(kept["data_dir"].as_str().unwrap());
    let owner = kept["owner_pid"].as_u64().unwrap();
    assert!(data_dir.exists());

    // This process has moved on; the cluster serves the schema loaded into it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let tables: i64 = rt.block_on(async {
        let spec = dbkit::db::ConnSpec::resolve(Some(&url)).unwrap();
        let mut c = dbkit::db::connect(&spec).await.unwrap();
        sqlx::query_scalar("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            .fetch_one(&mut c)
            .await
            .unwrap()
    });
    assert_eq!(tables, 8);

    let (code, v, _) = dbkit(reg, &["scratch", "list"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["clusters"][0]["name"], "kept-test");
    assert_eq!(v["clusters"][0]["alive"], true);

    let (code, _, err) = dbkit(reg, &["scratch", "start", "--keep", "--name", "kept-test"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("is running"), "{err}");

    let (code, _, err) = dbkit(reg, &["scratch", "stop", "kept-test"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!data_dir.exists(), "the cluster's directory is deleted");
    assert!(
        !std::path::Path::new(&format!("/proc/{owner}")).exists(),
        "its owner exited"
    );
    let (_, v, _) = dbkit(reg, &["scratch", "list"]);
    assert_eq!(v["clusters"].as_array().unwrap().len(), 0, "{v:#}");
    let (code, _, err) = dbkit(reg, &["scratch", "stop", "kept-test"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("no kept cluster"), "{err}");
}
