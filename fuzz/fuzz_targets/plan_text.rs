//! The text plan format (and the any-format entry point), then the plan rules.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    let cfg = dbkit::config::Config::default();
    if let Ok(p) = dbkit::plan::text::parse(text) {
        let _ = dbkit::analyze::plan::analyze(&p, &cfg, None);
    }
    let _ = dbkit::plan::parse(text);
});
