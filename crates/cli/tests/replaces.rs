//! An INVITE with Replaces (RFC 3891): a customer handed to the agent by attended transfer
//! takes the place of the agent's call with the party that transferred them. sipp plays both
//! that party (the replaced leg) and the customer, through Kamailio; each checks what it must
//! see and fails its exit status otherwise.

use std::path::Path;
use std::time::Duration;

use switchboard_testkit::sipp::Sipp;
use switchboard_testkit::trunk_lab::{TrunkLab, CARRIER};

#[test]
fn a_transferred_customer_replaces_the_call_with_the_transferring_party() {
    let lab = TrunkLab::start(
        "cli_replaces",
        Path::new(env!("CARGO_BIN_EXE_switchboard-cli")),
        &[],
    );
    let trunk = lab.trunk();
    let TrunkLab { out, mut agent, .. } = lab;
    let sipp = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp");

    // The expert calls; the agent answers by hand (no auto-answer in this test).
    let mut expert = Sipp::uac(&out, &sipp.join("replaces_first_leg.xml"), CARRIER, &trunk);
    let first = agent.wait("incoming", 10);
    let first_call = first["call"].as_str().expect("call id").to_owned();
    agent.send("answer");
    agent.wait("answered", 10);
    let log = expert.wait_log("to-tag=", Duration::from_secs(5));
    let to_tag = log
        .split("to-tag=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the agent's tag in sipp's log");
    let replaces = format!("{first_call};to-tag={to_tag};from-tag=firstleg");

    // The customer's INVITE names that dialog; one naming another dialog first gets 481.
    let mut customer = Sipp::uac_with(
        &out,
        &sipp.join("replaces_customer.xml"),
        CARRIER,
        &trunk,
        &[("replaces", &replaces)],
    );
    let second = agent.wait("incoming", 10);
    assert_eq!(second["replaces"], first_call.as_str(), "{second}");
    let answered = agent.wait("answered", 5);
    assert_eq!(answered["call"], second["call"], "taken without a command");
    let ended = agent.wait("ended", 10);
    assert_eq!(ended["call"], first_call.as_str(), "{ended}");
    assert_eq!(ended["reason"]["kind"], "replaced", "{ended}");
    expert
        .finish(Duration::from_secs(10))
        .expect("the replaced leg was ended with BYE");

    let ended = agent.wait("ended", 10);
    assert_eq!(ended["call"], second["call"], "{ended}");
    assert_eq!(ended["reason"]["kind"], "remoteHangup", "{ended}");
    customer
        .finish(Duration::from_secs(10))
        .expect("the customer saw 481 for the wrong dialog, then 200 without ringing");
    assert_eq!(
        agent.events.count("event", "incoming"),
        2,
        "the INVITE naming no dialog of ours reached the agent"
    );
}
