//! baresip as the customer's (or the expert's) phone: registered at the trunk, playing a WAV
//! file, recording what it hears (sndfile), and driven over its ctrl_tcp JSON interface.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Presented in From.
    pub display_name: Option<String>,
    /// Answers every incoming call at once (an expert ready to take transfers).
    pub auto_answer: bool,
    /// The only codec offered and accepted, as baresip names it ("PCMU/8000"); Opus when unset.
    pub codec: Option<String>,
    /// Media encryption as baresip names it: "srtp" (best effort), "srtp-mand" (RTP/SAVP
    /// only) or "dtls_srtp"; plain RTP when unset.
    pub mediaenc: Option<String>,
    /// Talk on the default sound devices through ALSA (the pulse plugin), with baresip's
    /// speech preprocessing (speex_pp: noise suppression and gain control), instead of files;
    /// the environment names the PulseAudio server to use.
    pub devices: Option<Vec<(String, String)>>,
}

pub struct Baresip {
    child: Child,
    ctrl: TcpStream,
    pending: Vec<u8>,
    /// Events seen so far (ctrl_tcp "event" objects).
    pub events: Vec<Value>,
    pub record_dir: PathBuf,
    /// Where it listens for SIP (UDP, 127.0.0.1).
    pub sip_port: u16,
    dir: PathBuf,
}

impl Baresip {
    /// Starts baresip in `dir` (created if need be) registered as `user`/`password` at the
    /// trunk on `trunk_port`, sending
    /// `source` (a 48 kHz stereo WAV: baresip's Opus runs two channels).
    pub fn start(dir: &Path, trunk_port: u16, user: &str, password: &str, source: &Path) -> Self {
        Self::start_with(dir, trunk_port, user, password, source, Options::default())
    }

    /// As [`Baresip::start`], presenting `display_name` in From.
    pub fn start_named(
        dir: &Path,
        trunk_port: u16,
        user: &str,
        password: &str,
        display_name: Option<&str>,
        source: &Path,
    ) -> Self {
        let options = Options {
            display_name: display_name.map(str::to_owned),
            ..Options::default()
        };
        Self::start_with(dir, trunk_port, user, password, source, options)
    }

