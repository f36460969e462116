//! The static migration checker on one file, in and out of a transaction.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::migration_check(data));
