//! RFC 4475 / RFC 5118 torture messages judged without a socket: the grammar's verdict against
//! the manifest's `parse` column, and the screen's answer (as if the trunk sent the message)
//! against its `ua_answer` column. The CLI's `conformance_udp` test sends the same messages
//! over UDP to a running agent.

use std::net::SocketAddr;

use switchboard_sip::grammar;
use switchboard_sip::screen::{Screen, Verdict};
use switchboard_sip::trust::TrustPolicy;
use switchboard_sip::wire::WireMessage;
use switchboard_testkit::conformance::{answer_agrees, cases, parse_agrees};

#[test]
fn every_torture_message_gets_the_verdict_the_manifest_gives() {
    let cases = cases();
    let mut wrong = Vec::new();
    for case in &cases {
        let accepted = std::panic::catch_unwind(|| {
            WireMessage::split(&case.bytes).is_some_and(|m| grammar::check(&m).is_ok())
        })
        .unwrap_or_else(|_| panic!("grammar panicked on {}", case.file));
        // rsipstack's parser sees only what passed, but must not panic on anything.
        std::panic::catch_unwind(|| rsipstack::sip::SipMessage::try_from(case.bytes.as_slice()))
            .unwrap_or_else(|_| panic!("rsipstack panicked on {}", case.file))
            .ok();
        if !parse_agrees(&case.parse, accepted) {
            wrong.push(format!("{}: manifest says {}", case.file, case.parse));
        }
    }
    eprintln!(
        "conformance (grammar): {} of {} as the manifest says",
        cases.len() - wrong.len(),
        cases.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn every_torture_request_from_the_trunk_gets_the_answer_the_manifest_names() {
    let screen = Screen {
        policy: TrustPolicy {
            trunk: vec!["127.0.0.1".parse().expect("ip")],
            local_user: "agent".into(),
        },
        server: "conformance".into(),
    };
    let source: SocketAddr = "127.0.0.1:5099".parse().expect("addr");
    let mut wrong = Vec::new();
    for case in cases() {
        let status = match screen.inspect(&case.bytes, source, 7) {
            Verdict::Answer { status, reply, .. } => {
                assert!(
                    reply.to.ip().is_loopback(),
                    "{}: answer to {}",
                    case.file,
                    reply.to
                );
                Some(status)
            }
            Verdict::Pass { .. } | Verdict::Drop { .. } => None,
        };
        if !answer_agrees(&case.answer, status) {
            wrong.push(format!(
                "{}: manifest {}, screen {status:?}",
                case.file, case.answer
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
