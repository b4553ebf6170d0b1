//! DTLS-SRTP (RFC 5763, RFC 5764): the SRTP master keys come out of a DTLS handshake run on the
//! media path itself. The signalling carries only each side's certificate fingerprint and which
//! side starts; a certificate that is not the one signalled ends the handshake.
//!
//! Sans-IO, like the rest of the media cores: datagrams and time go in, datagrams and keys come
//! out. The media thread (RTP) and the RTCP path each drive one when RTCP has its own port.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use rtc_dtls::config::{
    ClientAuthType, ConfigBuilder, ExtendedMasterSecretType, HandshakeConfig,
    VerifyPeerCertificateFn,
};
use rtc_dtls::crypto::Certificate;
use rtc_dtls::crypto_provider::default_provider;
use rtc_dtls::endpoint::{Endpoint, EndpointEvent};
use rtc_dtls::extension::extension_use_srtp::SrtpProtectionProfile;
use rtc_dtls::state::State;
use rtc_shared::error::Error as RtcError;
use rtc_shared::TransportProtocol;

use super::fingerprint::{Fingerprint, HashFunction};
use super::sdes::{MasterKey, SrtpKeys, Suite, KEY_LEN, SALT_LEN};
use super::setup::DtlsRole;
use crate::error::MediaError;

/// RFC 5764 §4.2's exporter label.
const EXPORTER_LABEL: &str = "EXTRACTOR-dtls_srtp";
/// A handshake not done by then will not be: the call is reported insecure instead of being
/// left silent. DTLS retransmits its flights at 1, 2 and 4 s, so this allows for three losses.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Our certificate for DTLS, self-signed, and its fingerprint for the SDP.
pub struct DtlsIdentity {
    certificate: Certificate,
    fingerprint: Fingerprint,
}

impl DtlsIdentity {
    /// A fresh ECDSA P-256 certificate.
    pub fn generate() -> Result<Arc<Self>, MediaError> {
        let provider = default_provider().map_err(MediaError::srtp)?;
        let certificate =
            Certificate::generate_self_signed(vec!["switchboard".to_owned()], provider.crypto())
                .map_err(MediaError::srtp)?;
        let der = certificate
            .certificate
            .first()
            .ok_or_else(|| MediaError::Srtp("the new certificate is empty".into()))?;
        let fingerprint = Fingerprint::of(HashFunction::Sha256, der.as_ref());
        Ok(Arc::new(Self {
            certificate,
            fingerprint,
        }))
    }

    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }
}

impl PartialEq for DtlsIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Eq for DtlsIdentity {}

/// The private key stays out of logs.
impl fmt::Debug for DtlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DtlsIdentity({:?})", self.fingerprint)
    }
}

/// What a stream's handshake needs, as offer and answer settled it. A new offer that changes
/// none of it keeps the association (RFC 5763 §6.7.1); one that changes any of it starts anew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtlsParams {
    pub role: DtlsRole,
    pub identity: Arc<DtlsIdentity>,
    /// The peer's certificate, as its `a=fingerprint` names it.
    pub remote_fingerprint: Fingerprint,
}

/// Whether a datagram on a media port is a DTLS record: first byte 20 to 63 (RFC 7983 §7);
/// RTP and RTCP start at 128.
pub fn is_dtls(datagram: &[u8]) -> bool {
    matches!(datagram.first(), Some(20..=63))
}

/// Where a handshake stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    Pending,
    /// The keys are ready (and taken with [`DtlsSrtp::take_keys`]).
    Done,
    /// No keys will come: why, for the agent and the log.
    Failed(String),
}

/// One DTLS association on one media port.
pub struct DtlsSrtp {
    endpoint: Endpoint,
    config: Arc<HandshakeConfig>,
    local: SocketAddr,
    role: DtlsRole,
    /// The server we connect to; as the server, the client whose hello came first.
    peer: Option<SocketAddr>,
    started: Instant,
    state: Handshake,
    keys: Option<SrtpKeys>,
    last_error: Option<String>,
}

