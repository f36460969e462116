//! Playbook files: loading with every check, conditions and arguments evaluated.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::playbook(data));
