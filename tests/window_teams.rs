//! Escalation to Teams experts in the real window. The agent signs in to Microsoft 365 with a
//! device code shown in the window (the identity platform and Graph are the HTTPS stand-in;
//! the sign-in is kept in gnome-keyring's Secret Service); the Billing group's members arrive
//! with their Teams presence and business numbers, and someone else is found by name in the
//! Teams directory. With baresip as the customer: an expert who has gone Busy is not dialled
//! unless the agent insists (and a call that fails says so); the one who is Available is
//! consulted, her presence read again just before, and the call completed to her over the
//! trunk (Kamailio, dialling her E.164 number as Direct Routing does); then a blind transfer.
//! When Graph goes away the panel says so and shows the last known presence with its age;
//! sign-out empties the keychain, and signing in again goes through the system browser.
//! Screenshots go to test-output/window_teams/.

use std::time::Duration;

mod common;

use common::{browser, eventually, launch};
use switchboard_desk::keychain::{self, KeychainError};
use switchboard_desk::teams_vault::entry_name;
use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::desktop::Desktop;
use switchboard_testkit::kamailio::Kamailio;
use switchboard_testkit::keyring::Keyring;
use switchboard_testkit::microsoft::{body_json, MicrosoftCloud};
use switchboard_testkit::tls::TestCa;
use switchboard_testkit::webdriver::Session;
use switchboard_testkit::{audio, output};

const TENANT: &str = "contoso.onmicrosoft.com";
const CLIENT: &str = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346";
const CUSTOMER: &str = "4155550187";
/// Priya's Teams number, as the trunk routes it (Direct Routing: E.164).
const PRIYA_NUMBER: &str = "+14155550100";

/// Clicks `action` (consult, transfer) on the expert row named `name`.
fn click_expert(app: &Session, name: &str, action: &str) {
    let clicked = app.script(&format!(
        "const row = Array.from(document.querySelectorAll('[data-testid=expert]')) \
           .find(e => e.querySelector('[data-testid=expert-name]').textContent === {name:?}); \
         if (!row) return false; \
         row.querySelector('[data-testid=expert-{action}]').click(); return true"
    ));
    assert_eq!(clicked, serde_json::json!(true), "no expert row {name}");
}

/// Each expert row's name, presence label, staleness note and presence tone.
fn expert_rows(app: &Session) -> serde_json::Value {
    app.script(
        "return Array.from(document.querySelectorAll('[data-testid=expert]')).map(e => { \
           const badge = e.querySelector('[data-testid=expert-presence]'); \
           return [e.querySelector('[data-testid=expert-name]').textContent, badge.textContent, \
                   badge.parentElement.textContent, badge.className]; })",
    )
}

/// The next `kind` event of `phone` whose peer's URI contains `peer` (older ones are passed).
fn wait_peer(phone: &mut Baresip, kind: &str, peer: &str) -> serde_json::Value {
    loop {
        let event = phone.wait_event(kind, Duration::from_secs(15));
        if event["peeruri"].as_str().is_some_and(|p| p.contains(peer)) {
            return event;
        }
    }
}

