//! pg_stat_statements exports (CSV with a header, or a JSON array).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::pgss_export(data));
