//! The lexer and splitter, and what is read from each statement's leading words.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    let sp = dbkit::sql::split(text);
    for st in &sp.statements {
        assert!(st.span.end_byte <= text.len());
        assert_eq!(&text[st.span.start_byte..st.span.end_byte], st.text);
        let _ = dbkit::sql::txn::transaction_control(st.text);
        let _ = dbkit::sql::txn::needs_no_transaction(st.text);
    }
});
