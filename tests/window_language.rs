//! The window in Traditional Chinese, which the machine policy locks over the user's English,
//! on practice mode (no trunk), with the customer records from a CRM over HTTP: the labels,
//! the practice customer's call, their record popped from the CRM (a local HTTP server), and
//! the practice directory's experts, and the settings list with the language marked as the
//! organization's, and a diagnostics bundle made from it, in the real app.

use std::time::Duration;

mod common;

use common::{eventually, launch, screen_pop_ms};
use switchboard_testkit::desktop::Desktop;
use switchboard_testkit::http::{HttpServer, Response};
use switchboard_testkit::output;

#[test]
fn practice_mode_in_traditional_chinese() {
    let out = output::dir("window_language");
    let settings = out.join("settings.toml");
    let crm = HttpServer::start(|request| {
        if request.target == "/customers/%2B14155550142" {
            Response::json(
                200,
                &serde_json::json!({"name": "Dana Whitfield", "tier": "Gold", "account": "AC-1042",
                    "cases": [{"id": "CASE-7", "title": "Router drops calls every evening"}]}),
            )
        } else {
            Response::json(404, &serde_json::json!({}))
        }
    });
    std::fs::write(
        &settings,
        format!(
            "[ui]\nlanguage = \"en\"\n[customers.crm]\nname = \"Acme CRM\"\nurl = \"{}\"\n",
            crm.url("/customers/{phone}")
        ),
    )
    .expect("settings");
    // The machine policy locks the language: the user's "en" gives way.
    let policy = out.join("policy.toml");
    std::fs::write(&policy, "[locked.ui]\nlanguage = \"zh-TW\"\n").expect("policy");
    let desktop = Desktop::start(&out);
    let _notifications = desktop.notification_server();
    let mut env = desktop.env.clone();
    env.push(("SWITCHBOARD_POLICY".into(), policy.display().to_string()));
    for (dir, var) in [
        ("config", "XDG_CONFIG_HOME"),
        ("data", "XDG_DATA_HOME"),
        ("state", "XDG_STATE_HOME"),
    ] {
        let path = out.join(dir);
        let _ = std::fs::remove_dir_all(&path);
        env.push((var.into(), path.display().to_string()));
    }
    let (driver, app) = launch(&env, &out, &settings);

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
    let source = app.script(
        "return Array.from(document.querySelectorAll('[data-testid=customer] dd')).map(d => d.textContent)",
    );
    assert!(
        source
            .as_array()
            .is_some_and(|s| s.iter().any(|v| v == "Acme CRM")),
        "the record came from the CRM: {source}"
    );
    assert_eq!(crm.requests().len(), 1);
    eprintln!(
        "screen pop (HTTP connector): record shown {} ms after the INVITE was taken in",
        screen_pop_ms(&app)
    );
    let answer = app.wait_element("[data-testid=answer]", Duration::from_secs(2));
    assert_eq!(app.text(&answer), "接聽");
    desktop.screenshot(&out.join("1-practice-call-zh-hant.png"));
    app.click(&answer);
    app.wait_text("[data-testid=phase]", Duration::from_secs(10), |t| {
        t == "已接通"
    });
    // The desktop notification spoke the same language; answered, it is in the history.
    eventually(
        5,
        || desktop.dunstctl(&["history"]).contains("來電"),
        || {
            let history = desktop.dunstctl(&["history"]);
            format!("the notification was not in Traditional Chinese: {history}")
        },
    );

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

    // The settings list: the locked language is marked as the organization's, read-only.
    let toggle = app.wait_element("[data-testid=show-settings]", Duration::from_secs(2));
    app.click(&toggle);
    app.wait_element("[data-testid=settings]", Duration::from_secs(5));
    let rows = app.script(
        "return Array.from(document.querySelectorAll('[data-testid=setting]')) \
           .map(r => [r.dataset.key, r.dataset.managed, \
                      r.querySelector('[data-testid=setting-value]').textContent, \
                      r.querySelector('[data-testid=managed]')?.textContent ?? ''])",
    );
    let row = |key: &str| {
        rows.as_array()
            .into_iter()
            .flatten()
            .find(|r| r[0] == key)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(row("ui.language")[1], "true", "{rows}");
    assert_eq!(row("ui.language")[2], "zh-TW", "{rows}");
    assert!(
        row("ui.language")[3]
            .as_str()
            .is_some_and(|t| t.contains("由您的組織管理")),
        "{rows}"
    );
    assert_eq!(row("ui.answer_key")[1], "false", "{rows}");
    common::assert_settings_read_only(&app);
    desktop.screenshot(&out.join("4-settings-managed-zh-hant.png"));
    // No update source is configured: nothing to check.
    app.wait_text("[data-testid=update-text]", Duration::from_secs(5), |t| {
        t == "未設定更新來源。"
    });
    assert_eq!(
        app.script("return document.querySelector('[data-testid=check-update]').disabled"),
        serde_json::json!(true)
    );

    // A diagnostics bundle from the panel: beside this run's log, holding it, the practice
    // call's quality and the settings with the lock.
    let create = app.wait_element("[data-testid=create-diagnostics]", Duration::from_secs(2));
    assert_eq!(app.text(&create), "建立診斷套件");
    app.click(&create);
    app.wait_element("[data-testid=diagnostics-made]", Duration::from_secs(20));
    let path =
        app.script("return document.querySelector('[data-testid=diagnostics-made]').dataset.path");
    let path = std::path::PathBuf::from(path.as_str().expect("a path"));
    assert!(
        path.starts_with(out.join("state/switchboard/diagnostics")),
        "{}",
        path.display()
    );
    let files = switchboard_testkit::zipfile::read(&path);
    let log = files.get("logs/switchboard.log").expect("this run's log");
    assert!(
        log.contains("Switchboard starting") && log.contains("incoming call"),
        "{log}"
    );
    assert!(
        out.join("state/switchboard/logs/switchboard.log").is_file(),
        "the app logs to the platform's log directory"
    );
    let calls: serde_json::Value = serde_json::from_str(&files["calls.json"]).expect("calls");
    assert!(calls[0]["mos"].as_f64().is_some_and(|m| m > 1.0), "{calls}");
    let settings: serde_json::Value =
        serde_json::from_str(&files["settings.json"]).expect("settings");
    assert!(
        settings["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|r| r["key"] == "ui.language" && r["managed"] == true),
        "{settings}"
    );
    desktop.screenshot(&out.join("5-diagnostics-zh-hant.png"));
    drop(app);
    drop(driver);
    drop(desktop);
}
