//! Every `dbkit …` example of the README and of every `--help` text runs, in a temporary copy of
//! the checkout's fixtures, and exits as the text implies: 0, or the code a trailing
//! `# exit N` comment names. Examples against a user's own servers (`--url`, the libpq
//! environment, `route probe`, `shard inspect`, `partition convert|maintain`) cannot run here
//! and are listed, never silently dropped; `--scratch` examples start their own cluster and run.
//! `--help` is read at 80 columns, where a wrapped example line that lost its `\` fails.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One example: where it is written, the shell command, the exit code it implies.
#[derive(Debug, Clone)]
struct Example {
    source: String,
    command: String,
    expect: i32,
}

/// Why an example cannot run in a test, if it cannot.
fn needs_elsewhere(cmd: &str) -> Option<&'static str> {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let has = |w: &str| words.contains(&w);
    let after_dbkit = |sub: &str| cmd.contains(&format!("dbkit {sub}"));
    if after_dbkit("scratch start") && !has("--keep") {
        return Some("runs until Ctrl-C (tests/scratch_interrupt_pg.rs covers it)");
    }
    if has("--scratch") {
        return None;
    }
    let libpq_env = words
        .iter()
        .take_while(|w| w.contains('='))
        .any(|w| w.starts_with("PG") || w.starts_with("DATABASE_URL="));
    let playbook_server = after_dbkit("playbook run")
        && (cmd.contains(" url=") || cmd.contains(" map=") || cmd.contains("--execute"));
    if has("--url") || libpq_env || playbook_server {
        return Some("a server of the user's (--url or the libpq environment)");
    }
    if after_dbkit("route probe")
        || after_dbkit("shard inspect")
        || after_dbkit("shard move")
        || after_dbkit("shard verify")
        || (after_dbkit("shard rebalance") && has("--execute"))
        || (after_dbkit("shard export") && (has("postgres_fdw") || has("plproxy")))
    {
        return Some("the servers the map names");
    }
    if [
        "partition convert",
        "partition maintain",
        "ping",
        "explain",
        "index ",
    ]
    .iter()
    .any(|c| after_dbkit(c))
    {
        return Some("a server of the user's");
    }
    None
}

/// The commands of a shell snippet: `\` continuations joined, `# exit N` read, other comments
/// dropped, `export X=Y` lines carried to the commands after them; only lines that run dbkit.
fn commands(lines: &[(usize, String)], source: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut exports = String::new();
    let mut cur = String::new();
    let mut first = 0;
    for (n, raw) in lines {
        let line = raw.trim();
        if cur.is_empty() {
            first = *n;
        }
        if let Some(body) = line.strip_suffix('\\') {
            cur.push_str(body.trim_end());
            cur.push(' ');
            continue;
        }
        cur.push_str(line);
        let full = std::mem::take(&mut cur);
        let (cmd, comment) = match full.find(" #") {
            Some(i) => (
                full[..i].trim().to_string(),
                full[i + 2..].trim().to_string(),
            ),
            None => (full.trim().to_string(), String::new()),
        };
        let cmd = cmd.replace("./target/release/dbkit", "dbkit");
        if cmd.starts_with("export ") {
            exports.push_str(&cmd);
            exports.push_str("; ");
            continue;
        }
        let runs_dbkit = cmd
            .split_whitespace()
            .find(|w| !w.contains('='))
            .is_some_and(|w| w == "dbkit");
        if !runs_dbkit {
            continue;
        }
        let expect = comment
            .strip_prefix("exit ")
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|d| d.parse().ok())
            .unwrap_or(0);
        out.push(Example {
            source: format!("{source}:{first}"),
            command: format!("{exports}{cmd}"),
            expect,
        });
    }
    out
}

fn readme_examples(root: &Path) -> Vec<Example> {
    let text = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut block: Option<Vec<(usize, String)>> = None;
    for (i, line) in text.lines().enumerate() {
        match (&mut block, line.trim_start()) {
            (None, l) if l.starts_with("```sh") => block = Some(Vec::new()),
            (Some(_), l) if l.starts_with("```") => {
                out.extend(commands(&block.take().unwrap(), "README.md"));
            }
            (Some(b), _) => b.push((i + 1, line.to_string())),
            _ => {}
        }
    }
    out
}

fn help(bin: &Path, path: &[String]) -> String {
    let out = Command::new(bin)
        .args(path)
        .arg("--help")
        .env("COLUMNS", "80")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dbkit {} --help failed",
        path.join(" ")
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands a help text lists (`help` aside).
fn subcommands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("Commands:") {
            inside = true;
            continue;
        }
        if inside {
            if line.trim().is_empty() || !line.starts_with("  ") {
                break;
            }
            // A wrapped description continues deeper.
            if line.starts_with("   ") {
                continue;
            }
            if let Some(name) = line.split_whitespace().next() {
                if name != "help" {
                    out.push(name.to_string());
                }
            }
        }
    }
    out
}

/// The example lines of a help text (after `Example:`/`Examples:`), and problems: an example
/// line that clap wrapped (a continuation without the `\` before it).
fn help_examples(text: &str, source: &str) -> (Vec<Example>, Vec<String>) {
    let mut lines = Vec::new();
    let mut problems = Vec::new();
    let mut inside = false;
    let mut prev = String::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("Example:") || line.starts_with("Examples:") {
            inside = true;
            prev.clear();
            continue;
        }
        if !inside {
            continue;
        }
        if line.trim().is_empty() || !line.starts_with("  ") {
            inside = false;
            continue;
        }
        let t = line.trim();
        let continues = prev.trim_end().ends_with('\\');
        let starts_command = t.starts_with("dbkit ")
            || t.starts_with('#')
            || t.split_whitespace().next().is_some_and(|w| w.contains('='))
            || t.starts_with("psql")
            || t.starts_with("cat ")
            || t.starts_with("dbkit\t");
        if !continues && !starts_command {
            problems.push(format!(
                "{source}: an example line was wrapped without its `\\`: {prev:?} / {line:?}"
            ));
        }
        lines.push((i + 1, line.to_string()));
        prev = line.to_string();
    }
    (commands(&lines, source), problems)
}

