//! The trunk dies and comes back: Kamailio is killed while the agent is registered and
//! restarted on the same port with an empty memory. The agent must notice (keepalives), find
//! the trunk again and register within 5 s of the restart, and then place a call.

use std::path::Path;
use std::time::{Duration, Instant};

use switchboard_testkit::audio;
use switchboard_testkit::baresip::{Baresip, Options};
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;

const USERS: &[(&str, &str)] = &[("agent1", "agent-secret"), ("expert", "expert-secret")];

#[test]
fn a_restarted_trunk_is_registered_to_again_within_five_seconds_and_a_call_then_succeeds() {
    let out = switchboard_testkit::output::dir("cli_trunk_restart");
    let first_dir = out.join("kamailio-1");
    let first = Kamailio::start(&first_dir, USERS);
    let port = first.port;
    let speech = audio::speech(&out, "talk", "Hello, this is the expert desk.", 2);
    let play = speech.to_str().expect("utf-8 path");
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let mut agent = CliAgent::register(
        binary,
        &first.uri(),
        "agent1",
        "agent-secret",
        &["--keepalive", "1", "--play", play, "--record", "/dev/null"],
    );
    agent.wait("registered", 10);

    drop(first);
    let lost = agent.wait("registration_failed", 10);
    assert!(
        lost["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("keepalive"),
        "{lost}"
    );
    // Down for a while, so that some probes go unanswered before the trunk is back.
    std::thread::sleep(Duration::from_secs(3));

    let second_dir = out.join("kamailio-2");
    let restarting = Instant::now();
    let second = Kamailio::start_on(&second_dir, port, USERS);
    agent.wait("registered", 10);
    let recovery = restarting.elapsed();
    eprintln!(
        "registered again {} ms after the trunk restart began",
        recovery.as_millis()
    );
    assert!(recovery < Duration::from_secs(5), "took {recovery:?}");

    // The trunk knows the agent again: a call through it goes through.
    let expert_dir = out.join("expert");
    let mut expert = Baresip::start_with(
        &expert_dir,
        second.port,
        "expert",
        "expert-secret",
        &speech,
        Options {
            auto_answer: true,
            ..Options::default()
        },
    );
    agent.send(&format!("dial sip:expert@127.0.0.1:{port}"));
    agent.wait("answered", 10);
    expert.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));
    agent.send("hangup");
    agent.wait("ended", 10);
}

/// A trunk that forgets without going away (a registrar failing over to a standby, or one that
/// restarted between two keepalives): the keepalive, addressed to our own address-of-record,
/// gets "not found", and the agent registers again at once, before its refresh was due.
#[test]
fn a_trunk_that_forgot_the_registration_is_registered_to_again_at_the_next_keepalive() {
    let out = switchboard_testkit::output::dir("cli_trunk_forgot");
    let kamailio = Kamailio::start(&out.join("kamailio"), USERS);
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let mut agent = CliAgent::register(
        binary,
        &kamailio.uri(),
        "agent1",
        "agent-secret",
        &["--keepalive", "2"],
    );
    agent.wait("registered", 10);
    // A keepalive has gone round (challenge, relayed back to us, 200) before the trunk forgets.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !agent.has_seen("registration_failed"),
        "keepalives to our own address must not look like a lost registration"
    );
    let forgetting = Instant::now();
    kamailio.forget("agent1");
    let failed = agent.wait("registration_failed", 5);
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no longer knows"),
        "{failed}"
    );
    agent.wait("registered", 5);
    let took = forgetting.elapsed();
    eprintln!(
        "registered again {} ms after the trunk forgot us (keepalive 2 s)",
        took.as_millis()
    );
    // The next keepalive (at most 2 s away) and one REGISTER round trip.
    assert!(took < Duration::from_millis(2500), "took {took:?}");
}
