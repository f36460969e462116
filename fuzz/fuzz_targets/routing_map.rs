//! Routing maps: loading, validation, and routing statements through a session.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    if let Ok(m) = dbkit::routing::map::RoutingMap::parse(text, "r.toml") {
        let _ = m.validate();
        let mut router = dbkit::routing::route::Router::new(&m);
        let mut session = dbkit::routing::route::Session::default();
        for sql in ["BEGIN", "SELECT 1", "INSERT INTO t VALUES (1)", "COMMIT", "SELECT nextval('s')"] {
            let _ = router.route(sql, &mut session);
        }
    }
});
