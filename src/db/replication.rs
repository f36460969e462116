//! Probing a routing map's servers: which one is the primary (`pg_is_in_recovery`), the
//! primary's current WAL position, and each replica's replay position, replay time and lag.
//! The primary's position is its write position (`pg_current_wal_lsn`, what replicas can have
//! received), as `pg_stat_replication` counts: with `synchronous_commit = off`, commits still
//! in WAL buffers (at most `wal_writer_delay` worth) are not counted as lag yet.

use super::{connect, ConnSpec};
use crate::routing::admission::{admit, Observed};
use crate::routing::map::{RoutingMap, Server};
use crate::routing::report::ProbeReport;

/// Parses an LSN (`16/B374D848`) into a number.
pub fn parse_lsn(s: &str) -> Option<u64> {
    let (hi, lo) = s.trim().split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

async fn look(server: &Server) -> Result<Observed, String> {
    let spec = ConnSpec::for_server(server.url.as_deref(), server.url_env.as_deref())
        .map_err(|e| e.to_string())?;
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
    Ok(Observed {
        in_recovery: row.0,
        lsn: row.1.as_deref().and_then(parse_lsn),
        replay_age_ms: row.2.map(|ms| ms.max(0.0) as u64),
        paused: row.3,
    })
}

/// Connects to every server of `map` (primary first), observes them, and lets the routing
/// policy decide which replicas may take reads now (`crate::routing::admission::admit`).
pub async fn probe(map: &RoutingMap) -> ProbeReport {
    let servers: Vec<&Server> = map.servers().collect();
    let mut seen = Vec::new();
    for s in &servers {
        seen.push(look(s).await);
    }
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    ProbeReport::build(map, admit(&names, &seen, &map.policy))
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
