//! Replica admission: from what was observed on each server of a routing map (role, WAL
//! positions, replay age), decide which servers take reads now and why, under the map's lag
//! limits. A pure function: `db::replication::probe` gathers the observations.

use crate::routing::map::Policy;
use crate::routing::report::{ServerRole, ServerStatus};

/// What a probe saw on one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// `pg_is_in_recovery()`.
    pub in_recovery: bool,
    /// Primary: current WAL LSN; replica: last replayed LSN.
    pub lsn: Option<u64>,
    /// Replica: milliseconds since the last replayed transaction's commit.
    pub replay_age_ms: Option<u64>,
    /// Replica: replay paused.
    pub paused: bool,
}

/// The status of every server (`names[0]` is the configured primary) from its observation or
/// the error that kept it from being observed.
pub fn admit(
    names: &[&str],
    seen: &[Result<Observed, String>],
    policy: &Policy,
) -> Vec<ServerStatus> {
    let seen = seen.iter().map(|r| r.as_ref().map_err(String::as_str));
    let seen: Vec<Result<&Observed, &str>> = seen.collect();
    let primary_lsn = seen
        .iter()
        .filter_map(|r| r.ok())
        .find(|s| !s.in_recovery)
        .and_then(|s| s.lsn);
    let mut out = Vec::new();
    for (i, (name, r)) in names.iter().zip(seen).enumerate() {
        let configured = if i == 0 {
            ServerRole::Primary
        } else {
            ServerRole::Replica
        };
        let status = match r {
            Err(e) => ServerStatus {
                name: name.to_string(),
                configured,
                role: None,
                lsn: None,
                lag_bytes: None,
                lag_ms: None,
                replay_paused: None,
                in_pool: false,
                reason: format!("unreachable: {e}"),
            },
            Ok(s) => {
                let role = if s.in_recovery {
                    ServerRole::Replica
                } else {
                    ServerRole::Primary
                };
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
                } else if lag_bytes.is_some_and(|b| b > policy.max_lag_bytes) {
                    (
                        false,
                        format!(
                            "{} bytes behind the primary (limit {})",
                            lag_bytes.unwrap_or(0),
                            policy.max_lag_bytes
                        ),
                    )
                } else if lag_ms.is_some_and(|ms| ms > policy.max_lag_ms) {
                    (
                        false,
                        format!(
                            "replay {} ms behind (limit {} ms)",
                            lag_ms.unwrap_or(0),
                            policy.max_lag_ms
                        ),
                    )
                } else {
                    (true, "replica within the lag limits".to_string())
                };
                ServerStatus {
                    name: name.to_string(),
                    configured,
                    role: Some(role),
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        toml::from_str::<Policy>("max_lag_ms = 1000\nmax_lag_bytes = 1024\n").unwrap()
    }

    fn primary(lsn: u64) -> Result<Observed, String> {
        Ok(Observed {
            in_recovery: false,
            lsn: Some(lsn),
            replay_age_ms: None,
            paused: false,
        })
    }

    fn replica(lsn: u64, age_ms: u64) -> Result<Observed, String> {
        Ok(Observed {
            in_recovery: true,
            lsn: Some(lsn),
            replay_age_ms: Some(age_ms),
            paused: false,
        })
    }

    fn decide(seen: &[Result<Observed, String>]) -> Vec<(bool, String)> {
        let names = ["p", "r1", "r2", "r3"];
        admit(&names[..seen.len()], seen, &policy())
            .into_iter()
            .map(|s| (s.in_pool, s.reason))
            .collect()
    }

    #[test]
    fn replicas_within_the_limits_take_reads() {
        let d = decide(&[
            primary(10_000),
            replica(10_000, 60_000),
            replica(9_500, 200),
        ]);
        // Caught up: an old last commit is not lag.
        assert!(d[1].0, "{d:?}");
        assert!(d[2].0, "{d:?}");
        assert!(d[0].0 && d[0].1 == "primary");
    }

    #[test]
    fn lagging_unreachable_or_promoted_servers_are_excluded_with_the_reason() {
        let d = decide(&[
            primary(10_000),
            replica(5_000, 10),
            replica(9_999, 5_000),
            Err("connection refused".into()),
        ]);
        assert!(
            !d[1].0
                && d[1]
                    .1
                    .contains("5000 bytes behind the primary (limit 1024)"),
            "{d:?}"
        );
        assert!(
            !d[2].0 && d[2].1.contains("replay 5000 ms behind (limit 1000 ms)"),
            "{d:?}"
        );
        assert!(
            !d[3].0 && d[3].1 == "unreachable: connection refused",
            "{d:?}"
        );
        let d = decide(&[primary(10), primary(10)]);
        assert!(!d[1].0 && d[1].1.contains("second primary"), "{d:?}");
        // Without a primary, no lag can be measured: nobody takes reads.
        let d = decide(&[Err("down".into()), replica(10, 0)]);
        assert!(!d[1].0 && d[1].1.contains("no primary answered"), "{d:?}");
    }
}
