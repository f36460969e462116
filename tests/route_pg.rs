//! `dbkit route probe` and read-your-writes on a real primary with a streaming replica
//! (pg_basebackup): roles found, zero lag when caught up; with replay paused and writes on the
//! primary the replica is excluded with the lag stated, and a session's read goes to the
//! primary until the replica has replayed the session's write LSN.

use dbkit::db::{self, replication::parse_lsn, ScratchCluster};
use dbkit::routing::{Router, RoutingMap, Session, Target};
use std::process::Command;
use std::time::{Duration, Instant};

fn probe(map: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args([
            "route",
            "probe",
            "--map",
            map.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

async fn scalar(c: &ScratchCluster, sql: &str) -> String {
    let mut conn = db::connect(&c.conn_spec("postgres")).await.unwrap();
    let v: String = sqlx::query_scalar(sql)
        .fetch_one(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    db::close(conn).await;
    v
}

#[test]
fn probe_and_read_your_writes_on_a_streaming_replica() {
    let primary =
        ScratchCluster::start().unwrap_or_else(|e| panic!("scratch PostgreSQL is required: {e}"));
    let replica = primary
        .start_replica()
        .unwrap_or_else(|e| panic!("a scratch replica is required: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let map_path = dir.path().join("r.toml");
    std::fs::write(
        &map_path,
        format!(
            "cluster = \"t\"\n[primary]\nname = \"p\"\nurl = \"{}\"\n[[replicas]]\nname = \"r\"\nurl = \"{}\"\n[policy]\nmax_lag_bytes = 1024\nmax_lag_ms = 60000\n",
            primary.url(),
            replica.url()
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Caught up: roles found, lag zero.
    let deadline = Instant::now() + Duration::from_secs(20);
    let v = loop {
        let v = probe(&map_path);
        if v["servers"][1]["lag_bytes"] == 0 || Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(v["servers"][0]["role"], "primary", "{v:#}");
    assert_eq!(v["servers"][1]["role"], "replica", "{v:#}");
    assert_eq!(v["servers"][1]["lag_bytes"], 0, "{v:#}");
    assert_eq!(v["servers"][1]["lag_ms"], 0, "{v:#}");
    assert_eq!(v["servers"][1]["in_pool"], true, "{v:#}");

    // Pause replay, write on the primary: the replica is excluded with the lag stated.
    rt.block_on(async {
        scalar(&replica, "SELECT pg_wal_replay_pause()::text").await;
        // The pause takes effect at the next record boundary: wait until it has, or the
        // startup process may still replay the writes below.
        let deadline = Instant::now() + Duration::from_secs(20);
        while scalar(&replica, "SELECT pg_get_wal_replay_pause_state()").await != "paused" {
            assert!(Instant::now() < deadline, "replay never paused");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut c = db::connect(&primary.conn_spec("postgres")).await.unwrap();
        db::exec_script(
            &mut c,
            "w",
            // Scratch clusters run with synchronous_commit off: make the write reach the WAL
            // (and so pg_current_wal_lsn) before the probe looks.
            "SET synchronous_commit = on; CREATE TABLE t AS SELECT g FROM generate_series(1, 20000) g;",
        )
        .await
        .unwrap();
        db::close(c).await;
    });
    let v = probe(&map_path);
    let r = &v["servers"][1];
    assert_eq!(r["in_pool"], false, "{v:#}");
    assert!(r["lag_bytes"].as_u64().unwrap() > 1024, "{v:#}");
    assert!(
        r["reason"].as_str().unwrap().contains("bytes behind"),
        "{v:#}"
    );
    assert_eq!(r["replay_paused"], true);
    assert!(v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "route-replica-lagging"));

    // Read-your-writes with real LSNs.
    rt.block_on(async {
        let map = RoutingMap::load(&map_path).unwrap();
        let mut router = Router::new(&map);
        let mut session = Session::default();
        assert_eq!(
            router
                .route("INSERT INTO t VALUES (1)", &mut session)
                .target,
            Target::Primary
        );
        let mut c = db::connect(&primary.conn_spec("postgres")).await.unwrap();
        db::exec_script(
            &mut c,
            "w",
            "SET synchronous_commit = on; INSERT INTO t VALUES (1);",
        )
        .await
        .unwrap();
        let lsn: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
            .fetch_one(&mut c)
            .await
            .unwrap();
        db::close(c).await;
        session.wrote_at(parse_lsn(&lsn).unwrap());
        let replayed =
            parse_lsn(&scalar(&replica, "SELECT pg_last_wal_replay_lsn()::text").await).unwrap();
        router.set_replayed(Some(replayed));
        let d = router.route("SELECT count(*) FROM t", &mut session);
        assert_eq!(
            d.target,
            Target::Primary,
            "replayed {replayed}, wrote {lsn}"
        );
        assert!(d.reason.contains("read-your-writes"));

        scalar(&replica, "SELECT pg_wal_replay_resume()::text").await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let replayed =
                parse_lsn(&scalar(&replica, "SELECT pg_last_wal_replay_lsn()::text").await)
                    .unwrap();
            router.set_replayed(Some(replayed));
            let d = router.route("SELECT count(*) FROM t", &mut session);
            if d.target == Target::Replica {
                assert!(replayed >= parse_lsn(&lsn).unwrap());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the replica never replayed {lsn}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

/// Why a server is out reads as advice: no driver source locations, and the fix for a TLS
/// mismatch or a refused connection.
#[test]
fn unreachable_servers_say_why_in_plain_words() {
    let pg =
        ScratchCluster::start().unwrap_or_else(|e| panic!("scratch PostgreSQL is required: {e}"));
    let tls = pg.url().replace("sslmode=disable", "sslmode=require");
    let tls = if tls.contains("sslmode=require") {
        tls
    } else {
        format!("{tls}?sslmode=require")
    };
    let dir = tempfile::tempdir().unwrap();
    let map_path = dir.path().join("r.toml");
    std::fs::write(
        &map_path,
        format!(
            "cluster = \"t\"\n[primary]\nname = \"p\"\nurl = \"{}\"\n[[replicas]]\nname = \"tls\"\nurl = \"{tls}\"\n[[replicas]]\nname = \"closed\"\nurl = \"postgres://postgres@127.0.0.1:1/postgres\"\n[policy]\nmax_lag_bytes = 1024\nmax_lag_ms = 60000\n",
            pg.url()
        ),
    )
    .unwrap();
    let v = probe(&map_path);
    let reason = |name: &str| -> String {
        v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason("tls").contains("does not speak TLS") && reason("tls").contains("sslmode"),
        "{v:#}"
    );
    assert!(reason("closed").contains("nothing listens there"), "{v:#}");
    for s in v["servers"].as_array().unwrap() {
        let r = s["reason"].as_str().unwrap();
        assert!(!r.contains("::") && !r.contains(".rs:"), "{r}");
    }
}
