//! A `switchboard://provision?…` link opened while the app runs (the desktop launches
//! `switchboard LINK`, which hands it to the running app and exits): the window shows what would
//! change, what the policy keeps, and asks for the line's password; Cancel changes nothing; Set
//! up writes the link's settings into the user's (the rest kept, the old file aside) and the
//! password into gnome-keyring's Secret Service, never into a file. A link that tries to set a
//! secret is refused and says why.

use std::path::Path;
use std::time::Duration;

mod common;

use common::{keyring_bus, launch, open_link};
use switchboard_testkit::desktop::Desktop;
use switchboard_testkit::keyring::Keyring;
use switchboard_testkit::output;

const PASSWORD: &str = "line-pw-3f9a17";
const LINK: &str = "switchboard://provision?trunk.registrar=sip%3A127.0.0.1%3A5999&trunk.user=agent42&customers.country_code=1";

fn changes(app: &switchboard_testkit::webdriver::Session) -> serde_json::Value {
    app.script(
        "return Array.from(document.querySelectorAll('[data-testid=provision-change]')) \
           .map(r => [r.dataset.key, r.dataset.managed, r.querySelector('[data-testid=provision-to]')?.textContent ?? ''])",
    )
}

#[test]
fn a_provisioning_link_sets_the_desk_up_only_once_the_agent_confirms() {
    let out = output::dir("window_provision_link");
    let keyring = Keyring::start(&out.join("keyring"));
    // The only test in this binary: the keychain check below reads it.
    let bus = keyring_bus(&keyring);
    let desktop = Desktop::start(&out);
    let mut env = desktop.env.clone();
    for (dir, var) in [("data", "XDG_DATA_HOME"), ("state", "XDG_STATE_HOME")] {
        env.push((var.into(), out.join(dir).display().to_string()));
    }
    env.push(("DBUS_SESSION_BUS_ADDRESS".into(), bus));
    let policy = out.join("policy.toml");
    std::fs::write(&policy, "[locked.customers]\ncountry_code = \"44\"\n").expect("policy");
    env.push(("SWITCHBOARD_POLICY".into(), policy.display().to_string()));
    let settings = out.join("settings.toml");
    let before = "[ui]\nlanguage = \"en\"\n\n[agent]\nwrap_up_secs = 45\n";
    std::fs::write(&settings, before).expect("settings");
    let (driver, app) = launch(&env, &out, &settings);
    app.wait_text("[data-testid=registration]", Duration::from_secs(20), |t| {
        t == "Practice mode"
    });

    // A link that would set a secret: refused, and nothing waits.
    open_link(
        &env,
        "switchboard://provision?trunk.password=stolen-pw-0&trunk.user=x",
    );
    let refused = app.wait_text(
        "[data-testid=provision-refused]",
        Duration::from_secs(10),
        |t| !t.is_empty(),
    );
    assert!(refused.contains("cannot be set by a link"), "{refused}");
    assert!(!refused.contains("stolen-pw-0"), "{refused}");
    let close = app.wait_element("[data-testid=provision-close]", Duration::from_secs(2));
    app.click(&close);

    // A good link, declined: nothing changes.
    open_link(&env, LINK);
    app.wait_element("[data-testid=provision-accept]", Duration::from_secs(10));
    let decline = app.wait_element("[data-testid=provision-decline]", Duration::from_secs(2));
    app.click(&decline);
    std::thread::sleep(Duration::from_millis(500));
    assert!(!app.exists("[data-testid=provision]"));
    assert_eq!(
        std::fs::read_to_string(&settings).expect("settings"),
        before
    );

    // Again, and set up: the window showed each change, and the policy's lock kept.
    open_link(&env, LINK);
    app.wait_element("[data-testid=provision-accept]", Duration::from_secs(10));
    let shown = changes(&app);
    assert_eq!(
        shown,
        serde_json::json!([
            ["trunk.registrar", "false", "sip:127.0.0.1:5999"],
            ["trunk.user", "false", "agent42"],
            ["customers.country_code", "true", ""],
        ]),
        "{shown}"
    );
    desktop.screenshot(&out.join("1-provision-offer.png"));
    let password = app.wait_element("[data-testid=provision-password]", Duration::from_secs(2));
    app.send_keys(&password, PASSWORD);
    let accept = app.wait_element("[data-testid=provision-accept]", Duration::from_secs(2));
    app.click(&accept);
    app.wait_element("[data-testid=provision-saved]", Duration::from_secs(10));
    desktop.screenshot(&out.join("2-provision-saved.png"));

    let written = std::fs::read_to_string(&settings).expect("settings");
    let parsed = switchboard_desk::Settings::load(&settings).expect("settings");
    let trunk = parsed.trunk.expect("a trunk");
    assert_eq!(trunk.registrar, "sip:127.0.0.1:5999");
    assert_eq!(trunk.user.as_deref(), Some("agent42"));
    assert_eq!(trunk.password_keychain.as_deref(), Some("trunk-password"));
    assert_eq!(parsed.agent.wrap_up_secs, 45, "kept");
    assert_eq!(parsed.ui.language.as_deref(), Some("en"), "kept");
    assert!(!written.contains("country_code"), "locked: {written}");
    assert_eq!(
        std::fs::read_to_string(settings.with_extension("toml.bak")).expect("backup"),
        before
    );
    assert_eq!(
        switchboard_desk::keychain::read("trunk-password").expect("in the keychain"),
        PASSWORD
    );
    for file in walk(&out) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(PASSWORD),
            "the password is in {}",
            file.display()
        );
    }
    drop(app);
    drop(driver);
    drop(desktop);
    drop(keyring);
}

/// The files under `dir`, except the keyring's own (which holds the secret, encrypted).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "keyring") {
            continue;
        }
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
