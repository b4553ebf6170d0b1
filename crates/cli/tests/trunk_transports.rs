//! The ways to the trunk: several targets with failover, found by DNS SRV (dnsmasq) or
//! configured, TCP and TLS (with the certificate checked), each against real Kamailio, with a
//! real call over the way that was chosen.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use switchboard_testkit::audio;
use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::dns::{Dns, Srv};
use switchboard_testkit::kamailio::{Kamailio, Setup};
use switchboard_testkit::tls::TestCa;

const USERS: &[(&str, &str)] = &[("agent1", "agent-secret"), ("customer", "customer-secret")];

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_switchboard-cli"))
}

/// A customer on `trunk` (over UDP) calls the agent; the agent answers at once. Proves the
/// trunk has the agent's registration and reaches it over the flow the agent registered.
fn customer_reaches_agent(out: &Path, trunk: &Kamailio, agent: &mut CliAgent, speech: &Path) {
    let mut customer = Baresip::start(
        &out.join(format!("customer-{}", trunk.port)),
        trunk.port,
        "customer",
        "customer-secret",
        speech,
    );
    customer.dial(&trunk.user_uri("agent1"));
    let incoming = agent.wait("incoming", 10);
    assert!(
        incoming["caller"]
            .as_str()
            .unwrap_or_default()
            .contains("customer"),
        "{incoming}"
    );
    agent.wait("answered", 5);
    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));
    agent.send("hangup");
    agent.wait("ended", 10);
    customer.wait_event("CALL_CLOSED", Duration::from_secs(5));
}

fn speech(out: &Path) -> (PathBuf, Vec<String>) {
    let speech = audio::speech(out, "talk", "Thank you for calling.", 2);
    let args = vec![
        "--auto-answer".to_owned(),
        "--play".to_owned(),
        speech.to_str().expect("utf-8 path").to_owned(),
        "--record".to_owned(),
        "/dev/null".to_owned(),
    ];
    (speech, args)
}

