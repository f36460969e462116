//! Throw-away PostgreSQL clusters from the local server binaries: the embedded default
//! (`--scratch`) and the test harness.
//!
//! A cluster is `initdb` in a fresh temp dir, a free port on 127.0.0.1, its unix socket inside
//! the temp dir, settings for speed (fsync off) and for later features (logical WAL, WAL senders,
//! replication slots, pg_stat_statements). When the caller is root, the server runs as an
//! unprivileged user (`postgres` if it exists, else `nobody`), since PostgreSQL refuses root.
//!
//! Cleanup: dropping a [`ScratchCluster`] (also while a panic unwinds) stops the server and
//! deletes the directory. If the whole process dies, the server gets SIGQUIT from the kernel
//! (parent-death signal, set from a spawner thread that lives as long as the process), and the
//! next cluster started on the machine removes directories whose owner process is gone.

use std::fs;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Errors starting or stopping a scratch cluster.
#[derive(Debug, thiserror::Error)]
pub enum ScratchError {
    /// No server binaries were found.
    #[error("no PostgreSQL server binaries (initdb and postgres) found; searched {searched}. Install the server (Debian: apt-get install postgresql) or set DBKIT_PG_BIN to its bin directory")]
    NoBinaries {
        /// Where we looked.
        searched: String,
    },
    /// A step failed.
    #[error("scratch cluster: {step} failed: {message}")]
    Step {
        /// What was being done.
        step: String,
        /// What went wrong (with the server log's tail where useful).
        message: String,
    },
}

fn step(step: &str, message: impl std::fmt::Display) -> ScratchError {
    ScratchError::Step {
        step: step.to_string(),
        message: message.to_string(),
    }
}

/// How to build a scratch cluster.
#[derive(Debug, Clone, Default)]
pub struct ScratchOptions {
    /// Extra `postgresql.conf` settings (name, value), after the defaults.
    pub settings: Vec<(String, String)>,
    /// Require this password for TCP connections (SCRAM); local socket stays trust.
    pub password: Option<String>,
    /// Use these binaries instead of searching.
    pub bin_dir: Option<PathBuf>,
    /// Listen on this port (an error when it is taken) instead of a free one.
    pub port: Option<u16>,
}

/// A running throw-away cluster. Stopped and deleted on drop.
#[derive(Debug)]
pub struct ScratchCluster {
    root: Option<tempfile::TempDir>,
    /// Its entry in the interrupt cleanup registry (dropped after `root`).
    reg: Registration,
    child: Option<Child>,
    port: u16,
    bin_dir: PathBuf,
    version: String,
    password: Option<String>,
    notes: Vec<String>,
}

/// The superuser name of scratch clusters.
pub const SUPERUSER: &str = "postgres";

const OWNER_FILE: &str = "dbkit-owner.pid";
const PREFIX: &str = "dbkit-scratch-";

impl ScratchCluster {
    /// Start a cluster with the default options.
    pub fn start() -> Result<ScratchCluster, ScratchError> {
        Self::start_with(ScratchOptions::default())
    }

