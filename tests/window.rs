//! The real app in a real window: built with the embedded UI, launched under Xvfb by
//! tauri-driver (WebKitWebDriver), registered at Kamailio, called by baresip. The agent goes
//! Available, chooses a headset plugged in while the app runs, gets a call whose number pops
//! the customer's record, answers, types notes, holds and resumes, pulls the headset out,
//! hangs up, files the call in wrap-up and is back to Available, as an agent would, by clicks
//! and keys. Screenshots of each screen go to test-output/window/.

use std::time::Duration;

mod common;

use common::{browser, eventually, launch, screen_pop_ms};
use switchboard_desk::store::Store;
use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::desktop::Desktop;
use switchboard_testkit::kamailio::Kamailio;
use switchboard_testkit::webdriver::Session;
use switchboard_testkit::{audio, output};

const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>";
/// The customer's number as the trunk sends it (national), and as the CRM export writes it.
const CUSTOMER: &str = "4155550187";
const CUSTOMERS_CSV: &str = "phone,name,account,tier,record_url,open_cases\n\
    +1 (415) 555-0187,Sam Ortiz,AC-2001,Gold,https://crm.invalid/customers/AC-2001,\
    CASE-7: Router drops calls\n";
const NOTES: &str = "Router drops calls every evening; replacing it.";

