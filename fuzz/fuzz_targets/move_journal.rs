//! Shard move journals (`<map>.moves/shard-<id>.json`): reading, and writing back.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::move_journal(data));
