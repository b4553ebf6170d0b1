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
];

struct Lab {
    out: PathBuf,
    kamailio: Kamailio,
    agent: CliAgent,
    speech: PathBuf,
}

impl Lab {
    fn start(name: &str) -> Self {
        let out = switchboard_testkit::output::dir(name);
        let kamailio = Kamailio::start(&out, USERS);
        let speech = audio::speech(&out, "talk", "One moment please, I am checking that.", 2);
        let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
        let mut agent = CliAgent::register(
            binary,
            &kamailio.uri(),
            "agent1",
            "agent-secret",
            &[
                "--play",
                speech.to_str().expect("utf-8 path"),
                "--record",
                "/dev/null",
            ],
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
        std::fs::create_dir_all(&dir).expect("dir");
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
        format!("sip:{user}@127.0.0.1:{}", self.kamailio.port)
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
