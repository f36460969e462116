//! Fingerprints: the same statement with other constants has the same id.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::sql_fingerprint(data));
