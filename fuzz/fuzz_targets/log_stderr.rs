//! stderr logs: prefix detection, then the reader with the detected and with a fixed prefix,
//! every event fingerprinted as `workload top` does.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::log_stderr(data));
