//! SRTP keys through SDP offer/answer (RFC 4568), between two of our descriptions and against
//! what other softphones write.

use std::net::SocketAddr;

use switchboard_media::sdp::{Direction, LocalSdp};
use switchboard_media::srtp::{SrtpPolicy, Suite};
use switchboard_media::MediaError;

const SEND_RECV: Direction = Direction::SendRecv;

fn at(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// baresip with `mediaenc=srtp-mand`: RTP/SAVP and two suites, 32-bit tag first.
const BARESIP_SAVP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
    m=audio 40000 RTP/SAVP 96 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n\
    a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\r\n\
    a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:HRwbGhkYFxYVFBMSERAPDg0MCwoJCAcGBQQDAgEA|2^31\r\n\
    a=sendrecv\r\n";

fn crypto_lines(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| l.starts_with("a=crypto:"))
        .collect()
}

#[test]
fn two_of_ours_agree_on_crossed_keys() {
    let mut caller = LocalSdp::secured(at(50000), SrtpPolicy::Offer).expect("keys");
    let mut callee = LocalSdp::secured(at(50002), SrtpPolicy::Required).expect("keys");
    let offer = caller.offer(SEND_RECV);
    assert!(offer.contains("m=audio 50000 RTP/AVP "), "{offer}");
    let lines = crypto_lines(&offer);
    assert_eq!(lines.len(), 2, "{offer}");
    assert!(
        lines[0].starts_with("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"),
        "{offer}"
    );
    assert!(
        lines[1].starts_with("a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:"),
        "{offer}"
    );

    let (answer, at_callee) = callee.answer(&offer, SEND_RECV).expect("answer");
    assert_eq!(crypto_lines(&answer).len(), 1, "{answer}");
    assert!(
        answer.contains("RTP/AVP"),
        "best effort is answered in kind: {answer}"
    );
    let at_caller = caller.read_answer(&answer, SEND_RECV).expect("read");
    let (a, b) = (at_caller.srtp.expect("keys"), at_callee.srtp.expect("keys"));
    assert_eq!(a.suite, Suite::AesCm128HmacSha1_80);
    assert_eq!((a.ours.clone(), a.theirs.clone()), (b.theirs, b.ours));
    assert_ne!(a.ours, a.theirs, "each side has a key of its own");

    // A re-offer (hold) keeps the agreed key and only it.
    let reoffer = caller.offer(Direction::SendOnly);
    let kept = crypto_lines(&reoffer);
    assert_eq!(kept.len(), 1, "{reoffer}");
    assert!(offer.contains(kept[0]), "the same key: {reoffer}");
}

#[test]
fn a_savp_offer_from_baresip_is_answered_on_savp_with_its_tag() {
    let mut ours = LocalSdp::secured(at(50000), SrtpPolicy::Offer).expect("keys");
    let (answer, n) = ours.answer(BARESIP_SAVP, SEND_RECV).expect("answer");
    assert!(answer.contains("m=audio 50000 RTP/SAVP 96 101"), "{answer}");
    let lines = crypto_lines(&answer);
    assert_eq!(lines.len(), 1, "{answer}");
    assert!(
        lines[0].starts_with("a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:"),
        "{answer}"
    );
    assert!(
        !answer.contains("AAECAwQFBgcI"),
        "we never echo the peer's key: {answer}"
    );
    let keys = n.srtp.clone().expect("encrypted");
    assert_eq!(keys.suite, Suite::AesCm128HmacSha1_32);
    assert!(
        !format!("{n:?}").contains("AAECAw"),
        "keys stay out of logs"
    );
}

#[test]
fn the_policy_refuses_what_it_must() {
    let plain_offer = BARESIP_SAVP
        .replace("RTP/SAVP", "RTP/AVP")
        .lines()
        .filter(|l| !l.starts_with("a=crypto"))
        .map(|l| format!("{l}\r\n"))
        .collect::<String>();
    // Required: a plain offer is refused, naming SRTP.
    let mut strict = LocalSdp::secured(at(50000), SrtpPolicy::Required).expect("keys");
    let e = strict.answer(&plain_offer, SEND_RECV).expect_err("plain");
    assert!(
        matches!(e, MediaError::Srtp(_)) && e.to_string().contains("required"),
        "{e}"
    );
    // Offer: the same plain offer is taken, in the clear.
    let mut lenient = LocalSdp::secured(at(50000), SrtpPolicy::Offer).expect("keys");
    let (answer, n) = lenient
        .answer(&plain_offer, SEND_RECV)
        .expect("plain is fine");
    assert!(
        n.srtp.is_none() && crypto_lines(&answer).is_empty(),
        "{answer}"
    );
    // Off: an offer that insists on SRTP is refused.
    let mut off = LocalSdp::secured(at(50000), SrtpPolicy::Off).expect("no keys");
    let e = off.answer(BARESIP_SAVP, SEND_RECV).expect_err("savp");
    assert!(e.to_string().contains("switched off"), "{e}");
    // SAVP with only suites we do not speak: refused, saying which.
    let gcm = BARESIP_SAVP
        .replace("AES_CM_128_HMAC_SHA1_32", "AEAD_AES_256_GCM")
        .replace("AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM");
    let e = LocalSdp::secured(at(50000), SrtpPolicy::Offer)
        .expect("keys")
        .answer(&gcm, SEND_RECV)
        .expect_err("no suite");
    assert!(e.to_string().contains("AEAD_AES_256_GCM"), "{e}");
    // An unknown transport is named as what it is.
    let tcp = BARESIP_SAVP.replace("RTP/SAVP", "TCP/RTP/AVP");
    let e = LocalSdp::new(at(50000))
        .answer(&tcp, SEND_RECV)
        .expect_err("tcp");
    assert!(e.to_string().contains("TCP/RTP/AVP"), "{e}");
}

#[test]
fn required_offers_are_savp_and_a_plain_answer_is_an_error() {
    let mut ours = LocalSdp::secured(at(50000), SrtpPolicy::Required).expect("keys");
    let offer = ours.offer(SEND_RECV);
    assert!(offer.contains("m=audio 50000 RTP/SAVP "), "{offer}");
    let plain_answer = LocalSdp::new(at(50002))
        .answer(&offer.replace("RTP/SAVP", "RTP/AVP"), SEND_RECV)
        .expect("plain")
        .0;
    let e = ours
        .read_answer(&plain_answer, SEND_RECV)
        .expect_err("plain answer");
    assert!(e.to_string().contains("SRTP"), "{e}");
}
