//! Classification (routing) and the side-effect scan (EXPLAIN ANALYZE and check safety).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    let _ = dbkit::sql::classify(text);
    let s = dbkit::sql::side_effects::assess(text, &dbkit::sql::side_effects::NoCatalog);
    let _ = s.describe();
    let _ = dbkit::sql::side_effects::called_functions(text);
    let _ = dbkit::sql::ident::comment_text(text);
});
