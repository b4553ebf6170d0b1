//! Mid-call controls through the real trunk: hold and resume both ways (re-INVITE), DTMF both
//! ways, and blind transfer (REFER) with its success and failure. Kamailio is the trunk;
//! baresip is the customer and the expert; the agent is `switchboard-cli agent` on stdin.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use switchboard_testkit::audio;
use switchboard_testkit::baresip::{Baresip, Options};
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;

const USERS: &[(&str, &str)] = &[
    ("agent1", "agent-secret"),
    ("customer", "customer-secret"),
    ("expert", "expert-secret"),
    ("caller2", "caller2-secret"),
];

/// What the phones say: long enough for every test here (baresip hangs up at its end).
const TALK: &str = "Thank you for waiting. I have your account open now, and I can see the \
    order from last week. The parcel left our warehouse on Monday and should arrive tomorrow. \
    Is there anything else I can help you with today?";

struct Lab {
    out: PathBuf,
    kamailio: Kamailio,
    agent: CliAgent,
    speech: PathBuf,
}

impl Lab {
    fn start(name: &str) -> Self {
        let out = switchboard_testkit::output::dir(name);
        let speech = audio::speech(&out, "talk", TALK, 2);
        Self::start_playing(out, speech.clone(), speech)
    }

    /// The agent sends `agent_audio`; the phones send `speech`.
    fn start_playing(out: PathBuf, agent_audio: PathBuf, speech: PathBuf) -> Self {
        Self::start_with(out, agent_audio, speech, &[])
    }

    fn start_with(out: PathBuf, agent_audio: PathBuf, speech: PathBuf, extra: &[&str]) -> Self {
        let kamailio = Kamailio::start(&out, USERS);
        let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
        let play = agent_audio.to_str().expect("utf-8 path");
        let mut agent = CliAgent::register(
            binary,
            &kamailio.uri(),
            "agent1",
            "agent-secret",
            &[&["--play", play, "--record", "/dev/null"], extra].concat(),
        );
        agent.wait("registered", 10);
        Self {
            out,
            kamailio,
            agent,
            speech,
        }
    }

    fn phone(&self, user: &str, options: Options) -> Baresip {
        let dir = self.out.join(user);
        let password = USERS
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, p)| *p)
            .expect("known user");
        Baresip::start_with(
            &dir,
            self.kamailio.port,
            user,
            password,
            &self.speech,
            options,
        )
    }

    fn uri(&self, user: &str) -> String {
        self.kamailio.user_uri(user)
    }

    /// The customer calls the agent, who answers; both ends see the call up.
    fn customer_call(&mut self) -> Baresip {
        let mut customer = self.phone("customer", Options::default());
        customer.dial(&self.uri("agent1"));
        self.agent.wait("incoming", 10);
        self.agent.send("answer");
        self.agent.wait("answered", 5);
        customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));
        customer
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

#[test]
fn hold_resume_and_dtmf_work_both_ways_through_the_trunk() {
    let mut lab = Lab::start("cli_hold_dtmf");
    let mut customer = lab.customer_call();

    // The agent holds: a sendonly re-INVITE through Kamailio, answered by baresip.
    lab.agent.send("hold");
    lab.agent.wait("held", 10);
    lab.agent.send("hold");
    let refused = lab.agent.wait("error", 5);
    assert!(
        str_of(&refused, "message").contains("already on hold"),
        "{refused}"
    );
    lab.agent.send("resume");
    lab.agent.wait("resumed", 10);

    // The customer holds the agent, then resumes.
    customer.hold();
    lab.agent.wait("remote_hold", 10);
    customer.resume();
    lab.agent.wait("remote_resume", 10);

    // Keys from the agent reach the customer as RFC 4733 events, in order.
    lab.agent.send("dtmf 12#");
    let sent = lab.agent.wait("dtmf_sent", 5);
    assert_eq!(str_of(&sent, "via"), "rtp", "{sent}");
    let mut keys = String::new();
    for _ in 0..3 {
        let e = customer.wait_event("CALL_DTMF_START", Duration::from_secs(5));
        keys.push_str(str_of(&e, "param"));
    }
    assert_eq!(keys, "12#");
    lab.agent.send("dtmf 9x");
    let refused = lab.agent.wait("error", 5);
    assert!(
        str_of(&refused, "message").contains("'X'") || str_of(&refused, "message").contains("DTMF"),
        "{refused}"
    );

    // A key from the customer reaches the agent.
    customer.send_keys("5");
    let got = lab.agent.wait("dtmf_received", 5);
    assert_eq!(str_of(&got, "key"), "5", "{got}");

    lab.agent.send("hangup");
    let ended = lab.agent.wait("ended", 10);
    assert_eq!(ended["reason"]["kind"], "localHangup", "{ended}");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(5));
}

