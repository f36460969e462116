//! A whole log input as `workload` reads it: decompression (gzip, zstd, bzip2, xz), a byte-order mark,
//! format and prefix detection, then the detected reader on the first 1 MB into every summary section and the N+1 bursts.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::log_input(data));
