//! `dbkit scratch start`: a throw-away cluster started and loaded, described, then watched
//! until the process is interrupted (the interrupt cleanup stops and deletes it) or the server
//! dies.

use crate::db::scratch::{ScratchCluster, ScratchError, ScratchInfo};
use crate::db::ScratchLoad;
use std::time::Duration;

/// A started scratch cluster: stopped and deleted when dropped.
#[derive(Debug)]
pub struct Started {
    cluster: ScratchCluster,
}

impl Started {
    /// How to reach it (URL, port, directory).
    pub fn info(&self) -> ScratchInfo {
        ScratchInfo::of(&self.cluster)
    }

    /// Watch the server until it stops on its own (an error with the end of its log); a
    /// process interrupt ends the wait through the interrupt cleanup instead.
    pub async fn watch(mut self) -> Result<(), crate::Error> {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.cluster.check_alive()?;
        }
    }
}

/// Start a scratch cluster and run its schema and seed scripts.
pub async fn start(load: &ScratchLoad) -> Result<Started, crate::Error> {
    let target = crate::db::open_target(None, Some(load)).await?;
    let cluster = target.scratch.ok_or_else(|| ScratchError::Step {
        step: "starting".to_string(),
        message: "no cluster was started".to_string(),
    })?;
    Ok(Started { cluster })
}
