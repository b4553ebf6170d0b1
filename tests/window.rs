//! The real app in a real window: built with the embedded UI, launched under Xvfb by
//! tauri-driver (WebKitWebDriver), registered at Kamailio, called by baresip. The test clicks
//! Answer and Hang up as an agent would and saves screenshots under test-output/window/.

use std::time::Duration;

use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::desktop::{Desktop, TauriDriver};
use switchboard_testkit::kamailio::Kamailio;
use switchboard_testkit::webdriver::Session;
use switchboard_testkit::{audio, output};

const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>";

#[test]
#[allow(clippy::assertions_on_constants)] // the constant is the build configuration
fn agent_answers_a_real_call_in_the_window_and_hangs_up() {
    assert!(
        cfg!(feature = "custom-protocol"),
        "build the app as shipped: cargo test --features custom-protocol (the README's test command does)"
    );
    let out = output::dir("window");
    let kamailio = Kamailio::start(&out, &[("agent1", "agent-pw"), ("customer", "customer-pw")]);
    let settings = out.join("settings.toml");
    std::fs::write(
        &settings,
        format!("[trunk]\nregistrar = \"sip:127.0.0.1:{}\"\nuser = \"agent1\"\npassword_env = \"SB_E2E_AGENT_PW\"\n", kamailio.port),
    )
    .expect("settings");

    let desktop = Desktop::start(&out);
    let mut env = desktop.env.clone();
    env.push((
        "SWITCHBOARD_SETTINGS".into(),
        settings.display().to_string(),
    ));
    env.push(("SB_E2E_AGENT_PW".into(), "agent-pw".into()));
    let driver = TauriDriver::start(&env, &out.join("tauri-driver.log"));
    let app = Session::start(
        driver.port,
        std::path::Path::new(env!("CARGO_BIN_EXE_switchboard")),
    );

    let badge = app.wait_text("[data-testid=registration]", Duration::from_secs(20), |t| {
        t == "Registered"
    });
    assert_eq!(badge, "Registered");
    assert!(app.exists("[data-testid=idle]"));
    desktop.screenshot(&out.join("1-registered.png"));

    // A caller whose display name is markup: it must show as text and create no element.
    let speech = audio::speech(
        &out,
        "customer",
        "Hello, can you hear me? I need help with my account.",
        2,
    );
    let dir = out.join("customer");
    let mut customer = Baresip::start_named(
        &dir,
        kamailio.port,
        "customer",
        "customer-pw",
        Some(HOSTILE_NAME),
        &speech,
    );
    customer.dial(&kamailio.user_uri("agent1"));

    let caller = app.wait_text("[data-testid=caller]", Duration::from_secs(15), |t| {
        !t.is_empty()
    });
    assert_eq!(
        caller, HOSTILE_NAME,
        "display name must render verbatim as text"
    );
    assert!(
        !app.exists("img"),
        "the display name was interpreted as markup"
    );
    assert_eq!(
        app.script("return window.__pwned === undefined"),
        serde_json::Value::Bool(true)
    );
    app.wait_text("[data-testid=phase]", Duration::from_secs(5), |t| {
        t == "Incoming call"
    });
    desktop.screenshot(&out.join("2-incoming.png"));

    let answer = app.wait_element("[data-testid=answer]", Duration::from_secs(5));
    app.click(&answer);
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "Connected"
    });
    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    // The call timer runs.
    let timer = app.wait_text("[data-testid=timer]", Duration::from_secs(5), |t| {
        t.starts_with("0:0") && t != "0:00"
    });
    desktop.screenshot(&out.join("3-connected.png"));

    let hangup = app.wait_element("[data-testid=hangup]", Duration::from_secs(5));
    app.click(&hangup);
    customer.wait_event("CALL_CLOSED", Duration::from_secs(10));
    app.wait_element("[data-testid=idle]", Duration::from_secs(10));
    desktop.screenshot(&out.join("4-ended.png"));
    eprintln!("timer showed {timer}; screenshots in {}", out.display());
    drop(app);
    drop(driver);
    drop(desktop);
}
