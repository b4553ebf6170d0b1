//! Microsoft 365 on the desk, through a real OS keychain (gnome-keyring's Secret Service on a
//! private session bus) and the identity platform and Graph stand-in over HTTPS: a device-code
//! sign-in keeps its refresh token in the keychain and nowhere on disk, the experts of a
//! skill's Teams group arrive with their number and live presence, the next start signs in
//! from the keychain without asking, and sign-out removes the entry. One test in this binary:
//! it points the process at the test's bus.

use std::sync::Arc;
use std::time::Duration;

use switchboard_desk::keychain::{self, KeychainError};
use switchboard_desk::phone::NumberPlan;
use switchboard_desk::settings::Settings;
use switchboard_desk::teams_link::{SignInView, TeamsFeed, TeamsLink};
use switchboard_desk::teams_vault::{entry_name, KeychainVault};
use switchboard_testkit::keyring::Keyring;
use switchboard_testkit::microsoft::MicrosoftCloud;
use switchboard_testkit::tls::TestCa;
use tokio::sync::watch;

const TENANT: &str = "contoso.onmicrosoft.com";
const CLIENT: &str = "5e3ce6c0-2b1f-4285-8d4b-75ee78787346";

async fn until(
    feed: &mut watch::Receiver<TeamsFeed>,
    secs: u64,
    what: &str,
    done: impl Fn(&TeamsFeed) -> bool,
) -> TeamsFeed {
    let waited = tokio::time::timeout(Duration::from_secs(secs), async {
        loop {
            let now = feed.borrow_and_update().clone();
            if done(&now) {
                return now;
            }
            feed.changed().await.expect("the link runs");
        }
    })
    .await;
    match waited {
        Ok(feed) => feed,
        Err(_) => panic!("{what}: not within {secs} s; last {:?}", feed.borrow()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_kept_in_the_keychain_brings_live_experts_and_sign_out_removes_it() {
    let out = switchboard_testkit::output::dir("desk_teams_keychain");
    let keyring = Keyring::start(&out.join("keyring"));
    for (name, value) in &keyring.env {
        // The only test in this binary sets it before anything reads it.
        std::env::set_var(name, value);
    }
    let ca = TestCa::create(&out.join("ca"), "Graph test CA");
    let cloud = MicrosoftCloud::start(&ca.issue("cloud", &["IP:127.0.0.1"]), TENANT, CLIENT);
    cloud.device_interval(1);
    let priya = cloud.add_user(
        "Priya Raman",
        "priya@contoso.com",
        "Billing",
        &["(415) 555-0100"],
    );
    let marco = cloud.add_user("Marco Silva", "marco@contoso.com", "", &[]);
    cloud.set_presence(&priya, "Available", "Available");
    cloud.set_presence(&marco, "busy", "inacall");
    cloud.add_group("g-billing", &[priya.clone(), marco.clone()]);
    let settings: Settings = toml::from_str(&format!(
        "[teams]\ntenant = \"{TENANT}\"\nclient_id = \"{CLIENT}\"\nlogin_base = \"{}\"\n\
         graph_base = \"{}\"\nca_file = \"{}\"\ndesks = 1\n\
         [[teams.skill_groups]]\nskill = \"Billing\"\ngroup = \"g-billing\"\n",
        cloud.login_base(),
        cloud.graph_base(),
        ca.certificate.display()
    ))
    .expect("settings");
    let section = settings.teams.clone().expect("[teams]");
    let start = || {
        TeamsLink::start(
            &section,
            &settings.experts,
            NumberPlan::for_country("1"),
            Arc::new(KeychainVault::for_tenant(TENANT)),
        )
        .expect("the link starts")
    };

    let link = start();
    let mut feed = link.feed();
    until(&mut feed, 10, "signed out at first", |f| {
        matches!(f.view.sign_in, SignInView::SignedOut { .. })
    })
    .await;
    let session = link.session().clone();
    let signing_in = tokio::spawn(async move { session.sign_in_with_device_code().await });
    let shown = until(&mut feed, 10, "the device code", |f| {
        matches!(f.view.sign_in, SignInView::DeviceCode { .. })
    })
    .await;
    let SignInView::DeviceCode { user_code, .. } = shown.view.sign_in else {
        unreachable!("matched above")
    };
    assert!(cloud.enter_device_code(&user_code, true));
    signing_in
        .await
        .expect("the sign-in task")
        .expect("signed in");

    // The group's experts, with the number the trunk dials and Graph's presence.
    let live = until(&mut feed, 20, "the experts' presence", |f| {
        f.experts.len() == 2 && f.experts.iter().all(|e| e.presence.as_of_ms.is_some())
    })
    .await;
    let by_name = |name: &str| {
        live.experts
            .iter()
            .find(|e| e.name == name)
            .cloned()
            .expect("listed")
    };
    let p = by_name("Priya Raman");
    assert_eq!(p.target.as_deref(), Some("+14155550100"));
    assert_eq!(p.skills, ["Billing"]);
    assert!(p.presence.is_free());
    let m = by_name("Marco Silva");
    assert_eq!(m.presence.availability, "Busy", "matched in any case");
    assert_eq!(m.target, None, "no number: shown, not dialled");
    assert!(matches!(
        live.view.sign_in,
        SignInView::SignedIn {
            remembered: true,
            ..
        }
    ));

    // The refresh token is in the keychain (and is the live one), and on disk nowhere.
    let entry = entry_name(TENANT);
    let kept = keychain::read(&entry).expect("kept in the keychain");
    let live_tokens = cloud.live_refresh_tokens();
    assert_eq!(live_tokens.len(), 1);
    assert!(kept.contains(&live_tokens[0]), "the current refresh token");
    assert!(
        !switchboard_testkit::output::holds(&out, live_tokens[0].as_bytes()),
        "a refresh token was written to a file in the clear"
    );

    // A re-read before dialling sees the change at once.
    cloud.set_presence(&priya, "DoNotDisturb", "Presenting");
    let fresh = link
        .recheck(&p.id)
        .await
        .expect("read again")
        .expect("a Teams user");
    assert_eq!(fresh.presence.availability, "DoNotDisturb");
    assert!(!fresh.presence.is_free());

    // The next start signs in from the keychain, without asking.
    drop(feed);
    let again = start();
    let mut feed = again.feed();
    until(&mut feed, 10, "signed in from the keychain", |f| {
        matches!(f.view.sign_in, SignInView::SignedIn { .. })
    })
    .await;
    until(&mut feed, 25, "presence again", |f| {
        f.experts.len() == 2 && f.experts.iter().all(|e| e.presence.as_of_ms.is_some())
    })
    .await;

    again.session().sign_out().await.expect("signed out");
    assert!(matches!(
        keychain::read(&entry),
        Err(KeychainError::Missing(_))
    ));
    until(&mut feed, 10, "signed out", |f| {
        matches!(f.view.sign_in, SignInView::SignedOut { .. })
    })
    .await;
    let after = until(&mut feed, 10, "presence marked stale", |f| {
        f.experts.iter().all(|e| e.presence.stale)
    })
    .await;
    assert_eq!(
        after.experts.len(),
        2,
        "still listed, with what was last known"
    );
    assert!(
        after.experts.iter().all(|e| !e.presence.is_free()),
        "signed out, nobody looks free: {:?}",
        after.experts
    );
}
