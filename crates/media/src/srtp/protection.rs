//! How one media path (RTP, or RTCP on its own port) protects its packets: not at all, with
//! keys from the SDP, or with keys a DTLS handshake is still working out. Until those keys
//! come, nothing crosses in the clear either way.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;

use super::dtls::{DtlsParams, DtlsSrtp, Handshake};
use super::{Operation, SrtpContexts, SrtpKeys};
use crate::error::MediaError;

/// Packets held while the keys are awaited: 320 ms of audio. The peer keys first when it is
/// the server, and may send before its last flight has reached us.
const EARLY_HELD: usize = 16;

/// A packet that came before the keys: when, whence, and its bytes.
pub type EarlyPacket = (Instant, SocketAddr, Vec<u8>);

/// Where a path runs a DTLS handshake of its own: our socket's address and the peer's.
#[derive(Debug, Clone, Copy)]
pub struct HandshakeAt {
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

#[derive(Default)]
pub struct Protection {
    keys: Option<SrtpKeys>,
    contexts: Option<SrtpContexts>,
    /// Set when the stream is keyed by DTLS.
    dtls: Option<DtlsParams>,
    /// The handshake, when this path runs one (RTCP multiplexed on the RTP port is keyed by
    /// the RTP path's instead, through [`Self::install`]).
    handshake: Option<DtlsSrtp>,
    failure_reported: bool,
    early: Vec<EarlyPacket>,
}

impl Protection {
    /// The stream as negotiated: SDES keys, or DTLS parameters (with `at` when this path
    /// shakes hands itself), or neither.
    pub fn new(
        srtp: Option<&SrtpKeys>,
        dtls: Option<&DtlsParams>,
        at: Option<HandshakeAt>,
        now: Instant,
    ) -> Result<Self, MediaError> {
        if let Some(params) = dtls {
            let handshake = at
                .map(|at| DtlsSrtp::new(params, at.local, at.remote, now))
                .transpose()?;
            return Ok(Self {
                dtls: Some(params.clone()),
                handshake,
                ..Self::default()
            });
        }
        Ok(Self {
            keys: srtp.cloned(),
            contexts: srtp.map(SrtpContexts::new).transpose()?,
            ..Self::default()
        })
    }

    /// A new offer/answer. What did not change is kept: the same keys, or the same DTLS
    /// association (RFC 5763 §6.7.1); new keys that cannot be used leave the old ones.
    pub fn renegotiated(
        &mut self,
        srtp: Option<&SrtpKeys>,
        dtls: Option<&DtlsParams>,
        at: Option<HandshakeAt>,
        now: Instant,
    ) {
        let unchanged = match dtls {
            Some(params) => self.dtls.as_ref() == Some(params),
            None => self.dtls.is_none() && self.keys.as_ref() == srtp,
        };
        if unchanged {
            return;
        }
        match Self::new(srtp, dtls, at, now) {
            Ok(fresh) => *self = fresh,
            Err(e) => tracing::warn!("new SRTP keying refused, keeping the old one: {e}"),
        }
    }

    /// Whether packets cross encrypted (keys in place).
    pub fn encrypted(&self) -> bool {
        self.contexts.is_some()
    }

    /// Whether the stream waits for its DTLS keys: nothing may be sent yet.
    pub fn awaiting_keys(&self) -> bool {
        self.dtls.is_some() && self.contexts.is_none()
    }

    pub fn keys(&self) -> Option<&SrtpKeys> {
        self.keys.as_ref()
    }

    pub fn contexts(&self) -> Option<&SrtpContexts> {
        self.contexts.as_ref()
    }

