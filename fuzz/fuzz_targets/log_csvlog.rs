//! The csvlog reader, every event fingerprinted as `workload top` does.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::log_csvlog(data));
