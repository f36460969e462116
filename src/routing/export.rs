//! `dbkit route export`: a routing map as the configuration of a pooler or proxy — PgCat,
//! PgDog, PgBouncer or HAProxy — as far as each can express it, and a list of what it cannot
//! (lag limits, read-your-writes, weights…). Passwords are never written: the map holds none,
//! and the generated files leave every secret for the user to supply.
//!
//! Everything generated is quoted for its format: TOML strings and keys, PgBouncer database
//! names (SQL identifier quoting) and connection-string values, HAProxy names; comments never
//! carry a line break.

use super::map::RoutingMap;
use crate::finding::RuleId;
use crate::finding::{Finding, Location, Severity};
// PgBouncer reads database names with SQL identifier quoting.
use crate::sql::ident::quote_ident;
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;
use std::fmt::Write as _;

/// The tool to configure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tool {
    /// PgCat (`pgcat.toml`).
    Pgcat,
    /// PgDog (`pgdog.toml`).
    Pgdog,
    /// PgBouncer (`pgbouncer.ini`).
    Pgbouncer,
    /// HAProxy (`haproxy.cfg`).
    Haproxy,
}

impl Tool {
    /// The tool's name as users write it.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Pgcat => "pgcat",
            Tool::Pgdog => "pgdog",
            Tool::Pgbouncer => "pgbouncer",
            Tool::Haproxy => "haproxy",
        }
    }

    /// The port clients connect to unless told otherwise (HAProxy: the primary's; replicas on
    /// the next one).
    pub fn default_port(self) -> u16 {
        match self {
            Tool::Haproxy => 5000,
            _ => 6432,
        }
    }
}

/// Where one server of the map is, read from its URL (never its password).
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The server's name in the map.
    pub name: String,
    /// Host name, address or socket directory.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Database name, when the URL names one.
    pub dbname: Option<String>,
    /// User name, when the URL names one.
    pub user: Option<String>,
    /// Read weight.
    pub weight: f64,
    /// Zone.
    pub zone: Option<String>,
}

/// How one routing policy of the map is expressed in the tool.
#[derive(Debug, Clone, Serialize)]
pub struct Mapping {
    /// The policy.
    pub policy: String,
    /// How the tool does it, or `None` when it cannot.
    pub how: Option<String>,
    /// Why not, or what differs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The exported configuration and what it leaves out.
#[derive(Debug, Serialize)]
pub struct ExportReport {
    /// The tool.
    pub tool: Tool,
    /// The map file.
    pub map: String,
    /// The cluster.
    pub cluster: String,
    /// The generated configuration file.
    pub config: String,
    /// Policy by policy.
    pub mappings: Vec<Mapping>,
    /// One informational finding per policy the tool cannot express.
    pub findings: Vec<Finding>,
}

/// A TOML basic string on one line (usable as a key too): `\`, `"` and control characters
/// escaped.
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it can be, else quoted.
fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        s.to_string()
    } else {
        toml_str(s)
    }
}

/// A comment's text on one line.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A libpq connection-string value: single-quoted (with `\` escapes) when it needs to be.
fn conn_value(s: &str) -> String {
    if !s.is_empty()
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c == '\'' || c == '\\' || c.is_control())
    {
        s.to_string()
    } else {
        let escaped: String = s
            .chars()
            .filter(|c| !matches!(c, '\n' | '\r'))
            .flat_map(|c| match c {
                '\'' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        format!("'{escaped}'")
    }
}

/// An HAProxy name (proxy or server): letters, digits, `_ . : -`; anything else becomes `_`.
fn haproxy_name(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if n.is_empty() {
        "_".into()
    } else {
        n
    }
}

/// An HAProxy address token (`host:port`, IPv6 in brackets).
fn haproxy_addr(e: &Endpoint) -> String {
    if e.host.contains(':') {
        format!("[{}]:{}", e.host, e.port)
    } else {
        format!("{}:{}", e.host, e.port)
    }
}

/// Weights as integers in 1..=256 (HAProxy's range), the heaviest at 100; 0 stays 0.
fn int_weights(eps: &[Endpoint]) -> Vec<u32> {
    let max = eps.iter().map(|e| e.weight).fold(0.0, f64::max);
    eps.iter()
        .map(|e| {
            if e.weight <= 0.0 || max <= 0.0 {
                0
            } else {
                ((e.weight / max * 100.0).round() as u32).clamp(1, 256)
            }
        })
        .collect()
}

struct Ctx<'a> {
    map: &'a RoutingMap,
    primary: &'a Endpoint,
    replicas: &'a [Endpoint],
    port: u16,
    header: String,
}

