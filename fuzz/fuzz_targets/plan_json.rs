//! EXPLAIN JSON (raw or as psql prints it), then the plan rules.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    if let Ok(plans) = dbkit::plan::json::parse(text) {
        let cfg = dbkit::config::Config::default();
        for p in &plans {
            let _ = dbkit::analyze::plan::analyze(p, &cfg, None);
        }
    }
});
