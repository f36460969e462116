//! The crate-level error: every module's error converts into it, so library users can handle
//! one type. Messages carry the values involved and never a password.

/// Any dbkit error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// SQL input problems.
    #[error(transparent)]
    Sql(#[from] crate::sql::SqlError),
    /// Database connection and query problems.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// Scratch cluster problems.
    #[error(transparent)]
    Scratch(#[from] crate::db::scratch::ScratchError),
    /// Plan reading problems.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// Configuration problems.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Log reading problems.
    #[error(transparent)]
    Workload(#[from] crate::workload::WorkloadError),
    /// Partition DDL problems.
    #[error(transparent)]
    Partition(#[from] crate::ddl::partition::PartitionError),
    /// Table definition problems.
    #[error(transparent)]
    Table(#[from] crate::ddl::table::TableError),
    /// Shard and routing map problems.
    #[error(transparent)]
    Map(#[from] crate::mapfile::MapError),
    /// Rendering problems.
    #[error(transparent)]
    Render(#[from] crate::report::RenderError),
    /// A playbook that cannot be used (every problem with its line).
    #[error(transparent)]
    Playbook(#[from] crate::playbook::LoadError),
    /// A step of dbkit's own failed (a worker that panicked, a result that could not be
    /// collected): the run stops instead of reporting partial results.
    #[error("internal error: {0}")]
    Internal(String),
    /// A file that was read but holds something dbkit cannot use.
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}
