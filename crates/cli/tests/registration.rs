//! What a registrar may ask of the agent: a longer lifetime (423 with Min-Expires) and SHA-256
//! digests (REGISTER and INVITE), each from a real Kamailio configured that way.

use std::path::Path;
use std::time::Duration;

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

#[test]
fn a_challenge_is_answered_once_and_later_requests_count_up_its_nonce() {
    let out = switchboard_testkit::output::dir("cli_register_nonce_count");
    let trunk = Kamailio::launch(
        &out.join("kamailio"),
        &Setup {
            users: USERS,
            nonce_count: true,
            ..Setup::default()
        },
    );
    let speech = switchboard_testkit::audio::speech(&out, "talk", "Hello.", 1);
    let args = [
        "--keepalive",
        "1",
        "--play",
        speech.to_str().expect("utf-8 path"),
        "--record",
        "/dev/null",
    ];
    let mut agent = CliAgent::register(binary(), &trunk.uri(), "agent1", "agent-secret", &args);
    agent.wait("registered", 10);
    // Keepalives every second: each an OPTIONS the trunk authenticates.
    assert!(
        trunk.wait_log("authenticated OPTIONS of agent1", Duration::from_secs(5)),
        "no keepalive was authenticated:\n{}",
        trunk.log()
    );
    std::thread::sleep(Duration::from_secs(4));
    agent.send("dial nobody");
    let ended = agent.wait("ended", 10);
    assert_eq!(ended["reason"]["status"], 404, "{ended}");

    let log = trunk.log();
    let count = |needle: &str| log.matches(needle).count();
    let keepalives = count("authenticated OPTIONS of agent1");
    assert!(
        keepalives >= 4,
        "{keepalives} keepalives authenticated:\n{log}"
    );
    // One challenge per kind: the REGISTER's (401) and the first keepalive's (407); after
    // that the nonce is counted up, keepalives and the INVITE included.
    assert_eq!(count("challenged REGISTER of agent1"), 1, "{log}");
    assert_eq!(count("challenged OPTIONS of agent1"), 1, "{log}");
    assert_eq!(count("challenged INVITE of agent1"), 0, "{log}");
    assert_eq!(count("authenticated INVITE of agent1"), 1, "{log}");
    assert!(
        !agent.has_seen("registration_failed"),
        "{:#?}",
        agent.events.seen
    );
}
