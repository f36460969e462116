//! Shard maps (TOML or JSON): loading, validation, locating keys. Errors never hold a password.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| dbkit::fuzzing::shard_map(data));
