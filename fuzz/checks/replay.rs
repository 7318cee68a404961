//! Replaying a committed fuzz corpus through a target's check, for `cargo test`:
//! included with `#[path]` by the corpus tests of both crates.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Runs every file of `fuzz/corpus/<target>/` (minimized by `cargo fuzz cmin`) and of
/// `fuzz/regressions/<target>/` (crashes found, kept as they were) through `check`; a
/// failure names the file.
pub fn replay(fuzz: &Path, target: &str, check: fn(&[u8])) {
    let dir = fuzz.join("corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    if let Ok(regressions) = std::fs::read_dir(fuzz.join("regressions").join(target)) {
        files.extend(regressions.map(|entry| entry.expect("a regression").path()));
    }
    files.sort();
    assert!(
        files.len() >= 5,
        "{}: only {} inputs; the corpus is committed with the fuzz targets",
        dir.display(),
        files.len()
    );
    for file in &files {
        let data = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            panic!(
                "fuzz target {target}: {} fails its check; reproduce with \
                 `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none -a {target} {}`",
                file.display(),
                file.display()
            );
        }
    }
}
