//! Cloud JSON lines (Cloud Logging, Azure) unwrapped into stderr lines and read.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::log_cloud(data));
