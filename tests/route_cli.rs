//! `dbkit route classify` and `dbkit route export` on the shipped routing map and session.

mod common;

fn classify(args: &[&str]) -> (Option<i32>, String, String) {
    route("classify", args, &[])
}

/// `dbkit route SUB ARGS…` with extra environment variables (and pg-3's URL variable unset
/// unless given).
fn route(sub: &str, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let all: Vec<&str> = ["route", sub]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    common::dbkit_in(&all, env, &["SHOP_PG3_URL"])
}

#[test]
fn the_shop_session_routes_as_the_policies_say() {
    let (code, out, err) = classify(&[
        "--map",
        "fixtures/routing/shop.toml",
        "fixtures/routing/session.sql",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let targets: Vec<(u64, &str)> = v["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["line"].as_u64().unwrap(), s["target"].as_str().unwrap()))
        .collect();
    let want = [
        (2, "replica"),
        (3, "replica"),
        (4, "primary"),
        (5, "primary"),
        (6, "primary"),
        (7, "primary"),
        (8, "primary"),
        (9, "replica"),
        (10, "primary"),
        (11, "primary"),
        (12, "primary"),
        (13, "primary"),
        (14, "replica"),
        (15, "replica"),
        (16, "replica"),
    ];
    assert_eq!(targets, want, "{v:#}");
}

#[test]
fn one_session_keeps_reads_after_a_write_on_the_primary() {
    let (code, out, _) = classify(&[
        "--map",
        "fixtures/routing/shop.toml",
        "fixtures/routing/session.sql",
        "--one-session",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let line9 = v["statements"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["line"] == 9)
        .unwrap();
    assert_eq!(line9["target"], "primary");
    assert!(line9["reason"]
        .as_str()
        .unwrap()
        .contains("read-your-writes"));
}

#[test]
fn a_map_with_a_password_is_refused_without_printing_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("r.toml");
    std::fs::write(
        &f,
        "cluster = \"x\"\n[primary]\nname = \"p\"\nurl = \"postgres://app:pa55word@h/db\"\n",
    )
    .unwrap();
    let (code, out, err) =
        classify(&["--map", f.to_str().unwrap(), "fixtures/routing/session.sql"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("route-map-secret-in-url"), "{err}");
    assert!(!err.contains("pa55word") && !out.contains("pa55word"));
}

#[test]
fn export_writes_each_tool_and_says_what_it_cannot_express() {
    let env = [(
        "SHOP_PG3_URL",
        "postgres://app:pw-in-env@10.0.3.20:5433/shop",
    )];
    for tool in ["pgcat", "pgdog", "pgbouncer", "haproxy"] {
        let (code, out, err) = route(
            "export",
            &["--map", "fixtures/routing/shop.toml", "--to", tool],
            &env,
        );
        assert_eq!(code, Some(0), "{tool}: {err}");
        assert!(
            out.contains("10.0.2.20") && out.contains("10.0.3.20"),
            "{tool}: {out}"
        );
        assert!(
            !out.contains("pw-in-env") && !err.contains("pw-in-env"),
            "{tool}"
        );
        assert!(err.contains("cannot express"), "{tool}: {err}");
        if tool == "pgdog" {
            assert!(out.contains("ban_replica_lag = 500"), "{out}");
            assert!(!err.contains("max_lag_ms"), "{err}");
        }
    }
    // --output: the file is written, the policy table printed.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("haproxy.cfg");
    let (code, out, err) = route(
        "export",
        &[
            "--map",
            "fixtures/routing/shop.toml",
            "--to",
            "haproxy",
            "--output",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
        &env,
    );
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tool"], "haproxy");
    let cfg = std::fs::read_to_string(&file).unwrap();
    assert_eq!(v["config"].as_str(), Some(cfg.as_str()));
    // pg-2 weighs 2, pg-3 1: scaled to 100 and 50.
    assert!(
        cfg.contains("server pg-2 10.0.2.20:5432 check weight 100"),
        "{cfg}"
    );
    assert!(
        cfg.contains("server pg-3 10.0.3.20:5433 check weight 50"),
        "{cfg}"
    );
}

#[test]
fn export_needs_every_server_address() {
    let (code, _, err) = route(
        "export",
        &["--map", "fixtures/routing/shop.toml", "--to", "pgcat"],
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("SHOP_PG3_URL is not set"), "{err}");
    let (code, _, err) = route(
        "export",
        &["--map", "fixtures/routing/shop.toml", "--to", "haproxy"],
        &[("SHOP_PG3_URL", "postgres:///shop?host=/var/run/postgresql")],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("unix socket (/var/run/postgresql)"), "{err}");
    let (code, _, err) = route(
        "export",
        &["--map", "fixtures/routing/shop.toml", "--to", "nginx"],
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("pgcat"), "{err}");
}
