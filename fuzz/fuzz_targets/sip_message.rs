//! A datagram from the network, as the agent's UDP socket sees it: the screen judges it (from
//! the trunk's address and from a stranger's), and what it passes goes to rsipstack's parser.
//! Nothing may panic, an answer may only go back to the sender's address, and what is passed
//! on is never longer than what arrived.
#![no_main]

use std::net::SocketAddr;

use libfuzzer_sys::fuzz_target;
use switchboard_sip::screen::{Screen, Verdict};
use switchboard_sip::trust::TrustPolicy;

fuzz_target!(|data: &[u8]| {
    let screen = Screen {
        policy: TrustPolicy {
            trunk: vec!["127.0.0.1".parse().expect("ip")],
            local_user: "agent".into(),
        },
        server: "fuzz".into(),
    };
    for source in ["127.0.0.1:5060", "127.0.0.9:5060"] {
        let source: SocketAddr = source.parse().expect("addr");
        match screen.inspect(data, source, 1) {
            Verdict::Pass { len } => {
                assert!(len <= data.len());
                let _ = rsipstack::sip::SipMessage::try_from(&data[..len]);
            }
            Verdict::Answer { reply, .. } => assert_eq!(reply.to.ip(), source.ip()),
            Verdict::Drop { .. } => {}
        }
    }
});