    pub fn start_with(
        dir: &Path,
        trunk_port: u16,
        user: &str,
        password: &str,
        source: &Path,
        options: Options,
    ) -> Self {
        let display_name = options.display_name.as_deref();
        let answermode = if options.auto_answer {
            ";answermode=auto"
        } else {
            ""
        };
        let mediaenc = options
            .mediaenc
            .as_deref()
            .map(|m| format!(";mediaenc={m}"))
            .unwrap_or_default();
        let encryption_modules = match options.mediaenc.as_deref() {
            Some("dtls_srtp") => "module dtls_srtp.so\n",
            Some(_) => "module srtp.so\n",
            None => "",
        };
        let binary = crate::require("baresip", "baresip");
        let sip_port = crate::net::free_port_pair();
        let ctrl_port = crate::net::free_port();
        let record_dir = dir.join("baresip-heard");
        let display = display_name
            .map(|d| format!("\"{d}\" "))
            .unwrap_or_default();
        std::fs::create_dir_all(&record_dir).expect("record dir");
        let audio = match options.devices {
            Some(_) => "audio_source alsa,default\n\
                 audio_alert alsa,default\n\
                 audio_player alsa,default\n\
                 module alsa.so\n\
                 module speex_pp.so\n"
                .to_owned(),
            None => format!(
                "audio_source aufile,{source}\n\
                 audio_alert aufile,{source}\n\
                 audio_player aufile,/dev/null\n",
                source = source.display()
            ),
        };
        let config = format!(
            "sip_listen 127.0.0.1:{sip_port}\n\
             net_interface 127.0.0.1\n\
             {audio}\
             module_path /usr/lib/baresip/modules\n\
             module opus.so\n\
             module g711.so\n\
             module aufile.so\n\
             module sndfile.so\n\
             {encryption_modules}\
             snd_path {record}\n\
             module_app account.so\n\
             module_app menu.so\n\
             module_app ctrl_tcp.so\n\
             ctrl_tcp_listen 127.0.0.1:{ctrl_port}\n",
            record = record_dir.display(),
        );
        std::fs::write(dir.join("config"), config).expect("baresip config");
        std::fs::write(
            dir.join("accounts"),
            format!(
                "{display}<sip:{user}@127.0.0.1:{trunk_port}>;auth_pass={password};regint=120;audio_codecs={codec}{answermode}{mediaenc}\n",
                codec = options.codec.as_deref().unwrap_or("opus/48000/2"),
            ),
        )
        .expect("baresip accounts");
        let log = std::fs::File::create(dir.join("baresip.log")).expect("log file");
        let env = options.devices.unwrap_or_default();
        let child = Command::new(binary)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg("-f")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start baresip");
        let ctrl = connect(ctrl_port, Duration::from_secs(10)).unwrap_or_else(|| {
            panic!(
                "baresip ctrl_tcp did not come up; log:\n{}",
                std::fs::read_to_string(dir.join("baresip.log")).unwrap_or_default()
            )
        });
        let b = Self {
            child,
            ctrl,
            pending: Vec::new(),
            events: Vec::new(),
            record_dir,
            sip_port,
            dir: dir.to_owned(),
        };
        // REGISTER_OK may fire before ctrl_tcp accepts us: read the outcome from the log.
        let registered = format!("{user}@127.0.0.1: {{0/UDP/v4}} 200 OK");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !b.log().contains(&registered) {
            assert!(
                Instant::now() < deadline,
                "baresip did not register; log:\n{}",
                b.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        b
    }

    /// The process id, to read its CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn dial(&mut self, uri: &str) {
        self.command("dial", uri);
    }

    pub fn hangup(&mut self) {
        self.command("hangup", "");
    }

    pub fn answer(&mut self) {
        self.command("accept", "");
    }

    /// Puts the current call on hold (re-INVITE with sendonly).
    pub fn hold(&mut self) {
        self.command("hold", "");
    }

    pub fn resume(&mut self) {
        self.command("resume", "");
    }

    /// Sends DTMF keys on the current call (RFC 4733 events).
    pub fn send_keys(&mut self, keys: &str) {
        for key in keys.chars() {
            self.command("sndcode", &key.to_string());
        }
    }

    /// Quits baresip and waits for it (up to 5 s), so that its recordings are complete:
    /// killed, libsndfile loses what it buffered.
    pub fn quit(&mut self) {
        self.command("quit", "");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("baresip.log")).unwrap_or_default()
    }

    pub fn command(&mut self, command: &str, params: &str) {
        let body =
            serde_json::json!({"command": command, "params": params, "token": command}).to_string();
        let frame = format!("{}:{},", body.len(), body);
        self.ctrl
            .write_all(frame.as_bytes())
            .expect("ctrl_tcp write");
    }

    /// Waits for a ctrl_tcp event of this type (CALL_ESTABLISHED, CALL_CLOSED...).
    pub fn wait_event(&mut self, kind: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(v) = self.next_message() {
                let is_event = v.get("event").and_then(Value::as_bool) == Some(true);
                if is_event {
                    self.events.push(v.clone());
                    if v.get("type").and_then(Value::as_str) == Some(kind) {
                        return v;
                    }
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!(
                    "baresip: no {kind} within {timeout:?}; events {:#?}\nlog:\n{}",
                    self.events,
                    self.log()
                );
            }
            let _ = self
                .ctrl
                .set_read_timeout(Some(left.min(Duration::from_millis(200))));
            let mut buf = [0u8; 8192];
            match self.ctrl.read(&mut buf) {
                Ok(0) => panic!("baresip closed ctrl_tcp; log:\n{}", self.log()),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(_) => {}
            }
        }
    }

    /// Pops one netstring-framed JSON message if a whole one is buffered.
    fn next_message(&mut self) -> Option<Value> {
        let colon = self.pending.iter().position(|&b| b == b':')?;
        let len: usize = std::str::from_utf8(&self.pending[..colon])
            .ok()?
            .parse()
            .ok()?;
        let end = colon + 1 + len;
        if self.pending.len() < end + 1 {
            return None;
        }
        let value = serde_json::from_slice(&self.pending[colon + 1..end]).unwrap_or(Value::Null);
        self.pending.drain(..=end);
        Some(value)
    }

    /// The WAV files sndfile wrote of what baresip decoded (heard).
    pub fn heard_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.record_dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.retain(|p| p.to_string_lossy().contains("dec"));
        files.sort();
        files
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn connect(port: u16, timeout: Duration) -> Option<TcpStream> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
