//! Playbooks end to end through the dbkit binary, on scratch servers: each shipped playbook as
//! a dry run (nothing changes) and executed (the change is there and checked), a run killed
//! with SIGKILL after each step in turn and resumed to the same end state, approval without a
//! terminal, and playbooks with mistakes refused with their file and line before anything runs.

mod common;

use common::{exec, int, rt, start};
use dbkit::db::{self, ScratchCluster};
use std::io::{BufRead, Read};
use std::path::Path;
use std::process::{Command, Stdio};

fn fixture(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .display()
        .to_string()
}

/// Run dbkit in `dir` with no terminal; with `kill_after`, SIGKILL it as soon as stderr says
/// that step finished. Exit code (None when killed), stdout, stderr.
fn dbkit(dir: &Path, args: &[&str], kill_after: Option<&str>) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbkit"))
        .current_dir(dir)
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let mut err = String::new();
    for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if let Some(step) = kill_after {
            if line.contains(&format!("] {step}: done")) {
                child.kill().unwrap();
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    (status.code(), out.join().unwrap(), err)
}

/// Run `args` (an executed run), SIGKILL it when `step` is done, resume it: the resumed run's
/// report. `None` when the run had already finished when the signal came (possible after the
/// last steps, which end in milliseconds): then the run is refused a second time.
fn kill_and_resume(dir: &Path, args: &[&str], step: &str) -> Option<serde_json::Value> {
    let (code, _, err) = dbkit(dir, args, Some(step));
    let id = run_id(&err);
    let mut resume = args.to_vec();
    resume.extend(["--resume", &id]);
    let (again, out, err2) = dbkit(dir, &resume, None);
    if code == Some(0) {
        assert_eq!(again, Some(2), "{err2}");
        assert!(err2.contains("does not run again"), "{err2}");
        return None;
    }
    assert_eq!(
        code, None,
        "neither killed nor finished after {step}: {err}"
    );
    assert_eq!(again, Some(0), "resume after {step}: {err2}\n{out}");
    Some(json(&out))
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn statuses(r: &serde_json::Value) -> Vec<(String, String)> {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn run_id(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("dbkit: run "))
        .unwrap_or_else(|| panic!("no run id in {stderr}"));
    line["dbkit: run ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn shop(c: &ScratchCluster) {
    exec(
        c,
        &std::fs::read_to_string(fixture("fixtures/shop/schema.sql")).unwrap(),
    );
    exec(
        c,
        &std::fs::read_to_string(fixture("fixtures/shop/seed.sql")).unwrap(),
    );
}

const NEW_INDEX: &str = "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'orders_created_at_idx' AND i.indisvalid";

#[test]
fn add_index_safely_dry_run_changes_nothing_and_execute_builds_a_verified_index() {
    let c = start();
    shop(&c);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("url={}", c.url());
    let workload = format!("workload={}", fixture("fixtures/shop/workload.sql"));
    let base = [
        "playbook",
        "run",
        "add-index-safely",
        "--var",
        &url,
        "--var",
        &workload,
        "--format",
        "json",
    ];
    let (code, out, err) = dbkit(dir.path(), &base, None);
    assert_eq!(code, Some(0), "{err}");
    let r = json(&out);
    assert_eq!(r["mode"], "dry run");
    assert_eq!(
        statuses(&r),
        [
            ("advise".into(), "ran".into()),
            ("build".into(), "would-run".into()),
            ("analyze".into(), "would-run".into()),
            ("verify".into(), "ran".into())
        ]
    );
    assert!(r["steps"][1]["sql"][0]
        .as_str()
        .unwrap()
        .starts_with("CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_created_at_idx"));
    assert!(r["steps"][1]["condition"]
        .as_str()
        .unwrap()
        .ends_with("→ true"));
    assert_eq!(int(&c, NEW_INDEX), 0, "a dry run built an index");
    assert!(
        !dir.path().join(".dbkit").exists(),
        "a dry run kept a journal"
    );

    let mut args = base.to_vec();
    args.extend(["--execute", "--yes"]);
    let (code, out, err) = dbkit(dir.path(), &args, None);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert_eq!(r["status"], "done");
    assert!(statuses(&r).iter().all(|(_, s)| s == "done"), "{out}");
    assert_eq!(int(&c, NEW_INDEX), 1);
    let verify = &r["steps"][3];
    assert_eq!(verify["asserts"][0]["held"], true, "{verify}");
    assert!(r["steps"][1]["lsn"].as_str().unwrap().contains('/'));
    // The journal says the same, and the run cannot run again.
    let id = r["run_id"].as_str().unwrap();
    let j =
        json(&std::fs::read_to_string(dir.path().join(format!(".dbkit/runs/{id}.json"))).unwrap());
    assert_eq!(j["finished"], true);
    assert_eq!(j["steps"].as_array().unwrap().len(), 4);
    assert!(!j.to_string().contains("password"));
    let mut again = args.clone();
    again.extend(["--resume", id]);
    let (code, _, err) = dbkit(dir.path(), &again, None);
    assert_eq!(code, Some(2));
    assert!(err.contains("does not run again"), "{err}");
}

#[test]
fn a_run_killed_after_each_step_resumes_to_the_same_end_state() {
    let c = start();
    shop(&c);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("url={}", c.url());
    let workload = format!("workload={}", fixture("fixtures/shop/workload.sql"));
    let args = [
        "playbook",
        "run",
        "add-index-safely",
        "--var",
        &url,
        "--var",
        &workload,
        "--execute",
        "--yes",
        "--format",
        "json",
    ];
    let indexes = "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'";
    let before = int(&c, indexes);
    // The uninterrupted run's end state.
    let (code, _, err) = dbkit(dir.path(), &args, None);
    assert_eq!(code, Some(0), "{err}");
    let end = int(&c, indexes);
    assert_eq!(end, before + 1);
    for step in ["advise", "build", "analyze", "verify"] {
        exec(&c, "DROP INDEX IF EXISTS orders_created_at_idx");
        let Some(r) = kill_and_resume(dir.path(), &args, step) else {
            continue;
        };
        assert_eq!(r["resumed"], true);
        let out = r.to_string();
        let st = statuses(&r);
        let killed_at = st.iter().position(|(n, _)| n == step).unwrap();
        for (i, (name, status)) in st.iter().enumerate() {
            // Steps up to the kill were journaled as done before the line that triggered it:
            // re-checked and skipped. The next one may have finished before the signal
            // arrived; the ones after it ran on resume.
            let ok = match i.cmp(&(killed_at + 1)) {
                std::cmp::Ordering::Less => status == "done-before",
                std::cmp::Ordering::Equal => status == "done-before" || status == "done",
                std::cmp::Ordering::Greater => status == "done",
            };
            assert!(ok, "after a kill after {step}: {name} is {status}: {out}");
        }
        assert_eq!(int(&c, indexes), end, "after a kill after {step}");
        assert_eq!(int(&c, NEW_INDEX), 1);
    }
    // A finished step whose effect is gone is run again on resume: kill after the build, drop
    // the index behind dbkit's back, resume.
    exec(&c, "DROP INDEX IF EXISTS orders_created_at_idx");
    let (code, _, err) = dbkit(dir.path(), &args, Some("build"));
    assert_eq!(code, None, "{err}");
    let id = run_id(&err);
    exec(&c, "DROP INDEX orders_created_at_idx");
    let mut resume = args.to_vec();
    resume.extend(["--resume", &id]);
    let (code, out, err) = dbkit(dir.path(), &resume, None);
    assert_eq!(code, Some(0), "{err}");
    let r = json(&out);
    assert_eq!(r["steps"][1]["status"], "done", "{out}");
    assert!(r["steps"][1]["summary"]
        .as_str()
        .unwrap()
        .contains("no longer there"));
    assert_eq!(int(&c, NEW_INDEX), 1);
}

#[test]
fn approval_without_a_terminal_stops_with_exit_2_and_says_how_to_approve() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        r#"name = "approve-me"
description = "x"
[[steps]]
name = "first"
kind = "note"
text = "one"
[[steps]]
name = "risky"
kind = "note"
text = "two"
approve = true
"#,
    )
    .unwrap();
    let (code, out, err) = dbkit(
        dir.path(),
        &["playbook", "run", "p.toml", "--execute", "--format", "json"],
        None,
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("needs approval") && err.contains("--yes"),
        "{err}"
    );
    let r = json(&out);
    assert_eq!(r["status"], "waiting");
    assert_eq!(r["steps"][1]["status"], "waiting");
    // Approved on resume.
    let id = run_id(&err);
    let (code, out, err) = dbkit(
        dir.path(),
        &[
            "playbook",
            "run",
            "p.toml",
            "--execute",
            "--yes",
            "--resume",
            &id,
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, Some(0), "{err}");
    let r = json(&out);
    assert_eq!(
        statuses(&r),
        [
            ("first".into(), "done-before".into()),
            ("risky".into(), "done".into())
        ]
    );
    // The journal says how the step was approved.
    let j =
        json(&std::fs::read_to_string(dir.path().join(format!(".dbkit/runs/{id}.json"))).unwrap());
    assert_eq!(j["steps"][1]["approved"], "--yes", "{j}");
}

#[test]
fn mistakes_are_refused_with_file_and_line_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    // The first step would create a table on a server; the mistakes come after it.
    let text = r#"name = "broken"
description = "x"

[inputs.url]
type = "url"

[[steps]]
name = "create"
kind = "sql"
url = "${inputs.url}"
sql = "CREATE TABLE made_by_playbook (id int)"

[[steps]]
name = "oops"
kind = "index.aply"

[[steps]]
name = "count"
kind = "sql"
url = "${inputs.url}"
sql = "SELECT count(*) FROM ${inputs.tabel | ident}"
when = "steps.craete.affected == 0"
"#;
    std::fs::write(dir.path().join("broken.toml"), text).unwrap();
    // validate: each problem is a finding at its line (exit 1), as GitHub annotations too.
    let (code, out, err) = dbkit(
        dir.path(),
        &["playbook", "validate", "broken.toml", "--format", "github"],
        None,
    );
    assert_eq!(code, Some(1), "{err}");
    for line in [15, 21, 22] {
        assert!(
            out.contains(&format!("::error file=broken.toml,line={line}")),
            "{out}"
        );
    }
    assert!(out.contains("title=playbook-invalid"), "{out}");
    // run: refused before anything runs (exit 2), every problem on stderr.
    let args = [
        "playbook",
        "run",
        "broken.toml",
        "--execute",
        "--var",
        "url=postgres://nobody@127.0.0.1:1/x",
    ];
    let (code, _, err) = dbkit(dir.path(), &args, None);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("broken.toml:15: step `oops`: unknown step kind \"index.aply\""),
        "{err}"
    );
    assert!(
        err.contains("broken.toml:21: step `count`: `inputs.tabel` names no input"),
        "{err}"
    );
    assert!(
        err.contains("broken.toml:22: step `count`: `steps.craete.affected`: `craete` is no step"),
        "{err}"
    );
    assert!(!err.contains("connect"), "it tried to connect: {err}");
    assert!(!dir.path().join(".dbkit").exists());
    // A missing input is refused before anything runs, naming it.
    std::fs::write(
        dir.path().join("ok.toml"),
        text.replace("[[steps]]\nname = \"oops\"\nkind = \"index.aply\"\n", "")
            .replace("inputs.tabel", "inputs.url")
            .replace("steps.craete", "steps.create"),
    )
    .unwrap();
    let (code, _, err) = dbkit(
        dir.path(),
        &["playbook", "run", "ok.toml", "--execute"],
        None,
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("input url (url) is required: --var url="),
        "{err}"
    );
    assert!(!dir.path().join(".dbkit").exists());
    let (code, out, err) = dbkit(dir.path(), &["playbook", "validate", "ok.toml"], None);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("1 playbook(s) valid"), "{out}");
}

