//! Call setup time, INVITE received to 200 OK sent, when auto-answering: a small UAC on
//! loopback places the same calls, one after another, to `switchboard-cli --auto-answer` and
//! to baresip with `answermode=auto`, both registered at Kamailio, and prints the median, the
//! 90th percentile and the worst of each, and their ratio.
//!
//!   cargo bench -p switchboard-cli --bench call_setup [-- CALLS]
//!
//! Each call: INVITE (Opus offer) → 200 timed → ACK → 100 ms → BYE → 200. The agent's RTP
//! goes to a socket of ours on loopback; nothing leaves the machine.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use switchboard_testkit::audio;
use switchboard_testkit::baresip::{Baresip, Options};
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;

struct Uac {
    socket: UdpSocket,
    media_port: u16,
    _media: UdpSocket,
}

impl Uac {
    fn new() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("uac socket");
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let media = UdpSocket::bind("127.0.0.1:0").expect("media socket");
        let media_port = media.local_addr().expect("addr").port();
        Self {
            socket,
            media_port,
            _media: media,
        }
    }

    fn port(&self) -> u16 {
        self.socket.local_addr().expect("addr").port()
    }

    /// One call; returns INVITE sent → 200 received.
    fn call(&self, target: SocketAddr, user: &str, n: usize) -> Duration {
        let sdp = format!(
            "v=0\r\no=bench {n} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {} RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\na=sendrecv\r\n",
            self.media_port
        );
        let call_id = format!("bench-{n}-{}", self.port());
        let from = format!("<sip:bench@127.0.0.1:{}>;tag=b{n}", self.port());
        let ruri = format!("sip:{user}@{target}");
        let invite = format!(
            "INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};rport;branch=z9hG4bKi{n}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: <{ruri}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContact: <sip:bench@127.0.0.1:{p}>\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{sdp}",
            sdp.len(),
            p = self.port()
        );
        let started = Instant::now();
        self.socket
            .send_to(invite.as_bytes(), target)
            .expect("send INVITE");
        let ok = self.wait_final(&call_id, "INVITE");
        let took = started.elapsed();
        let to = header(&ok, "To").expect("To in 200");
        let contact = header(&ok, "Contact")
            .and_then(|c| c.split(['<', '>']).nth(1).map(str::to_owned))
            .unwrap_or_else(|| ruri.clone());
        let ack = format!(
            "ACK {contact} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};rport;branch=z9hG4bKa{n}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n",
            p = self.port()
        );
        self.socket
            .send_to(ack.as_bytes(), target)
            .expect("send ACK");
        std::thread::sleep(Duration::from_millis(100));
        let bye = format!(
            "BYE {contact} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{p};rport;branch=z9hG4bKb{n}\r\nMax-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
            p = self.port()
        );
        self.socket
            .send_to(bye.as_bytes(), target)
            .expect("send BYE");
        self.wait_final(&call_id, "BYE");
        took
    }

    /// The final response to our request `method` in call `call_id`, skipping anything else
    /// (provisional answers, the peer's own requests, retransmissions of earlier answers).
    fn wait_final(&self, call_id: &str, method: &str) -> String {
        let mut buf = [0u8; 65536];
        loop {
            let (n, _) = self
                .socket
                .recv_from(&mut buf)
                .unwrap_or_else(|e| panic!("no final answer to {method} in {call_id}: {e}"));
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let status: u16 = text
                .strip_prefix("SIP/2.0 ")
                .and_then(|t| t.get(..3))
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            let ours = header(&text, "Call-ID").as_deref() == Some(call_id)
                && header(&text, "CSeq").is_some_and(|c| c.ends_with(method));
            if ours && status >= 200 {
                assert!(status < 300, "{method} refused: {text}");
                return text;
            }
        }
    }
}

fn header(message: &str, name: &str) -> Option<String> {
    message.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

struct Figures {
    median: Duration,
    p90: Duration,
    worst: Duration,
}

fn figures(mut times: Vec<Duration>) -> Figures {
    times.sort();
    Figures {
        median: times[times.len() / 2],
        p90: times[times.len() * 9 / 10],
        worst: times[times.len() - 1],
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    let out = switchboard_testkit::output::dir("bench_call_setup");
    let kamailio = Kamailio::start(
        &out.join("kamailio"),
        &[("agent1", "agent-secret"), ("peer", "peer-secret")],
    );
    // baresip's aufile wants two channels; the agent takes any.
    let speech = audio::speech(&out, "talk", "Thank you for calling.", 2);
    let mut agent = CliAgent::register(
        Path::new(env!("CARGO_BIN_EXE_switchboard-cli")),
        &kamailio.uri(),
        "agent1",
        "agent-secret",
        &[
            "--auto-answer",
            "--play",
            speech.to_str().expect("utf-8 path"),
            "--record",
            "/dev/null",
        ],
    );
    let agent_addr = agent.wait_ready();
    agent.wait("registered", 10);
    let baresip = Baresip::start_with(
        &out.join("baresip"),
        kamailio.port,
        "peer",
        "peer-secret",
        &speech,
        Options {
            auto_answer: true,
            ..Options::default()
        },
    );
    let baresip_addr: SocketAddr = ([127, 0, 0, 1], baresip.sip_port).into();

    // The UAC sends from 127.0.0.1, the trunk's address, as calls through the trunk do.
    let uac = Uac::new();
    let mut ours = Vec::with_capacity(calls);
    let mut theirs = Vec::with_capacity(calls);
    // Alternate, so that whatever else the machine does falls on both alike.
    for n in 0..calls {
        ours.push(uac.call(agent_addr, "agent1", 2 * n));
        theirs.push(uac.call(baresip_addr, "peer", 2 * n + 1));
    }
    let (a, b) = (figures(ours), figures(theirs));
    println!(
        "call setup, INVITE sent to 200 OK received on loopback, auto-answer, {calls} calls each:"
    );
    println!(
        "  switchboard-cli  median {:7.2} ms  p90 {:7.2} ms  worst {:7.2} ms",
        ms(a.median),
        ms(a.p90),
        ms(a.worst)
    );
    println!(
        "  baresip          median {:7.2} ms  p90 {:7.2} ms  worst {:7.2} ms",
        ms(b.median),
        ms(b.p90),
        ms(b.worst)
    );
    println!(
        "  ratio (switchboard / baresip), median: {:.2}",
        a.median.as_secs_f64() / b.median.as_secs_f64()
    );
    agent.send("quit");
}
