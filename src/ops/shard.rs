//! `dbkit shard`: locate keys, validate a map, plan a rebalance, inspect the live nodes. Each
//! subcommand is a request and a function returning its report; maps are loaded and checked
//! here, and `--write-map` files are written here, so a Rust caller gets what the CLI gets.

use crate::db::shards::InspectOptions;
use crate::shard::inspect::InspectReport;
use crate::shard::map::{Node, NodeState};
use crate::shard::plan::{PlanOptions, Strategy};
use crate::shard::report::{LocateReport, PlanReport, ValidateReport};
use crate::shard::ShardMap;
use crate::Severity;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn input(path: &Path, message: String) -> crate::Error {
    crate::Error::Input {
        path: path.display().to_string(),
        message,
    }
}

/// Write `map` to `path`, keeping the comments and layout of the map file it came from
/// (`from`) when that is TOML; JSON when `path` ends in `.json`.
pub(crate) fn write_map(path: &Path, from: &Path, map: &ShardMap) -> Result<(), crate::Error> {
    let is_json = |p: &Path| {
        p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    };
    let original = if is_json(from) {
        None
    } else {
        std::fs::read_to_string(from).ok()
    };
    let text = crate::shard::write::render(map, original.as_deref(), is_json(path));
    write_atomically(path, text.as_bytes())
}

/// Write a file so that a reader (or a crash) sees the old content or the new, never a part:
/// a temporary file beside it, synced, then renamed over it.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), crate::Error> {
    use std::io::Write;
    let io = |source| crate::Error::Io {
        path: path.display().to_string(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.dbkit-tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Load a shard map and refuse one that is not valid (its first error, with the rule id), or a
/// threshold that is not a non-negative number.
pub fn load_valid(map: &Path, threshold: f64) -> Result<ShardMap, crate::Error> {
    let m = ShardMap::load(map)?;
    if !(threshold.is_finite() && threshold >= 0.0) {
        return Err(input(
            map,
            format!("the threshold must be a non-negative number, got {threshold}"),
        ));
    }
    if let Some(f) = m.validate().iter().find(|f| f.severity == Severity::Error) {
        return Err(input(
            map,
            format!(
                "the map is not valid ({}: {}); run dbkit shard validate",
                f.rule, f.message
            ),
        ));
    }
    Ok(m)
}

fn require_node(m: &ShardMap, map: &Path, node: &str, what: &str) -> Result<(), crate::Error> {
    if m.nodes.iter().any(|n| n.name == node) {
        Ok(())
    } else {
        Err(input(
            map,
            format!("{what} {node:?}: the map has no such node"),
        ))
    }
}

/// `dbkit shard locate`: which shard and node hold each key.
pub fn locate(map: &Path, keys: &[String]) -> Result<LocateReport, crate::Error> {
    let m = ShardMap::load(map)?;
    let locations = m.locate_all(keys)?;
    Ok(LocateReport {
        map: map.display().to_string(),
        version: m.version,
        locations,
    })
}

/// `dbkit shard validate`: every problem of a map (a map that does not load is an error).
pub fn validate(map: &Path) -> Result<ValidateReport, crate::Error> {
    let m = ShardMap::load(map)?;
    Ok(ValidateReport::build(&map.display().to_string(), &m))
}

/// A node to add to a plan: `NAME`, `NAME:WEIGHT`, or `name=NAME,url=URL,url_env=VAR,
/// zone=ZONE,weight=W` (any of the keys but `name`; a URL must not hold a password).
pub fn parse_added_node(text: &str) -> Result<Node, crate::Error> {
    let bad = |message: String| crate::Error::Input {
        path: format!("--add {text}"),
        message,
    };
    let mut node = Node {
        name: String::new(),
        url: None,
        url_env: None,
        weight: 1.0,
        zone: None,
        state: NodeState::New,
    };
    let weight = |w: &str| match w.trim().parse::<f64>() {
        Ok(w) if w.is_finite() && w > 0.0 => Ok(w),
        _ => Err(bad(format!(
            "the weight must be a positive number, not {w:?}"
        ))),
    };
    if text.contains('=') {
        for part in text.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| bad(format!("{part:?} is not KEY=VALUE")))?;
            let v = v.trim().to_string();
            match k.trim() {
                "name" => node.name = v,
                "url" => node.url = Some(v),
                "url_env" => node.url_env = Some(v),
                "zone" => node.zone = Some(v),
                "weight" => node.weight = weight(&v)?,
                other => {
                    return Err(bad(format!(
                        "unknown key {other:?} (name, url, url_env, zone, weight)"
                    )))
                }
            }
        }
        if let Some(u) = &node.url {
            if crate::shard::map::has_password(u) {
                return Err(bad(
                    "the URL holds a password: maps must not; use url_env or PGPASSWORD/.pgpass"
                        .to_string(),
                ));
            }
        }
    } else {
        match text.rsplit_once(':') {
            Some((name, w)) => {
                node.name = name.to_string();
                node.weight = weight(w)?;
            }
            None => node.name = text.to_string(),
        }
    }
    if node.name.is_empty() {
        return Err(bad("the node needs a name".to_string()));
    }
    Ok(node)
}

