//! What the window tests share: waiting for a condition, and reading the screen pop's delay.
//! Each window test uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchboard_testkit::desktop::TauriDriver;
use switchboard_testkit::webdriver::Session;

/// The system browser, as xdg-open finds it on a desktop without a desktop environment
/// (`$BROWSER`): a shell script in `out` running `body`, the URL to open in `$1`.
pub fn browser(out: &Path, body: &str) -> PathBuf {
    let script = out.join("browser.sh");
    std::fs::write(&script, format!("#!/bin/sh\n{body}\n")).expect("browser script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("executable");
    script
}

/// The app as built for this test, launched by tauri-driver with `env` and the settings file
/// `settings`; the driver's log goes to `out`, and so do the app's logs unless `env` puts them
/// elsewhere.
pub fn launch(env: &[(String, String)], out: &Path, settings: &Path) -> (TauriDriver, Session) {
    let mut env = env.to_vec();
    if !env.iter().any(|(k, _)| k == "XDG_STATE_HOME") {
        env.push((
            "XDG_STATE_HOME".into(),
            out.join("state").display().to_string(),
        ));
    }
    env.push((
        "SWITCHBOARD_SETTINGS".into(),
        settings.display().to_string(),
    ));
    let driver = TauriDriver::start(&env, &out.join("tauri-driver.log"));
    let app = Session::start(driver.port, Path::new(env!("CARGO_BIN_EXE_switchboard")));
    (driver, app)
}

/// Waits up to `secs` for `done` (polled every 100 ms), failing with what `describe` says.
pub fn eventually(secs: u64, mut done: impl FnMut() -> bool, describe: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "{}", describe());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Milliseconds from the engine taking the INVITE in to the customer panel's first paint with
/// the record, as the panel stamps them (`data-offered-at`, `data-shown-at`).
pub fn screen_pop_ms(app: &Session) -> f64 {
    let pop = app.script(
        "const c = document.querySelector('[data-testid=customer]'); \
         return [Number(c.dataset.offeredAt), Number(c.dataset.shownAt)]",
    );
    let (offered, shown) = (
        pop[0].as_f64().unwrap_or(0.0),
        pop[1].as_f64().unwrap_or(0.0),
    );
    assert!(offered > 0.0 && shown >= offered, "{pop}");
    shown - offered
}

/// Opens `link` as the desktop does for a link clicked in another application: a second launch
/// of the app, which hands it to the running one (over the session bus) and exits at once.
pub fn open_link(env: &[(String, String)], link: &str) {
    let started = Instant::now();
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .arg(link)
        .envs(env.iter().cloned())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("second launch");
    assert!(second.success(), "{second:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the second launch stayed: {:?}",
        started.elapsed()
    );
}

/// The keychain's session bus, for this process too (the test reads the keychain): call it in
/// the only test of its binary, before anything reads the environment.
pub fn keyring_bus(keyring: &switchboard_testkit::keyring::Keyring) -> String {
    let bus = keyring
        .env
        .iter()
        .find(|(k, _)| k == "DBUS_SESSION_BUS_ADDRESS")
        .map(|(_, v)| v.clone())
        .expect("the keyring's bus");
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &bus);
    bus
}

/// The Settings panel offers nothing to edit.
pub fn assert_settings_read_only(app: &Session) {
    assert_eq!(
        app.script(
            "return document.querySelectorAll('[data-testid=settings] input, [data-testid=settings] select, [data-testid=settings] textarea').length"
        ),
        serde_json::json!(0),
        "the settings are read-only"
    );
}