#[test]
#[allow(clippy::assertions_on_constants)] // the constant is the build configuration
fn agent_answers_a_real_call_in_the_window_and_hangs_up() {
    assert!(
        cfg!(feature = "custom-protocol"),
        "build the app as shipped: cargo test --features custom-protocol (the README's test command does)"
    );
    let out = output::dir("window");
    let kamailio = Kamailio::start(
        &out,
        &[
            ("agent1", "agent-pw"),
            (CUSTOMER, "customer-pw"),
            ("expert1", "expert-pw"),
        ],
    );
    let settings = out.join("settings.toml");
    std::fs::write(
        &settings,
        format!(
            "[trunk]\nregistrar = \"sip:127.0.0.1:{}\"\nuser = \"agent1\"\npassword_env = \"SB_E2E_AGENT_PW\"\n\
             [agent]\nwrap_up_secs = 120\ndisposition_required = true\n\
             [[experts]]\nname = \"Priya Raman\"\ntitle = \"Billing specialist\"\nskills = [\"Billing\"]\ntarget = \"{}\"\n\
             [[experts]]\nname = \"Alex Moreau\"\nskills = [\"Billing\", \"Escalations\"]\n",
            kamailio.port,
            kamailio.user_uri("expert1")
        ),
    )
    .expect("settings");
    // The customer store the app pops records from, filled as IT would from a CRM export.
    let data_home = out.join("data");
    let _ = std::fs::remove_dir_all(&data_home);
    let store_path = data_home.join("switchboard/desk.sqlite3");
    let report = Store::open(&store_path)
        .expect("store")
        .import_customers(CUSTOMERS_CSV.as_bytes(), &Default::default())
        .expect("import");
    assert_eq!(report.imported, 1);

    let mut desktop = Desktop::start(&out);
    let _notifications = desktop.notification_server();
    let mut env = desktop.env.clone();
    // The remembered device choice goes here, not to the home directory.
    let config_home = out.join("config");
    let _ = std::fs::remove_dir_all(&config_home);
    env.push(("XDG_CONFIG_HOME".into(), config_home.display().to_string()));
    env.push(("XDG_DATA_HOME".into(), data_home.display().to_string()));
    // The system browser, as xdg-open finds it on a desktop without a desktop environment:
    // here a script that writes down what it was asked to open.
    let opened = out.join("opened.txt");
    let _ = std::fs::remove_file(&opened);
    let browser = browser(&out, &format!("echo \"$1\" >> '{}'", opened.display()));
    env.push(("BROWSER".into(), browser.display().to_string()));
    env.push(("SB_E2E_AGENT_PW".into(), "agent-pw".into()));
    let (driver, app) = launch(&env, &out, &settings);

    let badge = app.wait_text("[data-testid=registration]", Duration::from_secs(20), |t| {
        t == "Registered"
    });
    assert_eq!(badge, "Registered");
    // A first run on a trunk starts offline: nobody rings through before the agent is ready.
    app.wait_text(
        "[data-testid=agent-state-badge]",
        Duration::from_secs(5),
        |t| t.starts_with("Offline"),
    );
    let idle = app.wait_text("[data-testid=idle]", Duration::from_secs(5), |_| true);
    assert!(idle.contains("choose Available"), "{idle}");
    desktop.screenshot(&out.join("1-registered-offline.png"));
    app.select("[data-testid=agent-state]", "available");
    app.wait_text(
        "[data-testid=agent-state-badge]",
        Duration::from_secs(5),
        |t| t.starts_with("Available"),
    );
    app.wait_text("[data-testid=idle]", Duration::from_secs(5), |t| {
        t == "Waiting for calls"
    });
    let saved_state = config_home.join("switchboard/agent_state.toml");
    let state_file = std::fs::read_to_string(&saved_state).unwrap_or_default();
    assert!(state_file.contains("available"), "{state_file:?}");
    desktop.screenshot(&out.join("1b-available.png"));
    let app_exe = std::path::Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let idle_memory = switchboard_testkit::memory::of(app_exe).expect("the app's memory");

    // A headset plugged in while the app runs shows up in the menus; choosing it as the
    // speaker is applied and remembered.
    let toggle = app.wait_element("[data-testid=show-devices]", Duration::from_secs(5));
    app.click(&toggle);
    app.wait_element("[data-testid=device-speaker]", Duration::from_secs(5));
    let headset = desktop.pulse.plug_headset("usbset");
    let labels = || speaker_options(&app);
    eventually(
        15,
        || {
            labels()
                .iter()
                .any(|(_, label)| label.contains("Headset-usbset"))
        },
        || format!("the headset never appeared: {:?}", labels()),
    );
    let options = labels();
    assert!(options[0].1.starts_with("System default"), "{options:?}");
    let id = options
        .iter()
        .find(|(_, label)| label.contains("Headset-usbset"))
        .map(|(value, _)| value.clone())
        .expect("the headset's entry");
    app.select("[data-testid=device-speaker]", &id);
    let remembered = config_home.join("switchboard/devices.toml");
    eventually(
        5,
        || std::fs::read_to_string(&remembered).is_ok_and(|t| t.contains(&id)),
        || "the choice was not remembered".into(),
    );
    assert_eq!(
        app.script("return document.querySelector('[data-testid=device-speaker]').value"),
        serde_json::Value::String(id.clone()),
        "the menu shows the choice the engine took"
    );
    desktop.screenshot(&out.join("1c-devices.png"));
    app.click(&toggle);

    // A caller whose display name is markup: it must show as text and create no element.
    let speech = audio::speech(
        &out,
        "customer",
        // baresip hangs up when its file ends: long enough for the whole call (about 25 s).
        "Hello, can you hear me? I need help with my account. My router drops every call I \
         make in the evening, usually around seven, and it has been like this for two weeks. \
         I already restarted it twice and changed the cable, but nothing helped. Could you \
         check the line, or send someone to look at it? I work from home and I need it.",
        2,
    );
    let dir = out.join("customer");
    let mut customer = Baresip::start_named(
        &dir,
        kamailio.port,
        CUSTOMER,
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
    // The number (sent national) is found in the store while the call rings.
    let name = app.wait_text("[data-testid=customer-name]", Duration::from_secs(5), |t| {
        !t.is_empty()
    });
    assert_eq!(name, "Sam Ortiz");
    let cases = app.wait_text(
        "[data-testid=customer-cases]",
        Duration::from_secs(2),
        |_| true,
    );
    assert!(cases.contains("CASE-7"), "{cases}");
    eprintln!(
        "screen pop (embedded store): record shown {} ms after the INVITE was taken in",
        screen_pop_ms(&app)
    );
    // The desktop notification is up while it rings; clicking it answers.
    let shown = || desktop.dunstctl(&["count", "displayed"]);
    eventually(
        5,
        || shown() == "1",
        || format!("no notification: {}", shown()),
    );
    desktop.screenshot(&out.join("2-incoming-pop.png"));
    desktop.dunstctl(&["action", "0"]);
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "Connected"
    });
    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    eventually(
        5,
        || shown() == "0",
        || "the notification stayed after answering".into(),
    );
    // The call timer runs.
    let timer = app.wait_text("[data-testid=timer]", Duration::from_secs(5), |t| {
        t.starts_with("0:0") && t != "0:00"
    });
    // Notes typed during the call reach the disk while the call goes on.
    let notes = app.wait_element("[data-testid=notes]", Duration::from_secs(5));
    app.send_keys(&notes, NOTES);
    let reader = Store::open(&store_path).expect("store");
    let call_id = || reader.history("").ok().and_then(|h| h.first().cloned());
    eventually(
        3,
        || call_id().is_some_and(|c| c.notes == NOTES),
        || format!("the notes were not saved: {:?}", call_id()),
    );
    desktop.screenshot(&out.join("3-connected-notes.png"));
    // The record opens in the system browser, from the link the store gave.
    let open = app.wait_element("[data-testid=customer-open]", Duration::from_secs(2));
    app.click(&open);
    eventually(
        10,
        || {
            std::fs::read_to_string(&opened)
                .is_ok_and(|t| t.trim() == "https://crm.invalid/customers/AC-2001")
        },
        || "the record did not open in the browser".into(),
    );
    let call_memory = switchboard_testkit::memory::of(app_exe).expect("the app's memory");

    // Hold and resume, from the buttons.
    let hold = app.wait_element("[data-testid=hold]", Duration::from_secs(5));
    app.click(&hold);
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "On hold"
    });
    app.wait_text("[data-testid=hold]", Duration::from_secs(2), |t| {
        t == "Resume"
    });
    desktop.screenshot(&out.join("3a-on-hold.png"));
    let resume = app.wait_element("[data-testid=hold]", Duration::from_secs(2));
    app.click(&resume);
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "Connected"
    });

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
    eventually(
        5,
        || plays_on(&headset.speaker),
        || "the call is not on the headset".into(),
    );
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

    // Wrap-up: the call stays on screen with its customer and notes; leaving it waits for a
    // disposition, as the policy says.
    let party = app.wait_text(
        "[data-testid=wrap-up-party]",
        Duration::from_secs(10),
        |_| true,
    );
    assert!(
        party.starts_with(HOSTILE_NAME) && party.contains("+14155550187"),
        "{party}"
    );
    app.wait_text(
        "[data-testid=agent-state-badge]",
        Duration::from_secs(2),
        |t| t.starts_with("Wrap-up"),
    );
    assert_eq!(
        app.script("return document.querySelector('[data-testid=notes]').value"),
        serde_json::Value::String(NOTES.into()),
        "the notes follow the call into wrap-up"
    );
    assert_eq!(
        app.script("return document.querySelector('[data-testid=wrap-up-done]').disabled"),
        serde_json::Value::Bool(true),
        "no leaving wrap-up without a disposition"
    );
    assert_eq!(
        app.text(&app.wait_element("[data-testid=customer-name]", Duration::from_secs(2))),
        "Sam Ortiz"
    );
    desktop.screenshot(&out.join("4-wrap-up.png"));
    assert_every_control_is_named(&app, "wrap-up");
    file_call(&app, "Resolved");
    desktop.screenshot(&out.join("4b-wrap-up-disposed.png"));
    leave_wrap_up(&app);
    app.wait_text("[data-testid=idle]", Duration::from_secs(5), |t| {
        t == "Waiting for calls"
    });
    let filed = call_id().expect("the call in the history");
    assert_eq!(filed.disposition.as_deref(), Some("Resolved"));
    assert_eq!(filed.notes, NOTES);
    assert_eq!(filed.phone.as_deref(), Some("+14155550187"));
    desktop.screenshot(&out.join("5-available-again.png"));

    // The history has the call, finds it by its notes, and calls the customer back.
    let toggle_history = app.wait_element("[data-testid=show-history]", Duration::from_secs(2));
    app.click(&toggle_history);
    let party = app.wait_text(
        "[data-testid=history-party]",
        Duration::from_secs(5),
        |_| true,
    );
    assert!(party.contains("+14155550187"), "{party}");
    assert_eq!(
        app.text(&app.wait_element("[data-testid=history-disposition]", Duration::from_secs(2))),
        "Resolved"
    );
    let search = app.wait_element("[data-testid=history-search]", Duration::from_secs(2));
    app.send_keys(&search, "nothing like this");
    app.wait_element("[data-testid=history-empty]", Duration::from_secs(5));
    app.script(
        "const s = document.querySelector('[data-testid=history-search]'); \
         s.value = 'evening'; s.dispatchEvent(new Event('input', { bubbles: true })); return true",
    );
    app.wait_text("[data-testid=history-notes]", Duration::from_secs(5), |t| {
        t == NOTES
    });
    desktop.screenshot(&out.join("6-history.png"));
    let back = app.wait_element("[data-testid=call-back]", Duration::from_secs(2));
    app.click(&back);
    customer.wait_event("CALL_INCOMING", Duration::from_secs(10));
    customer.answer();
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "Connected"
    });

    // Keys from the dialpad reach the customer as tones.
    let toggle_pad = app.wait_element("[data-testid=show-dialpad]", Duration::from_secs(2));
    app.click(&toggle_pad);
    for key in ["1", "#"] {
        let button = app.wait_element(
            &format!("[data-testid=\"key-{key}\"]"),
            Duration::from_secs(2),
        );
        app.click(&button);
        let tone = customer.wait_event("CALL_DTMF_START", Duration::from_secs(5));
        assert_eq!(tone["param"].as_str(), Some(key), "{tone}");
    }
    assert_eq!(
        app.text(&app.wait_element("[data-testid=dtmf-sent]", Duration::from_secs(2))),
        "1#"
    );
    desktop.screenshot(&out.join("7-call-back-dialpad.png"));
    // The hang-up hotkey, pressed while another window could have the focus.
    desktop.press("ctrl+alt+h");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(10));
    app.wait_element("[data-testid=wrap-up]", Duration::from_secs(10));
    file_call(&app, "Follow-up needed");
    leave_wrap_up(&app);
    let calls = reader.history("").expect("history");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].direction, "outbound");
    assert_eq!(calls[0].disposition.as_deref(), Some("Follow-up needed"));

    // A tel: link opened in another application: the desktop launches the app again with it;
    // that launch hands it to the running app, which dials, and exits.
    common::open_link(&env, "tel:415-555-0187");
    customer.wait_event("CALL_INCOMING", Duration::from_secs(10));
    let caller = app.wait_text("[data-testid=caller]", Duration::from_secs(5), |t| {
        !t.is_empty()
    });
    assert_eq!(caller, "4155550187");
    app.wait_text("[data-testid=customer-name]", Duration::from_secs(5), |t| {
        t == "Sam Ortiz"
    });
    desktop.screenshot(&out.join("8-tel-link-call.png"));
    // Refused at the customer's end before it was answered: no wrap-up for it.
    customer.hangup();
    customer.wait_event("CALL_CLOSED", Duration::from_secs(10));
    app.wait_text("[data-testid=idle]", Duration::from_secs(10), |t| {
        t == "Waiting for calls"
    });

    // Escalation: the customer calls again; the agent consults the expert from the panel,
    // joins everyone in a conference, then hands the customer over by blind transfer.
    let expert_speech = audio::speech(
        &out,
        "expert",
        "Billing desk, Priya speaking. How can I help?",
        2,
    );
    let mut expert = Baresip::start_named(
        &out.join("expert"),
        kamailio.port,
        "expert1",
        "expert-pw",
        Some("Priya Raman"),
        &expert_speech,
    );
    customer.dial(&kamailio.user_uri("agent1"));
    app.wait_element("[data-testid=answer]", Duration::from_secs(15));
    desktop.press("ctrl+alt+a");
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "Connected"
    });
    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    let toggle_experts = app.wait_element("[data-testid=show-experts]", Duration::from_secs(2));
    app.click(&toggle_experts);
    let names = app.script(
        "return Array.from(document.querySelectorAll('[data-testid=expert-name]')).map(e => e.textContent)",
    );
    assert_eq!(
        names,
        serde_json::json!(["Alex Moreau", "Priya Raman", "Alex Moreau"]),
        "grouped by skill (Billing, Escalations), by name within each"
    );
    assert!(app.exists("[data-testid=expert-unreachable]"));
    assert_eq!(
        app.script(
            "return Array.from(document.querySelectorAll('[data-testid=expert]')) \
             .map(e => [e.querySelector('[data-testid=expert-name]').textContent, \
                        e.querySelector('[data-testid=expert-consult]').disabled])"
        ),
        serde_json::json!([
            ["Alex Moreau", true],
            ["Priya Raman", false],
            ["Alex Moreau", true]
        ]),
        "an expert with no number cannot be chosen"
    );
    // The mute button mutes and unmutes the agent's microphone on the call.
    let mute = app.wait_element("[data-testid=mute]", Duration::from_secs(2));
    app.click(&mute);
    app.wait_text("[data-testid=mute]", Duration::from_secs(5), |t| {
        t == "Unmute"
    });
    app.click(&mute);
    app.wait_text("[data-testid=mute]", Duration::from_secs(5), |t| {
        t == "Mute"
    });
    app.wait_element("[data-testid=quality]", Duration::from_secs(5));
    desktop.screenshot(&out.join("9-experts.png"));

    app.script(
        "const row = Array.from(document.querySelectorAll('[data-testid=expert]')) \
           .find(e => e.querySelector('[data-testid=expert-name]').textContent === 'Priya Raman'); \
         row.querySelector('[data-testid=expert-consult]').click(); return true",
    );
    expert.wait_event("CALL_INCOMING", Duration::from_secs(10));
    expert.answer();
    app.wait_text("[data-testid=consult-bar]", Duration::from_secs(10), |t| {
        t.contains("on the line")
    });
    desktop.screenshot(&out.join("10-consulting.png"));
    assert_every_control_is_named(&app, "consulting, experts panel open");
    let join = app.wait_element("[data-testid=conference]", Duration::from_secs(2));
    app.click(&join);
    app.wait_element("[data-testid=in-conference]", Duration::from_secs(10));
    desktop.screenshot(&out.join("11-conference.png"));
    // The expert leaves the conference; the agent and the customer go on.
    expert.hangup();
    expert.wait_event("CALL_CLOSED", Duration::from_secs(10));
    eventually(
        10,
        || !(app.exists("[data-testid=in-conference]") || app.exists("[data-testid=consult-bar]")),
        || "the conference did not end".into(),
    );
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "Connected"
    });

    // Blind transfer to the expert from the panel: the customer's call is handed over.
    app.script(
        "const row = Array.from(document.querySelectorAll('[data-testid=expert]')) \
           .find(e => e.querySelector('[data-testid=expert-name]').textContent === 'Priya Raman'); \
         row.querySelector('[data-testid=expert-transfer]').click(); return true",
    );
    expert.wait_event("CALL_INCOMING", Duration::from_secs(10));
    expert.answer();
    let handed = expert.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    assert!(
        handed["peeruri"]
            .as_str()
            .is_some_and(|p| p.contains(CUSTOMER)),
        "the expert talks with the customer: {handed}"
    );
    app.wait_element("[data-testid=wrap-up]", Duration::from_secs(10));
    desktop.screenshot(&out.join("12-transferred-wrap-up.png"));
    let calls = reader.history("").expect("history");
    let last_customer_call = calls.iter().find(|c| c.direction == "inbound");
    assert_eq!(
        last_customer_call.and_then(|c| c.end_reason.as_deref()),
        Some("transferred"),
        "{calls:?}"
    );
    eprintln!("memory idle (registered, available): {idle_memory}");
    eprintln!("memory during a call (Opus, Pulse devices, customer shown): {call_memory}");
    eprintln!("timer showed {timer}; screenshots in {}", out.display());
    drop(app);
    drop(driver);
    drop(desktop);
}

