//! `switchboard-cli provision` against a real keychain (gnome-keyring on a private session
//! bus): a provisioning file's secret goes to the keychain and its settings to the settings
//! file, the old file kept aside; nothing printed or written holds the secret; a bad file
//! changes nothing.

mod common;

use common::run;
use switchboard_testkit::keyring::Keyring;

#[test]
fn a_provisioning_file_sets_the_desk_up_and_keeps_its_secret_in_the_keychain() {
    let out = switchboard_testkit::output::dir("cli_provision");
    let keyring = Keyring::start(&out.join("keyring"));
    const PASSWORD: &str = "trunk-pw-5b81e0";
    let settings = out.join("config/switchboard/settings.toml");
    std::fs::create_dir_all(settings.parent().expect("a parent")).expect("config dir");
    std::fs::write(&settings, "[ui]\nlanguage = \"en\"\n").expect("old settings");

    // A bad file: refused, and neither the keychain nor the settings change.
    let bad = out.join("bad.toml");
    std::fs::write(
        &bad,
        format!("[settings.trunk]\nregistrar = 5\n[secrets]\ntrunk-password = \"{PASSWORD}\"\n"),
    )
    .expect("bad file");
    let (code, stdout, stderr) = run(
        &keyring.env,
        &[
            "provision",
            &bad.display().to_string(),
            "--settings",
            &settings.display().to_string(),
        ],
        "",
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("registrar"), "{stderr}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    let (code, _, _) = run(&keyring.env, &["secret", "check", "trunk-password"], "");
    assert_eq!(code, 3, "nothing stored");
    std::fs::remove_file(&bad).expect("the bad file goes (it holds the secret)");
    assert_eq!(
        std::fs::read_to_string(&settings).expect("settings"),
        "[ui]\nlanguage = \"en\"\n"
    );

    let file = out.join("provision.toml");
    std::fs::write(
        &file,
        format!(
            "[settings.trunk]\nregistrar = \"sips:trunk.contoso.com\"\nuser = \"agent7\"\n\
             password_keychain = \"trunk-password\"\nsrtp = \"required\"\n\
             [secrets]\ntrunk-password = \"{PASSWORD}\"\n"
        ),
    )
    .expect("provisioning file");
    let (code, stdout, stderr) = run(
        &keyring.env,
        &[
            "provision",
            &file.display().to_string(),
            "--settings",
            &settings.display().to_string(),
            "--remove",
        ],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    let done: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(done["secrets"], serde_json::json!(["trunk-password"]));
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    assert!(
        !file.exists(),
        "--remove deleted the file that held the secret"
    );

    let written = switchboard_desk::Settings::load(&settings).expect("valid settings");
    let trunk = written.trunk.expect("a trunk");
    assert_eq!(trunk.user.as_deref(), Some("agent7"));
    assert_eq!(trunk.password_keychain.as_deref(), Some("trunk-password"));
    let backup = out.join("config/switchboard/settings.toml.bak");
    assert_eq!(
        std::fs::read_to_string(&backup).expect("the old file kept"),
        "[ui]\nlanguage = \"en\"\n"
    );
    let (code, stdout, _) = run(&keyring.env, &["secret", "check", "trunk-password"], "");
    assert_eq!(code, 0, "{stdout}");
    assert!(
        !switchboard_testkit::output::holds(&out, PASSWORD.as_bytes()),
        "the password is in a file in the clear"
    );
}