impl Ctx<'_> {
    fn dbname(&self, e: &Endpoint) -> String {
        e.dbname
            .clone()
            .or_else(|| e.user.clone())
            .unwrap_or_else(|| "postgres".into())
    }
    fn user(&self) -> Option<&str> {
        self.primary
            .user
            .as_deref()
            .or_else(|| self.replicas.iter().find_map(|r| r.user.as_deref()))
    }
    fn same_db(&self) -> bool {
        let d = self.dbname(self.primary);
        self.replicas.iter().all(|r| self.dbname(r) == d)
    }
}

fn mapping(policy: &str, how: Option<&str>, note: Option<&str>) -> Mapping {
    Mapping {
        policy: policy.into(),
        how: how.map(str::to_string),
        note: note.map(str::to_string),
    }
}

const WRITES: &str = "writes and locking reads go to the primary";
const READS: &str = "reads go to the replicas";
const WEIGHTS: &str = "replica weights";
const ZONES: &str = "zones";
const LAG_MS: &str = "replicas further behind than max_lag_ms take no reads";
const LAG_BYTES: &str = "replicas further behind than max_lag_bytes take no reads";
const PIN: &str = "transactions stay on the primary unless BEGIN READ ONLY";
const RYW: &str = "read-your-writes (by LSN)";
const VOLATILE: &str =
    "SELECTs calling nextval/setval, advisory locks or unknown functions go to the primary";
const FALLBACK: &str = "reads fall back to the primary when no replica is fit";

fn weights_differ(c: &Ctx) -> bool {
    c.replicas
        .windows(2)
        .any(|w| (w[0].weight - w[1].weight).abs() > 1e-9)
}

fn pgcat(c: &Ctx) -> (String, Vec<Mapping>) {
    let p = &c.map.policy;
    let mut s = c.header.clone();
    let pool = toml_key(&c.map.cluster);
    let _ = writeln!(s, "[general]\nhost = \"0.0.0.0\"\nport = {}", c.port);
    s.push_str("# Fill in: dbkit never writes passwords.\nadmin_username = \"admin\"\nadmin_password = \"\"\n\n");
    let _ = writeln!(s, "[pools.{pool}]");
    s.push_str("pool_mode = \"transaction\"\ndefault_role = \"any\"\nquery_parser_enabled = true\nquery_parser_read_write_splitting = true\n");
    s.push_str("# Reads go to the replicas only (true would give the primary a share of every read).\nprimary_reads_enabled = false\nload_balancing_mode = \"random\"\n\n");
    let _ = writeln!(
        s,
        "[pools.{pool}.users.0]\nusername = {}\n# Fill in: dbkit never writes passwords.\npassword = \"\"\npool_size = 20\n",
        toml_str(c.user().unwrap_or("postgres"))
    );
    let _ = writeln!(
        s,
        "[pools.{pool}.shards.0]\ndatabase = {}\nservers = [",
        toml_str(&c.dbname(c.primary))
    );
    for (e, role) in
        std::iter::once((c.primary, "primary")).chain(c.replicas.iter().map(|r| (r, "replica")))
    {
        let _ = writeln!(s, "  [{}, {}, \"{role}\"],", toml_str(&e.host), e.port);
    }
    s.push_str("]\n");
    let mut m = vec![
        mapping(WRITES, Some("query_parser_read_write_splitting = true"), Some("PgCat's parser decides what is a write; SELECT … FOR UPDATE and data-modifying CTEs are writes to it as well")),
        mapping(READS, Some("replicas with role \"replica\", primary_reads_enabled = false"), None),
        mapping(WEIGHTS, None, Some("PgCat balances replicas at random or by least outstanding connections, without weights")),
        mapping(ZONES, None, Some("no zone awareness")),
        mapping(LAG_MS, None, Some("PgCat bans replicas that fail health checks, not lagging ones")),
        mapping(LAG_BYTES, None, Some("PgCat bans replicas that fail health checks, not lagging ones")),
    ];
    m.push(if p.pin_transactions {
        mapping(
            PIN,
            None,
            Some("PgCat routes a transaction by its statements, not by BEGIN"),
        )
    } else {
        mapping(PIN, Some("off in the map"), None)
    });
    m.push(if p.read_your_writes {
        mapping(
            RYW,
            None,
            Some("PgCat does not track a session's write LSN"),
        )
    } else {
        mapping(RYW, Some("off in the map"), None)
    });
    m.push(mapping(
        VOLATILE,
        None,
        Some("PgCat's parser sends such SELECTs to a replica, where they fail or act on a copy"),
    ));
    m.push(mapping(FALLBACK, None, Some("with primary_reads_enabled = false reads fail when every replica is banned; with true the primary takes a share of all reads")));
    (s, m)
}

