//! The trace reader, every event fingerprinted as `workload top` does.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut stats = dbkit::workload::ReadStats::default();
    let _ = dbkit::workload::trace::read_chunk(data, &mut stats, &mut |e| {
        let _ = dbkit::sql::fingerprint(&e.sql);
    });
});
