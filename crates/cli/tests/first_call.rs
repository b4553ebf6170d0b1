//! The first real call through the headless agent: Kamailio as the trunk, baresip as the
//! customer, `switchboard-cli agent` answering from stdin, speech both ways from WAV files:
//! in Opus, and in G.711 with a customer whose phone offers nothing else.

use std::path::Path;
use std::time::Duration;

use switchboard_testkit::audio;
use switchboard_testkit::baresip::{Baresip, Options};
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;

const CUSTOMER_LINE: &str =
    "Hello, I am calling about my order. It arrived broken and I would like a replacement.";
const AGENT_LINE: &str =
    "Thank you for calling. I am sorry to hear that, let me look up your order right away.";

/// `switchboard-cli agent` as agent1 at `registrar`.
fn agent(registrar: &str, password: &str, extra: &[&str]) -> CliAgent {
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    CliAgent::register(binary, registrar, "agent1", password, extra)
}

#[test]
fn customer_call_is_answered_from_stdin_and_speech_flows_both_ways() {
    let (_, stats) = speech_flows_both_ways("cli_first_call", Case::default());
    // Offered by default, but this customer's phone does not encrypt.
    assert_eq!(stats["encrypted"], false, "{stats}");
}

/// A customer whose phone speaks only G.711 µ-law (or A-law) is answered in it, not refused.
#[test]
fn a_g711_only_customer_is_answered_in_g711_and_speech_flows_both_ways() {
    for codec in ["PCMU/8000", "PCMA/8000"] {
        let name = format!("cli_first_call_{}", &codec[..4]);
        let case = Case {
            codec: Some(codec),
            ..Case::default()
        };
        let (log, _) = speech_flows_both_ways(&name, case);
        assert!(
            log.contains(&codec[..4]),
            "baresip did not use {codec}:\n{log}"
        );
    }
}

/// An agent whose codecs IT restricted (`[media] codecs`, here `--codecs pcma`) takes the
/// one it allows from a phone that offers Opus first, and offers nothing else in its answer.
#[test]
fn an_agent_restricted_to_pcma_answers_a_phone_offering_opus_in_pcma() {
    let case = Case {
        codec: Some("opus/48000/2,PCMA/8000"),
        expect_codec: Some("PCMA"),
        agent_args: &["--codecs", "pcma"],
        ..Case::default()
    };
    let (log, _) = speech_flows_both_ways("cli_first_call_codecs", case);
    assert!(log.contains("PCMA"), "baresip did not use PCMA:\n{log}");
}

/// A customer whose phone insists on SRTP (RTP/SAVP, SDES keys) is answered encrypted, and
/// speech still flows both ways: each side decrypted the other.
#[test]
fn an_srtp_customer_is_answered_encrypted_when_the_agent_requires_it() {
    let case = Case {
        mediaenc: Some("srtp-mand"),
        agent_args: &["--srtp", "required"],
        ..Case::default()
    };
    let (log, stats) = speech_flows_both_ways("cli_first_call_srtp", case);
    assert_eq!(stats["encrypted"], true, "{stats}");
    assert_eq!(stats["packetsRejected"], 0, "{stats}");
    assert!(log.contains("srtp"), "baresip did not run SRTP:\n{log}");
}

/// A customer whose phone speaks only DTLS-SRTP (UDP/TLS/RTP/SAVP, keys from a handshake on
/// the media path) is answered encrypted; each side decrypted the other.
#[test]
fn a_dtls_srtp_customer_is_answered_encrypted_by_a_handshake() {
    let case = Case {
        mediaenc: Some("dtls_srtp"),
        agent_args: &["--srtp", "required"],
        ..Case::default()
    };
    let (log, stats) = speech_flows_both_ways("cli_first_call_dtls", case);
    assert_eq!(stats["encrypted"], true, "{stats}");
    assert_eq!(stats["packetsRejected"], 0, "{stats}");
    assert!(log.contains("dtls"), "baresip did not run DTLS:\n{log}");
}

/// What the customer's phone does, and how the agent is started.
#[derive(Default)]
struct Case {
    /// baresip's codecs, in its order; Opus alone when unset.
    codec: Option<&'static str>,
    /// The codec the call must end up in, when it is not baresip's first.
    expect_codec: Option<&'static str>,
    /// baresip's media encryption.
    mediaenc: Option<&'static str>,
    agent_args: &'static [&'static str],
}