fn all_help(bin: &Path) -> (Vec<Example>, Vec<String>) {
    let mut examples = Vec::new();
    let mut problems = Vec::new();
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = todo.pop() {
        let text = help(bin, &path);
        let source =
            format!("dbkit {} --help", path.join(" ")).replace("dbkit  --help", "dbkit --help");
        let (e, p) = help_examples(&text, &source);
        examples.extend(e);
        problems.extend(p);
        for s in subcommands(&text) {
            let mut next = path.clone();
            next.push(s);
            todo.push(next);
        }
    }
    (examples, problems)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let dest = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

/// Run `cmd` with `sh -c` in `dir` with dbkit first on PATH; the exit code (None: killed at
/// the time limit) and the end of its output.
fn run(cmd: &str, dir: &Path, bin_dir: &Path, limit: Duration) -> (Option<i32>, String) {
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .env("PATH", path)
        .env("DBKIT_SCRATCH_REGISTRY", dir.join(".kept"))
        .env_remove("DATABASE_URL")
        .env_remove("PGHOST")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out_pipe = child.stdout.take().unwrap();
    let mut err_pipe = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = out_reader.join().unwrap();
    let err = err_reader.join().unwrap();
    let tail = |s: &str| {
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(6)..].join("\n")
    };
    (
        code,
        format!("stdout:\n{}\nstderr:\n{}", tail(&out), tail(&err)),
    )
}

#[test]
fn every_example_runs_as_written() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_dbkit"));
    let bin_dir = bin.parent().unwrap().to_path_buf();
    let readme = readme_examples(&root);
    let (from_help, mut problems) = all_help(&bin);
    assert!(
        readme.len() >= 30,
        "read only {} README examples",
        readme.len()
    );
    assert!(
        from_help.len() >= 30,
        "read only {} --help examples",
        from_help.len()
    );

    let work = tempfile::tempdir().unwrap();
    copy_dir(&root.join("fixtures"), &work.path().join("fixtures"));
    copy_dir(&root.join("playbooks"), &work.path().join("playbooks"));
    let mut seen = BTreeSet::new();
    let mut elsewhere = Vec::new();
    let mut ran = 0;
    for ex in readme.iter().chain(&from_help) {
        if !seen.insert(ex.command.clone()) {
            continue;
        }
        if let Some(why) = needs_elsewhere(&ex.command) {
            elsewhere.push(format!("{} `{}`: needs {why}", ex.source, ex.command));
            continue;
        }
        let limit = if ex.command.contains("--scratch") {
            Duration::from_secs(300)
        } else {
            Duration::from_secs(60)
        };
        let (code, output) = run(&ex.command, work.path(), &bin_dir, limit);
        ran += 1;
        if code != Some(ex.expect) {
            problems.push(format!(
                "{} `{}`: exit {code:?}, the text implies {}\n{output}",
                ex.source, ex.command, ex.expect
            ));
        }
    }
    // Clusters an example kept and no example stopped are stopped here, and that fails.
    let kept: Vec<String> = std::fs::read_dir(work.path().join(".kept"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.strip_suffix(".json").map(str::to_string)
        })
        .collect();
    for name in kept {
        run(
            &format!("dbkit scratch stop {name}"),
            work.path(),
            &bin_dir,
            Duration::from_secs(60),
        );
        problems.push(format!(
            "an example kept cluster {name} running and no example stopped it"
        ));
    }
    eprintln!(
        "ran {ran} examples; {} need a server of the user's or run until interrupted:\n{}",
        elsewhere.len(),
        elsewhere.join("\n")
    );
    assert!(
        problems.is_empty(),
        "{} example(s) do not work as written:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

#[test]
fn the_reader_sees_continuations_exit_codes_and_wrapping() {
    let lines: Vec<(usize, String)> = [
        "export A=1   # a variable",
        "dbkit shard validate --map a.toml   # exit 1, five findings",
        "dbkit explain --scratch --schema s.sql \\",
        "    --workload w.sql",
        "# a comment",
        "psql -c 'select 1'",
    ]
    .iter()
    .enumerate()
    .map(|(i, l)| (i + 1, l.to_string()))
    .collect();
    let ex = commands(&lines, "t");
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[0].expect, 1);
    assert_eq!(
        ex[0].command,
        "export A=1; dbkit shard validate --map a.toml"
    );
    assert_eq!(
        ex[1].command,
        "export A=1; dbkit explain --scratch --schema s.sql --workload w.sql"
    );
    let wrapped =
        "Examples:\n  dbkit partition create --table events --key tenant_id\n  --modulus 8\n";
    let (_, problems) = help_examples(wrapped, "t");
    assert_eq!(problems.len(), 1, "{problems:?}");
    let kept = "Examples:\n  dbkit partition create --table events \\\n      --modulus 8\n";
    assert!(help_examples(kept, "t").1.is_empty());
    assert!(needs_elsewhere("dbkit ping --url postgres://x").is_some());
    assert!(needs_elsewhere("PGHOST=db dbkit ping").is_some());
    assert!(needs_elsewhere("X_URL=postgres://h/db dbkit route export --map m.toml").is_none());
    assert!(needs_elsewhere("dbkit ping --scratch").is_none());
    assert!(needs_elsewhere("dbkit plan analyze fixtures/plans/*.json").is_none());
}