const EVENTS: &str = "CREATE TABLE events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, payload text);
     INSERT INTO events (created_at, payload) SELECT now() - (g % 2000) * interval '1 hour', 'p' || g FROM generate_series(1, 20000) g;
     ANALYZE events;";

const RELKIND: &str = "SELECT CASE relkind WHEN 'p' THEN 1 ELSE 0 END::int8 FROM pg_class WHERE oid = 'public.events'::regclass";

#[test]
fn partition_live_table_then_partition_maintenance_dry_run_and_execute() {
    let c = start();
    exec(&c, EVENTS);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("url={}", c.url());
    let base = [
        "playbook",
        "run",
        "partition-live-table",
        "--var",
        &url,
        "--var",
        "table=public.events",
        "--var",
        "key=created_at",
        "--format",
        "json",
    ];
    let (code, out, err) = dbkit(dir.path(), &base, None);
    assert_eq!(code, Some(0), "{err}");
    let r = json(&out);
    assert_eq!(
        statuses(&r),
        [
            ("count_before".into(), "ran".into()),
            ("ddl".into(), "ran".into()),
            ("convert".into(), "would-run".into()),
            ("premake".into(), "would-run".into()),
            ("count_after".into(), "ran".into()),
            ("schedule".into(), "ran".into())
        ],
        "{out}"
    );
    assert_eq!(r["steps"][0]["result"]["rows"][0]["n"], 20000);
    assert!(
        !r["steps"][2]["sql"].as_array().unwrap().is_empty(),
        "{out}"
    );
    let ddl = r["steps"][1]["result"]["sql"].to_string();
    assert!(ddl.contains("PARTITION BY RANGE"), "{ddl}");
    assert_eq!(int(&c, RELKIND), 0, "a dry run converted the table");

    let mut args = base.to_vec();
    args.extend(["--execute", "--yes"]);
    let (code, out, err) = dbkit(dir.path(), &args, None);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert!(statuses(&r).iter().all(|(_, s)| s == "done"), "{out}");
    assert_eq!(int(&c, RELKIND), 1);
    assert_eq!(int(&c, "SELECT count(*) FROM events"), 20000);
    assert_eq!(r["steps"][4]["asserts"][0]["held"], true);
    assert!(r["steps"][5]["summary"]
        .as_str()
        .unwrap()
        .contains("partition-maintenance --var table=public.events"));

    // partition-maintenance keeps 8 months ahead: the dry run shows the partitions, the
    // executed run creates them, and then nothing is left to create. A DEFAULT partition holds
    // a row of a month to be created: the preflight moves it into its new partition.
    exec(
        &c,
        "CREATE TABLE events_default PARTITION OF events DEFAULT;
         INSERT INTO events (created_at, payload) VALUES (now() + interval '6 months', 'early');",
    );
    let partitions = "SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass";
    let before = int(&c, partitions);
    let base = [
        "playbook",
        "run",
        "partition-maintenance",
        "--var",
        &url,
        "--var",
        "table=public.events",
        "--var",
        "premake=8",
        "--format",
        "json",
    ];
    let (code, out, err) = dbkit(dir.path(), &base, None);
    assert_eq!(code, Some(0), "{err}");
    let r = json(&out);
    assert_eq!(r["steps"][0]["status"], "would-run");
    assert!(
        r["steps"][0]["result"]["created"].as_i64().unwrap() >= 4,
        "{out}"
    );
    assert_eq!(int(&c, partitions), before);
    let mut args = base.to_vec();
    args.push("--execute");
    let (code, out, err) = dbkit(dir.path(), &args, None);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert_eq!(statuses(&r)[1], ("ahead".into(), "done".into()), "{out}");
    assert_eq!(r["steps"][1]["result"]["created"], 0);
    assert!(int(&c, partitions) >= before + 4);
    assert_eq!(int(&c, "SELECT count(*) FROM events_default"), 0);
    assert_eq!(
        int(&c, "SELECT count(*) FROM events WHERE payload = 'early'"),
        1
    );
}

