//! `switchboard-cli agent` as a child process: stdin commands in, JSON-line events out.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::json_lines::JsonLines;

pub struct CliAgent {
    child: Child,
    stdin: ChildStdin,
    pub events: JsonLines,
}

impl CliAgent {
    /// `binary agent --registrar R --user U --password-env AGENT_PW EXTRA...`, with the
    /// password in the child's environment only.
    pub fn register(
        binary: &Path,
        registrar: &str,
        user: &str,
        password: &str,
        extra: &[&str],
    ) -> Self {
        Self::register_with_env(binary, registrar, user, password, extra, &[])
    }

    /// As [`CliAgent::register`], with more environment (a sound server's, say).
    pub fn register_with_env(
        binary: &Path,
        registrar: &str,
        user: &str,
        password: &str,
        extra: &[&str],
        env: &[(String, String)],
    ) -> Self {
        let mut args = vec![
            "agent",
            "--registrar",
            registrar,
            "--user",
            user,
            "--password-env",
            "AGENT_PW",
        ];
        args.extend_from_slice(extra);
        Self::start_with_env(binary, &args, password, env)
    }

    pub fn start(binary: &Path, args: &[&str], password: &str) -> Self {
        Self::start_with_env(binary, args, password, &[])
    }

    /// As [`CliAgent::start`], with more environment (a sound server's, say).
    pub fn start_with_env(
        binary: &Path,
        args: &[&str],
        password: &str,
        env: &[(String, String)],
    ) -> Self {
        let mut child = Command::new(binary)
            .args(args)
            .env("AGENT_PW", password)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start switchboard-cli");
        let stdin = child.stdin.take().expect("stdin");
        let events = JsonLines::spawn(child.stdout.take().expect("stdout"));
        Self {
            child,
            stdin,
            events,
        }
    }

    pub fn send(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to agent");
    }

    /// Waits for the next event named `event`, passing over others.
    pub fn wait(&mut self, event: &str, secs: u64) -> Value {
        self.events
            .wait_for("event", event, Duration::from_secs(secs))
    }

    /// Whether the agent has emitted `event` at any point so far (what has arrived included).
    pub fn has_seen(&mut self, event: &str) -> bool {
        self.events.has_seen("event", event)
    }

    /// Waits for `ready` and returns the address the agent takes SIP on.
    pub fn wait_ready(&mut self) -> SocketAddr {
        let ready = self.wait("ready", 10);
        ready["local"]
            .as_str()
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("ready names no address: {ready}"))
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for CliAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