    /// Start a cluster.
    pub fn start_with(opts: ScratchOptions) -> Result<ScratchCluster, ScratchError> {
        let bin_dir = match &opts.bin_dir {
            Some(b) => b.clone(),
            None => find_bin_dir()?,
        };
        sweep_stale();
        let run_as = unprivileged_user()?;
        let (root, reg) = new_root(run_as)?;
        let data = root.path().join("data");
        let mut notes = Vec::new();

        // initdb
        let mut cmd = Command::new(bin_dir.join("initdb"));
        cmd.arg("-D")
            .arg(&data)
            .args([
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ])
            .env("LC_ALL", "C")
            .env_remove("PGDATA");
        if let Some(pw) = &opts.password {
            let pwfile = root.path().join("pwfile");
            fs::write(&pwfile, pw).map_err(|e| step("writing the password file", e))?;
            if let Some((uid, gid)) = run_as {
                chown(&pwfile, uid, gid)?;
            }
            cmd.arg(format!("--pwfile={}", pwfile.display()))
                .args(["--auth-local=trust", "--auth-host=scram-sha-256"]);
        } else {
            cmd.arg("--auth=trust");
        }
        if let Some((uid, gid)) = run_as {
            cmd.uid(uid).gid(gid);
        }
        let out = run_registered(&mut cmd, reg.0)
            .map_err(|e| step(&format!("running {}", bin_dir.join("initdb").display()), e))?;
        if !out.status.success() {
            return Err(step(
                "initdb",
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
                .trim(),
            ));
        }
        let _ = fs::remove_file(root.path().join("pwfile"));

        let mut conf = String::from("\n# dbkit scratch cluster\n");
        for (k, v) in [
            ("listen_addresses", "'127.0.0.1'"),
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
            ("wal_level", "logical"),
            ("max_wal_senders", "10"),
            ("max_replication_slots", "10"),
            ("wal_keep_size", "'128MB'"),
            ("hot_standby", "on"),
            ("max_connections", "50"),
            ("shared_buffers", "'64MB'"),
            ("jit", "off"),
            ("logging_collector", "off"),
            ("log_min_messages", "warning"),
            ("lc_messages", "'C'"),
            ("timezone", "'UTC'"),
            ("datestyle", "'iso, mdy'"),
        ] {
            conf.push_str(&format!("{k} = {v}\n"));
        }
        let libdir = bin_dir.parent().map(|p| p.join("lib"));
        let pkglib = libdir
            .filter(|l| l.join("pg_stat_statements.so").exists())
            .or_else(|| {
                pg_config_dir(&bin_dir, "--pkglibdir")
                    .filter(|l| l.join("pg_stat_statements.so").exists())
            });
        if pkglib.is_some() {
            conf.push_str(
                "shared_preload_libraries = 'pg_stat_statements'\npg_stat_statements.track = all\n",
            );
        } else {
            notes.push("pg_stat_statements is not installed; not preloaded".to_string());
        }
        conf.push_str(&format!(
            "unix_socket_directories = '{}'\n",
            root.path().display()
        ));
        for (k, v) in &opts.settings {
            conf.push_str(&format!("{k} = {v}\n"));
        }
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .map_err(|e| step("opening postgresql.conf", e))?;
        f.write_all(conf.as_bytes())
            .map_err(|e| step("writing postgresql.conf", e))?;

        let version = server_version(&bin_dir);
        let mut cluster = ScratchCluster {
            root: Some(root),
            reg,
            child: None,
            port: 0,
            bin_dir,
            version,
            password: opts.password.clone(),
            notes,
        };
        match opts.port {
            Some(port) => match cluster.launch(port, run_as) {
                Ok(()) => {}
                Err(LaunchError::PortTaken) => {
                    return Err(step(
                        "starting postgres",
                        format!("cannot listen on 127.0.0.1 port {port} (taken, or reserved): pick another --port, or leave it out"),
                    ))
                }
                Err(LaunchError::Other(e)) => return Err(e),
            },
            None => cluster.start_on_a_free_port(run_as)?,
        }
        Ok(cluster)
    }

    /// Start a streaming replica of this cluster: `pg_basebackup -R` from it into a new temp
    /// dir, then a hot standby on its own port and socket. Stopped and deleted on drop like
    /// any scratch cluster.
    pub fn start_replica(&self) -> Result<ScratchCluster, ScratchError> {
        let run_as = unprivileged_user()?;
        let (root, reg) = new_root(run_as)?;
        let data = root.path().join("data");
        let mut cmd = Command::new(self.bin_dir.join("pg_basebackup"));
        cmd.arg("-D")
            .arg(&data)
            .arg("-h")
            .arg(self.root_path())
            .arg("-p")
            .arg(self.port.to_string())
            .args([
                "-U",
                SUPERUSER,
                "-R",
                "-X",
                "stream",
                "--no-sync",
                "-c",
                "fast",
            ])
            .env("LC_ALL", "C")
            .env_remove("PGPASSWORD")
            .stdin(Stdio::null());
        if let Some((uid, gid)) = run_as {
            cmd.uid(uid).gid(gid);
        }
        let out = run_registered(&mut cmd, reg.0).map_err(|e| step("running pg_basebackup", e))?;
        if !out.status.success() {
            return Err(step(
                "pg_basebackup",
                String::from_utf8_lossy(&out.stderr).trim().to_string(),
            ));
        }
        let conf = format!(
            "\n# dbkit scratch replica\nunix_socket_directories = '{}'\nhot_standby = on\n",
            root.path().display()
        );
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .map_err(|e| step("opening postgresql.conf", e))?;
        f.write_all(conf.as_bytes())
            .map_err(|e| step("writing postgresql.conf", e))?;
        let mut replica = ScratchCluster {
            root: Some(root),
            reg,
            child: None,
            port: 0,
            bin_dir: self.bin_dir.clone(),
            version: self.version.clone(),
            password: self.password.clone(),
            notes: Vec::new(),
        };
        replica.start_on_a_free_port(run_as)?;
        Ok(replica)
    }