/// What `dbkit shard init` asks for.
#[derive(Debug, Clone)]
pub struct InitRequest {
    /// The map's shape.
    pub options: crate::shard::init::InitOptions,
    /// Where to write it (refused when the file exists).
    pub output: PathBuf,
}

/// `dbkit shard init`: a first map, checked by the map's own validation, written to a new file;
/// the report is that validation.
pub fn init(req: &InitRequest) -> Result<ValidateReport, crate::Error> {
    let m =
        crate::shard::init::build(&req.options).map_err(|e| input(&req.output, e.to_string()))?;
    let json = req
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let text = crate::shard::write::render(&m, None, json);
    let io = |source| crate::Error::Io {
        path: req.output.display().to_string(),
        source,
    };
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&req.output)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                input(
                    &req.output,
                    "the file exists: shard init never overwrites a map (remove it, or pick another --output)"
                        .to_string(),
                )
            } else {
                io(e)
            }
        })?;
    f.write_all(text.as_bytes()).map_err(io)?;
    Ok(ValidateReport::build(&req.output.display().to_string(), &m))
}

/// What `dbkit shard plan` asks for.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The map to rebalance.
    pub map: PathBuf,
    /// What to balance.
    pub strategy: Strategy,
    /// Allowed deviation from a node's target.
    pub threshold: f64,
    /// Nodes to empty.
    pub drain: Vec<String>,
    /// Nodes to add.
    pub add: Vec<Node>,
    /// Moves only, never splits.
    pub no_split: bool,
    /// Write the map after the moves here.
    pub write_map: Option<PathBuf>,
}

/// `dbkit shard plan`: the moves (and splits) that bring every node within the threshold of its
/// target; the new map is written when asked.
pub fn plan(req: &PlanRequest) -> Result<PlanReport, crate::Error> {
    let m = load_valid(&req.map, req.threshold)?;
    for d in &req.drain {
        require_node(&m, &req.map, d, "drain")?;
    }
    let opts = PlanOptions {
        strategy: req.strategy,
        threshold: req.threshold,
        drain: req.drain.clone(),
        add: req.add.clone(),
        no_split: req.no_split,
    };
    let p = crate::shard::plan::plan(&m, &opts);
    if let Some(out) = &req.write_map {
        write_map(out, &req.map, &p.new_map)?;
    }
    Ok(PlanReport {
        map: req.map.display().to_string(),
        version: m.version,
        new_version: p.new_map.version,
        plan: p,
    })
}

/// What `dbkit shard inspect` asks for.
#[derive(Debug, Clone)]
pub struct InspectRequest {
    /// The map the nodes should match.
    pub map: PathBuf,
    /// Connection strings per node name, over the map's.
    pub urls: BTreeMap<String, String>,
    /// Allowed deviation from a node's target.
    pub threshold: f64,
    /// Keys sampled from a plain table holding several shards.
    pub sample_rows: u64,
    /// Statement timeout on every node.
    pub timeout: Duration,
    /// Write the map with the live sizes here.
    pub write_map: Option<PathBuf>,
    /// Write it even when some nodes could not be read (their shards keep the map's sizes).
    pub allow_partial: bool,
}

