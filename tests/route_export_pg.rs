//! `dbkit route export` configurations run by the real tools in front of a scratch primary and
//! its streaming replica: PgBouncer's read-write database reaches the primary and its
//! read-only one the replica; HAProxy's two ports do the same, and its read-only port falls
//! back to the primary once the replica is down. (PgCat and PgDog are not packaged for this
//! system: their files are checked as TOML in the unit tests.)

use dbkit::db::{self, ConnSpec, ScratchCluster};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the tool when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tool(name: &str) -> String {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p.display().to_string();
        }
    }
    panic!("{name} is required for this test (apt-get install {name})")
}

/// Two consecutive free ports on 127.0.0.1.
fn free_ports() -> u16 {
    for _ in 0..100 {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let p = a.local_addr().unwrap().port();
        if p < u16::MAX && TcpListener::bind(("127.0.0.1", p + 1)).is_ok() {
            return p;
        }
    }
    panic!("no two free consecutive ports")
}

fn export(map: &Path, to: &str, port: u16) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args([
            "route",
            "export",
            "--map",
            map.to_str().unwrap(),
            "--to",
            to,
        ])
        .args(["--listen-port", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot express: replicas further behind than max_lag_ms"),
        "{stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `pg_is_in_recovery()` through the tool on `port`, retrying while it starts or fails over,
/// until `want` or the deadline.
fn in_recovery(port: u16, dbname: &str, want: bool) -> bool {
    let spec = ConnSpec {
        host: Some("127.0.0.1".into()),
        port: Some(port),
        user: Some("postgres".into()),
        dbname: Some(dbname.into()),
        sslmode: Some("disable".into()),
        connect_timeout: Some(2),
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = String::new();
    while Instant::now() < deadline {
        let got = rt.block_on(async {
            let mut c = db::connect(&spec).await.map_err(|e| e.to_string())?;
            let v: bool = sqlx::query_scalar("SELECT pg_is_in_recovery()")
                .fetch_one(&mut c)
                .await
                .map_err(|e| e.to_string())?;
            db::close(c).await;
            Ok::<bool, String>(v)
        });
        match got {
            Ok(v) if v == want => return v,
            Ok(v) => last = format!("pg_is_in_recovery() = {v}"),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("port {port} database {dbname}: wanted pg_is_in_recovery() = {want}, last: {last}")
}

fn unprivileged() -> Option<&'static str> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let has = |u: &str| {
        Command::new("id")
            .arg(u)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    Some(if has("postgres") {
        "postgres"
    } else {
        "nobody"
    })
}

#[test]
fn pgbouncer_and_haproxy_route_as_exported() {
    let primary =
        ScratchCluster::start().unwrap_or_else(|e| panic!("scratch PostgreSQL is required: {e}"));
    let replica = primary
        .start_replica()
        .unwrap_or_else(|e| panic!("a scratch replica is required: {e}"));
    let dir = tempfile::tempdir().unwrap();
    // The tools may run as another user: let them read the directory.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let map = dir.path().join("r.toml");
    std::fs::write(
        &map,
        format!(
            "cluster = \"t\"\n[primary]\nname = \"p\"\nurl = \"{}\"\n[[replicas]]\nname = \"r\"\nurl = \"{}\"\n",
            primary.url(),
            replica.url()
        ),
    )
    .unwrap();

    // PgBouncer: only the listen address and authentication are changed for the test
    // (`auth_type = any` wants a forced user per database).
    let port = free_ports();
    let ini = export(&map, "pgbouncer", port)
        .lines()
        .map(|l| {
            if l.contains(" = host=") {
                format!("{l} user=postgres")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .replace(
            "listen_addr = *",
            "listen_addr = 127.0.0.1\nunix_socket_dir =",
        )
        .replace("auth_type = scram-sha-256", "auth_type = any")
        .replace("auth_file = /etc/pgbouncer/userlist.txt", "");
    let ini_path = dir.path().join("pgbouncer.ini");
    std::fs::write(&ini_path, &ini).unwrap();
    let mut cmd = Command::new(tool("pgbouncer"));
    if let Some(u) = unprivileged() {
        cmd.args(["-u", u]);
    }
    let _bouncer = Running(
        cmd.arg(&ini_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(!in_recovery(port, "t", false));
    assert!(in_recovery(port, "t_ro", true));

    // HAProxy: the exported file as is, on two free ports.
    let port = free_ports();
    let cfg = export(&map, "haproxy", port);
    let cfg_path = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg_path, &cfg).unwrap();
    let check = Command::new(tool("haproxy"))
        .args(["-c", "-f"])
        .arg(&cfg_path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "haproxy -c: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let _haproxy = Running(
        Command::new(tool("haproxy"))
            .args(["-db", "-f"])
            .arg(&cfg_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    assert!(!in_recovery(port, "postgres", false));
    assert!(in_recovery(port + 1, "postgres", true));
    // The replica goes away: its health check fails and reads fall back to the primary.
    replica.stop().unwrap();
    assert!(!in_recovery(port + 1, "postgres", false));
}
