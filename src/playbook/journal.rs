//! The journal of an executed playbook run: one JSON file per run under `.dbkit/runs/` beside
//! the playbook, rewritten atomically (a temporary file renamed over it) before and after each
//! step. It holds the inputs (connection passwords masked), each step's start, end, status,
//! result and the WAL position of its server at the end, and whether the run finished.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What became of a step in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryStatus {
    /// Started, not finished (interrupted, or under way).
    Running,
    /// Finished, assertions held.
    Done,
    /// Its condition said no.
    Skipped,
    /// It failed, or an assertion did not hold.
    Failed,
    /// Waiting for a person's approval.
    Waiting,
}

/// One step in the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The step.
    pub step: String,
    /// Its kind.
    pub kind: String,
    /// What became of it.
    pub status: EntryStatus,
    /// Start, RFC 3339 UTC.
    pub started: String,
    /// End.
    #[serde(default)]
    pub ended: Option<String>,
    /// Seconds it took.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// One line of what it did.
    #[serde(default)]
    pub summary: String,
    /// Its result (what later steps reference).
    #[serde(default)]
    pub result: Value,
    /// The server's WAL position at its end (`pg_current_wal_lsn()`), when it has a server.
    #[serde(default)]
    pub lsn: Option<String>,
    /// Its error.
    #[serde(default)]
    pub error: Option<String>,
    /// How its approval was given (`--yes`, or who answered on the terminal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved: Option<String>,
}

/// A run's journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The run's id.
    pub run_id: String,
    /// The playbook's name.
    pub playbook: String,
    /// The playbook file.
    pub file: String,
    /// The hash of its text when the run started.
    pub digest: String,
    /// The inputs (connection passwords masked; such inputs are given again on resume).
    pub inputs: serde_json::Map<String, Value>,
    /// When it started.
    pub started: String,
    /// Each step that started, in order.
    pub steps: Vec<Entry>,
    /// Every step done or skipped: the run cannot run again.
    pub finished: bool,
}

impl Journal {
    /// Read a journal from its JSON bytes (a leading byte-order mark skipped).
    pub fn from_bytes(bytes: &[u8]) -> Result<Journal, String> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        serde_json::from_slice(bytes).map_err(|e| e.to_string())
    }

    /// The entry of `step`.
    pub fn entry(&self, step: &str) -> Option<&Entry> {
        self.steps.iter().find(|e| e.step == step)
    }

    /// Set the entry of `e.step` (replacing an earlier one).
    pub fn put(&mut self, e: Entry) {
        match self.steps.iter_mut().find(|x| x.step == e.step) {
            Some(x) => *x = e,
            None => self.steps.push(e),
        }
    }
}

/// Where the runs of a playbook in `dir` are kept.
pub fn runs_dir(dir: &Path) -> PathBuf {
    dir.join(".dbkit").join("runs")
}

/// A run id must be a plain file name.
pub fn check_run_id(id: &str) -> Result<(), crate::Error> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(crate::Error::Input {
            path: id.to_string(),
            message: "a run id is letters, digits, '-', '_' and '.'".into(),
        })
    }
}

/// The journal file of run `id`.
pub fn path(dir: &Path, id: &str) -> PathBuf {
    runs_dir(dir).join(format!("{id}.json"))
}

/// Read run `id`'s journal.
pub fn read(dir: &Path, id: &str) -> Result<Journal, crate::Error> {
    check_run_id(id)?;
    let p = path(dir, id);
    let bytes = std::fs::read(&p).map_err(|source| crate::Error::Io {
        path: p.display().to_string(),
        source,
    })?;
    Journal::from_bytes(&bytes).map_err(|message| crate::Error::Input {
        path: p.display().to_string(),
        message,
    })
}

