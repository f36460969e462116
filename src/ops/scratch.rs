//! `dbkit scratch`: a throw-away cluster started and loaded, described, then watched until the
//! process is interrupted (the interrupt cleanup stops and deletes it) or the server dies; and
//! clusters kept between commands (`--keep`): a detached dbkit process owns each one, listed in
//! a registry directory (`scratch list`), and stopping it (`scratch stop NAME`) stops and
//! deletes the cluster through that owner's own cleanup.

use crate::db::scratch::{ScratchCluster, ScratchError, ScratchInfo};
use crate::db::ScratchLoad;
use crate::view::{Cell, Report, Table, Tone};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A started scratch cluster: stopped and deleted when dropped.
#[derive(Debug)]
pub struct Started {
    cluster: ScratchCluster,
}

impl Started {
    /// How to reach it (URL, port, directory).
    pub fn info(&self) -> ScratchInfo {
        ScratchInfo::of(&self.cluster)
    }

    /// Watch the server until it stops on its own (an error with the end of its log); a
    /// process interrupt ends the wait through the interrupt cleanup instead.
    pub async fn watch(mut self) -> Result<(), crate::Error> {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.cluster.check_alive()?;
        }
    }
}

/// Start a scratch cluster and run its schema and seed scripts.
pub async fn start(load: &ScratchLoad) -> Result<Started, crate::Error> {
    let target = crate::db::open_target(None, Some(load)).await?;
    let cluster = target.scratch.ok_or_else(|| ScratchError::Step {
        step: "starting".to_string(),
        message: "no cluster was started".to_string(),
    })?;
    Ok(Started { cluster })
}

/// A cluster kept between commands, as the registry records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kept {
    /// Its name.
    pub name: String,
    /// Connection URL.
    pub url: String,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Server version.
    pub version: String,
    /// Data directory (deleted when it stops).
    pub data_dir: String,
    /// The dbkit process that owns it.
    pub owner_pid: u32,
    /// When it was started (UTC).
    pub started: String,
    /// The owner's log (start-up errors land there).
    pub log: String,
    /// Whether its owner is running (filled by [`list`]).
    #[serde(default)]
    pub alive: bool,
}

/// Where kept clusters are registered: `DBKIT_SCRATCH_REGISTRY`, else `dbkit-kept` in the
/// temp directory.
pub fn registry() -> PathBuf {
    std::env::var_os("DBKIT_SCRATCH_REGISTRY")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("dbkit-kept"))
}

fn scratch_error(step: &str, message: impl std::fmt::Display) -> crate::Error {
    ScratchError::Step {
        step: step.to_string(),
        message: message.to_string(),
    }
    .into()
}

/// A name a cluster can be kept under: 1 to 40 of `a-z 0-9 _ -`.
pub fn check_name(name: &str) -> Result<(), crate::Error> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(scratch_error(
            "naming the cluster",
            format!("{name:?}: a name is 1 to 40 of a-z, 0-9, _ and -"),
        ))
    }
}

fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks whether the process exists.
    let exists = unsafe { libc::kill(pid, 0) } == 0;
    exists || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn entry(name: &str) -> PathBuf {
    registry().join(format!("{name}.json"))
}