    /// `packet` through `operation` when encrypted, as it is when plain; refused while the
    /// stream waits for its DTLS keys.
    pub fn through<'a>(
        &mut self,
        packet: &'a [u8],
        operation: Operation,
    ) -> Result<Cow<'a, [u8]>, MediaError> {
        match (&mut self.contexts, &self.dtls) {
            (Some(c), _) => operation(c, packet).map(|p| Cow::Owned(Vec::from(p))),
            (None, Some(_)) => Err(MediaError::Srtp("no DTLS-SRTP keys yet".into())),
            (None, None) => Ok(Cow::Borrowed(packet)),
        }
    }

    /// Keys from the handshake another path ran (RTCP multiplexed with RTP). A path that
    /// shakes hands itself keeps its own: RTCP on its own port has keys of its own.
    pub fn install(&mut self, keys: &SrtpKeys) {
        if self.dtls.is_some() && self.handshake.is_none() {
            self.use_keys(keys);
        }
    }

    fn use_keys(&mut self, keys: &SrtpKeys) {
        match SrtpContexts::new(keys) {
            Ok(contexts) => {
                self.contexts = Some(contexts);
                self.keys = Some(keys.clone());
            }
            Err(e) => tracing::warn!("DTLS-SRTP keys refused: {e}"),
        }
    }

    /// Holds a packet that came before the keys, to be read once they are in ([`Self::take_early`]);
    /// false when no keys are awaited. Beyond [`EARLY_HELD`] packets, later ones are dropped.
    pub fn hold_early(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) -> bool {
        if !self.awaiting_keys() {
            return false;
        }
        if self.early.len() < EARLY_HELD {
            self.early.push((now, from, datagram.to_vec()));
        }
        true
    }

    /// The packets held for the keys, once they are in.
    pub fn take_early(&mut self) -> Vec<EarlyPacket> {
        if self.awaiting_keys() {
            return Vec::new();
        }
        std::mem::take(&mut self.early)
    }

    /// A DTLS record: the keys, once, when it completes the handshake.
    pub fn on_dtls(&mut self, now: Instant, from: SocketAddr, record: &[u8]) -> Option<SrtpKeys> {
        let handshake = self.handshake.as_mut()?;
        handshake.on_datagram(now, from, record);
        let keys = handshake.take_keys()?;
        self.use_keys(&keys);
        Some(keys)
    }

    /// The next DTLS record to send, and where.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, BytesMut)> {
        self.handshake.as_mut()?.poll_transmit()
    }

    /// Drives the handshake's timers; says why, once, when it has failed.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<String> {
        let handshake = self.handshake.as_mut()?;
        handshake.handle_timeout(now);
        match handshake.state() {
            Handshake::Failed(why) if !self.failure_reported => {
                self.failure_reported = true;
                Some(why.clone())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::{DtlsIdentity, DtlsRole, MasterKey, Suite};
    use std::time::Duration;

    fn at(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn params(role: DtlsRole) -> DtlsParams {
        let peer = DtlsIdentity::generate().unwrap();
        DtlsParams {
            role,
            identity: DtlsIdentity::generate().unwrap(),
            remote_fingerprint: peer.fingerprint().clone(),
        }
    }

    #[test]
    fn nothing_crosses_in_the_clear_while_dtls_keys_are_awaited() {
        let now = Instant::now();
        let p = params(DtlsRole::Client);
        let here = HandshakeAt {
            local: at(1000),
            remote: at(2000),
        };
        let mut rtp = Protection::new(None, Some(&p), Some(here), now).unwrap();
        let mut rtcp = Protection::new(None, Some(&p), None, now).unwrap();
        let plain = [0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 7];
        assert!(rtp.through(&plain, SrtpContexts::protect_rtp).is_err());
        assert!(rtp.through(&plain, SrtpContexts::unprotect_rtp).is_err());
        assert!(rtcp.through(&plain, SrtpContexts::protect_rtcp).is_err());
        assert!(!rtp.encrypted() && rtp.awaiting_keys());
        assert!(
            rtp.poll_transmit().is_some(),
            "the client's hello is queued"
        );
        assert!(
            rtcp.poll_transmit().is_none(),
            "multiplexed RTCP waits for RTP's keys"
        );
        let provider = rtc_srtp::crypto::default_provider().unwrap();
        let key = || MasterKey::generate(provider.as_ref()).unwrap();
        let keys = SrtpKeys {
            suite: Suite::AesCm128HmacSha1_80,
            ours: key(),
            theirs: key(),
        };
        assert!(rtcp.hold_early(now, at(2001), &plain));
        assert!(rtcp.take_early().is_empty(), "held until the keys are in");
        rtp.install(&keys);
        assert!(
            !rtp.encrypted(),
            "a path with its own handshake keeps to it"
        );
        rtcp.install(&keys);
        assert!(rtcp.encrypted() && !rtcp.awaiting_keys());
        assert!(rtcp.through(&plain, SrtpContexts::protect_rtcp).is_ok());
        let early = rtcp.take_early();
        assert_eq!(early.len(), 1);
        assert_eq!((early[0].1, &early[0].2[..]), (at(2001), &plain[..]));
        assert!(
            !rtcp.hold_early(now, at(2001), &plain),
            "keyed: nothing is held"
        );

        // The same parameters again keep the association; a silent peer is reported once.
        rtp.renegotiated(None, Some(&p), Some(here), now);
        assert!(rtp.handle_timeout(now + Duration::from_secs(1)).is_none());
        let why = rtp.handle_timeout(now + Duration::from_secs(11));
        assert!(why.is_some_and(|w| w.contains("handshake")));
        assert!(rtp.handle_timeout(now + Duration::from_secs(12)).is_none());

        // A plain re-offer turns it all off.
        rtp.renegotiated(None, None, None, now);
        assert!(rtp.through(&plain, SrtpContexts::protect_rtp).is_ok());
    }
}
