//! Speech quality through a bad link, side by side with baresip: espeak-ng speech is sent
//! through the whole media engine (Opus encoder, RTP, jitter buffer, concealment, decoder) over
//! an impairment relay on loopback, recorded at the far end and scored with wideband PESQ
//! against the original. Then the same speech, over the same relay with the same seed, between
//! two baresip 1.0 phones with their default settings (a stateless proxy puts the relay into
//! their call). Prints each PESQ score and the delay each recording lags its source by.
//!
//!   cargo bench -p switchboard-cli --bench audio_quality      (CONDITION=N: only the Nth)
//!
//! Needs what `./scripts/setup` installs (baresip, kamailio, espeak-ng, sox, and the `pesq`
//! package in `target/pesq`). Every packet stays on 127.0.0.1.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use switchboard_media::codec::Codec;
use switchboard_media::impair::Impairment;
use switchboard_media::ports::MediaSockets;
use switchboard_media::sdp::{Direction, Negotiated};
use switchboard_media::voice::VoiceConfig;
use switchboard_media::{AudioInput, AudioOutput, MediaSession, MediaStats, SessionConfig};
use switchboard_testkit::audio;
use switchboard_testkit::baresip::{Baresip, Options};
use switchboard_testkit::kamailio::Kamailio;
use switchboard_testkit::relay::MediaRelay;
use switchboard_testkit::sdp_proxy::SdpProxy;

const TEXT: &str = "Thank you for calling. I can see your order from last Tuesday. \
    The replacement will ship tomorrow morning, and you will get a tracking number by email. \
    Is there anything else I can help you with today?";
const CONDITIONS: [(&str, &str); 4] = [
    ("clean", ""),
    ("3% random loss", "loss=0.03"),
    ("5% loss, 40 ms jitter", "loss=0.05,jitter=40ms"),
    ("10% bursty loss", "loss=0.1,burst=3"),
];
const SEED: u64 = 0x5eed_2026;

struct Score {
    pesq: f64,
    delay_ms: f64,
}

