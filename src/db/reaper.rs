//! Cleaning up scratch clusters when the process is interrupted: every cluster directory and
//! every process dbkit starts for it (initdb, pg_basebackup, postgres) is registered here, and
//! [`install_signal_cleanup`] makes SIGINT, SIGTERM and SIGHUP stop those processes and delete
//! those directories before the process exits — at any moment, during initdb, while a schema
//! loads or while an explain runs.
//!
//! The signals are blocked in every thread and taken by one thread with `sigwait`, so cleanup
//! runs as ordinary code, not in a signal handler. Child processes start with an empty signal
//! mask (the standard library resets it), so the servers behave as usual.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Entry {
    root: PathBuf,
    /// (pid, is the postmaster: stopped with SIGQUIT, others with SIGKILL).
    pids: Vec<(libc::pid_t, bool)>,
}

fn live() -> &'static Mutex<HashMap<u64, Entry>> {
    static LIVE: OnceLock<Mutex<HashMap<u64, Entry>>> = OnceLock::new();
    LIVE.get_or_init(|| Mutex::new(HashMap::new()))
}

static NEXT: AtomicU64 = AtomicU64::new(1);

/// Exit code after an interrupt; `-1`: 128 + the signal's number.
static EXIT_CODE: AtomicI32 = AtomicI32::new(-1);

/// Register a cluster directory; returns its id for [`add_pid`] and [`unregister`].
pub(crate) fn register(root: &Path) -> u64 {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    if let Ok(mut l) = live().lock() {
        l.insert(
            id,
            Entry {
                root: root.to_path_buf(),
                pids: Vec::new(),
            },
        );
    }
    id
}

/// Register a process started for cluster `id` (taken under the registry's lock, so a process
/// is never started after cleanup began: the lock is then held until the process exits).
pub(crate) fn with_registry<T>(
    id: u64,
    start: impl FnOnce() -> std::io::Result<(T, libc::pid_t, bool)>,
) -> std::io::Result<T> {
    let mut l = live()
        .lock()
        .map_err(|_| std::io::Error::other("scratch registry poisoned"))?;
    let (value, pid, postmaster) = start()?;
    if let Some(e) = l.get_mut(&id) {
        e.pids.push((pid, postmaster));
    }
    Ok(value)
}

/// Forget a process that ended.
pub(crate) fn remove_pid(id: u64, pid: libc::pid_t) {
    if let Ok(mut l) = live().lock() {
        if let Some(e) = l.get_mut(&id) {
            e.pids.retain(|(p, _)| *p != pid);
        }
    }
}

/// Forget a cluster (stopped and deleted by its owner).
pub(crate) fn unregister(id: u64) {
    if let Ok(mut l) = live().lock() {
        l.remove(&id);
    }
}

fn gone(pid: libc::pid_t) -> bool {
    let mut status = 0;
    // SAFETY: waitpid on a pid we started; WNOHANG never blocks.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r == pid {
        return true;
    }
    // SAFETY: signal 0 only checks existence (reaped elsewhere, or not our child).
    r == -1 && unsafe { libc::kill(pid, 0) } != 0
}

/// Stop every registered process and delete every registered directory; returns how many
/// clusters were cleaned. The registry stays locked afterwards: nothing new can start.
fn cleanup_all() -> usize {
    let guard = match live().lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    let entries: Vec<&Entry> = guard.values().collect();
    for e in &entries {
        for &(pid, postmaster) in &e.pids {
            // SAFETY: signalling processes this process started. A setup command (initdb,
            // pg_basebackup) leads its own process group: the whole group goes, since initdb's
            // own postgres children would otherwise go on writing into the directory.
            unsafe {
                if postmaster {
                    libc::kill(pid, libc::SIGQUIT);
                } else {
                    libc::kill(-pid, libc::SIGKILL);
                }
            }
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for e in &entries {
        for &(pid, postmaster) in &e.pids {
            // SAFETY: signal 0 only checks whether the group still has members.
            let group_alive = || !postmaster && unsafe { libc::kill(-pid, 0) } == 0;
            while (!gone(pid) || group_alive()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if !gone(pid) {
                // SAFETY: as above; the last resort.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
        // A server's last writes may race the first try.
        for _ in 0..50 {
            match std::fs::remove_dir_all(&e.root) {
                Err(err) if err.kind() != std::io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => break,
            }
        }
    }
    let n = entries.len();
    std::mem::forget(guard);
    n
}

/// After an interrupt, exit with `code` instead of 128 + the signal (`dbkit scratch start`,
/// whose normal end is Ctrl-C, exits 0).
pub fn set_interrupt_exit_code(code: i32) {
    EXIT_CODE.store(code, Ordering::Relaxed);
}

/// Take SIGINT, SIGTERM and SIGHUP in a thread of their own: on one, stop and delete every
/// scratch cluster, say so on stderr, and exit (130 for SIGINT, 143 for SIGTERM, 129 for
/// SIGHUP, unless [`set_interrupt_exit_code`]). Call it first thing in `main`, before any other
/// thread starts, so that every thread inherits the blocked signals.
pub fn install_signal_cleanup() -> std::io::Result<()> {
    // SAFETY: plain libc signal-set calls on a local set.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        set
    };
    std::thread::Builder::new()
        .name("dbkit-signals".into())
        .spawn(move || loop {
            let mut sig: libc::c_int = 0;
            // SAFETY: waiting for one of the blocked signals.
            if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                continue;
            }
            let n = cleanup_all();
            // Never panic here (stderr may be a closed pipe): the exit must happen.
            let message = if n > 0 {
                format!("dbkit: interrupted; stopped {n} scratch cluster(s) and deleted their directories\n")
            } else {
                "dbkit: interrupted\n".to_string()
            };
            let _ = std::io::Write::write_all(&mut std::io::stderr(), message.as_bytes());
            let code = match EXIT_CODE.load(Ordering::Relaxed) {
                -1 => 128 + sig,
                c => c,
            };
            std::process::exit(code);
        })?;
    Ok(())
}