fn pgdog(c: &Ctx) -> (String, Vec<Mapping>) {
    let p = &c.map.policy;
    let mut s = c.header.clone();
    let _ = writeln!(s, "[general]\nhost = \"0.0.0.0\"\nport = {}", c.port);
    let _ = writeln!(
        s,
        "read_write_strategy = \"{}\"",
        if p.pin_transactions {
            "conservative"
        } else {
            "aggressive"
        }
    );
    s.push_str("read_write_split = \"include_primary_if_replica_banned\"\nload_balancing_strategy = \"random\"\n");
    let _ = writeln!(
        s,
        "ban_replica_lag = {}\nban_replica_lag_bytes = {}\n",
        p.max_lag_ms, p.max_lag_bytes
    );
    for (e, role) in
        std::iter::once((c.primary, "primary")).chain(c.replicas.iter().map(|r| (r, "replica")))
    {
        let _ = writeln!(s, "# {}", one_line(&e.name));
        let _ = writeln!(
            s,
            "[[databases]]\nname = {}\nhost = {}\nport = {}\nrole = \"{role}\"\ndatabase_name = {}\n",
            toml_str(&c.map.cluster),
            toml_str(&e.host),
            e.port,
            toml_str(&c.dbname(e))
        );
    }
    s.push_str("# Users and their passwords go in users.toml (dbkit never writes passwords).\n");
    let m = vec![
        mapping(WRITES, Some("PgDog's query parser (PostgreSQL's own grammar)"), None),
        mapping(READS, Some("databases with role = \"replica\""), None),
        mapping(WEIGHTS, None, Some("PgDog balances replicas at random, round robin or by least active connections, without weights")),
        mapping(ZONES, None, Some("no zone awareness")),
        mapping(LAG_MS, Some("ban_replica_lag (milliseconds)"), None),
        mapping(LAG_BYTES, Some("ban_replica_lag_bytes"), None),
        if p.pin_transactions {
            mapping(PIN, Some("read_write_strategy = \"conservative\""), None)
        } else {
            mapping(PIN, Some("off in the map: read_write_strategy = \"aggressive\""), None)
        },
        if p.read_your_writes {
            mapping(RYW, None, Some("PgDog does not track a session's write LSN"))
        } else {
            mapping(RYW, Some("off in the map"), None)
        },
        mapping(VOLATILE, None, Some("PgDog's parser decides; a SELECT calling a function it cannot see into may go to a replica")),
        mapping(FALLBACK, Some("read_write_split = \"include_primary_if_replica_banned\""), None),
    ];
    (s, m)
}

