//! SRTP (RFC 3711) for a stream keyed by SDES or DTLS-SRTP: two contexts, one encrypting with our key, one
//! decrypting with the peer's. RTP and RTCP each get a pair of their own, because they are
//! protected on different threads; both pairs derive from the same master keys.

pub mod agree;
pub mod dtls;
pub mod fingerprint;
pub mod protection;
pub mod sdes;
pub mod setup;

use bytes::BytesMut;
use rtc_srtp::context::Context;
use rtc_srtp::option::{srtcp_replay_protection, srtp_replay_protection};

use crate::error::MediaError;
pub use agree::{LocalSecurity, RemoteSecurity};
pub use dtls::{DtlsIdentity, DtlsParams, DtlsSrtp, Handshake};
pub use fingerprint::Fingerprint;
pub use sdes::{Crypto, MasterKey, SrtpKeys, SrtpPolicy, Suite};
pub use setup::{DtlsRole, Setup};

/// Packets this far behind the newest are refused as replays (RFC 3711 §3.3.2 asks for 64 at
/// least); a jitter buffer holds far fewer.
const REPLAY_WINDOW: usize = 128;

pub struct SrtpContexts {
    suite: Suite,
    outbound: Context,
    inbound: Context,
}

impl SrtpContexts {
    pub fn new(keys: &SrtpKeys) -> Result<Self, MediaError> {
        let provider = rtc_srtp::crypto::default_provider().map_err(MediaError::srtp)?;
        let context = |key: &MasterKey, replay: bool| {
            Context::new(
                key.key(),
                key.salt(),
                keys.suite.profile(),
                replay.then(|| srtp_replay_protection(REPLAY_WINDOW)),
                replay.then(|| srtcp_replay_protection(REPLAY_WINDOW)),
                provider.crypto(),
            )
            .map_err(MediaError::srtp)
        };
        Ok(Self {
            suite: keys.suite,
            outbound: context(&keys.ours, false)?,
            inbound: context(&keys.theirs, true)?,
        })
    }

    /// Whether a datagram is long enough to be SRTCP (header, index, tag): shorter ones are not
    /// forgeries but something else, like a peer's NAT keepalive.
    pub fn could_be_srtcp(&self, datagram: &[u8]) -> bool {
        datagram.len() >= 8 + 4 + self.suite.profile().rtcp_auth_tag_len()
    }

    /// Whether a datagram is long enough to be SRTP (fixed header and tag).
    pub fn could_be_srtp(&self, datagram: &[u8]) -> bool {
        datagram.len() >= 12 + self.suite.rtp_tag_len()
    }

    pub fn protect_rtp(&mut self, packet: &[u8]) -> Result<BytesMut, MediaError> {
        self.outbound.encrypt_rtp(packet).map_err(MediaError::srtp)
    }

    /// Fails on a packet that is not authentic (wrong key, tampered, forged) or is a replay.
    pub fn unprotect_rtp(&mut self, packet: &[u8]) -> Result<BytesMut, MediaError> {
        self.inbound.decrypt_rtp(packet).map_err(MediaError::srtp)
    }

    pub fn protect_rtcp(&mut self, packet: &[u8]) -> Result<BytesMut, MediaError> {
        self.outbound.encrypt_rtcp(packet).map_err(MediaError::srtp)
    }

    pub fn unprotect_rtcp(&mut self, packet: &[u8]) -> Result<BytesMut, MediaError> {
        self.inbound.decrypt_rtcp(packet).map_err(MediaError::srtp)
    }
}

/// One of [`SrtpContexts`]' four operations.
pub type Operation = fn(&mut SrtpContexts, &[u8]) -> Result<BytesMut, MediaError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{self, RtpSender};

    fn keys() -> (SrtpKeys, SrtpKeys) {
        let provider = rtc_srtp::crypto::default_provider().expect("ring");
        let a = MasterKey::generate(provider.as_ref()).expect("key");
        let b = MasterKey::generate(provider.as_ref()).expect("key");
        let suite = Suite::AesCm128HmacSha1_80;
        (
            SrtpKeys {
                suite,
                ours: a.clone(),
                theirs: b.clone(),
            },
            SrtpKeys {
                suite,
                ours: b,
                theirs: a,
            },
        )
    }

    fn packet(sender: &mut RtpSender, payload: &[u8]) -> Vec<u8> {
        let mut wire = [0u8; 200];
        let n = sender.packetize(payload, 960, &mut wire).expect("fits");
        wire[..n].to_vec()
    }

    #[test]
    fn a_packet_crosses_encrypted_and_comes_out_whole() {
        let (ours, theirs) = keys();
        let (mut a, mut b) = (
            SrtpContexts::new(&ours).unwrap(),
            SrtpContexts::new(&theirs).unwrap(),
        );
        let mut sender = RtpSender::new(111, 7);
        let plain = packet(&mut sender, b"speech speech speech");
        let wire = a.protect_rtp(&plain).expect("encrypts");
        assert_eq!(wire.len(), plain.len() + 10, "an 80-bit tag");
        assert!(
            !wire.windows(6).any(|w| w == b"speech"),
            "the payload is encrypted"
        );
        assert_eq!(&b.unprotect_rtp(&wire).expect("authentic")[..], &plain[..]);
        assert!(b.unprotect_rtp(&wire).is_err(), "a replay is refused");
    }

    #[test]
    fn tampered_forged_and_wrongly_keyed_packets_are_refused() {
        let (ours, theirs) = keys();
        let mut a = SrtpContexts::new(&ours).unwrap();
        let mut b = SrtpContexts::new(&theirs).unwrap();
        let mut sender = RtpSender::new(111, 7);
        let mut wire = a
            .protect_rtp(&packet(&mut sender, b"hello"))
            .unwrap()
            .to_vec();
        wire[14] ^= 1;
        assert!(b.unprotect_rtp(&wire).is_err(), "tampered");
        let plain = packet(&mut sender, b"plain rtp, no tag");
        assert!(b.unprotect_rtp(&plain).is_err(), "unauthenticated");
        // Our own packets do not decrypt with the peer's key.
        let own = a.protect_rtp(&packet(&mut sender, b"mine")).unwrap();
        assert!(a.unprotect_rtp(&own).is_err(), "wrong key");
        for junk in [&[][..], &[0x80], &[0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]] {
            assert!(b.unprotect_rtp(junk).is_err());
            assert!(b.unprotect_rtcp(junk).is_err());
        }
        assert!(rtp::parse(&wire).is_some(), "the header stays readable");
    }

    #[test]
    fn rtcp_is_protected_too() {
        let (ours, theirs) = keys();
        let mut a = SrtpContexts::new(&ours).unwrap();
        let mut b = SrtpContexts::new(&theirs).unwrap();
        // An empty receiver report (RFC 3550 §6.4.2) from SSRC 7.
        let report = [0x80, 201, 0, 1, 0, 0, 0, 7];
        let wire = a.protect_rtcp(&report).expect("encrypts");
        assert_eq!(
            wire.len(),
            report.len() + 4 + 10,
            "E flag and index, then the tag"
        );
        assert_eq!(
            &b.unprotect_rtcp(&wire).expect("authentic")[..],
            &report[..]
        );
    }
}
