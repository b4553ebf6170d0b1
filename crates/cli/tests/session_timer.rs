//! Session timers (RFC 4028) against sipp through Kamailio: the agent refreshes when it is
//! the refresher, ends a call the far end stopped refreshing, and follows a 422 on its own
//! calls. sipp checks every header it must see and fails its exit status otherwise.
//!
//! Intervals are real (90 s is the least RFC 4028 allows), so two of these take a minute;
//! they run side by side.

mod common;

use std::time::{Duration, Instant};

use common::{auto_answering, scenario};

use switchboard_testkit::sipp::Sipp;
use switchboard_testkit::trunk_lab::{TrunkLab, CARRIER};

#[test]
fn the_agent_refreshes_the_session_when_asked_to_after_a_too_short_interval() {
    let lab = auto_answering("cli_session_timer_refresh");
    let trunk = lab.trunk();
    let TrunkLab { out, mut agent, .. } = lab;
    let mut customer = Sipp::uac(
        &out,
        &scenario("timer_agent_refreshes.xml"),
        CARRIER,
        &trunk,
    );
    agent.wait("answered", 10);
    let ended = agent.wait("ended", 75);
    assert_eq!(ended["reason"]["kind"], "remoteHangup", "{ended}");
    // Exactly one call rang: the 422 was refused before ringing.
    assert_eq!(
        agent.events.count("event", "incoming"),
        1,
        "the refused INVITE rang the agent"
    );
    customer
        .finish(Duration::from_secs(10))
        .expect("the customer's phone saw every header it needed");
}

#[test]
fn a_call_whose_far_end_stops_refreshing_ends_by_itself() {
    let lab = auto_answering("cli_session_timer_expiry");
    let trunk = lab.trunk();
    let TrunkLab { out, mut agent, .. } = lab;
    let mut customer = Sipp::uac(
        &out,
        &scenario("timer_customer_vanishes.xml"),
        CARRIER,
        &trunk,
    );
    agent.wait("answered", 10);
    let answered = Instant::now();
    let ended = agent.wait("ended", 80);
    let lasted = answered.elapsed();
    assert_eq!(ended["reason"]["kind"], "sessionExpired", "{ended}");
    // 90 s with the far end refreshing: we give it until 60 s, and not much less.
    assert!(
        lasted >= Duration::from_secs(55),
        "ended after {lasted:?}, before the session could have expired"
    );
    customer
        .finish(Duration::from_secs(10))
        .expect("the customer's phone got the agent's BYE in time");
}

#[test]
fn our_call_follows_a_422_and_answers_the_far_ends_refresh() {
    // Bound whole first: fields left out of a pattern on a temporary would drop (and stop
    // the trunk) at once.
    let lab = auto_answering("cli_session_timer_uac");
    let TrunkLab { out, mut agent, .. } = lab;
    let mut expert = Sipp::uas(&out, &scenario("timer_expert_uas.xml"), CARRIER);
    agent.send(&format!("dial sip:sme@{CARRIER}:{}", expert.port));
    agent.wait("answered", 15);
    // The expert refreshes at once by UPDATE; give it a moment, then hang up.
    std::thread::sleep(Duration::from_secs(2));
    agent.send("hangup");
    let ended = agent.wait("ended", 10);
    assert_eq!(ended["reason"]["kind"], "localHangup", "{ended}");
    expert
        .finish(Duration::from_secs(10))
        .expect("the expert's phone saw the 422 followed and its refresh answered");
}