fn pgbouncer(c: &Ctx) -> (String, Vec<Mapping>) {
    let mut s = c.header.clone();
    s.push_str("[databases]\n");
    let name = &c.map.cluster;
    let db = |e: &Endpoint| {
        format!(
            "host={} port={} dbname={}",
            conn_value(&e.host),
            e.port,
            conn_value(&c.dbname(e))
        )
    };
    let _ = writeln!(
        s,
        "; read-write: {}\n{} = {}",
        one_line(&c.primary.name),
        quote_ident(name),
        db(c.primary)
    );
    let one_entry = c.replicas.windows(2).all(|w| w[0].port == w[1].port) && c.same_db();
    if !c.replicas.is_empty() {
        if one_entry {
            let hosts: Vec<String> = c.replicas.iter().map(|r| r.host.clone()).collect();
            let r = &c.replicas[0];
            let _ = writeln!(
                s,
                "; read-only: {} (round robin over the hosts on each new server connection)\n{} = host={} port={} dbname={}",
                one_line(&c.replicas.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", ")),
                quote_ident(&format!("{name}_ro")),
                conn_value(&hosts.join(",")),
                r.port,
                conn_value(&c.dbname(r))
            );
        } else {
            for r in c.replicas {
                let _ = writeln!(
                    s,
                    "; read-only: {}\n{} = {}",
                    one_line(&r.name),
                    quote_ident(&format!("{name}_ro_{}", r.name)),
                    db(r)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\n[pgbouncer]\nlisten_addr = *\nlisten_port = {}\npool_mode = transaction\nserver_round_robin = 1\nignore_startup_parameters = extra_float_digits\nauth_type = scram-sha-256\nauth_file = /etc/pgbouncer/userlist.txt",
        c.port
    );
    let how_reads = if one_entry {
        format!("the application connects to database {name}_ro")
    } else {
        format!("the application connects to one of the {name}_ro_<server> databases (replicas differ in port or database, which one PgBouncer entry cannot list)")
    };
    let m = vec![
        mapping(
            WRITES,
            Some(&format!("the application connects to database {name}")),
            Some("PgBouncer does not read statements: the application chooses"),
        ),
        mapping(READS, Some(&how_reads), None),
        mapping(
            WEIGHTS,
            None,
            Some("PgBouncer goes round robin over a host list, without weights"),
        ),
        mapping(ZONES, None, Some("no zone awareness")),
        mapping(
            LAG_MS,
            None,
            Some("PgBouncer does not measure replication lag"),
        ),
        mapping(
            LAG_BYTES,
            None,
            Some("PgBouncer does not measure replication lag"),
        ),
        mapping(
            PIN,
            None,
            Some("the application's choice of database decides"),
        ),
        mapping(
            RYW,
            None,
            Some("the application's choice of database decides"),
        ),
        mapping(
            VOLATILE,
            None,
            Some("the application's choice of database decides"),
        ),
        mapping(
            FALLBACK,
            None,
            Some("PgBouncer has no failover between entries"),
        ),
    ];
    (s, m)
}

fn haproxy(c: &Ctx) -> (String, Vec<Mapping>) {
    let mut s = c.header.clone();
    let cluster = haproxy_name(&c.map.cluster);
    let check = match c.user() {
        Some(u) if u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => {
            format!("    option pgsql-check user {u}\n")
        }
        _ => String::new(),
    };
    s.push_str("defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 30m\n    timeout server 30m\n    default-server inter 2s fall 3 rise 2\n\n");
    let _ = writeln!(
        s,
        "# Read-write: the primary.\nlisten {cluster}_primary\n    bind *:{}\n{check}    server {} {} check\n",
        c.port,
        haproxy_name(&c.primary.name),
        haproxy_addr(c.primary)
    );
    let _ = writeln!(
        s,
        "# Read-only: the replicas by weight; the primary only when none is up.\nlisten {cluster}_replicas\n    bind *:{}\n    balance roundrobin\n{check}",
        c.port.saturating_add(1)
    );
    for (r, w) in c.replicas.iter().zip(int_weights(c.replicas)) {
        let _ = writeln!(
            s,
            "    server {} {} check weight {w}",
            haproxy_name(&r.name),
            haproxy_addr(r)
        );
    }
    let _ = writeln!(
        s,
        "    server {} {} check backup",
        haproxy_name(&c.primary.name),
        haproxy_addr(c.primary)
    );
    let lag = "HAProxy's PostgreSQL check only logs in; drop lagging replicas with an agent-check or an HTTP check against a health endpoint that knows the lag";
    let m = vec![
        mapping(
            WRITES,
            Some(&format!("the application connects to port {}", c.port)),
            Some("HAProxy forwards TCP: the application chooses the port"),
        ),
        mapping(
            READS,
            Some(&format!(
                "the application connects to port {}",
                c.port.saturating_add(1)
            )),
            None,
        ),
        mapping(WEIGHTS, Some("server … weight (scaled to 1..256)"), None),
        mapping(ZONES, None, Some("no zone awareness")),
        mapping(LAG_MS, None, Some(lag)),
        mapping(LAG_BYTES, None, Some(lag)),
        mapping(PIN, None, Some("the application's choice of port decides")),
        mapping(RYW, None, Some("the application's choice of port decides")),
        mapping(
            VOLATILE,
            None,
            Some("the application's choice of port decides"),
        ),
        mapping(
            FALLBACK,
            Some("the primary is a backup server of the read-only proxy"),
            None,
        ),
    ];
    (s, m)
}

impl ExportReport {
    /// The configuration of `tool` for `map` (read from `path`), clients connecting on `port`
    /// (HAProxy: `port` for the primary, `port + 1` for the replicas).
    pub fn build(
        path: &str,
        map: &RoutingMap,
        primary: &Endpoint,
        replicas: &[Endpoint],
        tool: Tool,
        port: u16,
    ) -> ExportReport {
        let header = format!(
            "# {} configuration for cluster {}, generated by dbkit route export from {} — keep the\n# routing map as the source of truth and export again after changing it.\n",
            tool.name(),
            one_line(&map.cluster),
            one_line(path)
        );
        let header = if tool == Tool::Pgbouncer {
            header.replace("# ", "; ").replace("#\n", ";\n")
        } else {
            header
        };
        let c = Ctx {
            map,
            primary,
            replicas,
            port,
            header,
        };
        let (mut config, mut mappings) = match tool {
            Tool::Pgcat => pgcat(&c),
            Tool::Pgdog => pgdog(&c),
            Tool::Pgbouncer => pgbouncer(&c),
            Tool::Haproxy => haproxy(&c),
        };
        if !weights_differ(&c) {
            for m in mappings
                .iter_mut()
                .filter(|m| m.policy == WEIGHTS && m.how.is_none())
            {
                m.how = Some("all replicas weigh the same: nothing to express".into());
            }
        }
        if replicas.iter().all(|r| r.zone.is_none()) && primary.zone.is_none() {
            for m in mappings
                .iter_mut()
                .filter(|m| m.policy == ZONES && m.how.is_none())
            {
                m.how = Some("no zones in the map".into());
            }
        }
        if matches!(tool, Tool::Pgcat | Tool::Pgdog) && !c.same_db() {
            mappings.push(mapping(
                "each server's own database name",
                None,
                Some("one database name per pool: the primary's is used for every server"),
            ));
        }
        let findings: Vec<Finding> = mappings
            .iter()
            .filter(|m| m.how.is_none())
            .map(|m| Finding {
                rule: RuleId::RouteExportUnsupported,
                severity: Severity::Info,
                message: format!(
                    "{} cannot express: {}{}",
                    tool.name(),
                    m.policy,
                    m.note
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                ),
                location: Location {
                    node: Some(map.cluster.clone()),
                    ..Default::default()
                },
                evidence: serde_json::Value::Null,
                suggestion: None,
            })
            .collect();
        if !findings.is_empty() {
            let mark = if tool == Tool::Pgbouncer { ";" } else { "#" };
            let mut head = format!("{mark} Not expressed ({} cannot):\n", tool.name());
            for m in mappings.iter().filter(|m| m.how.is_none()) {
                let why = m
                    .note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                let _ = writeln!(head, "{mark}   - {}{}", one_line(&m.policy), one_line(&why));
            }
            head.push('\n');
            let at = config.find("\n\n").map_or(0, |i| i + 2);
            config.insert_str(at, &head);
        }
        ExportReport {
            tool,
            map: path.to_string(),
            cluster: map.cluster.clone(),
            config,
            mappings,
            findings,
        }
    }
}

impl Report for ExportReport {
    fn kind(&self) -> &'static str {
        "route-export"
    }
    fn summary(&self) -> String {
        format!(
            "{} configuration for cluster {}: {} of {} policies expressed",
            self.tool.name(),
            self.cluster,
            self.mappings.iter().filter(|m| m.how.is_some()).count(),
            self.mappings.len()
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("Policies", &["policy", self.tool.name(), "note"]);
        for m in &self.mappings {
            t.row(vec![
                Cell::text(m.policy.clone()),
                match &m.how {
                    Some(h) => Cell::toned(h.clone(), Tone::Good),
                    None => Cell::toned("cannot express", Tone::Warn),
                },
                Cell::toned(m.note.clone().unwrap_or_default(), Tone::Dim),
            ]);
        }
        vec![t]
    }
    fn script(&self) -> Option<String> {
        Some(self.config.clone())
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str, host: &str, port: u16, weight: f64) -> Endpoint {
        Endpoint {
            name: name.into(),
            host: host.into(),
            port,
            dbname: Some("shop".into()),
            user: Some("app".into()),
            weight,
            zone: None,
        }
    }

    fn map(cluster: &str) -> RoutingMap {
        RoutingMap::parse(
            &format!(
                "cluster = {}\n[primary]\nname = \"p\"\nurl = \"postgres://app@h/shop\"\n[policy]\nmax_lag_ms = 250\nmax_lag_bytes = 4096\n",
                toml_str(cluster)
            ),
            "r.toml",
        )
        .unwrap()
    }

    fn export(cluster: &str, tool: Tool, replicas: &[Endpoint]) -> ExportReport {
        ExportReport::build(
            "r.toml",
            &map(cluster),
            &ep("p", "10.0.0.1", 5432, 1.0),
            replicas,
            tool,
            6432,
        )
    }

    #[test]
    fn pgcat_and_pgdog_configs_are_toml_with_every_server() {
        let rs = [
            ep("r1", "10.0.0.2", 5432, 2.0),
            ep("r2", "10.0.0.3", 5433, 1.0),
        ];
        let cat = export("shop", Tool::Pgcat, &rs);
        let v: toml::Value = toml::from_str(&cat.config).unwrap();
        let servers = v["pools"]["shop"]["shards"]["0"]["servers"]
            .as_array()
            .unwrap();
        assert_eq!(servers.len(), 3);
        assert_eq!(servers[2][0].as_str(), Some("10.0.0.3"));
        assert_eq!(servers[2][1].as_integer(), Some(5433));
        assert_eq!(servers[2][2].as_str(), Some("replica"));
        assert!(cat
            .findings
            .iter()
            .any(|f| f.message.contains("replica weights")));
        assert!(cat.config.contains("# Not expressed (pgcat cannot):"));

        let dog = export("shop", Tool::Pgdog, &rs);
        let v: toml::Value = toml::from_str(&dog.config).unwrap();
        assert_eq!(v["general"]["ban_replica_lag"].as_integer(), Some(250));
        assert_eq!(
            v["general"]["ban_replica_lag_bytes"].as_integer(),
            Some(4096)
        );
        assert_eq!(
            v["general"]["read_write_strategy"].as_str(),
            Some("conservative")
        );
        let dbs = v["databases"].as_array().unwrap();
        assert_eq!(dbs.len(), 3);
        assert_eq!(dbs[1]["role"].as_str(), Some("replica"));
        assert!(!dog.findings.iter().any(|f| f.message.contains("max_lag")));
    }

    #[test]
    fn hostile_names_stay_inside_their_quotes() {
        let evil = "shop\"]\n[general]\nport = 1 # ";
        let rs = [ep("r1\nlisten x", "10.0.0.2", 5432, 1.0)];
        for tool in [Tool::Pgcat, Tool::Pgdog] {
            let r = export(evil, tool, &rs);
            let v: toml::Value =
                toml::from_str(&r.config).unwrap_or_else(|e| panic!("{e}\n{}", r.config));
            assert_eq!(v["general"]["port"].as_integer(), Some(6432), "{tool:?}");
            if tool == Tool::Pgcat {
                assert!(v["pools"].get(evil).is_some());
            } else {
                assert_eq!(v["databases"][0]["name"].as_str(), Some(evil));
            }
        }
        let r = export(evil, Tool::Haproxy, &rs);
        assert!(
            r.config.lines().all(|l| !l.starts_with("listen x")),
            "{}",
            r.config
        );
        for l in r
            .config
            .lines()
            .filter(|l| l.starts_with("listen ") || l.trim_start().starts_with("server "))
        {
            let words: Vec<&str> = l.split_whitespace().collect();
            assert!(
                words[1]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b)),
                "{l}"
            );
        }
        let r = export("my db", Tool::Pgbouncer, &rs);
        assert!(
            r.config.contains("\"my db\" = host=10.0.0.1"),
            "{}",
            r.config
        );
        assert!(
            r.config.contains("\"my db_ro\" = host=10.0.0.2"),
            "{}",
            r.config
        );
        assert_eq!(conn_value("it's a b\\c"), "'it\\'s a b\\\\c'");
    }

    #[test]
    fn pgbouncer_lists_replicas_in_one_entry_when_it_can() {
        let same = [
            ep("r1", "10.0.0.2", 5432, 1.0),
            ep("r2", "10.0.0.3", 5432, 1.0),
        ];
        let r = export("shop", Tool::Pgbouncer, &same);
        assert!(
            r.config
                .contains("shop_ro = host=10.0.0.2,10.0.0.3 port=5432 dbname=shop"),
            "{}",
            r.config
        );
        let differ = [
            ep("r1", "10.0.0.2", 5432, 1.0),
            ep("r2", "10.0.0.3", 5433, 1.0),
        ];
        let r = export("shop", Tool::Pgbouncer, &differ);
        assert!(
            r.config
                .contains("shop_ro_r2 = host=10.0.0.3 port=5433 dbname=shop"),
            "{}",
            r.config
        );
        assert!(r.config.starts_with("; pgbouncer configuration"));
        assert!(!r.config.lines().any(|l| l.starts_with('#')));
    }

    #[test]
    fn haproxy_scales_weights_and_backs_reads_with_the_primary() {
        let rs = [ep("r1", "10.0.0.2", 5432, 2.0), ep("r2", "::1", 5433, 0.5)];
        let r = export("shop", Tool::Haproxy, &rs);
        assert!(r.config.contains("bind *:6432"));
        assert!(r.config.contains("bind *:6433"));
        assert!(
            r.config
                .contains("server r1 10.0.0.2:5432 check weight 100"),
            "{}",
            r.config
        );
        assert!(
            r.config.contains("server r2 [::1]:5433 check weight 25"),
            "{}",
            r.config
        );
        assert!(r.config.contains("server p 10.0.0.1:5432 check backup"));
        assert!(r.config.contains("option pgsql-check user app"));
        assert!(r.findings.iter().any(|f| f.message.contains("max_lag_ms")));
        assert!(!r.findings.iter().any(|f| f.message.contains("weights")));
    }
}
