//! Shard rebalance journals (`<map>.moves/rebalance.json`): reading, and writing back.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::rebalance_journal(data));
