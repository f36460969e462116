//! The report of `dbkit route classify`: per statement, the target and why.

use super::route::{Decision, Target};
use crate::finding::Finding;
use crate::finding::RuleId;
use crate::view::{Cell, Report, Table, Tone};
use serde::Serialize;

/// One routed statement.
#[derive(Debug, Serialize)]
pub struct Routed {
    /// 1-based line where the statement starts.
    pub line: usize,
    /// The statement (shortened in tables).
    pub statement: String,
    /// The decision.
    #[serde(flatten)]
    pub decision: Decision,
}

/// Statements of a file routed in order, as one session would send them.
#[derive(Debug, Serialize)]
pub struct ClassifyReport {
    /// The cluster.
    pub cluster: String,
    /// The file.
    pub file: String,
    /// Per statement.
    pub statements: Vec<Routed>,
    /// Problems reading the file.
    pub findings: Vec<Finding>,
}

impl ClassifyReport {
    /// Routes the statements of `text` in order through one [`super::Router`]. Transactions
    /// carry over from statement to statement; writes do too when `one_session` (reads after a
    /// write then stay on the primary, no LSN being known), else each statement starts fresh.
    pub fn build(map: &super::RoutingMap, file: &str, text: &str, one_session: bool) -> Self {
        let mut router = super::Router::new(map);
        let mut session = super::Session::default();
        let mut statements = Vec::new();
        for st in &crate::sql::split(text).statements {
            let decision = router.route(st.text, &mut session);
            if !one_session {
                session.write_pending = false;
                session.last_write_lsn = None;
            }
            statements.push(Routed {
                line: st.span.start.line,
                statement: st.text.to_string(),
                decision,
            });
        }
        ClassifyReport {
            cluster: map.cluster.clone(),
            file: file.to_string(),
            statements,
            findings: Vec::new(),
        }
    }
}

impl Report for ClassifyReport {
    fn kind(&self) -> &'static str {
        "route-classify"
    }
    fn summary(&self) -> String {
        let replica = self
            .statements
            .iter()
            .filter(|r| r.decision.target == Target::Replica)
            .count();
        format!(
            "{} on {}: {} statement(s), {} to the replica pool, {} to the primary",
            self.file,
            self.cluster,
            self.statements.len(),
            replica,
            self.statements.len() - replica
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new("Routing", &["line", "target", "reason", "statement"]);
        for r in &self.statements {
            let (name, tone) = match r.decision.target {
                Target::Primary => ("primary", Tone::Warn),
                Target::Replica => ("replica", Tone::Good),
            };
            let mut text: String = r.statement.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.chars().count() > 70 {
                text = text.chars().take(69).collect::<String>() + "…";
            }
            t.row(vec![
                Cell::num(r.line),
                Cell::toned(name, tone),
                Cell::text(r.decision.reason.to_string()),
                Cell::text(text),
            ]);
        }
        vec![t]
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}

/// A server's role: in the map, or as found (`pg_is_in_recovery()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerRole {
    /// Takes writes (not in recovery).
    Primary,
    /// A standby (in recovery).
    Replica,
}

impl ServerRole {
    /// `primary` or `replica`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerRole::Primary => "primary",
            ServerRole::Replica => "replica",
        }
    }
}

/// One server as `route probe` found it.
#[derive(Debug, Serialize)]
pub struct ServerStatus {
    /// Name.
    pub name: String,
    /// Its role in the map.
    pub configured: ServerRole,
    /// Its role found, when reachable.
    pub role: Option<ServerRole>,
    /// Primary: current WAL LSN; replica: last replayed LSN.
    pub lsn: Option<String>,
    /// Replica: bytes of WAL behind the primary.
    pub lag_bytes: Option<u64>,
    /// Replica: milliseconds of replay behind (0 when caught up).
    pub lag_ms: Option<u64>,
    /// Replica: replay paused.
    pub replay_paused: Option<bool>,
    /// Takes traffic now (the primary its writes, a replica reads).
    pub in_pool: bool,
    /// Why it is in or out.
    pub reason: String,
}

/// The routing table `route probe` would use now.
#[derive(Debug, Serialize)]
pub struct ProbeReport {
    /// The cluster.
    pub cluster: String,
    /// Per server, primary first.
    pub servers: Vec<ServerStatus>,
    /// Unreachable servers, a wrong primary, excluded replicas.
    pub findings: Vec<Finding>,
    /// The map's limit on a replica's replay lag, ms.
    pub max_lag_ms: u64,
    /// The map's limit on a replica's lag in WAL bytes.
    pub max_lag_bytes: u64,
}

