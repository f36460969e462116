//! dbkit.toml: thresholds, disabled rules, check settings.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::config_toml(data));
