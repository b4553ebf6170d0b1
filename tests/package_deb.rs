//! The .deb as IT installs it: `dpkg -i`, the files it puts on the machine (the binary, the
//! desktop entry that handles `tel:` and `sip:` links, the icons, the example policy), a machine
//! policy in `/etc/switchboard/` with the trunk laid in by `switchboard --write-policy` (what the
//! Windows installers run), the installed app launched under Xvfb with tauri-driver, its
//! locked settings read-only and a practice call taken; then `dpkg -r`, and nothing of it left
//! in `/usr`. On the way the installed app updates itself from an HTTPS server on loopback:
//! a package whose signature does not match is refused, the signed one installed. The .rpm
//! built beside it is read with rpm for the same files and dependencies.
//!
//! The packages come from `./scripts/package --debug`, which the test command runs first, so
//! the installed binary is the one the other tests ran.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::eventually;
use switchboard_testkit::desktop::{Desktop, TauriDriver};
use switchboard_testkit::http::{HttpServer, Response};
use switchboard_testkit::output;
use switchboard_testkit::tls::TestCa;
use switchboard_testkit::webdriver::Session;

const POLICY: &str = "/etc/switchboard/policy.toml";
const INSTALLED: &str = "/usr/bin/switchboard";

/// Which build's packages are tested: the debug build the test command packages, or with
/// `SWITCHBOARD_PACKAGES=release` the release packages `./scripts/package` makes.
fn profile() -> &'static str {
    match std::env::var("SWITCHBOARD_PACKAGES").as_deref() {
        Ok("release") => "release",
        _ => "debug",
    }
}

fn bundle(kind: &str, name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(profile())
        .join("bundle")
        .join(kind)
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: build it with ./scripts/package --debug (the test command does)",
        path.display()
    );
    path
}

/// Runs a command as root (directly when we are root, else through sudo without a prompt).
fn root(program: &str, args: &[&str]) -> std::process::Output {
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"));
    let mut command = if as_root {
        Command::new(program)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", program]);
        sudo
    };
    command
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"))
}

fn ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the package and the policy however the test ends: the machine is left as it was.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = root("dpkg", &["--remove", "switchboard"]);
        let _ = root("rm", &["-rf", "/etc/switchboard"]);
    }
}

