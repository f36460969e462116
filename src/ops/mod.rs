//! Orchestration: L2 logic combined with L3 I/O, one module per command group, each with a
//! request type and a function that returns the command's typed report (explain a workload,
//! check migrations, advise and check indexes, create/convert/maintain partitions, export
//! routing). Progress goes through a callback, never stdout.
//!
//! What `dbkit shard plan --map fixtures/shardmaps/shop.toml --add shard-d` prints, from Rust:
//!
//! ```
//! use dbkit::ops::shard::{plan, PlanRequest};
//! use dbkit::shard::plan::Strategy;
//!
//! let report = plan(&PlanRequest {
//!     map: "fixtures/shardmaps/shop.toml".into(),
//!     strategy: Strategy::BySize,
//!     threshold: 0.1,
//!     drain: vec![],
//!     add: vec![dbkit::ops::shard::parse_added_node("shard-d")?],
//!     no_split: false,
//!     write_map: None,
//! })?;
//! assert!(report.plan.moves.iter().any(|m| m.to == "shard-d"));
//! assert_eq!(report.new_version, report.version + 1);
//! # Ok::<(), dbkit::Error>(())
//! ```

pub mod check;
pub mod explain;
pub mod index;
pub mod partition;
pub mod plan;
pub mod route;
pub mod scratch;
pub mod shard;
pub mod shard_move;
pub mod shard_rebalance;
pub mod sql;
pub mod workload;

/// `dbkit ping`: connect to the target (starting a scratch cluster if asked) and describe the
/// server.
pub async fn ping(req: &crate::db::TargetRequest) -> Result<crate::db::ServerInfo, crate::Error> {
    let t0 = std::time::Instant::now();
    let target = req.open().await?;
    let started = target
        .scratch
        .as_ref()
        .map(|_| t0.elapsed().as_secs_f64() * 1000.0);
    let info = crate::db::ping(&target.spec).await;
    drop(target);
    Ok(crate::db::ServerInfo {
        scratch_start_ms: started,
        ..info?
    })
}

/// The text of an input file (`-` is stdin): valid UTF-8 required (the error names the position
/// of the first bad byte), a leading byte-order mark dropped.
pub fn read_text(path: &str) -> Result<String, crate::Error> {
    use std::io::Read;
    let io = |source| crate::Error::Io {
        path: path.to_string(),
        source,
    };
    let bytes = if path == "-" {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b).map_err(io)?;
        b
    } else {
        std::fs::read(path).map_err(io)?
    };
    tracing::info!(path, bytes = bytes.len(), "read");
    crate::sql::span::check_utf8(&bytes)
        .map(str::to_string)
        .map_err(|e| crate::Error::Input {
            path: if path == "-" { "stdin" } else { path }.to_string(),
            message: e.to_string(),
        })
}
