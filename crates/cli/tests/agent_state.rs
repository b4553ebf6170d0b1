//! The agent's state through the real trunk: a not-ready agent's phone does not ring (480 to
//! the caller), an available one's does; a call makes the agent On call, its end starts
//! wrap-up, and wrap-up's timer makes them available again. Kamailio is the trunk, baresip the
//! customer, `switchboard-cli agent` the agent on stdin.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use switchboard_testkit::audio;
use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;

const USERS: &[(&str, &str)] = &[("agent1", "agent-secret"), ("customer", "customer-secret")];

fn state_of(event: &Value) -> &str {
    event["state"]["state"].as_str().unwrap_or_default()
}

#[test]
fn not_ready_refuses_calls_and_a_call_runs_on_call_wrap_up_then_available() {
    let out = switchboard_testkit::output::dir("cli_agent_state");
    let kamailio = Kamailio::start(&out, USERS);
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let mut agent = CliAgent::register(
        binary,
        &kamailio.uri(),
        "agent1",
        "agent-secret",
        &["--record", "/dev/null", "--wrap-up", "2"],
    );
    let start = agent.wait("agent_state", 10);
    assert_eq!(
        (state_of(&start), start["cause"].as_str()),
        ("available", Some("restored"))
    );
    agent.wait("registered", 10);

    agent.send("state not-ready Nap");
    let refused = agent.wait("error", 5);
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Nap"),
        "{refused}"
    );
    agent.send("state not-ready Break");
    let break_ = agent.wait("agent_state", 5);
    assert_eq!(break_["state"]["reason"], "Break", "{break_}");
    assert_eq!(break_["cause"], "agent");

    let speech = audio::speech(
        &out,
        "customer",
        "Hello, I am calling about my order, it still has not arrived and I am worried.",
        2,
    );
    let mut customer = Baresip::start(
        &out.join("customer"),
        kamailio.port,
        "customer",
        "customer-secret",
        &speech,
    );
    customer.dial(&kamailio.user_uri("agent1"));
    let unavailable = agent.wait("refused_unavailable", 10);
    assert_eq!(state_of(&unavailable), "notReady", "{unavailable}");
    let closed = customer.wait_event("CALL_CLOSED", Duration::from_secs(10));
    assert!(
        closed["param"].as_str().unwrap_or_default().contains("480"),
        "{closed}"
    );
    assert!(
        !agent.has_seen("incoming"),
        "a not-ready agent's phone must not ring"
    );

    agent.send("state available");
    assert_eq!(state_of(&agent.wait("agent_state", 5)), "available");
    customer.dial(&kamailio.user_uri("agent1"));
    agent.wait("incoming", 10);
    agent.send("answer");
    let on_call = agent.wait("agent_state", 10);
    assert_eq!(
        (state_of(&on_call), on_call["cause"].as_str()),
        ("onCall", Some("callStarted"))
    );
    agent.send("state offline");
    let busy = agent.wait("error", 5);
    assert!(
        busy["message"]
            .as_str()
            .unwrap_or_default()
            .contains("on a call"),
        "{busy}"
    );

    agent.send("hangup");
    agent.wait("ended", 10);
    let wrap_up = agent.wait("agent_state", 5);
    assert_eq!(state_of(&wrap_up), "wrapUp", "{wrap_up}");
    let ends = wrap_up["state"]["endsAtMs"].as_u64().unwrap_or(0);
    let at = wrap_up["atMs"].as_u64().unwrap_or(0);
    assert_eq!(ends - at, 2_000, "the configured wrap-up: {wrap_up}");
    let back = agent.wait("agent_state", 6);
    assert_eq!(
        (state_of(&back), back["cause"].as_str()),
        ("available", Some("wrapUpTimer"))
    );
    let waited = back["atMs"].as_u64().unwrap_or(0) - at;
    assert!(
        (2_000..2_500).contains(&waited),
        "wrap-up lasted {waited} ms"
    );
    agent.send("quit");
}
