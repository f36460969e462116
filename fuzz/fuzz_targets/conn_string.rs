//! Connection strings (URIs and libpq keywords) and the secret scrubber: a password never
//! shows in what is printed of a spec, nor in a parse error, nor after scrubbing.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::conn_string(data));
