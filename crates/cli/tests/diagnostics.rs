//! `switchboard-cli diagnostics` on a desk with secrets in a real keychain (gnome-keyring on a
//! private session bus): the trunk's password, a CRM token and a Microsoft 365 sign-in. An old
//! log that leaked two of them and a bearer token is in the log directory. The bundle is read
//! back with Python's zipfile (another implementation than the one that wrote it): the parts
//! are there, the settings show where secrets come from and what the policy locks, the call's
//! quality is there without the customer, and no secret is in any file.

mod common;

use common::run;
use switchboard_desk::store::{CallRecord, Store};
use switchboard_testkit::keyring::Keyring;
use switchboard_testkit::zipfile;

const TRUNK_PASSWORD: &str = "trunk-pw-9c41d2";
const CRM_TOKEN: &str = "crm-token-77af03be";
const REFRESH_TOKEN: &str = "M.R3_BAY.refresh-0d9e8f7a6b";
const ACCESS_TOKEN: &str = "eyJ0eXAiOiJKV1Qi.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJl";

#[test]
fn a_bundle_has_the_desks_state_and_none_of_its_secrets() {
    let out = switchboard_testkit::output::dir("cli_diagnostics");
    let keyring = Keyring::start(&out.join("keyring"));
    let mut env = keyring.env.clone();
    let (logs, data) = (out.join("state/logs"), out.join("data"));
    let (settings, policy) = (out.join("settings.toml"), out.join("policy.toml"));
    env.extend([
        ("SWITCHBOARD_LOG_DIR".into(), logs.display().to_string()),
        ("XDG_DATA_HOME".into(), data.display().to_string()),
        (
            "SWITCHBOARD_SETTINGS".into(),
            settings.display().to_string(),
        ),
        ("SWITCHBOARD_POLICY".into(), policy.display().to_string()),
    ]);

    for (name, secret) in [
        ("trunk-password", TRUNK_PASSWORD.to_owned()),
        ("crm-token", CRM_TOKEN.to_owned()),
        (
            "microsoft365/contoso.test",
            format!(r#"{{"refresh_token":"{REFRESH_TOKEN}","account":"agent@contoso.test"}}"#),
        ),
    ] {
        let (code, _, stderr) = run(&env, &["secret", "set", name], &secret);
        assert_eq!(code, 0, "{stderr}");
    }
    std::fs::write(
        &settings,
        "[trunk]\nregistrar = \"sip:127.0.0.1:5060\"\nuser = \"agent7\"\n\
         password_keychain = \"trunk-password\"\n\
         [customers.crm]\nurl = \"https://127.0.0.1:9/c?phone={phone}\"\n\
         headers = { Authorization = { keychain = \"crm-token\" } }\n\
         [teams]\ntenant = \"contoso.test\"\nclient_id = \"11111111-2222-3333-4444-555555555555\"\n",
    )
    .expect("settings");
    std::fs::write(&policy, "[locked.trunk]\nsrtp = \"required\"\n").expect("policy");
    std::fs::create_dir_all(&logs).expect("logs");
    std::fs::write(
        logs.join("switchboard.log"),
        format!(
            "INFO registered as agent7\nDEBUG old build: password {TRUNK_PASSWORD}\n\
             DEBUG GET /me Authorization: Bearer {ACCESS_TOKEN}\nDEBUG refresh {REFRESH_TOKEN}\n\
             DEBUG crm header {CRM_TOKEN}\n"
        ),
    )
    .expect("old log");
    std::fs::write(logs.join("switchboard.1.log"), "INFO an older run\n").expect("older log");
    let store = Store::open(&data.join("switchboard/desk.sqlite3")).expect("store");
    store
        .call_offered(&CallRecord {
            id: "call-1".into(),
            direction: "inbound".into(),
            remote: "sip:+14155550142@127.0.0.1".into(),
            display_name: Some("Dana Whitfield".into()),
            phone: Some("+14155550142".into()),
            started_ms: 1_000,
        })
        .expect("offered");
    store.call_answered("call-1", 3_000).expect("answered");
    store
        .call_ended("call-1", 63_000, "remoteHangup", Some(4.21))
        .expect("ended");
    store
        .save_notes("call-1", "asked about the router")
        .expect("notes");
    drop(store);

    let bundle = out.join("bundle.zip");
    let (code, stdout, stderr) = run(
        &env,
        &["diagnostics", "--out", &bundle.display().to_string()],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect("report");
    assert_eq!(report["path"], bundle.display().to_string());
    assert_eq!(
        report["redacted"], 4,
        "password, bearer token, refresh token, CRM token: {report}"
    );
    for secret in [TRUNK_PASSWORD, CRM_TOKEN, REFRESH_TOKEN, ACCESS_TOKEN] {
        assert!(!stdout.contains(secret) && !stderr.contains(secret));
    }

    let files = zipfile::read(&bundle);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    for name in [
        "versions.json",
        "settings.json",
        "audio-devices.json",
        "calls.json",
        "logs/switchboard.log",
        "logs/switchboard.1.log",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    for (name, text) in &files {
        for secret in [TRUNK_PASSWORD, CRM_TOKEN, REFRESH_TOKEN, ACCESS_TOKEN] {
            assert!(!text.contains(secret), "{secret} in {name}:\n{text}");
        }
    }
    let log = &files["logs/switchboard.log"];
    assert!(log.contains("INFO registered as agent7") && log.contains("Authorization: [redacted]"));

    let settings: serde_json::Value = serde_json::from_str(&files["settings.json"]).expect("json");
    let row = |key: &str| {
        settings["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["key"] == key)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(row("trunk.password")["value"], "keychain: trunk-password");
    assert_eq!(row("trunk.srtp")["value"], "required");
    assert_eq!(row("trunk.srtp")["managed"], true);
    assert_eq!(row("trunk.user")["managed"], false);

    let calls: serde_json::Value = serde_json::from_str(&files["calls.json"]).expect("json");
    assert_eq!(calls[0]["id"], "call-1");
    assert_eq!(calls[0]["mos"], 4.21);
    let calls_text = &files["calls.json"];
    for private in ["Dana", "5550142", "router"] {
        assert!(!calls_text.contains(private), "{private} in {calls_text}");
    }
    let versions: serde_json::Value = serde_json::from_str(&files["versions.json"]).expect("json");
    assert_eq!(versions["switchboard-cli"], env!("CARGO_PKG_VERSION"));
    assert!(versions["platform"]
        .as_str()
        .is_some_and(|p| p.starts_with("linux")));
    let devices: serde_json::Value =
        serde_json::from_str(&files["audio-devices.json"]).expect("json");
    assert!(devices["microphones"].is_array() && devices["speakers"].is_array());
}
