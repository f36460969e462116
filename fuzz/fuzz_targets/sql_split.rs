//! The lexer and splitter, and what is read from each statement's leading words.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::sql_split(data));