/// `dbkit shard inspect`: read every node (read-only) and compare what it holds with the map;
/// the map with live sizes is written when asked, and only when every node was read (or
/// `allow_partial`): otherwise the report says why in `write_refused`.
pub async fn inspect(req: &InspectRequest) -> Result<InspectReport, crate::Error> {
    let m = load_valid(&req.map, req.threshold)?;
    for node in req.urls.keys() {
        require_node(&m, &req.map, node, "a URL for node")?;
    }
    let opts = InspectOptions {
        urls: req.urls.clone(),
        sample_rows: req.sample_rows,
        timeout: req.timeout,
        threshold: req.threshold,
    };
    let mut report = crate::db::shards::inspect(&m, &req.map.display().to_string(), &opts).await;
    if let Some(out) = &req.write_map {
        let unread: Vec<&str> = report
            .nodes
            .iter()
            .filter(|n| !n.reachable)
            .map(|n| n.node.as_str())
            .collect();
        if unread.is_empty() || req.allow_partial {
            write_map(out, &req.map, &report.filled)?;
        } else {
            report.write_refused = Some(format!(
                "{} not written: {} of {} node(s) could not be read ({}); their sizes would be the map's old ones. Fix their URLs (--url-per-node), or pass --allow-partial to write what was read",
                out.display(),
                unread.len(),
                report.nodes.len(),
                unread.join(", ")
            ));
        }
    }
    Ok(report)
}

/// The engines `dbkit shard export` writes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// A postgres_fdw coordinator: partitioned tables over foreign tables.
    PostgresFdw,
    /// PL/Proxy's cluster configuration functions.
    Plproxy,
    /// The SQL of a Citus cluster (untested).
    Citus,
}

/// What `dbkit shard export` asks for.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The shard map.
    pub map: PathBuf,
    /// For which engine.
    pub engine: Engine,
    /// Connection URLs per node, over the map's (postgres_fdw reads the nodes' tables).
    pub urls: BTreeMap<String, String>,
    /// PL/Proxy's cluster name.
    pub cluster: String,
    /// Write the script here as well.
    pub output: Option<PathBuf>,
}

/// The report of `dbkit shard export`: the generated SQL.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportReport {
    /// The map file.
    pub map: String,
    /// Its version.
    pub version: u64,
    /// The SQL.
    #[serde(flatten)]
    pub export: crate::shard::export::Export,
}

/// How the engine reaches each node, from the map's URLs (never a password); a node whose
/// URL is in an unset environment variable gets no connection settings, and a note says so.
fn servers(
    m: &ShardMap,
    urls: &BTreeMap<String, String>,
) -> Result<(Vec<crate::shard::export::Server>, Vec<String>), crate::Error> {
    let mut notes = Vec::new();
    let mut out = Vec::new();
    for n in &m.nodes {
        let url = match (urls.get(&n.name), &n.url_env, &n.url) {
            (Some(u), _, _) => Some(u.clone()),
            (None, Some(var), _) => match std::env::var(var) {
                Ok(u) => Some(u),
                Err(_) => {
                    notes.push(format!(
                        "node {}: its URL is in ${var}, which is not set here, so its connection settings are left out (set it, or pass --url-per-node)",
                        n.name
                    ));
                    None
                }
            },
            (None, None, u) => u.clone(),
        };
        let spec = match url {
            Some(u) => crate::db::ConnSpec::resolve_with(Some(&u), |_| None)?,
            None => crate::db::ConnSpec::default(),
        };
        out.push(crate::shard::export::Server {
            node: n.name.clone(),
            host: spec.host,
            port: spec.port,
            dbname: spec.dbname,
            user: spec.user,
        });
    }
    Ok((out, notes))
}