fn row_of(rows: &serde_json::Value, name: &str) -> Vec<String> {
    rows.as_array()
        .into_iter()
        .flatten()
        .find(|r| r[0] == name)
        .and_then(|r| r.as_array())
        .map(|r| {
            r.iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn escalation_to_teams_experts_goes_by_their_live_presence() {
    let out = output::dir("window_teams");
    let kamailio = Kamailio::start(
        &out,
        &[
            ("agent1", "agent-pw"),
            (CUSTOMER, "customer-pw"),
            (PRIYA_NUMBER, "priya-pw"),
        ],
    );
    let ca = TestCa::create(&out.join("ca"), "Graph test CA");
    let cloud = MicrosoftCloud::start(&ca.issue("cloud", &["IP:127.0.0.1"]), TENANT, CLIENT);
    cloud.device_interval(1);
    let priya = cloud.add_user(
        "Priya Raman",
        "priya@contoso.com",
        "Billing specialist",
        &["+1 (415) 555-0100"],
    );
    let marco = cloud.add_user(
        "Marco Silva",
        "marco@contoso.com",
        "Billing lead",
        &["+1 415 555 0111"],
    );
    let chen = cloud.add_user(
        "陈静 Chen Jing",
        "chen@contoso.com",
        "Number porting",
        &["+1 415 555 0122"],
    );
    cloud.set_presence(&priya, "Available", "Available");
    cloud.set_presence(&marco, "Busy", "InACall");
    cloud.set_presence(&chen, "Away", "Away");
    cloud.add_group("g-billing", &[priya.clone(), marco.clone()]);

    let settings = out.join("settings.toml");
    std::fs::write(
        &settings,
        format!(
            "[trunk]\nregistrar = \"sip:127.0.0.1:{}\"\nuser = \"agent1\"\npassword_env = \"SB_E2E_AGENT_PW\"\n\
             [agent]\nwrap_up_secs = 0\n\
             [teams]\ntenant = \"{TENANT}\"\nclient_id = \"{CLIENT}\"\nlogin_base = \"{}\"\n\
             graph_base = \"{}\"\nca_file = \"{}\"\ndesks = 1\n\
             [[teams.skill_groups]]\nskill = \"Billing\"\ngroup = \"g-billing\"\n",
            kamailio.port,
            cloud.login_base(),
            cloud.graph_base(),
            ca.certificate.display()
        ),
    )
    .expect("settings");

    // The OS keychain: the app and this test both reach it on its bus.
    let keyring = Keyring::start(&out.join("keyring"));
    // The only test in this binary sets it before anything reads it.
    let bus = common::keyring_bus(&keyring);
    let desktop = Desktop::start(&out);
    let mut env = desktop.env.clone();
    for (dir, var) in [("config", "XDG_CONFIG_HOME"), ("data", "XDG_DATA_HOME")] {
        let path = out.join(dir);
        let _ = std::fs::remove_dir_all(&path);
        env.push((var.into(), path.display().to_string()));
    }
    env.push(("DBUS_SESSION_BUS_ADDRESS".into(), bus));
    // The system browser, as xdg-open finds it without a desktop environment: curl, following
    // the sign-in page's redirect back to the app's loopback listener.
    let browser = browser(
        &out,
        &format!(
            "curl -sS -L --max-redirs 2 --cacert '{}' \"$1\" >> '{}' 2>&1 &",
            ca.certificate.display(),
            out.join("browser.log").display()
        ),
    );
    env.push(("BROWSER".into(), browser.display().to_string()));
    env.push(("SB_E2E_AGENT_PW".into(), "agent-pw".into()));
    let (driver, app) = launch(&env, &out, &settings);

    app.wait_text("[data-testid=registration]", Duration::from_secs(20), |t| {
        t == "Registered"
    });
    app.select("[data-testid=agent-state]", "available");
    let toggle = app.wait_element("[data-testid=show-experts]", Duration::from_secs(2));
    app.click(&toggle);

    // Sign-in with a code: the window shows the code and the link; the user enters it.
    app.wait_element(
        "[data-testid=teams][data-state=signedOut]",
        Duration::from_secs(10),
    );
    let code_button = app.wait_element("[data-testid=teams-sign-in-code]", Duration::from_secs(2));
    app.click(&code_button);
    let code = app.wait_text(
        "[data-testid=teams-user-code]",
        Duration::from_secs(10),
        |t| !t.is_empty(),
    );
    let link = app.wait_text("[data-testid=teams-link]", Duration::from_secs(2), |_| true);
    assert!(link.ends_with("/devicelogin"), "{link}");
    desktop.screenshot(&out.join("1-device-code.png"));
    assert!(
        cloud.enter_device_code(&code, true),
        "the code {code} was issued"
    );
    let account = app.wait_text(
        "[data-testid=teams-account]",
        Duration::from_secs(15),
        |t| t.contains("device-user@contoso.com"),
    );
    assert!(!account.contains('<'), "{account}");
    let kept = keychain::read(&entry_name(TENANT)).expect("the sign-in is in the keychain");
    let live = cloud.live_refresh_tokens();
    assert!(
        live.iter().any(|t| kept.contains(t)),
        "the live refresh token is what is kept"
    );
    for token in &live {
        // Not in the app's log (tauri-driver.log), nor in any other file the test made.
        assert!(
            !switchboard_testkit::output::holds(&out, token.as_bytes()),
            "a refresh token is in a file"
        );
    }

    // The Billing group's members, with live presence (one desk: a round every 10 s).
    eventually(
        30,
        || {
            let rows = expert_rows(&app);
            row_of(&rows, "Priya Raman").get(1).map(String::as_str) == Some("Available")
                && row_of(&rows, "Marco Silva")
                    .get(1)
                    .is_some_and(|p| p.starts_with("Busy"))
        },
        || format!("presence did not arrive: {}", expert_rows(&app)),
    );
    desktop.screenshot(&out.join("2-teams-experts.png"));

    // Someone outside the groups, found in the Teams directory by name, with presence.
    let search = app.wait_element("[data-testid=expert-search]", Duration::from_secs(2));
    app.send_keys(&search, "chen");
    let find = app.wait_element("[data-testid=search-teams]", Duration::from_secs(2));
    app.click(&find);
    let found = app.wait_text(
        "[data-testid=teams-results]",
        Duration::from_secs(10),
        |t| t.contains("Chen Jing"),
    );
    assert!(
        found.contains("Away") && found.contains("Number porting"),
        "{found}"
    );
    desktop.screenshot(&out.join("2b-teams-search.png"));
    app.script(
        "const s = document.querySelector('[data-testid=expert-search]'); s.value = ''; \
         s.dispatchEvent(new Event('input', { bubbles: true })); return true",
    );

    let speech = |name: &str, text: &str| audio::speech(&out, name, text, 2);
    let mut customer = Baresip::start(
        &out.join("customer"),
        kamailio.port,
        CUSTOMER,
        "customer-pw",
        &speech(
            "customer",
            "Hello, I was billed twice this month and I would like to understand why. \
             I have the invoice here and can read you the reference if that helps.",
        ),
    );
    let mut expert = Baresip::start_named(
        &out.join("expert"),
        kamailio.port,
        PRIYA_NUMBER,
        "priya-pw",
        Some("Priya Raman"),
        &speech(
            "expert",
            "Billing desk, Priya speaking. I can see the duplicate charge on the account \
             and I will refund it today. Is there anything else I can help with?",
        ),
    );
    let answer_customer = |customer: &mut Baresip| {
        customer.dial(&kamailio.user_uri("agent1"));
        let answer = app.wait_element("[data-testid=answer]", Duration::from_secs(15));
        app.click(&answer);
        app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
            t == "Connected"
        });
        wait_peer(customer, "CALL_ESTABLISHED", "agent1");
    };
    answer_customer(&mut customer);

    // Marco is Busy: the fresh read says so and he is not dialled unless the agent insists.
    click_expert(&app, "Marco Silva", "consult");
    let check = app.wait_text(
        "[data-testid=escalation-check]",
        Duration::from_secs(10),
        |t| t.contains("Marco Silva is now Busy"),
    );
    assert!(check.contains("Call anyway"), "{check}");
    assert!(
        !app.exists("[data-testid=consult-bar]"),
        "Marco was not dialled"
    );
    desktop.screenshot(&out.join("3-expert-not-free.png"));
    // The agent calls him anyway; his number is not on the trunk: the outcome is said and the
    // agent is back with the caller.
    let anyway = app.wait_element("[data-testid=escalate-anyway]", Duration::from_secs(2));
    app.click(&anyway);
    app.wait_text("[data-testid=notice]", Duration::from_secs(15), |t| {
        t == "The call to Marco Silva failed: back with the caller"
    });
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "Connected"
    });
    eventually(
        10,
        || !app.exists("[data-testid=consult-bar]"),
        || "the failed consultation is still shown".into(),
    );

    // Priya: her presence read again, then consult and complete.
    let before = cloud.graph_requests().len();
    click_expert(&app, "Priya Raman", "consult");
    expert.wait_event("CALL_INCOMING", Duration::from_secs(10));
    let reread: Vec<serde_json::Value> = cloud.graph_requests()[before..]
        .iter()
        .filter(|r| r.target.ends_with("/getPresencesByUserId"))
        .map(|r| body_json(r)["ids"].clone())
        .collect();
    assert!(
        reread.contains(&serde_json::json!([priya])),
        "Priya's presence read again before dialling: {reread:?}"
    );
    expert.answer();
    wait_peer(&mut expert, "CALL_ESTABLISHED", "agent1");
    app.wait_text("[data-testid=consult-bar]", Duration::from_secs(10), |t| {
        t.contains("on the line")
    });
    desktop.screenshot(&out.join("4-consulting-teams-expert.png"));
    let complete = app.wait_element("[data-testid=complete-transfer]", Duration::from_secs(2));
    app.click(&complete);
    // The customer's new call (replacing the consultation) rings at the expert's phone.
    wait_peer(&mut expert, "CALL_INCOMING", CUSTOMER);
    expert.answer();
    wait_peer(&mut expert, "CALL_ESTABLISHED", CUSTOMER);
    app.wait_text("[data-testid=idle]", Duration::from_secs(15), |t| {
        t == "Waiting for calls"
    });
    customer.hangup();
    wait_peer(&mut expert, "CALL_CLOSED", CUSTOMER);

    // Blind transfer to Priya.
    answer_customer(&mut customer);
    click_expert(&app, "Priya Raman", "transfer");
    expert.wait_event("CALL_INCOMING", Duration::from_secs(10));
    expert.answer();
    // The customer was sent on to the expert.
    wait_peer(&mut expert, "CALL_ESTABLISHED", CUSTOMER);
    app.wait_text("[data-testid=idle]", Duration::from_secs(15), |t| {
        t == "Waiting for calls"
    });

    // Graph goes away: the panel says so and shows the last known presence, not as free.
    cloud.graph_outage(true);
    app.wait_text(
        "[data-testid=presence-problem]",
        Duration::from_secs(30),
        |t| t.contains("cannot be read"),
    );
    let rows = expert_rows(&app);
    let p = row_of(&rows, "Priya Raman");
    assert_eq!(p.get(1).map(String::as_str), Some("Available"), "{rows}");
    assert!(
        p.get(2)
            .is_some_and(|t| t.contains("last known") || t.contains("min ago")),
        "{rows}"
    );
    assert!(
        p.get(3).is_some_and(|c| !c.contains("ok")),
        "not in the free colour: {rows}"
    );
    desktop.screenshot(&out.join("5-presence-outage.png"));

    // Sign-out takes the sign-in out of the keychain.
    let sign_out = app.wait_element("[data-testid=teams-sign-out]", Duration::from_secs(2));
    app.click(&sign_out);
    app.wait_element(
        "[data-testid=teams][data-state=signedOut]",
        Duration::from_secs(10),
    );
    assert!(matches!(
        keychain::read(&entry_name(TENANT)),
        Err(KeychainError::Missing(_))
    ));

    // Signing in again, in the system browser this time (PKCE, the loopback redirect).
    cloud.browser_signed_in_as(Some("agent7@contoso.com"));
    let sign_in = app.wait_element("[data-testid=teams-sign-in]", Duration::from_secs(2));
    app.click(&sign_in);
    app.wait_text(
        "[data-testid=teams-account]",
        Duration::from_secs(20),
        |t| t.contains("agent7@contoso.com"),
    );
    assert!(keychain::read(&entry_name(TENANT)).is_ok(), "kept again");
    drop(app);
    drop(driver);
    drop(desktop);
    drop(keyring);
}
