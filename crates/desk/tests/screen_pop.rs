//! Screen pop, notes, disposition and history through the engine, against the real trunk and
//! phone: a customer whose number is in the store calls through Kamailio from baresip; the
//! record is on the call while it rings, the notes and disposition are kept, wrap-up waits for
//! the disposition, and the next call from the same number shows the first in its history.

use std::net::SocketAddr;
use std::time::Duration;

use switchboard_desk::crm::{CrmConfig, FieldMap};
use switchboard_desk::screen_pop::CustomerLookup;
use switchboard_desk::store::Store;
use switchboard_desk::{
    AccountConfig, AgentState, AudioInput, AudioOutput, AvailabilityConfig, CallId, DeviceChoice,
    Engine, EngineConfig, EngineEvent, Password, RecordsConfig, Ringing, SrtpPolicy, VoiceConfig,
};
use switchboard_testkit::audio;
use switchboard_testkit::baresip::Baresip;
use switchboard_testkit::http::{HttpServer, Response};
use switchboard_testkit::kamailio::Kamailio;
use tokio::sync::mpsc::UnboundedReceiver;

/// The customer's Kamailio user: a national number, as many trunks send them.
const CUSTOMER: &str = "4155550187";
const CUSTOMERS_CSV: &str = "phone,name,account,tier,open_cases\n\
    +1 (415) 555-0187,Sam Ortiz,AC-2001,Gold,CASE-7: Router drops calls\n";

async fn incoming(events: &mut UnboundedReceiver<EngineEvent>) -> CallId {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("a call in time")
            .expect("engine running");
        if let EngineEvent::Incoming { call, .. } = event {
            return call;
        }
    }
}