fn main() {
    let out = switchboard_testkit::output::dir("bench_audio_quality");
    let stereo = audio::speech(&out, "speech", TEXT, 2);
    let mono = audio::speech(&out, "speech-mono", TEXT, 1);
    let reference = to_16k(&mono, &out.join("reference-16k.wav"));
    let length = audio_seconds(&mono);
    println!(
        "{:<24} {:>9} {:>9} {:>10} {:>10} {:>7} {:>9} {:>9}",
        "condition",
        "ours PESQ",
        "baresip",
        "our delay",
        "baresip",
        "our JB",
        "concealed",
        "stretched"
    );
    let only: Option<usize> = std::env::var("CONDITION").ok().and_then(|c| c.parse().ok());
    for (i, (name, spec)) in CONDITIONS.into_iter().enumerate() {
        if only.is_some_and(|o| o != i) {
            continue;
        }
        let model = Impairment::parse(spec).expect("condition");
        let dir = out.join(format!("condition-{i}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let (ours, stats) = run_ours(&dir, model, &mono, length);
        let theirs = run_baresip(&dir, model, &stereo);
        let ours = score(&reference, &to_16k(&ours, &dir.join("ours-16k.wav")));
        let theirs = score(&reference, &to_16k(&theirs, &dir.join("baresip-16k.wav")));
        println!(
            "{:<24} {:>9.3} {:>9.3} {:>7.0} ms {:>7.0} ms {:>4.0} ms {:>6.0} ms {:>6.0} ms",
            name,
            ours.pesq,
            theirs.pesq,
            ours.delay_ms,
            theirs.delay_ms,
            stats.jitter_buffer_ms,
            stats.concealed_ms,
            stats.stretched_ms
        );
    }
    println!(
        "(wideband PESQ, P.862.2; delay: lag of the recording behind the source, from envelope \
         cross-correlation; our JB: mean jitter-buffer wait; seed {SEED:#x}; impairment on the \
         sender-to-receiver direction only)"
    );
}

/// Two of our media sessions, speech one way through the relay; returns the recording.
fn run_ours(
    dir: &Path,
    model: Impairment,
    speech: &Path,
    length: Duration,
) -> (PathBuf, MediaStats) {
    let ip: IpAddr = "127.0.0.1".parse().expect("ip");
    let (a, b) = (
        MediaSockets::bind(ip).expect("sockets"),
        MediaSockets::bind(ip).expect("sockets"),
    );
    let relay = MediaRelay::start(model, SEED);
    relay.set_a(a.rtp_addr().expect("addr"));
    relay.set_b(b.rtp_addr().expect("addr"));
    // RTP crosses the relay; RTCP goes straight across, so that each side's reports arrive.
    let negotiated = |remote: SocketAddr, rtcp: SocketAddr| Negotiated {
        remote,
        rtcp,
        rtcp_mux: false,
        codec: Codec::Opus,
        payload_type: 111,
        telephone_event: None,
        direction: Direction::SendRecv,
        remote_direction: Direction::SendRecv,
        // baresip runs unencrypted here too; SRTP costs CPU, not quality.
        srtp: None,
        dtls: None,
    };
    let recording = dir.join("ours.wav");
    let to_b = negotiated(relay.a_side, b.rtcp.local_addr().expect("addr"));
    let to_a = negotiated(relay.b_side, a.rtcp.local_addr().expect("addr"));
    let receiver = MediaSession::start(SessionConfig {
        sockets: b,
        negotiated: to_a,
        input: AudioInput::Silence,
        output: AudioOutput::File(recording.clone()),
        listener: None,
        voice: VoiceConfig::default(),
    })
    .expect("receiver");
    let sender = MediaSession::start(SessionConfig {
        sockets: a,
        negotiated: to_b,
        input: AudioInput::File {
            path: speech.to_owned(),
            looping: false,
        },
        output: AudioOutput::Discard,
        listener: None,
        voice: VoiceConfig::default(),
    })
    .expect("sender");
    std::thread::sleep(length + Duration::from_millis(1500));
    sender.stop();
    let stats = receiver.stop();
    relay.stop();
    (recording, stats)
}

/// Two baresip phones, the caller playing the speech, through the relay; returns what the
/// callee decoded.
fn run_baresip(dir: &Path, model: Impairment, speech: &Path) -> PathBuf {
    let kamailio = Kamailio::start(dir, &[("caller", "caller-pw"), ("callee", "callee-pw")]);
    let quiet = audio::room_tone(dir, "room", 30, 2);
    let callee = Baresip::start_with(
        &dir.join("callee"),
        kamailio.port,
        "callee",
        "callee-pw",
        &quiet,
        Options {
            auto_answer: true,
            ..Options::default()
        },
    );
    let mut caller = Baresip::start(
        &dir.join("caller"),
        kamailio.port,
        "caller",
        "caller-pw",
        speech,
    );
    let relay = Arc::new(MediaRelay::start(model, SEED));
    let proxy = SdpProxy::start(
        SocketAddr::from(([127, 0, 0, 1], callee.sip_port)),
        relay.clone(),
    );
    caller.dial(&format!("sip:callee@{}", proxy.addr));
    caller.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    // The caller hangs up at the end of its file.
    caller.wait_event("CALL_CLOSED", Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(500));
    drop(caller);
    let heard = callee.heard_files();
    drop(callee);
    heard
        .into_iter()
        .find(|p| p.to_string_lossy().contains("-dec"))
        .expect("baresip wrote no decoded audio")
}

fn to_16k(input: &Path, output: &Path) -> PathBuf {
    // baresip's dumps are WAV files without the extension.
    let ok = Command::new("sox")
        .args(["-t", "wav"])
        .arg(input)
        .args(["-r", "16000", "-c", "1", "-b", "16"])
        .arg(output)
        .status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "sox failed on {}",
        input.display()
    );
    output.to_owned()
}

fn audio_seconds(path: &Path) -> Duration {
    let (samples, rate) = audio::read_mono(path);
    Duration::from_secs_f64(samples.len() as f64 / f64::from(rate))
}

fn score(reference: &Path, degraded: &Path) -> Score {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join("target/pesq/bin/python");
    assert!(
        python.exists(),
        "the PESQ scorer is not installed: run ./scripts/setup"
    );
    let out = Command::new(&python)
        .arg(root.join("scripts/bench/pesq_score.py"))
        .arg(reference)
        .arg(degraded)
        .output()
        .expect("run the scorer");
    assert!(
        out.status.success(),
        "scorer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("scorer output");
    Score {
        pesq: v["pesq"].as_f64().unwrap_or(f64::NAN),
        delay_ms: v["delay_ms"].as_f64().unwrap_or(f64::NAN),
    }
}
