//! A real OS keychain for tests: a private D-Bus session bus with gnome-keyring's Secret
//! Service on it, its login keyring created and unlocked with a test password. Programs given
//! `env` store and read real entries; everything stops when the handle drops.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Keyring {
    /// `DBUS_SESSION_BUS_ADDRESS` (and the daemon's directories) for programs that use it.
    pub env: Vec<(String, String)>,
    keyring: Child,
    bus: Child,
}

impl Keyring {
    pub fn start(dir: &Path) -> Self {
        let dbus = crate::require("dbus-daemon", "dbus-daemon");
        let daemon = crate::require("gnome-keyring-daemon", "gnome-keyring");
        let _ = std::fs::remove_dir_all(dir);
        let (data, runtime) = (dir.join("data"), dir.join("runtime"));
        std::fs::create_dir_all(&data).expect("keyring data dir");
        std::fs::create_dir_all(&runtime).expect("keyring runtime dir");
        let socket = dir.join("bus");
        let address = format!("unix:path={}", socket.display());
        let bus = Command::new(dbus)
            .args(["--session", "--nofork", "--nopidfile", "--address"])
            .arg(&address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        wait(|| socket.exists(), "the session bus");
        let env = vec![
            ("DBUS_SESSION_BUS_ADDRESS".to_owned(), address),
            ("XDG_DATA_HOME".to_owned(), data.display().to_string()),
            ("XDG_RUNTIME_DIR".to_owned(), runtime.display().to_string()),
        ];
        let mut keyring = Command::new(daemon)
            .args(["--foreground", "--unlock", "--components=secrets"])
            .envs(env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon");
        // The login keyring's password, then end of input: the daemon creates and unlocks it.
        if let Some(mut stdin) = keyring.stdin.take() {
            let _ = stdin.write_all(b"switchboard-test");
        }
        let this = Self { env, keyring, bus };
        wait(|| this.owns_secrets(), "the Secret Service");
        this
    }

    fn owns_secrets(&self) -> bool {
        Command::new("dbus-send")
            .args([
                "--session",
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.freedesktop.secrets",
            ])
            .envs(self.env.iter().cloned())
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
    }
}

impl Drop for Keyring {
    fn drop(&mut self) {
        for child in [&mut self.keyring, &mut self.bus] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait(ready: impl Fn() -> bool, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}