impl DtlsSrtp {
    /// An association with the peer at `remote` (as the client, the first flight is queued).
    pub fn new(
        params: &DtlsParams,
        local: SocketAddr,
        remote: SocketAddr,
        now: Instant,
    ) -> Result<Self, MediaError> {
        let client = params.role == DtlsRole::Client;
        let config = Arc::new(
            config(params)
                .build(client, Some(remote))
                .map_err(MediaError::srtp)?,
        );
        let (endpoint, peer) = if client {
            let mut endpoint = Endpoint::new(local, TransportProtocol::UDP, None);
            endpoint
                .connect(now, remote, config.clone(), None)
                .map_err(MediaError::srtp)?;
            (endpoint, Some(remote))
        } else {
            let server = Endpoint::new(local, TransportProtocol::UDP, Some(config.clone()));
            (server, None)
        };
        Ok(Self {
            endpoint,
            config,
            local,
            role: params.role,
            peer,
            started: now,
            state: Handshake::Pending,
            keys: None,
            last_error: None,
        })
    }

    pub fn state(&self) -> &Handshake {
        &self.state
    }

    /// The keys, once, when the handshake has just completed.
    pub fn take_keys(&mut self) -> Option<SrtpKeys> {
        self.keys.take()
    }

    /// A DTLS record from the network.
    pub fn on_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        // One association per port: records from anyone else are not ours to answer (a server
        // takes the first client that says hello; a failed one frees the place). Once keyed,
        // records still go in: a client that lost our last flight repeats its own, and must
        // be answered again (RFC 6347 §4.2.4).
        let failed = matches!(self.state, Handshake::Failed(_));
        if *self.peer.get_or_insert(from) != from || failed {
            return;
        }
        let events = match self
            .endpoint
            .read(now, from, None, BytesMut::from(datagram))
        {
            Ok(events) => events,
            Err(e) => return self.association_failed(&e),
        };
        for event in events {
            match event {
                EndpointEvent::HandshakeComplete if self.state == Handshake::Pending => {
                    self.completed(from)
                }
                // After keying, a close changes nothing: SRTP goes on with the keys it has.
                EndpointEvent::PeerClosed if self.state == Handshake::Pending => {
                    self.state = Handshake::Failed("the peer closed DTLS before it keyed".into())
                }
                _ => {}
            }
        }
    }

    /// The next record to send, and where.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, BytesMut)> {
        let transmit = self.endpoint.poll_transmit()?;
        Some((transmit.transport.peer_addr, transmit.message))
    }

    /// Drives retransmission and gives up after [`HANDSHAKE_LIMIT`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state != Handshake::Pending {
            return;
        }
        if now.saturating_duration_since(self.started) >= HANDSHAKE_LIMIT {
            let last = match &self.last_error {
                Some(e) => format!(" (last error: {e})"),
                None => String::new(),
            };
            self.state = Handshake::Failed(format!(
                "no DTLS handshake within {} s{last}",
                HANDSHAKE_LIMIT.as_secs()
            ));
            return;
        }
        let Some(peer) = self.peer else { return };
        let due = self.endpoint.poll_timeout(&peer).is_some_and(|t| t <= now);
        if due {
            if let Err(e) = self.endpoint.handle_timeout(peer, now) {
                self.association_failed(&e);
            }
        }
    }

    fn completed(&mut self, peer: SocketAddr) {
        let exported = self
            .endpoint
            .get_connection_state(peer)
            .ok_or_else(|| MediaError::Srtp("the association vanished".into()))
            .and_then(|state| export_keys(state, self.role));
        match exported {
            Ok(keys) => {
                self.keys = Some(keys);
                self.state = Handshake::Done;
            }
            Err(e) => self.state = Handshake::Failed(e.to_string()),
        }
    }

    /// An error need not end the handshake (a stray or forged record does not): it is kept for
    /// the verdict at [`HANDSHAKE_LIMIT`]. A server frees its place for the next hello, which may
    /// come from the real peer.
    fn association_failed(&mut self, e: &RtcError) {
        tracing::debug!("dtls: {e}");
        self.last_error = Some(e.to_string());
        if self.role == DtlsRole::Server && self.peer.take().is_some() {
            // Silently: a close_notify would go to whoever sent the record.
            self.endpoint = Endpoint::new(
                self.local,
                TransportProtocol::UDP,
                Some(self.config.clone()),
            );
        }
    }
}

