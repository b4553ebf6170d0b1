//! SDP offer/answer for one audio stream (RFC 3264), over the sans-IO `rtc-sdp` syntax.
//! The session layer carries these bodies as opaque text; only this module reads them.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use rtc_sdp::description::common::{Address, Attribute, ConnectionInformation};
use rtc_sdp::description::media::{MediaName, RangedPort};
use rtc_sdp::{MediaDescription, SessionDescription};

use crate::codec::Codec;
use crate::error::MediaError;
use crate::srtp::agree::RemoteDtls;
use crate::srtp::{
    Crypto, DtlsParams, Fingerprint, LocalSecurity, RemoteSecurity, Setup, SrtpKeys, SrtpPolicy,
};

/// Our dynamic payload types when we make the offer; in an answer the offerer's numbers win.
const OPUS_PT: u8 = 111;
const TELEPHONE_EVENT_PT: u8 = 101;

/// Which way media flows on the stream, from the point of view of whoever wrote the SDP
/// (RFC 3264 §5.1, §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// The same stream seen from the other end.
    pub fn reversed(self) -> Self {
        Self::from_flags(self.receives(), self.sends())
    }

    /// What both this side's wish and the other side's permit.
    pub fn and(self, other: Self) -> Self {
        Self::from_flags(
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        )
    }

    fn attribute(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn parse(attribute: &str) -> Option<Self> {
        Some(match attribute {
            "sendrecv" => Direction::SendRecv,
            "sendonly" => Direction::SendOnly,
            "recvonly" => Direction::RecvOnly,
            "inactive" => Direction::Inactive,
            _ => return None,
        })
    }
}

/// What offer/answer settled for the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP.
    pub remote: SocketAddr,
    /// The audio codec, and the payload type it has on this stream in both directions.
    pub codec: Codec,
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, when the peer supports it.
    pub telephone_event: Option<u8>,
    /// Where to send RTCP: the RTP address when both sides multiplex (RFC 5761), else the
    /// peer's `a=rtcp` (RFC 3605) or its RTP port plus one.
    pub rtcp: SocketAddr,
    pub rtcp_mux: bool,
    /// What we may do on the stream: our wish combined with what the peer allows.
    pub direction: Direction,
    /// The direction the peer wrote, from its point of view (`SendOnly` or `Inactive` means
    /// the peer has put us on hold).
    pub remote_direction: Direction,
    /// The SRTP keys, when the stream is encrypted by SDES.
    pub srtp: Option<SrtpKeys>,
    /// The handshake that will key the stream, when it is encrypted by DTLS-SRTP.
    pub dtls: Option<DtlsParams>,
}

/// Our side of one call's SDP: the same origin throughout the dialog, its version bumped for
/// every new description (RFC 3264 §8), and the codec and payload types fixed by the first
/// exchange: later offers (hold, resume) offer only what was agreed.
#[derive(Debug, Clone)]
pub struct LocalSdp {
    local: SocketAddr,
    session_id: u64,
    version: u64,
    /// Before the first exchange: every codec we may use, in our order of preference.
    audio: Vec<(Codec, u8)>,
    /// The codecs we may use at all (the settings may leave some out): an offer or answer is
    /// read for these only, for the whole dialog.
    allowed: Vec<Codec>,
    dtmf_pt: Option<u8>,
    /// RTCP multiplexed on the RTP port: offered until an exchange settles it.
    rtcp_mux: bool,
    security: LocalSecurity,
}

impl LocalSdp {
    /// A description receiving plain RTP at `local`, with a random session id.
    pub fn new(local: SocketAddr) -> Self {
        Self::with_security(local, LocalSecurity::plain())
    }

    /// A description receiving at `local` that offers (or requires) SRTP as `policy` says.
    pub fn secured(local: SocketAddr, policy: SrtpPolicy) -> Result<Self, MediaError> {
        Ok(Self::with_security(local, LocalSecurity::new(policy)?))
    }

    fn with_security(local: SocketAddr, security: LocalSecurity) -> Self {
        let random = RandomState::new().build_hasher().finish();
        Self {
            local,
            // Keep within the 63 bits that every parser takes as a signed integer.
            session_id: random >> 1,
            version: 0,
            audio: payload_types(&Codec::PREFERENCE),
            allowed: Codec::PREFERENCE.to_vec(),
            dtmf_pt: Some(TELEPHONE_EVENT_PT),
            rtcp_mux: true,
            security,
        }
    }

