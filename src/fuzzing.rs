//! One entry point per fuzz target (`fuzz/`), so that the targets and the regression test of
//! every input they ever crashed on (`tests/fuzz_regressions.rs`, inputs in `fuzz/regressions/`)
//! run the same code. Each takes raw bytes and must neither panic nor take more than linear time.

/// Connection strings (URIs and libpq keywords) and the secret scrubber: a password never
/// shows in what is printed of a spec, nor in a parse error, nor after scrubbing.
pub fn conn_string(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    match text.parse::<crate::db::ConnSpec>() {
        Ok(spec) => {
            // What is shown of a spec does not depend on its password at all.
            let mut other = spec.clone();
            other.password = spec
                .password
                .as_ref()
                .map(|_| crate::db::Secret::new("a different one"));
            assert_eq!(spec.to_string(), other.to_string());
            assert_eq!(format!("{spec:?}"), format!("{other:?}"));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = crate::secret::safe_message(text);
}

/// The csvlog reader, every event fingerprinted as `workload top` does.
pub fn log_csvlog(data: &[u8]) {
    let mut stats = crate::workload::ReadStats::default();
    let _ = crate::workload::csvlog::read_chunk(data, &mut stats, &mut |e| {
        let _ = crate::sql::fingerprint(&e.sql);
    });
}

/// The jsonlog reader, every event fingerprinted as `workload top` does.
pub fn log_jsonlog(data: &[u8]) {
    let mut stats = crate::workload::ReadStats::default();
    let _ = crate::workload::jsonlog::read_chunk(data, &mut stats, &mut |e| {
        let _ = crate::sql::fingerprint(&e.sql);
    });
}

/// stderr logs: prefix detection, then the reader with the detected and with a fixed prefix,
/// every event fingerprinted as `workload top` does.
pub fn log_stderr(data: &[u8]) {
    use crate::workload::{prefix::Prefix, stderr, ReadStats};
    let mut stats = ReadStats::default();
    let mut sink = |e: crate::workload::Event<'_>| {
        let _ = crate::sql::fingerprint(&e.sql);
    };
    if let Ok(p) = Prefix::detect(data) {
        let _ = stderr::read_chunk(&p, data, &mut stats, &mut sink);
    }
    if let Ok(p) = Prefix::parse("%m [%p] %q%u@%d ") {
        let _ = stderr::read_chunk(&p, data, &mut stats, &mut sink);
    }
}

/// syslog, RFC 5424 and Heroku lines unwrapped, then read as stderr lines with the prefix
/// detected in them and with a fixed one; every event fingerprinted.
pub fn log_syslog(data: &[u8]) {
    wrapped(crate::workload::wrapped::Wrapper::Syslog, data);
}

/// Cloud JSON lines (Cloud Logging, Azure) unwrapped and read as [`log_syslog`] does.
pub fn log_cloud(data: &[u8]) {
    wrapped(crate::workload::wrapped::Wrapper::Cloud, data);
}

fn wrapped(w: crate::workload::wrapped::Wrapper, data: &[u8]) {
    use crate::workload::{prefix::Prefix, stderr, wrapped, ReadStats};
    let mut stats = ReadStats::default();
    let mut lines = Vec::new();
    let read = wrapped::unwrap(w, data, &mut stats, &mut lines);
    assert!(read as usize <= data.split(|&b| b == b'\n').count());
    assert!(stats.skipped_lines <= read);
    let mut sink = |e: crate::workload::Event<'_>| {
        let _ = crate::sql::fingerprint(&e.sql);
    };
    if let Ok(p) = Prefix::detect(&lines) {
        let _ = stderr::read_chunk(&p, &lines, &mut stats, &mut sink);
    }
    if let Ok(p) = Prefix::parse("%m [%p] user=%u,db=%d,app=%a,client=%h ") {
        let _ = stderr::read_chunk(&p, &lines, &mut stats, &mut sink);
    }
    if let Ok(head) = Prefix::parse(wrapped::HEAD) {
        let format = crate::workload::chunk::LogFormat::Wrapped(w, head);
        let _ = crate::workload::chunk::cut_point(data, &format, false);
    }
}

/// bzip2 and xz streams decoded (at most 1 MB of output: a 1.5 KB bzip2 stream can expand to
/// megabytes, linear work that is slow only under the sanitizer): a broken stream is an error,
/// never a panic or a hang.
pub fn log_compressed(data: &[u8]) {
    use std::io::Read;
    for magic in [
        &b"BZh9"[..],
        &[0xfd, b'7', b'z', b'X', b'Z', 0][..],
        &[][..],
    ] {
        let mut input = magic.to_vec();
        input.extend_from_slice(data);
        let raw: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(input));
        if let Ok(r) = crate::ops::workload::decode(raw, "fuzz") {
            let _ = r.take(1 << 20).read_to_end(&mut Vec::new());
        }
    }
}

