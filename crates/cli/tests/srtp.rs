//! SRTP through the trunk with baresip as the far end: an agent that requires encryption
//! refuses a plain caller before it rings, and places encrypted calls that the far end
//! decrypts. (The encrypted inbound call is in `first_call.rs`, with the other codecs.)

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use switchboard_testkit::audio;
use switchboard_testkit::baresip::{Baresip, Options};
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;
use switchboard_testkit::raw_uac::RawUac;
use switchboard_testkit::trunk_lab::TrunkLab;

const USERS: &[(&str, &str)] = &[("agent1", "agent-secret"), ("peer", "peer-secret")];

fn agent(kamailio: &Kamailio, extra: &[&str]) -> CliAgent {
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let mut args = vec!["--srtp", "required"];
    args.extend(extra);
    CliAgent::register(binary, &kamailio.uri(), "agent1", "agent-secret", &args)
}

#[test]
fn a_plain_caller_is_refused_with_488_before_it_rings_when_srtp_is_required() {
    let out = switchboard_testkit::output::dir("cli_srtp_refused");
    let kamailio = Kamailio::start(&out, USERS);
    let mut agent = agent(&kamailio, &["--record", "/dev/null"]);
    agent.wait("registered", 10);
    let speech = audio::speech(&out, "customer", "Hello?", 2);
    let mut customer = Baresip::start(
        &out.join("customer"),
        kamailio.port,
        "peer",
        "peer-secret",
        &speech,
    );
    customer.dial(&kamailio.user_uri("agent1"));

    let refused = agent.wait("refused_unacceptable", 10);
    let reason = refused["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("SRTP") && reason.contains("required"),
        "{refused}"
    );
    assert!(
        refused["caller"]
            .as_str()
            .unwrap_or_default()
            .contains("peer"),
        "{refused}"
    );
    let closed = customer.wait_event("CALL_CLOSED", Duration::from_secs(10));
    let why = closed["param"].as_str().unwrap_or_default();
    assert!(why.contains("488"), "{closed}");
    assert!(
        !agent.has_seen("incoming"),
        "the agent's phone must not ring"
    );
    agent.send("quit");
}

#[test]
fn an_outgoing_call_is_encrypted_and_the_far_end_hears_it() {
    let out = switchboard_testkit::output::dir("cli_srtp_outbound");
    let kamailio = Kamailio::start(&out, USERS);
    let said = audio::speech(
        &out,
        "agent",
        "This is the contact center calling you back.",
        1,
    );
    let heard = out.join("agent-heard.wav");
    let mut agent = agent(
        &kamailio,
        &[
            "--play",
            said.to_str().expect("utf-8 path"),
            "--record",
            heard.to_str().expect("utf-8 path"),
        ],
    );
    agent.wait("registered", 10);
    let peer_speech = audio::speech(&out, "peer", "Hello, this is the expert speaking.", 2);
    let mut peer = Baresip::start_with(
        &out.join("peer"),
        kamailio.port,
        "peer",
        "peer-secret",
        &peer_speech,
        Options {
            auto_answer: true,
            mediaenc: Some("srtp-mand".into()),
            ..Options::default()
        },
    );

    agent.send(&format!("dial {}", kamailio.user_uri("peer")));
    agent.wait("answered", 10);
    peer.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(4));
    agent.send("hangup");
    let ended = agent.wait("ended", 10);
    let stats = &ended["stats"];
    assert_eq!(stats["encrypted"], true, "{stats}");
    assert_eq!(stats["packetsRejected"], 0, "{stats}");
    assert!(
        stats["packetsReceived"].as_u64().unwrap_or(0) > 100,
        "{stats}"
    );
    assert!(peer.log().contains("SRTP is Enabled"), "{}", peer.log());

    // Each side decrypted the other: both recordings carry speech.
    let (ours, rate) = audio::read_mono(&heard);
    assert!(
        audio::active_windows(&ours, rate, 500.0) > 50,
        "the agent heard silence"
    );
    let dumps = peer.heard_files();
    let (theirs, rate) = audio::read_mono(dumps.first().expect("baresip's decoded audio"));
    assert!(
        audio::active_windows(&theirs, rate, 500.0) > 50,
        "the far end heard silence"
    );
    agent.send("quit");
}

