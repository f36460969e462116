//! Parsing with sqlparser (bounded: no input may take more than linear time) and what
//! statements reference.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::sql_parse(data));