#[test]
fn release_check_passes_a_safe_migration_and_gates_a_plan_regression() {
    let d = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = |migrations: &str, format: &str| {
        dbkit(
            d,
            &[
                "playbook",
                "run",
                "release-check",
                "--var",
                &format!("migrations=fixtures/release/{migrations}"),
                "--var",
                "schema=fixtures/release/schema.sql",
                "--var",
                "workload=fixtures/release/workload.sql",
                "--format",
                format,
            ],
            None,
        )
    };
    let (code, out, err) = run("ok", "json");
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert_eq!(
        statuses(&r),
        [
            ("static".into(), "ran".into()),
            ("observed".into(), "ran".into()),
            ("verdict".into(), "ran".into())
        ],
        "{out}"
    );
    assert_eq!(r["steps"][1]["result"]["observed"], true);
    // Executed (it changes nothing either way): journaled and finished.
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        format!("migrations={}", fixture("fixtures/release/ok")),
        format!("schema={}", fixture("fixtures/release/schema.sql")),
        format!("workload={}", fixture("fixtures/release/workload.sql")),
    ];
    let (code, out, err) = dbkit(
        dir.path(),
        &[
            "playbook",
            "run",
            "release-check",
            "--var",
            &vars[0],
            "--var",
            &vars[1],
            "--var",
            &vars[2],
            "--execute",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert!(statuses(&r).iter().all(|(_, s)| s == "done"), "{out}");
    let id = r["run_id"].as_str().unwrap();
    let j =
        json(&std::fs::read_to_string(dir.path().join(format!(".dbkit/runs/{id}.json"))).unwrap());
    assert_eq!(j["finished"], true);

    let (code, out, err) = run("regression", "json");
    assert_eq!(code, Some(1), "{err}\n{out}");
    let r = json(&out);
    assert_eq!(r["status"], "assert-failed");
    assert_eq!(r["steps"][1]["status"], "assert-failed", "{out}");
    assert!(
        r["steps"][1]["result"]["regressions"].as_i64().unwrap() >= 1,
        "{out}"
    );
    assert_eq!(r["steps"][2]["status"], "skipped");
    let rules: Vec<&str> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"playbook-assert-failed"), "{rules:?}");
    // The report for the pull request: GitHub annotations with the playbook's line.
    let (code, out, _) = run("regression", "github");
    assert_eq!(code, Some(1));
    assert!(
        out.contains("::error") && out.contains("playbook-assert-failed"),
        "{out}"
    );
}