/// The trace reader, every event fingerprinted as `workload top` does.
pub fn log_trace(data: &[u8]) {
    let mut stats = crate::workload::ReadStats::default();
    crate::workload::trace::read_chunk(data, &mut stats, &mut |e| {
        let _ = crate::sql::fingerprint(&e.sql);
    });
}

/// The static migration checker on one file, in and out of a transaction.
pub fn migration_check(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    let files = vec![("m.sql".to_string(), text.to_string())];
    use crate::analyze::migration::{check, txmode, Options};
    let _ = check(&files, &Options::default());
    // The same text as history and as a schema dump, and under every runner's conventions.
    let o = Options {
        pg_version: 11,
        transaction: txmode::TxSetting::Never,
        history: files.clone(),
        schema: files.clone(),
        ..Options::default()
    };
    let _ = check(&files, &o);
    for r in txmode::Runner::ALL {
        let o = Options {
            runner: Some(*r),
            ..Options::default()
        };
        let _ = check(&files, &o);
    }
}

/// Partition bound expressions as pg_get_expr prints them.
pub fn partition_bound(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    let _ = crate::sql::bound::PartitionBound::parse(text);
}

/// pg_stat_statements exports (CSV with a header, or a JSON array).
pub fn pgss_export(data: &[u8]) {
    if let Ok(rows) = crate::workload::pgss::parse_export(data) {
        for r in &rows {
            let _ = crate::sql::fingerprint(&r.query);
        }
    }
}

/// EXPLAIN JSON (the JSON reader alone), then the plan rules.
pub fn plan_json(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    if let Ok(plans) = crate::plan::json::parse(text) {
        let cfg = crate::config::Config::default();
        for p in &plans {
            let _ = crate::analyze::plan::analyze(p, &cfg, None);
        }
    }
}

/// The text plan format as printed and pasted (psql in every setting, GUI copies,
/// auto_explain entries), then the plan rules; also the any-format entry point.
pub fn plan_text(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    let cfg = crate::config::Config::default();
    if let Ok(p) = crate::plan::text::parse(text) {
        let _ = crate::analyze::plan::analyze(&p, &cfg, None);
    }
    let _ = crate::plan::parse(text);
}

/// EXPLAIN (FORMAT YAML), then the plan rules; also through the any-format entry point.
pub fn plan_yaml(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    plan_value(crate::plan::yaml::to_json(text));
    // The tokens read straight into the plan say what their JSON text says.
    if let Ok(direct) = crate::plan::yaml::parse(text) {
        match crate::plan::with_large_stack(|| crate::plan::yaml::to_json_text(text)) {
            Ok(json) => {
                if let Ok(via) = crate::plan::json::parse(&json) {
                    assert!(direct == via, "YAML read two ways differs: {json}");
                }
            }
            Err(e) => panic!("YAML read as a plan, not as JSON text: {e}"),
        }
    }
    let _ = crate::plan::parse(text);
}

/// EXPLAIN (FORMAT XML), then the plan rules; also through the any-format entry point.
pub fn plan_xml(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    plan_value(crate::plan::xml::to_json(text));
    // The tokens read straight into the plan say what their JSON text says.
    if let Ok(direct) = crate::plan::xml::parse(text) {
        match crate::plan::xml::to_json_text(text) {
            Ok(json) => {
                if let Ok(via) = crate::plan::json::parse(&json) {
                    assert!(direct == via, "XML read two ways differs: {json}");
                }
            }
            Err(e) => panic!("XML read as a plan, not as JSON text: {e}"),
        }
    }
    let _ = crate::plan::parse(text);
}

fn plan_value(v: Result<serde_json::Value, crate::plan::PlanError>) {
    let Ok(v) = v else { return };
    if let Ok(plans) = crate::plan::json::from_value(&v) {
        let cfg = crate::config::Config::default();
        for p in &plans {
            let _ = crate::analyze::plan::analyze(p, &cfg, None);
        }
    }
}

/// Routing maps: loading, validation, and routing statements through a session.
pub fn routing_map(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    if let Ok(m) = crate::routing::map::RoutingMap::parse(text, "r.toml") {
        let _ = m.validate();
        let mut router = crate::routing::route::Router::new(&m);
        let mut session = crate::routing::route::Session::default();
        for sql in [
            "BEGIN",
            "SELECT 1",
            "INSERT INTO t VALUES (1)",
            "COMMIT",
            "SELECT nextval('s')",
        ] {
            let _ = router.route(sql, &mut session);
        }
    }
}

