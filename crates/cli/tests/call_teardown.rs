//! How calls end when the two ends do not take turns: a CANCEL crossing the agent's 200, a
//! BYE before the ACK, BYEs crossing and repeated. sipp plays the customer through Kamailio
//! and fails its exit status on any answer RFC 3261 does not allow (the CANCEL race is played
//! by a hand-written caller: sipp cannot time it); the agent must end each call once, at
//! once, and stay registered.

mod common;

use std::time::Duration;

use common::{auto_answering, scenario};

use switchboard_testkit::raw_uac::RawUac;
use switchboard_testkit::sipp::Sipp;
use switchboard_testkit::trunk_lab::CARRIER;

/// Calls whose CANCEL races the agent's automatic answer, each CANCEL a little later.
const RACES: u32 = 24;

/// How one raced call ended at the caller.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Cancelled,
    Answered,
}

/// Calls, waits for the ringing, lets `delay` pass (the agent answers meanwhile, or not) and
/// cancels; then finishes the call as RFC 3261 says for whichever final answer came.
fn race(uac: &RawUac, n: u32, delay: Duration) -> Outcome {
    let mut dialog = uac.invite(n);
    loop {
        let answer = uac
            .answer(Duration::from_secs(5))
            .expect("the agent answers the INVITE");
        if answer.method == "INVITE" && answer.status >= 180 {
            break;
        }
    }
    std::thread::sleep(delay);
    uac.cancel(&dialog);
    let (mut final_status, mut cancel_status) = (None, None);
    while final_status.is_none() || cancel_status.is_none() {
        let answer = uac.answer(Duration::from_secs(5)).unwrap_or_else(|| {
            panic!("call {n}: INVITE {final_status:?}, CANCEL {cancel_status:?}")
        });
        match answer.method.as_str() {
            "CANCEL" => cancel_status = Some(answer.status),
            "INVITE" if answer.status >= 200 && final_status.is_none() => {
                final_status = Some(answer.status);
                dialog.to_tag = answer.to_tag;
            }
            _ => {}
        }
    }
    // A CANCEL that found the INVITE gets 200, even when the answer won; 481 when it came
    // after the transaction was gone.
    assert!(
        matches!(cancel_status, Some(200 | 481)),
        "call {n}: CANCEL got {cancel_status:?}"
    );
    match final_status {
        Some(487) => {
            uac.ack(&dialog, false);
            Outcome::Cancelled
        }
        Some(200) => {
            uac.ack(&dialog, true);
            uac.bye(&dialog, 2);
            let bye = uac.answer_to("BYE", Duration::from_secs(5));
            assert_eq!(bye.status, 200, "call {n}: BYE after a won race");
            Outcome::Answered
        }
        other => panic!("call {n}: the INVITE ended {other:?}, neither 487 nor 200"),
    }
}

#[test]
fn a_cancel_crossing_the_answer_ends_the_call_either_way() {
    let mut lab = auto_answering("cli_cancel_race");
    // From the trunk's address, straight to the agent: no proxy to smooth the race.
    let uac = RawUac::bind("127.0.0.1", lab.agent_sip, "agent1");
    let mut outcomes = Vec::new();
    for n in 0..RACES {
        let delay = Duration::from_millis(u64::from(n % 12) * 6);
        outcomes.push(race(&uac, n, delay));
        let ended = lab.agent.wait("ended", 10);
        let kind = ended["reason"]["kind"].as_str().unwrap_or_default();
        let expected = match outcomes.last() {
            Some(Outcome::Cancelled) => "cancelled",
            _ => "remoteHangup",
        };
        assert_eq!(kind, expected, "call {n}: {ended}");
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        lab.agent.events.count("event", "ended"),
        RACES as usize,
        "a call was reported ended twice"
    );
    let cancelled = outcomes
        .iter()
        .filter(|o| **o == Outcome::Cancelled)
        .count();
    eprintln!(
        "CANCEL/200 race over {RACES} calls: CANCEL won {cancelled}, 200 won {}",
        RACES as usize - cancelled
    );
    assert!(
        !lab.agent.has_seen("registration_failed"),
        "the agent lost its registration"
    );
}

#[test]
fn a_bye_before_the_ack_ends_the_call_at_once() {
    let mut lab = auto_answering("cli_bye_before_ack");
    let mut customer = Sipp::uac(
        &lab.out,
        &scenario("bye_before_ack_uac.xml"),
        CARRIER,
        &lab.trunk(),
    );
    lab.agent.wait("answered", 10);
    // At once: not when the 200's retransmissions give up (32 s).
    let ended = lab.agent.wait("ended", 3);
    assert_eq!(ended["reason"]["kind"], "remoteHangup", "{ended}");
    customer
        .finish(Duration::from_secs(10))
        .expect("the BYE got its 200");
}

#[test]
fn crossed_and_repeated_byes_end_the_call_once() {
    let mut lab = auto_answering("cli_crossed_bye");
    let uac = RawUac::bind("127.0.0.1", lab.agent_sip, "agent1");
    let mut dialog = uac.invite(1);
    let answered = loop {
        let answer = uac.answer(Duration::from_secs(5)).expect("an answer");
        if answer.method == "INVITE" && answer.status >= 200 {
            break answer;
        }
    };
    assert_eq!(answered.status, 200);
    dialog.to_tag = answered.to_tag;
    uac.ack(&dialog, true);
    lab.agent.wait("answered", 5);

    // Both hang up at once: the agent's BYE arrives, ours goes out before we answer it.
    lab.agent.send("hangup");
    let their_bye = uac
        .request_of("BYE", Duration::from_secs(5))
        .expect("the agent's BYE");
    uac.bye(&dialog, 2);
    uac.respond(&their_bye, 200, "OK");
    let ours = loop {
        let answer = uac
            .answer(Duration::from_secs(5))
            .expect("our BYE answered");
        if answer.method == "BYE" {
            break answer.status;
        }
    };
    // 200 (the dialog was still there) or 481 (it had just gone): both RFC 3261's.
    assert!(matches!(ours, 200 | 481), "our crossing BYE got {ours}");
    let ended = lab.agent.wait("ended", 5);
    assert_eq!(ended["reason"]["kind"], "localHangup", "{ended}");

    // Hanging up again in the ended dialog: 481, and nothing else happens.
    uac.bye(&dialog, 3);
    let late = uac.answer_to("BYE", Duration::from_secs(5)).status;
    assert_eq!(late, 481, "a BYE in an ended dialog");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(lab.agent.events.count("event", "ended"), 1);
}
