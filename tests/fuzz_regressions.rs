//! Every input a fuzz target ever crashed or timed out on (`fuzz/regressions/TARGET/`), and the
//! seed corpora (`fuzz/seeds/TARGET/`), run through the same entry points as the targets
//! (`dbkit::fuzzing`): none may panic. FUZZING.md says what each one found.

use std::path::Path;

fn each_input(dir: &str, mut f: impl FnMut(&str, &Path, &[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut n = 0;
    for t in std::fs::read_dir(&root).unwrap().flatten() {
        let target = t.file_name().to_string_lossy().to_string();
        for e in std::fs::read_dir(t.path()).unwrap().flatten() {
            let bytes = std::fs::read(e.path()).unwrap();
            f(&target, &e.path(), &bytes);
            n += 1;
        }
    }
    n
}

#[test]
fn crash_inputs_found_by_fuzzing_are_handled() {
    let n = each_input("fuzz/regressions", |target, path, bytes| {
        assert!(
            dbkit::fuzzing::run(target, bytes),
            "{}: no fuzz target {target}",
            path.display()
        );
    });
    assert!(n > 0, "no regression inputs found");
}

#[test]
fn seed_inputs_are_handled() {
    let n = each_input("fuzz/seeds", |target, path, bytes| {
        assert!(
            dbkit::fuzzing::run(target, bytes),
            "{}: no fuzz target {target}",
            path.display()
        );
    });
    assert!(n > 0);
}

#[test]
fn every_fuzz_target_has_an_entry_point() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        assert!(
            dbkit::fuzzing::TARGETS.iter().any(|(n, _)| *n == name),
            "fuzz/fuzz_targets/{name}.rs has no dbkit::fuzzing::{name}"
        );
    }
    assert_eq!(
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets"))
            .unwrap()
            .count(),
        dbkit::fuzzing::TARGETS.len()
    );
}
