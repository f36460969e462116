//! Statement routing: given a statement (or its cached fingerprint) and a session's state, the
//! target — the primary or the replica pool — and the reason. Pure and synchronous: the caller
//! tells the router what the replicas have replayed and what LSN each write ended at.

use super::map::{Policy, RoutingMap};
use crate::sql::{classify, fingerprint, StatementKind};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Where a statement goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The primary.
    Primary,
    /// Any replica of the pool that has replayed what the session needs.
    Replica,
}

/// Why a statement goes where it goes: a fixed text, or the classifier's reason for a
/// statement shape, shared with the router's cache — so a decision never allocates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A fixed text.
    Static(&'static str),
    /// A text shared with the router's cache.
    Shared(Arc<str>),
}

impl std::ops::Deref for Reason {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Reason::Static(s) => s,
            Reason::Shared(s) => s,
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self)
    }
}

/// A routing decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The target.
    pub target: Target,
    /// Why.
    pub reason: Reason,
}

/// What the router remembers about one statement shape.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// May run on a replica.
    Read,
    /// Must run on the primary, with the classifier's reason (and the same inside a READ ONLY
    /// transaction, where it fails).
    Primary {
        /// Why.
        reason: Arc<str>,
        /// Why, inside a READ ONLY transaction.
        in_read_only: Arc<str>,
    },
    /// BEGIN / START TRANSACTION, read only or not.
    Begin { read_only: bool },
    /// COMMIT, ROLLBACK, END, ABORT (PREPARE TRANSACTION and the like count as primary).
    End,
    /// Session settings (SET, SHOW, RESET): wherever the session is.
    Session,
}

/// One client session's routing state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// Inside a transaction: where it was sent.
    pub transaction: Option<Target>,
    /// The LSN the session's last write ended at, once the caller reports it.
    pub last_write_lsn: Option<u64>,
    /// A write was routed and its LSN not yet reported: reads go to the primary.
    pub write_pending: bool,
}

impl Session {
    /// Reports the LSN a write ended at (e.g. `pg_current_wal_insert_lsn()` after commit).
    pub fn wrote_at(&mut self, lsn: u64) {
        self.last_write_lsn = Some(self.last_write_lsn.map_or(lsn, |l| l.max(lsn)));
        self.write_pending = false;
    }
}

/// The router: policies, the replicas that may take reads now and what they have replayed,
/// and a cache of statement shapes by fingerprint.
#[derive(Debug, Clone)]
pub struct Router {
    policy: Policy,
    /// The highest LSN any healthy replica has replayed; `None` when no replica may take reads.
    replayed: Option<u64>,
    cache: HashMap<u64, Shape>,
}

impl Router {
    /// A router for `map`, with every replica assumed healthy and caught up until told
    /// otherwise.
    pub fn new(map: &RoutingMap) -> Router {
        Router {
            policy: map.policy.clone(),
            replayed: (!map.replicas.is_empty()).then_some(u64::MAX),
            cache: HashMap::new(),
        }
    }

    /// Tells the router the most any healthy replica has replayed (`None`: no replica is
    /// usable — all lag too much or are down).
    pub fn set_replayed(&mut self, lsn: Option<u64>) {
        self.replayed = lsn;
    }

    /// Routes a statement: fingerprints it, classifies it on a cache miss.
    pub fn route(&mut self, sql: &str, session: &mut Session) -> Decision {
        let id = fingerprint(sql).id;
        self.cache.entry(id).or_insert_with(|| shape(sql));
        let shape = &self.cache[&id];
        self.decide(shape, session)
    }

    /// Routes a statement already seen, by its fingerprint id; `None` on a cache miss.
    pub fn route_fingerprint(&self, id: u64, session: &mut Session) -> Option<Decision> {
        let shape = self.cache.get(&id)?;
        Some(self.decide(shape, session))
    }

    fn decide(&self, shape: &Shape, s: &mut Session) -> Decision {
        match shape {
            Shape::Begin { read_only } => {
                let t = if *read_only || !self.policy.pin_transactions {
                    let mut d = self.read_target(s);
                    if d.target == Target::Replica {
                        d.reason = Reason::Static(if *read_only {
                            "BEGIN READ ONLY: the transaction may run on a replica"
                        } else {
                            "transactions are not pinned by the policy"
                        });
                    }
                    d
                } else {
                    primary("transaction pinned to the primary (not BEGIN READ ONLY)")
                };
                s.transaction = Some(t.target);
                t
            }
            Shape::End => {
                let t = s.transaction.take().unwrap_or(Target::Primary);
                Decision {
                    target: t,
                    reason: Reason::Static("ends the transaction where it ran"),
                }
            }
            Shape::Session => Decision {
                target: s.transaction.unwrap_or(Target::Primary),
                reason: Reason::Static("session setting: where the session is"),
            },
            Shape::Primary {
                reason,
                in_read_only,
            } => {
                s.write_pending = true;
                if s.transaction == Some(Target::Replica) {
                    // A write in a READ ONLY transaction fails on any server; send it where the
                    // transaction is so the error is PostgreSQL's own.
                    return Decision {
                        target: Target::Replica,
                        reason: Reason::Shared(in_read_only.clone()),
                    };
                }
                Decision {
                    target: Target::Primary,
                    reason: Reason::Shared(reason.clone()),
                }
            }
            Shape::Read => match s.transaction {
                Some(Target::Primary) => primary("inside a transaction pinned to the primary"),
                Some(Target::Replica) => Decision {
                    target: Target::Replica,
                    reason: Reason::Static("inside a READ ONLY transaction"),
                },
                None => self.read_target(s),
            },
        }
    }