fn read_entry(path: &Path) -> Option<Kept> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Record the cluster this process owns under `name` (the detached owner calls it once the
/// cluster is ready).
pub fn register(name: &str, started: &Started) -> Result<Kept, crate::Error> {
    check_name(name)?;
    let info = started.info();
    let dir = registry();
    std::fs::create_dir_all(&dir).map_err(|e| scratch_error("creating the registry", e))?;
    let kept = Kept {
        name: name.to_string(),
        url: info.url,
        port: info.port,
        version: info.version,
        data_dir: info.data_dir,
        owner_pid: std::process::id(),
        started: crate::calendar::iso(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        ),
        log: dir.join(format!("{name}.log")).display().to_string(),
        alive: true,
    };
    let text = serde_json::to_string_pretty(&kept).map_err(|e| scratch_error("registering", e))?;
    let tmp = dir.join(format!(".{name}.json.tmp"));
    std::fs::write(&tmp, text).map_err(|e| scratch_error("registering", e))?;
    std::fs::rename(&tmp, entry(name)).map_err(|e| scratch_error("registering", e))?;
    Ok(kept)
}

/// Start a kept cluster: `dbkit` (the binary at `exe`) is started detached from this process
/// and its terminal, owns the cluster, and registers it under `name`; this returns once it is
/// registered (or fails with the end of the owner's log).
pub fn keep(exe: &Path, name: &str, load: &ScratchLoad) -> Result<Kept, crate::Error> {
    use std::os::unix::process::CommandExt;
    check_name(name)?;
    if let Some(k) = read_entry(&entry(name)).filter(|k| alive(k.owner_pid)) {
        return Err(scratch_error(
            "starting",
            format!(
                "a cluster named {name} is running at {} (dbkit scratch stop {name})",
                k.url
            ),
        ));
    }
    let dir = registry();
    std::fs::create_dir_all(&dir).map_err(|e| scratch_error("creating the registry", e))?;
    let _ = std::fs::remove_file(entry(name));
    let log_path = dir.join(format!("{name}.log"));
    let log = std::fs::File::create(&log_path).map_err(|e| scratch_error("creating the log", e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| scratch_error("creating the log", e))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["scratch", "start", "--name", name, "--owner"]);
    if let Some(p) = &load.schema {
        cmd.arg("--schema").arg(absolute(p));
    }
    if let Some(p) = &load.seed {
        cmd.arg("--seed").arg(absolute(p));
    }
    if let Some(port) = load.port {
        cmd.arg("--port").arg(port.to_string());
    }
    for (k, v) in &load.settings {
        cmd.arg("--set").arg(format!("{k}={v}"));
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(log)
        .stderr(log2);
    // SAFETY: setsid is async-signal-safe; the owner leaves this process's session, so closing
    // the terminal or Ctrl-C here does not reach it.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| scratch_error(&format!("running {}", exe.display()), e))?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(k) = read_entry(&entry(name)).filter(|k| k.owner_pid == child.id()) {
            return Ok(Kept { alive: true, ..k });
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(scratch_error(
                "starting",
                format!("the owner exited with {status}: {}", tail.join(" | ")),
            ));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return Err(scratch_error("starting", "not ready after 600 s"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::env::current_dir().map_or_else(|_| p.to_path_buf(), |d| d.join(p))
}

/// `dbkit scratch list`: the kept clusters; entries whose owner is gone are dropped from the
/// registry (their cluster went with it).
pub fn list() -> Result<ScratchList, crate::Error> {
    let dir = registry();
    let entries = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(ScratchList { clusters: vec![] })
        }
        Err(e) => return Err(scratch_error(&format!("reading {}", dir.display()), e)),
    };
    let mut clusters = Vec::new();
    for e in entries {
        let path = e
            .map_err(|e| scratch_error(&format!("reading {}", dir.display()), e))?
            .path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Some(k) = read_entry(&path) else {
            return Err(scratch_error(
                "listing",
                format!(
                    "{} is not a registry entry dbkit can read (remove it)",
                    path.display()
                ),
            ));
        };
        let alive = alive(k.owner_pid) && Path::new(&k.data_dir).exists();
        if !alive {
            let _ = std::fs::remove_file(&path);
        }
        clusters.push(Kept { alive, ..k });
    }
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(ScratchList { clusters })
}

/// `dbkit scratch stop NAME`: ask the owner to stop (SIGTERM: its cleanup stops the server and
/// deletes the directory) and wait for it.
pub fn stop(name: &str) -> Result<ScratchList, crate::Error> {
    check_name(name)?;
    let path = entry(name);
    let Some(k) = read_entry(&path) else {
        return Err(scratch_error(
            "stopping",
            format!("no kept cluster is named {name} (dbkit scratch list)"),
        ));
    };
    if alive(k.owner_pid) {
        let pid = libc::pid_t::try_from(k.owner_pid)
            .map_err(|_| scratch_error("stopping", "a bad pid in the registry"))?;
        // Only a dbkit process (pids get reused).
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains("scratch") {
            let _ = std::fs::remove_file(&path);
            return Err(scratch_error(
                "stopping",
                format!("process {pid} is no longer the owner of {name}; the entry was removed"),
            ));
        }
        // SAFETY: SIGTERM to the owner, which cleans up and exits.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while alive(k.owner_pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if alive(k.owner_pid) {
            return Err(scratch_error(
                "stopping",
                format!("the owner (pid {pid}) did not exit within 30 s"),
            ));
        }
    }
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(registry().join(format!("{name}.log")));
    Ok(ScratchList {
        clusters: vec![Kept { alive: false, ..k }],
    })
}

/// The report of one kept cluster (what `scratch start --keep` prints).
pub fn list_of(kept: Kept) -> ScratchList {
    ScratchList {
        clusters: vec![kept],
    }
}

/// The kept clusters (`scratch list`), or the one stopped (`scratch stop`).
#[derive(Debug, Clone, Serialize)]
pub struct ScratchList {
    /// Each cluster.
    pub clusters: Vec<Kept>,
}

impl Report for ScratchList {
    fn kind(&self) -> &'static str {
        "scratch-list"
    }
    fn summary(&self) -> String {
        let running = self.clusters.iter().filter(|k| k.alive).count();
        format!(
            "{} kept scratch cluster(s) running (registry {})",
            running,
            registry().display()
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Kept scratch clusters",
            &["name", "state", "url", "version", "started", "data dir"],
        );
        for k in &self.clusters {
            t.row(vec![
                Cell::text(k.name.clone()),
                if k.alive {
                    Cell::toned("running", Tone::Good)
                } else {
                    Cell::toned("stopped", Tone::Dim)
                },
                Cell::text(k.url.clone()),
                Cell::text(k.version.clone()),
                Cell::text(k.started.clone()),
                Cell::text(k.data_dir.clone()),
            ]);
        }
        vec![t]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["dev", "shop-1", "a_b"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "Dev", "a/b", "../x", "a b", &"x".repeat(41)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
