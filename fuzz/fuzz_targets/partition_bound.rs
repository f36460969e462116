//! Partition bound expressions as pg_get_expr prints them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::partition_bound(data));
