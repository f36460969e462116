//! syslog, RFC 5424 and Heroku lines unwrapped into stderr lines and read (prefix detected and fixed).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::log_syslog(data));
