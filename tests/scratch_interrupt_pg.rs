//! Interrupting dbkit at any moment leaves nothing behind: Ctrl-C or SIGTERM during initdb,
//! while the schema or seed loads, or during an explain run stops the scratch server and
//! deletes its directory before the process exits. And `scratch start` notices when its server
//! dies.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn tmp() -> PathBuf {
    let t = std::env::temp_dir();
    if t.as_os_str().len() > 60 {
        PathBuf::from("/tmp")
    } else {
        t
    }
}

/// Scratch directories owned by process `pid`, with their postmaster's pid when it has one.
fn owned_by(pid: u32) -> Vec<(PathBuf, Option<i32>)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(tmp()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with("dbkit-scratch-") {
            continue;
        }
        let owner = std::fs::read_to_string(e.path().join("dbkit-owner.pid")).unwrap_or_default();
        if owner.trim() != pid.to_string() {
            continue;
        }
        let pm = std::fs::read_to_string(e.path().join("data/postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().and_then(|l| l.trim().parse().ok()));
        out.push((e.path(), pm));
    }
    out
}

fn alive(pid: i32) -> bool {
    // A zombie is not alive: it has exited and waits for its parent (gone) to be reaped.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn an_interrupt_at_any_moment_leaves_no_server_and_no_directory() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut interrupted_with_a_cluster = 0;
    for (delay_ms, signal) in [
        (30, libc::SIGINT),
        (300, libc::SIGTERM),
        (1200, libc::SIGINT),
        (2500, libc::SIGTERM),
        (4000, libc::SIGINT),
    ] {
        let child = Command::new(env!("CARGO_BIN_EXE_dbkit"))
            .current_dir(root)
            .args([
                "explain",
                "--scratch",
                "--schema",
                "fixtures/shop/schema.sql",
                "--seed",
                "fixtures/shop/seed.sql",
                "--workload",
                "fixtures/shop/workload.sql",
                "--format",
                "json",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Watch what it creates until the signal.
        let mut seen: Vec<(PathBuf, Option<i32>)> = Vec::new();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_millis(delay_ms) {
            for x in owned_by(pid) {
                match seen.iter_mut().find(|s| s.0 == x.0) {
                    Some(s) => s.1 = s.1.or(x.1),
                    None => seen.push(x),
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // SAFETY: signalling the child this test started.
        unsafe {
            libc::kill(pid as libc::pid_t, signal);
        }
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        if code == Some(128 + signal) {
            assert!(err.contains("dbkit: interrupted"), "{err}");
            if !seen.is_empty() {
                interrupted_with_a_cluster += 1;
            }
        } else {
            // It finished before the signal: fine, but it must have finished cleanly.
            assert!(
                matches!(code, Some(0) | Some(1)),
                "{delay_ms} ms: {code:?} {err}"
            );
        }
        assert!(
            owned_by(pid).is_empty(),
            "{delay_ms} ms: left {:?}",
            owned_by(pid)
        );
        for (dir, pm) in &seen {
            assert!(
                !dir.exists(),
                "{delay_ms} ms: {} left behind",
                dir.display()
            );
            if let Some(pm) = pm {
                let deadline = Instant::now() + Duration::from_secs(5);
                while alive(*pm) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(20));
                }
                assert!(!alive(*pm), "{delay_ms} ms: server {pm} still running");
            }
        }
    }
    assert!(
        interrupted_with_a_cluster >= 3,
        "the interrupts should land while a cluster exists"
    );
}

/// Start `dbkit scratch start --format json` and wait for its report: (child, report).
fn scratch_start() -> (std::process::Child, serde_json::Value) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["scratch", "start", "--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut report = String::new();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        report.push_str(&line);
        if line == "}" {
            break;
        }
    }
    let v = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}: {report:?}"));
    (child, v)
}

#[test]
fn scratch_start_notices_its_server_dying() {
    let (child, v) = scratch_start();
    let pid = child.id();
    let pm = v["pid"].as_i64().unwrap() as i32;
    // SAFETY: killing the test's own scratch server.
    unsafe {
        libc::kill(pm, libc::SIGKILL);
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("exited with signal: 9"), "{err}");
    assert!(
        err.contains("database system is ready to accept connections"),
        "the log's last lines: {err}"
    );
    assert!(owned_by(pid).is_empty());
}

#[test]
fn ctrl_c_is_the_normal_end_of_scratch_start() {
    let (child, v) = scratch_start();
    let pid = child.id();
    let seen = owned_by(pid);
    assert_eq!(seen.len(), 1);
    // SAFETY: signalling the child this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(v["url"]
        .as_str()
        .unwrap()
        .starts_with("postgres://postgres@127.0.0.1:"));
    for (dir, pm) in seen {
        assert!(!dir.exists());
        if let Some(pm) = pm {
            let deadline = Instant::now() + Duration::from_secs(5);
            while alive(pm) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(!alive(pm));
        }
    }
}

#[test]
fn an_interrupt_with_stderr_closed_still_cleans_up_and_exits() {
    // Found by hand: the cleanup thread died writing its message to a closed pipe and the
    // process hung. The message is best effort; the exit is not.
    let (mut child, _) = scratch_start();
    let pid = child.id();
    let seen = owned_by(pid);
    drop(child.stderr.take());
    // SAFETY: signalling the child this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "dbkit hung after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    for (dir, _) in seen {
        assert!(!dir.exists());
    }
}
