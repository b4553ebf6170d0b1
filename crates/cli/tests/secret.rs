//! `switchboard-cli secret` against a real keychain (gnome-keyring on a private session bus):
//! IT stores a CRM token without it touching a file, checks it, removes it.

use std::io::Write;
use std::process::{Command, Stdio};

use switchboard_testkit::keyring::Keyring;

fn cli(keyring: &Keyring, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-cli"))
        .args(args)
        .envs(keyring.env.iter().cloned())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switchboard-cli");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("output");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

#[test]
fn a_secret_is_set_checked_and_deleted_and_never_printed() {
    let out = switchboard_testkit::output::dir("cli_secret");
    let keyring = Keyring::start(&out.join("keyring"));
    const TOKEN: &str = "Bearer cli-91c2";

    let (code, stdout, stderr) = cli(
        &keyring,
        &["secret", "set", "crm-token"],
        &format!("{TOKEN}\n"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("\"stored\":true") && !stdout.contains(TOKEN),
        "{stdout}"
    );

    let (code, stdout, _) = cli(&keyring, &["secret", "check", "crm-token"], "");
    assert_eq!(code, 0);
    assert!(
        stdout.contains("\"present\":true") && !stdout.contains(TOKEN),
        "{stdout}"
    );

    let (code, _, stderr) = cli(&keyring, &["secret", "set", "empty"], "\n");
    assert_ne!(code, 0, "an empty secret is refused");
    assert!(stderr.contains("no secret"), "{stderr}");

    let (code, _, _) = cli(&keyring, &["secret", "delete", "crm-token"], "");
    assert_eq!(code, 0);
    let (code, stdout, _) = cli(&keyring, &["secret", "check", "crm-token"], "");
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("\"present\":false"), "{stdout}");
}

#[test]
fn without_a_keychain_the_error_says_so() {
    let out = switchboard_testkit::output::dir("cli_secret_none");
    let bus = out.join("no-bus");
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard-cli"))
        .args(["secret", "check", "crm-token"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}", bus.display()),
        )
        .output()
        .expect("switchboard-cli");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("keychain cannot be reached"), "{stderr}");
}
