//! The engine as a library against the real trunk and phone: Kamailio registers it, baresip
//! calls it, the engine answers, Opus flows both ways, and the end reports media statistics.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use switchboard_desk::{
    AccountConfig, AudioInput, AudioOutput, DeviceChoice, EndReason, Engine, EngineConfig,
    EngineEvent, Password, Ringing, SrtpPolicy, VoiceConfig,
};
use switchboard_testkit::audio;
use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::kamailio::Kamailio;
use tokio::sync::mpsc::UnboundedReceiver;

/// The next event that is not a periodic quality report (those come every 2 s, at any point)
/// nor an agent-state change (`cli/tests/agent_state.rs` follows those).
async fn next(events: &mut UnboundedReceiver<EngineEvent>, secs: u64) -> EngineEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("engine event in time")
            .expect("engine running");
        if !matches!(
            event,
            EngineEvent::CallQuality { .. } | EngineEvent::AgentState { .. }
        ) {
            return event;
        }
    }
}

fn account(registrar: SocketAddr, password: &str) -> AccountConfig {
    let mut a = AccountConfig::new("agent1");
    a.trunk = vec![switchboard_desk::TrunkUri::parse(&format!("sip:{registrar}")).expect("uri")];
    a.password = Password::new(password);
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_registers_answers_and_reports_the_call() {
    let out = switchboard_testkit::output::dir("engine_first_call");
    let kamailio = Kamailio::start(&out, &[("agent1", "pw1"), ("customer", "pw2")]);
    let customer_speech = audio::speech(
        &out,
        "customer",
        "Hi, my internet has been down since this morning.",
        2,
    );
    let agent_speech = audio::speech(
        &out,
        "agent",
        "I can help with that. Let me run a line test.",
        1,
    );
    let recording = out.join("engine-heard.wav");
    let registrar: SocketAddr = ([127, 0, 0, 1], kamailio.port).into();

    let (engine, mut events) = Engine::start(EngineConfig {
        account: account(registrar, "pw1"),
        input: AudioInput::File {
            path: agent_speech,
            looping: true,
        },
        output: AudioOutput::File(recording.clone()),
        auto_answer: false,
        call_waiting: true,
        practice: false,
        srtp: SrtpPolicy::Offer,
        codecs: Vec::new(),
        devices: DeviceChoice::default(),
        ringing: Ringing::Silent,
        voice: VoiceConfig::default(),
        availability: switchboard_desk::AvailabilityConfig::default(),
        records: Default::default(),
        directory: Vec::new(),
        language: None,
    })
    .await
    .expect("engine starts");
    assert!(matches!(
        next(&mut events, 5).await,
        EngineEvent::Ready {
            practice: false,
            ..
        }
    ));
    assert!(
        matches!(next(&mut events, 10).await, EngineEvent::Registered { expires } if expires > 0)
    );

    let dir = out.join("customer");
    let mut customer = Baresip::start(&dir, kamailio.port, "customer", "pw2", &customer_speech);
    customer.dial(&kamailio.user_uri("agent1"));

    let call = match next(&mut events, 10).await {
        EngineEvent::Incoming { call, caller, .. } => {
            assert!(caller.contains("customer"), "{caller}");
            call
        }
        other => panic!("expected incoming, got {other:?}"),
    };
    assert_eq!(engine.snapshot().calls.len(), 1);
    engine.answer(call.clone()).expect("answer");
    assert!(matches!(
        next(&mut events, 5).await,
        EngineEvent::Answered { .. }
    ));
    let view = engine
        .snapshot()
        .calls
        .into_iter()
        .next()
        .expect("call in snapshot");
    assert!(view.connected_at_ms.is_some(), "{view:?}");

    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(5));
    customer.wait_event("CALL_CLOSED", Duration::from_secs(20));
    match next(&mut events, 10).await {
        EngineEvent::Ended {
            call: ended,
            reason,
            stats,
        } => {
            assert_eq!(ended, call);
            assert_eq!(reason, EndReason::RemoteHangup);
            assert!(
                stats.packets_sent > 50 && stats.packets_received > 50,
                "{stats:?}"
            );
            assert!(stats.jitter_ms < 20.0, "{stats:?}");
        }
        other => panic!("expected ended, got {other:?}"),
    }
    assert!(engine.snapshot().calls.is_empty());

    let (heard, rate) = audio::read_mono(&recording);
    let (said, said_rate) = audio::read_mono(&customer_speech);
    let r = audio::envelope_correlation(&said, said_rate, &heard, rate, 2000);
    assert!(
        r > 0.6,
        "engine recording does not follow the customer's speech (r = {r:.2})"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_registrar_is_reported_clearly_and_probed_until_it_answers() {
    // A UDP socket that never answers stands in for a registrar that is down.
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut account = account(silent.local_addr().expect("addr"), "pw");
    account.register_timeout = Duration::from_millis(800);
    let (engine, mut events) = Engine::start(EngineConfig {
        account,
        input: AudioInput::Silence,
        output: AudioOutput::Discard,
        auto_answer: false,
        call_waiting: true,
        practice: false,
        srtp: SrtpPolicy::Offer,
        codecs: Vec::new(),
        devices: DeviceChoice::default(),
        ringing: Ringing::Silent,
        voice: VoiceConfig::default(),
        availability: switchboard_desk::AvailabilityConfig::default(),
        records: Default::default(),
        directory: Vec::new(),
        language: None,
    })
    .await
    .expect("engine starts");
    next(&mut events, 5).await;
    match next(&mut events, 10).await {
        EngineEvent::RegistrationFailed {
            status,
            reason,
            retry_in,
        } => {
            assert_eq!(status, None);
            assert!(reason.contains("no answer"), "{reason}");
            assert!((1..=4).contains(&retry_in), "{retry_in}");
        }
        other => panic!("expected registration_failed, got {other:?}"),
    }
    // The registrar really was tried (REGISTER datagrams arrived), and is then probed with
    // keepalives (OPTIONS) until it answers, rather than flooded with REGISTERs.
    silent
        .set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    let mut methods = Vec::new();
    let mut buf = [0u8; 2048];
    let until = std::time::Instant::now() + Duration::from_secs(4);
    while std::time::Instant::now() < until {
        if let Ok(n) = silent.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            methods.push(text.split(' ').next().unwrap_or_default().to_owned());
        }
    }
    assert_eq!(
        methods.first().map(String::as_str),
        Some("REGISTER"),
        "{methods:?}"
    );
    assert!(methods.iter().any(|m| m == "OPTIONS"), "{methods:?}");
    let registers = methods.iter().filter(|m| *m == "REGISTER").count();
    // One REGISTER and its retransmissions (at 0.5 s intervals doubling) before the probes.
    assert!(registers <= 4, "{methods:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn practice_line_calls_the_agent_with_recorded_speech() {
    let out = switchboard_testkit::output::dir("engine_practice");
    let recording = out.join("practice-heard.wav");
    let mut account = AccountConfig::new("agent");
    account.password = Password::new("");
    let (engine, mut events) = Engine::start(EngineConfig {
        account,
        input: AudioInput::Silence,
        output: AudioOutput::File(recording.clone()),
        auto_answer: false,
        call_waiting: true,
        practice: true,
        srtp: SrtpPolicy::Offer,
        codecs: Vec::new(),
        devices: DeviceChoice::default(),
        ringing: Ringing::Silent,
        voice: VoiceConfig::default(),
        availability: switchboard_desk::AvailabilityConfig::default(),
        records: Default::default(),
        directory: Vec::new(),
        language: None,
    })
    .await
    .expect("engine starts");
    assert!(matches!(
        next(&mut events, 5).await,
        EngineEvent::Ready { practice: true, .. }
    ));
    let call = match next(&mut events, 10).await {
        EngineEvent::Incoming {
            call, display_name, ..
        } => {
            assert_eq!(display_name.as_deref(), Some("Dana Whitfield (practice)"));
            call
        }
        other => panic!("expected the practice call, got {other:?}"),
    };
    engine.answer(call.clone()).expect("answer");
    assert!(matches!(
        next(&mut events, 5).await,
        EngineEvent::Answered { .. }
    ));
    tokio::time::sleep(Duration::from_secs(4)).await;
    engine.hangup(call).expect("hang up");
    match next(&mut events, 5).await {
        EngineEvent::Ended { reason, stats, .. } => {
            assert_eq!(reason, EndReason::LocalHangup);
            assert!(stats.packets_received > 100, "{stats:?}");
            // The practice customer offers SRTP, as a trunk would, and the agent takes it.
            assert!(stats.encrypted, "{stats:?}");
        }
        other => panic!("expected ended, got {other:?}"),
    }
    let (heard, rate) = audio::read_mono(&recording);
    assert!(
        audio::active_windows(&heard, rate, 500.0) > 50,
        "practice speech not heard"
    );
    engine.shutdown().await;
}