/// One answered call; returns the customer's baresip log and the agent's call statistics.
fn speech_flows_both_ways(name: &str, case: Case) -> (String, serde_json::Value) {
    let codec = case.codec;
    let out = switchboard_testkit::output::dir(name);
    let kamailio = Kamailio::start(
        &out,
        &[("agent1", "agent-secret"), ("customer", "customer-secret")],
    );
    // baresip plays a file only at its codec's rate and channels: Opus 48 kHz stereo, G.711
    // 8 kHz mono.
    let customer_speech = match codec {
        None => audio::speech(&out, "customer", CUSTOMER_LINE, 2),
        Some(_) => audio::speech_at(&out, "customer", CUSTOMER_LINE, 8_000, 1),
    };
    let agent_speech = audio::speech(&out, "agent", AGENT_LINE, 1);
    let recording = out.join("agent-heard.wav");

    let registrar = kamailio.uri();
    let mut args = vec![
        "--play",
        agent_speech.to_str().expect("utf-8 path"),
        "--record",
        recording.to_str().expect("utf-8 path"),
    ];
    args.extend(case.agent_args);
    let mut agent = agent(&registrar, "agent-secret", &args);
    let registered = agent.wait("registered", 10);
    assert!(
        registered["expires"].as_u64().unwrap_or(0) > 0,
        "{registered}"
    );

    let baresip_dir = out.join("customer");
    let mut customer = Baresip::start_with(
        &baresip_dir,
        kamailio.port,
        "customer",
        "customer-secret",
        &customer_speech,
        Options {
            codec: codec.map(str::to_owned),
            mediaenc: case.mediaenc.map(str::to_owned),
            ..Options::default()
        },
    );
    customer.dial(&kamailio.user_uri("agent1"));

    let incoming = agent.wait("incoming", 10);
    assert!(
        incoming["caller"]
            .as_str()
            .unwrap_or_default()
            .contains("customer"),
        "{incoming}"
    );
    agent.send("answer");
    agent.wait("answered", 5);
    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));
    // Quality is reported while the call runs, not only at its end.
    let live = agent.wait("call_quality", 5);
    assert!(
        live["stats"]["packetsReceived"].as_u64().unwrap_or(0) > 20,
        "{live}"
    );
    assert!(live["stats"]["mos"].as_f64().unwrap_or(0.0) > 3.5, "{live}");
    // Let the customer finish the sentence (baresip hangs up at the end of its file).
    customer.wait_event("CALL_CLOSED", Duration::from_secs(20));
    let ended = agent.wait("ended", 10);
    eprintln!("{ended}");

    assert_eq!(ended["reason"]["kind"], "remoteHangup", "{ended}");
    let stats = &ended["stats"];
    let sent = stats["packetsSent"].as_u64().unwrap_or(0);
    let received = stats["packetsReceived"].as_u64().unwrap_or(0);
    assert!(sent > 100 && received > 100, "too few packets: {stats}");
    assert!(
        stats["lossFraction"].as_f64().unwrap_or(1.0) < 0.02,
        "loss on loopback: {stats}"
    );
    let codec_name = case
        .expect_codec
        .unwrap_or_else(|| codec.map_or("opus", |c| c.split('/').next().unwrap_or(c)));
    assert_eq!(stats["codec"], codec_name, "{stats}");
    // A clean loopback call rates near the E-model's best, with little waiting in the buffer.
    assert!(stats["mos"].as_f64().unwrap_or(0.0) > 4.0, "{stats}");
    assert!(
        stats["jitterBufferMs"].as_f64().unwrap_or(1e9) < 60.0,
        "{stats}"
    );

    // The agent heard the customer's speech: active audio whose envelope follows the original.
    let (heard, heard_rate) = audio::read_mono(&recording);
    let (said, said_rate) = audio::read_mono(&customer_speech);
    let active = audio::active_windows(&heard, heard_rate, 500.0);
    assert!(
        active > 50,
        "agent recording is nearly silent: {active} active 20 ms windows"
    );
    let corr = audio::envelope_correlation(&said, said_rate, &heard, heard_rate, 2000);
    eprintln!("agent heard: {active} active windows, envelope r = {corr:.3}");
    assert!(
        corr > 0.6,
        "agent recording does not follow the customer's speech (r = {corr:.2})"
    );

    // The customer heard the agent: baresip's decoded-audio dump carries speech.
    let heard_by_customer = customer.heard_files();
    assert!(
        !heard_by_customer.is_empty(),
        "baresip wrote no decoded audio"
    );
    let (c_heard, c_rate) = audio::read_mono(&heard_by_customer[0]);
    let (a_said, a_rate) = audio::read_mono(&agent_speech);
    let corr = audio::envelope_correlation(&a_said, a_rate, &c_heard, c_rate, 2000);
    eprintln!("customer heard: envelope r = {corr:.3}");
    assert!(
        audio::active_windows(&c_heard, c_rate, 500.0) > 50,
        "customer heard silence"
    );
    assert!(
        corr > 0.6,
        "customer's audio does not follow the agent's speech (r = {corr:.2})"
    );
    agent.send("quit");
    (customer.log(), stats.clone())
}

#[test]
fn wrong_password_is_a_clear_401_registration_failure_with_a_retry() {
    let out = switchboard_testkit::output::dir("cli_wrong_password");
    let kamailio = Kamailio::start(&out, &[("agent1", "right")]);
    let registrar = kamailio.uri();
    let mut agent = agent(&registrar, "wrong", &[]);
    let failed = agent.wait("registration_failed", 10);
    assert_eq!(failed["status"], 401, "{failed}");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("credentials"),
        "{failed}"
    );
    assert!(failed["retryIn"].as_u64().unwrap_or(0) >= 1, "{failed}");
    agent.send("quit");
}
