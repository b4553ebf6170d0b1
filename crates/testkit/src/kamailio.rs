//! Kamailio as the contact center's trunk: a registrar with digest authentication and a proxy
//! that routes calls between registered users, on a loopback port of its own.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Kamailio {
    /// UDP and TCP.
    pub port: u16,
    /// TLS, when started with a certificate.
    pub tls_port: Option<u16>,
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

/// A certificate and its key (PEM files) for Kamailio's TLS listener.
pub struct TlsFiles {
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// How to start the trunk. `port` 0 picks a free one; TLS listens on the port after it.
#[derive(Default)]
pub struct Setup<'a> {
    pub port: u16,
    pub users: &'a [(&'a str, &'a str)],
    pub tls: Option<&'a TlsFiles>,
    /// Registrations shorter than this are refused with 423 Interval Too Brief.
    pub min_expires: Option<u32>,
    /// The digest algorithm of its challenges: `MD5` (the default) or `SHA-256`.
    pub algorithm: Option<&'a str>,
    /// Counts nonce uses (`nonce_count`): a nonce is taken again only with a higher nc.
    pub nonce_count: bool,
    /// A carrier that hands calls to the trunk from this address without digest
    /// authentication (peering by IP address, as carriers do).
    pub carrier: Option<std::net::IpAddr>,
}

impl Kamailio {
    /// Starts Kamailio with these `(user, password)` accounts, on UDP and TCP.
    pub fn start(dir: &std::path::Path, users: &[(&str, &str)]) -> Self {
        Self::start_on(dir, crate::net::free_port(), users)
    }

    /// Starts on a given port: a restart of a trunk that was killed, same address, empty
    /// memory (registrations are kept in memory only).
    pub fn start_on(dir: &std::path::Path, port: u16, users: &[(&str, &str)]) -> Self {
        Self::launch(
            dir,
            &Setup {
                port,
                users,
                ..Setup::default()
            },
        )
    }

    pub fn launch(dir: &std::path::Path, setup: &Setup<'_>) -> Self {
        let binary = crate::require("kamailio", "kamailio");
        if setup.tls.is_some() {
            assert!(
                Path::new(&module_dir()).join("tls.so").exists(),
                "Kamailio's tls module is missing: run ./scripts/setup (kamailio-tls-modules)"
            );
        }
        let port = match setup.port {
            0 => crate::net::free_port_pair(),
            p => p,
        };
        let tls_port = setup.tls.map(|_| port + 1);
        std::fs::create_dir_all(dir).expect("kamailio dir");
        let cfg_path = dir.join("kamailio.cfg");
        let ctl = ctl_socket(dir);
        let tls_cfg = match setup.tls {
            Some(files) => {
                let path = dir.join("tls.cfg");
                std::fs::write(&path, tls_config(files)).expect("write tls.cfg");
                Some(path)
            }
            None => None,
        };
        let mut params = String::new();
        if let Some(min) = setup.min_expires {
            params.push_str(&format!(
                "modparam(\"registrar\", \"min_expires\", {min})\n\
                 modparam(\"registrar\", \"min_expires_mode\", 1)\n"
            ));
        }
        if let Some(algorithm) = setup.algorithm {
            params.push_str(&format!(
                "modparam(\"auth\", \"algorithm\", \"{algorithm}\")\n"
            ));
        }
        if setup.nonce_count {
            params.push_str("modparam(\"auth\", \"nonce_count\", 1)\n");
        }
        let tls = tls_port.zip(tls_cfg.as_deref());
        let cfg = config(port, setup.users, &ctl, tls, &params, setup.carrier);
        std::fs::write(&cfg_path, cfg).expect("write kamailio.cfg");
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
            tls_port,
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

    pub fn tcp_uri(&self) -> String {
        format!("sip:127.0.0.1:{};transport=tcp", self.port)
    }

    /// The TLS listener's URI, for a trunk started with a certificate.
    pub fn tls_uri(&self) -> String {
        let port = self.tls_port.expect("Kamailio was started without TLS");
        format!("sips:127.0.0.1:{port}")
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

/// The certificate Kamailio shows; it asks none of its clients.
fn tls_config(files: &TlsFiles) -> String {
    format!(
        "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n\
         certificate = {}\nprivate_key = {}\n\n\
         [client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n",
        files.certificate.display(),
        files.key.display()
    )
}

fn config(
    port: u16,
    users: &[(&str, &str)],
    ctl: &Path,
    tls: Option<(u16, &Path)>,
    params: &str,
    carrier: Option<std::net::IpAddr>,
) -> String {
    let authenticate = match carrier {
        Some(ip) => format!("if (is_method(\"REGISTER\") || $si != \"{ip}\") {{ route(AUTH); }}"),
        None => "route(AUTH);".to_owned(),
    };
    let mpath = module_dir();
    let ctl = ctl.display();
    // The TLS module goes first: it must set OpenSSL up before anything else uses it.
    let tls_module = if tls.is_some() {
        "loadmodule \"tls.so\"\n"
    } else {
        ""
    };
    let modules: String = MODULES
        .iter()
        .map(|m| format!("loadmodule \"{m}.so\"\n"))
        .collect();
    let (tls_listen, tls_param) = match tls {
        Some((tls_port, cfg)) => (
            format!("enable_tls=yes\nlisten=tls:127.0.0.1:{tls_port}\n"),
            format!("modparam(\"tls\", \"config\", \"{}\")\n", cfg.display()),
        ),
        None => (String::new(), String::new()),
    };
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
listen=tcp:127.0.0.1:{port}
{tls_listen}alias="127.0.0.1:{port}"
mpath="{mpath}/"
{tls_module}{modules}
{tls_param}{params}modparam("usrloc", "db_mode", 0)
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
    {authenticate}
    if (is_method("REGISTER")) {{
        if (!save("location")) {{ sl_reply_error(); }}
        xlog("L_INFO", "saved registration of $fU\n");
        exit;
    }}
    if (is_method("INVITE")) {{ record_route(); }}
    # Calls to addresses elsewhere go out as a gateway would send them.
    if (uri != myself) {{ t_relay(); exit; }}
    if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
    t_relay();
}}

route[AUTH] {{
    $var(pw) = "";
{passwords}    if ($var(pw) == "" || !pv_auth_check("$fd", "$var(pw)", "0", "1")) {{
        xlog("L_INFO", "challenged $rm of $fU\n");
        auth_challenge("$fd", "1");
        exit;
    }}
    xlog("L_INFO", "authenticated $rm of $fU\n");
    consume_credentials();
}}
"#
    )
}