#[test]
fn blind_transfer_hands_the_customer_to_the_expert() {
    let mut lab = Lab::start("cli_blind_transfer");
    let mut expert = lab.phone(
        "expert",
        Options {
            auto_answer: true,
            ..Options::default()
        },
    );
    let mut customer = lab.customer_call();

    let target = lab.uri("expert");
    lab.agent.send(&format!("transfer {target}"));
    let progress = lab.agent.wait("transfer_progress", 10);
    assert!(
        progress["status"].as_u64().unwrap_or(0) >= 100,
        "{progress}"
    );
    let done = lab.agent.wait("transferred", 15);
    assert_eq!(str_of(&done, "target"), target, "{done}");
    let ended = lab.agent.wait("ended", 10);
    assert_eq!(ended["reason"]["kind"], "transferred", "{ended}");

    // The expert now talks with the customer, not with the agent.
    let incoming = expert.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    assert!(
        str_of(&incoming, "peeruri").contains("customer"),
        "{incoming}"
    );
    let customer_side = customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    assert!(
        str_of(&customer_side, "peeruri").contains("expert"),
        "{customer_side}"
    );
}

#[test]
fn a_failed_transfer_keeps_the_customer_on_the_line() {
    let mut lab = Lab::start("cli_failed_transfer");
    let mut customer = lab.customer_call();

    // Nobody is registered as "nobody": the trunk answers the customer's INVITE with 404.
    lab.agent.send(&format!("transfer {}", lab.uri("nobody")));
    let failed = lab.agent.wait("transfer_failed", 15);
    assert_eq!(failed["status"], 404, "{failed}");

    // The call is still up: the agent can still hold it, and the hang-up is an ordinary one.
    lab.agent.send("hold");
    lab.agent.wait("held", 10);
    lab.agent.send("hangup");
    let ended = lab.agent.wait("ended", 10);
    assert_eq!(ended["reason"]["kind"], "localHangup", "{ended}");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(5));
}

fn expert_options() -> Options {
    Options {
        auto_answer: true,
        ..Options::default()
    }
}

#[test]
fn consult_then_complete_leaves_the_customer_with_the_expert() {
    let mut lab = Lab::start("cli_attended_transfer");
    let mut expert = lab.phone("expert", expert_options());
    let mut customer = lab.customer_call();

    let target = lab.uri("expert");
    lab.agent.send(&format!("consult {target}"));
    let started = lab.agent.wait("consult_started", 5);
    let consult = str_of(&started, "consult").to_owned();
    let answered = lab.agent.wait("answered", 10);
    assert_eq!(str_of(&answered, "call"), consult, "{answered}");
    // The customer's hold and the expert's answer race: either may be reported first.
    if !lab.agent.has_seen("held") {
        lab.agent.wait("held", 10);
    }
    expert.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));

    lab.agent.send("complete");
    let done = lab.agent.wait("transferred", 15);
    assert_eq!(str_of(&done, "target"), target, "{done}");
    // Both of the agent's legs end as handed over.
    for _ in 0..2 {
        let ended = lab.agent.wait("ended", 10);
        assert_eq!(ended["reason"]["kind"], "transferred", "{ended}");
    }
    // The customer's new call reached the expert.
    let customer_side = customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    assert!(
        str_of(&customer_side, "peeruri").contains("expert"),
        "{customer_side}"
    );
    let expert_side = expert.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    assert!(
        str_of(&expert_side, "peeruri").contains("customer"),
        "{expert_side}"
    );
}

#[test]
fn a_consult_not_taken_or_cancelled_returns_to_the_customer() {
    let mut lab = Lab::start("cli_consult_cancel");
    let mut expert = lab.phone("expert", Options::default());
    let mut customer = lab.customer_call();

    // Nobody answers as "nobody": the trunk refuses, and the agent is back with the customer.
    lab.agent.send(&format!("consult {}", lab.uri("nobody")));
    let ended = lab.agent.wait("consult_ended", 10);
    assert!(!str_of(&ended, "consult").is_empty(), "{ended}");
    assert_eq!(
        str_of(&ended, "outcome"),
        "failed",
        "404 from the trunk: {ended}"
    );
    lab.agent.wait("resumed", 10);

    // The expert's phone rings; the agent gives up on it.
    lab.agent.send(&format!("consult {}", lab.uri("expert")));
    lab.agent.wait("ringing", 10);
    expert.wait_event("CALL_INCOMING", Duration::from_secs(5));
    lab.agent.send("cancel");
    let ended = lab.agent.wait("consult_ended", 10);
    assert_eq!(str_of(&ended, "outcome"), "cancelled", "{ended}");
    lab.agent.wait("resumed", 10);
    expert.wait_event("CALL_CLOSED", Duration::from_secs(5));

    // The customer never left: the call is still up for an ordinary hang-up.
    lab.agent.send("hangup");
    let ended = lab.agent.wait("ended", 10);
    assert_eq!(ended["reason"]["kind"], "localHangup", "{ended}");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(5));
}