fn config(params: &DtlsParams) -> ConfigBuilder {
    let expected = params.remote_fingerprint.clone();
    let verify: VerifyPeerCertificateFn =
        Arc::new(move |certificates, _| match certificates.first() {
            Some(der) if expected.matches(der) => Ok(()),
            _ => Err(RtcError::Other(
                "the peer's certificate is not the one its a=fingerprint names".into(),
            )),
        });
    let provider = default_provider();
    let builder = ConfigBuilder::default();
    let builder = match provider {
        Ok(p) => builder.with_crypto_provider(p),
        // `build` then fails, saying there is no provider.
        Err(_) => builder,
    };
    builder
        .with_certificates(vec![params.identity.certificate.clone()])
        .with_srtp_protection_profiles(vec![
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80,
            SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32,
        ])
        .with_extended_master_secret(ExtendedMasterSecretType::Request)
        // Both sides show a certificate, and the fingerprint, not a chain, is what trusts it.
        .with_client_auth(ClientAuthType::RequireAnyClientCert)
        .with_insecure_skip_verify(true)
        .with_verify_peer_certificate(Some(verify))
}

/// RFC 5764 §4.2: client key, server key, client salt, server salt.
fn export_keys(state: &State, role: DtlsRole) -> Result<SrtpKeys, MediaError> {
    let suite = match state.srtp_protection_profile() {
        SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_80 => Suite::AesCm128HmacSha1_80,
        SrtpProtectionProfile::Srtp_Aes128_Cm_Hmac_Sha1_32 => Suite::AesCm128HmacSha1_32,
        other => {
            return Err(MediaError::Srtp(format!(
                "DTLS agreed on SRTP profile {other:?}, which we did not offer"
            )))
        }
    };
    let material = state
        .export_keying_material(EXPORTER_LABEL, &[], 2 * (KEY_LEN + SALT_LEN))
        .map_err(MediaError::srtp)?;
    let material = material.as_ref();
    let part = |at: usize, len: usize| material.get(at..at + len).unwrap_or_default();
    let salts = 2 * KEY_LEN;
    let client = MasterKey::from_parts(part(0, KEY_LEN), part(salts, SALT_LEN));
    let server = MasterKey::from_parts(part(KEY_LEN, KEY_LEN), part(salts + SALT_LEN, SALT_LEN));
    let (Some(client), Some(server)) = (client, server) else {
        return Err(MediaError::Srtp(
            "DTLS exported too little keying material".into(),
        ));
    };
    let (ours, theirs) = match role {
        DtlsRole::Client => (client, server),
        DtlsRole::Server => (server, client),
    };
    Ok(SrtpKeys {
        suite,
        ours,
        theirs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    struct Pair {
        client: DtlsSrtp,
        server: DtlsSrtp,
    }

    /// Two associations that name each other's certificates (or, with `wrong`, a stranger's).
    fn pair(now: Instant, wrong: bool) -> Pair {
        let (a, b) = (
            DtlsIdentity::generate().unwrap(),
            DtlsIdentity::generate().unwrap(),
        );
        let stranger = DtlsIdentity::generate().unwrap();
        let client = DtlsParams {
            role: DtlsRole::Client,
            identity: a.clone(),
            remote_fingerprint: b.fingerprint().clone(),
        };
        let named = if wrong { &stranger } else { &a };
        let server = DtlsParams {
            role: DtlsRole::Server,
            identity: b,
            remote_fingerprint: named.fingerprint().clone(),
        };
        Pair {
            client: DtlsSrtp::new(&client, at(1000), at(2000), now).unwrap(),
            server: DtlsSrtp::new(&server, at(2000), at(1000), now).unwrap(),
        }
    }

    /// Carries records both ways until neither has anything to say; `drop_first` loses the
    /// client's first flight.
    fn exchange(pair: &mut Pair, now: Instant, mut drop_first: bool) -> usize {
        let mut carried = 0;
        loop {
            let mut moved = false;
            while let Some((to, record)) = pair.client.poll_transmit() {
                assert_eq!(to, at(2000));
                assert!(is_dtls(&record));
                moved = true;
                if std::mem::take(&mut drop_first) {
                    continue;
                }
                carried += 1;
                pair.server.on_datagram(now, at(1000), &record);
            }
            while let Some((to, record)) = pair.server.poll_transmit() {
                assert_eq!(to, at(1000));
                moved = true;
                carried += 1;
                pair.client.on_datagram(now, at(2000), &record);
            }
            if !moved {
                return carried;
            }
        }
    }

    #[test]
    fn a_handshake_gives_both_sides_the_same_crossed_keys() {
        let now = Instant::now();
        let mut pair = pair(now, false);
        assert!(exchange(&mut pair, now, false) >= 4, "flights crossed");
        assert_eq!(pair.client.state(), &Handshake::Done);
        assert_eq!(pair.server.state(), &Handshake::Done);
        let ours = pair.client.take_keys().expect("client keys");
        let theirs = pair.server.take_keys().expect("server keys");
        assert_eq!(ours.suite, Suite::AesCm128HmacSha1_80, "our first choice");
        assert_eq!((&ours.ours, &ours.theirs), (&theirs.theirs, &theirs.ours));
        assert_ne!(ours.ours, ours.theirs);
        assert!(pair.client.take_keys().is_none(), "taken once");
    }

    #[test]
    fn a_certificate_that_is_not_the_signalled_one_ends_the_handshake() {
        let now = Instant::now();
        let mut pair = pair(now, true);
        exchange(&mut pair, now, false);
        assert!(pair.server.take_keys().is_none());
        assert!(pair.client.take_keys().is_none());
        assert_ne!(pair.client.state(), &Handshake::Done);
        assert_ne!(pair.server.state(), &Handshake::Done);
        pair.server.handle_timeout(now + HANDSHAKE_LIMIT);
        let Handshake::Failed(why) = pair.server.state() else {
            panic!("{:?}", pair.server.state())
        };
        assert!(why.contains("a=fingerprint"), "the verdict says why: {why}");
    }

    #[test]
    fn a_lost_flight_is_sent_again_and_a_silent_peer_is_given_up_on() {
        let now = Instant::now();
        let mut pair = pair(now, false);
        exchange(&mut pair, now, true);
        assert_eq!(pair.client.state(), &Handshake::Pending);
        let later = now + Duration::from_millis(1500);
        pair.client.handle_timeout(later);
        exchange(&mut pair, later, false);
        assert_eq!(pair.client.state(), &Handshake::Done, "retransmitted");

        let mut lonely = self::pair(now, false).server;
        lonely.handle_timeout(now + HANDSHAKE_LIMIT);
        let Handshake::Failed(why) = lonely.state() else {
            panic!("{:?}", lonely.state())
        };
        assert!(why.contains("within"), "{why}");
    }

    #[test]
    fn a_server_whose_last_flight_is_lost_answers_the_repeat() {
        let now = Instant::now();
        let mut pair = pair(now, false);
        // Up to the server's final flight, which is lost.
        for _ in 0..3 {
            while let Some((_, record)) = pair.client.poll_transmit() {
                pair.server.on_datagram(now, at(1000), &record);
            }
            if pair.server.state() == &Handshake::Done {
                break;
            }
            while let Some((_, record)) = pair.server.poll_transmit() {
                pair.client.on_datagram(now, at(2000), &record);
            }
        }
        assert_eq!(pair.server.state(), &Handshake::Done);
        while pair.server.poll_transmit().is_some() {}
        assert_eq!(pair.client.state(), &Handshake::Pending);
        let later = now + Duration::from_millis(1500);
        pair.client.handle_timeout(later);
        exchange(&mut pair, later, false);
        assert_eq!(pair.client.state(), &Handshake::Done, "answered again");
        let (c, s) = (
            pair.client.take_keys().unwrap(),
            pair.server.take_keys().unwrap(),
        );
        assert_eq!(c.ours, s.theirs);
    }

    #[test]
    fn records_from_a_stranger_and_junk_change_nothing() {
        let now = Instant::now();
        let mut pair = pair(now, false);
        pair.client
            .on_datagram(now, at(9999), &[22, 254, 253, 0, 0]);
        for junk in [
            &[][..],
            &[22],
            &[22, 254, 253, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200],
        ] {
            pair.server.on_datagram(now, at(1000), junk);
            pair.client.on_datagram(now, at(2000), junk);
        }
        exchange(&mut pair, now, false);
        assert_eq!(pair.client.state(), &Handshake::Done);
        assert!(!is_dtls(&[0x80, 0]) && !is_dtls(&[]) && !is_dtls(&[1]));
    }
}
