//! Real sound devices on a PulseAudio server of the test's own: the agent's chosen headset is
//! listed, used, left for the default when it is unplugged mid-call (the call goes on), and
//! taken back when it returns; the ringer rings on its own device only while a call waits.
//! The caller is the practice line (real SIP and SRTP over loopback, speech on a loop).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use switchboard_testkit::audio::active_windows;
use switchboard_testkit::cli_agent::CliAgent;
use switchboard_testkit::pulse::{Pulse, Recording};

fn cli() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_switchboard-cli"))
}

/// 20 ms windows louder than room noise in the last `secs` of a recording.
fn active_in_last(recording: &Recording, secs: usize) -> usize {
    let samples = recording.samples();
    let tail = &samples[samples.len().saturating_sub(48_000 * secs)..];
    active_windows(tail, 48_000, 300.0)
}

/// Waits (10 s at most) until `check` holds: a fresh null sink's monitor starts up to two
/// seconds late, so what was played shows in a recording after a while, not at once.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits for device_changed events to each (direction, device) in `expected`, in any order;
/// returns them in the order of `expected`.
fn wait_devices(agent: &mut CliAgent, expected: &[(&str, &str)]) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut found: Vec<Option<Value>> = vec![None; expected.len()];
    while found.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "device_changed: wanted {expected:?}, got {found:?}"
        );
        let event = agent.wait("device_changed", left.as_secs().max(1));
        let slot = expected.iter().position(|&(direction, device)| {
            event["direction"] == direction && event["device"] == device
        });
        if let Some(i) = slot {
            found[i] = Some(event);
        }
    }
    found.into_iter().flatten().collect()
}

#[test]
fn the_device_list_names_the_headset_and_the_defaults_and_no_monitors() {
    let out = switchboard_testkit::output::dir("cli_devices_list");
    let mut pulse = Pulse::start(&out);
    let _headset = pulse.plug_headset("usbheadset");
    let listed = std::process::Command::new(cli())
        .arg("devices")
        .envs(pulse.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("run devices");
    assert!(listed.status.success());
    let list: Value = serde_json::from_slice(&listed.stdout).expect("JSON");
    let ids = |kind: &str| -> Vec<String> {
        list[kind]
            .as_array()
            .expect("array")
            .iter()
            .map(|d| d["id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let (mics, speakers) = (ids("microphones"), ids("speakers"));
    assert!(mics.contains(&"usbheadset_mic".to_owned()), "{list}");
    assert!(speakers.contains(&"usbheadset".to_owned()), "{list}");
    assert!(mics.iter().all(|m| !m.ends_with(".monitor")), "{list}");
    let headset = list["speakers"]
        .as_array()
        .and_then(|s| s.iter().find(|d| d["id"] == "usbheadset"))
        .expect("listed");
    assert_eq!(headset["name"], "Headset-usbheadset", "{headset}");
    assert_eq!(headset["isDefault"], false, "{headset}");
    let default_speaker: Vec<&Value> = list["speakers"]
        .as_array()
        .expect("array")
        .iter()
        .filter(|d| d["isDefault"] == true)
        .collect();
    assert_eq!(default_speaker.len(), 1, "{list}");
    assert_eq!(default_speaker[0]["id"], "spk", "{list}");
}

#[test]
fn an_unplugged_headset_hands_the_call_to_the_default_and_takes_it_back_when_replugged() {
    let out = switchboard_testkit::output::dir("cli_devices_unplug");
    let mut pulse = Pulse::start(&out);
    let headset = pulse.plug_headset("usbheadset");
    let on_headset = pulse.record("usbheadset", &out.join("headset.raw"));
    let on_speaker = pulse.record("spk", &out.join("speaker.raw"));
    let args = [
        "practice",
        "--auto-answer",
        "--speaker",
        "usbheadset",
        "--microphone",
        "usbheadset_mic",
    ];
    let mut agent = CliAgent::start_with_env(cli(), &args, "", &pulse.env);
    agent.wait("answered", 15);
    // The customer is heard on the headset, and nowhere else.
    eventually("silence on the headset", || {
        active_in_last(&on_headset, 2) > 10
    });
    assert_eq!(
        active_in_last(&on_speaker, 60),
        0,
        "the default speaker played"
    );

    pulse.unplug(&headset);
    let moved = wait_devices(&mut agent, &[("output", "spk"), ("input", "mic")]);
    assert!(moved.iter().all(|e| e["chosen"] == false), "{moved:?}");
    eventually("the default speaker is silent", || {
        active_in_last(&on_speaker, 60) > 10
    });
    assert!(
        !agent.has_seen("ended"),
        "the call dropped with the headset"
    );

    let _headset = pulse.plug_headset("usbheadset");
    let back = wait_devices(
        &mut agent,
        &[("output", "usbheadset"), ("input", "usbheadset_mic")],
    );
    assert!(back.iter().all(|e| e["chosen"] == true), "{back:?}");
    let replugged = pulse.record("usbheadset", &out.join("headset-again.raw"));
    eventually("silence on the replugged headset", || {
        active_in_last(&replugged, 60) > 10
    });
    assert!(
        !agent.has_seen("ended"),
        "the call dropped when the headset returned"
    );
    agent.send("quit");
}

#[test]
fn the_ringer_rings_on_its_own_device_until_the_call_is_answered() {
    let out = switchboard_testkit::output::dir("cli_devices_ringer");
    let mut pulse = Pulse::start(&out);
    let _laptop = pulse.plug_headset("laptop");
    let on_ringer = pulse.record("laptop", &out.join("ringer.raw"));
    let on_speaker = pulse.record("spk", &out.join("speaker.raw"));
    let mut agent =
        CliAgent::start_with_env(cli(), &["practice", "--ringer", "laptop"], "", &pulse.env);
    let incoming = agent.wait("incoming", 15);
    eventually("no ring on the ringer's device", || {
        active_in_last(&on_ringer, 1) > 30
    });
    assert_eq!(
        active_in_last(&on_speaker, 60),
        0,
        "the ring went to the call's speaker"
    );
    let call = incoming["call"].as_str().expect("call id").to_owned();
    let at_answer = on_ringer.samples().len();
    agent.send(&format!("answer {call}"));
    agent.wait("answered", 5);
    eventually("the call is not on the speaker", || {
        active_in_last(&on_speaker, 2) > 10
    });
    // The ringer's recording may trail by two seconds, and the ring is silent four seconds in
    // six: 4.5 s of it, from 3 s after the answer, would hold some ring if it went on.
    let (from, to) = (at_answer + 3 * 48_000, at_answer + 15 * 24_000);
    eventually("the ringer's recording stopped", || {
        on_ringer.samples().len() >= to
    });
    let after = &on_ringer.samples()[from..to];
    assert_eq!(
        active_windows(after, 48_000, 300.0),
        0,
        "still ringing after the answer"
    );
    agent.send("quit");
}
