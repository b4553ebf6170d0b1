//! What a call costs, side by side with baresip: CPU as a share of one core for a registered
//! agent waiting for calls, and for one active call (Opus encode and decode, SRTP, the jitter
//! buffer, and on our side echo cancellation, noise suppression and gain control on a real
//! PulseAudio microphone and speaker); then our measured device delays, capture callback to
//! packet and jitter-buffer playout to playback callback.
//!
//!   cargo bench -p switchboard-cli --bench call_cost        (SECONDS=N per measurement, 20)
//!
//! The agent is `switchboard-cli agent` (release build), three ways: on files, on the default
//! devices through ALSA (PulseAudio's ALSA plugin), and on PulseAudio's own protocol (libpulse),
//! each on a PulseAudio server of the bench's own with speech playing into the microphone. The
//! customer is baresip with SRTP, speaking from a file (no devices, no echo control); in a
//! fourth run it too talks on the server's default devices (its ALSA module, with speex_pp
//! noise suppression and gain control), for a peer's figure on devices. Both register at
//! Kamailio; every packet stays on 127.0.0.1.

use std::path::Path;
use std::time::{Duration, Instant};

use switchboard_testkit::audio;
use switchboard_testkit::baresip::{Baresip, Options};
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;
use switchboard_testkit::pulse::Pulse;

const AGENT_LINE: &str = "Thank you for calling. I can see your order from last Tuesday. \
    The replacement will ship tomorrow morning, and you will get a tracking number by email.";

/// How the agent's audio is set up for one measurement, and whether baresip talks on devices.
struct Variant {
    name: &'static str,
    extra: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    customer_on_devices: bool,
}

const VARIANTS: [Variant; 4] = [
    Variant {
        name: "files (codec, SRTP, jitter buffer)",
        extra: &["--play", "PLAY", "--record", "/dev/null"],
        env: &[],
        customer_on_devices: false,
    },
    Variant {
        name: "ALSA default devices, echo control",
        extra: &[],
        env: &[("SWITCHBOARD_AUDIO_HOST", "alsa")],
        customer_on_devices: false,
    },
    Variant {
        name: "PulseAudio devices, echo control",
        extra: &[],
        env: &[],
        customer_on_devices: false,
    },
    Variant {
        name: "both on devices (baresip: ALSA, speex_pp)",
        extra: &[],
        env: &[],
        customer_on_devices: true,
    },
];

struct Measured {
    idle: [f64; 2],
    active: [f64; 2],
    stats: serde_json::Value,
}

fn main() {
    let seconds: u64 = std::env::var("SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let window = Duration::from_secs(seconds);
    let out = switchboard_testkit::output::dir("bench_call_cost");
    println!(
        "{:<42} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9}",
        "our agent's audio", "idle", "baresip", "call", "baresip", "cap→pkt", "pkt→spk"
    );
    for (i, variant) in VARIANTS.iter().enumerate() {
        let m = measure(&out.join(format!("variant-{i}")), variant, window);
        let ms = |key: &str| {
            m.stats[key]
                .as_f64()
                .map_or("-".to_owned(), |v| format!("{v:.1} ms"))
        };
        println!(
            "{:<42} {:>8.2} % {:>8.2} % {:>8.2} % {:>8.2} % {:>9} {:>9}",
            variant.name,
            m.idle[0] * 100.0,
            m.idle[1] * 100.0,
            (m.active[0] - m.idle[0]) * 100.0,
            (m.active[1] - m.idle[1]) * 100.0,
            ms("captureToPacketMs"),
            ms("packetToSpeakerMs"),
        );
        assert_eq!(
            m.stats["encrypted"], true,
            "the call was not encrypted: {}",
            m.stats
        );
    }
    println!(
        "(share of one core over {seconds} s each, from /proc utime+stime: a registered agent \
         waiting, then what one call adds; baresip is the customer in the same run, Opus 48 kHz \
         over SRTP, on files except in the last row (its ALSA module on the same server's \
         default devices, speex_pp noise suppression and gain control; it has no echo \
         canceller); cap→pkt: capture callback to packet sent, pkt→spk: playout to \
         playback callback, our side's queues and processing, device hardware buffers not \
         included)"
    );
}

fn measure(out: &Path, variant: &Variant, window: Duration) -> Measured {
    std::fs::create_dir_all(out).expect("dir");
    let pulse = Pulse::start(out);
    let agent_speech = audio::speech(out, "agent", AGENT_LINE, 1);
    let _microphone = pulse.play_into("micsrc", &agent_speech);
    let kamailio = Kamailio::start(out, &[("agent1", "pw1"), ("customer", "pw2")]);
    let play = agent_speech.display().to_string();
    let mut args = vec!["--auto-answer", "--srtp", "required"];
    args.extend(
        variant
            .extra
            .iter()
            .map(|a| if *a == "PLAY" { play.as_str() } else { a }),
    );
    let mut env = pulse.env.clone();
    env.extend(
        variant
            .env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let mut agent =
        CliAgent::register_with_env(binary, &kamailio.uri(), "agent1", "pw1", &args, &env);
    agent.wait("registered", 10);
    // The customer talks for longer than the call is measured.
    let long_line = [AGENT_LINE; 4].join(" ");
    let customer_speech = audio::speech(out, "customer", &long_line, 2);
    let mut customer = Baresip::start_with(
        &out.join("customer"),
        kamailio.port,
        "customer",
        "pw2",
        &customer_speech,
        Options {
            mediaenc: Some("srtp-mand".into()),
            devices: variant.customer_on_devices.then(|| pulse.env.clone()),
            ..Options::default()
        },
    );
    std::thread::sleep(Duration::from_secs(2));
    let pids = [agent.id(), customer.pid()];
    let idle = cpu_shares(&pids, window);
    customer.dial(&kamailio.user_uri("agent1"));
    agent.wait("answered", 10);
    std::thread::sleep(Duration::from_secs(2));
    let active = cpu_shares(&pids, window);
    customer.hangup();
    let ended = agent.wait("ended", 10);
    agent.send("quit");
    Measured {
        idle,
        active,
        stats: ended["stats"].clone(),
    }
}

/// Each process's CPU time over `window` as a share of one core.
fn cpu_shares(pids: &[u32; 2], window: Duration) -> [f64; 2] {
    let before = pids.map(cpu_seconds);
    let started = Instant::now();
    std::thread::sleep(window);
    let elapsed = started.elapsed().as_secs_f64();
    let after = pids.map(cpu_seconds);
    [0, 1].map(|i| (after[i] - before[i]) / elapsed)
}

/// User and system CPU seconds a process has used, threads included (/proc/PID/stat).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("process is running");
    // Fields after the parenthesised command name, which may itself hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}