/// Chooses the call's disposition in wrap-up; Ready for calls then enables.
fn file_call(app: &Session, code: &str) {
    app.select("[data-testid=disposition]", code);
    let ready = || {
        app.script("return document.querySelector('[data-testid=wrap-up-done]').disabled")
            == serde_json::Value::Bool(false)
    };
    eventually(5, ready, || {
        format!("the disposition {code:?} was not taken")
    });
}

/// Leaves wrap-up with Ready for calls: the agent is Available again.
fn leave_wrap_up(app: &Session) {
    let done = app.wait_element("[data-testid=wrap-up-done]", Duration::from_secs(2));
    app.click(&done);
    app.wait_text(
        "[data-testid=agent-state-badge]",
        Duration::from_secs(5),
        |t| t.starts_with("Available"),
    );
}

/// Every control a screen reader reaches has a name (its text, a label or aria-label) and can
/// be reached by the keyboard (no negative tabindex).
fn assert_every_control_is_named(app: &Session, screen: &str) {
    let unnamed = app.script(
        "return Array.from(document.querySelectorAll('button, select, input, textarea')) \
         .filter(e => { \
           const named = (e.getAttribute('aria-label') || '').trim() \
             || (e.labels && Array.from(e.labels).some(l => l.textContent.trim())) \
             || (e.tagName === 'BUTTON' && e.textContent.trim()); \
           return !named || e.tabIndex < 0; }) \
         .map(e => e.outerHTML.slice(0, 120))",
    );
    assert_eq!(
        unnamed,
        serde_json::json!([]),
        "unnamed controls on {screen}"
    );
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
