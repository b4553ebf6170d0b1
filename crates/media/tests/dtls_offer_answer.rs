//! DTLS-SRTP through SDP offer/answer (RFC 5763): answering a peer that offers only that, and
//! keeping the association through re-offers. The handshake itself is in `srtp::dtls`.

use std::net::SocketAddr;

use switchboard_media::sdp::{Direction, LocalSdp};
use switchboard_media::srtp::{DtlsRole, SrtpPolicy};

const SEND_RECV: Direction = Direction::SendRecv;

fn at(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

const FINGERPRINT: &str = "SHA-256 \
    4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B";

/// What baresip with `mediaenc=dtls_srtp` writes: the fingerprint at session level (upper-case
/// hash name), the setup on the stream, no `a=crypto`, no rtcp-mux.
fn baresip_dtls_offer() -> String {
    format!(
        "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         a=fingerprint:{FINGERPRINT}\r\n\
         m=audio 40000 UDP/TLS/RTP/SAVP 96 101\r\na=rtpmap:96 opus/48000/2\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=setup:actpass\r\na=sendrecv\r\n"
    )
}

fn attribute<'a>(body: &'a str, name: &str) -> Vec<&'a str> {
    let prefix = format!("a={name}:");
    body.lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

#[test]
fn a_dtls_offer_is_answered_active_with_our_fingerprint_and_no_keys() {
    let mut ours = LocalSdp::secured(at(50000), SrtpPolicy::Offer).expect("sdp");
    let (answer, n) = ours
        .answer(&baresip_dtls_offer(), SEND_RECV)
        .expect("answer");
    assert!(
        answer.contains("m=audio 50000 UDP/TLS/RTP/SAVP 96 101"),
        "{answer}"
    );
    assert_eq!(attribute(&answer, "setup"), ["active"], "{answer}");
    assert!(attribute(&answer, "crypto").is_empty(), "{answer}");
    let dtls = n.dtls.clone().expect("keyed by DTLS");
    assert!(n.srtp.is_none(), "no SDES keys");
    assert_eq!(dtls.role, DtlsRole::Client);
    assert_eq!(
        attribute(&answer, "fingerprint"),
        [dtls.identity.fingerprint().value().as_str()],
        "{answer}"
    );
    assert!(
        dtls.remote_fingerprint.value().ends_with("49:6B"),
        "{:?}",
        dtls.remote_fingerprint
    );
    assert_ne!(dtls.identity.fingerprint(), &dtls.remote_fingerprint);
    assert!(
        !n.rtcp_mux && n.rtcp == at(40001),
        "RTCP on its own port: {n:?}"
    );

    // The same offer again (a refresh): the same certificate and roles, so the same association.
    let (again, n2) = ours
        .answer(&baresip_dtls_offer(), SEND_RECV)
        .expect("again");
    assert_eq!(n2.dtls.as_ref(), Some(&dtls), "{again}");

    // Our own re-offer (hold) keeps DTLS and our role; the answer must take the other side.
    let reoffer = ours.offer(Direction::SendOnly);
    assert!(reoffer.contains("UDP/TLS/RTP/SAVP"), "{reoffer}");
    assert_eq!(attribute(&reoffer, "setup"), ["active"], "{reoffer}");
    let passive = baresip_dtls_offer()
        .replace("actpass", "passive")
        .replace("sendrecv", "recvonly");
    let held = ours
        .read_answer(&passive, Direction::SendOnly)
        .expect("answer");
    assert_eq!(held.dtls.as_ref(), Some(&dtls), "kept");
    let e = ours
        .read_answer(&passive.replace("passive", "active"), Direction::SendOnly)
        .expect_err("both active");
    assert!(e.to_string().contains("complement"), "{e}");
    let sdes = passive.replace("UDP/TLS/RTP/SAVP", "RTP/AVP");
    let e = ours
        .read_answer(&sdes, Direction::SendOnly)
        .expect_err("dropped");
    assert!(e.to_string().contains("drops DTLS"), "{e}");
}

#[test]
fn an_active_offerer_makes_us_the_server() {
    let offer = baresip_dtls_offer().replace("actpass", "active");
    let (answer, n) = LocalSdp::secured(at(50000), SrtpPolicy::Required)
        .expect("sdp")
        .answer(&offer, SEND_RECV)
        .expect("answer");
    assert_eq!(attribute(&answer, "setup"), ["passive"], "{answer}");
    assert_eq!(n.dtls.expect("dtls").role, DtlsRole::Server);
}

#[test]
fn fingerprints_are_taken_from_the_stream_first_and_weak_or_missing_ones_refused() {
    let answer = |offer: &str| {
        LocalSdp::secured(at(50000), SrtpPolicy::Offer)
            .expect("sdp")
            .answer(offer, SEND_RECV)
    };
    let session_level = format!("a=fingerprint:{FINGERPRINT}\r\n");
    let missing = baresip_dtls_offer().replace(&session_level, "");
    let e = answer(&missing).expect_err("no fingerprint");
    assert!(e.to_string().contains("a=fingerprint"), "{e}");

    let sha1 = "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB";
    let only_sha1 = baresip_dtls_offer().replace(FINGERPRINT, sha1);
    assert!(answer(&only_sha1).is_err(), "SHA-1 alone is refused");

    // A stream's own fingerprints win over the session's; of them, the first we accept.
    let ours = "sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:\
                10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F";
    let stream_level = baresip_dtls_offer().replace(
        "a=setup:actpass\r\n",
        &format!("a=setup:actpass\r\na=fingerprint:{sha1}\r\na=fingerprint:{ours}\r\n"),
    );
    let (_, n) = answer(&stream_level).expect("sha-256 after sha-1");
    assert_eq!(n.dtls.expect("dtls").remote_fingerprint.value(), ours);

    let e = answer(&baresip_dtls_offer().replace("actpass", "holdconn")).expect_err("held");
    assert!(e.to_string().contains("holdconn"), "{e}");
}

#[test]
fn dtls_is_refused_when_srtp_is_off_and_never_accepted_as_an_answer_to_sdes() {
    let e = LocalSdp::new(at(50000))
        .answer(&baresip_dtls_offer(), SEND_RECV)
        .expect_err("off");
    assert!(e.to_string().contains("switched off"), "{e}");

    let mut ours = LocalSdp::secured(at(50000), SrtpPolicy::Offer).expect("sdp");
    let offer = ours.offer(SEND_RECV);
    assert!(
        !offer.contains("UDP/TLS"),
        "we offer SDES, not DTLS: {offer}"
    );
    let e = ours
        .read_answer(
            &baresip_dtls_offer().replace("actpass", "active"),
            SEND_RECV,
        )
        .expect_err("not offered");
    assert!(e.to_string().contains("did not offer"), "{e}");
}
