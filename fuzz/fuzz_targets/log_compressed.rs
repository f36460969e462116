//! bzip2 and xz streams decoded: a broken stream is an error, never a panic or a hang.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::log_compressed(data));
