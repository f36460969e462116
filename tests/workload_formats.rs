//! Logs from the real world: every capture in fixtures/logs/real/ (one real PostgreSQL, one
//! workload, each log_line_prefix, zone, destination and carrier people use) is read with every
//! line explained and the counts of expected.tsv; a log dbkit cannot read makes it say so and
//! exit non-zero; a log read only in part gives a warning naming the first line not understood.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn real() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/logs/real")
}

fn dbkit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_real_format_is_read_whole_with_the_expected_counts() {
    let expected = std::fs::read_to_string(real().join("expected.tsv")).unwrap();
    let mut checked = 0;
    for row in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = row.split('\t').collect();
        let [file, options, queries, errors, shapes, user, format] = cols[..] else {
            panic!("bad row {row:?}")
        };
        let path = real().join(file).display().to_string();
        let mut args = vec!["workload", "top", path.as_str(), "--format", "json"];
        if options != "-" {
            args.push(options);
        }
        let out = dbkit(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{file}: {stderr}");
        assert!(stderr.is_empty(), "{file}: no warning expected: {stderr}");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let got = (
            r["total_queries"].as_u64().unwrap(),
            r["total_errors"].as_u64().unwrap(),
            r["shapes_total"].as_u64().unwrap(),
        );
        let want = (
            queries.parse().unwrap(),
            errors.parse().unwrap(),
            shapes.parse().unwrap(),
        );
        assert_eq!(got, want, "{file}: queries, errors, shapes");
        assert_eq!(r["read"]["skipped_lines"], 0, "{file}: {}", r["read"]);
        assert_eq!(r["explained"], 1.0, "{file}");
        assert_eq!(r["format"], format, "{file}");
        let shapes = r["shapes"].as_array().unwrap();
        // Every capture ran at 02:05 UTC on December 3rd: times are in UTC whatever the zone
        // the server wrote (Europe/Paris, New York, Istanbul, -05:30, epoch; a BSD syslog line
        // has no year, so only the day and time are compared).
        for s in shapes {
            let seen = s["first_seen"].as_str().unwrap_or_default();
            assert!(seen.contains("-12-03T02:05:"), "{file}: {seen}");
        }
        if user != "-" {
            for s in shapes {
                assert_eq!(s["users"], serde_json::json!([user]), "{file}: {s}");
            }
        }
        // The extended protocol's statement carries its bind parameters.
        let bound = shapes
            .iter()
            .find(|s| s["normalized"] == "select name from items where id = $1")
            .unwrap_or_else(|| panic!("{file}: the pgbench statement"));
        assert_eq!(bound["calls"], 5, "{file}");
        assert!(
            bound["example"]["params"]
                .as_str()
                .is_some_and(|p| p.starts_with("$1 = '")),
            "{file}: {bound}"
        );
        // The multi-line statement is whole.
        assert!(
            shapes.iter().any(|s| s["normalized"]
                == "select name, price from items where price > $1 order by price desc limit $2"),
            "{file}"
        );
        checked += 1;
    }
    assert!(checked >= 22, "{checked} fixtures");
}

