//! Shard maps (TOML or JSON): loading, validation, locating keys. Errors never hold a password.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    match dbkit::shard::map::ShardMap::parse(text, "m.toml") {
        Ok(m) => {
            let _ = m.validate();
            for k in ["0", "42", "-1", "a", "00000000-0000-0000-0000-000000000000"] {
                let _ = m.locate(k);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