    /// Uses only `codecs`, offered in that order, each once (all of ours when it is empty).
    pub fn with_codecs(mut self, codecs: &[Codec]) -> Self {
        let mut allowed: Vec<Codec> = Vec::new();
        for &codec in codecs {
            if !allowed.contains(&codec) {
                allowed.push(codec);
            }
        }
        if !allowed.is_empty() {
            self.audio = payload_types(&allowed);
            self.allowed = allowed;
        }
        self
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// An offer for our codecs (Opus first) and telephone-events, with `direction` as our wish,
    /// and our SRTP keys as the policy says.
    pub fn offer(&mut self, direction: Direction) -> String {
        self.describe(direction)
    }

    /// Answers a remote offer: takes Opus if offered, else G.711 in the offerer's order, with
    /// the offerer's payload type; refuses when nothing offered is ours.
    /// `wish` is what we want (sendonly while we hold the call); the answer grants no more
    /// than the offer allows. An offer whose encryption does not meet our policy is refused.
    pub fn answer(
        &mut self,
        remote_offer: &str,
        wish: Direction,
    ) -> Result<(String, Negotiated), MediaError> {
        let (mut negotiated, security) =
            read_stream(remote_offer, wish, Choice::OursFirst, &self.allowed)?;
        negotiated.srtp = self.security.answer(&security)?;
        negotiated.dtls = self.security.dtls().cloned();
        self.agree(&negotiated);
        Ok((self.describe(negotiated.direction), negotiated))
    }

    /// Reads the answer to the offer we made with `offered` as our wish.
    pub fn read_answer(
        &mut self,
        remote_answer: &str,
        offered: Direction,
    ) -> Result<Negotiated, MediaError> {
        let (mut negotiated, security) =
            read_stream(remote_answer, offered, Choice::TheirsFirst, &self.allowed)?;
        negotiated.srtp = self.security.read_answer(&security)?;
        negotiated.dtls = self.security.dtls().cloned();
        self.agree(&negotiated);
        Ok(negotiated)
    }

    fn agree(&mut self, negotiated: &Negotiated) {
        self.audio = vec![(negotiated.codec, negotiated.payload_type)];
        self.dtmf_pt = negotiated.telephone_event;
        self.rtcp_mux = negotiated.rtcp_mux;
    }

    fn describe(&mut self, direction: Direction) -> String {
        self.version += 1;
        describe(self, direction)
    }
}

/// Each codec with its payload type: the static one, or ours for Opus.
fn payload_types(codecs: &[Codec]) -> Vec<(Codec, u8)> {
    codecs
        .iter()
        .map(|&c| (c, c.static_payload_type().unwrap_or(OPUS_PT)))
        .collect()
}

/// Writes `ours` as a description with `direction`.
fn describe(ours: &LocalSdp, direction: Direction) -> String {
    let LocalSdp {
        local,
        session_id,
        version,
        ref audio,
        allowed: _,
        dtmf_pt,
        rtcp_mux,
        ref security,
    } = *ours;
    let ip = local.ip();
    let address_type = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut sd = SessionDescription::new_jsep_session_description(false);
    sd.origin.username = "switchboard".into();
    sd.origin.session_id = session_id;
    sd.origin.session_version = version;
    sd.origin.address_type = address_type.into();
    sd.origin.unicast_address = ip.to_string();
    sd.session_name = "switchboard".into();
    sd.connection_information = Some(ConnectionInformation {
        network_type: "IN".into(),
        address_type: address_type.into(),
        address: Some(Address {
            address: ip.to_string(),
            ttl: None,
            range: None,
        }),
    });
    let mut media = MediaDescription {
        media_name: MediaName {
            media: "audio".into(),
            port: RangedPort {
                value: local.port() as isize,
                range: None,
            },
            protos: security.transport().split('/').map(Into::into).collect(),
            formats: vec![],
        },
        ..Default::default()
    };
    for &(codec, pt) in audio {
        let fmtp = match codec {
            Codec::Opus => "minptime=10;useinbandfec=1",
            Codec::Pcmu | Codec::Pcma => "",
        };
        media = media.with_codec(
            pt,
            codec.encoding_name().into(),
            codec.clock_rate(),
            codec.rtpmap_channels(),
            fmtp.into(),
        );
    }
    if let Some(pt) = dtmf_pt {
        media = media.with_codec(pt, "telephone-event".into(), 8_000, 0, "0-16".into());
    }
    let mut media = media
        .with_value_attribute("ptime".into(), "20".into())
        // Our RTCP socket is always the next port up (see `ports`), said explicitly for
        // middleboxes that would otherwise guess.
        .with_value_attribute("rtcp".into(), local.port().saturating_add(1).to_string());
    if rtcp_mux {
        media = media.with_property_attribute("rtcp-mux".into());
    }
    for crypto in security.attributes() {
        media = media.with_value_attribute("crypto".into(), crypto.value());
    }
    if let Some(dtls) = security.dtls() {
        media = media
            .with_value_attribute("fingerprint".into(), dtls.identity.fingerprint().value())
            .with_value_attribute("setup".into(), Setup::of(dtls.role).value().into());
    }
    let media = media.with_property_attribute(direction.attribute().into());
    sd.with_media(media).marshal()
}

/// Whether we could answer `remote_offer` under `policy` (a codec in common, encryption as the
/// policy demands), so a call we would refuse on answering is refused before it rings.
pub fn check_offer(
    remote_offer: &str,
    policy: SrtpPolicy,
    codecs: &[Codec],
) -> Result<(), MediaError> {
    let anywhere = SocketAddr::from(([127, 0, 0, 1], 9));
    LocalSdp::secured(anywhere, policy)?
        .with_codecs(codecs)
        .answer(remote_offer, Direction::SendRecv)
        .map(|_| ())
}

/// Whose order of preference picks the codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    /// Reading an offer: Opus whenever it is offered and allowed (it is better than G.711 on
    /// every count), else the offerer's order.
    OursFirst,
    /// Reading an answer: the answerer has chosen; take its first format that we speak.
    TheirsFirst,
}

