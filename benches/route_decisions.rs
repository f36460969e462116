//! Routing decisions per second on one core: a session sending a mix of 1,000 statement shapes
//! (reads, writes, transactions) whose fingerprints the router has cached, and the same with
//! the statement text (fingerprinting each one).
//!
//! Run: `cargo bench --bench route_decisions` (target: at least 1,000,000 cached decisions/s).

use dbkit::routing::{Router, RoutingMap, Session, Target};
use dbkit::sql::fingerprint;
use std::time::Instant;

fn main() {
    let map = RoutingMap::parse(
        "cluster = \"bench\"\n[primary]\nname = \"p\"\n[[replicas]]\nname = \"r\"\n",
        "bench",
    )
    .expect("map");
    let mut router = Router::new(&map);
    let mut texts = Vec::new();
    for i in 0..1000 {
        texts.push(match i % 10 {
            0 => format!("UPDATE t{i} SET a = 1 WHERE id = 5"),
            1 => "BEGIN".to_string(),
            2 => "COMMIT".to_string(),
            3 => format!("SELECT * FROM t{i} WHERE id = 5 FOR UPDATE"),
            _ => format!("SELECT a, b, c FROM t{i} JOIN u ON u.id = t{i}.u_id WHERE t{i}.id = 42 ORDER BY a LIMIT 10"),
        });
    }
    let mut session = Session::default();
    let ids: Vec<u64> = texts
        .iter()
        .map(|t| {
            router.route(t, &mut session);
            fingerprint(t).id
        })
        .collect();
    let n = 20_000_000usize;
    let mut replica = 0usize;
    let t = Instant::now();
    for i in 0..n {
        let d = router
            .route_fingerprint(ids[i % ids.len()], &mut session)
            .expect("cached");
        if d.target == Target::Replica {
            replica += 1;
        }
        if session.write_pending {
            session.wrote_at(i as u64);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "cached fingerprint: {n} decisions in {:.2} s = {:.0} decisions/s ({:.0} ns each; {replica} to replicas). Target: 1,000,000/s",
        secs,
        n as f64 / secs,
        secs * 1e9 / n as f64
    );
    let n = 1_000_000usize;
    let t = Instant::now();
    for i in 0..n {
        router.route(&texts[i % texts.len()], &mut session);
        if session.write_pending {
            session.wrote_at(i as u64);
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "statement text (fingerprint + cache): {n} decisions in {:.2} s = {:.0} decisions/s",
        secs,
        n as f64 / secs
    );
}
