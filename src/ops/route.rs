//! `dbkit route`: a routing map loaded and checked, its servers' endpoints resolved (from their
//! URLs or the variables named by `url_env`, never keeping a password), and the export to a
//! pooler's or proxy's configuration with what that tool can reach.

use crate::routing::export::{Endpoint, ExportReport, Tool};
use crate::routing::map::Server;
use crate::routing::report::{ClassifyReport, ProbeReport};
use crate::routing::RoutingMap;
use std::path::{Path, PathBuf};

fn input(path: &Path, message: String) -> crate::Error {
    crate::Error::Input {
        path: path.display().to_string(),
        message,
    }
}

/// Load a routing map and refuse an invalid one (its first problem, with the rule id).
pub fn load_map(path: &Path) -> Result<RoutingMap, crate::Error> {
    let m = RoutingMap::load(path)?;
    if let Some(f) = m.validate().first() {
        return Err(input(path, format!("{} ({})", f.message, f.rule)));
    }
    Ok(m)
}

/// Where a server of the map at `map` is: host, port, database and user from its URL (or the
/// URL in its `url_env` variable), never its password.
pub fn endpoint(map: &Path, s: &Server) -> Result<Endpoint, crate::Error> {
    let spec = crate::db::ConnSpec::for_server(s.url.as_deref(), s.url_env.as_deref())
        .map_err(|e| input(map, format!("server {:?}: {e}", s.name)))?;
    Ok(Endpoint {
        name: s.name.clone(),
        host: spec
            .host
            .clone()
            .ok_or_else(|| input(map, format!("server {:?}: its URL names no host", s.name)))?,
        port: spec.port.unwrap_or(5432),
        dbname: spec.dbname.clone(),
        user: spec.user.clone(),
        weight: s.weight,
        zone: s.zone.clone(),
    })
}

/// What `dbkit route export` asks for.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The routing map.
    pub map: PathBuf,
    /// The tool to configure.
    pub tool: Tool,
    /// The port the tool listens on (its usual port when `None`).
    pub listen_port: Option<u16>,
    /// Write the configuration to this file (the report then says what maps to what).
    pub output: Option<PathBuf>,
}

/// `dbkit route export`: the configuration and what maps to what. A server on a unix socket is
/// refused for the tools that only speak TCP (everything but PgBouncer).
pub fn export(req: &ExportRequest) -> Result<ExportReport, crate::Error> {
    let m = load_map(&req.map)?;
    let primary = endpoint(&req.map, &m.primary)?;
    let replicas = m
        .replicas
        .iter()
        .map(|r| endpoint(&req.map, r))
        .collect::<Result<Vec<_>, _>>()?;
    if req.tool != Tool::Pgbouncer {
        if let Some(e) = std::iter::once(&primary)
            .chain(&replicas)
            .find(|e| e.host.starts_with('/'))
        {
            return Err(input(
                &req.map,
                format!(
                    "server {:?} is a unix socket ({}), which {} cannot reach; give it a TCP host",
                    e.name,
                    e.host,
                    req.tool.name()
                ),
            ));
        }
    }
    let report = ExportReport::build(
        &req.map.display().to_string(),
        &m,
        &primary,
        &replicas,
        req.tool,
        req.listen_port.unwrap_or(req.tool.default_port()),
    );
    if let Some(out) = &req.output {
        std::fs::write(out, &report.config).map_err(|source| crate::Error::Io {
            path: out.display().to_string(),
            source,
        })?;
    }
    Ok(report)
}

/// `dbkit route probe`: every server of the map observed (role, lag, reachability) and the
/// routing decision the admission policy makes from it.
pub async fn probe(map: &Path) -> Result<ProbeReport, crate::Error> {
    let m = load_map(map)?;
    Ok(crate::db::replication::probe(&m).await)
}

/// `dbkit route classify`: where each statement of a SQL file goes under the map, statement by
/// statement or as one session (`one_session`: transactions and session state pin it).
pub fn classify(map: &Path, file: &str, one_session: bool) -> Result<ClassifyReport, crate::Error> {
    let m = load_map(map)?;
    let text = crate::ops::read_text(file)?;
    Ok(ClassifyReport::build(&m, file, &text, one_session))
}
