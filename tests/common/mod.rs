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
