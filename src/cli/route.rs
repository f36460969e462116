//! `dbkit route`: replica routing maps — probe the servers, classify statements, export the
//! map as a pooler's or proxy's configuration.

use super::{read_text, Ctx, Outcome};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use dbkit::report::Format;
use dbkit::routing::export::{Endpoint, ExportReport, Tool};
use dbkit::routing::report::ClassifyReport;
use dbkit::routing::RoutingMap;
use std::path::PathBuf;

/// Arguments of `dbkit route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    #[command(subcommand)]
    command: RouteCommand,
}

#[derive(Debug, Subcommand)]
enum RouteCommand {
    /// Connect to every server: find the primary, measure each replica's lag, and print the
    /// routing table it would use now, with the reason for every excluded server.
    #[command(after_help = "Example:\n  dbkit route probe --map fixtures/routing/shop.toml")]
    Probe {
        /// The routing map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
    },
    /// Route each statement of a file in order: primary or replica pool, and why.
    #[command(
        after_help = "Example:\n  dbkit route classify --map fixtures/routing/shop.toml fixtures/routing/session.sql"
    )]
    Classify {
        /// The routing map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// SQL file, or `-` for stdin.
        #[arg(default_value = "-")]
        file: String,
        /// Treat the file as one session: after a write, reads stay on the primary
        /// (read-your-writes, no LSN being known). Otherwise only transactions carry over.
        #[arg(long)]
        one_session: bool,
    },
    /// Write the map as a PgCat, PgDog, PgBouncer or HAProxy configuration, as far as each can
    /// express it; what it cannot is listed in the file and on stderr. No passwords are written.
    #[command(
        after_help = "Examples:\n  SHOP_PG3_URL=postgres://app@10.0.3.20:5432/shop dbkit route export --map fixtures/routing/shop.toml --to pgdog > pgdog.toml\n  dbkit route export --map shop.toml --to haproxy --listen-port 5000 --output haproxy.cfg"
    )]
    Export {
        /// The routing map (TOML or JSON).
        #[arg(long, value_name = "FILE")]
        map: PathBuf,
        /// The tool to configure.
        #[arg(long, value_enum)]
        to: ToolArg,
        /// The port clients connect to (HAProxy: the primary's; the replicas' is the next one).
        /// Default: 6432 for the poolers, 5000 for HAProxy.
        #[arg(long, value_name = "PORT")]
        listen_port: Option<u16>,
        /// Write the configuration to this file and print what maps to what instead.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ToolArg {
    Pgcat,
    Pgdog,
    Pgbouncer,
    Haproxy,
}

/// Where a server of the map is: host, port, database and user from its URL (or the URL in its
/// `url_env` variable), never its password.
fn endpoint(s: &dbkit::routing::map::Server) -> Result<Endpoint> {
    let spec = dbkit::db::ConnSpec::for_server(s.url.as_deref(), s.url_env.as_deref())
        .map_err(|e| anyhow::anyhow!("server {:?}: {e}", s.name))?;
    Ok(Endpoint {
        name: s.name.clone(),
        host: spec
            .host
            .clone()
            .ok_or_else(|| anyhow::anyhow!("server {:?}: its URL names no host", s.name))?,
        port: spec.port.unwrap_or(5432),
        dbname: spec.dbname.clone(),
        user: spec.user.clone(),
        weight: s.weight,
        zone: s.zone.clone(),
    })
}

/// Run `dbkit route`.
pub fn run(args: &RouteArgs, ctx: &Ctx) -> Result<Outcome> {
    match &args.command {
        RouteCommand::Probe { map } => {
            let m = load(map)?;
            let mut report = super::runtime()?.block_on(dbkit::db::replication::probe(&m));
            ctx.emit(&mut report)
        }
        RouteCommand::Export {
            map,
            to,
            listen_port,
            output,
        } => {
            let m = load(map)?;
            let tool = match to {
                ToolArg::Pgcat => Tool::Pgcat,
                ToolArg::Pgdog => Tool::Pgdog,
                ToolArg::Pgbouncer => Tool::Pgbouncer,
                ToolArg::Haproxy => Tool::Haproxy,
            };
            let primary = endpoint(&m.primary)?;
            let replicas = m
                .replicas
                .iter()
                .map(endpoint)
                .collect::<Result<Vec<_>>>()?;
            if tool != Tool::Pgbouncer {
                if let Some(e) = std::iter::once(&primary)
                    .chain(&replicas)
                    .find(|e| e.host.starts_with('/'))
                {
                    anyhow::bail!(
                        "server {:?} is a unix socket ({}), which {} cannot reach; give it a TCP host",
                        e.name,
                        e.host,
                        tool.name()
                    );
                }
            }
            let port = listen_port.unwrap_or(tool.default_port());
            let mut report = ExportReport::build(
                &map.display().to_string(),
                &m,
                &primary,
                &replicas,
                tool,
                port,
            );
            match output {
                Some(out) => {
                    std::fs::write(out, &report.config)
                        .with_context(|| format!("writing {}", out.display()))?;
                    ctx.emit(&mut report)
                }
                None => {
                    for f in &report.findings {
                        eprintln!("note: {}", f.message);
                    }
                    ctx.emit_as(&mut report, Format::Sql)
                }
            }
        }
        RouteCommand::Classify {
            map,
            file,
            one_session,
        } => {
            let m = load(map)?;
            let text = read_text(file)?;
            ctx.emit(&mut ClassifyReport::build(&m, file, &text, *one_session))
        }
    }
}

/// Loads a routing map and refuses an invalid one.
fn load(map: &std::path::Path) -> Result<RoutingMap> {
    let m = RoutingMap::load(map)?;
    if let Some(f) = m.validate().first() {
        anyhow::bail!("{}: {} ({})", map.display(), f.message, f.rule);
    }
    Ok(m)
}
