//! The replica routing map: one cluster's primary, its streaming replicas (weight, zone), the
//! largest replication lag a replica may have and still take reads, and the routing policies.
//! A TOML or JSON file kept in git, with no secrets in it.

use crate::finding::RuleId;
use crate::finding::{Finding, Location, Severity};
use crate::shard::map::has_password;
use serde::{Deserialize, Serialize};

/// One server of the cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// Unique name.
    pub name: String,
    /// Connection URL without a password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An environment variable holding the connection URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_env: Option<String>,
    /// Read weight (replicas).
    #[serde(default = "one")]
    pub weight: f64,
    /// Availability zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

/// Routing policies.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// A replica further behind than this (milliseconds of replay) takes no reads.
    #[serde(default = "default_lag_ms")]
    pub max_lag_ms: u64,
    /// A replica further behind than this (bytes of WAL) takes no reads.
    #[serde(default = "default_lag_bytes")]
    pub max_lag_bytes: u64,
    /// After a write, a session reads from a replica only once it has replayed the write.
    #[serde(default = "yes")]
    pub read_your_writes: bool,
    /// Transactions go to the primary unless they begin READ ONLY.
    #[serde(default = "yes")]
    pub pin_transactions: bool,
}

fn default_lag_ms() -> u64 {
    1000
}

fn default_lag_bytes() -> u64 {
    16 * 1024 * 1024
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_lag_ms: default_lag_ms(),
            max_lag_bytes: default_lag_bytes(),
            read_your_writes: true,
            pin_transactions: true,
        }
    }
}

/// A routing map.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutingMap {
    /// The cluster's name.
    pub cluster: String,
    /// The primary as configured (`route probe` checks which server really is).
    pub primary: Server,
    /// Streaming replicas.
    #[serde(default)]
    pub replicas: Vec<Server>,
    /// Policies.
    #[serde(default)]
    pub policy: Policy,
}

impl RoutingMap {
    /// Reads a map from TOML or JSON text (JSON when it starts with `{`).
    pub fn parse(text: &str, path: &str) -> Result<RoutingMap, crate::mapfile::MapError> {
        crate::mapfile::parse_file(text, path)
    }

    /// Reads a map file.
    pub fn load(path: &std::path::Path) -> Result<RoutingMap, crate::mapfile::MapError> {
        let (text, p) = crate::mapfile::read_file(path)?;
        Self::parse(&text, &p)
    }

    /// Every server, primary first.
    pub fn servers(&self) -> impl Iterator<Item = &Server> {
        std::iter::once(&self.primary).chain(&self.replicas)
    }

    /// Duplicate names, passwords in URLs (never printed), bad weights.
    pub fn validate(&self) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let f = |rule: RuleId, name: &str, message: String| Finding {
            rule,
            severity: Severity::Error,
            message,
            location: Location {
                node: Some(name.to_string()),
                ..Default::default()
            },
            evidence: serde_json::Value::Null,
            suggestion: None,
        };
        for s in self.servers() {
            if !seen.insert(s.name.as_str()) {
                out.push(f(
                    RuleId::RouteMapDuplicateServer,
                    &s.name,
                    format!("server {:?} is defined more than once", s.name),
                ));
            }
            if s.url.as_deref().is_some_and(has_password) {
                out.push(f(RuleId::RouteMapSecretInUrl, &s.name, format!("server {:?}: the url contains a password; name an environment variable with url_env", s.name)));
            }
            if !(s.weight.is_finite() && s.weight >= 0.0) {
                out.push(f(
                    RuleId::RouteMapBadWeight,
                    &s.name,
                    format!(
                        "server {:?}: weight {} must be a number >= 0",
                        s.name, s.weight
                    ),
                ));
            }
        }
        out
    }
}