    fn start_on_a_free_port(&mut self, run_as: Option<(u32, u32)>) -> Result<(), ScratchError> {
        let mut last_err = None;
        for _ in 0..5 {
            let port = free_port().map_err(|e| step("finding a free port", e))?;
            match self.launch(port, run_as) {
                Ok(()) => return Ok(()),
                Err(LaunchError::PortTaken) => continue,
                Err(LaunchError::Other(e)) => {
                    last_err = Some(e);
                    break;
                }
            }
        }
        Err(last_err.unwrap_or_else(|| step("starting postgres", "no free port after 5 tries")))
    }

    fn launch(&mut self, port: u16, run_as: Option<(u32, u32)>) -> Result<(), LaunchError> {
        let root = self.root_path().to_path_buf();
        let data = root.join("data");
        let log_path = root.join("postgres.log");
        let log = fs::File::create(&log_path)
            .map_err(|e| LaunchError::Other(step("creating the log", e)))?;
        let log2 = log
            .try_clone()
            .map_err(|e| LaunchError::Other(step("creating the log", e)))?;
        if let Some((uid, gid)) = run_as {
            chown(&log_path, uid, gid).map_err(LaunchError::Other)?;
        }
        let mut cmd = Command::new(self.bin_dir.join("postgres"));
        cmd.arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        if let Some((uid, gid)) = run_as {
            cmd.uid(uid).gid(gid);
        }
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT as libc::c_ulong) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = super::reaper::with_registry(self.reg.0, || {
            let c = spawn_from_keeper(cmd)?;
            let pid = c.id() as libc::pid_t;
            Ok((c, pid, true))
        })
        .map_err(|e| LaunchError::Other(step("spawning postgres", e)))?;
        self.child = Some(child);
        self.port = port;
        let deadline = Instant::now() + Duration::from_secs(60);
        let pidfile = data.join("postmaster.pid");
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    super::reaper::remove_pid(self.reg.0, c.id() as libc::pid_t);
                    self.child = None;
                    let tail = log_tail(&log_path);
                    if tail.contains("could not bind") || tail.contains("Address already in use") {
                        return Err(LaunchError::PortTaken);
                    }
                    return Err(LaunchError::Other(step(
                        "starting postgres",
                        format!("it exited with {status}: {tail}"),
                    )));
                }
            }
            if let Ok(s) = fs::read_to_string(&pidfile) {
                if s.lines().nth(7).is_some_and(|l| l.trim() == "ready") {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(LaunchError::Other(step(
                    "starting postgres",
                    format!("not ready after 60 s: {}", log_tail(&log_path)),
                )));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn root_path(&self) -> &Path {
        self.root
            .as_ref()
            .map_or(Path::new("/nonexistent"), |r| r.path())
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root_path().join("data")
    }

    /// The directory of the unix socket (and of the whole cluster).
    pub fn root_dir(&self) -> &Path {
        self.root_path()
    }

    /// The server's log file.
    pub fn log_file(&self) -> PathBuf {
        self.root_path().join("postgres.log")
    }

    /// The postmaster's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server version (`15.18`).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The directory of the server binaries used.
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Things worth knowing about the setup (a missing extension).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// A URL for `database` over TCP, without the password.
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// A URL for the `postgres` database over TCP, without the password.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// Connection settings for `database`, with the password when the cluster has one.
    pub fn conn_spec(&self, database: &str) -> super::ConnSpec {
        super::ConnSpec {
            host: Some("127.0.0.1".to_string()),
            port: Some(self.port),
            user: Some(SUPERUSER.to_string()),
            password: self.password.clone().map(super::Secret::new),
            dbname: Some(database.to_string()),
            sslmode: Some("disable".to_string()),
            ..Default::default()
        }
    }

    /// Stop the server now (immediate shutdown) and delete the directory.
    pub fn stop(mut self) -> Result<(), ScratchError> {
        self.shutdown();
        if let Some(root) = self.root.take() {
            root.close()
                .map_err(|e| step("deleting the cluster directory", e))?;
        }
        Ok(())
    }

    /// Fail, with the end of the server's log, if the server is no longer running (it is
    /// reaped then). `dbkit scratch start` polls this.
    pub fn check_alive(&mut self) -> Result<(), ScratchError> {
        let Some(c) = self.child.as_mut() else {
            return Err(step("watching the server", "it is not running"));
        };
        match c.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => {
                super::reaper::remove_pid(self.reg.0, c.id() as libc::pid_t);
                self.child = None;
                Err(step(
                    "watching the server",
                    format!(
                        "the server on port {} exited with {status}; its log ends: {}",
                        self.port,
                        log_tail(&self.log_file())
                    ),
                ))
            }
            Err(e) => Err(step("watching the server", e)),
        }
    }

    /// Stop the server at once, as a crash would (immediate shutdown: recovery runs at the next
    /// start), and start it again on the same port, keeping its data. For tests of what
    /// survives a server failure.
    pub fn restart(&mut self) -> Result<(), ScratchError> {
        self.shutdown();
        let run_as = unprivileged_user()?;
        match self.launch(self.port, run_as) {
            Ok(()) => Ok(()),
            Err(LaunchError::PortTaken) => Err(step(
                "restarting postgres",
                format!("port {} was taken while it was down", self.port),
            )),
            Err(LaunchError::Other(e)) => Err(e),
        }
    }

    fn shutdown(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id() as libc::pid_t;
        // SAFETY: signalling our own child process.
        unsafe {
            libc::kill(pid, libc::SIGQUIT);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() > deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        super::reaper::remove_pid(self.reg.0, pid);
    }
}

impl Drop for ScratchCluster {
    fn drop(&mut self) {
        self.shutdown();
        // TempDir's own drop deletes the directory.
    }
}

enum LaunchError {
    PortTaken,
    Other(ScratchError),
}

type SpawnJob = (Command, mpsc::Sender<io::Result<Child>>);

/// Spawn from one thread that lives as long as the process, so the parent-death signal fires
/// when the process exits, not when the calling thread (a test thread, a tokio worker) does.
fn spawn_from_keeper(cmd: Command) -> io::Result<Child> {
    static KEEPER: OnceLock<Mutex<mpsc::Sender<SpawnJob>>> = OnceLock::new();
    let tx = KEEPER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnJob>();
        std::thread::Builder::new()
            .name("dbkit-scratch-keeper".into())
            .spawn(move || {
                for (mut cmd, reply) in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .ok();
        Mutex::new(tx)
    });
    let (rtx, rrx) = mpsc::channel();
    tx.lock()
        .map_err(|_| io::Error::other("spawner lock poisoned"))?
        .send((cmd, rtx))
        .map_err(|_| io::Error::other("spawner thread is gone"))?;
    rrx.recv()
        .map_err(|_| io::Error::other("spawner thread is gone"))?
}

fn log_tail(path: &Path) -> String {
    let mut s = String::new();
    if let Ok(mut f) = fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(8)..].join(" | ")
}

