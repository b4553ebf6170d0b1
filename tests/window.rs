//! The real app in a real window: built with the embedded UI, launched under Xvfb by
//! tauri-driver (WebKitWebDriver), registered at Kamailio, called by baresip. The test clicks
//! Answer and Hang up as an agent would, chooses a headset plugged in while the app runs, pulls
//! it out mid-call, and saves screenshots under test-output/window/.

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

    let mut desktop = Desktop::start(&out);
    let mut env = desktop.env.clone();
    // The remembered device choice goes here, not to the home directory.
    let config_home = out.join("config");
    env.push(("XDG_CONFIG_HOME".into(), config_home.display().to_string()));
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

    // A headset plugged in while the app runs shows up in the menus; choosing it as the
    // speaker is applied and remembered.
    let toggle = app.wait_element("[data-testid=show-devices]", Duration::from_secs(5));
    app.click(&toggle);
    app.wait_element("[data-testid=device-speaker]", Duration::from_secs(5));
    let headset = desktop.pulse.plug_headset("usbset");
    let labels = || speaker_options(&app);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while !labels()
        .iter()
        .any(|(_, label)| label.contains("Headset-usbset"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the headset never appeared: {:?}",
            labels()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let options = labels();
    assert!(options[0].1.starts_with("System default"), "{options:?}");
    let id = options
        .iter()
        .find(|(_, label)| label.contains("Headset-usbset"))
        .map(|(value, _)| value.clone())
        .expect("the headset's entry");
    app.script(&format!(
        "const s = document.querySelector('[data-testid=device-speaker]'); \
         s.value = {id:?}; s.dispatchEvent(new Event('change', {{ bubbles: true }})); return true"
    ));
    let remembered = config_home.join("switchboard/devices.toml");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&remembered).is_ok_and(|t| t.contains(&id)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the choice was not remembered"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        app.script("return document.querySelector('[data-testid=device-speaker]').value"),
        serde_json::Value::String(id.clone()),
        "the menu shows the choice the engine took"
    );
    desktop.screenshot(&out.join("1b-devices.png"));

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

    // The call plays on the chosen headset; pulled out, the call goes on and the agent is told.
    let plays_on = |sink: &str| {
        let sinks = desktop.pulse.pactl(&["list", "short", "sinks"]);
        let index = sinks
            .lines()
            .find(|l| l.split('\t').nth(1) == Some(sink))
            .and_then(|l| l.split('\t').next().map(str::to_owned));
        let inputs = desktop.pulse.pactl(&["list", "short", "sink-inputs"]);
        index.is_some_and(|i| inputs.lines().any(|l| l.split('\t').nth(1) == Some(&i)))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !plays_on(&headset.speaker) {
        assert!(
            std::time::Instant::now() < deadline,
            "the call is not on the headset"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    desktop.pulse.unplug(&headset);
    let notice = app.wait_text("[data-testid=notice]", Duration::from_secs(10), |t| {
        t.starts_with("Speaker:")
    });
    assert!(notice.contains("not connected"), "{notice}");
    assert!(app.exists("[data-testid=hangup]"), "the call goes on");
    desktop.screenshot(&out.join("3b-unplugged.png"));

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

/// The speaker menu's entries, (value, label), in order.
fn speaker_options(app: &Session) -> Vec<(String, String)> {
    let entries = app.script(
        "return Array.from(document.querySelectorAll('[data-testid=device-speaker] option'))\
         .map(o => [o.value, o.textContent])",
    );
    entries
        .as_array()
        .map(|list| {
            list.iter()
                .map(|pair| {
                    let at = |i: usize| pair[i].as_str().unwrap_or_default().to_owned();
                    (at(0), at(1))
                })
                .collect()
        })
        .unwrap_or_default()
}