#[test]
fn the_deb_installs_runs_under_policy_and_removes_cleanly() {
    let out = output::dir("package_deb");
    let version = env!("CARGO_PKG_VERSION");
    let deb = bundle("deb", &format!("Switchboard_{version}_amd64.deb"));
    let rpm = bundle("rpm", &format!("Switchboard-{version}-1.x86_64.rpm"));
    // The test installs, writes /etc/switchboard and removes both: on a machine that has
    // either already, it would take them away.
    assert!(
        !Path::new("/etc/switchboard").exists(),
        "/etc/switchboard is already there: this machine has a policy the test would replace"
    );
    assert!(
        installed_version().is_empty(),
        "switchboard is already installed here: the test would remove it"
    );
    eprintln!(
        "packages ({} build): .deb {:.1} MiB, .rpm {:.1} MiB",
        profile(),
        size_mib(&deb),
        size_mib(&rpm)
    );

    // The .rpm holds the same files and asks for the same libraries.
    let listing = ok(
        Command::new("rpm")
            .args(["-qpl", &rpm.display().to_string()])
            .output()
            .expect("rpm"),
        "rpm -qpl",
    );
    for file in [INSTALLED, "/usr/share/applications/Switchboard.desktop"] {
        assert!(
            listing.lines().any(|l| l == file),
            "{file} in the .rpm: {listing}"
        );
    }
    let requires = ok(
        Command::new("rpm")
            .args(["-qpR", &rpm.display().to_string()])
            .output()
            .expect("rpm"),
        "rpm -qpR",
    );
    assert!(requires.contains("opus") && requires.contains("webrtc-audio-processing"));

    let _installed = Installed;
    ok(
        root("dpkg", &["--install", &deb.display().to_string()]),
        "dpkg --install",
    );
    let status = ok(
        Command::new("dpkg")
            .args(["--status", "switchboard"])
            .output()
            .expect("dpkg"),
        "dpkg --status",
    );
    assert!(status.contains("Status: install ok installed"), "{status}");
    let installed_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("Installed-Size: "))
        .and_then(|s| s.trim().parse().ok())
        .expect("Installed-Size");
    eprintln!(
        "installed size ({} build): {:.1} MiB",
        profile(),
        installed_kib / 1024.0
    );

    // The files: the binary, the desktop entry with the link handlers, icons, the example.
    let files = ok(
        Command::new("dpkg")
            .args(["--listfiles", "switchboard"])
            .output()
            .expect("dpkg"),
        "dpkg --listfiles",
    );
    let binary = std::fs::metadata(INSTALLED).expect("the binary");
    assert!(std::os::unix::fs::PermissionsExt::mode(&binary.permissions()) & 0o111 != 0);
    // The package holds this build, not an older one left in target/ (the bundler patches a
    // few bytes of the binary, never its length).
    let built = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(profile())
        .join("switchboard");
    assert_eq!(
        binary.len(),
        std::fs::metadata(&built).expect("the build").len(),
        "the package is not of the current build: run ./scripts/package{}",
        if profile() == "debug" { " --debug" } else { "" }
    );
    let entry_path = "/usr/share/applications/Switchboard.desktop";
    let entry = std::fs::read_to_string(entry_path).expect("desktop entry");
    ok(
        Command::new("desktop-file-validate")
            .arg(entry_path)
            .output()
            .expect("validator"),
        "desktop-file-validate",
    );
    assert!(entry.lines().any(|l| l == "Exec=switchboard %u"), "{entry}");
    let mime = entry
        .lines()
        .find_map(|l| l.strip_prefix("MimeType="))
        .expect("MimeType");
    for scheme in ["tel", "sip", "sips", "callto", "switchboard"] {
        assert!(
            mime.split(';')
                .any(|m| m == format!("x-scheme-handler/{scheme}")),
            "{scheme} in {mime}"
        );
    }
    for icon in ["32x32", "128x128", "512x512"] {
        let path = format!("/usr/share/icons/hicolor/{icon}/apps/switchboard.png");
        assert!(files.lines().any(|l| l == path), "{path} in {files}");
    }
    let example = std::fs::read_to_string("/usr/share/switchboard/policy.example.toml")
        .expect("the example policy");
    assert!(example.contains("[locked.trunk]"));

    // An update server on loopback (HTTPS, a test CA) offering 0.1.1, signed with a key made
    // here; it first serves a signature that does not match the package.
    let update = UpdateServer::start(&out);

    // IT's policy: the wrap-up time and log level locked, a disposition list preset, updates
    // from that server under that key.
    ok(root("mkdir", &["-p", "/etc/switchboard"]), "mkdir");
    let staged = out.join("policy.toml");
    std::fs::write(
        &staged,
        format!(
            "[locked.agent]\nwrap_up_secs = 20\ndisposition_required = true\n\
             [defaults.agent]\ndispositions = [\"Solved\", \"Callback\"]\n\
             [locked.logging]\nlevel = \"debug\"\n{}",
            update.policy()
        ),
    )
    .expect("policy");
    ok(
        root(
            "install",
            &["-m", "0644", &staged.display().to_string(), POLICY],
        ),
        "install policy",
    );
    // What the Windows installers run with IT's properties: the trunk laid in, locked, the
    // rest of the policy kept. No line is provisioned yet, so the desk runs the practice line
    // and says why.
    let preset = ok(
        root(
            INSTALLED,
            &["--write-policy", "--trunk", "sip:127.0.0.1:5999", "--lock"],
        ),
        "switchboard --write-policy",
    );
    let preset: serde_json::Value = serde_json::from_str(preset.trim()).expect("report");
    assert_eq!(preset["policy"], POLICY);
    assert_eq!(preset["set"], serde_json::json!(["trunk.registrar"]));

    // The agent's own settings try to lengthen wrap-up; the lock wins.
    let mut desktop_env = Vec::new();
    let desktop = Desktop::start(&out);
    let _notifications = desktop.notification_server();
    desktop_env.extend(desktop.env.iter().cloned());
    for (dir, var) in [
        ("config", "XDG_CONFIG_HOME"),
        ("data", "XDG_DATA_HOME"),
        ("state", "XDG_STATE_HOME"),
    ] {
        desktop_env.push((var.into(), out.join(dir).display().to_string()));
    }
    let user = out.join("config/switchboard/settings.toml");
    std::fs::create_dir_all(user.parent().expect("parent")).expect("config dir");
    std::fs::write(
        &user,
        "[agent]\nwrap_up_secs = 90\n[ui]\nlanguage = \"en\"\n",
    )
    .expect("user");

    let launched = Instant::now();
    let driver = TauriDriver::start(&desktop_env, &out.join("tauri-driver.log"));
    let app = Session::start(driver.port, Path::new(INSTALLED));
    app.wait_text("[data-testid=registration]", Duration::from_secs(30), |t| {
        t == "Practice mode"
    });
    eprintln!(
        "installed app ({} build), launch to ready (tauri-driver started, window up, practice line registered): {} ms",
        profile(),
        launched.elapsed().as_millis()
    );

    // Locked settings are shown read-only, as the organization's.
    let toggle = app.wait_element("[data-testid=show-settings]", Duration::from_secs(2));
    app.click(&toggle);
    app.wait_element("[data-testid=settings]", Duration::from_secs(5));
    let rows = app.script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('[data-testid=setting]')) \
           .map(r => [r.dataset.key, [r.dataset.managed, \
                      r.querySelector('[data-testid=setting-value]').textContent]]))",
    );
    assert_eq!(
        rows["agent.wrap_up_secs"],
        serde_json::json!(["true", "20"]),
        "{rows}"
    );
    assert_eq!(
        rows["logging.level"],
        serde_json::json!(["true", "debug"]),
        "{rows}"
    );
    assert_eq!(
        rows["agent.dispositions"],
        serde_json::json!(["false", "Solved, Callback"])
    );
    assert_eq!(
        rows["trunk.registrar"],
        serde_json::json!(["true", "sip:127.0.0.1:5999"])
    );
    let problems = app.script(
        "return Array.from(document.querySelectorAll('[data-testid=settings-problem]')).map(p => p.textContent)",
    );
    assert!(
        problems[0]
            .as_str()
            .is_some_and(|p| p.contains("not provisioned yet") && p.contains("practice line")),
        "{problems}"
    );
    common::assert_settings_read_only(&app);
    desktop.screenshot(&out.join("1-installed-settings.png"));

    // The practice call: it rings, is answered, talks and ends into the locked wrap-up.
    app.wait_text("[data-testid=phase]", Duration::from_secs(20), |t| {
        t == "Incoming call"
    });
    let answer = app.wait_element("[data-testid=answer]", Duration::from_secs(2));
    app.click(&answer);
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "Connected"
    });
    std::thread::sleep(Duration::from_secs(2));
    let hangup = app.wait_element("[data-testid=hangup]", Duration::from_secs(2));
    app.click(&hangup);
    let left = app.wait_text("[data-testid=wrap-up-left]", Duration::from_secs(10), |t| {
        !t.is_empty()
    });
    // "0:20 left" at most: not the user's 90 s, nor the built-in 30 s.
    let secs: u32 = left
        .strip_prefix("0:")
        .and_then(|l| l.get(..2))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("wrap-up time {left:?}"));
    assert!((1..=20).contains(&secs), "the policy's 20 s: {left}");
    desktop.screenshot(&out.join("2-installed-wrap-up.png"));
    // The debug level the policy locks is what the installed app logs at.
    let log = out.join("state/switchboard/logs/switchboard.log");
    eventually(
        5,
        || std::fs::read_to_string(&log).is_ok_and(|l| l.contains("DEBUG")),
        || format!("no debug lines in {}", log.display()),
    );
    // The update the app found at start: a package whose signature does not match is not
    // installed; once the server has the right signature, it is.
    let status = || app.wait_element("[data-testid=updates]", Duration::from_secs(2));
    let state = |want: &'static str, secs: u64| {
        app.wait_text(
            "[data-testid=update-text]",
            Duration::from_secs(secs),
            |_| {
                app.script("return document.querySelector('[data-testid=updates]').dataset.state")
                    == want
            },
        )
    };
    status();
    let text = state("available", 20);
    assert!(text.contains("0.1.1"), "{text}");
    let install = app.wait_element("[data-testid=install-update]", Duration::from_secs(2));
    app.click(&install);
    let refused = state("failed", 60);
    assert!(refused.to_lowercase().contains("signature"), "{refused}");
    assert_eq!(
        installed_version(),
        version,
        "a bad signature installs nothing"
    );
    update.sign_correctly();
    let check = app.wait_element("[data-testid=check-update]", Duration::from_secs(2));
    app.click(&check);
    state("available", 20);
    let install = app.wait_element("[data-testid=install-update]", Duration::from_secs(2));
    app.click(&install);
    let done = state("installed", 120);
    assert!(done.contains("0.1.1"), "{done}");
    assert_eq!(installed_version(), "0.1.1");
    desktop.screenshot(&out.join("3-installed-update.png"));
    drop(app);
    drop(driver);
    drop(desktop);

    ok(root("dpkg", &["--remove", "switchboard"]), "dpkg --remove");
    assert!(!Path::new(INSTALLED).exists(), "the binary is gone");
    assert!(!Path::new(entry_path).exists(), "the desktop entry is gone");
    let left_over: Vec<&str> = files.lines().filter(|f| Path::new(f).is_file()).collect();
    assert!(left_over.is_empty(), "left behind: {left_over:?}");
}

