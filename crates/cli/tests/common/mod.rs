//! What the CLI tests share: the sipp-driven calls' scenarios and an auto-answering agent,
//! and a one-shot run of `switchboard-cli`. Each test uses some of it.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

/// `switchboard-cli ARGS` with `env`, `stdin` written to it: its exit code, stdout and stderr.
pub fn run(env: &[(String, String)], args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-cli"))
        .args(args)
        .envs(env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switchboard-cli");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("switchboard-cli's output");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}
