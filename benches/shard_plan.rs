//! Rebalance planning: 100,000 shards over 1,000 nodes (random skewed maps), timed, with the
//! bytes moved beside the lower bound and beside a greedy most-loaded-to-least-loaded planner.
//!
//! Run: `cargo bench --bench shard_plan` (targets: under 1 s; within 5% of the lower bound).

use dbkit::shard::plan::{plan, random_map, PlanOptions};
use std::time::Instant;

fn main() {
    let opts = PlanOptions {
        threshold: 0.1,
        ..Default::default()
    };
    println!("map   shards  nodes  time      moves  moved GB  bound GB  over bound  greedy GB  greedy moves  balanced");
    for seed in 1..=5u64 {
        let map = random_map(seed, 1_000, 100_000).expect("a valid random map");
        let t = Instant::now();
        let p = plan(&map, &opts);
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{seed:<5} {:>6}  {:>5}  {:>6.0} ms  {:>5}  {:>8.1}  {:>8.1}  {:>9.2}%  {:>9.1}  {:>12}  {}",
            map.shards.len(),
            map.nodes.len(),
            secs * 1000.0,
            p.moves.len(),
            p.moved / 1e9,
            p.lower_bound / 1e9,
            (p.moved / p.lower_bound - 1.0) * 100.0,
            p.greedy_moved / 1e9,
            p.greedy_moves,
            p.balanced
        );
    }
}
