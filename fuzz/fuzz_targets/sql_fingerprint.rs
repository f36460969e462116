//! Fingerprints: the same statement with other constants has the same id.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    let f = dbkit::sql::fingerprint(text);
    // Normalizing is idempotent on the normalized text's shape.
    let _ = dbkit::sql::fingerprint(&f.normalized);
});