/// A DTLS-SRTP call keeps its association through re-INVITEs both ways (hold and resume):
/// RFC 4733 keys still cross each way afterwards, and nothing is refused as unauthentic.
#[test]
fn a_dtls_srtp_call_keeps_its_keys_through_hold_and_resume() {
    let out = switchboard_testkit::output::dir("cli_dtls_hold");
    let kamailio = Kamailio::start(&out, USERS);
    let said = audio::speech(&out, "agent", "Let me put you on hold for a moment.", 1);
    let mut agent = agent(
        &kamailio,
        &[
            "--play",
            said.to_str().expect("utf-8 path"),
            "--record",
            "/dev/null",
        ],
    );
    agent.wait("registered", 10);
    let speech = audio::speech(
        &out,
        "customer",
        "I will wait. Please take your time, I have the whole afternoon free for this. \
         The order number is on the invoice, the one that came by email last Tuesday, and \
         the parcel was left with my neighbour at number twelve. I can spell my name if \
         that helps you find the account.",
        2,
    );
    let mut customer = Baresip::start_with(
        &out.join("customer"),
        kamailio.port,
        "peer",
        "peer-secret",
        &speech,
        Options {
            mediaenc: Some("dtls_srtp".into()),
            ..Options::default()
        },
    );
    customer.dial(&kamailio.user_uri("agent1"));
    agent.wait("incoming", 10);
    agent.send("answer");
    agent.wait("answered", 5);
    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));

    agent.send("hold");
    agent.wait("held", 10);
    agent.send("resume");
    agent.wait("resumed", 10);
    customer.hold();
    agent.wait("remote_hold", 10);
    customer.resume();
    agent.wait("remote_resume", 10);

    agent.send("dtmf 12");
    let mut keys = String::new();
    for _ in 0..2 {
        let e = customer.wait_event("CALL_DTMF_START", Duration::from_secs(5));
        keys.push_str(e["param"].as_str().unwrap_or_default());
    }
    assert_eq!(
        keys, "12",
        "the customer decrypts the agent after the re-INVITEs"
    );
    customer.send_keys("5");
    let got = agent.wait("dtmf_received", 5);
    assert_eq!(got["key"], "5", "the agent decrypts the customer: {got}");

    agent.send("hangup");
    let ended = agent.wait("ended", 10);
    let stats = &ended["stats"];
    assert_eq!(stats["encrypted"], true, "{stats}");
    assert_eq!(stats["packetsRejected"], 0, "{stats}");
    let log = customer.log();
    assert_eq!(
        log.matches("DTLS-SRTP complete (audio/RTP)").count(),
        1,
        "one handshake for the whole call:\n{log}"
    );
    agent.send("quit");
}

/// A DTLS-SRTP caller whose handshake never comes (nothing at its media port answers): the
/// agent tries, sends no RTP in the clear, and hangs up with the reason rather than keep a
/// silent call.
#[test]
fn a_dtls_call_that_never_keys_is_hung_up_with_the_reason() {
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let mut lab = TrunkLab::start("cli_dtls_never_keyed", binary, &["--auto-answer"]);
    let uac = RawUac::bind("127.0.0.1", lab.agent_sip, "agent1");
    // The caller's media port: it reads what the agent sends and never answers.
    let media = UdpSocket::bind("127.0.0.1:0").expect("bind");
    media
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let port = media.local_addr().expect("addr").port();
    let sdp = format!(
        "v=0\r\no=customer 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} UDP/TLS/RTP/SAVP 111\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-mux\r\n\
         a=fingerprint:sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:\
         10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F\r\na=setup:actpass\r\n"
    );
    let mut dialog = uac.invite_offering(1, &sdp);
    let answer = loop {
        let a = uac.answer_to("INVITE", Duration::from_secs(5));
        if a.status >= 200 {
            break a;
        }
    };
    assert_eq!(answer.status, 200, "{answer:?}");
    dialog.to_tag = answer.to_tag;
    uac.ack(&dialog, true);

    let (mut hellos, mut plain) = (0, 0);
    let started = Instant::now();
    let bye = loop {
        let mut buf = [0u8; 1500];
        if let Ok(n) = media.recv(&mut buf) {
            match buf.get(..n).and_then(|d| d.first()) {
                Some(22) => hellos += 1,
                Some(128..=191) => plain += 1,
                _ => {}
            }
        }
        if let Some(bye) = uac.request_of("BYE", Duration::from_millis(10)) {
            break bye;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no BYE");
    };
    uac.respond(&bye, 200, "OK");
    let ended = lab.agent.wait("ended", 5);
    assert_eq!(ended["reason"]["kind"], "mediaFailed", "{ended}");
    let detail = ended["reason"]["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("DTLS"), "{ended}");
    assert_eq!(ended["stats"]["encrypted"], false, "{ended}");
    assert!(
        hellos >= 2,
        "the agent tried, and tried again: {hellos} handshake records"
    );
    assert_eq!(plain, 0, "nothing in the clear");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(15),
        "hung up after {took:?}"
    );
}
