//! The static migration checker on one file, in and out of a transaction.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    let files = vec![("m.sql".to_string(), text.to_string())];
    let _ = dbkit::analyze::migration::check(&files, 15, false, &[]);
    let _ = dbkit::analyze::migration::check(&files, 11, true, &[]);
});
