//! The text plan format (and the any-format entry point), then the plan rules.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::plan_text(data));