fn free_port() -> io::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// A temp directory short enough for unix socket paths (107 bytes at most).
fn short_tmp() -> PathBuf {
    let t = std::env::temp_dir();
    if t.as_os_str().len() > 60 {
        PathBuf::from("/tmp")
    } else {
        t
    }
}

/// A cluster's entry in the interrupt cleanup registry, removed on drop.
#[derive(Debug)]
struct Registration(u64);

impl Drop for Registration {
    fn drop(&mut self) {
        super::reaper::unregister(self.0);
    }
}

/// Run a setup command (initdb, pg_basebackup) to its end, registered for interrupt cleanup.
fn run_registered(cmd: &mut Command, reg: u64) -> io::Result<std::process::Output> {
    let child = super::reaper::with_registry(reg, || {
        let c = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let pid = c.id() as libc::pid_t;
        Ok((c, pid, false))
    })?;
    let pid = child.id() as libc::pid_t;
    let out = child.wait_with_output();
    super::reaper::remove_pid(reg, pid);
    out
}

/// A new cluster directory, marked with this process as its owner, owned by the server's user,
/// and registered for cleanup on an interrupt.
fn new_root(run_as: Option<(u32, u32)>) -> Result<(tempfile::TempDir, Registration), ScratchError> {
    let root = tempfile::Builder::new()
        .prefix(PREFIX)
        .tempdir_in(short_tmp())
        .map_err(|e| step("creating the temp dir", e))?;
    let reg = Registration(super::reaper::register(root.path()));
    fs::write(root.path().join(OWNER_FILE), std::process::id().to_string())
        .map_err(|e| step("writing the owner file", e))?;
    if let Some((uid, gid)) = run_as {
        chown(root.path(), uid, gid)?;
    }
    Ok((root, reg))
}