impl ProbeReport {
    /// Findings from the statuses.
    pub fn build(map: &super::RoutingMap, servers: Vec<ServerStatus>) -> ProbeReport {
        let mut findings = Vec::new();
        let mut add = |rule: RuleId, severity, s: &ServerStatus, message: String| {
            findings.push(Finding {
                rule,
                severity,
                message,
                location: crate::finding::Location {
                    node: Some(s.name.clone()),
                    ..Default::default()
                },
                evidence: serde_json::json!({"lag_bytes": s.lag_bytes, "lag_ms": s.lag_ms}),
                suggestion: None,
            })
        };
        use crate::finding::Severity;
        for s in &servers {
            use ServerRole::{Primary, Replica};
            match (s.configured, s.role) {
                (_, None) => add(RuleId::RouteServerUnreachable, Severity::Error, s, format!("{}: {}", s.name, s.reason)),
                (Primary, Some(Replica)) => add(RuleId::RoutePrimaryInRecovery, Severity::Error, s, format!("{} is configured as the primary but is in recovery (a replica); update the map", s.name)),
                (Replica, Some(Primary)) => add(RuleId::RouteReplicaNotInRecovery, Severity::Error, s, format!("{} is configured as a replica but is not in recovery", s.name)),
                (Replica, Some(Replica)) if !s.in_pool => add(RuleId::RouteReplicaLagging, Severity::Warning, s, format!("{} is excluded from reads: {}", s.name, s.reason)),
                _ => {}
            }
        }
        ProbeReport {
            cluster: map.cluster.clone(),
            servers,
            findings,
            max_lag_ms: map.policy.max_lag_ms,
            max_lag_bytes: map.policy.max_lag_bytes,
        }
    }
}

impl Report for ProbeReport {
    fn charts(&self) -> Vec<crate::view::Chart> {
        use crate::view::{Chart, ChartKind, ChartPoint};
        let lag =
            |id: &str, title: &str, unit: &str, limit: u64, v: fn(&ServerStatus) -> Option<u64>| {
                Chart {
                    id: id.into(),
                    title: title.into(),
                    kind: ChartKind::Bars,
                    marks: "limit".into(),
                    unit: unit.into(),
                    points: self
                        .servers
                        .iter()
                        .filter(|s| s.configured == ServerRole::Replica)
                        .map(|s| {
                            let mut p = ChartPoint::new(s.name.clone(), v(s).unwrap_or(0) as f64)
                                .tone(if s.in_pool { Tone::Good } else { Tone::Bad });
                            p.mark = Some(limit as f64);
                            if v(s).is_none() {
                                p.text = Some(format!("unknown: {}", s.reason));
                            } else if !s.in_pool {
                                p.text = Some(format!(
                                    "{} — excluded: {}",
                                    crate::view::fmt_value(p.value, unit),
                                    s.reason
                                ));
                            }
                            p
                        })
                        .collect(),
                }
            };
        vec![
            lag(
                "lag-ms",
                "Replay lag per replica (dashed: the limit)",
                "ms",
                self.max_lag_ms,
                |s| s.lag_ms,
            ),
            lag(
                "lag-bytes",
                "WAL bytes behind per replica (dashed: the limit)",
                "bytes",
                self.max_lag_bytes,
                |s| s.lag_bytes,
            ),
        ]
    }
    fn kind(&self) -> &'static str {
        "route-probe"
    }
    fn summary(&self) -> String {
        let reads = self
            .servers
            .iter()
            .filter(|s| s.in_pool && s.role == Some(ServerRole::Replica))
            .count();
        format!(
            "{}: {} server(s), {} replica(s) taking reads",
            self.cluster,
            self.servers.len(),
            reads
        )
    }
    fn tables(&self) -> Vec<Table> {
        let mut t = Table::new(
            "Routing table now",
            &[
                "server",
                "configured",
                "found",
                "lsn",
                "lag bytes",
                "lag ms",
                "in pool",
                "reason",
            ],
        );
        let opt = |v: Option<u64>| v.map(|x| x.to_string()).unwrap_or_default();
        for s in &self.servers {
            t.row(vec![
                Cell::text(s.name.clone()),
                Cell::text(s.configured.as_str()),
                Cell::text(s.role.map_or("?", ServerRole::as_str)),
                Cell::text(s.lsn.clone().unwrap_or_default()),
                Cell::text(opt(s.lag_bytes)),
                Cell::text(opt(s.lag_ms)),
                if s.in_pool {
                    Cell::toned("yes", Tone::Good)
                } else {
                    Cell::toned("no", Tone::Bad)
                },
                Cell::text(s.reason.clone()),
            ]);
        }
        vec![t]
    }
    fn findings(&self) -> &[Finding] {
        &self.findings
    }
    fn findings_mut(&mut self) -> Option<&mut Vec<Finding>> {
        Some(&mut self.findings)
    }
}
