//! What the sipp-driven call tests share: their scenarios, and an auto-answering agent.

use std::path::{Path, PathBuf};

use switchboard_testkit::trunk_lab::TrunkLab;

pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// The trunk lab with `switchboard-cli --auto-answer` as the agent.
pub fn auto_answering(test: &str) -> TrunkLab {
    TrunkLab::start(
        test,
        Path::new(env!("CARGO_BIN_EXE_switchboard-cli")),
        &["--auto-answer"],
    )
}
