//! Connection strings (URIs and libpq keywords) and the secret scrubber: a password never
//! shows in what is printed of a spec, nor in a parse error, nor after scrubbing.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    match text.parse::<dbkit::db::ConnSpec>() {
        Ok(spec) => {
            // What is shown of a spec does not depend on its password at all.
            let mut other = spec.clone();
            other.password = spec
                .password
                .as_ref()
                .map(|_| dbkit::db::Secret::new("a different one"));
            assert_eq!(spec.to_string(), other.to_string());
            assert_eq!(format!("{spec:?}"), format!("{other:?}"));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = dbkit::secret::safe_message(text);
});
