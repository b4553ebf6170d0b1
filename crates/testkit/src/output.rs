//! Where a test leaves its artifacts (recordings, logs, screenshots): `test-output/<name>/` at
//! the workspace root, kept after the run for a person to look at.

use std::path::PathBuf;

pub fn dir(test: &str) -> PathBuf {
    let root = std::env::var_os("SWITCHBOARD_TEST_OUTPUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-output"));
    let dir = root.join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Whether any file under `dir` (at any depth) contains `needle`: a secret must be nowhere.
pub fn holds(dir: &std::path::Path, needle: &[u8]) -> bool {
    assert!(!needle.is_empty(), "an empty secret is in every file");
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|entry| {
            let path = entry.path();
            if path.is_dir() {
                holds(&path, needle)
            } else {
                std::fs::read(&path)
                    .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            }
        })
}