fn chown(path: &Path, uid: u32, gid: u32) -> Result<(), ScratchError> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|e| step(&format!("giving {} to uid {uid}", path.display()), e))?;
    if path.is_dir() {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// When running as root: the (uid, gid) of `postgres`, else `nobody`.
fn unprivileged_user() -> Result<Option<(u32, u32)>, ScratchError> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Some(ids) = lookup_user(name) {
            return Ok(Some(ids));
        }
    }
    Err(step(
        "finding an unprivileged user",
        "running as root, and neither 'postgres' nor 'nobody' exists to run the server as",
    ))
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        if f.len() >= 4 && f[0] == name {
            Some((f[2].parse().ok()?, f[3].parse().ok()?))
        } else {
            None
        }
    })
}

fn server_version(bin: &Path) -> String {
    Command::new(bin.join("postgres"))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(2).map(str::to_string))
        .unwrap_or_else(|| "unknown".to_string())
}

fn pg_config_dir(bin: &Path, flag: &str) -> Option<PathBuf> {
    let candidates = [bin.join("pg_config"), PathBuf::from("pg_config")];
    candidates.iter().find_map(|c| {
        let o = Command::new(c).arg(flag).output().ok()?;
        if !o.status.success() {
            return None;
        }
        let s = String::from_utf8(o.stdout).ok()?;
        Some(PathBuf::from(s.trim()))
    })
}