/// Table definitions from a schema file, and the partition DDL built from them.
pub fn schema_table(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    let Ok(def) = crate::ddl::table::find(text, "t") else {
        return;
    };
    let Some(key) = def.columns.first().map(|c| c.name.clone()) else {
        return;
    };
    let o = crate::ddl::partition::PartitionOptions {
        key,
        strategy: crate::ddl::partition::Strategy::Hash { modulus: 4 },
        default: false,
        sub_hash: None,
        tablespace: None,
        timezone: None,
    };
    if let Ok(s) = crate::ddl::partition::generate(&def, &o) {
        // Comments in the script never end early.
        for line in s.script.lines().filter(|l| l.starts_with("--")) {
            assert!(!line.contains('\r'));
        }
    }
}

/// Shard maps (TOML or JSON): loading, validation, locating keys. Errors never hold a password.
pub fn shard_map(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    match crate::shard::map::ShardMap::parse(text, "m.toml") {
        Ok(m) => {
            let _ = m.validate();
            for k in ["0", "42", "-1", "a", "00000000-0000-0000-0000-000000000000"] {
                let _ = m.locate(k);
            }
            // --write-map: the map edited into the user's text must read back as the same map.
            let mut next = m.clone();
            next.version = next.version.wrapping_add(1);
            next.shards.reverse();
            let written = crate::shard::write::render(&next, Some(text), false);
            if let Ok(back) = crate::shard::map::ShardMap::parse(&written, "m.toml") {
                assert_eq!(back.version, next.version, "{written}");
                assert_eq!(back.shards.len(), next.shards.len(), "{written}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Classification (routing) and the side-effect scan (EXPLAIN ANALYZE and check safety).
pub fn sql_classify(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    let _ = crate::sql::classify(text);
    let s = crate::sql::side_effects::assess(text, &crate::sql::side_effects::NoCatalog);
    let _ = s.describe();
    let _ = crate::sql::side_effects::called_functions(text);
    let _ = crate::sql::ident::comment_text(text);
    let _ = crate::ops::explain::is_create_as(text);
}

/// Fingerprints: the same statement with other constants has the same id.
pub fn sql_fingerprint(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    let f = crate::sql::fingerprint(text);
    // Normalizing is idempotent on the normalized text's shape.
    let _ = crate::sql::fingerprint(&f.normalized);
}

/// Parsing with sqlparser (bounded: no input may take more than linear time) and what
/// statements reference.
pub fn sql_parse(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    let (stmts, _) = crate::sql::analyze(text);
    for s in &stmts {
        if let Some(ast) = &s.ast {
            let _ = ast.to_string();
        }
    }
}

/// The lexer and splitter, and what is read from each statement's leading words.
pub fn sql_split(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    let sp = crate::sql::split(text);
    for st in &sp.statements {
        assert!(st.span.end_byte <= text.len());
        assert_eq!(&text[st.span.start_byte..st.span.end_byte], st.text);
        let _ = crate::sql::txn::transaction_control(st.text);
        let _ = crate::sql::txn::needs_no_transaction(st.text);
    }
}

/// A whole log input as `workload` reads it: decompression (gzip, zstd, bzip2, xz), a byte-order mark,
/// format and prefix detection, then the detected reader on the first 1 MB into every
/// `workload summary` section and the N+1 bursts; the summary saved and read back.
pub fn log_input(data: &[u8]) {
    use std::io::Read;
    let raw: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(data.to_vec()));
    let Ok(mut r) = crate::ops::workload::decode(raw, "fuzz") else {
        return;
    };
    let mut buf = Vec::new();
    if r.by_ref().take(1 << 20).read_to_end(&mut buf).is_err() {
        return;
    }
    let opts = crate::ops::workload::ScanOptions::default();
    let Ok(format) = crate::ops::workload::detect(&buf, &opts) else {
        return;
    };
    let mut stats = crate::workload::ReadStats::default();
    let mut summary = crate::analyze::workload::summary::Summary::default();
    let mut bursts = crate::analyze::workload::bursts::Collector::default();
    let _ = crate::workload::chunk::parse_block(&format, &buf, &mut stats, &mut |e| {
        summary.add(&e);
        bursts.add(0, &e);
    });
    // Every section of the summary report, the N+1 cut, and a saved state read back.
    let _ = crate::analyze::workload::summary_report::SummaryReport::build(
        &[],
        format.describe(),
        stats,
        &summary,
        20,
    );
    let found = crate::analyze::workload::bursts::bursts(
        &mut bursts,
        &crate::analyze::workload::bursts::BurstOptions::default(),
    );
    assert!(found.iter().all(|b| b.count >= 2));
    if let Ok(json) = serde_json::to_string(&summary) {
        let back: Result<crate::analyze::workload::summary::Summary, _> =
            serde_json::from_str(&json);
        assert!(back.is_ok(), "a saved summary reads back");
    }
}

/// dbkit.toml: thresholds, disabled rules, severities, path ignores (their globs matched
/// against a few paths), check settings; and every rule id read back from text.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = crate::sql::span::check_utf8(data) else {
        return;
    };
    let _ = text.trim().parse::<crate::finding::RuleId>();
    if let Ok(cfg) = crate::config::Config::from_toml(text, "dbkit.toml") {
        let _ = crate::analyze::catalogue(&cfg, None);
        let mut findings: Vec<crate::finding::Finding> =
            ["migrations/legacy/2019/01_init.sql", "./a/b/c.sql", "", "x"]
                .iter()
                .map(|file| {
                    crate::finding::Finding::new(crate::finding::RuleId::DropTable, "m").at(
                        crate::finding::Location {
                            file: Some(file.to_string()),
                            ..Default::default()
                        },
                    )
                })
                .collect();
        cfg.apply(&mut findings);
    }
}

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// Every target by name.
pub const TARGETS: &[(&str, Target)] = &[
    ("config_toml", config_toml),
    ("log_input", log_input),
    ("log_syslog", log_syslog),
    ("log_cloud", log_cloud),
    ("log_compressed", log_compressed),
    ("conn_string", conn_string),
    ("log_csvlog", log_csvlog),
    ("log_jsonlog", log_jsonlog),
    ("log_stderr", log_stderr),
    ("log_trace", log_trace),
    ("migration_check", migration_check),
    ("partition_bound", partition_bound),
    ("pgss_export", pgss_export),
    ("plan_json", plan_json),
    ("plan_text", plan_text),
    ("plan_xml", plan_xml),
    ("plan_yaml", plan_yaml),
    ("routing_map", routing_map),
    ("schema_table", schema_table),
    ("shard_map", shard_map),
    ("move_journal", move_journal),
    ("rebalance_journal", rebalance_journal),
    ("playbook", playbook),
    ("playbook_journal", playbook_journal),
    ("sql_classify", sql_classify),
    ("sql_fingerprint", sql_fingerprint),
    ("sql_parse", sql_parse),
    ("sql_split", sql_split),
];

/// Run target `name` on `data`; false when there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match TARGETS.iter().find(|(n, _)| *n == name) {
        Some((_, f)) => {
            f(data);
            true
        }
        None => false,
    }
}