#[test]
fn rebalance_shards_onto_an_added_node_dry_run_and_execute() {
    let nodes: Vec<ScratchCluster> = (0..3).map(|_| start()).collect();
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("shards.toml");
    let text = shard_nodes(&nodes[..2], &map);
    let add = format!("add=name=c,url={}", nodes[2].url());
    let base = [
        "playbook",
        "run",
        "rebalance-shards",
        "--var",
        "map=shards.toml",
        "--var",
        "strategy=count",
        "--var",
        &add,
        "--var",
        "export=routing.sql",
        "--format",
        "json",
    ];
    let (code, out, err) = dbkit(dir.path(), &base, None);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert_eq!(
        statuses(&r),
        [
            ("inspect".into(), "ran".into()),
            ("plan".into(), "ran".into()),
            ("moves".into(), "would-run".into()),
            ("export".into(), "would-run".into()),
            ("next".into(), "ran".into())
        ],
        "{out}"
    );
    let moves = r["steps"][1]["result"]["move_count"].as_i64().unwrap();
    assert!(moves >= 1, "{out}");
    assert_eq!(
        std::fs::read_to_string(&map).unwrap(),
        text,
        "a dry run changed the map"
    );
    assert!(!dir.path().join("routing.sql").exists());

    let mut args = base.to_vec();
    args.extend(["--execute", "--yes"]);
    let (code, out, err) = dbkit(dir.path(), &args, None);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert!(statuses(&r).iter().all(|(_, s)| s == "done"), "{out}");
    assert_eq!(r["steps"][2]["result"]["done"].as_i64().unwrap(), moves);
    let now = dbkit::shard::ShardMap::load(&map).unwrap();
    assert_eq!(now.nodes.len(), 3);
    let on_c: Vec<u64> = now
        .shards
        .iter()
        .filter(|s| s.node == "c")
        .map(|s| s.id)
        .collect();
    assert!(!on_c.is_empty(), "{out}");
    // The rows followed the map, and the routing SQL was written for it.
    for s in &on_c {
        let here = int(&nodes[2], &format!("SELECT count(*) FROM orders_p{s}"));
        assert!(here > 0, "shard {s} is empty on c");
    }
    let routing = std::fs::read_to_string(dir.path().join("routing.sql")).unwrap();
    assert!(routing.contains("postgres_fdw"), "{routing}");
}