fn installed_version() -> String {
    let out = Command::new("dpkg-query")
        .args(["--showformat=${Version}", "--show", "switchboard"])
        .output()
        .expect("dpkg-query");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs the Tauri CLI the project builds its packages with, from the project's root.
fn tauri(args: &[&str]) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("ui/node_modules/.bin/tauri"))
        .args(args)
        .current_dir(root)
        .output()
        .unwrap_or_else(|e| panic!("tauri {}: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "tauri {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An update source: 0.1.1 as a .deb (the same build, repackaged under the next version),
/// a minisign key made for the test, its manifest and package over HTTPS on loopback.
struct UpdateServer {
    server: HttpServer,
    ca: PathBuf,
    pubkey: String,
    signature: Arc<Mutex<String>>,
    good: String,
}

impl UpdateServer {
    fn start(out: &Path) -> Self {
        let mut repackage = vec!["bundle", "--ci", "--bundles", "deb"];
        repackage.extend((profile() == "debug").then_some("--debug"));
        tauri(&[&repackage[..], &["--config", r#"{"version":"0.1.1"}"#]].concat());
        let made = bundle("deb", "Switchboard_0.1.1_amd64.deb");
        // Out of the build's bundles (it is not a release): kept in the test's output.
        let next = out.join("Switchboard_0.1.1_amd64.deb");
        std::fs::rename(&made, &next).expect("move the update package");
        let _ = std::fs::remove_dir_all(made.with_extension(""));
        let key = out.join("update.key");
        let key_arg = key.display().to_string();
        tauri(&[
            "signer",
            "generate",
            "--ci",
            "--force",
            "--password",
            "",
            "--write-keys",
            &key_arg,
        ]);
        let sign = |file: &Path| {
            let file_arg = file.display().to_string();
            tauri(&[
                "signer",
                "sign",
                "--password",
                "",
                "--private-key-path",
                &key_arg,
                &file_arg,
            ]);
            std::fs::read_to_string(file.with_extension("deb.sig")).expect("the signature")
        };
        let good = sign(&next);
        // A genuine signature by the same key, of another package: what a swapped download
        // looks like.
        let other = out.join("other.deb");
        std::fs::copy(
            bundle(
                "deb",
                &format!("Switchboard_{}_amd64.deb", env!("CARGO_PKG_VERSION")),
            ),
            &other,
        )
        .expect("copy");
        let wrong = sign(&other);
        let pubkey = std::fs::read_to_string(key.with_extension("key.pub")).expect("public key");
        let tls = TestCa::create(&out.join("ca"), "Update test CA");
        let files = tls.issue("updates", &["IP:127.0.0.1"]);
        let package = std::fs::read(&next).expect("package");
        let signature = Arc::new(Mutex::new(wrong));
        let served = signature.clone();
        let port = Arc::new(std::sync::OnceLock::<u16>::new());
        let port_in = port.clone();
        let server = HttpServer::start_tls(&files, move |request| {
            let here = port_in.get().copied().unwrap_or(0);
            match request.target.as_str() {
                "/switchboard/linux-x86_64/0.1.0" => Response::json(
                    200,
                    &serde_json::json!({
                        "version": "0.1.1",
                        "notes": "Test release",
                        "pub_date": "2026-12-01T00:00:00Z",
                        "platforms": {"linux-x86_64-deb": {
                            "signature": served.lock().expect("signature").clone(),
                            "url": format!("https://127.0.0.1:{here}/packages/Switchboard_0.1.1_amd64.deb"),
                        }},
                    }),
                ),
                "/packages/Switchboard_0.1.1_amd64.deb" => Response {
                    status: 200,
                    headers: vec![(
                        "Content-Type".into(),
                        "application/vnd.debian.binary-package".into(),
                    )],
                    body: package.clone(),
                    delay: Duration::ZERO,
                },
                _ => Response::json(404, &serde_json::json!({})),
            }
        });
        let _ = port.set(server.port);
        Self {
            server,
            ca: tls.certificate.clone(),
            pubkey: pubkey.trim().to_owned(),
            signature,
            good,
        }
    }

    /// The `[locked.updates]` section pointing at this server.
    fn policy(&self) -> String {
        format!(
            "[locked.updates]\nendpoint = \"https://127.0.0.1:{}/switchboard/{{{{target}}}}-{{{{arch}}}}/{{{{current_version}}}}\"\n\
             pubkey = \"{}\"\nca_file = \"{}\"\n",
            self.server.port,
            self.pubkey,
            self.ca.display()
        )
    }

    fn sign_correctly(&self) {
        *self.signature.lock().expect("signature") = self.good.clone();
    }
}

fn size_mib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(0.0, |m| m.len() as f64 / 1_048_576.0)
}
