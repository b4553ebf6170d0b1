//! A desktop without a screen or a sound card: Xvfb, a D-Bus session bus, PulseAudio with null
//! sinks, and tauri-driver (which runs WebKitWebDriver) to drive the real app.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::pulse::Pulse;

/// A process stopped when the handle drops.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Desktop {
    pub display: String,
    pub runtime_dir: PathBuf,
    /// Environment for programs that should see this display and these audio devices.
    pub env: Vec<(String, String)>,
    /// The sound server, its speaker and microphone the defaults.
    pub pulse: Pulse,
    _bus: Guard,
    _x: Guard,
}

impl Desktop {
    pub fn start(dir: &Path) -> Self {
        let xvfb = crate::require("Xvfb", "xvfb");
        let number = (90..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .expect("a free X display number");
        let display = format!(":{number}");
        let x = Command::new(xvfb)
            .args([&display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let x = Guard(x);
        wait_for(
            &format!("/tmp/.X11-unix/X{number}"),
            Duration::from_secs(10),
        );

        // The session bus a desktop has: the app finds its running instance on it.
        let dbus = crate::require("dbus-daemon", "dbus-daemon");
        let bus_path = dir.join("session-bus");
        let _ = std::fs::remove_file(&bus_path);
        let bus_address = format!("unix:path={}", bus_path.display());
        let bus = Command::new(dbus)
            .args(["--session", "--nofork", "--nopidfile", "--address"])
            .arg(&bus_address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let bus = Guard(bus);
        wait_for(&bus_path.display().to_string(), Duration::from_secs(10));

        let pulse = Pulse::start(dir);
        let runtime_dir = dir.join("runtime");
        let mut env = vec![
            ("DISPLAY".to_owned(), display.clone()),
            ("DBUS_SESSION_BUS_ADDRESS".to_owned(), bus_address),
            // WebKitGTK's DMA-BUF renderer draws nothing under Xvfb.
            ("WEBKIT_DISABLE_DMABUF_RENDERER".to_owned(), "1".to_owned()),
        ];
        env.extend(pulse.env.iter().cloned());
        Self {
            display,
            runtime_dir,
            env,
            pulse,
            _bus: bus,
            _x: x,
        }
    }
}

impl Desktop {
    /// Starts a notification server on this desktop (dunst), stopped when the guard drops.
    pub fn notification_server(&self) -> impl Drop {
        let dunst = crate::require("dunst", "dunst");
        crate::require("dunstctl", "dunst");
        let child = Command::new(dunst)
            .envs(self.env.iter().cloned())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dunst");
        let guard = Guard(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.dunstctl(&["is-paused"]).is_empty() {
            assert!(
                Instant::now() < deadline,
                "dunst did not take the session bus"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        guard
    }

    /// Runs dunstctl against this desktop's notification server; its output.
    pub fn dunstctl(&self, args: &[&str]) -> String {
        Command::new("dunstctl")
            .args(args)
            .envs(self.env.iter().cloned())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    }

    /// Presses keys on this desktop's keyboard (xdotool syntax: `ctrl+alt+a`).
    pub fn press(&self, keys: &str) {
        let xdotool = crate::require("xdotool", "xdotool");
        let ok = Command::new(xdotool)
            .args(["key", keys])
            .envs(self.env.iter().cloned())
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "xdotool key {keys} failed");
    }

    /// Saves the whole screen as PNG. (WebKitWebDriver's own screenshot waits for a
    /// presentation update that never comes under Xvfb, so the X server is asked instead.)
    pub fn screenshot(&self, path: &Path) {
        let import = crate::require("import", "imagemagick");
        let ok = Command::new(import)
            .args(["-display", &self.display, "-window", "root"])
            .arg(path)
            .status();
        assert!(
            ok.is_ok_and(|s| s.success()),
            "screenshot {} failed",
            path.display()
        );
    }
}

fn wait_for(path: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !Path::new(path).exists() {
        assert!(Instant::now() < deadline, "{path} did not appear");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// tauri-driver on loopback ports, launching the app with `env`. It runs in a process group of
/// its own, and the whole group (WebKitWebDriver and the app with it) is stopped on drop: ending
/// the WebDriver session does not end a Tauri app.
pub struct TauriDriver {
    pub port: u16,
    child: Child,
}

impl Drop for TauriDriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        std::thread::sleep(Duration::from_millis(300));
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl TauriDriver {
    pub fn start(env: &[(String, String)], log: &Path) -> Self {
        let binary = find_tauri_driver();
        crate::require("WebKitWebDriver", "webkit2gtk-driver");
        let port = crate::net::free_port();
        let native = crate::net::free_port();
        let log = std::fs::File::create(log).expect("driver log");
        let child = Command::new(binary)
            .process_group(0)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start tauri-driver");
        // tauri-driver forwards sessions to WebKitWebDriver, which it starts alongside itself:
        // both must listen before a session can be created.
        let deadline = Instant::now() + Duration::from_secs(20);
        for listening in [port, native] {
            while std::net::TcpStream::connect(("127.0.0.1", listening)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "tauri-driver or WebKitWebDriver did not listen on {listening}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Self { port, child }
    }
}

fn find_tauri_driver() -> PathBuf {
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|d| d.join("bin/tauri-driver"));
    match cargo_bin {
        Some(p) if p.exists() => p,
        _ => crate::require("tauri-driver", "cargo install tauri-driver --locked"),
    }
}
