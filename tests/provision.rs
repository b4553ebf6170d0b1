//! `switchboard --provision FILE --remove`, the app's own way for IT to set a desk up: against a
//! real keychain (gnome-keyring on a private session bus), the secret is stored there, the
//! settings written, the file that held the secret deleted, and no window opens.

use std::process::Command;

use switchboard_desk::keychain;
use switchboard_testkit::keyring::Keyring;

#[test]
fn the_app_provisions_the_desk_from_a_file_without_opening_a_window() {
    let out = switchboard_testkit::output::dir("app_provision");
    let keyring = Keyring::start(&out.join("keyring"));
    const PASSWORD: &str = "app-trunk-pw-77d0";
    let settings = out.join("settings.toml");
    let file = out.join("provision.toml");
    std::fs::write(
        &file,
        format!(
            "[settings.trunk]\nregistrar = \"sip:127.0.0.1:5070\"\nuser = \"agent9\"\n\
             password_keychain = \"app-trunk-password\"\n\
             [secrets]\napp-trunk-password = \"{PASSWORD}\"\n"
        ),
    )
    .expect("provisioning file");
    let run = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["--provision", &file.display().to_string(), "--remove"])
        .envs(keyring.env.iter().cloned())
        .env("SWITCHBOARD_SETTINGS", &settings)
        // No display: provisioning must not need one.
        .env_remove("DISPLAY")
        .output()
        .expect("the app");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stdout.contains("app-trunk-password") && !stdout.contains(PASSWORD),
        "{stdout}"
    );
    assert!(!stderr.contains(PASSWORD));
    assert!(
        !file.exists(),
        "--remove deleted the file that held the secret"
    );
    let written = switchboard_desk::Settings::load(&settings).expect("valid settings");
    assert_eq!(
        written.trunk.and_then(|t| t.user).as_deref(),
        Some("agent9")
    );
    for (name, value) in &keyring.env {
        // The only test in this binary sets it before anything reads it.
        std::env::set_var(name, value);
    }
    assert_eq!(
        keychain::read("app-trunk-password").expect("in the keychain"),
        PASSWORD
    );
    assert!(!switchboard_testkit::output::holds(
        &out,
        PASSWORD.as_bytes()
    ));
}
