//! Routing maps: loading, validation, and routing statements through a session.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::routing_map(data));