/// Reads a remote description; `wish` is our side's direction for the stream. The SRTP keys
/// are left for [`LocalSecurity`] to agree.
#[cfg(test)]
fn read(body: &str, wish: Direction, choice: Choice) -> Result<Negotiated, MediaError> {
    read_stream(body, wish, choice, &Codec::PREFERENCE).map(|(negotiated, _)| negotiated)
}

/// Reads a remote description's audio stream and what it says about security.
fn read_stream(
    body: &str,
    wish: Direction,
    choice: Choice,
    allowed: &[Codec],
) -> Result<(Negotiated, RemoteSecurity), MediaError> {
    let sd = SessionDescription::unmarshal(&mut Cursor::new(body))
        .map_err(|e| MediaError::Sdp(e.to_string()))?;
    let media = sd
        .media_descriptions
        .iter()
        .find(|m| m.media_name.media == "audio" && m.media_name.port.value != 0)
        .ok_or_else(|| MediaError::Sdp("no active audio stream (m=audio)".into()))?;
    let connection = media
        .connection_information
        .as_ref()
        .or(sd.connection_information.as_ref())
        .and_then(|c| c.address.as_ref())
        .ok_or_else(|| MediaError::Sdp("no connection address (c=)".into()))?;
    // The address may carry a TTL or count suffix ("224.2.1.1/127"); we only do unicast.
    let ip: IpAddr = connection
        .address
        .split('/')
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|_| {
            MediaError::Sdp(format!(
                "connection address {:?} is not an IP address",
                connection.address
            ))
        })?;
    let port = u16::try_from(media.media_name.port.value).map_err(|_| {
        MediaError::Sdp(format!(
            "audio port {} out of range",
            media.media_name.port.value
        ))
    })?;

    let codecs = media.codecs();
    // The payload types listed, in the writer's order, with the codec each means here: an
    // rtpmap defines it, else RFC 3551's static assignment does.
    let formats: Vec<(Codec, u8)> = media
        .media_name
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .filter_map(|pt| {
            let codec = match codecs.get(&pt) {
                Some(c) => Codec::from_rtpmap(&c.name, c.clock_rate),
                None => Codec::from_static(pt),
            };
            Some((codec?, pt))
        })
        .filter(|(codec, _)| allowed.contains(codec))
        .collect();
    let chosen = match choice {
        Choice::OursFirst => formats
            .iter()
            .find(|(c, _)| *c == Codec::Opus)
            .or(formats.first()),
        Choice::TheirsFirst => formats.first(),
    };
    let &(codec, payload_type) = chosen.ok_or(MediaError::NoCommonCodec)?;
    let telephone_event = codecs
        .values()
        .filter(|c| c.name.eq_ignore_ascii_case("telephone-event") && c.clock_rate == 8_000)
        .map(|c| c.payload_type)
        .min();
    let remote = SocketAddr::new(ip, port);
    let rtcp_mux = media.attribute("rtcp-mux").is_some();
    let rtcp = if rtcp_mux {
        remote
    } else {
        rtcp_address(media, ip, port)
    };
    let mut remote_direction = stream_direction(&sd, media);
    // RFC 2543 hold, still sent by old equipment: "send nothing to me" as c=0.0.0.0.
    if ip.is_unspecified() {
        remote_direction = remote_direction.and(Direction::SendOnly);
    }
    let negotiated = Negotiated {
        remote,
        rtcp,
        rtcp_mux,
        codec,
        payload_type,
        telephone_event,
        direction: wish.and(remote_direction.reversed()),
        remote_direction,
        srtp: None,
        dtls: None,
    };
    Ok((negotiated, remote_security(&sd, media)?))
}