    fn read_target(&self, s: &Session) -> Decision {
        let Some(replayed) = self.replayed else {
            return primary("read, but no replica is within the lag limits");
        };
        if self.policy.read_your_writes {
            if s.write_pending {
                return primary("read-your-writes: the session's last write LSN is not known yet");
            }
            if let Some(lsn) = s.last_write_lsn {
                if replayed < lsn {
                    return primary(
                        "read-your-writes: no replica has replayed the session's last write yet",
                    );
                }
            }
        }
        Decision {
            target: Target::Replica,
            reason: Reason::Static("read-only statement"),
        }
    }
}

/// A decision for the primary with a fixed reason.
fn primary(reason: &'static str) -> Decision {
    Decision {
        target: Target::Primary,
        reason: Reason::Static(reason),
    }
}

/// A shape that needs the primary, for `reason`.
fn needs_primary(reason: String) -> Shape {
    Shape::Primary {
        in_read_only: format!("{reason}, inside a READ ONLY transaction").into(),
        reason: reason.into(),
    }
}

fn shape(sql: &str) -> Shape {
    let c = classify(sql);
    match c.kind {
        StatementKind::Transaction => {
            let tag = c.command.to_ascii_uppercase();
            if tag.starts_with("BEGIN") || tag.starts_with("START") {
                let norm = fingerprint(sql).normalized;
                Shape::Begin {
                    read_only: norm.contains("read only"),
                }
            } else if ["COMMIT", "ROLLBACK", "END", "ABORT"]
                .iter()
                .any(|t| tag == *t)
            {
                Shape::End
            } else if tag.starts_with("SAVEPOINT")
                || tag.starts_with("RELEASE")
                || tag.starts_with("ROLLBACK TO")
                || tag.starts_with("SET TRANSACTION")
            {
                Shape::Session
            } else {
                needs_primary(format!("{tag}: transaction control that needs the primary"))
            }
        }
        StatementKind::Utility if matches!(c.command.as_str(), "SET" | "SHOW" | "RESET") => {
            Shape::Session
        }
        _ if c.requires_primary => needs_primary(if c.reasons.is_empty() {
            format!("{} needs the primary", c.command)
        } else {
            c.reasons.join("; ")
        }),
        StatementKind::Read => Shape::Read,
        _ => needs_primary(format!("{} needs the primary", c.command)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router() -> Router {
        let map = RoutingMap::parse(
            "cluster = \"shop\"\n[primary]\nname = \"p\"\n[[replicas]]\nname = \"r1\"\n",
            "r.toml",
        )
        .unwrap();
        Router::new(&map)
    }

    fn t(r: &mut Router, s: &mut Session, sql: &str) -> Target {
        r.route(sql, s).target
    }

    #[test]
    fn writes_locking_reads_and_volatile_calls_go_to_the_primary() {
        let mut r = router();
        let mut s = Session::default();
        assert_eq!(
            t(&mut r, &mut s, "SELECT * FROM orders WHERE id = 1"),
            Target::Replica
        );
        for sql in [
            "UPDATE orders SET status = 'x' WHERE id = 1",
            "SELECT * FROM orders WHERE id = 1 FOR UPDATE",
            "WITH d AS (DELETE FROM carts WHERE id = 1 RETURNING *) SELECT * FROM d",
            "SELECT nextval('orders_id_seq')",
            "SELECT my_volatile_function(1)",
        ] {
            let mut s = Session::default();
            let d = r.route(sql, &mut s);
            assert_eq!(d.target, Target::Primary, "{sql}: {}", d.reason);
            assert!(!d.reason.is_empty());
        }
    }

    #[test]
    fn transactions_are_pinned_unless_read_only() {
        let mut r = router();
        let mut s = Session::default();
        assert_eq!(t(&mut r, &mut s, "BEGIN"), Target::Primary);
        assert_eq!(t(&mut r, &mut s, "SELECT 1 FROM orders"), Target::Primary);
        assert_eq!(t(&mut r, &mut s, "COMMIT"), Target::Primary);
        s.wrote_at(0);
        assert_eq!(t(&mut r, &mut s, "BEGIN READ ONLY"), Target::Replica);
        assert_eq!(t(&mut r, &mut s, "SELECT 1 FROM orders"), Target::Replica);
        assert_eq!(t(&mut r, &mut s, "ROLLBACK"), Target::Replica);
        assert_eq!(s.transaction, None);
    }

    #[test]
    fn read_your_writes_waits_for_the_replica() {
        let mut r = router();
        let mut s = Session::default();
        r.set_replayed(Some(100));
        assert_eq!(
            t(&mut r, &mut s, "INSERT INTO carts VALUES (1)"),
            Target::Primary
        );
        assert_eq!(
            t(&mut r, &mut s, "SELECT * FROM carts"),
            Target::Primary,
            "LSN unknown"
        );
        s.wrote_at(150);
        let d = r.route("SELECT * FROM carts", &mut s);
        assert_eq!(d.target, Target::Primary);
        assert!(d.reason.contains("read-your-writes"));
        r.set_replayed(Some(150));
        assert_eq!(t(&mut r, &mut s, "SELECT * FROM carts"), Target::Replica);
        r.set_replayed(None);
        assert_eq!(t(&mut r, &mut s, "SELECT * FROM carts"), Target::Primary);
    }

    #[test]
    fn cached_fingerprints_route_without_the_text() {
        let mut r = router();
        let mut s = Session::default();
        let id = fingerprint("SELECT * FROM orders WHERE id = 1").id;
        assert!(r.route_fingerprint(id, &mut s).is_none());
        r.route("SELECT * FROM orders WHERE id = 7", &mut s);
        assert_eq!(
            r.route_fingerprint(id, &mut s).unwrap().target,
            Target::Replica
        );
    }
}
