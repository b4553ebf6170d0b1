//! A desktop without a screen or a sound card: Xvfb, PulseAudio with null sinks, and
//! tauri-driver (which runs WebKitWebDriver) to drive the real app.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    // Dropped last-to-first: monitors, pulse, X.
    _children: Vec<Guard>,
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
        let mut children = vec![Guard(x)];
        wait_for(
            &format!("/tmp/.X11-unix/X{number}"),
            Duration::from_secs(10),
        );

        let runtime_dir = dir.join("runtime");
        std::fs::create_dir_all(&runtime_dir).expect("runtime dir");
        set_private(&runtime_dir);
        let env = vec![
            ("DISPLAY".to_owned(), display.clone()),
            (
                "XDG_RUNTIME_DIR".to_owned(),
                runtime_dir.display().to_string(),
            ),
            (
                "PULSE_SERVER".to_owned(),
                format!("unix:{}/pulse/native", runtime_dir.display()),
            ),
            // WebKitGTK's DMA-BUF renderer draws nothing under Xvfb.
            ("WEBKIT_DISABLE_DMABUF_RENDERER".to_owned(), "1".to_owned()),
        ];
        children.extend(start_pulse(&env, &runtime_dir));
        Self {
            display,
            runtime_dir,
            env,
            _children: children,
        }
    }
}

/// PulseAudio with a null speaker sink and a microphone fed from another null sink, as real cpal
/// devices through ALSA's pulse plugin. Readers on both monitors keep the sinks clocked.
fn start_pulse(env: &[(String, String)], runtime_dir: &Path) -> Vec<Guard> {
    let pulseaudio = crate::require("pulseaudio", "pulseaudio");
    let status = Command::new(pulseaudio)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args([
            "-D",
            "-n",
            "--exit-idle-time=-1",
            "--disallow-exit",
            "--use-pid-file=yes",
            "--load=module-native-protocol-unix",
            "--load=module-null-sink sink_name=spk rate=48000",
            "--load=module-null-sink sink_name=micsrc rate=48000",
            "--load=module-virtual-source source_name=mic master=micsrc.monitor",
            "--load=module-always-sink",
        ])
        .status()
        .expect("start pulseaudio");
    assert!(status.success(), "pulseaudio failed to start");
    wait_for(
        &runtime_dir.join("pulse/native").display().to_string(),
        Duration::from_secs(10),
    );
    for (what, name) in [("set-default-sink", "spk"), ("set-default-source", "mic")] {
        let ok = Command::new("pactl")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args([what, name])
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "pactl {what} {name} failed");
    }
    let mut guards = Vec::new();
    for monitor in ["spk.monitor", "micsrc.monitor"] {
        let child = Command::new("parec")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .args(["--latency-msec=10", "-d", monitor])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start parec");
        guards.push(Guard(child));
    }
    guards
}

impl Desktop {
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

impl Drop for Desktop {
    fn drop(&mut self) {
        // `pulseaudio -D` daemonised, so it is no child of ours: ask it to go.
        let _ = Command::new("pulseaudio")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("--kill")
            .status();
    }
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
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
