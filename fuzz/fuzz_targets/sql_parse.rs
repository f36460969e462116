//! Parsing with sqlparser (bounded: no input may take more than linear time) and what
//! statements reference.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    let (stmts, _) = dbkit::sql::analyze(text);
    for s in &stmts {
        if let Some(ast) = &s.ast {
            let _ = ast.to_string();
        }
    }
});
