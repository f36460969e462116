//! The registry's table: every rule dbkit has, with its family, default severity, thresholds,
//! one-line description and longer explanation (`dbkit rules explain ID`). A rule's logic lives in
//! its own file (under `analyze`, `shard`, `routing`, `ops`…); what users read about it lives here,
//! so every finding of every command comes from a rule listed in one place.

use super::{Family, RuleInfo, Threshold};
use crate::finding::Severity;

const fn th(
    section: &'static str,
    key: &'static str,
    unit: &'static str,
    meaning: &'static str,
) -> Threshold {
    Threshold {
        section,
        key,
        unit,
        meaning,
    }
}

super::registry! {
    SqlLexError = "sql-lex-error", Sql, Error, [],
        "a quote, dollar quote or comment is never closed; the statement runs to the end of the file",
        "The splitter reached the end of the input inside a string, a quoted identifier, a dollar-quoted body or a /* comment. psql would read every following statement as part of that one, so nothing after it runs as written.\n\nInstead: close the quote or comment at the position given; for function bodies use matching dollar-quote tags ($fn$ … $fn$).";
    SqlParseError = "sql-parse-error", Sql, Warning, [],
        "a statement the PostgreSQL-dialect parser cannot parse (still fingerprinted and classified from tokens)",
        "The SQL parser does not understand this statement (PostgreSQL syntax it lacks, or a real syntax error). dbkit still fingerprints and classifies it from its tokens, but rules that need the statement's structure (index advice, plan suggestions) skip it.\n\nInstead: if the statement is valid PostgreSQL, nothing to do; otherwise fix the syntax at the position given.";
    SideEffect = "side-effect", Safety, Warning, [],
        "a statement calls something a rollback does not undo (setval, dblink, slots, statistics resets, COPY … PROGRAM): planned only, or not run, unless --allow-side-effects",
        "EXPLAIN ANALYZE and a checked migration run inside a transaction that dbkit rolls back, but some effects survive a rollback: setval, dblink calls on other connections, replication slots, pg_stat_reset*, pg_terminate_backend / pg_cancel_backend, pg_reload_conf, pg_switch_wal, large-object file I/O (lo_import/lo_export) and COPY … PROGRAM act at once. nextval is allowed: it advances its sequence, which is harmless for almost every application. dbkit plans such a statement without running it (EXPLAIN without ANALYZE) or skips it.\n\nInstead: run it against a scratch copy (--scratch), or pass --allow-side-effects when the effect is acceptable on that server.";
    UnknownFunction = "unknown-function", Safety, Warning, [],
        "EXPLAIN ANALYZE or a checked migration ran functions whose effects dbkit cannot read (C, other languages, dynamic SQL)",
        "dbkit reads SQL-language function bodies to find calls whose effects survive a rollback, but it cannot see into C functions, PL/pgSQL dynamic SQL (EXECUTE) or other languages. The statement ran inside the rolled-back transaction; anything those functions did outside the transaction (a dblink call, a file written, a notification to another system) was not prevented.\n\nInstead: review what the named functions do, or explain the statement on a scratch copy.";
    StatementNotRun = "statement-not-run", Safety, Info, [],
        "a migration statement the check's transaction cannot run (CONCURRENTLY, VACUUM, two-phase commit): its locks and rewrites are not observed",
        "dbkit check applies a migration inside one transaction so it can roll it back. Statements that PostgreSQL refuses inside a transaction block (CREATE/DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY, VACUUM, ALTER SYSTEM, PREPARE TRANSACTION…) are checked by the static rules only; their locks and rewrites are not observed.\n\nInstead: nothing to change; know that the observed results do not cover these statements.";
    StatementFailed = "statement-failed", Plan, Error, [],
        "a statement dbkit was asked to explain or plan failed on the server (syntax error, statement timeout, wrong parameters); the server's message is given",
        "dbkit explain ran EXPLAIN on the statement (or dbkit index advise planned a query of its workload) and the server refused it or stopped it: a syntax or name error, the statement timeout (--timeout), a wrong number or type of --param values, a permission error. Nothing about its plan is known, so the run is not clean: dbkit explain exits 2, and the finding is an error. The other statements are explained or advised without it (each runs under its own savepoint).\n\nInstead: fix the statement (the server's message says what), give it the --param values it needs, or raise --timeout when the statement is slow by nature.";
    EstimatesOnly = "estimates-only", Plan, Info, [],
        "the plan has no ANALYZE data, so time and row-accuracy rules were skipped",
        "The plan came from EXPLAIN without ANALYZE (or a generic plan), so it has estimates but no actual rows or times. Rules that compare estimates with reality (row-misestimate, sort-spill, hash-batches, nested-loop-many-loops…) cannot run.\n\nInstead: EXPLAIN (ANALYZE, BUFFERS) the statement, e.g. `dbkit explain --url … 'SELECT …'`, which runs it in a rolled-back transaction.";
    SeqScanFilter = "seq-scan-filter", Plan, Warning, [th("plan", "seq_scan_min_rows", "rows", "rows read (returned + removed, all loops)"), th("plan", "seq_scan_min_removed", "share", "share of rows read that the filter removes")],
        "a sequential scan reads many rows and its filter removes most of them: an index on the filtered columns would read only the rows kept",
        "A Seq Scan reads every row of the table and throws away those the Filter rejects. When it reads many rows and keeps few, most of the work is wasted, and it grows with the table.\n\nInstead: an index on the filtered columns (equality columns first, then one range column), built with CREATE INDEX CONCURRENTLY so writes continue. `dbkit index advise` verifies such an index with the planner before you build it.";
    RowMisestimate = "row-misestimate", Plan, Warning, [th("plan", "misestimate_warning", "factor", "factor for a warning"), th("plan", "misestimate_error", "factor", "factor for an error"), th("plan", "misestimate_min_rows", "rows", "ignore nodes where estimate and actual are both below this (rows per loop)")],
        "actual rows differ from the estimate by a large factor (per loop); error past the error factor",
        "The planner chose join methods, join order and memory from its row estimate. When the actual rows per loop differ from the estimate by a large factor, those choices may be wrong: a nested loop over many more rows than expected, a hash that spills, an index not used.\n\nInstead: ANALYZE the table (statistics may be stale); raise the column's statistics target (ALTER TABLE … ALTER COLUMN … SET STATISTICS 1000); for correlated columns CREATE STATISTICS (dependencies, ndistinct, mcv); rewrite predicates the planner cannot estimate (functions on columns, OR over columns).";
    SortSpill = "sort-spill", Plan, Warning, [th("plan", "work_mem_max_mb", "MB", "largest work_mem proposed; past it the advice is to shrink the operation")],
        "a sort spilled to disk (external merge); the suggestion gives a work_mem that fits it",
        "The sort did not fit in work_mem, so PostgreSQL wrote runs to temporary files and merged them (Sort Method: external merge). Disk sorts are many times slower than in-memory ones.\n\nInstead: raise work_mem for this query only (SET LOCAL work_mem inside its transaction) to the size given, or serve the order from an index on the sort key so no sort is needed. Avoid raising work_mem globally: every sort and hash of every connection may use that much.";
    HashBatches = "hash-batches", Plan, Warning, [th("plan", "work_mem_max_mb", "MB", "largest work_mem proposed; past it the advice is to shrink the operation")],
        "a Hash needed more than one batch (it spilled to temp files), or more batches than planned",
        "A hash join builds a hash table of its inner side in work_mem × hash_mem_multiplier. When it does not fit, it splits both sides into batches on disk. More batches than planned means the estimate of the inner side was too low.\n\nInstead: raise work_mem (or hash_mem_multiplier) for this query, fix the row estimate of the inner side (ANALYZE, extended statistics), or reduce the inner side's width (select fewer columns).";
    HashaggSpill = "hashagg-spill", Plan, Warning, [th("plan", "work_mem_max_mb", "MB", "largest work_mem proposed; past it the advice is to shrink the operation")],
        "a HashAggregate spilled to disk (more than one batch), or the planner planned it to (Planned Partitions)",
        "Since PostgreSQL 13 a HashAggregate whose groups do not fit in work_mem × hash_mem_multiplier writes partitions to temporary files and aggregates them batch by batch (Batches > 1, Disk Usage). Without ANALYZE, Planned Partitions says the planner expects that.\n\nInstead: raise work_mem (or hash_mem_multiplier) for this query only, to the size given; when that size is past a sane work_mem, aggregate fewer rows (filter earlier, pre-aggregate) or let a sorted aggregate over an index on the group key do it.";
    SubplanPerRow = "subplan-per-row", Plan, Warning, [th("plan", "nested_loop_min_loops", "loops", "runs of the SubPlan"), th("plan", "nested_loop_min_share", "share", "share of total time in the SubPlan"), th("plan", "nested_loop_min_ms", "ms", "time of the SubPlan in all")],
        "a correlated subquery (SubPlan) ran once per outer row and took a large share of the time",
        "A correlated subquery in the select list or WHERE clause (`(SELECT … WHERE s.id = o.customer_id)`) is a SubPlan that runs once for every row of the query around it: the N+1 pattern inside one statement. The planner cannot turn it into a join by itself.\n\nInstead: rewrite it as a JOIN (LEFT JOIN for a scalar subquery that may find nothing), or LEFT JOIN LATERAL (… LIMIT 1) when it picks one row per outer row, so it runs once as a set; at least, index the subquery's correlated column so each run is a cheap lookup.";
    NestedLoopManyLoops = "nested-loop-many-loops", Plan, Warning, [th("plan", "nested_loop_min_loops", "loops", "loops of the inner side"), th("plan", "nested_loop_min_share", "share", "share of total time in the inner side"), th("plan", "nested_loop_min_ms", "ms", "time of the inner side in all")],
        "the inner side of a nested loop ran many times and took a large share of the time (N+1 inside a plan)",
        "A Nested Loop runs its inner side once per outer row. With many outer rows, even a cheap inner index lookup adds up, and it is often a sign that the planner expected far fewer outer rows.\n\nInstead: check the outer side's row estimate (row-misestimate); give the join a better index, or let the planner choose a hash or merge join by fixing the estimate (ANALYZE, CREATE STATISTICS).";
    IndexFilterInefficient = "index-filter-inefficient", Plan, Warning, [th("plan", "index_filter_min_removed_rows", "rows", "rows removed by the filter (all loops)"), th("plan", "index_filter_min_removed", "share", "share of fetched rows removed")],
        "an index scan fetches many rows and its filter removes most of them: the index does not cover the filter",
        "The Index Cond narrows the scan, but a Filter on other columns then removes most of the rows fetched: each of those rows cost a heap visit for nothing.\n\nInstead: an index whose keys include the filtered columns (equality columns first), or a partial index when the filter is a constant condition (WHERE status = 'active').";
    HeapFetches = "heap-fetches", Plan, Warning, [th("plan", "heap_fetches_min", "fetches", "heap fetches (all loops)")],
        "an index-only scan fetched many rows from the heap: the visibility map is stale (VACUUM)",
        "An Index Only Scan avoids the heap only for pages the visibility map marks all-visible. Heap Fetches counts the rows it had to check in the table anyway, which makes it as slow as a plain index scan.\n\nInstead: VACUUM the table (and tune autovacuum for it: a lower autovacuum_vacuum_scale_factor, or autovacuum_vacuum_insert_scale_factor for insert-mostly tables).";
    LossyBitmap = "lossy-bitmap", Plan, Warning, [],
        "a bitmap heap scan went lossy (whole pages rechecked) because its bitmap exceeded work_mem",
        "When a bitmap of matching rows does not fit in work_mem, PostgreSQL keeps only page numbers (Heap Blocks: lossy) and rechecks every row of those pages.\n\nInstead: raise work_mem for the query, or make the index more selective so the bitmap is smaller.";
    LargeOffset = "large-offset", Plan, Warning, [th("plan", "large_offset_min_rows", "rows", "rows discarded by the Limit (per loop)")],
        "a LIMIT … OFFSET reads and discards many rows; keyset pagination reads only the page",
        "OFFSET n makes the executor produce and throw away n rows before the page. Deep pages get slower linearly and every page re-reads the ones before it.\n\nInstead: keyset pagination: remember the last row's sort key and ask WHERE (created_at, id) < ($1, $2) ORDER BY created_at DESC, id DESC LIMIT 50, served by an index on the sort key.";
    WorkersNotLaunched = "workers-not-launched", Plan, Warning, [],
        "fewer parallel workers were launched than planned (the worker pool was exhausted)",
        "The plan expected parallel workers, but the server had none free (max_parallel_workers or max_worker_processes reached), so the leader did the work alone or with fewer helpers, slower than planned.\n\nInstead: raise max_parallel_workers / max_worker_processes if the machine has cores to spare, or lower max_parallel_workers_per_gather so plans expect what the server can give.";
    JitOverhead = "jit-overhead", Plan, Warning, [th("plan", "jit_min_share", "share", "share of execution time spent in JIT")],
        "JIT compilation took a large share of the execution time (typical of short queries with high cost estimates)",
        "JIT compiles expressions when the plan's cost passes jit_above_cost. For queries that then run quickly (often because the cost was overestimated), compiling takes longer than it saves.\n\nInstead: raise jit_above_cost / jit_inline_above_cost / jit_optimize_above_cost, or SET jit = off for the session or the role that runs these queries.";
    TempIo = "temp-io", Plan, Warning, [th("plan", "temp_io_min_mb", "MB", "temp written by the whole plan, MB")],
        "large temp file writes anywhere in the plan; names the node that wrote the most",
        "The plan wrote temporary files (sorts, hashes, materialize, CTEs that did not fit in memory). Temp I/O competes with everything else on the disk.\n\nInstead: look at the node named: raise work_mem for the query, or avoid the sort or hash with an index.";
    TriggerTime = "trigger-time", Plan, Warning, [th("plan", "trigger_min_share", "share", "share of the execution time in one trigger"), th("plan", "trigger_min_ms", "ms", "time of one trigger in all")],
        "a trigger took a large share of the statement's time; for a foreign-key trigger, usually a referencing column without an index",
        "EXPLAIN ANALYZE lists the time spent in each trigger after the plan. Foreign-key triggers are the usual culprit: deleting or updating a referenced row (or its key) makes PostgreSQL look for rows that reference it, and without an index on the referencing columns each call is a sequential scan of the referencing table. Other triggers (audit, denormalisation) run their own statements for every row.\n\nInstead: for a foreign-key trigger, CREATE INDEX CONCURRENTLY on the referencing columns of the constraint named (`dbkit index check` reports it as fk-missing-index with the exact DDL); for other triggers, look at what they run per row, or make them statement-level with transition tables.";
    PlanRegression = "plan-regression", PlanDiff, Error, [th("plan", "diff_cost_ratio", "ratio", "after/before total cost that counts as a regression"), th("plan", "diff_time_ratio", "ratio", "after/before execution time that counts as a regression")],
        "a plan got worse: an index scan became a sequential scan, an index is no longer used, or cost/time grew past the ratio",
        "The same query planned before and after a change (a migration, a new index, new statistics) now scans a table sequentially where it used an index, no longer uses an index, changed join method at a higher cost, or costs more than the ratio allows.\n\nInstead: keep the index the query relied on, or add one that serves it; rerun `dbkit check --workload` until the regression is gone. The thresholds are diff_cost_ratio and diff_time_ratio under [rules.plan] (`check --max-cost-increase PERCENT` overrides the cost ratio).";
    InvalidIndex = "invalid-index", Index, Error, [],
        "an invalid index (a failed concurrent build): written on every change, never read",
        "A CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY that failed leaves an index marked invalid. PostgreSQL keeps updating it on every write but never uses it for reads: all cost, no benefit.\n\nInstead: DROP INDEX CONCURRENTLY the invalid index, then build it again (CREATE INDEX CONCURRENTLY), or REINDEX INDEX CONCURRENTLY it.";
    DuplicateIndex = "duplicate-index", Index, Warning, [],
        "two indexes with the same definition on one table: drop the one that backs no constraint",
        "Two indexes with the same columns, method, predicate and options serve exactly the same queries; every write updates both.\n\nInstead: DROP INDEX CONCURRENTLY the one that backs no constraint.";
    RedundantIndex = "redundant-index", Index, Warning, [],
        "a btree index that is a leading prefix of another btree with the same predicate: the longer one serves its queries",
        "A btree on (a) can be served by a btree on (a, b): the longer index answers every query the shorter one does, at a slightly larger size. Keeping both costs writes and memory.\n\nInstead: DROP INDEX CONCURRENTLY the shorter one, after checking it is not unique (unique indexes enforce something the longer one does not) and that index-only scans still fit.";
    UnusedIndex = "unused-index", Index, Warning, [th("index", "unused_min_days", "days", "days of statistics needed for a warning (less: info)")],
        "an index with no scans since the statistics reset that backs no unique, primary key or other constraint",
        "pg_stat_user_indexes counts every scan of an index. One with no scans since the statistics were reset costs every write and vacuum and takes cache, for nothing. The finding is info only while the statistics are younger than unused_min_days.\n\nInstead: check replicas too (their scans are counted there), then DROP INDEX CONCURRENTLY it.";
    FkMissingIndex = "fk-missing-index", Index, Warning, [],
        "a foreign key whose referencing columns are not the leading columns of any index",
        "Deleting or updating a referenced row makes PostgreSQL look for referencing rows. Without an index on the referencing columns that is a sequential scan of the referencing table per row, under lock; joins along the key suffer too.\n\nInstead: CREATE INDEX CONCURRENTLY on the referencing columns, in the foreign key's order.";
    MissingIndex = "missing-index", Index, Warning, [],
        "dbkit index advise: an index that cuts the workload's weighted planner cost, verified with a hypothetical index",
        "dbkit index advise planned the workload with this index as a HypoPG hypothetical index and the planner used it at a lower cost for the queries listed. The saving is weighted by how often each query runs.\n\nInstead: build it with the CREATE INDEX CONCURRENTLY given (or `dbkit index advise --apply`, which builds verified indexes one at a time with a lock_timeout and cleans up a failed build).";
    IndexNotConcurrent = "index-not-concurrent", Migration, Error, [],
        "CREATE INDEX without CONCURRENTLY on an existing table blocks writes (SHARE lock) for the whole build",
        "CREATE INDEX takes a SHARE lock: reads continue but every INSERT, UPDATE and DELETE on the table waits until the index is built, which on a large table can take minutes.\n\nInstead: CREATE INDEX CONCURRENTLY, outside a transaction block (mark the migration -- dbkit:no-transaction, or your runner's equivalent). It takes longer and, if it fails, leaves an invalid index to drop.";
    DropIndexNotConcurrent = "drop-index-not-concurrent", Migration, Warning, [],
        "DROP INDEX without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on the table",
        "DROP INDEX takes ACCESS EXCLUSIVE on the index's table: it waits for every running query on the table and blocks all new ones, reads included, while it waits.\n\nInstead: DROP INDEX CONCURRENTLY, outside a transaction block.";
    ConcurrentInTransaction = "concurrent-in-transaction", Migration, Error, [],
        "a statement PostgreSQL refuses inside a transaction block (CONCURRENTLY, VACUUM, CREATE DATABASE, ALTER SYSTEM) in a file that runs in one: the migration fails",
        "CREATE INDEX CONCURRENTLY, DROP INDEX CONCURRENTLY, REINDEX CONCURRENTLY and DETACH PARTITION CONCURRENTLY refuse to run inside a transaction block (ERROR 25001). Most migration runners wrap each file in a transaction.\n\nInstead: put the statement in its own migration marked to run outside a transaction (-- dbkit:no-transaction here; disable_ddl_transaction! in Rails, atomic = False in Django, -- +goose NO TRANSACTION, and so on).";
    AddColumnVolatileDefault = "add-column-volatile-default", Migration, Error, [],
        "ADD COLUMN with a volatile default (or any default before PostgreSQL 11) rewrites the table under ACCESS EXCLUSIVE",
        "Since PostgreSQL 11 ADD COLUMN … DEFAULT <constant> only records the default. A volatile default (random(), clock_timestamp(), gen_random_uuid()) must be computed per row, so the whole table is rewritten under ACCESS EXCLUSIVE; before 11 every default did that.\n\nInstead: add the column without a default, set the default for new rows (ALTER COLUMN … SET DEFAULT), and backfill existing rows in batches.";
    AddColumnNotNullNoDefault = "add-column-not-null-no-default", Migration, Error, [],
        "ADD COLUMN … NOT NULL without a default fails on a table that has rows",
        "Existing rows would get NULL in a NOT NULL column, so PostgreSQL refuses the statement when the table has rows: the migration works on an empty development database and fails in production.\n\nInstead: give a constant default (cheap since PostgreSQL 11), or add the column nullable, backfill, then add the constraint as described in set-not-null.";
    AlterColumnTypeRewrite = "alter-column-type-rewrite", Migration, Error, [],
        "ALTER COLUMN … TYPE rewrites the table and its indexes under ACCESS EXCLUSIVE, except for the casts that do not (varchar(n) to a longer varchar or to text, numeric(p,s) to a larger p with the same s, varbit likewise, timestamp to timestamptz with UTC)",
        "Changing a column's type usually rewrites every row and rebuilds every index that contains the column, with the table locked against reads and writes the whole time.\n\nInstead: add a new column of the new type, backfill it in batches, switch the application, then drop the old column; or use one of the binary-compatible changes listed.";
    FkNotValid = "fk-not-valid", Migration, Error, [],
        "ADD FOREIGN KEY without NOT VALID locks both tables (SHARE ROW EXCLUSIVE) while it scans every row",
        "Adding a foreign key checks every existing row while holding SHARE ROW EXCLUSIVE on both the referencing and the referenced table, blocking their writes for the whole scan.\n\nInstead: ADD CONSTRAINT … FOREIGN KEY … NOT VALID (instant), then in a later transaction VALIDATE CONSTRAINT, which takes only SHARE UPDATE EXCLUSIVE and lets writes continue.";
    CheckNotValid = "check-not-valid", Migration, Error, [],
        "ADD CHECK without NOT VALID holds ACCESS EXCLUSIVE while it scans every row",
        "Adding a CHECK constraint scans the whole table to verify existing rows while holding ACCESS EXCLUSIVE: nothing can read or write the table.\n\nInstead: ADD CONSTRAINT … CHECK (…) NOT VALID, then VALIDATE CONSTRAINT in a later transaction (SHARE UPDATE EXCLUSIVE).";
    SetNotNull = "set-not-null", Migration, Error, [],
        "SET NOT NULL scans the table under ACCESS EXCLUSIVE, unless a validated CHECK (col IS NOT NULL) proves it first",
        "ALTER COLUMN … SET NOT NULL verifies every row under ACCESS EXCLUSIVE. Since PostgreSQL 12 it skips the scan when a validated CHECK (col IS NOT NULL) constraint already proves it.\n\nInstead: ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c; then SET NOT NULL (instant) and DROP CONSTRAINT c.";
    UniqueConstraintLock = "unique-constraint-lock", Migration, Error, [],
        "ADD UNIQUE / PRIMARY KEY without USING INDEX, an EXCLUDE constraint, or a column added with UNIQUE / PRIMARY KEY builds the index under ACCESS EXCLUSIVE",
        "ADD CONSTRAINT … UNIQUE or PRIMARY KEY builds its index while holding ACCESS EXCLUSIVE on the table.\n\nInstead: CREATE UNIQUE INDEX CONCURRENTLY first, then ADD CONSTRAINT … UNIQUE USING INDEX (or PRIMARY KEY USING INDEX), which only takes a brief lock.";
    DropColumn = "drop-column", Migration, Warning, [],
        "DROP COLUMN breaks every deployed query that still reads the column",
        "The column disappears at once for every running version of the application; queries that name it, and SELECT * with column-position mapping, fail.\n\nInstead: stop using the column in a release first (ignore it in your ORM), then drop it in a later migration.";
    DropTable = "drop-table", Migration, Warning, [],
        "DROP TABLE loses data and breaks code that still uses the table",
        "DROP TABLE deletes the data for good and breaks any running code that still uses the table.\n\nInstead: stop using the table in a release first; consider renaming it and dropping it later, after a backup.";
    RenameColumn = "rename-column", Migration, Warning, [],
        "RENAME COLUMN breaks deployed code that uses the old name",
        "During a rolling deploy the old application version still uses the old name and fails as soon as the rename commits.\n\nInstead: add the new column, write to both, backfill, switch reads, then drop the old one; or use a view for the transition.";
    RenameTable = "rename-table", Migration, Warning, [],
        "RENAME TO breaks deployed code that uses the old table name",
        "Running code that uses the old table name fails as soon as the rename commits.\n\nInstead: rename, then create a view with the old name (simple views are updatable) until every deployed version uses the new name.";
    MissingLockTimeout = "missing-lock-timeout", Migration, Warning, [],
        "a statement that takes ACCESS EXCLUSIVE or SHARE on an existing table with no lock_timeout set before it: it queues behind long transactions and blocks everyone behind it",
        "A statement waiting for a strong lock sits in the lock queue, and every later query on that table queues behind it, even plain SELECTs. One long-running transaction can so turn a quick ALTER into an outage.\n\nInstead: SET lock_timeout = '2s' (or SET LOCAL in the transaction) before the statement, and retry the migration when it times out.";
    WorkAfterAccessExclusive = "work-after-access-exclusive", Migration, Warning, [],
        "more statements in the same transaction after one that took a lock blocking writes (SHARE or stronger) on an existing table: the lock is held until COMMIT (one finding per lock, naming the statements)",
        "Locks are released only at commit. Every statement after the one that took ACCESS EXCLUSIVE (or SHARE, SHARE ROW EXCLUSIVE, EXCLUSIVE) prolongs the time the table is unavailable: to everyone for ACCESS EXCLUSIVE, to writers for the others. dbkit reports each such lock once, at the statement that took it, with the lines of the statements that ran while it was held.\n\nInstead: move the locking statement to the end of the transaction, or into a migration of its own.";
    VacuumFullCluster = "vacuum-full-cluster", Migration, Error, [],
        "VACUUM FULL and CLUSTER rewrite the table under ACCESS EXCLUSIVE",
        "VACUUM FULL and CLUSTER copy the whole table and rebuild its indexes while holding ACCESS EXCLUSIVE: the table is unavailable for the duration, and twice its size in disk is needed.\n\nInstead: plain VACUUM (no exclusive lock) and tuned autovacuum; for bloat, an online rebuild tool such as pg_repack or pg_squeeze.";
    AddColumnRewrite = "add-column-rewrite", Migration, Error, [],
        "ADD COLUMN of a stored generated, identity or serial column rewrites an existing table under ACCESS EXCLUSIVE",
        "A stored generated column is computed for every existing row, an identity column and a serial column take a value from a sequence for every existing row: PostgreSQL rewrites the whole table while holding ACCESS EXCLUSIVE, so nothing can read or write it until the rewrite ends.\n\nInstead: add a plain nullable column, fill it in batches (a trigger keeps new rows filled), then make the application use it; for an identity, create the sequence, backfill, then SET DEFAULT nextval(…) or ADD GENERATED … AS IDENTITY on the filled column.";
    ValidateInSameTransaction = "validate-in-same-transaction", Migration, Warning, [],
        "VALIDATE CONSTRAINT in the transaction that added the constraint NOT VALID: the scan runs under the ADD's lock, so the split gained nothing",
        "ADD CONSTRAINT … NOT VALID is instant but takes ACCESS EXCLUSIVE (a CHECK) or SHARE ROW EXCLUSIVE on both tables (a foreign key). Locks are held until COMMIT, so a VALIDATE CONSTRAINT in the same transaction scans the table while that lock is still held: writes (and for a CHECK, reads) wait for the whole scan, as if NOT VALID had not been used.\n\nInstead: commit after the ADD … NOT VALID and VALIDATE CONSTRAINT in a later transaction (a migration of its own), where it takes only SHARE UPDATE EXCLUSIVE.";
    IndexOnPartitionedTable = "index-on-partitioned-table", Migration, Error, [],
        "CREATE INDEX on a partitioned table locks every partition against writes for the whole build, and CONCURRENTLY is refused there",
        "An index on a partitioned table is built on every partition in one statement, holding SHARE locks on all of them until the last build ends. PostgreSQL refuses CREATE INDEX CONCURRENTLY on a partitioned table (ERROR: cannot create index on partitioned table concurrently).\n\nInstead: CREATE INDEX name ON ONLY parent (…) (instant, left invalid), then for each partition CREATE INDEX CONCURRENTLY … ON partition (…) and ALTER INDEX name ATTACH PARTITION partition_index; the parent index becomes valid when every partition has one.";
    MissingStatementTimeout = "missing-statement-timeout", Migration, Warning, [],
        "off by default (dbkit.toml rules.enabled): lock_timeout is set but statement_timeout is not, so a statement that got its lock may hold it for as long as it runs",
        "lock_timeout bounds the wait for a lock, not how long the statement holds it once granted. A migration step that turns out slow (a rewrite, a scan) keeps every query on the table waiting for as long as it runs.\n\nInstead: SET statement_timeout to the longest the step may take, next to SET lock_timeout. Off by default; switch it on with [rules] enabled = [\"missing-statement-timeout\"].";
    LockTable = "lock-table", Migration, Warning, [],
        "an explicit LOCK TABLE in a migration holds its lock until the transaction ends (and queues behind long transactions without lock_timeout)",
        "LOCK TABLE takes the mode named (ACCESS EXCLUSIVE by default) and keeps it until the transaction ends. Without lock_timeout or NOWAIT it waits behind every running transaction on the table while all later queries queue behind it.\n\nInstead: let each statement take the lock it needs; if an explicit lock is really needed, SET lock_timeout first (or LOCK … NOWAIT) and keep the transaction short.";
    ReindexNotConcurrent = "reindex-not-concurrent", Migration, Error, [],
        "REINDEX without CONCURRENTLY blocks writes to the table and reads that use the index for the whole rebuild",
        "REINDEX TABLE / INDEX / SCHEMA / DATABASE takes SHARE on each table (writes wait) and ACCESS EXCLUSIVE on each index being rebuilt (queries that would use it wait), for the whole rebuild.\n\nInstead: REINDEX … CONCURRENTLY (PostgreSQL 12+), outside a transaction block; before 12, CREATE INDEX CONCURRENTLY a replacement, DROP INDEX CONCURRENTLY the old one and rename.";
    SetLoggedUnlogged = "set-logged-unlogged", Migration, Error, [],
        "ALTER TABLE … SET LOGGED / UNLOGGED rewrites the table under ACCESS EXCLUSIVE",
        "Changing a table's persistence rewrites it into a new file while holding ACCESS EXCLUSIVE; SET LOGGED also writes the whole table to WAL, which every replica must replay. An unlogged table is emptied after a crash and is not replicated.\n\nInstead: do it in a maintenance window, or create a new table with the wanted persistence and copy rows in batches.";
    SetTablespace = "set-tablespace", Migration, Error, [],
        "ALTER TABLE / INDEX … SET TABLESPACE copies the relation under ACCESS EXCLUSIVE",
        "Moving a table or index to another tablespace copies its files block by block while holding ACCESS EXCLUSIVE: nothing can read or write it for the duration.\n\nInstead: move it in a maintenance window, or with an online tool (pg_repack --tablespace).";
    WholeTableDml = "whole-table-dml", Migration, Warning, [],
        "an UPDATE or DELETE of a whole existing table (no WHERE, or an IS NULL backfill) in a schema migration",
        "One statement that changes every row locks them all until it ends (until COMMIT inside the migration's transaction, together with every lock the migration already took), leaves as many dead rows for VACUUM, and produces WAL that replicas replay behind.\n\nInstead: backfill outside the schema migration, in batches of a few thousand rows by primary key, each batch its own transaction.";
    DropDatabase = "drop-database", Migration, Error, [],
        "DROP DATABASE in a migration deletes a whole database",
        "DROP DATABASE removes every table and all data of the database for good; it also cannot run inside a transaction block.\n\nInstead: drop databases by hand, after a backup, never from a schema migration.";
    DropSchemaCascade = "drop-schema-cascade", Migration, Error, [],
        "DROP SCHEMA … CASCADE drops every object in the schema and everything that depends on them",
        "CASCADE silently drops every table, view, sequence and function in the schema, and objects in other schemas that depend on them (views, foreign keys).\n\nInstead: drop the objects you mean by name, then DROP SCHEMA without CASCADE, which fails if anything is left.";
    EnumAddValueInTransaction = "enum-add-value-in-transaction", Migration, Error, [],
        "ALTER TYPE … ADD VALUE inside a transaction block fails before PostgreSQL 12",
        "Before PostgreSQL 12, ALTER TYPE … ADD VALUE cannot run inside a transaction block (ERROR 25001), and most runners wrap each migration in one. From 12 it runs, but the new value cannot be used until the transaction commits.\n\nInstead: a migration of its own that runs outside a transaction.";
    DomainConstraintNotValid = "domain-constraint-not-valid", Migration, Error, [],
        "ALTER DOMAIN … ADD CONSTRAINT without NOT VALID scans every column of the domain under SHARE locks",
        "Adding a constraint to a domain checks every existing value of every column of that type, in every table, holding a SHARE lock on each table while it scans: writes to all of them wait.\n\nInstead: ALTER DOMAIN … ADD CONSTRAINT … NOT VALID (new values are checked at once, nothing is scanned), then ALTER DOMAIN … VALIDATE CONSTRAINT alone, in a quiet hour: on PostgreSQL 15 its scan takes SHARE on each table too (writes wait), but it holds no other lock and can be retried.";
    RefreshMatviewNotConcurrent = "refresh-matview-not-concurrent", Migration, Warning, [],
        "REFRESH MATERIALIZED VIEW without CONCURRENTLY blocks every read of the view for the whole refresh",
        "A plain refresh takes ACCESS EXCLUSIVE on the materialized view and holds it while the view's query runs again and its result replaces the old contents: every query that reads the view waits, for as long as that query takes.\n\nInstead: REFRESH MATERIALIZED VIEW CONCURRENTLY (it needs a unique index on the view; it takes EXCLUSIVE, so reads go on while it computes the differences).";
    TruncateCascade = "truncate-cascade", Migration, Error, [],
        "TRUNCATE … CASCADE also empties every table that references it",
        "CASCADE truncates every table with a foreign key to this one, and theirs, recursively: easy to lose far more data than intended.\n\nInstead: TRUNCATE the tables you mean by name, or DELETE with a condition.";
    DetachPartitionNotConcurrent = "detach-partition-not-concurrent", Migration, Warning, [],
        "DETACH PARTITION without CONCURRENTLY (PostgreSQL 14+) takes ACCESS EXCLUSIVE on the parent",
        "A plain DETACH PARTITION locks the whole partitioned table against reads and writes. Since PostgreSQL 14 DETACH PARTITION … CONCURRENTLY takes only SHARE UPDATE EXCLUSIVE (it cannot be used in a transaction block or with a DEFAULT partition).\n\nInstead: ALTER TABLE parent DETACH PARTITION child CONCURRENTLY, outside a transaction block.";
    PreferJsonb = "prefer-jsonb", Migration, Warning, [],
        "json columns: jsonb is indexable (GIN), compares and de-duplicates keys",
        "json stores the text as written and reparses it on every access; it has no equality operator and no GIN index support.\n\nInstead: jsonb, unless you must keep key order or duplicate keys exactly as sent.";
    PreferBigintKey = "prefer-bigint-key", Migration, Warning, [],
        "an int/serial primary key runs out at 2,147,483,647",
        "An integer key overflows at 2^31 − 1; changing its type later rewrites the table and every referencing table under ACCESS EXCLUSIVE.\n\nInstead: bigint (bigserial, or bigint GENERATED ALWAYS AS IDENTITY) from the start; the extra 4 bytes rarely matter.";
    PreferTimestamptz = "prefer-timestamptz", Migration, Warning, [],
        "timestamp without time zone: instants are ambiguous across zones and DST",
        "timestamp stores a wall-clock reading without a zone, so the same value means different instants for clients in different zones, and an hour repeats at the end of daylight saving time.\n\nInstead: timestamptz, which stores an instant and converts to the session's TimeZone on output.";
    PreferIdentity = "prefer-identity", Migration, Warning, [],
        "serial columns: identity columns are the standard, with the sequence owned and permissions simpler",
        "serial is a shorthand that creates a sequence and a default; the sequence needs separate grants and can be detached or reused by accident.\n\nInstead: GENERATED ALWAYS AS IDENTITY (or BY DEFAULT), the SQL-standard form, which ties the sequence to the column.";
    BanCharField = "ban-char-field", Migration, Warning, [],
        "char(n) pads with spaces and is no faster than text or varchar",
        "char(n) pads values with spaces to n characters, compares ignoring the padding in surprising ways, and is stored no more efficiently than text.\n\nInstead: text, or varchar(n) / text with a CHECK (length(col) <= n) when a limit is needed.";
    UnusedIgnore = "unused-ignore", Migration, Warning, [],
        "a -- dbkit:ignore directive that silenced nothing",
        "An ignore directive names a rule that did not fire on the statement after it: the migration changed, or the directive names the wrong rule, and it would silently hide a future finding.\n\nInstead: remove the directive, or correct the rule id.";
    LockAcquired = "lock-acquired", Migration, Warning, [],
        "observed on a database: the lock a migration statement took (warning for SHARE and stronger)",
        "dbkit check --url/--scratch ran the migration in a rolled-back transaction and read pg_locks after each statement. SHARE and stronger locks block writes (ACCESS EXCLUSIVE blocks reads too) until the migration's transaction ends.\n\nInstead: use the lock-friendly form of the statement (CONCURRENTLY, NOT VALID + VALIDATE), keep the transaction short, and set lock_timeout.";
    LockModelMismatch = "lock-model-mismatch", Migration, Warning, [],
        "observed on a database: a statement took a different lock on a table than dbkit's static lock model says",
        "dbkit check names the lock each statement takes from a model of PostgreSQL's lock table (verified on PostgreSQL 15 by tests/check_locks_pg.rs). With --url/--scratch the statement also ran, and pg_locks showed another mode on a table the model names: the static verdicts about that statement (missing-lock-timeout, work-after-access-exclusive, the lock column) rest on the model's mode, so the observed one is the one to trust.\n\nInstead: trust the observed lock-acquired finding, and report the statement and server version to dbkit so the model learns it.";
    TableRewrite = "table-rewrite", Migration, Error, [],
        "observed on a database: a statement rewrote a table (its storage file changed)",
        "The table's relfilenode changed during the statement: PostgreSQL wrote a new copy of the table (and its indexes) under ACCESS EXCLUSIVE. On a large table that is minutes of unavailability and twice the disk.\n\nInstead: the rewrite-free form of the change (see alter-column-type-rewrite and add-column-volatile-default), or a new column with a batched backfill.";
    QueryBroken = "query-broken", Migration, Error, [],
        "observed on a database: a workload query that planned before the migration fails after it",
        "dbkit planned every workload query before and after applying the migration; this one planned before and fails after (a dropped or renamed column or table, a changed type). Deployed code running that query would fail the same way.\n\nInstead: make the migration backward compatible (expand, migrate, contract): keep the old shape until no deployed code uses it.";
    MigrationError = "migration-error", Migration, Error, [],
        "observed on a database: a migration statement fails",
        "The statement failed when applied to the database (with the server's error). The migration would fail in production the same way, or differently if the production data differs.\n\nInstead: fix the statement; check it against a copy of the schema with --base/--schema.";
    ConstraintAdded = "constraint-added", Migration, Info, [],
        "observed on a database: a constraint the migration added, and whether it is validated",
        "A constraint added with NOT VALID is enforced for new rows only until VALIDATE CONSTRAINT runs; a validated one was checked against every row (with the lock that took).\n\nInstead: for large tables add NOT VALID and VALIDATE in a later transaction.";
    NPlusOne = "n-plus-one", Workload, Warning, [th("workload", "min_repeats", "repeats", "repeats in one burst (--min-repeats)"), th("workload", "window_ms", "ms", "a gap longer than this ends a burst (--window)"), th("workload", "tolerance", "statements", "other statements that may interleave between two repeats (--tolerance)")],
        "one query shape repeated in a burst with different values (an application loop): batch it with = ANY($1) or join it to its parent query",
        "The same statement shape ran many times in a row in one session with different parameters: typically an ORM loading a list and then each item's children one by one. Each round trip costs network latency and parse/plan time.\n\nInstead: fetch the children in one query (WHERE parent_id = ANY($1)) or join them to the parent query; in an ORM, eager loading (includes, select_related, joinedload).";
    RedundantQuery = "redundant-query", Workload, Warning, [th("workload", "min_repeats", "repeats", "repeats in one burst (--min-repeats)"), th("workload", "window_ms", "ms", "a gap longer than this ends a burst (--window)"), th("workload", "tolerance", "statements", "other statements that may interleave between two repeats (--tolerance)")],
        "the same statement with the same values repeated in a burst: keep the first result instead of asking again",
        "The exact same statement with the same parameters ran repeatedly in one session within a short time: the application asks again for something it already has.\n\nInstead: keep the first result (a request-scoped cache, memoization), or move the query out of the loop.";
    ShardMapDuplicateNode = "shard-map-duplicate-node", Shard, Error, [],
        "two nodes of a shard map have the same name",
        "Node names identify where shards live; a duplicate makes every shard on that name ambiguous.\n\nInstead: give each node a unique name.";
    ShardMapSecretInUrl = "shard-map-secret-in-url", Shard, Error, [],
        "a node's url contains a password",
        "A map file is shared and committed; a password in it leaks to everyone who reads it. dbkit never prints it, but the file still holds it.\n\nInstead: name an environment variable with url_env (url_env = \"SHARD_A_URL\"), or use a .pgpass file / PGPASSWORD.";
    ShardMapBadWeight = "shard-map-bad-weight", Shard, Error, [],
        "a node's weight is negative or not a number",
        "Weights scale each node's share of the data; a negative or non-finite weight has no meaning.\n\nInstead: a weight of 0 or more (0 = receives nothing, like draining).";
    ShardMapDuplicateId = "shard-map-duplicate-id", Shard, Error, [],
        "two shards of a map have the same id",
        "Shard ids name the unit that moves; a duplicate makes moves and lookups ambiguous.\n\nInstead: give each shard a unique id.";
    ShardMapUnknownNode = "shard-map-unknown-node", Shard, Error, [],
        "a shard is placed on a node the map does not define",
        "The shard points to a node name that is not in [[nodes]]: keys of that shard cannot be routed.\n\nInstead: add the node, or place the shard on an existing one.";
    ShardMapUnknownTable = "shard-map-unknown-table", Shard, Error, [],
        "a shard or colocation group names a table the map does not define",
        "The map refers to a table with no [[tables]] entry, so dbkit does not know its shard key.\n\nInstead: declare the table with its shard key, or correct the name.";
    ShardMapBadShard = "shard-map-bad-shard", Shard, Error, [],
        "a shard's definition does not fit the map's method (hash slot, range or key list)",
        "The shard's definition does not match the map's sharding method: a hash map needs hash = { modulus, remainder < modulus }, a range map needs a range, a list map needs keys.\n\nInstead: correct the shard's definition as the message says.";
    ShardMapBadKey = "shard-map-bad-key", Shard, Error, [],
        "a shard bound or list value cannot be read as the shard key's type",
        "A range bound or list value does not parse as the table's key type (bigint, text, uuid…), so keys cannot be compared with it.\n\nInstead: write the value in the key type's format.";
    ShardMapGap = "shard-map-gap", Shard, Error, [],
        "some keys belong to no shard (a gap in the hash slots or ranges)",
        "Keys that fall in the gap have no shard: inserts for them cannot be routed.\n\nInstead: extend a neighbouring shard or add one that covers the gap given.";
    ShardMapOverlap = "shard-map-overlap", Shard, Error, [],
        "some keys belong to two shards (overlapping hash slots or ranges)",
        "Keys in the overlap could be routed to either shard, so reads may miss rows written through the other.\n\nInstead: make the shards' bounds disjoint.";
    ShardMapCoverageUnchecked = "shard-map-coverage-unchecked", Shard, Info, [],
        "coverage could not be checked for this table (list or ring shards)",
        "Gaps and overlaps are checked for hash slots and ranges; a list of keys or a consistent-hash ring cannot be checked for full coverage.\n\nInstead: nothing to change; make sure every key value has a shard.";
    ShardMapColocationBroken = "shard-map-colocation-broken", Shard, Error, [],
        "tables of a colocation group do not have their shards on the same nodes",
        "Colocated tables are joined on the shard key; the join is local only when matching shards live on the same node.\n\nInstead: place every table's matching shard on the same node (shard plan moves colocation groups together).";
    ShardNodeUnreachable = "shard-node-unreachable", Shard, Error, [],
        "shard inspect could not read a node (connection or query failed)",
        "dbkit could not connect to the node or read its catalog, so its sizes are unknown and the balance shown leaves it out.\n\nInstead: check the node's URL (url / url_env / --url-per-node), the network and the credentials; the error is given without the password.";
    ShardTableMissing = "shard-table-missing", Shard, Error, [],
        "a sharded table has no relation on a node that should hold its shards",
        "The map places shards of this table on the node, but no partition, {table}_{id} table or plain table of that name exists there.\n\nInstead: create the table on the node, or correct the map.";
    ShardDataMissing = "shard-data-missing", Shard, Warning, [],
        "a shard the map places on a node has no relation holding it there",
        "The node has the table, but no partition or {table}_{id} table for this shard.\n\nInstead: create the shard's partition, or move the shard's data there.";
    ShardKeyColumnMissing = "shard-key-column-missing", Shard, Error, [],
        "a sharded table on a node lacks the map's shard key column",
        "The table exists but has no column with the shard key's name, so its rows cannot be located.\n\nInstead: correct the shard key in the map, or the table.";
    ShardDataMisplaced = "shard-data-misplaced", Shard, Warning, [],
        "rows or a non-empty partition of a shard that the map places on another node",
        "Rows belonging to a shard that the map places elsewhere: a stale copy after a move, or writes routed with an old map. Reads routed by the map will not see them.\n\nInstead: verify the copy on the shard's node, then delete the stale rows or drop the stale partition.";
    ShardKeyUnmapped = "shard-key-unmapped", Shard, Warning, [],
        "sampled keys that no shard of the map covers",
        "Some sampled rows have keys that no shard covers (a gap in a range or list map): they cannot be routed.\n\nInstead: extend the map to cover them.";
    ShardNodeImbalanced = "shard-node-imbalanced", Shard, Warning, [],
        "a node holds more or less than its capacity-weighted share by more than the threshold",
        "The node's live size differs from its weighted share of the total by more than --threshold: it fills up sooner, or carries more load, than the others.\n\nInstead: `dbkit shard plan` (with the live sizes from --write-map) proposes moves that balance it.";
    ShardSizeDrift = "shard-size-drift", Shard, Info, [],
        "a shard's live size differs from the size in the map (over 25% and 64 kB)",
        "The map's sizes are what shard plan balances; when they drift from reality the plan balances the wrong numbers.\n\nInstead: refresh the map with `dbkit shard inspect --write-map`.";
    ShardPlanNoCapacity = "shard-plan-no-capacity", Shard, Warning, [],
        "every node is draining or has weight 0: there is nowhere to move shards",
        "The planner needs at least one active node with a positive weight to receive shards.\n\nInstead: add a node (--add), or undrain one.";
    ShardPlanUnbalanced = "shard-plan-unbalanced", Shard, Warning, [],
        "the best plan found still leaves a node outside the threshold",
        "Moves (and splits, where allowed) could not bring every node within the threshold: a shard or colocation group is larger than a node's share, or nodes lack capacity.\n\nInstead: split the hot shard (hash modulus, range midpoint), add capacity, or accept a wider threshold.";
    ShardPlanSplitNeeded = "shard-plan-split-needed", Shard, Warning, [],
        "a shard group is larger than any node can hold within the threshold and cannot be split automatically",
        "The group alone exceeds what a node may hold within the threshold, so no move balances it, and dbkit found no split point it can choose itself (hash shards double their modulus and integer, uuid and text ranges split at their middle automatically).\n\nInstead: pick a split point for the shard, write the two shards into the map, and plan again.";
    ShardMoveRowDiffers = "shard-move-row-differs", Shard, Error, [],
        "a row of a moving shard differs between the source and the target after they caught up",
        "While a shard moves, dbkit compares row counts and checksums per chunk of the shard key on both nodes, re-checks the chunks that differ once the target has replayed the source's changes, and then compares those chunks row by row. A row reported here differed in every re-check: the copy is not the source's data (a write on the target, a trigger or default that changed rows while applying, a replication error in the target's log). The move stops before the cutover.\n\nInstead: look at the target's server log and the row on both nodes; `dbkit shard move --abort` undoes the move, and a rerun copies again.";
    PlaybookInvalid = "playbook-invalid", Playbook, Error, [],
        "a playbook file cannot be used: not TOML, an unknown step kind or argument, a missing input, a reference to a step or field that does not exist",
        "`dbkit playbook validate` (and every run, before anything runs) checks the whole file: its TOML, keys, step kinds and their arguments and types, inputs, references to inputs and to earlier steps' result fields, rollback steps, and quoting in SQL. Each problem is reported at its line.\n\nInstead: fix the line named; `dbkit playbook validate FILE` again lists what is left.";
    PlaybookAssertFailed = "playbook-assert-failed", Playbook, Error, [],
        "an assertion of a playbook step did not hold (or could not be evaluated)",
        "A playbook step's `assert` checks its result (no error findings, lag under a limit, row counts equal). When one does not hold, the run stops (unless the step says on_failure = \"continue\") and exits 1; the journal keeps what was done.\n\nInstead: read the step's result in the report, fix the cause, and continue the run with `dbkit playbook run FILE --execute --resume RUN_ID` (the step runs again).";
    PlaybookStepFailed = "playbook-step-failed", Playbook, Error, [],
        "a playbook step failed (its operation returned an error)",
        "The step's dbkit operation failed: a connection, a lock timeout, a failed build. The run stops (exit 2) unless the step says on_failure = \"continue\" (then this is a warning), and runs the named rollback step when it says on_failure = \"rollback\".\n\nInstead: fix the cause and continue with `--resume RUN_ID`: finished steps are re-checked and skipped.";
    RouteMapDuplicateServer = "route-map-duplicate-server", Routing, Error, [],
        "a server of a routing map is defined more than once",
        "Server names identify pool members; a duplicate makes weights and exclusions ambiguous.\n\nInstead: give each server a unique name.";
    RouteMapSecretInUrl = "route-map-secret-in-url", Routing, Error, [],
        "a server's url contains a password",
        "A routing map is shared and committed; a password in it leaks. dbkit never prints it.\n\nInstead: url_env naming an environment variable, or .pgpass / PGPASSWORD.";
    RouteMapBadWeight = "route-map-bad-weight", Routing, Error, [],
        "a server's weight is negative or not a number",
        "Weights spread reads across replicas; a negative or non-finite weight has no meaning.\n\nInstead: a weight of 0 or more.";
    RouteServerUnreachable = "route-server-unreachable", Routing, Error, [],
        "route probe could not reach a server",
        "The server did not answer (connection refused, authentication, TLS): the router excludes it.\n\nInstead: check the server, its URL and credentials; the reason is given without the password.";
    RoutePrimaryInRecovery = "route-primary-in-recovery", Routing, Error, [],
        "the server the map calls primary is in recovery (a replica)",
        "Writes routed to it would fail: after a failover the map still names the old primary.\n\nInstead: update the map's primary to the promoted server.";
    RouteReplicaNotInRecovery = "route-replica-not-in-recovery", Routing, Error, [],
        "a server the map calls a replica is not in recovery",
        "A replica that is not in recovery was promoted or is a separate primary: reads from it may see a diverging copy.\n\nInstead: remove it from the replicas or re-create it as a standby.";
    RouteReplicaLagging = "route-replica-lagging", Routing, Warning, [],
        "a replica is excluded from reads: it lags past the map's limits",
        "The replica's replay is behind the primary by more than max_lag_bytes or max_lag_ms: reads from it would return stale data.\n\nInstead: find why it lags (long queries on the replica, network, I/O), or relax the limits if the application tolerates older data.";
    RouteExportUnsupported = "route-export-unsupported", Routing, Info, [],
        "a routing policy the target pooler or proxy cannot express",
        "The exported configuration cannot express this policy of the routing map (weights, zones, lag limits, pinning, read-your-writes…), so the pooler will route differently from dbkit's router in that respect.\n\nInstead: accept the difference, or choose a target that expresses it (the report lists what each target supports).";
}
