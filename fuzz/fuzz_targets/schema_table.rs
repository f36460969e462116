//! Table definitions from a schema file, and the partition DDL built from them.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::schema_table(data));
