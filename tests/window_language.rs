//! The window in Traditional Chinese, on practice mode (nothing configured but the language):
//! the labels, the practice customer's call, their record popped from the seeded store, and
//! the practice directory's experts, all in the real app under Xvfb.

use std::time::Duration;

use switchboard_testkit::desktop::{Desktop, TauriDriver};
use switchboard_testkit::output;
use switchboard_testkit::webdriver::Session;

#[test]
fn practice_mode_in_traditional_chinese() {
    let out = output::dir("window_language");
    let settings = out.join("settings.toml");
    std::fs::write(&settings, "[ui]\nlanguage = \"zh-TW\"\n").expect("settings");
    let desktop = Desktop::start(&out);
    let mut env = desktop.env.clone();
    for (dir, var) in [("config", "XDG_CONFIG_HOME"), ("data", "XDG_DATA_HOME")] {
        let path = out.join(dir);
        let _ = std::fs::remove_dir_all(&path);
        env.push((var.into(), path.display().to_string()));
    }
    env.push((
        "SWITCHBOARD_SETTINGS".into(),
        settings.display().to_string(),
    ));
    let driver = TauriDriver::start(&env, &out.join("tauri-driver.log"));
    let app = Session::start(
        driver.port,
        std::path::Path::new(env!("CARGO_BIN_EXE_switchboard")),
    );

    app.wait_text("[data-testid=registration]", Duration::from_secs(20), |t| {
        t == "練習模式"
    });
    app.wait_text("[data-testid=show-history]", Duration::from_secs(2), |t| {
        t == "通話紀錄"
    });
    assert_eq!(
        app.script("return document.documentElement.lang"),
        serde_json::json!("zh-Hant")
    );
    // A first practice run is available: the practice customer calls within seconds.
    app.wait_text(
        "[data-testid=agent-state-badge]",
        Duration::from_secs(5),
        |t| t.starts_with("可接聽"),
    );
    app.wait_text("[data-testid=phase]", Duration::from_secs(15), |t| {
        t == "來電"
    });
    let name = app.wait_text("[data-testid=customer-name]", Duration::from_secs(5), |t| {
        !t.is_empty()
    });
    assert_eq!(name, "Dana Whitfield");
    let answer = app.wait_element("[data-testid=answer]", Duration::from_secs(2));
    assert_eq!(app.text(&answer), "接聽");
    desktop.screenshot(&out.join("1-practice-call-zh-hant.png"));
    app.click(&answer);
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "已接通"
    });

    // The practice directory, with live presence, in the same language.
    let experts = app.wait_element("[data-testid=show-experts]", Duration::from_secs(2));
    assert_eq!(app.text(&experts), "專家");
    app.click(&experts);
    let names = app.script(
        "return Array.from(document.querySelectorAll('[data-testid=expert-name]')).map(e => e.textContent)",
    );
    assert!(
        names
            .as_array()
            .is_some_and(|n| n.iter().any(|v| v == "Priya Raman")),
        "{names}"
    );
    let presence = app.wait_text(
        "[data-testid=expert-presence]",
        Duration::from_secs(2),
        |_| true,
    );
    assert!(
        ["可接聽", "忙碌", "離開", "請勿打擾"]
            .iter()
            .any(|word| presence.starts_with(word)),
        "{presence}"
    );
    desktop.screenshot(&out.join("2-practice-experts-zh-hant.png"));
    let hangup = app.wait_element("[data-testid=hangup]", Duration::from_secs(2));
    app.click(&hangup);
    app.wait_text(
        "[data-testid=wrap-up-party]",
        Duration::from_secs(10),
        |t| t.contains("Dana"),
    );
    desktop.screenshot(&out.join("3-practice-wrap-up-zh-hant.png"));
    drop(app);
    drop(driver);
    drop(desktop);
}
