//! What a registrar may ask of the agent: a longer lifetime (423 with Min-Expires) and SHA-256
//! digests (REGISTER and INVITE), each from a real Kamailio configured that way.

use std::path::Path;

use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::{Kamailio, Setup};

const USERS: &[(&str, &str)] = &[("agent1", "agent-secret")];

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_switchboard-cli"))
}

#[test]
fn a_registrar_that_wants_a_longer_lifetime_gets_it_after_423() {
    let out = switchboard_testkit::output::dir("cli_register_423");
    let trunk = Kamailio::launch(
        &out.join("kamailio"),
        &Setup {
            users: USERS,
            // The agent asks for 600 s.
            min_expires: Some(1200),
            ..Setup::default()
        },
    );
    let mut agent = CliAgent::register(binary(), &trunk.uri(), "agent1", "agent-secret", &[]);
    let registered = agent.wait("registered", 10);
    let granted = registered["expires"].as_u64().unwrap_or(0);
    assert!(granted >= 1200, "granted {granted} s: {registered}");
    assert!(
        !agent.has_seen("registration_failed"),
        "the 423 was answered, not reported: {:#?}",
        agent.events.seen
    );
}

#[test]
fn sha256_digest_challenges_are_answered_and_a_wrong_password_still_fails() {
    let out = switchboard_testkit::output::dir("cli_register_sha256");
    let trunk = Kamailio::launch(
        &out.join("kamailio"),
        &Setup {
            users: USERS,
            algorithm: Some("SHA-256"),
            ..Setup::default()
        },
    );
    let speech = switchboard_testkit::audio::speech(&out, "talk", "Hello.", 1);
    let audio = [
        "--play",
        speech.to_str().expect("utf-8 path"),
        "--record",
        "/dev/null",
    ];
    let mut agent = CliAgent::register(binary(), &trunk.uri(), "agent1", "agent-secret", &audio);
    agent.wait("registered", 10);
    // The trunk challenges the INVITE too (407, SHA-256); answered, it gets as far as routing:
    // nobody is registered as "nobody".
    agent.send("dial nobody");
    let ended = agent.wait("ended", 10);
    assert_eq!(ended["reason"]["status"], 404, "{ended}");
    drop(agent);

    let mut wrong = CliAgent::register(binary(), &trunk.uri(), "agent1", "not-the-secret", &[]);
    let failed = wrong.wait("registration_failed", 10);
    assert_eq!(failed["status"], 401, "{failed}");
}
