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

    /// Every answer waiting on any port: its (Call-ID, CSeq) and status.
    fn drain(&self) -> Vec<(Key, u16)> {
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
                got.push((key(&buf[..n]), status));
            }
        }
        got
    }
}

/// What pairs an answer with its request: Call-ID and CSeq (empty where unreadable).
type Key = (String, String);

fn key(message: &[u8]) -> Key {
    // The stack writes the CSeq it echoes its own way: compare number and method only.
    let cseq = conformance::cseq(message).unwrap_or_default();
    let mut parts = cseq.split_whitespace();
    let number = parts.next().and_then(|n| n.parse::<u64>().ok());
    let method = parts.next().unwrap_or_default().to_ascii_uppercase();
    (
        conformance::call_id(message).unwrap_or_default(),
        number.map_or(String::new(), |n| format!("{n} {method}")),
    )
}

/// An OPTIONS for us from the trunk, answered 200. Once a marker's answer is in, the agent
/// has read every message sent before it; an answer that its transaction layer sends a little
/// later (a 481 to a BYE) can still trail the marker's, so answers are paired with their
/// message by Call-ID and CSeq, and by order only where those do not tell (several RFC 5118
/// messages share a Call-ID, CSeq and branch).
fn marker(n: usize) -> String {
    format!(
        "OPTIONS sip:agent1@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKmark{n}\r\nFrom: <sip:marker@127.0.0.1>;tag=m\r\nTo: <sip:agent1@127.0.0.1>\r\nCall-ID: marker-{n}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

/// Sends `message`, then a marker; returns what was answered until the marker was: answers
/// to `message`, and perhaps late ones to those before it.
fn exchange(
    sender: &UdpSocket,
    agent: SocketAddr,
    listeners: &Listeners,
    message: &[u8],
    n: usize,
) -> Vec<(Key, u16)> {
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
            .any(|((id, _), status)| *id == marker_id && *status == 200);
        answers.extend(
            got.into_iter()
                .filter(|((id, _), _)| !id.starts_with("marker-")),
        );
        if marked {
            answers.extend(
                listeners
                    .drain()
                    .into_iter()
                    .filter(|((id, _), _)| !id.starts_with("marker-")),
            );
            return answers;
        }
        assert!(
            Instant::now() < deadline,
            "the agent stopped answering after message {n}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The message an answer belongs to: the latest one sent so far (up to `n`) with its key,
/// else the one just sent.
fn owner(keys: &[Key], answer: &Key, n: usize) -> usize {
    (0..=n).rev().find(|&i| keys[i] == *answer).unwrap_or(n)
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
    let keys: Vec<Key> = cases.iter().map(|c| key(&c.bytes)).collect();
    let mut answered: Vec<Vec<u16>> = vec![Vec::new(); cases.len()];
    for (n, case) in cases.iter().enumerate() {
        for (answer, status) in exchange(&sender, local, &listeners, &case.bytes, n) {
            answered[owner(&keys, &answer, n)].push(status);
        }
    }
    // Whatever still trails the last marker.
    std::thread::sleep(Duration::from_millis(200));
    for (answer, status) in listeners.drain() {
        if !answer.0.starts_with("marker-") {
            answered[owner(&keys, &answer, cases.len() - 1)].push(status);
        }
    }
    let mut agreed = 0;
    let mut wrong = Vec::new();
    for (case, got) in cases.iter().zip(answered) {
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