#[test]
fn plan_and_list_show_the_steps_without_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = dbkit(
        dir.path(),
        &[
            "playbook",
            "plan",
            "add-index-safely",
            "--var",
            "url=postgres://u:s3cret@127.0.0.1:1/nowhere",
            "--var",
            "workload=q.sql",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(!out.contains("s3cret") && !err.contains("s3cret"), "{out}");
    let r = json(&out);
    assert_eq!(r["mode"], "plan");
    assert!(statuses(&r).iter().all(|(_, s)| s == "would-run"), "{out}");
    assert_eq!(
        r["steps"][1]["args"]["indexes"],
        "${steps.advise.recommendations}"
    );
    assert!(r["steps"][1]["condition"]
        .as_str()
        .unwrap()
        .starts_with("when steps.advise.count > 0"));
    assert_eq!(r["inputs"]["url"], "postgres://u:***@127.0.0.1:1/nowhere");
    let (code, out, err) = dbkit(dir.path(), &["playbook", "list", "--format", "json"], None);
    assert_eq!(code, Some(0), "{err}");
    let r = json(&out);
    let names: Vec<&str> = r["playbooks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "add-index-safely",
            "partition-live-table",
            "partition-maintenance",
            "rebalance-shards",
            "release-check"
        ]
    );
    // HTML, like every report.
    let (code, out, err) = dbkit(
        dir.path(),
        &[
            "playbook",
            "plan",
            "add-index-safely",
            "--var",
            "workload=q.sql",
            "--format",
            "html",
        ],
        None,
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("<ol class=\"steps\">") && out.contains("index.apply"),
        "{out}"
    );
}

