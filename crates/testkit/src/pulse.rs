//! A PulseAudio server of a test's own, on null sinks: real sound devices for cpal on a machine
//! without a sound card. `spk` is the default speaker and `mic` the default microphone (fed by
//! playing into `micsrc`); more can be plugged and unplugged while a test runs.

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

pub struct Pulse {
    /// `XDG_RUNTIME_DIR` and `PULSE_SERVER` for programs that should use this server.
    pub env: Vec<(String, String)>,
    readers: Vec<Guard>,
}

/// A speaker and a microphone plugged in together, as a USB headset is.
pub struct Headset {
    /// The speaker's id (the sink's name).
    pub speaker: String,
    /// The microphone's id (the source's name); audio played into `feed` comes out of it.
    pub microphone: String,
    pub feed: String,
    modules: Vec<u32>,
}

impl Pulse {
    /// Starts the server with its runtime directory under `dir`.
    pub fn start(dir: &Path) -> Self {
        let runtime_dir = dir.join("runtime");
        std::fs::create_dir_all(&runtime_dir).expect("runtime dir");
        set_private(&runtime_dir);
        let env = vec![
            (
                "XDG_RUNTIME_DIR".to_owned(),
                runtime_dir.display().to_string(),
            ),
            (
                "PULSE_SERVER".to_owned(),
                format!("unix:{}/pulse/native", runtime_dir.display()),
            ),
        ];
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
        wait_for(&runtime_dir.join("pulse/native"), Duration::from_secs(10));
        let mut pulse = Self {
            env,
            readers: Vec::new(),
        };
        pulse.pactl(&["set-default-sink", "spk"]);
        pulse.pactl(&["set-default-source", "mic"]);
        pulse.keep_clocked("spk");
        pulse.keep_clocked("micsrc");
        pulse
    }

    /// Runs pactl against this server; its output.
    pub fn pactl(&self, args: &[&str]) -> String {
        let out = Command::new("pactl")
            .envs(self.env())
            .args(args)
            .output()
            .expect("run pactl");
        assert!(
            out.status.success(),
            "pactl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Plugs in a headset named `name`: a sink `NAME` and a source `NAME_mic`.
    pub fn plug_headset(&mut self, name: &str) -> Headset {
        let feed = format!("{name}_feed");
        let microphone = format!("{name}_mic");
        let load = |args: String| -> u32 {
            let parts: Vec<&str> = args.split(' ').collect();
            let mut command = vec!["load-module"];
            command.extend(parts);
            self.pactl(&command).trim().parse().expect("module index")
        };
        let modules = vec![
            load(format!(
                "module-null-sink sink_name={name} rate=48000 sink_properties=device.description=Headset-{name}"
            )),
            load(format!("module-null-sink sink_name={feed} rate=48000")),
            load(format!(
                "module-virtual-source source_name={microphone} master={feed}.monitor"
            )),
        ];
        self.keep_clocked(name);
        self.keep_clocked(&feed);
        Headset {
            speaker: name.to_owned(),
            microphone,
            feed,
            modules,
        }
    }

    /// Sends what the default speaker plays into the default microphone, `latency_ms` later:
    /// a loudspeaker heard by the microphone beside it.
    pub fn loop_speaker_into_microphone(&self, latency_ms: u32) {
        self.pactl(&[
            "load-module",
            "module-loopback",
            "source=spk.monitor",
            "sink=micsrc",
            &format!("latency_msec={latency_ms}"),
        ]);
    }

    /// Unplugs a headset: its sink and source disappear at once.
    pub fn unplug(&self, headset: &Headset) {
        for module in headset.modules.iter().rev() {
            self.pactl(&["unload-module", &module.to_string()]);
        }
    }

    /// Records what is played to `sink` (48 kHz mono, raw) until the handle drops.
    pub fn record(&self, sink: &str, path: &Path) -> Recording {
        let file = std::fs::File::create(path).expect("recording file");
        let child = Command::new("parec")
            .envs(self.env())
            .args([
                "--latency-msec=10",
                "--rate=48000",
                "--channels=1",
                "--format=s16le",
                "-d",
            ])
            .arg(format!("{sink}.monitor"))
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("start parec");
        Recording {
            _child: Guard(child),
            path: path.to_owned(),
        }
    }

    /// Plays a WAV file into `sink` (a microphone's feed), repeated until the handle drops.
    pub fn play_into(&self, sink: &str, wav: &Path) -> Playing {
        let script = format!(
            "while paplay --latency-msec=20 -d {sink} '{}'; do :; done",
            wav.display()
        );
        let child = Command::new("sh")
            .args(["-c", &script])
            .envs(self.env())
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start paplay");
        Playing(child)
    }

    fn env(&self) -> impl Iterator<Item = (&str, &str)> {
        self.env.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Without a reader on its monitor a null sink runs in 2-second blocks and cpal's
    /// callbacks stall.
    fn keep_clocked(&mut self, sink: &str) {
        let child = Command::new("parec")
            .envs(self.env())
            .args(["--latency-msec=10", "-d"])
            .arg(format!("{sink}.monitor"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start parec");
        self.readers.push(Guard(child));
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        self.readers.clear();
        // `pulseaudio -D` daemonised, so it is no child of ours: ask it to go.
        let _ = Command::new("pulseaudio")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("--kill")
            .status();
    }
}

/// A recording in progress.
pub struct Recording {
    _child: Guard,
    pub path: PathBuf,
}

impl Recording {
    /// What has been recorded so far, 48 kHz mono.
    pub fn samples(&self) -> Vec<i16> {
        let bytes = std::fs::read(&self.path).unwrap_or_default();
        bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect()
    }
}

/// A file being played in a loop; stops (the shell and its paplay) on drop.
pub struct Playing(Child);

impl Drop for Playing {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.0.wait();
    }
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
}

fn wait_for(path: &Path, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} did not appear",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