fn has_server(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// Find the server binaries: `DBKIT_PG_BIN`, `PATH`, `pg_config --bindir`, then the newest
/// version directory of the common package layouts (Debian, RHEL, Homebrew, Postgres.app).
pub fn find_bin_dir() -> Result<PathBuf, ScratchError> {
    if let Some(d) = std::env::var_os("DBKIT_PG_BIN") {
        let d = PathBuf::from(d);
        if has_server(&d) {
            return Ok(d);
        }
        return Err(ScratchError::NoBinaries {
            searched: format!(
                "DBKIT_PG_BIN={} (no initdb and postgres there)",
                d.display()
            ),
        });
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_server(&dir) {
                // Resolve symlinks so the lib dir next to the real binaries is found.
                let real = fs::canonicalize(dir.join("postgres"))
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf))
                    .filter(|d| has_server(d))
                    .unwrap_or(dir);
                return Ok(real);
            }
        }
    }
    if let Some(d) = pg_config_dir(Path::new("/nonexistent"), "--bindir") {
        if has_server(&d) {
            return Ok(d);
        }
    }
    let patterns: [(&str, &str); 6] = [
        ("/usr/lib/postgresql", "bin"),
        ("/usr", "bin"),
        ("/opt/homebrew/opt", "bin"),
        ("/usr/local/opt", "bin"),
        ("/Applications/Postgres.app/Contents/Versions", "bin"),
        ("/usr/local/pgsql", ""),
    ];
    let mut found: Vec<(Vec<u32>, PathBuf)> = Vec::new();
    for (base, sub) in patterns {
        let Ok(rd) = fs::read_dir(base) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let ver_text = name
                .strip_prefix("pgsql-")
                .or_else(|| name.strip_prefix("postgresql@"))
                .unwrap_or(&name);
            let ver: Vec<u32> = ver_text.split('.').map_while(|p| p.parse().ok()).collect();
            if ver.is_empty() && base != "/usr/local/pgsql" {
                continue;
            }
            let dir = if sub.is_empty() {
                e.path()
            } else {
                e.path().join(sub)
            };
            if has_server(&dir) {
                found.push((ver, dir));
            }
        }
    }
    if has_server(Path::new("/usr/local/pgsql/bin")) {
        found.push((vec![0], PathBuf::from("/usr/local/pgsql/bin")));
    }
    found.sort();
    if let Some((_, d)) = found.pop() {
        return Ok(d);
    }
    Err(ScratchError::NoBinaries {
        searched: "DBKIT_PG_BIN, PATH, pg_config --bindir, /usr/lib/postgresql/*/bin, /usr/pgsql-*/bin, Homebrew, Postgres.app, /usr/local/pgsql/bin".to_string(),
    })
}

/// Remove scratch directories left by processes that no longer exist (killed before cleanup).
fn sweep_stale() {
    let Ok(rd) = fs::read_dir(short_tmp()) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with(PREFIX) {
            continue;
        }
        let Ok(pid) = fs::read_to_string(e.path().join(OWNER_FILE)) else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<libc::pid_t>() else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if alive {
            continue;
        }
        if let Ok(pm) = fs::read_to_string(e.path().join("data/postmaster.pid")) {
            let pm_pid = pm
                .lines()
                .next()
                .and_then(|l| l.trim().parse::<libc::pid_t>().ok());
            // Only a postgres whose command line names this directory (pids get reused).
            let ours = |p: libc::pid_t| {
                fs::read(format!("/proc/{p}/cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).contains(&*e.path().to_string_lossy()))
                    .unwrap_or(false)
            };
            if let Some(pm_pid) = pm_pid.filter(|p| ours(*p)) {
                // SAFETY: best effort; the postmaster of a dead owner is ours to stop.
                unsafe {
                    libc::kill(pm_pid, libc::SIGQUIT);
                }
            }
        }
        let _ = fs::remove_dir_all(e.path());
    }
}

/// What `dbkit scratch start` reports about a running cluster.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScratchInfo {
    /// Connection URL (no password: scratch clusters trust local connections).
    pub url: String,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Server version.
    pub version: String,
    /// Data directory (deleted when the cluster stops).
    pub data_dir: String,
    /// The postmaster's pid.
    pub pid: Option<u32>,
    /// What start-up noticed (binaries chosen, settings).
    pub notes: Vec<String>,
}

impl ScratchInfo {
    /// The description of `cluster`.
    pub fn of(cluster: &ScratchCluster) -> ScratchInfo {
        ScratchInfo {
            url: cluster.url(),
            port: cluster.port(),
            version: cluster.version().to_string(),
            data_dir: cluster.data_dir().display().to_string(),
            pid: cluster.pid(),
            notes: cluster.notes().to_vec(),
        }
    }
}

impl crate::view::Report for ScratchInfo {
    fn kind(&self) -> &'static str {
        "scratch"
    }
    fn summary(&self) -> String {
        format!(
            "scratch PostgreSQL {} at {} (Ctrl-C stops and deletes it)",
            self.version, self.url
        )
    }
    fn tables(&self) -> Vec<crate::view::Table> {
        vec![crate::view::Table::properties(
            "Scratch cluster",
            [
                ("url", self.url.clone()),
                ("version", self.version.clone()),
                ("data dir", self.data_dir.clone()),
                ("pid", self.pid.map(|p| p.to_string()).unwrap_or_default()),
            ],
        )]
    }
}
