//! Index advice quality on fixtures/shop: the workload's weighted planner cost before, with
//! dbkit's recommended set, and with the naive set (one single-column index on every filtered
//! column), all measured with hypothetical indexes on a scratch cluster.
//!
//! Run: `cargo bench --bench index_advice` (needs the PostgreSQL server and HypoPG).

use std::time::Instant;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shop");
    rt.block_on(async {
        let load = dbkit::db::ScratchLoad { schema: Some(root.join("schema.sql")), seed: Some(root.join("seed.sql")), port: None, settings: Vec::new() };
        let t = Instant::now();
        let target = dbkit::db::open_target(None, Some(&load)).await.expect("scratch cluster with fixtures/shop");
        println!("fixture: fixtures/shop loaded on a scratch cluster in {:.1} s", t.elapsed().as_secs_f64());
        let sql = std::fs::read_to_string(root.join("workload.sql")).expect("workload");
        let workload = dbkit::advise::WorkloadQuery::from_sql(&sql);
        let t = Instant::now();
        let report = dbkit::ops::index::advise(&target.spec, workload.clone(), &Default::default()).await.expect("advise");
        let advise_s = t.elapsed().as_secs_f64();
        assert!(report.hypopg, "HypoPG is needed for this benchmark (apt-get install postgresql-15-hypopg)");
        let (naive_n, naive_cost) = dbkit::ops::index::naive_cost(&target.spec, &workload).await.expect("naive set");
        let saving = |after: f64| (1.0 - after / report.cost_before) * 100.0;
        println!("workload: {} queries, weighted by their repeats", workload.len());
        println!("{:<28} {:>8} {:>14} {:>8}", "index set", "indexes", "weighted cost", "saving");
        println!("{:<28} {:>8} {:>14.0} {:>7.0}%", "none (before)", 0, report.cost_before, 0.0);
        println!("{:<28} {:>8} {:>14.0} {:>7.1}%", "dbkit index advise", report.recommendations.len(), report.cost_after, saving(report.cost_after));
        println!("{:<28} {:>8} {:>14.0} {:>7.1}%", "naive (every filtered col)", naive_n, naive_cost, saving(naive_cost));
        println!(
            "advise took {advise_s:.1} s (target: under 10 s); dbkit saves {} the naive set with {} indexes",
            if report.cost_after <= naive_cost { "at least as much as" } else { "LESS than" },
            if report.recommendations.len() < naive_n { "fewer" } else { "NOT fewer" }
        );
        drop(target);
    });
}