/// The customer here is a second `switchboard-cli` (registered as "customer", recording what
/// it hears): baresip 1.0 stops writing its received audio after a re-INVITE, and the
/// customer is put on hold during the consultation. The expert is baresip.
#[test]
fn conference_lets_the_customer_and_the_expert_hear_each_other() {
    let out = switchboard_testkit::output::dir("cli_conference");
    // The agent says nothing, so whatever a phone hears comes from the other phone, mixed in
    // by the agent's media layer.
    let quiet = audio::room_tone(&out, "agent-quiet", 30, 1);
    let speech = audio::speech(&out, "talk", TALK, 2);
    let mut lab = Lab::start_playing(out.clone(), quiet, speech.clone());
    let mut expert = lab.phone("expert", expert_options());
    let customer_heard = out.join("customer-heard.wav");
    let mut customer = CliAgent::register(
        Path::new(env!("CARGO_BIN_EXE_switchboard-cli")),
        &lab.kamailio.uri(),
        "customer",
        "customer-secret",
        &[
            "--play",
            speech.to_str().expect("utf-8 path"),
            "--record",
            customer_heard.to_str().expect("utf-8 path"),
        ],
    );
    customer.wait("registered", 10);
    customer.send(&format!("dial {}", lab.uri("agent1")));
    lab.agent.wait("incoming", 10);
    lab.agent.send("answer");
    lab.agent.wait("answered", 10);
    customer.wait("answered", 10);

    lab.agent.send(&format!("consult {}", lab.uri("expert")));
    let started = lab.agent.wait("consult_started", 5);
    let consult = str_of(&started, "consult").to_owned();
    customer.wait("remote_hold", 10);
    // The consult leg's answer, not the customer's (passed over above).
    let answered = lab.agent.wait("answered", 10);
    assert_eq!(str_of(&answered, "call"), consult, "{answered}");
    expert.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));
    lab.agent.send("conference");
    lab.agent.wait("conference_started", 5);
    customer.wait("remote_resume", 10);
    std::thread::sleep(Duration::from_secs(4));
    lab.agent.send("quit");
    customer.wait("ended", 10);
    customer.send("quit");
    expert.wait_event("CALL_CLOSED", Duration::from_secs(10));
    expert.quit();
    drop(customer);

    let (said, said_rate) = audio::read_mono(&speech);
    let expert_heard = expert.heard_files();
    let heard = [
        ("customer", customer_heard),
        (
            "expert",
            expert_heard.last().expect("expert recorded").clone(),
        ),
    ];
    for (who, file) in heard {
        let (heard, rate) = audio::read_mono(&file);
        let active = audio::active_windows(&heard, rate, 500.0);
        let r = audio::envelope_correlation(&said, said_rate, &heard, rate, 2000);
        eprintln!("{who} heard {active} active 20 ms windows from the other phone, r = {r:.2}");
        assert!(
            active > 60,
            "{who} heard the other phone too little: {active} windows"
        );
    }
}

#[test]
fn a_second_call_rings_and_answering_it_holds_the_first() {
    let mut lab = Lab::start("cli_call_waiting");
    let mut customer = lab.customer_call();
    let first = lab
        .agent
        .events
        .seen
        .iter()
        .rev()
        .find(|e| e["event"] == "answered")
        .cloned();
    let first = first.expect("first call answered")["call"].clone();

    let mut caller2 = lab.phone("caller2", Options::default());
    caller2.dial(&lab.uri("agent1"));
    let waiting = lab.agent.wait("incoming", 10);
    assert!(str_of(&waiting, "caller").contains("caller2"), "{waiting}");
    caller2.wait_event("CALL_RINGING", Duration::from_secs(5));

    lab.agent
        .send(&format!("answer {}", str_of(&waiting, "call")));
    let held = lab.agent.wait("held", 10);
    assert_eq!(held["call"], first, "the first call is put on hold: {held}");
    caller2.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    customer.hangup();
    caller2.hangup();
}

#[test]
fn with_call_waiting_off_a_second_call_is_refused_busy() {
    let out = switchboard_testkit::output::dir("cli_busy");
    let speech = audio::speech(&out, "talk", TALK, 2);
    let mut lab = Lab::start_with(out, speech.clone(), speech, &["--no-call-waiting"]);
    let _customer = lab.customer_call();

    let mut caller2 = lab.phone("caller2", Options::default());
    caller2.dial(&lab.uri("agent1"));
    let refused = lab.agent.wait("refused_busy", 10);
    assert!(str_of(&refused, "caller").contains("caller2"), "{refused}");
    let closed = caller2.wait_event("CALL_CLOSED", Duration::from_secs(10));
    assert!(str_of(&closed, "param").contains("486"), "{closed}");
    let incomings = lab
        .agent
        .events
        .seen
        .iter()
        .filter(|e| e["event"] == "incoming")
        .count();
    assert_eq!(incomings, 1, "the second call must not ring");
}
