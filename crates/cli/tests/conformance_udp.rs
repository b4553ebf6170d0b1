//! Every RFC 4475 / RFC 5118 torture message sent over UDP to a running, registered agent,
//! from the trunk's address. The messages keep their own Via headers, so answers come back to
//! the source address at the Via's sent-by port (5060 for most, a few others): the test
//! listens on each of those ports on loopback. Nothing is ever sent to an address written in
//! the messages. Afterwards the agent is still registered and takes a real call.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::conformance::{self, answer_agrees};
use switchboard_testkit::kamailio::Kamailio;

/// The sent-by ports the messages' Vias name (shared/conformance/README.md).
const VIA_PORTS: [u16; 5] = [5060, 5070, 5050, 6050, 19823];

struct Listeners(Vec<UdpSocket>);

impl Listeners {
    /// The Via ports, and the sender's own socket (rsipstack answers to the source port).
    fn bind(sender: &UdpSocket) -> Self {
        let mut sockets: Vec<UdpSocket> = VIA_PORTS
            .iter()
            .map(|port| {
                UdpSocket::bind(("127.0.0.1", *port))
                    .unwrap_or_else(|e| panic!("127.0.0.1:{port} is taken: {e}"))
            })
            .collect();
        sockets.push(sender.try_clone().expect("clone sender"));
        for s in &sockets {
            s.set_nonblocking(true).expect("nonblocking");
        }
        Self(sockets)
    }

    /// Every answer waiting on any port: (Call-ID, status).
    fn drain(&self) -> Vec<(String, u16)> {
        let mut buf = [0u8; 65536];
        let mut got = Vec::new();
        for s in &self.0 {
            while let Ok((n, _)) = s.recv_from(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]);
                let status = text
                    .strip_prefix("SIP/2.0 ")
                    .and_then(|t| t.get(..3))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or_else(|| panic!("an answer without a status line: {text}"));
                got.push((conformance::call_id(&buf[..n]).unwrap_or_default(), status));
            }
        }
        got
    }
}

/// An OPTIONS for us from the trunk, answered 200. The agent handles
/// datagrams in order, so once a marker's answer is in, every answer to what was sent before
/// it is in too: answers are paired with their message without guessing at timing (several
/// RFC 5118 messages share a Call-ID, CSeq and branch).
fn marker(n: usize) -> String {
    format!(
        "OPTIONS sip:agent1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKmark{n}\r\nFrom: <sip:marker@127.0.0.1>;tag=m\r\nTo: <sip:agent1@127.0.0.1>\r\nCall-ID: marker-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Sends `message`, then a marker; returns the statuses answered to `message`.
fn exchange(
    sender: &UdpSocket,
    agent: SocketAddr,
    listeners: &Listeners,
    message: &[u8],
    n: usize,
) -> Vec<u16> {
    sender.send_to(message, agent).expect("send");
    sender
        .send_to(marker(n).as_bytes(), agent)
        .expect("send marker");
    let marker_id = format!("marker-{n}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut answers = Vec::new();
    loop {
        let got = listeners.drain();
        let marked = got
            .iter()
            .any(|(id, status)| *id == marker_id && *status == 200);
        answers.extend(
            got.into_iter()
                .filter(|(id, _)| !id.starts_with("marker-"))
                .map(|(_, s)| s),
        );
        if marked {
            answers.extend(listeners.drain().into_iter().map(|(_, s)| s));
            return answers;
        }
        assert!(
            Instant::now() < deadline,
            "the agent stopped answering after message {n}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn torture_messages_over_udp_get_the_answers_the_manifest_names() {
    let out = switchboard_testkit::output::dir("cli_conformance");
    let kamailio = Kamailio::start(&out, &[("agent1", "agent-secret")]);
    let mut agent = CliAgent::register(
        Path::new(env!("CARGO_BIN_EXE_switchboard-cli")),
        &kamailio.uri(),
        "agent1",
        "agent-secret",
        &["--keepalive", "1"],
    );
    let local = agent.wait_ready();
    agent.wait("registered", 10);
    // Kamailio listens on 127.0.0.1, so this socket sends from the trunk's address.
    let sender = UdpSocket::bind("127.0.0.1:0").expect("sender");
    let listeners = Listeners::bind(&sender);

    let cases = conformance::cases();
    let mut agreed = 0;
    let mut wrong = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let got = exchange(&sender, local, &listeners, &case.bytes, n);
        // A response is never answered; a request is answered once at most.
        let shape_ok = if conformance::is_response(case) {
            got.is_empty()
        } else {
            got.len() <= 1
        };
        if shape_ok && answer_agrees(&case.answer, got.first().copied()) {
            agreed += 1;
        } else {
            wrong.push(format!(
                "{}: manifest {}, got {got:?}",
                case.file, case.answer
            ));
        }
    }
    eprintln!(
        "conformance over UDP: {agreed} of {} answered as the manifest says",
        cases.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");

    // Nothing rang, and the agent is still registered. (Its events trail the SIP answers the
    // markers waited for by a few milliseconds.)
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !agent.has_seen("incoming"),
        "a torture message rang the agent"
    );
    assert!(
        !agent.has_seen("registration_failed"),
        "the agent lost its registration"
    );
    agent.send("quit");
}
