//! sipp playing one scripted party of a call: a scenario file whose checks (`check_it`,
//! timeouts, unexpected messages) fail its exit status. Killed when the handle drops.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sipp {
    child: Child,
    errors: PathBuf,
    /// What the scenario's `<log>` actions wrote.
    pub log: PathBuf,
    /// Where it listens (UDP).
    pub port: u16,
}

impl Sipp {
    /// Waits for calls as `scenario` says (a UAS), on `ip` and a free port.
    pub fn uas(out: &Path, scenario: &Path, ip: &str) -> Self {
        Self::spawn(out, scenario, ip, None, &[], 1)
    }

    /// As [`Sipp::uas`], with `[name]` keywords the scenario uses set to these values.
    pub fn uas_with(out: &Path, scenario: &Path, ip: &str, keys: &[(&str, &str)]) -> Self {
        Self::spawn(out, scenario, ip, None, keys, 1)
    }

    /// Places one call to `target` (`host:port`, the Request-URI's user in the scenario).
    pub fn uac(out: &Path, scenario: &Path, ip: &str, target: &str) -> Self {
        Self::spawn(out, scenario, ip, Some(target), &[], 1)
    }

    /// Places `calls` calls to `target`, one after another.
    pub fn uac_calls(out: &Path, scenario: &Path, ip: &str, target: &str, calls: u32) -> Self {
        Self::spawn(out, scenario, ip, Some(target), &[], calls)
    }

    /// As [`Sipp::uac`], with `[name]` keywords the scenario uses set to these values.
    pub fn uac_with(
        out: &Path,
        scenario: &Path,
        ip: &str,
        target: &str,
        keys: &[(&str, &str)],
    ) -> Self {
        Self::spawn(out, scenario, ip, Some(target), keys, 1)
    }

    fn spawn(
        out: &Path,
        scenario: &Path,
        ip: &str,
        target: Option<&str>,
        keys: &[(&str, &str)],
        calls: u32,
    ) -> Self {
        let sipp = crate::require("sipp", "sip-tester");
        std::fs::create_dir_all(out).expect("sipp dir");
        let port = crate::net::free_port();
        let name = scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let errors = out.join(format!("{name}-errors.log"));
        let log = out.join(format!("{name}-actions.log"));
        let mut command = Command::new(sipp);
        if let Some(target) = target {
            command.arg(target);
        }
        for (key, value) in keys {
            command.args(["-key", key, value]);
        }
        let child = command
            .arg("-sf")
            .arg(scenario)
            .args(["-i", ip, "-mi", ip, "-p", &port.to_string()])
            .args([
                "-m",
                &calls.to_string(),
                "-l",
                "1",
                "-timeout",
                "120",
                "-nostdin",
            ])
            .args(["-trace_err", "-error_file"])
            .arg(&errors)
            .args(["-trace_logs", "-log_file"])
            .arg(&log)
            .current_dir(out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run sipp");
        // sipp needs a moment to bind before anything reaches it.
        std::thread::sleep(Duration::from_millis(500));
        Self {
            child,
            errors,
            log,
            port,
        }
    }

    /// Waits for the scenario to end; `Err` carries sipp's error log when it failed.
    pub fn finish(&mut self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("sipp status") {
                break status;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "sipp did not finish in {timeout:?}\n{}",
                    self.errors()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        if status.success() {
            Ok(())
        } else {
            Err(format!("sipp failed ({status}):\n{}", self.errors()))
        }
    }

    /// Waits for the scenario's log actions to have written a line containing `needle`;
    /// returns the whole log.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "sipp logged no {needle:?} in {timeout:?}: {text:?}\n{}",
                self.errors()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(&self.errors).unwrap_or_default()
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