#[test]
fn partition_live_table_killed_after_each_step_resumes_to_the_same_end_state() {
    let c = start();
    let dir = tempfile::tempdir().unwrap();
    let state = |db: &str| {
        rt().block_on(async {
            let mut conn = db::connect(&c.conn_spec(db)).await.unwrap();
            let v: (i64, i64, i64) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM events),
                        (SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.events'::regclass),
                        (SELECT CASE relkind WHEN 'p' THEN 1 ELSE 0 END::int8 FROM pg_class WHERE oid = 'public.events'::regclass)",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            db::close(conn).await;
            v
        })
    };
    let load = |db: &str| {
        rt().block_on(async {
            let mut conn = db::connect(&c.conn_spec(db)).await.unwrap();
            db::exec_script(&mut conn, "setup", EVENTS).await.unwrap();
            db::close(conn).await;
        })
    };
    let args = |url: &str| -> Vec<String> {
        [
            "playbook",
            "run",
            "partition-live-table",
            "--var",
            url,
            "--var",
            "table=public.events",
            "--var",
            "key=created_at",
            "--execute",
            "--yes",
            "--format",
            "json",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // Uninterrupted.
    exec(&c, "CREATE DATABASE whole");
    load("whole");
    let whole = args(&format!("url={}", c.url_for("whole")));
    let whole: Vec<&str> = whole.iter().map(String::as_str).collect();
    let (code, _, err) = dbkit(dir.path(), &whole, None);
    assert_eq!(code, Some(0), "{err}");
    let end = state("whole");
    assert_eq!((end.0, end.2), (20000, 1));
    let steps = ["count_before", "ddl", "convert", "premake", "count_after"];
    for (i, step) in steps.iter().enumerate() {
        let db = format!("k{i}");
        exec(&c, &format!("CREATE DATABASE {db}"));
        load(&db);
        let owned = args(&format!("url={}", c.url_for(&db)));
        let args: Vec<&str> = owned.iter().map(String::as_str).collect();
        if let Some(r) = kill_and_resume(dir.path(), &args, step) {
            assert_eq!(statuses(&r)[i].1, "done-before", "{r}");
        }
        assert_eq!(state(&db), end, "after a kill after {step}");
    }
}

/// Shards 0 and 1 on node a, 2 and 3 on b (hash, modulus 4) of a table `orders`, with rows, and
/// the map naming them: its text.
fn shard_nodes(nodes: &[ScratchCluster], map: &Path) -> String {
    let holds: [&[u64]; 2] = [&[0, 1], &[2, 3]];
    let mut text = String::from("version = 1\n[tables]\norders = \"customer_id\"\n");
    for (n, c) in ["a", "b"].iter().zip(nodes) {
        text.push_str(&format!(
            "[[nodes]]\nname = \"{n}\"\nurl = \"{}\"\n",
            c.url()
        ));
    }
    for (i, h) in holds.iter().enumerate() {
        for r in *h {
            text.push_str(&format!(
                "[[shards]]\nid = {r}\nnode = \"{}\"\nhash = {{ modulus = 4, remainder = {r} }}\n",
                ["a", "b"][i]
            ));
        }
    }
    std::fs::write(map, &text).unwrap();
    for (i, h) in holds.iter().enumerate() {
        let mut sql = "CREATE TABLE orders (customer_id int8 NOT NULL, id int8 NOT NULL, note text, PRIMARY KEY (customer_id, id)) PARTITION BY HASH (customer_id);".to_string();
        for r in *h {
            sql.push_str(&format!("CREATE TABLE orders_p{r} PARTITION OF orders FOR VALUES WITH (MODULUS 4, REMAINDER {r});"));
        }
        sql.push_str("INSERT INTO orders SELECT g, 1, 'x' FROM generate_series(1, 8000) g WHERE ");
        let any: Vec<String> = h
            .iter()
            .map(|r| format!("satisfies_hash_partition('orders'::regclass, 4, {r}, g::int8)"))
            .collect();
        sql.push_str(&any.join(" OR "));
        exec(&nodes[i], &sql);
    }
    text
}

#[test]
fn route_probe_route_export_and_a_shard_move_as_steps() {
    let nodes: Vec<ScratchCluster> = (0..2).map(|_| start()).collect();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = shard_nodes(&nodes, &d.join("shards.toml"));
    std::fs::write(
        d.join("routes.toml"),
        format!(
            "cluster = \"shop\"\n[primary]\nname = \"a\"\nurl = \"{}\"\n[policy]\nmax_lag_bytes = 1048576\nmax_lag_ms = 5000\n",
            nodes[0].url()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("move.toml"),
        r#"name = "route-and-move"
description = "probe the pool, write its configuration, move a shard"
[inputs.routes]
type = "path"
[inputs.shards]
type = "path"
[[steps]]
name = "probe"
kind = "route.probe"
map = "${inputs.routes}"
assert = ["steps.probe.admitted == 1", "steps.probe.servers[0].reachable"]
[[steps]]
name = "pool"
kind = "route.export"
map = "${inputs.routes}"
tool = "pgbouncer"
output = "pgbouncer.ini"
[[steps]]
name = "move"
kind = "shard.move"
map = "${inputs.shards}"
shard = 1
to = "b"
max_pause_ms = 2000
assert = ["steps.move.verified", "steps.move.to == 'b'"]
"#,
    )
    .unwrap();
    let base = [
        "playbook",
        "run",
        "move.toml",
        "--var",
        "routes=routes.toml",
        "--var",
        "shards=shards.toml",
        "--format",
        "json",
    ];
    let (code, out, err) = dbkit(d, &base, None);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert_eq!(
        statuses(&r),
        [
            ("probe".into(), "ran".into()),
            ("pool".into(), "would-run".into()),
            ("move".into(), "would-run".into())
        ],
        "{out}"
    );
    assert!(!r["steps"][2]["sql"].as_array().unwrap().is_empty());
    assert!(!d.join("pgbouncer.ini").exists());
    assert_eq!(
        std::fs::read_to_string(d.join("shards.toml")).unwrap(),
        text
    );
    let mut args = base.to_vec();
    args.push("--execute");
    let (code, out, err) = dbkit(d, &args, None);
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert!(statuses(&r).iter().all(|(_, s)| s == "done"), "{out}");
    assert!(std::fs::read_to_string(d.join("pgbouncer.ini"))
        .unwrap()
        .contains("[databases]"));
    let now = dbkit::shard::ShardMap::load(&d.join("shards.toml")).unwrap();
    assert_eq!(now.shards.iter().find(|s| s.id == 1).unwrap().node, "b");
    assert!(int(&nodes[1], "SELECT count(*) FROM orders_p1") > 0);
}

#[test]
fn an_invalid_build_is_dropped_and_retried_then_the_rollback_runs() {
    let c = start();
    exec(
        &c,
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);",
    );
    let dir = tempfile::tempdir().unwrap();
    // The expression fails for one row: the concurrent build leaves an invalid index each time.
    std::fs::write(
        dir.path().join("p.toml"),
        r#"name = "failing-build"
description = "an index whose build fails"
[inputs.url]
type = "url"
[[steps]]
name = "build"
kind = "index.apply"
url = "${inputs.url}"
indexes = [{ index = { schema = "public", table = "t", method = "btree", include = [], keys = [{ key = { Expr = "(1 / (id - 5))" }, desc = false }] } }]
retries = 2
assert = ["steps.build.failed == 0"]
on_failure = "rollback"
rollback = "mark"
[[steps]]
name = "after"
kind = "note"
text = "not reached"
[[rollback]]
name = "mark"
kind = "sql"
url = "${inputs.url}"
sql = "CREATE TABLE rolled_back (at timestamptz DEFAULT now())"
"#,
    )
    .unwrap();
    let url = format!("url={}", c.url());
    let (code, out, err) = dbkit(
        dir.path(),
        &[
            "playbook",
            "run",
            "p.toml",
            "--var",
            &url,
            "--execute",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, Some(1), "{err}\n{out}");
    let r = json(&out);
    assert_eq!(
        statuses(&r),
        [
            ("build".into(), "assert-failed".into()),
            ("mark".into(), "rolled-back".into()),
            ("after".into(), "not-reached".into())
        ],
        "{out}"
    );
    let applied = &r["steps"][0]["result"]["applied"][0];
    assert_eq!(applied["status"], "failed", "{applied}");
    assert_eq!(applied["tries"], 3, "{applied}");
    assert!(applied["error"]
        .as_str()
        .unwrap()
        .contains("division by zero"));
    assert_eq!(
        int(
            &c,
            "SELECT count(*) FROM pg_index WHERE indrelid = 't'::regclass AND NOT indisvalid"
        ),
        0
    );
    assert_eq!(int(&c, "SELECT count(*) FROM rolled_back"), 0);
    assert!(r["findings"].to_string().contains("playbook-assert-failed"));
}

#[test]
fn sql_steps_read_rows_check_their_effect_and_stay_read_only_when_asked() {
    let c = start();
    let dir = tempfile::tempdir().unwrap();
    let body = r#"name = "rows"
description = "sql steps"
[inputs.url]
type = "url"
[[steps]]
name = "mk"
kind = "sql"
url = "${inputs.url}"
sql = "CREATE TABLE t (id int, note text)"
done = "SELECT to_regclass('public.t') IS NOT NULL"
[[steps]]
name = "ins"
kind = "sql"
url = "${inputs.url}"
sql = "INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 3) g RETURNING id, note"
expect_rows = 3
[[steps]]
name = "upd"
kind = "sql"
url = "${inputs.url}"
sql = "UPDATE t SET note = ${steps.ins.rows[0].note | literal} || '''' WHERE id = 1"
expect_rows = 1
[[steps]]
name = "vals"
kind = "sql"
url = "${inputs.url}"
sql = "SELECT count(*) AS n, max(note) AS top FROM t -- trailing comment"
read_only = true
assert = ["steps.vals.rows[0].n == 3", "steps.ins.rows[2].note == 'n3'"]
"#;
    std::fs::write(dir.path().join("p.toml"), body).unwrap();
    let url = format!("url={}", c.url());
    let run = |file: &str| {
        dbkit(
            dir.path(),
            &[
                "playbook",
                "run",
                file,
                "--var",
                &url,
                "--execute",
                "--format",
                "json",
            ],
            None,
        )
    };
    let (code, out, err) = run("p.toml");
    assert_eq!(code, Some(0), "{err}\n{out}");
    let r = json(&out);
    assert_eq!(r["steps"][1]["result"]["rows"][2]["note"], "n3");
    assert_eq!(r["steps"][2]["result"]["affected"], 1);
    assert_eq!(int(&c, "SELECT count(*) FROM t WHERE note = 'n1'''"), 1);
    // A second run: the table is there, so `mk` is already done; the insert adds 3 more rows,
    // so the update changes 2 rows where 1 was declared: an error (exit 2).
    let (code, out, err) = run("p.toml");
    assert_eq!(code, Some(2), "{err}\n{out}");
    assert!(
        err.contains("expected 1 row(s), the statement changed 2"),
        "{err}"
    );
    let r = json(&out);
    assert!(r["steps"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("already done"));
    assert_eq!(r["steps"][3]["status"], "not-reached");
    // A `done` query that does not answer true or false is an error, not "not done".
    std::fs::write(
        dir.path().join("d.toml"),
        body.replace(
            "done = \"SELECT to_regclass('public.t') IS NOT NULL\"",
            "done = \"SELECT count(*) FROM t\"",
        ),
    )
    .unwrap();
    let (code, _, err) = run("d.toml");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("must return true or false, not 6"), "{err}");
    // read_only is enforced by the server.
    std::fs::write(
        dir.path().join("ro.toml"),
        body.replace("expect_rows = 1\n", "").replace(
            "sql = \"SELECT count(*) AS n, max(note) AS top FROM t -- trailing comment\"",
            "sql = \"DELETE FROM t\"",
        ),
    )
    .unwrap();
    let (code, _, err) = run("ro.toml");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("read-only transaction"), "{err}");
    assert_eq!(int(&c, "SELECT count(*) FROM t"), 9);
}

/// Run `dbkit playbook run p.toml --execute` in `dir` on a tmux terminal, answer `answer` to
/// its approval prompt, and return the exit code and the journal of the run.
fn approve_on_a_terminal(dir: &Path, answer: &str) -> (i32, serde_json::Value) {
    let socket = dir.join("tmux.sock");
    let name = format!("approve-{answer}");
    let script = format!(
        "cd '{}' && TERM=xterm '{}' playbook run p.toml --execute --format json > out-{answer}.json; echo __EXIT $?; sleep 600",
        dir.display(),
        env!("CARGO_BIN_EXE_dbkit")
    );
    let tmux = |a: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(a)
            .output()
            .unwrap_or_else(|e| panic!("tmux is required for this test: {e}"))
    };
    let out = tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "120",
        "-y",
        "40",
        "sh",
        "-c",
        &script,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = || {
        let out = tmux(&[
            "capture-pane",
            "-p",
            "-J",
            "-t",
            &name,
            "-S",
            "-",
            "-E",
            "-",
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let wait_for = |what: &str| {
        let start = std::time::Instant::now();
        loop {
            let s = screen();
            if s.contains(what) {
                return s;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "no {what:?} on the terminal:\n{s}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let asked = wait_for("approve? [y/N]");
    assert!(
        asked.contains("step risky (note) needs approval"),
        "{asked}"
    );
    tmux(&["send-keys", "-t", &name, answer, "Enter"]);
    let done = wait_for("__EXIT ");
    tmux(&["kill-session", "-t", &name]);
    let code: i32 = done
        .split("__EXIT ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("{done}"));
    let report = json(&std::fs::read_to_string(dir.join(format!("out-{answer}.json"))).unwrap());
    let id = report["run_id"].as_str().unwrap();
    let journal =
        json(&std::fs::read_to_string(dir.join(format!(".dbkit/runs/{id}.json"))).unwrap());
    (code, journal)
}

#[test]
fn approval_on_a_terminal_asks_and_takes_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("p.toml"),
        "name = \"approve-me\"\n[[steps]]\nname = \"risky\"\nkind = \"note\"\ntext = \"two\"\napprove = true\n",
    )
    .unwrap();
    let (code, j) = approve_on_a_terminal(dir.path(), "y");
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["finished"], true);
    assert!(
        j["steps"][0]["approved"]
            .as_str()
            .unwrap()
            .starts_with("on the terminal by"),
        "{j}"
    );
    let (code, j) = approve_on_a_terminal(dir.path(), "n");
    assert_eq!(code, 2, "{j}");
    assert_eq!(j["finished"], false);
    assert_eq!(j["steps"][0]["status"], "waiting");
}
