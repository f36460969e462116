//! EXPLAIN (FORMAT YAML), then the plan rules.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::plan_yaml(data));
