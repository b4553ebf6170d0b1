//! Early media on a call the agent places: the far end (sipp, through Kamailio) answers 183
//! with SDP and plays an announcement before refusing the call with 486, as a busy line or a
//! closed queue does. The agent must play it (the RTP is counted in the call's statistics)
//! and must not send its microphone before an answer.

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::time::Duration;

use switchboard_testkit::sipp::Sipp;
use switchboard_testkit::trunk_lab::TrunkLab;

/// RTP packets of the announcement, one per 20 ms.
const ANNOUNCEMENT_PACKETS: u16 = 50;

/// One RTP packet of Opus (payload type 111) holding a 20 ms silence frame.
fn announcement_packet(seq: u16) -> Vec<u8> {
    let mut packet = vec![0x80, 111];
    packet.extend_from_slice(&seq.to_be_bytes());
    packet.extend_from_slice(&(u32::from(seq) * 960).to_be_bytes());
    packet.extend_from_slice(&0x5eed_0001u32.to_be_bytes());
    // TOC 0xf8: CELT fullband 20 ms, one frame; 0xff 0xfe: a silent frame.
    packet.extend_from_slice(&[0xf8, 0xff, 0xfe]);
    packet
}

#[test]
fn the_far_ends_early_media_is_played_and_the_microphone_stays_closed() {
    let lab = TrunkLab::start(
        "cli_early_media",
        Path::new(env!("CARGO_BIN_EXE_switchboard-cli")),
        &[],
    );
    let TrunkLab { out, mut agent, .. } = lab;

    // The announcement comes from this socket; anything the agent sends lands on it too.
    let announcer = UdpSocket::bind("127.0.0.1:0").expect("bind the announcer");
    let early_port = announcer.local_addr().expect("address").port().to_string();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/early_media_uas.xml");
    let mut far_end = Sipp::uas_with(&out, &scenario, "127.0.0.1", &[("early_port", &early_port)]);
    agent.send(&format!("dial sip:queue@127.0.0.1:{}", far_end.port));

    let log = far_end.wait_log("media=", Duration::from_secs(10));
    let agent_media: SocketAddr = log
        .split("media=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .expect("the agent's RTP address in sipp's log");
    agent.wait("early_media", 10);

    announcer
        .set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let mut heard_from_agent = 0;
    let mut buf = [0u8; 2048];
    for seq in 0..ANNOUNCEMENT_PACKETS {
        announcer
            .send_to(&announcement_packet(seq), agent_media)
            .expect("send RTP");
        if announcer.recv_from(&mut buf).is_ok() {
            heard_from_agent += 1;
        }
    }
    assert_eq!(
        heard_from_agent, 0,
        "the agent sent its microphone before the call was answered"
    );

    let ended = agent.wait("ended", 10);
    assert_eq!(ended["reason"]["kind"], "rejected", "{ended}");
    assert_eq!(ended["reason"]["status"], 486, "{ended}");
    let received = ended["stats"]["packetsReceived"].as_u64().unwrap_or(0);
    assert!(
        received >= u64::from(ANNOUNCEMENT_PACKETS) * 8 / 10,
        "only {received} of {ANNOUNCEMENT_PACKETS} announcement packets were played: {ended}"
    );
    far_end
        .finish(Duration::from_secs(10))
        .expect("the far end's scenario ran to its end");
}
