//! Table definitions from a schema file, and the partition DDL built from them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = dbkit::sql::span::check_utf8(data) else { return };
    let Ok(def) = dbkit::ddl::table::find(text, "t") else { return };
    let Some(key) = def.columns.first().map(|c| c.name.clone()) else { return };
    let o = dbkit::ddl::partition::PartitionOptions {
        key,
        strategy: dbkit::ddl::partition::Strategy::Hash { modulus: 4 },
        default: false,
        sub_hash: None,
        tablespace: None,
        timezone: None,
    };
    if let Ok(s) = dbkit::ddl::partition::generate(&def, &o) {
        // Comments in the script never end early.
        for line in s.script.lines().filter(|l| l.starts_with("--")) {
            assert!(!line.contains('\r'));
        }
    }
});