#[test]
fn a_log_nothing_can_be_read_from_fails_and_says_what_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mystery.log");
    std::fs::write(&p, "garbage one\ngarbage two\n").unwrap();
    let out = dbkit(&["workload", "top", p.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--prefix") && stderr.contains("--log-format"),
        "{stderr}"
    );
    assert!(stderr.contains("\"garbage one\""), "{stderr}");
    assert!(out.stdout.is_empty());
    // A prefix given that matches nothing: the same, naming the prefix tried.
    let debian = real().join("debian.log");
    let out = dbkit(&[
        "workload",
        "top",
        debian.to_str().unwrap(),
        "--prefix",
        "%t [%p]: [%l-1] ",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("%t [%p]: [%l-1] "), "{stderr}");
    assert!(stderr.contains("0.0% of 76 lines"), "{stderr}");
    assert!(stderr.contains("connection received"), "{stderr}");
}

#[test]
fn a_log_read_in_part_warns_with_the_first_line_not_understood() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("part.log");
    let mut log = std::fs::read(real().join("debian.log")).unwrap();
    for i in 0..10 {
        log.extend_from_slice(format!("\x1b[31mnot a log line {i} ").as_bytes());
        log.extend_from_slice(b"\xff\n");
    }
    std::fs::write(&p, &log).unwrap();
    let out = dbkit(&["workload", "top", p.to_str().unwrap(), "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning:"), "{stderr}");
    assert!(stderr.contains("88.4% of 86 lines"), "{stderr}");
    assert!(
        stderr.contains(r#""\u{1b}[31mnot a log line 0 \xff""#),
        "printable, never raw: {stderr}"
    );
    assert!(!stderr.contains('\x1b'));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["total_queries"], 20);
    assert_eq!(r["warnings"].as_array().unwrap().len(), 1);
    // Under a lower threshold, no warning.
    let out = dbkit(&[
        "workload",
        "top",
        p.to_str().unwrap(),
        "--min-explained",
        "80",
    ]);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_summary_has_every_section_of_a_real_log() {
    for (file, sqlstates) in [
        ("debian.log", false),
        ("csvlog.csv", true),
        ("jsonlog.json", true),
        ("syslog-bsd.log", false),
        ("cloudnativepg.json", true),
    ] {
        let path = real().join(file).display().to_string();
        let out = dbkit(&["workload", "summary", &path, "--format", "json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["total_queries"], 20, "{file}");
        let errors = r["errors"].as_array().unwrap();
        let messages: Vec<&str> = errors
            .iter()
            .map(|e| e["message"].as_str().unwrap())
            .collect();
        assert!(
            messages.contains(&"division by zero"),
            "{file}: {messages:?}"
        );
        assert!(
            messages.contains(&"duplicate key value violates unique constraint \"items_pkey\""),
            "{file}: {messages:?}"
        );
        let dup = errors
            .iter()
            .find(|e| e["message"].as_str().unwrap().starts_with("duplicate"))
            .unwrap();
        assert_eq!(
            dup["example_statement"], "INSERT INTO items VALUES (1, 'dup', 1);",
            "{file}"
        );
        if sqlstates {
            assert_eq!(dup["sqlstate"], "23505", "{file}");
            assert_eq!(dup["class"], "integrity constraint violation", "{file}");
        }
        // The workload's lock wait: UPDATE blocked by the session holding ACCESS EXCLUSIVE.
        let locks = r["lock_waits"].as_array().unwrap();
        assert_eq!(locks.len(), 1, "{file}: {locks:?}");
        assert_eq!(locks[0]["mode"], "RowExclusiveLock");
        assert_eq!(
            locks[0]["query"],
            "update items set price = $1 where id = $2"
        );
        assert_eq!(
            (locks[0]["waits"].as_u64(), locks[0]["acquired"].as_u64()),
            (Some(1), Some(1)),
            "{file}"
        );
        assert_eq!(
            locks[0]["blocking_pids"].as_array().unwrap().len(),
            1,
            "{file}"
        );
        assert!(locks[0]["max_wait_ms"].as_f64().unwrap() > 100.0, "{file}");
        // Two temporary files of the sort that spilled, 566,720 bytes in all.
        let temp = r["temp_files"].as_array().unwrap();
        assert_eq!(temp.len(), 1, "{file}");
        assert_eq!(
            (temp[0]["count"].as_u64(), temp[0]["bytes"].as_u64()),
            (Some(2), Some(566_720)),
            "{file}"
        );
        // The CHECKPOINT statement's checkpoint.
        assert_eq!(
            r["checkpoints"]["causes"]["immediate force wait"], 1,
            "{file}"
        );
        assert_eq!(r["checkpoints"]["completed"], 1, "{file}");
        // Five sessions (psql, pgbench's two connections, the locker, the waiter).
        let s = &r["sessions"];
        assert_eq!(
            (s["connections"].as_u64(), s["sessions"].as_u64()),
            (Some(5), Some(5)),
            "{file}"
        );
        assert_eq!(s["by_user"], serde_json::json!([["postgres", 5]]), "{file}");
        // Two sessions overlapped (the locker and the waiter); a BSD syslog time has whole
        // seconds only, so sessions within one second count as overlapping there.
        let peak = s["peak_concurrent"].as_u64().unwrap();
        if file == "syslog-bsd.log" {
            assert!((2..=5).contains(&peak), "{file}: {peak}");
        } else {
            assert_eq!(peak, 2, "{file}");
        }
        let minutes = r["per_minute"].as_array().unwrap();
        assert_eq!(
            minutes
                .iter()
                .map(|m| m["queries"].as_u64().unwrap())
                .sum::<u64>(),
            20,
            "{file}"
        );
        assert_eq!(
            minutes
                .iter()
                .map(|m| m["errors"].as_u64().unwrap())
                .sum::<u64>(),
            2,
            "{file}"
        );
    }
}
