//! pg_stat_statements exports (CSV with a header, or a JSON array).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = dbkit::workload::pgss::parse_export(data) {
        for r in &rows {
            let _ = dbkit::sql::fingerprint(&r.query);
        }
    }
});