/// Shard move journals: read (never a panic), and what reads back is written the same way.
pub fn move_journal(data: &[u8]) {
    if let Ok(j) = crate::shard::moves::Journal::from_bytes(data) {
        let _ = j.done(crate::shard::moves::Step::Copy);
        let _ = j.cut_over();
        let text = serde_json::to_vec(&j).unwrap_or_default();
        let back = crate::shard::moves::Journal::from_bytes(&text);
        assert_eq!(back.as_ref().ok(), Some(&j), "a journal did not read back");
    }
}

/// Rebalance journals: read (never a panic), and what reads back is written the same way.
pub fn rebalance_journal(data: &[u8]) {
    use crate::ops::shard_rebalance::RebalanceJournal;
    if let Ok(j) = RebalanceJournal::from_bytes(data) {
        let text = serde_json::to_vec(&j).unwrap_or_default();
        assert_eq!(
            RebalanceJournal::from_bytes(&text).ok(),
            Some(j),
            "a journal did not read back"
        );
    }
}

/// Playbook files: loading (every check, never a panic); a playbook that loads has every
/// condition evaluated and every argument resolved against inputs and results of nulls (errors
/// are fine, panics are not), and the static plan built.
pub fn playbook(data: &[u8]) {
    use crate::playbook::expr::{self, Reference, Scope};
    struct Nulls;
    impl Scope for Nulls {
        fn lookup(&self, r: &Reference) -> Result<serde_json::Value, String> {
            expr::walk(&serde_json::Value::Null, &r.path)
        }
    }
    let Ok(pb) = crate::playbook::load::load("fuzz.toml", data) else {
        return;
    };
    for s in pb.steps.iter().chain(&pb.rollbacks) {
        for c in s.when.iter().chain(&s.unless).chain(&s.asserts) {
            let _ = expr::eval_bool(&c.expr, &Nulls);
        }
        for a in &s.args {
            let _ = a.value.eval(&Nulls);
        }
    }
    let _ = crate::playbook::report::PlaybookInfo::of(&pb);
}

/// Playbook run journals (`.dbkit/runs/RUN_ID.json`): read (never a panic), and what reads
/// back is written the same way.
pub fn playbook_journal(data: &[u8]) {
    if let Ok(j) = crate::playbook::journal::Journal::from_bytes(data) {
        let _ = j.entry("x");
        let text = serde_json::to_vec(&j).unwrap_or_default();
        let back = crate::playbook::journal::Journal::from_bytes(&text);
        assert_eq!(back.as_ref().ok(), Some(&j), "a journal did not read back");
    }
}