/// Write the journal atomically (temporary file, fsync, rename).
pub fn write(dir: &Path, j: &Journal) -> Result<PathBuf, crate::Error> {
    use std::io::Write;
    let runs = runs_dir(dir);
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |source| crate::Error::Io { path: p, source }
    };
    std::fs::create_dir_all(&runs).map_err(io(&runs))?;
    let target = path(dir, &j.run_id);
    let mut tmp = tempfile::NamedTempFile::new_in(&runs).map_err(io(&runs))?;
    let text = serde_json::to_vec_pretty(j).map_err(|e| crate::Error::Internal(e.to_string()))?;
    tmp.write_all(&text).map_err(io(&target))?;
    tmp.as_file().sync_all().map_err(io(&target))?;
    tmp.persist(&target).map_err(|e| crate::Error::Io {
        path: target.display().to_string(),
        source: e.error,
    })?;
    Ok(target)
}

/// An exclusive lock on a run (`RUN_ID.lock` beside its journal, `flock`), held while a process
/// drives the run and released when it ends, however it ends: a second process resuming the
/// same run is refused instead of running the same steps at once.
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

/// Take run `id`'s lock, or say which process holds it.
pub fn lock(dir: &Path, id: &str) -> Result<RunLock, crate::Error> {
    use std::io::{Read, Seek, Write};
    use std::os::unix::io::AsRawFd;
    check_run_id(id)?;
    let runs = runs_dir(dir);
    let p = runs.join(format!("{id}.lock"));
    let io = |source| crate::Error::Io {
        path: p.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&runs).map_err(io)?;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&p)
        .map_err(io)?;
    // SAFETY: flock on a descriptor this function owns.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let mut holder = String::new();
        let _ = file.read_to_string(&mut holder);
        return Err(crate::Error::Input {
            path: id.to_string(),
            message: format!(
                "the run is going on in another dbkit process (pid {}); wait for it, or stop it and resume",
                holder.trim()
            ),
        });
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    Ok(RunLock { _file: file })
}

/// Every run's journal under `dir`, newest first (unreadable ones are skipped with a warning).
pub fn list(dir: &Path) -> Vec<Result<Journal, String>> {
    let Ok(rd) = std::fs::read_dir(runs_dir(dir)) else {
        return Vec::new();
    };
    let mut out: Vec<Result<Journal, String>> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| Journal::from_bytes(&b))
                .map_err(|e| format!("{}: {e}", p.display()))
        })
        .collect();
    out.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => b.started.cmp(&a.started),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(a), Err(b)) => a.cmp(b),
    });
    out
}

/// Now, RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    crate::calendar::iso(ms)
}

/// A new run id: the playbook's name, the UTC time and a few random hex digits.
pub fn new_run_id(name: &str) -> String {
    let stamp: String = now()
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    let clean: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let salt = crate::sql::fingerprint::fnv1a64(
        format!("{nanos}{}{clean}", std::process::id()).as_bytes(),
    );
    format!("{clean}-{stamp}-{:04x}", salt & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_round_trips_and_is_replaced_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal {
            run_id: new_run_id("add index"),
            playbook: "add index".into(),
            file: "p.toml".into(),
            digest: "x".into(),
            inputs: Default::default(),
            started: now(),
            steps: vec![],
            finished: false,
        };
        assert!(j.run_id.starts_with("add-index-2"), "{}", j.run_id);
        check_run_id(&j.run_id).unwrap();
        j.put(Entry {
            step: "a".into(),
            kind: "sql".into(),
            status: EntryStatus::Running,
            started: now(),
            ended: None,
            seconds: None,
            summary: String::new(),
            result: Value::Null,
            lsn: None,
            error: None,
            approved: None,
        });
        write(dir.path(), &j).unwrap();
        let mut e = j.steps[0].clone();
        e.status = EntryStatus::Done;
        j.put(e);
        write(dir.path(), &j).unwrap();
        let back = read(dir.path(), &j.run_id).unwrap();
        assert_eq!(back, j);
        assert_eq!(back.steps.len(), 1);
        assert_eq!(list(dir.path()).len(), 1);
        assert!(check_run_id("../x").is_err());
        // One process at a time drives a run.
        let held = lock(dir.path(), &j.run_id).unwrap();
        let e = lock(dir.path(), &j.run_id).unwrap_err().to_string();
        assert!(e.contains(&format!("pid {}", std::process::id())), "{e}");
        drop(held);
        lock(dir.path(), &j.run_id).unwrap();
        assert!(check_run_id("a/b").is_err());
        assert!(Journal::from_bytes(b"{\"run_id\": ").is_err());
    }
}