/// The stream's transport, and its `a=crypto` keys or its DTLS fingerprint and setup.
fn remote_security(
    sd: &SessionDescription,
    media: &MediaDescription,
) -> Result<RemoteSecurity, MediaError> {
    let transport = media.media_name.protos.join("/");
    let (savp, dtls) = match transport.to_ascii_uppercase().as_str() {
        "RTP/AVP" | "RTP/AVPF" => (false, false),
        "RTP/SAVP" | "RTP/SAVPF" => (true, false),
        "UDP/TLS/RTP/SAVP" | "UDP/TLS/RTP/SAVPF" => (true, true),
        _ => {
            return Err(MediaError::Srtp(format!(
                "transport {transport} is not one we speak (RTP/AVP, RTP/SAVP or UDP/TLS/RTP/SAVP)"
            )))
        }
    };
    if dtls {
        return Ok(RemoteSecurity {
            savp,
            dtls: Some(remote_dtls(sd, media)?),
            ..Default::default()
        });
    }
    let mut security = RemoteSecurity {
        savp,
        ..Default::default()
    };
    let values = media
        .attributes
        .iter()
        .filter(|a| a.key == "crypto")
        .map(|a| a.value.as_deref().unwrap_or_default());
    for value in values {
        match Crypto::parse(value) {
            Ok(Some(crypto)) => security.usable.push(crypto),
            Ok(None) => {
                let suite = value.split_ascii_whitespace().nth(1).unwrap_or_default();
                security.refused.get_or_insert_with(|| {
                    format!("{suite}: a suite or parameters we do not implement")
                });
            }
            Err(e) => {
                security.refused.get_or_insert_with(|| e.to_string());
            }
        }
    }
    Ok(security)
}

/// The peer's certificate fingerprint and setup, each from the media section or else the
/// session (RFC 8122 §5 allows either; baresip writes the fingerprint at session level). Of
/// several fingerprints (one per hash function), the first we accept.
fn remote_dtls(
    sd: &SessionDescription,
    media: &MediaDescription,
) -> Result<RemoteDtls, MediaError> {
    let values = |key: &str| {
        let of = |attributes: &[Attribute]| -> Vec<String> {
            attributes
                .iter()
                .filter(|a| a.key.eq_ignore_ascii_case(key))
                .map(|a| a.value.clone().unwrap_or_default())
                .collect()
        };
        Some(of(&media.attributes))
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| of(&sd.attributes))
    };
    let mut fingerprints = values("fingerprint")
        .into_iter()
        .map(|v| Fingerprint::parse(&v));
    let first = fingerprints.next().ok_or_else(|| {
        MediaError::Srtp("a DTLS-SRTP stream without a=fingerprint cannot be trusted".into())
    })?;
    let fingerprint = match first {
        Ok(f) => f,
        Err(e) => fingerprints.find_map(Result::ok).ok_or(e)?,
    };
    Ok(RemoteDtls {
        fingerprint,
        setup: Setup::parse(values("setup").first().map(String::as_str))?,
    })
}

