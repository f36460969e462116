//! Partition bound expressions as pg_get_expr prints them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    let _ = dbkit::sql::bound::PartitionBound::parse(text);
});