#[test]
fn when_the_first_trunk_dies_the_agent_registers_to_the_next_and_takes_calls_there() {
    let out = switchboard_testkit::output::dir("cli_trunk_failover");
    let primary = Kamailio::start(&out.join("primary"), USERS);
    let standby = Kamailio::start(&out.join("standby"), USERS);
    let (speech, audio_args) = speech(&out);
    let mut args = vec!["--alternate", &standby.uri(), "--keepalive", "1"]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    args.extend(audio_args);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut agent = CliAgent::register(binary(), &primary.uri(), "agent1", "agent-secret", &args);
    agent.wait("registered", 10);
    assert!(
        primary.wait_log("saved registration of agent1", Duration::from_secs(2)),
        "the first target is used first"
    );
    assert!(!standby.log().contains("saved registration of agent1"));

    let killed = Instant::now();
    drop(primary);
    let lost = agent.wait("registration_failed", 10);
    assert!(
        lost["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("keepalive"),
        "{lost}"
    );
    agent.wait("registered", 10);
    let recovery = killed.elapsed();
    eprintln!(
        "failover: registered to the standby {} ms after the primary was killed (keepalive 1 s)",
        recovery.as_millis()
    );
    assert!(
        standby.wait_log("saved registration of agent1", Duration::from_secs(1)),
        "the standby took the registration"
    );
    // A keepalive (1 s), its timeout (2 s), and one REGISTER with its challenge.
    assert!(recovery < Duration::from_secs(5), "took {recovery:?}");

    customer_reaches_agent(&out, &standby, &mut agent, &speech);
    // Keepalives to the standby keep the registration: no flapping back to the dead primary.
    std::thread::sleep(Duration::from_secs(3));
    agent.has_seen("registration_failed");
    let failures = agent
        .events
        .seen
        .iter()
        .filter(|e| e["event"] == "registration_failed")
        .count();
    assert_eq!(failures, 1, "one loss only: {:#?}", agent.events.seen);
}

#[test]
fn over_tcp_the_trunk_calls_back_on_our_connection_and_a_dropped_one_is_replaced() {
    let out = switchboard_testkit::output::dir("cli_trunk_tcp");
    let trunk = Kamailio::start(&out.join("kamailio"), USERS);
    let (speech, args) = speech(&out);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut agent = CliAgent::register(binary(), &trunk.tcp_uri(), "agent1", "agent-secret", &args);
    agent.wait("registered", 10);
    assert!(
        trunk.wait_log("saved registration of agent1", Duration::from_secs(2)),
        "{}",
        trunk.log()
    );
    customer_reaches_agent(&out, &trunk, &mut agent, &speech);

    // The trunk restarts: the connection drops, and the agent registers again over a new one
    // without waiting for a keepalive (the default, 15 s, is far longer than this test).
    let port = trunk.port;
    drop(trunk);
    let lost = agent.wait("registration_failed", 5);
    assert!(
        lost["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("connection"),
        "{lost}"
    );
    let restarting = Instant::now();
    let trunk = Kamailio::start_on(&out.join("kamailio-2"), port, USERS);
    let listening = Instant::now();
    agent.wait("registered", 20);
    eprintln!(
        "TCP: registered again {} ms after the trunk restart began, {} ms after it listened",
        restarting.elapsed().as_millis(),
        listening.elapsed().as_millis()
    );
    // While the trunk was down the agent probed it at most 4 s apart; the first answered probe
    // brings the REGISTER. Nothing waits on a dead connection for a keepalive or a timeout.
    assert!(
        listening.elapsed() < Duration::from_secs(5),
        "{:#?}",
        agent.events.seen
    );
    customer_reaches_agent(&out, &trunk, &mut agent, &speech);
}

/// What a trunk going down does to a connection made in its last moments: it is taken and
/// dropped, the REGISTER on it unanswered. The attempt ends when the connection does, not at
/// the registration's timeout (8 s), and the agent goes on looking for the trunk.
#[test]
fn a_connection_dropped_while_registering_ends_the_attempt_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // Wait for the REGISTER to be on its way, then go away without a word.
            std::thread::sleep(Duration::from_millis(100));
            drop(stream);
        }
    });
    let registrar = format!("sip:127.0.0.1:{port};transport=tcp");
    let mut agent = CliAgent::register(binary(), &registrar, "agent1", "agent-secret", &[]);
    let failed = agent.wait("registration_failed", 5);
    assert!(
        failed["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("closed while registering"),
        "{failed}"
    );
    // And it keeps looking for the trunk (probes, each on a new connection).
    let deadline = Instant::now() + Duration::from_secs(5);
    while accepted.load(std::sync::atomic::Ordering::SeqCst) < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

#[test]
fn over_tls_the_certificate_is_checked_and_a_call_goes_through() {
    let out = switchboard_testkit::output::dir("cli_trunk_tls");
    let ca = TestCa::create(&out.join("ca"), "Switchboard test CA");
    let files = ca.issue("trunk", &["IP:127.0.0.1"]);
    let trunk = Kamailio::launch(
        &out.join("kamailio"),
        &Setup {
            users: USERS,
            tls: Some(&files),
            ..Setup::default()
        },
    );
    let (speech, args) = speech(&out);
    let roots = ca.certificate.to_str().expect("utf-8 path");
    let mut tls_args = vec!["--tls-roots", roots];
    tls_args.extend(args.iter().map(String::as_str));
    let mut agent = CliAgent::register(
        binary(),
        &trunk.tls_uri(),
        "agent1",
        "agent-secret",
        &tls_args,
    );
    agent.wait("registered", 10);
    customer_reaches_agent(&out, &trunk, &mut agent, &speech);
}

#[test]
fn a_tls_trunk_with_a_certificate_we_do_not_trust_is_refused_with_a_clear_reason() {
    let out = switchboard_testkit::output::dir("cli_trunk_tls_refused");
    let ours = TestCa::create(&out.join("ours"), "Our CA");
    let stranger = TestCa::create(&out.join("stranger"), "Stranger CA");
    let cases = [
        (
            "signed by an authority we do not trust",
            stranger.issue("trunk", &["IP:127.0.0.1"]),
        ),
        (
            "issued to another name",
            ours.issue("other", &["DNS:other.invalid"]),
        ),
    ];
    for (n, (what, files)) in cases.into_iter().enumerate() {
        let trunk = Kamailio::launch(
            &out.join(format!("kamailio-{n}")),
            &Setup {
                users: USERS,
                tls: Some(&files),
                ..Setup::default()
            },
        );
        let roots = ours.certificate.to_str().expect("utf-8 path");
        let mut agent = CliAgent::register(
            binary(),
            &trunk.tls_uri(),
            "agent1",
            "agent-secret",
            &["--tls-roots", roots],
        );
        let failed = agent.wait("registration_failed", 10);
        let reason = failed["reason"].as_str().unwrap_or_default();
        assert!(
            reason.contains("certificate was refused"),
            "a certificate {what}: {failed}"
        );
        assert!(
            !agent.has_seen("registered"),
            "a certificate {what} was accepted"
        );
        assert!(
            !trunk.log().contains("saved registration"),
            "a REGISTER went over a connection whose certificate was {what}"
        );
    }
}

#[test]
fn a_trunk_named_by_domain_is_found_by_dns_srv_and_its_targets_used_in_priority_order() {
    let out = switchboard_testkit::output::dir("cli_trunk_srv");
    let primary = Kamailio::start(&out.join("primary"), USERS);
    let standby = Kamailio::start(&out.join("standby"), USERS);
    let loopback = "127.0.0.1".parse().expect("ip");
    // Listed standby first: the order must come from the priorities, not the answer's order.
    let dns = Dns::start(
        &out.join("dns"),
        &[
            Srv {
                name: "_sip._udp.trunk.test",
                target: "sbc-b.trunk.test",
                port: standby.port,
                priority: 20,
                weight: 10,
            },
            Srv {
                name: "_sip._udp.trunk.test",
                target: "sbc-a.trunk.test",
                port: primary.port,
                priority: 10,
                weight: 10,
            },
        ],
        &[
            ("sbc-a.trunk.test", loopback),
            ("sbc-b.trunk.test", loopback),
        ],
    );
    let server = dns.addr.to_string();
    let mut agent = CliAgent::register(
        binary(),
        "sip:trunk.test",
        "agent1",
        "agent-secret",
        &["--dns", &server, "--keepalive", "1"],
    );
    agent.wait("registered", 10);
    assert!(
        primary.wait_log("saved registration of agent1", Duration::from_secs(2)),
        "the SRV target with the lowest priority value comes first"
    );
    drop(primary);
    agent.wait("registration_failed", 10);
    agent.wait("registered", 10);
    assert!(
        standby.wait_log("saved registration of agent1", Duration::from_secs(1)),
        "the next SRV target takes over"
    );
}

/// The trunk moves: its only SRV target dies and DNS now names another. Once every target it
/// knew has failed, the agent locates the trunk again and registers to the new one.
#[test]
fn when_every_known_target_fails_the_trunk_is_located_anew() {
    let out = switchboard_testkit::output::dir("cli_trunk_moved");
    let old = Kamailio::start(&out.join("old"), USERS);
    let new = Kamailio::start(&out.join("new"), USERS);
    let loopback = "127.0.0.1".parse().expect("ip");
    let record = |port| Srv {
        name: "_sip._udp.trunk.test",
        target: "sbc.trunk.test",
        port,
        priority: 10,
        weight: 10,
    };
    let hosts = [("sbc.trunk.test", loopback)];
    let dns = Dns::start(&out.join("dns-1"), &[record(old.port)], &hosts);
    let server = dns.addr;
    let mut agent = CliAgent::register(
        binary(),
        "sip:trunk.test",
        "agent1",
        "agent-secret",
        &["--dns", &server.to_string(), "--keepalive", "1"],
    );
    agent.wait("registered", 10);
    assert!(old.wait_log("saved registration of agent1", Duration::from_secs(2)));

    drop(dns);
    let _dns = Dns::start_on(
        &out.join("dns-2"),
        server.port(),
        &[record(new.port)],
        &hosts,
    );
    drop(old);
    agent.wait("registration_failed", 10);
    agent.wait("registered", 15);
    assert!(
        new.wait_log("saved registration of agent1", Duration::from_secs(1)),
        "the target DNS names now took the registration"
    );
}
