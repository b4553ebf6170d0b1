//! Secrets through a real OS keychain (gnome-keyring's Secret Service on a private session
//! bus): stored, read back, used by the CRM connector as a header, deleted. One test in this
//! binary: it points the process at the test's bus.

use std::time::Duration;

use switchboard_desk::crm::{CrmAnswer, CrmConnector};
use switchboard_desk::keychain::{self, KeychainError};
use switchboard_desk::settings::CrmSettings;
use switchboard_testkit::http::{HttpServer, Response};
use switchboard_testkit::keyring::Keyring;

#[tokio::test]
async fn a_crm_token_in_the_keychain_reaches_the_crm_and_nowhere_else() {
    let out = switchboard_testkit::output::dir("desk_keychain");
    let keyring = Keyring::start(&out.join("keyring"));
    for (name, value) in &keyring.env {
        // The only test in this binary sets it before anything reads it.
        std::env::set_var(name, value);
    }
    const TOKEN: &str = "Bearer kc-7f3a9e";
    keychain::store("crm-token", TOKEN).expect("stored in the keychain");
    assert_eq!(keychain::read("crm-token").expect("read back"), TOKEN);

    let server =
        HttpServer::start(|_| Response::json(200, &serde_json::json!({"name": "Sam Ortiz"})));
    let settings: CrmSettings = toml::from_str(&format!(
        "url = \"{}\"\n[headers]\nAuthorization = {{ keychain = \"crm-token\" }}\n",
        server.url("/c/{phone}")
    ))
    .expect("settings");
    let config = settings
        .connector(&switchboard_desk::settings::SystemSecrets)
        .expect("the keychain has the token");
    let crm = CrmConnector::new(config).expect("crm");
    let answer = tokio::time::timeout(Duration::from_secs(5), crm.look_up("+14155550187"))
        .await
        .expect("in time");
    assert!(matches!(answer, Ok(CrmAnswer::Found(_))), "{answer:?}");
    assert_eq!(server.requests()[0].header("authorization"), Some(TOKEN));

    // Nowhere on disk in the clear: not in any file the test made, the keyring's own
    // (encrypted) file included.
    assert!(
        !switchboard_testkit::output::holds(&out, TOKEN.as_bytes()),
        "the token was written to a file in the clear"
    );

    keychain::delete("crm-token").expect("deleted");
    assert!(matches!(
        keychain::read("crm-token"),
        Err(KeychainError::Missing(_))
    ));
    let err = settings
        .connector(&switchboard_desk::settings::SystemSecrets)
        .expect_err("no token any more");
    assert!(err.contains("crm-token") && !err.contains(TOKEN), "{err}");
    keychain::delete("crm-token").expect("deleting what is gone is fine");
}
