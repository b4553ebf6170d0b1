//! Hostile traffic from outside the trunk: sipp sends a few thousand "ghost call" INVITEs
//! straight to the agent, and a socket sprays garbage datagrams at it. The agent refuses every
//! INVITE (403, no ringing), stays registered, takes a real call through the trunk afterwards,
//! and its memory stays bounded.

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use switchboard_testkit::audio;
use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;

const GHOST_CALLS: u32 = 3000;
const GARBAGE: u32 = 3000;

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Seeded junk: random bytes, and SIP-looking lines that lie about themselves.
fn garbage(i: u32, state: &mut u64) -> Vec<u8> {
    let mut next = || {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    };
    match i % 4 {
        0 => (0..(next() % 1400) as usize)
            .map(|_| next() as u8)
            .collect(),
        1 => b"INVITE sip:agent1@127.0.0.1 SIP/2.0\r\nContent-Length: 99999999\r\n\r\n".to_vec(),
        2 => format!(
            "SIP/2.0 {} Boo\r\nVia: SIP/2.0/UDP 127.0.0.3\r\n\r\n",
            next() % 1000
        )
        .into_bytes(),
        _ => b"\r\n\r\n".repeat((next() % 200) as usize),
    }
}

#[test]
fn a_flood_from_outside_the_trunk_is_refused_and_the_agent_keeps_working() {
    let sipp = switchboard_testkit::require("sipp", "sip-tester");
    let out = switchboard_testkit::output::dir("cli_flood");
    let kamailio = Kamailio::start(
        &out,
        &[("agent1", "agent-secret"), ("customer", "customer-secret")],
    );
    let speech = audio::speech(
        &out,
        "talk",
        "Hello, is anybody there? I need some help.",
        2,
    );
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let mut agent = CliAgent::register(
        binary,
        &kamailio.uri(),
        "agent1",
        "agent-secret",
        &[
            "--keepalive",
            "1",
            "--auto-answer",
            "--play",
            speech.to_str().expect("utf-8"),
            "--record",
            "/dev/null",
        ],
    );
    let local = agent.wait_ready().to_string();
    agent.wait("registered", 10);
    let before = resident_kib(agent.id());

    // Garbage from one stranger, ghost calls from another, at the same time.
    let sprayer = std::thread::spawn({
        let local = local.clone();
        move || {
            let socket = UdpSocket::bind("127.0.0.3:0").expect("bind a stranger's address");
            let mut state = 0x2545_f491_4f6c_dd1d;
            for i in 0..GARBAGE {
                let _ = socket.send_to(&garbage(i, &mut state), &local);
                if i % 100 == 0 {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    });
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/ghost_invite.xml");
    let flood = Command::new(&sipp)
        .arg(&local)
        .arg("-sf")
        .arg(&scenario)
        .args(["-i", "127.0.0.2", "-p", "0", "-m", &GHOST_CALLS.to_string()])
        .args(["-r", "500", "-l", "200", "-timeout", "60", "-nostdin"])
        .args(["-trace_err", "-error_file"])
        .arg(out.join("sipp-errors.log"))
        .current_dir(&out)
        .output()
        .expect("run sipp");
    sprayer.join().expect("sprayer");
    let summary = String::from_utf8_lossy(&flood.stderr);
    assert!(
        flood.status.success(),
        "not every ghost INVITE was refused with 403 (sipp exit {:?}):\n{summary}\n{}",
        flood.status.code(),
        String::from_utf8_lossy(&flood.stdout)
    );

    // Still registered and answering: a real call through the trunk is taken at once.
    let customer_dir = out.join("customer");
    let mut customer = Baresip::start(
        &customer_dir,
        kamailio.port,
        "customer",
        "customer-secret",
        &speech,
    );
    customer.dial(&kamailio.user_uri("agent1"));
    let incoming = agent.wait("incoming", 10);
    assert!(
        incoming["caller"]
            .as_str()
            .unwrap_or_default()
            .contains("customer"),
        "a ghost call rang the agent: {incoming}"
    );
    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    agent.send("hangup");
    agent.wait("ended", 10);
    let after = resident_kib(agent.id());

    let lost = agent.has_seen("registration_failed");
    let seen: Vec<&Value> = agent.events.seen.iter().collect();
    let incomings = seen.iter().filter(|e| e["event"] == "incoming").count();
    assert_eq!(incomings, 1, "a ghost call rang the agent: {incoming}");
    assert!(!lost, "the flood cost the registration: {seen:#?}");
    eprintln!(
        "{GHOST_CALLS} ghost INVITEs refused, {GARBAGE} garbage datagrams dropped; \
         resident memory {before} KiB before, {after} KiB after"
    );
    assert!(
        after < before + 20 * 1024,
        "memory grew from {before} KiB to {after} KiB"
    );
}