/// Polls the snapshot until `ready` holds, for up to `secs`.
async fn until<T>(
    engine: &Engine,
    secs: u64,
    what: &str,
    ready: impl Fn(&switchboard_desk::Snapshot) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(found) = ready(&engine.snapshot()) {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {:#?}",
            engine.snapshot()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The engine as agent1 at `kamailio`, speaking `speech`, registered.
async fn registered_engine(
    kamailio: &Kamailio,
    speech: &std::path::Path,
    out: &std::path::Path,
    availability: AvailabilityConfig,
    records: RecordsConfig,
) -> (Engine, UnboundedReceiver<EngineEvent>) {
    let registrar: SocketAddr = ([127, 0, 0, 1], kamailio.port).into();
    let mut account = AccountConfig::new("agent1");
    account.trunk =
        vec![switchboard_desk::TrunkUri::parse(&format!("sip:{registrar}")).expect("uri")];
    account.password = Password::new("pw1");
    let (engine, events) = Engine::start(EngineConfig {
        account,
        input: AudioInput::File {
            path: speech.to_owned(),
            looping: true,
        },
        output: AudioOutput::File(out.join("heard.wav")),
        auto_answer: false,
        call_waiting: true,
        practice: false,
        srtp: SrtpPolicy::Offer,
        codecs: Vec::new(),
        devices: DeviceChoice::default(),
        ringing: Ringing::Silent,
        voice: VoiceConfig::default(),
        availability,
        records,
        directory: Vec::new(),
        language: None,
    })
    .await
    .expect("engine starts");
    until(&engine, 10, "registered", |s| {
        matches!(
            s.registration,
            switchboard_desk::RegistrationView::Registered { .. }
        )
        .then_some(())
    })
    .await;
    (engine, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_caller_pops_their_record_and_the_call_is_filed_with_notes() {
    let out = switchboard_testkit::output::dir("engine_screen_pop");
    let store_path = out.join("desk.sqlite3");
    let _ = std::fs::remove_file(&store_path);
    let mut store = Store::open(&store_path).expect("store");
    let report = store
        .import_customers(CUSTOMERS_CSV.as_bytes(), &Default::default())
        .expect("import");
    assert_eq!(report.imported, 1);
    drop(store);

    let kamailio = Kamailio::start(&out, &[("agent1", "pw1"), (CUSTOMER, "pw2")]);
    let speech = audio::speech(
        &out,
        "customer",
        "Hello, my router keeps dropping calls.",
        2,
    );
    let mut availability = AvailabilityConfig::default();
    availability.wrap_up.duration = Some(Duration::ZERO);
    availability.wrap_up.disposition_required = true;
    let records = RecordsConfig {
        store: Some(store_path.clone()),
        ..Default::default()
    };
    let (engine, mut events) =
        registered_engine(&kamailio, &speech, &out, availability, records).await;

    let mut customer = Baresip::start(
        &out.join("customer"),
        kamailio.port,
        CUSTOMER,
        "pw2",
        &speech,
    );
    customer.dial(&kamailio.user_uri("agent1"));
    let call = incoming(&mut events).await;
    let (record, popped_after) = until(&engine, 5, "the record pops while ringing", |s| {
        let view = s.calls.iter().find(|c| c.id == call)?;
        assert_eq!(view.phone.as_deref(), Some("+14155550187"));
        match &view.customer {
            CustomerLookup::Found { record, at_ms } => {
                Some((record.clone(), at_ms.saturating_sub(view.offered_at_ms)))
            }
            CustomerLookup::Loading => None,
            other => panic!("lookup ended as {other:?}"),
        }
    })
    .await;
    eprintln!("screen pop: record on the call {popped_after} ms after the offer");
    assert_eq!(
        (record.name.as_str(), record.tier.as_str()),
        ("Sam Ortiz", "Gold")
    );
    assert_eq!(record.open_cases[0].id, "CASE-7");
    assert!(
        record.last_interactions.is_empty(),
        "a first call has no history"
    );

    engine.answer(call.clone()).expect("answer");
    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    engine
        .set_notes(call.clone(), "Router drops calls every evening.".into())
        .expect("notes");
    let long = "x".repeat(switchboard_desk::records::NOTES_MAX_CHARS + 1);
    engine.set_notes(call.clone(), long).expect("sent");
    engine.hangup(call.clone()).expect("hang up");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(10));

    let after = until(&engine, 5, "wrap-up keeps the call", |s| {
        matches!(s.agent, AgentState::WrapUp { .. })
            .then(|| s.after_call.clone())
            .flatten()
    })
    .await;
    assert_eq!(after.id, call);
    assert_eq!(
        after.notes, "Router drops calls every evening.",
        "the oversized notes were refused"
    );
    assert!(matches!(after.customer, CustomerLookup::Found { .. }));
    engine
        .set_notes(
            call.clone(),
            "Router drops calls every evening. Replaced it.".into(),
        )
        .expect("notes after the call");
    engine
        .set_disposition(call.clone(), "Not a code".into())
        .expect("sent");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        matches!(engine.snapshot().agent, AgentState::WrapUp { .. }),
        "wrap-up waits for a disposition the policy knows"
    );
    engine
        .set_disposition(call.clone(), "Resolved".into())
        .expect("disposition");
    until(&engine, 5, "back to available once disposed", |s| {
        (s.agent == AgentState::Available && s.after_call.is_none()).then_some(())
    })
    .await;

    let history = engine.history("Replaced it".into()).await.expect("history");
    assert_eq!(history.len(), 1, "{history:?}");
    let entry = &history[0];
    assert_eq!(entry.id, call.0);
    assert_eq!(entry.disposition.as_deref(), Some("Resolved"));
    assert_eq!(entry.phone.as_deref(), Some("+14155550187"));
    assert_eq!(entry.end_reason.as_deref(), Some("localHangup"));
    assert!(entry.answered_ms.is_some() && entry.ended_ms >= entry.answered_ms);
    assert!(entry.mos.is_some_and(|m| m > 3.0), "{entry:?}");

    // The same customer again: the first call is among their last interactions.
    customer.dial(&kamailio.user_uri("agent1"));
    let second = incoming(&mut events).await;
    let record = until(&engine, 5, "the second call's record", |s| {
        match &s.calls.iter().find(|c| c.id == second)?.customer {
            CustomerLookup::Found { record, .. } => Some(record.clone()),
            _ => None,
        }
    })
    .await;
    assert_eq!(record.last_interactions.len(), 1, "{record:?}");
    assert_eq!(
        record.last_interactions[0].disposition.as_deref(),
        Some("Resolved")
    );
    assert!(record.last_interactions[0]
        .summary
        .starts_with("Router drops"));
    engine.hangup(second).expect("decline");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(10));
    engine.shutdown().await;

    // What the agent typed is on disk, not only in the engine's memory.
    let reopened = Store::open(&store_path).expect("reopen");
    let saved = reopened.call(&call.0).expect("query").expect("the call");
    assert!(saved.notes.ends_with("Replaced it."), "{saved:?}");
}

/// The popped record's state for `call`, or `None` while it is still loading.
fn popped(s: &switchboard_desk::Snapshot, call: &CallId) -> Option<CustomerLookup> {
    let view = s.calls.iter().find(|c| &c.id == call)?;
    (view.customer != CustomerLookup::Loading).then(|| view.customer.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crm_record_pops_and_a_slow_or_failing_crm_never_holds_up_ringing() {
    let out = switchboard_testkit::output::dir("engine_screen_pop_crm");
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = asked.clone();
    let crm = HttpServer::start(move |request| {
        assert_eq!(request.target, "/customers/%2B14155550187");
        let sam = serde_json::json!({"name": "Sam Ortiz", "tier": "Gold", "cases": []});
        match count.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
            0 => Response::json(200, &sam),
            1 => Response::json(200, &sam).after(Duration::from_millis(800)),
            _ => Response::json(503, &serde_json::json!({"error": "maintenance"})),
        }
    });
    let kamailio = Kamailio::start(&out, &[("agent1", "pw1"), (CUSTOMER, "pw2")]);
    let speech = audio::speech(&out, "customer", "Hello, it is Sam again.", 2);
    let records = RecordsConfig {
        crm: Some(CrmConfig {
            name: "Acme CRM".into(),
            url_template: crm.url("/customers/{phone}"),
            headers: Vec::new(),
            timeout: Duration::from_secs(2),
            // Every call asks: the test counts the requests.
            cache_for: Duration::ZERO,
            fields: FieldMap::default(),
            ca_file: None,
        }),
        ..Default::default()
    };
    let (engine, mut events) = registered_engine(
        &kamailio,
        &speech,
        &out,
        AvailabilityConfig::default(),
        records,
    )
    .await;
    let mut customer = Baresip::start(
        &out.join("customer"),
        kamailio.port,
        CUSTOMER,
        "pw2",
        &speech,
    );

    // A CRM that answers at once.
    customer.dial(&kamailio.user_uri("agent1"));
    let call = incoming(&mut events).await;
    let lookup = until(&engine, 5, "the CRM's record", |s| popped(s, &call)).await;
    let offered = engine.snapshot().calls[0].offered_at_ms;
    let CustomerLookup::Found { record, at_ms } = lookup else {
        panic!("expected the CRM's record, got {lookup:?}");
    };
    assert_eq!(
        (record.name.as_str(), record.source.as_str()),
        ("Sam Ortiz", "Acme CRM")
    );
    eprintln!(
        "screen pop (HTTP connector): record on the call {} ms after the offer",
        at_ms - offered
    );
    engine.hangup(call).expect("decline");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(10));

    // A slow CRM: the call rings at once, the panel says it is loading, the record follows.
    customer.dial(&kamailio.user_uri("agent1"));
    let call = incoming(&mut events).await;
    let view = engine
        .snapshot()
        .calls
        .into_iter()
        .find(|c| c.id == call)
        .expect("ringing");
    assert_eq!(view.phase, switchboard_desk::snapshot::CallPhase::Ringing);
    assert_eq!(
        view.customer,
        CustomerLookup::Loading,
        "ringing did not wait for the CRM"
    );
    let lookup = until(&engine, 5, "the slow CRM's record", |s| popped(s, &call)).await;
    let CustomerLookup::Found { at_ms, .. } = lookup else {
        panic!("expected the record, got {lookup:?}");
    };
    assert!(
        at_ms - view.offered_at_ms >= 800,
        "{}",
        at_ms - view.offered_at_ms
    );
    engine.hangup(call).expect("decline");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(10));

    // A failing CRM: the call rings, the panel says why there is no record.
    customer.dial(&kamailio.user_uri("agent1"));
    let call = incoming(&mut events).await;
    let lookup = until(&engine, 5, "the failure", |s| popped(s, &call)).await;
    assert_eq!(
        lookup,
        CustomerLookup::Failed {
            reason: "the CRM answered 503".into()
        }
    );
    engine
        .answer(call.clone())
        .expect("the call is still answered");
    customer.wait_event("CALL_ESTABLISHED", Duration::from_secs(10));
    engine.hangup(call).expect("hang up");
    customer.wait_event("CALL_CLOSED", Duration::from_secs(10));
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 3);
    engine.shutdown().await;
}
