//! `dbkit workload` on files: formats, compression, stdin, parallel seams, and bad input.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut i = child.stdin.take().unwrap();
    let data = stdin.unwrap_or_default().to_vec();
    let w = std::thread::spawn(move || {
        let _ = i.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    w.join().unwrap();
    out
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const T: &str = "2024-03-04 10:00:00.123 UTC";

/// A log of `n` entries over 7 sessions, with multi-line statements, errors and extended protocol.
fn log(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let pid = 100 + i % 7;
        match i % 10 {
            0 => s.push_str(&format!("{T} [{pid}] app@shop LOG:  duration: 1.{i:03} ms  statement: SELECT o.id\n\tFROM orders o\n\tWHERE o.id = {i}\n")),
            1 => s.push_str(&format!(
                "{T} [{pid}] app@shop LOG:  duration: 0.5 ms  execute <unnamed>: SELECT * FROM users WHERE id = $1\n{T} [{pid}] app@shop DETAIL:  parameters: $1 = '{i}'\n"
            )),
            2 => s.push_str(&format!(
                "{T} [{pid}] app@shop ERROR:  boom\n{T} [{pid}] app@shop STATEMENT:  INSERT INTO t VALUES ({i})\n"
            )),
            3 => s.push_str(&format!("{T} [{pid}] LOG:  checkpoint complete\n")),
            _ => s.push_str(&format!("{T} [{pid}] app@shop LOG:  duration: 2.0 ms  statement: SELECT * FROM t WHERE a = {i}\n")),
        }
    }
    s
}

#[test]
fn counts_are_exact_across_parallel_block_seams() {
    // 1.2 million entries → many 4 MiB blocks split between threads.
    let text = log(1_200_000);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.log");
    std::fs::write(&p, &text).unwrap();
    for threads in ["1", "2", "3"] {
        let v = json(&run(
            &[
                "workload",
                "top",
                p.to_str().unwrap(),
                "--format",
                "json",
                "--threads",
                threads,
            ],
            None,
        ));
        assert_eq!(v["total_queries"], 960_000, "threads={threads}");
        assert_eq!(v["total_errors"], 120_000, "threads={threads}");
        assert_eq!(v["shapes_total"], 4);
        assert_eq!(v["read"]["skipped_lines"], 0);
        let multi = v["shapes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["normalized"] == "select o.id\nfrom orders o\nwhere o.id = $1"
                    || s["normalized"]
                        .as_str()
                        .unwrap()
                        .starts_with("select o.id from orders o")
            })
            .unwrap();
        assert_eq!(
            multi["calls"], 120_000,
            "a multi-line statement is never cut at a seam"
        );
    }
}

#[test]
fn gzip_zstd_and_stdin() {
    let text = log(1000);
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("l.log.gz");
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap();
    let v = json(&run(
        &["workload", "top", gz.to_str().unwrap(), "--format", "json"],
        None,
    ));
    assert_eq!(v["total_queries"], 800);
    let zst = dir.path().join("l.log.zst");
    let mut c = Command::new("zstd")
        .args(["-q", "-o"])
        .arg(&zst)
        .arg("-")
        .stdin(Stdio::piped())
        .spawn()
        .expect("the zstd tool is needed to write a test file (apt-get install zstd)");
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    assert!(c.wait().unwrap().success());
    let v = json(&run(
        &["workload", "top", zst.to_str().unwrap(), "--format", "json"],
        None,
    ));
    assert_eq!(v["total_queries"], 800);
    let v = json(&run(
        &["workload", "top", "-", "--format", "json"],
        Some(text.as_bytes()),
    ));
    assert_eq!(v["total_queries"], 800);
}

#[test]
fn bad_input_is_counted_or_a_clear_error() {
    // Unknown prefix: one clear line naming what to do.
    let out = run(
        &["workload", "top", "-"],
        Some(b"hello world\nthis is not a postgres log\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--prefix"), "{err}");

    // Binary garbage and a truncated last line inside a real log: counted, not fatal.
    let mut bytes = log(100).into_bytes();
    bytes.extend_from_slice(b"\x00\x01\xff\xfe garbage \x80\n");
    bytes.extend_from_slice(format!("{T} [1] app@shop LOG:  duration: 1.0 ms  statem").as_bytes());
    let v = json(&run(
        &["workload", "top", "-", "--format", "json"],
        Some(&bytes),
    ));
    assert_eq!(v["total_queries"], 80);
    assert_eq!(v["read"]["skipped_lines"], 1);

    // A 100 MB line: skipped and counted, memory stays bounded.
    let mut big = log(10).into_bytes();
    big.extend_from_slice(
        format!("{T} [1] app@shop LOG:  duration: 1.0 ms  statement: SELECT '").as_bytes(),
    );
    big.extend(std::iter::repeat_n(b'x', 100 << 20));
    big.extend_from_slice(b"'\n");
    big.extend_from_slice(log(10).as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.log");
    std::fs::write(&p, &big).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .args(["workload", "top", p.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total_queries"], 16);
    assert_eq!(v["read"]["skipped_lines"], 1);
}

#[test]
fn csvlog_jsonlog_and_trace_are_detected() {
    let csv = concat!(
        "2024-03-04 10:00:00.123 UTC,\"app\",\"shop\",77,\"h:1\",s1,1,\"SELECT\",2024-03-04 09:00:00 UTC,3/1,0,LOG,00000,",
        "\"duration: 1.0 ms  statement: SELECT 1\",,,,,,,,,\"psql\",\"client backend\",,0\n"
    );
    assert_eq!(
        json(&run(
            &["workload", "top", "-", "--format", "json"],
            Some(csv.as_bytes())
        ))["format"],
        "csvlog"
    );
    let jl = r#"{"timestamp":"2024-03-04 10:00:00.123 UTC","pid":1,"error_severity":"LOG","message":"duration: 1.0 ms  statement: SELECT 1"}"#;
    assert_eq!(
        json(&run(
            &["workload", "top", "-", "--format", "json"],
            Some(jl.as_bytes())
        ))["format"],
        "jsonlog"
    );
    let mut tr = String::new();
    for i in 0..6 {
        tr.push_str(&format!(
            "{{\"ts\": 1709546400.{i}, \"duration_ms\": 1.0, \"sql\": \"SELECT * FROM tags WHERE id = {i}\", \"trace_id\": \"t1\"}}\n"
        ));
    }
    let v = json(&run(
        &["workload", "n-plus-one", "-", "--format", "json"],
        Some(tr.as_bytes()),
    ));
    assert_eq!(v["format"], "trace JSON lines");
    assert_eq!(v["patterns"][0]["repeats"], 6);
    assert_eq!(v["findings"][0]["rule"], "n-plus-one");
}
