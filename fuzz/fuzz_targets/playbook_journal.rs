//! Playbook run journals (`.dbkit/runs/RUN_ID.json`): reading, and writing back.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::playbook_journal(data));
