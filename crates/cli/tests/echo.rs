//! Echo cancellation on real devices: the agent's speaker is heard by its microphone (a
//! PulseAudio loopback, 40 ms late), and the customer (baresip through Kamailio) records what
//! comes back. With the canceller on, the customer hardly hears their own voice; with it off,
//! they hear it loud.

use std::path::Path;
use std::time::Duration;

use switchboard_testkit::audio;
use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::kamailio::Kamailio;
use switchboard_testkit::pulse::Pulse;

const CUSTOMER_LINE: &str = "Hello, I am calling about my order. It arrived broken and I would \
    like a replacement as soon as possible, please.";

/// The level of what the customer heard back in the last third of the call (before it, the
/// canceller learns the echo path).
fn echo_heard_by_customer(name: &str, extra: &[&str]) -> f64 {
    let out = switchboard_testkit::output::dir(name);
    let pulse = Pulse::start(&out);
    pulse.loop_speaker_into_microphone(40);
    let kamailio = Kamailio::start(&out, &[("agent1", "pw1"), ("customer", "pw2")]);
    // Only the canceller differs between the two runs.
    let mut args = vec![
        "--auto-answer",
        "--no-noise-suppression",
        "--no-gain-control",
    ];
    args.extend(extra);
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard-cli"));
    let mut agent =
        CliAgent::register_with_env(binary, &kamailio.uri(), "agent1", "pw1", &args, &pulse.env);
    agent.wait("registered", 10);
    let speech = audio::speech(&out, "customer", &[CUSTOMER_LINE; 2].join(" "), 2);
    let mut customer = Baresip::start(
        &out.join("customer"),
        kamailio.port,
        "customer",
        "pw2",
        &speech,
    );
    customer.dial(&kamailio.user_uri("agent1"));
    agent.wait("answered", 10);
    customer.wait_event("CALL_CLOSED", Duration::from_secs(30));
    agent.wait("ended", 10);
    agent.send("quit");
    let heard = customer.heard_files();
    let (samples, _) = audio::read_mono(heard.first().expect("baresip's decoded audio"));
    let last_third = &samples[samples.len() * 2 / 3..];
    let level = audio::rms(last_third);
    eprintln!("{name}: the customer heard their echo at rms {level:.0}");
    level
}

#[test]
fn the_canceller_keeps_the_customers_voice_from_coming_back() {
    let without = echo_heard_by_customer("cli_echo_off", &["--no-echo-cancellation"]);
    let with = echo_heard_by_customer("cli_echo_on", &[]);
    assert!(
        without > 300.0,
        "no echo path at all (rms {without:.0}): the test proves nothing"
    );
    let reduction_db = 20.0 * (without / with.max(1.0)).log10();
    eprintln!("echo reduced by {reduction_db:.1} dB");
    // Runs here measured 14 to 31 dB (the echo path, 90 to 120 ms with the device queues, is
    // near the end of the canceller's reach); without the canceller it is 0.
    assert!(
        reduction_db > 10.0,
        "the canceller took only {reduction_db:.1} dB off the echo"
    );
}
