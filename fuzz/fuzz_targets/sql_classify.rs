//! Classification (routing) and the side-effect scan (EXPLAIN ANALYZE and check safety).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::sql_classify(data));
