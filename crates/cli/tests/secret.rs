//! `switchboard-cli secret` against a real keychain (gnome-keyring on a private session bus):
//! IT stores a CRM token without it touching a file, checks it, removes it.

mod common;

use std::process::Command;

use common::run;
use switchboard_testkit::keyring::Keyring;

#[test]
fn a_secret_is_set_checked_and_deleted_and_never_printed() {
    let out = switchboard_testkit::output::dir("cli_secret");
    let keyring = Keyring::start(&out.join("keyring"));
    const TOKEN: &str = "Bearer cli-91c2";

    let (code, stdout, stderr) = run(
        &keyring.env,
        &["secret", "set", "crm-token"],
        &format!("{TOKEN}\n"),
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("\"stored\":true") && !stdout.contains(TOKEN),
        "{stdout}"
    );

    let (code, stdout, _) = run(&keyring.env, &["secret", "check", "crm-token"], "");
    assert_eq!(code, 0);
    assert!(
        stdout.contains("\"present\":true") && !stdout.contains(TOKEN),
        "{stdout}"
    );

    let (code, _, stderr) = run(&keyring.env, &["secret", "set", "empty"], "\n");
    assert_ne!(code, 0, "an empty secret is refused");
    assert!(stderr.contains("no secret"), "{stderr}");

    let (code, _, _) = run(&keyring.env, &["secret", "delete", "crm-token"], "");
    assert_eq!(code, 0);
    let (code, stdout, _) = run(&keyring.env, &["secret", "check", "crm-token"], "");
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

/// The trunk's password from the keychain: the agent registers at Kamailio with it, and with a
/// wrong one it is refused.
#[test]
fn the_agent_registers_with_the_password_from_the_keychain() {
    let out = switchboard_testkit::output::dir("cli_secret_trunk");
    let keyring = Keyring::start(&out.join("keyring"));
    let kamailio = switchboard_testkit::kamailio::Kamailio::start(&out, &[("agent1", "kc-pw-1")]);
    let registrar = format!("sip:127.0.0.1:{}", kamailio.port);
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let args = |name: &'static str| {
        vec![
            "agent",
            "--registrar",
            &registrar,
            "--user",
            "agent1",
            "--password-keychain",
            name,
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    let (code, _, stderr) = run(&keyring.env, &["secret", "set", "trunk"], "kc-pw-1\n");
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&keyring.env, &["secret", "set", "wrong"], "not-it\n");
    assert_eq!(code, 0, "{stderr}");

    let good = args("trunk");
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let mut agent =
        switchboard_testkit::cli_agent::CliAgent::start_with_env(binary, &good, "", &keyring.env);
    let registered = agent.wait("registered", 10);
    assert!(
        registered["expires"].as_u64().is_some_and(|e| e > 0),
        "{registered}"
    );
    agent.send("quit");

    let bad = args("wrong");
    let bad: Vec<&str> = bad.iter().map(String::as_str).collect();
    let mut refused =
        switchboard_testkit::cli_agent::CliAgent::start_with_env(binary, &bad, "", &keyring.env);
    let failed = refused.wait("registration_failed", 10);
    assert_eq!(failed["status"].as_u64(), Some(401), "{failed}");
    refused.send("quit");
}
