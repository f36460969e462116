//! Probing a routing map's servers: which one is the primary (`pg_is_in_recovery`), the
//! primary's current WAL position, and each replica's replay position, replay time and lag.
//! The primary's position is its write position (`pg_current_wal_lsn`, what replicas can have
//! received), as `pg_stat_replication` counts: with `synchronous_commit = off`, commits still
//! in WAL buffers (at most `wal_writer_delay` worth) are not counted as lag yet.

use super::{connect, ConnSpec};
use crate::routing::map::{RoutingMap, Server};
use crate::routing::report::{ProbeReport, ServerStatus};

/// Parses an LSN (`16/B374D848`) into a number.
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.trim().split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

struct Seen {
    in_recovery: bool,
    /// Primary: current WAL LSN; replica: last replayed LSN.
    lsn: Option<u64>,
    /// Replica: milliseconds since the last replayed transaction's commit.
    replay_age_ms: Option<u64>,
    paused: bool,
}

async fn look(server: &Server) -> Result<Seen, String> {
    let spec = ConnSpec::for_server(server.url.as_deref(), server.url_env.as_deref())?;
    let mut c = connect(&spec).await.map_err(|e| e.to_string())?;
    let row: (bool, Option<String>, Option<f64>, bool) = sqlx::query_as(
        "SELECT pg_is_in_recovery(),
                CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text ELSE pg_current_wal_lsn()::text END,
                CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 * 1000 END,
                CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END",
    )
    .fetch_one(&mut c)
    .await
    .map_err(|e| spec.scrub(&e.to_string()))?;
    super::close(c).await;
    Ok(Seen {
        in_recovery: row.0,
        lsn: row.1.as_deref().and_then(parse_lsn),
        replay_age_ms: row.2.map(|ms| ms.max(0.0) as u64),
        paused: row.3,
    })
}

/// Connects to every server of `map` and decides which replicas may take reads now.
pub async fn probe(map: &RoutingMap) -> ProbeReport {
    let servers: Vec<&Server> = map.servers().collect();
    let mut seen = Vec::new();
    for s in &servers {
        seen.push(look(s).await);
    }
    let primary_lsn = seen
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .find(|s| !s.in_recovery)
        .and_then(|s| s.lsn);
    let mut out = Vec::new();
    for (i, (server, r)) in servers.iter().zip(seen).enumerate() {
        let configured = if i == 0 { "primary" } else { "replica" };
        let status = match r {
            Err(e) => ServerStatus {
                name: server.name.clone(),
                configured: configured.into(),
                role: None,
                lsn: None,
                lag_bytes: None,
                lag_ms: None,
                replay_paused: None,
                in_pool: false,
                reason: format!("unreachable: {e}"),
            },
            Ok(s) => {
                let role = if s.in_recovery { "replica" } else { "primary" };
                let lag_bytes = if s.in_recovery {
                    primary_lsn.zip(s.lsn).map(|(p, r)| p.saturating_sub(r))
                } else {
                    None
                };
                // Caught up: no time lag, however long ago the last commit was.
                let lag_ms = if s.in_recovery {
                    if lag_bytes == Some(0) {
                        Some(0)
                    } else {
                        s.replay_age_ms
                    }
                } else {
                    None
                };
                let (in_pool, reason) = if !s.in_recovery {
                    (
                        i == 0,
                        if i == 0 {
                            "primary".to_string()
                        } else {
                            "not in recovery: a second primary? excluded".to_string()
                        },
                    )
                } else if primary_lsn.is_none() {
                    (
                        false,
                        "no primary answered, so the lag is unknown".to_string(),
                    )
                } else if lag_bytes.is_some_and(|b| b > map.policy.max_lag_bytes) {
                    (
                        false,
                        format!(
                            "{} bytes behind the primary (limit {})",
                            lag_bytes.unwrap_or(0),
                            map.policy.max_lag_bytes
                        ),
                    )
                } else if lag_ms.is_some_and(|ms| ms > map.policy.max_lag_ms) {
                    (
                        false,
                        format!(
                            "replay {} ms behind (limit {} ms)",
                            lag_ms.unwrap_or(0),
                            map.policy.max_lag_ms
                        ),
                    )
                } else {
                    (true, "replica within the lag limits".to_string())
                };
                ServerStatus {
                    name: server.name.clone(),
                    configured: configured.into(),
                    role: Some(role.into()),
                    lsn: s
                        .lsn
                        .map(|l| format!("{:X}/{:X}", l >> 32, l & 0xFFFF_FFFF)),
                    lag_bytes,
                    lag_ms,
                    replay_paused: s.in_recovery.then_some(s.paused),
                    in_pool,
                    reason,
                }
            }
        };
        out.push(status);
    }
    ProbeReport::build(map, out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lsns_parse() {
        assert_eq!(
            super::parse_lsn("16/B374D848"),
            Some((0x16 << 32) | 0xB374_D848)
        );
        assert_eq!(super::parse_lsn("0/0"), Some(0));
        assert_eq!(super::parse_lsn("garbage"), None);
    }
}
