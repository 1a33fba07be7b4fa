//! `docs/findings.md` is generated from the catalog in `src/diagnosis.rs`. This test fails when
//! the checked-in file differs from what the catalog renders, so the doc cannot drift.
//! `ENTRAPROBE_BLESS=1 cargo test --test findings_doc` rewrites the file.

use std::path::PathBuf;

#[test]
fn findings_doc_matches_the_catalog() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md");
    let rendered = entraprobe::diagnosis::render_markdown_doc();
    if std::env::var_os("ENTRAPROBE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &rendered).expect("write docs/findings.md");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    if on_disk != rendered {
        let first_difference = on_disk
            .lines()
            .zip(rendered.lines())
            .position(|(a, b)| a != b)
            .map_or_else(
                || on_disk.lines().count().min(rendered.lines().count()) + 1,
                |i| i + 1,
            );
        panic!(
            "docs/findings.md is out of date with the catalog in src/diagnosis.rs \
             (first difference at line {first_difference}).\n\
             Regenerate it with:\n\n    ENTRAPROBE_BLESS=1 cargo test --test findings_doc\n"
        );
    }
}
