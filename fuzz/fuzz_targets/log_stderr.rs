//! stderr logs: prefix detection, then the reader with the detected and with a fixed prefix,
//! every event fingerprinted as `workload top` does.
#![no_main]
use dbkit::workload::{prefix::Prefix, stderr, ReadStats};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut stats = ReadStats::default();
    let mut sink = |e: dbkit::workload::Event<'_>| {
        let _ = dbkit::sql::fingerprint(&e.sql);
    };
    if let Ok(p) = Prefix::detect(data) {
        let _ = stderr::read_chunk(&p, data, &mut stats, &mut sink);
    }
    if let Ok(p) = Prefix::parse("%m [%p] %q%u@%d ") {
        let _ = stderr::read_chunk(&p, data, &mut stats, &mut sink);
    }
});
