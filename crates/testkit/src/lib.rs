//! The test lab. Every peer is a real program from Debian, started on loopback ports chosen at
//! run time and stopped when its handle drops. Nothing here is a mock.

pub mod audio;
pub mod baresip;
pub mod cli_agent;
pub mod conformance;
pub mod desktop;
pub mod dns;
pub mod http;
pub mod json_lines;
pub mod kamailio;
pub mod keyring;
pub mod memory;
pub mod microsoft;
pub mod net;
pub mod output;
pub mod pulse;
pub mod raw_uac;
pub mod relay;
pub mod sdp_proxy;
pub mod sipp;
pub mod tls;
pub mod trunk_lab;
pub mod webdriver;
pub mod zipfile;

use std::path::PathBuf;
use std::process::Command;

/// Fails the test (not skips it) when a peer program is missing, saying how to get it.
pub fn require(program: &str, package: &str) -> PathBuf {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    found.unwrap_or_else(|| {
        panic!("{program} is not installed: run ./scripts/setup (Debian package {package})")
    })
}
