//! Microsoft 365 sign-in against the identity platform's stand-in over HTTPS: the browser
//! (curl, following the service's redirect) brings the code to a real loopback listener; the
//! device code is polled while pending and stops when declined or expired; access tokens are
//! refreshed before they run out and after a 401; a revoked grant signs out and leaves the
//! vault empty. The vault here keeps what it is given in memory, so the test can read it; the
//! OS keychain behind it is tested in the desk crate against gnome-keyring.

mod common;

use std::sync::Arc;
use std::time::Duration;

use switchboard_teams::identity::Identity;
use switchboard_teams::{Client, Cloud, Session, SignInError, SignInView};
use switchboard_testkit::tls::TestCa;

use common::{browser, lab, new_session, page, sign_in_by_browser, MemoryVault, CLIENT, TENANT};

fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| v.to_owned())
    })
}

fn form_param(body: &[u8], name: &str) -> Option<String> {
    query_param(&format!("?{}", String::from_utf8_lossy(body)), name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_sign_in_with_pkce_comes_back_through_a_real_loopback_redirect() {
    let lab = lab("teams_sign_in_browser");
    lab.cloud.browser_signed_in_as(Some("ana@contoso.com"));
    let vault = Arc::new(MemoryVault::default());
    let session = new_session(&lab, vault.clone());
    let (opened, url) = tokio::sync::oneshot::channel::<String>();
    let ca = lab.ca.clone();
    let user = async move {
        let url = url.await.expect("the browser was opened");
        // A page elsewhere guessing at the listener first: turned away, and the sign-in goes on.
        let redirect = query_param(&url, "redirect_uri").expect("a redirect_uri");
        let redirect = redirect.replace("%3A", ":").replace("%2F", "/");
        let forged = format!("{redirect}?code=forged&state=guess");
        let ca2 = ca.clone();
        let forged = tokio::task::spawn_blocking(move || page(browser(&ca2, &forged)))
            .await
            .expect("curl");
        assert!(forged.contains("Nothing here"), "{forged}");
        tokio::task::spawn_blocking(move || page(browser(&ca, &url)))
            .await
            .expect("curl")
    };
    let signing_in = session.sign_in_with_browser(
        |url| {
            opened
                .send(url.to_owned())
                .map_err(|_| "no browser".to_owned())
        },
        Duration::from_secs(30),
        None,
    );
    let (signed_in, shown) = tokio::join!(signing_in, user);
    signed_in.expect("signed in");
    assert!(shown.contains("You are signed in"), "{shown}");

    assert_eq!(
        *session.view().borrow(),
        SignInView::SignedIn {
            account: Some("ana@contoso.com".into()),
            remembered: true
        }
    );
    let token = session.access_token().await.expect("an access token");
    assert!(lab.cloud.is_valid_access(&token));
    let kept = vault.kept().expect("the refresh token was kept");
    assert_eq!(lab.cloud.live_refresh_tokens(), vec![kept.refresh_token]);

    // What went over the wire is what the v2 endpoints document: the challenge out, the
    // verifier only in the token request, the forged code never redeemed.
    let requests = lab.cloud.requests();
    let authorize = requests
        .iter()
        .find(|r| r.target.contains("/oauth2/v2.0/authorize"))
        .expect("an authorize request");
    assert_eq!(
        query_param(&authorize.target, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(query_param(&authorize.target, "code_verifier").is_none());
    let redeem: Vec<_> = requests
        .iter()
        .filter(|r| r.target.ends_with("/oauth2/v2.0/token"))
        .collect();
    assert_eq!(redeem.len(), 1, "one code redeemed");
    assert_eq!(
        form_param(&redeem[0].body, "grant_type").as_deref(),
        Some("authorization_code")
    );
    assert_eq!(
        form_param(&redeem[0].body, "code_verifier").map(|v| v.len()),
        Some(43)
    );
    assert_eq!(
        redeem[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );

    session.sign_out().await.expect("signed out");
    assert!(
        vault.kept().is_none(),
        "sign-out leaves nothing in the vault"
    );
    assert!(matches!(
        session.access_token().await,
        Err(SignInError::SignedOut)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_cancelled_in_the_browser_is_said_and_keeps_nothing() {
    let lab = lab("teams_sign_in_cancelled");
    lab.cloud.browser_signed_in_as(None);
    let vault = Arc::new(MemoryVault::default());
    let session = new_session(&lab, vault.clone());
    let err = sign_in_by_browser(&lab, &session)
        .await
        .expect_err("cancelled");
    assert!(
        matches!(&err, SignInError::Refused { error, .. } if error == "access_denied"),
        "{err}"
    );
    let SignInView::SignedOut {
        reason: Some(reason),
    } = session.view().borrow().clone()
    else {
        panic!("not signed out with a reason");
    };
    assert!(reason.contains("access_denied"), "{reason}");
    assert!(vault.kept().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_code_is_shown_polled_while_pending_and_signs_in_once_entered() {
    let lab = lab("teams_sign_in_device");
    let vault = Arc::new(MemoryVault::default());
    let session = Arc::new(new_session(&lab, vault.clone()));
    let mut view = session.view();
    let signing_in = tokio::spawn({
        let session = session.clone();
        async move { session.sign_in_with_device_code().await }
    });
    let user_code = wait_for_code(&mut view).await;

    // Not entered yet: the service says pending, and we ask again at the interval.
    let pending = || {
        lab.cloud
            .requests()
            .iter()
            .filter(|r| {
                form_param(&r.body, "grant_type").as_deref()
                    == Some("urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code")
            })
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    while pending() == 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending(), 1, "one poll within the first interval");
    assert!(matches!(*view.borrow(), SignInView::DeviceCode { .. }));

    assert!(lab.cloud.enter_device_code(&user_code, true));
    tokio::time::timeout(Duration::from_secs(15), signing_in)
        .await
        .expect("signed in within two intervals")
        .expect("the task")
        .expect("signed in");
    assert_eq!(pending(), 2, "polled at the interval, not faster");
    assert!(matches!(
        &*view.borrow(),
        SignInView::SignedIn { account: Some(a), remembered: true } if a == "device-user@contoso.com"
    ));
    assert!(vault.kept().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_code_declined_or_expired_stops_the_polling_and_says_so() {
    let lab = lab("teams_sign_in_device_ends");
    let vault = Arc::new(MemoryVault::default());
    let session = Arc::new(new_session(&lab, vault.clone()));
    for declined in [true, false] {
        let mut view = session.view();
        let signing_in = tokio::spawn({
            let session = session.clone();
            async move { session.sign_in_with_device_code().await }
        });
        let user_code = wait_for_code(&mut view).await;
        if declined {
            assert!(lab.cloud.enter_device_code(&user_code, false));
        } else {
            lab.cloud.expire_device_codes();
        }
        let err = tokio::time::timeout(Duration::from_secs(10), signing_in)
            .await
            .expect("ended within an interval")
            .expect("the task")
            .expect_err("not signed in");
        let said = err.to_string();
        let expected = if declined { "declined" } else { "expired" };
        assert!(said.contains(expected), "{said}");
        let SignInView::SignedOut {
            reason: Some(reason),
        } = view.borrow().clone()
        else {
            panic!("not signed out with a reason");
        };
        assert!(reason.contains(expected), "{reason}");
    }
    assert!(vault.kept().is_none());
}

async fn wait_for_code(view: &mut tokio::sync::watch::Receiver<SignInView>) -> String {
    let shown = tokio::time::timeout(
        Duration::from_secs(10),
        view.wait_for(|v| matches!(v, SignInView::DeviceCode { .. })),
    )
    .await
    .expect("the code is shown")
    .expect("the view")
    .clone();
    let SignInView::DeviceCode {
        user_code,
        verification_uri,
        expires_in_secs,
    } = shown
    else {
        unreachable!()
    };
    assert!(
        verification_uri.starts_with("https://127.0.0.1:"),
        "{verification_uri}"
    );
    assert!((890..=900).contains(&expires_in_secs), "{expires_in_secs}");
    user_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_refreshed_before_they_run_out_and_after_a_401_and_a_revoked_grant_signs_out() {
    let lab = lab("teams_refresh");
    lab.cloud.browser_signed_in_as(Some("ana@contoso.com"));
    // Tokens that live 300 s are inside the 5-minute margin at once: every use refreshes.
    lab.cloud.issue_access_tokens_for(300);
    let vault = Arc::new(MemoryVault::default());
    let session = new_session(&lab, vault.clone());
    sign_in_by_browser(&lab, &session).await.expect("signed in");
    let first_refresh = vault.kept().expect("kept").refresh_token;

    let second = session.access_token().await.expect("refreshed");
    assert!(lab.cloud.is_valid_access(&second));
    let rotated = vault.kept().expect("kept").refresh_token;
    assert_ne!(
        rotated, first_refresh,
        "the new refresh token replaced the old"
    );
    assert_eq!(lab.cloud.live_refresh_tokens(), vec![rotated.clone()]);

    // Graph says 401 (the token was cut short): one refresh, and a second caller holding the
    // same old token gets the new one without another refresh.
    lab.cloud.issue_access_tokens_for(3599);
    lab.cloud.expire_access_tokens();
    let third = session.renew(&second).await.expect("renewed");
    assert!(lab.cloud.is_valid_access(&third));
    let after_renew = vault.kept().expect("kept").refresh_token;
    assert_eq!(
        session.renew(&second).await.expect("no second refresh"),
        third
    );
    assert_eq!(vault.kept().expect("kept").refresh_token, after_renew);
    assert_eq!(session.access_token().await.expect("fresh"), third);

    // A new desk start: the kept refresh token signs in without the browser.
    let restarted = new_session(&lab, vault.clone());
    assert!(restarted.resume().await.expect("resumed"));
    assert!(matches!(
        &*restarted.view().borrow(),
        SignInView::SignedIn { account: Some(a), .. } if a == "ana@contoso.com"
    ));

    // IT revokes the sessions: the next refresh is refused, the desk signs out and forgets.
    lab.cloud.revoke_refresh_tokens();
    lab.cloud.expire_access_tokens();
    let used = restarted.access_token().await.expect("the token in memory");
    let err = restarted.renew(&used).await.expect_err("revoked");
    assert!(err.to_string().contains("invalid_grant"), "{err}");
    let SignInView::SignedOut {
        reason: Some(reason),
    } = restarted.view().borrow().clone()
    else {
        panic!("not signed out with a reason");
    };
    assert!(reason.contains("sign in again"), "{reason}");
    assert!(vault.kept().is_none(), "the dead grant left the vault");
    assert!(!new_session(&lab, vault.clone())
        .resume()
        .await
        .expect("nothing kept"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_service_with_a_certificate_we_do_not_trust_is_refused() {
    let lab = lab("teams_untrusted");
    let dir = switchboard_testkit::output::dir("teams_untrusted_other");
    let stranger = TestCa::create(&dir.join("ca"), "Stranger CA");
    let cloud = Cloud::new(
        &lab.cloud.login_base(),
        &lab.cloud.graph_base(),
        Some(stranger.certificate.clone()),
    )
    .expect("bases");
    let client = Client::new(cloud, TENANT, CLIENT).expect("client");
    let session = Session::new(
        Identity::new(client).expect("client"),
        Arc::new(MemoryVault::default()),
    );
    let err = session
        .sign_in_with_device_code()
        .await
        .expect_err("refused");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert!(lab.cloud.requests().is_empty(), "nothing was sent to it");
}
