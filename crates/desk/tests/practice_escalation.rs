//! Practice mode has the whole job: the practice customer calls, the practice directory lists
//! experts whose presence moves, and a consultation reaches a practice expert who answers.

use std::time::Duration;

use switchboard_desk::snapshot::CallPhase;
use switchboard_desk::{
    AccountConfig, AudioInput, AudioOutput, AvailabilityConfig, DeviceChoice, Engine, EngineConfig,
    EngineEvent, Ringing, SrtpPolicy, VoiceConfig,
};

async fn until_event(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<EngineEvent>,
    secs: u64,
    what: &str,
    wanted: impl Fn(&EngineEvent) -> bool,
) -> EngineEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("{what} in time"))
            .expect("engine running");
        if let EngineEvent::Error { message } = &event {
            panic!("{what}: engine error {message}");
        }
        if wanted(&event) {
            return event;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_practice_call_is_escalated_to_a_practice_expert() {
    let (engine, mut events) = Engine::start(EngineConfig {
        account: AccountConfig::new("agent"),
        input: AudioInput::Silence,
        output: AudioOutput::Discard,
        auto_answer: true,
        call_waiting: true,
        practice: true,
        srtp: SrtpPolicy::Offer,
        codecs: Vec::new(),
        devices: DeviceChoice::default(),
        ringing: Ringing::Silent,
        voice: VoiceConfig::default(),
        availability: AvailabilityConfig::default(),
        records: Default::default(),
        directory: Vec::new(),
        language: None,
    })
    .await
    .expect("engine starts");
    let directory = engine.snapshot().directory;
    assert_eq!(directory.len(), 4, "{directory:?}");
    assert!(
        directory.iter().all(|e| e.presence.as_of_ms.is_some()),
        "practice presence is live"
    );
    assert!(
        directory.iter().any(|e| e.target.is_none()),
        "one expert cannot be reached"
    );

    let answered = until_event(&mut events, 15, "the practice call", |e| {
        matches!(e, EngineEvent::Answered { .. })
    })
    .await;
    let EngineEvent::Answered { call: customer } = answered else {
        unreachable!()
    };
    // The customer's record pops from the seeded store.
    let view = engine
        .snapshot()
        .calls
        .into_iter()
        .find(|c| c.id == customer)
        .expect("call");
    assert_eq!(
        view.phone.as_deref(),
        Some(switchboard_desk::practice::PRACTICE_NUMBER)
    );

    let target = directory[0].target.clone().expect("Priya has a number");
    engine.consult(customer.clone(), target).expect("consult");
    let EngineEvent::ConsultStarted { consult, .. } =
        until_event(&mut events, 10, "the consultation", |e| {
            matches!(e, EngineEvent::ConsultStarted { .. })
        })
        .await
    else {
        unreachable!()
    };
    until_event(
        &mut events,
        10,
        "the expert answering",
        |e| matches!(e, EngineEvent::Answered { call } if *call == consult),
    )
    .await;
    let snapshot = engine.snapshot();
    let leg = snapshot
        .calls
        .iter()
        .find(|c| c.id == consult)
        .expect("consult leg");
    assert_eq!(leg.phase, CallPhase::Connected);
    assert_eq!(leg.consult_for.as_ref(), Some(&customer));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !engine
        .snapshot()
        .calls
        .iter()
        .any(|c| c.id == customer && c.held)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the customer waits on hold: {:#?}",
            engine.snapshot().calls
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    engine.conference().expect("conference");
    until_event(&mut events, 10, "the conference", |e| {
        matches!(e, EngineEvent::ConferenceStarted { .. })
    })
    .await;
    engine.hangup(consult.clone()).expect("the expert leaves");
    until_event(
        &mut events,
        10,
        "the expert's leg ending",
        |e| matches!(e, EngineEvent::Ended { call, .. } if *call == consult),
    )
    .await;

    // A blind transfer: the practice customer follows the REFER to the practice expert, and
    // the agent's call ends as transferred.
    engine
        .transfer(customer.clone(), target_of(&engine))
        .expect("transfer");
    until_event(
        &mut events,
        10,
        "the transfer",
        |e| matches!(e, EngineEvent::Transferred { call, .. } if *call == customer),
    )
    .await;
    let ended = until_event(
        &mut events,
        10,
        "the customer's call handed over",
        |e| matches!(e, EngineEvent::Ended { call, .. } if *call == customer),
    )
    .await;
    assert!(
        matches!(
            ended,
            EngineEvent::Ended {
                reason: switchboard_desk::EndReason::Transferred,
                ..
            }
        ),
        "{ended:?}"
    );
    engine.shutdown().await;
}

fn target_of(engine: &Engine) -> String {
    engine.snapshot().directory[0]
        .target
        .clone()
        .expect("a practice expert's number")
}
