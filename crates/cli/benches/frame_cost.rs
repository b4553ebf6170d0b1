//! What each stage of the media thread costs on its own, per 20 ms frame of speech and as a share
//! of one core: Opus encoding as calls use it, Opus decoding, the microphone's clean-up
//! (echo cancellation, noise suppression, gain control; each alone and all three), and the rate
//! conversion a 44.1 kHz device needs (each direction). The call's
//! whole cost, devices and sockets included, is the `call_cost` bench.
//!
//!   cargo bench -p switchboard-cli --bench frame_cost        (SECONDS=N of speech, 60)

use std::time::Instant;

use switchboard_media::audio::resample::RateConverter;
use switchboard_media::codec::{Codec, Decoder, Encoder, MAX_DECODED};
use switchboard_media::format::{Frame, FRAME_SAMPLES};
use switchboard_media::voice::{VoiceConfig, VoiceProcessing};
use switchboard_testkit::audio;

const CUSTOMER: &str = "Hello, I ordered a replacement part last week and it has not arrived. \
    Could you tell me where it is and when I can expect it? I need it before the weekend.";
const AGENT: &str = "Thank you for calling. I can see your order from last Tuesday. \
    The replacement will ship tomorrow morning, and you will get a tracking number by email.";

/// Voice processing with only the parts named on.
const fn parts(echo: bool, noise: bool, gain: bool) -> VoiceConfig {
    VoiceConfig {
        echo_cancellation: echo,
        noise_suppression: noise,
        gain_control: gain,
    }
}

fn main() {
    let seconds: usize = std::env::var("SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let out = switchboard_testkit::output::dir("bench_frame_cost");
    let far = frames(&audio::speech(&out, "customer", CUSTOMER, 1), seconds);
    let near = frames(&audio::speech(&out, "agent", AGENT, 1), seconds);
    let echoed = with_echo(&near, &far);
    let packets = encoded(&far);

    println!("{:<34} {:>11} {:>12}", "stage", "µs / frame", "% of a core");
    let row = |name: &str, micros: f64| {
        println!("{name:<34} {micros:>11.1} {:>10.2} %", micros / 200.0);
    };
    row("Opus encode (64 kbit/s, FEC, DTX)", median(|| encode(&far)));
    row("Opus decode", median(|| decode(&packets)));
    for (name, config) in [
        ("echo cancellation", parts(true, false, false)),
        ("noise suppression", parts(false, true, false)),
        ("gain control", parts(false, false, true)),
        ("echo + noise + gain (the default)", parts(true, true, true)),
    ] {
        row(name, median(|| clean_up(config, &far, &echoed)));
    }
    row(
        "44.1 kHz microphone to 48 kHz",
        median(|| from_device(&far)),
    );
    row("48 kHz to a 44.1 kHz speaker", median(|| to_device(&far)));
    println!(
        "({seconds} s of espeak-ng speech at 48 kHz mono, looped; the microphone hears the agent \
         and the customer's voice 40 ms later at half level; one thread, median of 5 runs)"
    );
}

/// `seconds` of a speech file as 20 ms frames, looped.
fn frames(path: &std::path::Path, seconds: usize) -> Vec<Frame> {
    let (samples, _) = audio::read_mono(path);
    let mut looped = samples.iter().copied().cycle();
    (0..seconds * 50)
        .map(|_| std::array::from_fn(|_| looped.next().unwrap_or(0)))
        .collect()
}

/// What the microphone hears: the agent, plus the speaker's `far` two frames later at half level.
fn with_echo(near: &[Frame], far: &[Frame]) -> Vec<Frame> {
    near.iter()
        .enumerate()
        .map(|(i, frame)| {
            let mut mic = *frame;
            if let Some(echo) = i.checked_sub(2).and_then(|j| far.get(j)) {
                for (m, e) in mic.iter_mut().zip(echo) {
                    *m = m.saturating_add(e / 2);
                }
            }
            mic
        })
        .collect()
}

fn encoded(frames: &[Frame]) -> Vec<Vec<u8>> {
    let mut encoder = Encoder::new(Codec::Opus).expect("opus encoder");
    let mut payload = [0u8; 1500];
    frames
        .iter()
        .map(|f| {
            let n = encoder.encode(f, &mut payload).expect("encode");
            payload[..n].to_vec()
        })
        .collect()
}

/// Microseconds per frame, the median of five runs of `run` (which returns frames done).
fn median(mut run: impl FnMut() -> usize) -> f64 {
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let frames = run();
            started.elapsed().as_secs_f64() * 1e6 / frames.max(1) as f64
        })
        .collect();
    runs.sort_by(f64::total_cmp);
    runs[2]
}

fn encode(frames: &[Frame]) -> usize {
    let mut encoder = Encoder::new(Codec::Opus).expect("opus encoder");
    let mut payload = [0u8; 1500];
    for frame in frames {
        let n = encoder.encode(frame, &mut payload).expect("encode");
        std::hint::black_box(&payload[..n]);
    }
    frames.len()
}

fn decode(packets: &[Vec<u8>]) -> usize {
    let mut decoder = Decoder::new(Codec::Opus).expect("opus decoder");
    let mut out = [0i16; MAX_DECODED];
    for packet in packets {
        // DTX leaves one- and two-byte packets: decoding them is what a receiver does too.
        let n = decoder.decode(packet, &mut out).expect("decode");
        std::hint::black_box(&out[..n.min(FRAME_SAMPLES)]);
    }
    packets.len()
}

/// The speaker's frame fed as the canceller's reference, then the microphone's cleaned.
fn clean_up(config: VoiceConfig, far: &[Frame], mic: &[Frame]) -> usize {
    let mut voice = VoiceProcessing::new(config).expect("voice processing");
    for (played, heard) in far.iter().zip(mic) {
        voice.played(played);
        let mut frame = *heard;
        voice.captured(&mut frame);
        std::hint::black_box(&frame);
    }
    far.len()
}

/// A 44.1 kHz microphone's audio converted to 48 kHz, frame by frame as `Capture` does; the
/// input is the 48 kHz speech taken as if it were at 44.1 kHz (the cost does not care).
fn from_device(frames: &[Frame]) -> usize {
    let mut converter = RateConverter::to_engine(44_100, FRAME_SAMPLES).expect("converter");
    let mut samples = frames.iter().flatten().copied();
    let mut made = 0;
    loop {
        let needed = converter.input_needed();
        let converted = converter.convert(samples.by_ref().take(needed));
        if converted.is_empty() {
            return made;
        }
        std::hint::black_box(converted);
        made += 1;
    }
}

/// The engine's 48 kHz converted for a 44.1 kHz speaker, half a frame at a time as `Playback`
/// does; counted per 20 ms frame.
fn to_device(frames: &[Frame]) -> usize {
    let mut converter = RateConverter::from_engine(44_100, FRAME_SAMPLES / 2).expect("converter");
    for frame in frames {
        for half in frame.chunks_exact(FRAME_SAMPLES / 2) {
            std::hint::black_box(converter.convert(half.iter().copied()));
        }
    }
    frames.len()
}