/// `a=rtcp:PORT [IN IP4 ADDRESS]` (RFC 3605), else the RTP port plus one (RFC 3550 §11).
fn rtcp_address(media: &MediaDescription, ip: IpAddr, rtp_port: u16) -> SocketAddr {
    let stated = media.attribute("rtcp").flatten().and_then(|value| {
        let mut parts = value.split_whitespace();
        let port = parts.next()?.parse::<u16>().ok()?;
        let address = parts.nth(2).and_then(|a| a.parse::<IpAddr>().ok());
        Some(SocketAddr::new(address.unwrap_or(ip), port))
    });
    stated.unwrap_or_else(|| SocketAddr::new(ip, rtp_port.saturating_add(1)))
}

/// The media-level direction attribute, else the session-level one, else sendrecv (RFC 3264 §5.1).
fn stream_direction(sd: &SessionDescription, media: &MediaDescription) -> Direction {
    let media_level = media
        .attributes
        .iter()
        .find_map(|a| Direction::parse(&a.key));
    let session_level = || sd.attributes.iter().find_map(|a| Direction::parse(&a.key));
    media_level.or_else(session_level).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BARESIP_OFFER: &str = "v=0\r\no=- 123 456 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=audio 40000 RTP/AVP 0 96 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n";

    #[test]
    fn answer_takes_the_offerers_opus_payload_type_and_address() {
        let local: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let mut sdp = LocalSdp::new(local);
        let (body, n) = sdp
            .answer(BARESIP_OFFER, Direction::SendRecv)
            .expect("opus offered");
        assert_eq!(
            n.remote,
            "127.0.0.1:40000".parse::<SocketAddr>().expect("addr")
        );
        assert_eq!(
            (n.codec, n.payload_type, n.telephone_event),
            (Codec::Opus, 96, Some(101))
        );
        assert!(body.contains("m=audio 50000 RTP/AVP 96 101\r\n"), "{body}");
        assert!(body.contains("a=rtpmap:96 opus/48000/2"), "{body}");
        // Our own answer reads back as the same stream.
        assert_eq!(
            read(&body, Direction::SendRecv, Choice::OursFirst)
                .expect("parses")
                .payload_type,
            96
        );
    }

    #[test]
    fn offer_reads_back_and_high_ports_survive() {
        let local: SocketAddr = "127.0.0.1:61234".parse().expect("addr");
        let n = read(
            &LocalSdp::new(local).offer(Direction::SendRecv),
            Direction::SendRecv,
            Choice::OursFirst,
        )
        .expect("parses");
        assert_eq!(n.remote, local);
        assert_eq!(
            (n.codec, n.payload_type, n.telephone_event),
            (Codec::Opus, OPUS_PT, Some(TELEPHONE_EVENT_PT))
        );
    }

    #[test]
    fn g711_is_taken_when_opus_is_not_offered_and_nothing_common_is_refused() {
        let local: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        // A gateway listing PCMA before PCMU, static types without rtpmap.
        let gateway = BARESIP_OFFER
            .replace("RTP/AVP 0 96 101", "RTP/AVP 8 0 101")
            .replace(
                "a=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\n",
                "",
            );
        let (body, n) = LocalSdp::new(local)
            .answer(&gateway, Direction::SendRecv)
            .expect("G.711 offered");
        assert_eq!((n.codec, n.payload_type), (Codec::Pcma, 8));
        assert!(body.contains("m=audio 50000 RTP/AVP 8 101\r\n"), "{body}");
        assert!(body.contains("a=rtpmap:8 PCMA/8000\r\n"), "{body}");

        let g722_only = gateway.replace("RTP/AVP 8 0 101", "RTP/AVP 9");
        assert!(matches!(
            LocalSdp::new(local).answer(&g722_only, Direction::SendRecv),
            Err(MediaError::NoCommonCodec)
        ));
        // A dynamic type that an rtpmap gives to a codec we do not speak is not Opus.
        let renamed = BARESIP_OFFER
            .replace("RTP/AVP 0 96 101", "RTP/AVP 96")
            .replace("opus/48000/2", "speex/16000");
        assert!(matches!(
            LocalSdp::new(local).answer(&renamed, Direction::SendRecv),
            Err(MediaError::NoCommonCodec)
        ));
    }

    #[test]
    fn the_allowed_codecs_are_all_we_offer_take_or_accept_in_an_answer() {
        let local: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let g711 = [Codec::Pcma, Codec::Pcmu];
        let mut sdp = LocalSdp::new(local).with_codecs(&[Codec::Pcma, Codec::Pcmu, Codec::Pcma]);
        let offer = sdp.offer(Direction::SendRecv);
        assert!(
            offer.contains("m=audio 50000 RTP/AVP 8 0 101\r\n"),
            "{offer}"
        );
        assert!(!offer.contains("opus"), "{offer}");
        // baresip offers Opus first: we take PCMU, the one it offers that we allow.
        let (body, n) = LocalSdp::new(local)
            .with_codecs(&g711)
            .answer(BARESIP_OFFER, Direction::SendRecv)
            .expect("PCMU offered");
        assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, 0));
        assert!(!body.contains("opus"), "{body}");
        // An answer choosing what we did not allow is not taken.
        let opus_answer = BARESIP_OFFER.replace("RTP/AVP 0 96 101", "RTP/AVP 96 101");
        assert!(matches!(
            sdp.read_answer(&opus_answer, Direction::SendRecv),
            Err(MediaError::NoCommonCodec)
        ));
        // An offer with nothing allowed is refused before the phone rings.
        let opus_only = BARESIP_OFFER.replace("RTP/AVP 0 96 101", "RTP/AVP 96 101");
        assert!(check_offer(&opus_only, SrtpPolicy::Offer, &[Codec::Opus]).is_ok());
        assert!(matches!(
            check_offer(&opus_only, SrtpPolicy::Offer, &g711),
            Err(MediaError::NoCommonCodec)
        ));
        assert_eq!(Codec::from_name("PCMA"), Some(Codec::Pcma));
        assert_eq!(Codec::from_name("g722"), None);
    }

    #[test]
    fn our_offer_prefers_opus_and_the_answer_fixes_the_codec_for_later_offers() {
        let local: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let mut sdp = LocalSdp::new(local);
        let offer = sdp.offer(Direction::SendRecv);
        assert!(
            offer.contains("m=audio 50000 RTP/AVP 111 0 8 101\r\n"),
            "{offer}"
        );
        assert!(offer.contains("a=rtpmap:0 PCMU/8000\r\n"), "{offer}");
        // The answerer chose PCMU: that is what we send, and all we offer from then on.
        let answer = BARESIP_OFFER.replace("RTP/AVP 0 96 101", "RTP/AVP 0 101");
        let n = sdp
            .read_answer(&answer, Direction::SendRecv)
            .expect("answer");
        assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, 0));
        let reoffer = sdp.offer(Direction::SendOnly);
        assert!(reoffer.contains("RTP/AVP 0 101\r\n"), "{reoffer}");
        assert!(!reoffer.contains("opus"), "{reoffer}");
    }

    #[test]
    fn rtcp_goes_to_the_stated_port_or_the_next_one_or_is_multiplexed() {
        let local: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        // baresip without rtcp-mux: port + 1.
        let (body, n) = LocalSdp::new(local)
            .answer(BARESIP_OFFER, Direction::SendRecv)
            .expect("answer");
        assert_eq!(
            (n.rtcp, n.rtcp_mux),
            ("127.0.0.1:40001".parse().expect("a"), false)
        );
        assert!(
            body.contains("a=rtcp:50001\r\n") && !body.contains("rtcp-mux"),
            "{body}"
        );
        // RFC 3605 with an address.
        let stated =
            BARESIP_OFFER.replace("a=sendrecv", "a=rtcp:40123 IN IP4 127.0.0.9\r\na=sendrecv");
        let (_, n) = LocalSdp::new(local)
            .answer(&stated, Direction::SendRecv)
            .expect("answer");
        assert_eq!(n.rtcp, "127.0.0.9:40123".parse::<SocketAddr>().expect("a"));
        // Multiplexing offered: accepted, and RTCP goes to the RTP address.
        let muxed = BARESIP_OFFER.replace("a=sendrecv", "a=rtcp-mux\r\na=sendrecv");
        let mut sdp = LocalSdp::new(local);
        let (body, n) = sdp.answer(&muxed, Direction::SendRecv).expect("answer");
        assert_eq!((n.rtcp, n.rtcp_mux), (n.remote, true));
        assert!(body.contains("a=rtcp-mux\r\n"), "{body}");
        // Our offers propose it.
        assert!(LocalSdp::new(local)
            .offer(Direction::SendRecv)
            .contains("a=rtcp-mux\r\n"));
    }

    #[test]
    fn no_address_is_refused_clearly() {
        let no_c = BARESIP_OFFER.replace("c=IN IP4 127.0.0.1\r\n", "");
        assert!(matches!(
            read(&no_c, Direction::SendRecv, Choice::OursFirst),
            Err(MediaError::Sdp(_))
        ));
        assert!(read("garbage", Direction::SendRecv, Choice::OursFirst).is_err());
        assert!(read("", Direction::SendRecv, Choice::TheirsFirst).is_err());
    }

    #[test]
    fn hold_offers_are_answered_as_rfc_3264_says() {
        let local: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        let mut sdp = LocalSdp::new(local);
        let held = BARESIP_OFFER.replace("a=sendrecv", "a=sendonly");
        let (body, n) = sdp.answer(&held, Direction::SendRecv).expect("answer");
        assert!(body.contains("a=recvonly"), "{body}");
        assert_eq!(n.direction, Direction::RecvOnly);
        assert_eq!(n.remote_direction, Direction::SendOnly);

        let inactive = BARESIP_OFFER.replace("a=sendrecv", "a=inactive");
        let (body, n) = sdp.answer(&inactive, Direction::SendRecv).expect("answer");
        assert!(body.contains("a=inactive"), "{body}");
        assert!(!n.direction.sends() && !n.direction.receives());

        // Old-style hold: c=0.0.0.0 with no attribute means "send nothing to me".
        let old = BARESIP_OFFER.replace("c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0");
        let (_, n) = sdp.answer(&old, Direction::SendRecv).expect("answer");
        assert!(!n.direction.sends(), "{n:?}");

        // We hold: our sendonly offer answered recvonly lets us send only.
        let offer = sdp.offer(Direction::SendOnly);
        assert!(offer.contains("a=sendonly"), "{offer}");
        let reply = BARESIP_OFFER.replace("a=sendrecv", "a=recvonly");
        let n = sdp
            .read_answer(&reply, Direction::SendOnly)
            .expect("answer");
        assert_eq!(n.direction, Direction::SendOnly);
    }

    #[test]
    fn every_new_description_keeps_the_origin_and_bumps_the_version() {
        let mut sdp = LocalSdp::new("127.0.0.1:4000".parse().expect("addr"));
        let origin = |body: &str| -> (String, u64) {
            let line = body.lines().find(|l| l.starts_with("o=")).expect("o=");
            let fields: Vec<&str> = line.split(' ').collect();
            (fields[1].to_owned(), fields[2].parse().expect("version"))
        };
        let first = origin(&sdp.offer(Direction::SendRecv));
        let second = origin(&sdp.offer(Direction::SendOnly));
        assert_eq!(first.0, second.0);
        assert_eq!(second.1, first.1 + 1);
    }
}

#[cfg(test)]
mod robustness {
    use super::*;

    /// Seeded byte mutations of a real offer: every one is answered with Ok or an error, never
    /// a panic, and an accepted one always names a usable address and a payload type.
    #[test]
    fn mutated_offers_never_panic() {
        let seed_offer = tests_offer();
        let mut rng = crate::testing::XorShift::new(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next_u64();
        for _ in 0..3000 {
            let mut bytes = seed_offer.as_bytes().to_vec();
            for _ in 0..(next() % 8 + 1) {
                let at = (next() as usize) % bytes.len();
                match next() % 3 {
                    0 => bytes[at] = next() as u8,
                    1 => {
                        bytes.remove(at);
                    }
                    _ => bytes.insert(at, b"=: /\r\n0123456789"[(next() % 16) as usize]),
                }
            }
            let text = String::from_utf8_lossy(&bytes);
            if let Ok(n) = read(&text, Direction::SendRecv, Choice::OursFirst) {
                assert!(n.payload_type < 128, "{text}");
            }
        }
    }

    fn tests_offer() -> String {
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio 40000 RTP/AVP 96 101\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 useinbandfec=1\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
            .to_owned()
    }
}
