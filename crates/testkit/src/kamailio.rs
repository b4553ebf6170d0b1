//! Kamailio as the contact center's trunk: a registrar with digest authentication and a proxy
//! that routes calls between registered users, on a loopback port of its own.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Kamailio {
    pub port: u16,
    child: Child,
    log: Arc<Mutex<String>>,
    _dir: PathBuf,
}

const MODULES: &[&str] = &[
    "tm",
    "sl",
    "rr",
    "pv",
    "maxfwd",
    "usrloc",
    "registrar",
    "textops",
    "siputils",
    "sanity",
    "auth",
    "xlog",
    // Control socket for kamcmd: lets a test make the trunk forget a registration.
    "ctl",
];

impl Kamailio {
    /// Starts Kamailio with these `(user, password)` accounts.
    pub fn start(dir: &std::path::Path, users: &[(&str, &str)]) -> Self {
        Self::start_on(dir, crate::net::free_port(), users)
    }

    /// Starts on a given port: a restart of a trunk that was killed, same address, empty
    /// memory (registrations are kept in memory only).
    pub fn start_on(dir: &std::path::Path, port: u16, users: &[(&str, &str)]) -> Self {
        let binary = crate::require("kamailio", "kamailio");
        std::fs::create_dir_all(dir).expect("kamailio dir");
        let cfg_path = dir.join("kamailio.cfg");
        let ctl = ctl_socket(dir);
        std::fs::write(&cfg_path, config(port, users, &ctl)).expect("write kamailio.cfg");
        // Its own process group: Kamailio forks workers that outlive a killed main process.
        let mut child = Command::new(binary)
            .process_group(0)
            .args(["-f"])
            .arg(&cfg_path)
            .args(["-DD", "-E", "-n", "1", "-Y"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start kamailio");
        let log = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        if let Some(stderr) = child.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains("SO_RCVBUF is finally") {
                        let _ = ready_tx.send(());
                    }
                    if let Ok(mut l) = log.lock() {
                        l.push_str(&line);
                        l.push('\n');
                    }
                }
            });
        }
        let k = Self {
            port,
            child,
            log,
            _dir: dir.to_owned(),
        };
        if ready_rx.recv_timeout(Duration::from_secs(10)).is_err() {
            panic!("kamailio did not start listening; log:\n{}", k.log());
        }
        // The UDP receivers start right after the buffer probe.
        std::thread::sleep(Duration::from_millis(200));
        k
    }

    pub fn uri(&self) -> String {
        format!("sip:127.0.0.1:{}", self.port)
    }

    /// A user's address at this trunk, as phones dial it.
    pub fn user_uri(&self, user: &str) -> String {
        format!("sip:{user}@127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Drops every registration of `user`, as a registrar that lost its memory (a failover to
    /// a standby, a flushed database) would, without going away.
    pub fn forget(&self, user: &str) {
        let socket = format!("unix:{}", ctl_socket(&self._dir).display());
        let status = Command::new("kamcmd")
            .args(["-s", &socket, "ul.rm", "location", user])
            .status()
            .expect("run kamcmd");
        assert!(
            status.success(),
            "kamcmd ul.rm failed; log:\n{}",
            self.log()
        );
    }

    /// Waits until the log mentions `needle` (Kamailio logs each REGISTER it saves).
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian installs the modules under the multiarch library directory.
fn module_dir() -> String {
    let found = std::fs::read_dir("/usr/lib")
        .ok()
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path().join("kamailio/modules"))
        .find(|p| p.join("tm.so").exists());
    match found {
        Some(dir) => dir.display().to_string(),
        None => panic!(
            "Kamailio modules not found under /usr/lib/*/kamailio/modules: run ./scripts/setup"
        ),
    }
}

fn ctl_socket(dir: &std::path::Path) -> PathBuf {
    dir.join("ctl.sock")
}

fn config(port: u16, users: &[(&str, &str)], ctl: &std::path::Path) -> String {
    let mpath = module_dir();
    let ctl = ctl.display();
    let modules: String = MODULES
        .iter()
        .map(|m| format!("loadmodule \"{m}.so\"\n"))
        .collect();
    let passwords: String = users
        .iter()
        .map(|(u, p)| format!("    if ($fU == \"{u}\") {{ $var(pw) = \"{p}\"; }}\n"))
        .collect();
    format!(
        r#"#!KAMAILIO
debug=2
log_stderror=yes
children=2
auto_aliases=no
listen=udp:127.0.0.1:{port}
alias="127.0.0.1:{port}"
mpath="{mpath}/"
{modules}
modparam("usrloc", "db_mode", 0)
modparam("ctl", "binrpc", "unix:{ctl}")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (!sanity_check()) {{ exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here");
        exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{ sl_send_reply("200", "Keepalive"); exit; }}
    route(AUTH);
    if (is_method("REGISTER")) {{
        if (!save("location")) {{ sl_reply_error(); }}
        xlog("L_INFO", "saved registration of $fU\n");
        exit;
    }}
    if (is_method("INVITE")) {{ record_route(); }}
    if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
    t_relay();
}}

route[AUTH] {{
    $var(pw) = "";
{passwords}    if ($var(pw) == "" || !pv_auth_check("$fd", "$var(pw)", "0", "1")) {{
        auth_challenge("$fd", "1");
        exit;
    }}
    consume_credentials();
}}
"#
    )
}
