//! Devices without 48 kHz: the agent's sound goes through ALSA (cpal, on the test's PulseAudio
//! server through the pulse plugin) opened at 44.1 kHz, so both directions are converted on the
//! media thread. A tone the customer (baresip through Kamailio) sends plays on the speaker at its
//! own pitch, and a tone played into the microphone reaches the customer at its own pitch.
//! Unconverted, 48 kHz audio on a 44.1 kHz device is 8 % off pitch (1 kHz plays at 919 Hz).

use std::path::Path;
use std::time::Duration;

use switchboard_testkit::audio;
use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;
use switchboard_testkit::pulse::Pulse;

const CUSTOMER_HZ: u32 = 1_000;
const AGENT_HZ: u32 = 1_500;

fn assert_pitch(what: &str, samples: &[i16], expected: u32) {
    let hz = audio::tone_frequency(samples, 48_000, 1_000.0)
        .unwrap_or_else(|| panic!("{what}: no tone at all"));
    eprintln!("{what}: {hz:.0} Hz (sent {expected} Hz)");
    assert!(
        (hz - f64::from(expected)).abs() < 15.0,
        "{what}: {hz:.0} Hz, sent {expected} Hz"
    );
}

#[test]
fn a_44_1_khz_headset_hears_and_sends_tones_at_their_own_pitch() {
    let out = switchboard_testkit::output::dir("cli_device_rate");
    let pulse = Pulse::start(&out);
    let _microphone = pulse.play_into("micsrc", &audio::sine(&out, "agent", AGENT_HZ, 4, 1));
    let speaker = pulse.record("spk", &out.join("speaker.raw"));
    let kamailio = Kamailio::start(&out, &[("agent1", "pw1"), ("customer", "pw2")]);
    let mut env = pulse.env.clone();
    env.push(("SWITCHBOARD_AUDIO_HOST".into(), "alsa".into()));
    env.push(("SWITCHBOARD_DEVICE_RATE".into(), "44100".into()));
    // A steady tone is what noise suppression removes: only the conversion may touch it.
    let args = [
        "--auto-answer",
        "--no-echo-cancellation",
        "--no-noise-suppression",
        "--no-gain-control",
    ];
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let mut agent =
        CliAgent::register_with_env(binary, &kamailio.uri(), "agent1", "pw1", &args, &env);
    agent.wait("registered", 10);
    let tone = audio::sine(&out, "customer", CUSTOMER_HZ, 8, 2);
    let mut customer = Baresip::start(
        &out.join("customer"),
        kamailio.port,
        "customer",
        "pw2",
        &tone,
    );
    customer.dial(&kamailio.user_uri("agent1"));
    agent.wait("answered", 10);
    std::thread::sleep(Duration::from_secs(3));
    // The devices really run at 44.1 kHz: the server sees our streams at that rate.
    let playing = pulse.pactl(&["list", "sink-inputs"]);
    let recording = pulse.pactl(&["list", "source-outputs"]);
    assert!(playing.contains("44100Hz"), "{playing}");
    assert!(recording.contains("44100Hz"), "{recording}");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(30));
    agent.wait("ended", 10);
    agent.send("quit");

    assert_pitch("the agent's speaker", &speaker.samples(), CUSTOMER_HZ);
    let heard = customer.heard_files();
    let (samples, _) = audio::read_mono(heard.first().expect("baresip's decoded audio"));
    assert_pitch("the customer", &samples, AGENT_HZ);
}
