//! DTMF to a phone that offers no telephone-event: the agent falls back to SIP INFO
//! (application/dtmf-relay), one request per key, in order. The phone is sipp, which checks
//! each key and fails its exit status on a wrong or missing one.

use std::path::Path;
use std::time::Duration;

use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;
use switchboard_testkit::sipp::Sipp;

#[test]
fn keys_go_as_sip_info_when_the_peer_offers_no_telephone_event() {
    let out = switchboard_testkit::output::dir("cli_dtmf_info");
    let kamailio = Kamailio::start(&out.join("kamailio"), &[("agent1", "agent-secret")]);
    let speech = switchboard_testkit::audio::speech(&out, "talk", "One moment please.", 1);
    let mut agent = CliAgent::register(
        Path::new(env!("CARGO_BIN_EXE_switchboard-cli")),
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

    // The call goes out through the trunk, which relays it to sipp and stays in its path.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/info_dtmf_uas.xml");
    let mut phone = Sipp::uas(&out, &scenario, "127.0.0.1");
    let port = phone.port;
    agent.send(&format!("dial sip:sme@127.0.0.1:{port}"));
    agent.wait("answered", 10);
    agent.send("dtmf 12#");
    let sent = agent.wait("dtmf_sent", 10);
    assert_eq!(sent["via"], "info", "{sent}");
    assert_eq!(sent["keys"], "12#", "{sent}");
    // The three INFOs go one after another; give them time before hanging up.
    std::thread::sleep(Duration::from_secs(2));
    agent.send("hangup");
    agent.wait("ended", 10);

    phone
        .finish(Duration::from_secs(20))
        .expect("sipp saw every key, in order");
}