/// `dbkit shard export`: the SQL that hands the map to postgres_fdw (reading each node's
/// tables read-only to find each shard's relation and the columns), PL/Proxy or Citus.
pub async fn export(req: &ExportRequest) -> Result<ExportReport, crate::Error> {
    use crate::shard::export as ex;
    let m = load_valid(&req.map, 0.1)?;
    let bad = |e: String| input(&req.map, e);
    let (servers, notes) = servers(&m, &req.urls)?;
    let mut export = match req.engine {
        Engine::Plproxy => ex::plproxy(&m, &req.cluster, &servers).map_err(bad)?,
        Engine::Citus => {
            // The moves of the default plan (by size), as Citus shard moves.
            let p = crate::shard::plan::plan(
                &m,
                &PlanOptions {
                    strategy: Strategy::BySize,
                    threshold: 0.1,
                    drain: vec![],
                    add: vec![],
                    no_split: true,
                },
            );
            let moves: Vec<(Vec<u64>, String, String)> = p
                .moves
                .iter()
                .map(|mv| (mv.shards.clone(), mv.from.clone(), mv.to.clone()))
                .collect();
            ex::citus(&m, &moves, &servers)
        }
        Engine::PostgresFdw => {
            let (columns, remotes) = crate::db::logical::read_layout(&m, &req.urls).await?;
            ex::postgres_fdw(&m, &servers, &columns, &remotes).map_err(bad)?
        }
    };
    export.notes.extend(notes);
    if let Some(out) = &req.output {
        write_atomically(out, export.script().as_bytes())?;
    }
    Ok(ExportReport {
        map: req.map.display().to_string(),
        version: m.version,
        export,
    })
}

impl crate::view::Report for ExportReport {
    fn kind(&self) -> &'static str {
        "shard-export"
    }

    fn summary(&self) -> String {
        format!(
            "{} SQL for {} (map version {}); {} node script(s)",
            self.export.engine,
            self.map,
            self.version,
            self.export.nodes.len()
        )
    }

    fn tables(&self) -> Vec<crate::view::Table> {
        let mut t = crate::view::Table::new("Export", &["run on", "SQL"]).tall();
        for (node, sql) in &self.export.nodes {
            t.row(vec![format!("node {node}").into(), sql.as_str().into()]);
        }
        t.row(vec![
            "coordinator".into(),
            self.export.coordinator.as_str().into(),
        ]);
        let mut out = vec![t];
        if !self.export.notes.is_empty() {
            let mut n = crate::view::Table::new("Notes", &["note"]);
            for x in &self.export.notes {
                n.row(vec![x.as_str().into()]);
            }
            out.push(n);
        }
        out
    }

    fn script(&self) -> Option<String> {
        Some(self.export.script())
    }

    fn warnings(&self) -> Vec<String> {
        self.export.notes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn added_nodes() {
        let n = |t: &str| {
            let n = parse_added_node(t).unwrap();
            (n.name, n.weight)
        };
        assert_eq!(n("d"), ("d".to_string(), 1.0));
        assert_eq!(n("d:2.5"), ("d".to_string(), 2.5));
        assert_eq!(n("host:5432:3"), ("host:5432".to_string(), 3.0));
        let full = parse_added_node(
            "name=shard-d,url=postgres://app@10.0.4.10/shop,zone=eu-west-1d,weight=2",
        )
        .unwrap();
        assert_eq!(full.url.as_deref(), Some("postgres://app@10.0.4.10/shop"));
        assert_eq!(full.zone.as_deref(), Some("eu-west-1d"));
        assert_eq!(full.weight, 2.0);
        assert_eq!(full.state, NodeState::New);
        for bad in [
            "x:-1",
            "x:0",
            "x:NaN",
            "x:inf",
            "x:",
            ":2",
            "",
            "name=d,colour=red",
            "url=postgres://a@b/c",
            "name=d,url=postgres://app:s3cret@h/db",
            "name=d,weight=0",
        ] {
            assert!(parse_added_node(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plans_from_the_shipped_map() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let map = root.join("fixtures/shardmaps/shop.toml");
        let dir = std::env::temp_dir().join(format!("dbkit-ops-shard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("new.toml");
        let req = PlanRequest {
            map: map.clone(),
            strategy: Strategy::BySize,
            threshold: 0.1,
            drain: vec![],
            add: vec![parse_added_node("shard-z").unwrap()],
            no_split: false,
            write_map: Some(out.clone()),
        };
        let r = plan(&req).unwrap();
        assert_eq!(r.new_version, r.version + 1);
        let written = ShardMap::load(&out).unwrap();
        assert!(written.nodes.iter().any(|n| n.name == "shard-z"));
        let bad = PlanRequest {
            drain: vec!["nope".to_string()],
            write_map: None,
            ..req.clone()
        };
        assert!(plan(&bad).unwrap_err().to_string().contains("no such node"));
        let neg = PlanRequest {
            threshold: -1.0,
            write_map: None,
            ..req
        };
        assert!(plan(&neg).unwrap_err().to_string().contains("non-negative"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
