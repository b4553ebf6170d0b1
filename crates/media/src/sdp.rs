//! SDP offer/answer for one audio stream (RFC 3264), over the sans-IO `rtc-sdp` syntax.
//! The session layer carries these bodies as opaque text; only this module reads them.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use rtc_sdp::description::common::{Address, ConnectionInformation};
use rtc_sdp::description::media::{MediaName, RangedPort};
use rtc_sdp::{MediaDescription, SessionDescription};

use crate::error::MediaError;

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
    /// Opus payload type, in both directions.
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, when the peer supports it.
    pub telephone_event: Option<u8>,
    /// What we may do on the stream: our wish combined with what the peer allows.
    pub direction: Direction,
    /// The direction the peer wrote, from its point of view (`SendOnly` or `Inactive` means
    /// the peer has put us on hold).
    pub remote_direction: Direction,
}

/// Our side of one call's SDP: the same origin throughout the dialog, its version bumped for
/// every new description (RFC 3264 §8), and the payload types fixed by the first exchange.
#[derive(Debug, Clone)]
pub struct LocalSdp {
    local: SocketAddr,
    session_id: u64,
    version: u64,
    opus_pt: u8,
    dtmf_pt: Option<u8>,
}

impl LocalSdp {
    /// A description receiving at `local`, with a random session id.
    pub fn new(local: SocketAddr) -> Self {
        let random = RandomState::new().build_hasher().finish();
        Self {
            local,
            // Keep within the 63 bits that every parser takes as a signed integer.
            session_id: random >> 1,
            version: 0,
            opus_pt: OPUS_PT,
            dtmf_pt: Some(TELEPHONE_EVENT_PT),
        }
    }

    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// An offer for Opus and telephone-events, with `direction` as our wish.
    pub fn offer(&mut self, direction: Direction) -> String {
        self.describe(direction)
    }

    /// Answers a remote offer: takes Opus with the offerer's payload type, or refuses.
    /// `wish` is what we want (sendonly while we hold the call); the answer grants no more
    /// than the offer allows.
    pub fn answer(
        &mut self,
        remote_offer: &str,
        wish: Direction,
    ) -> Result<(String, Negotiated), MediaError> {
        let negotiated = read(remote_offer, wish)?;
        self.opus_pt = negotiated.payload_type;
        self.dtmf_pt = negotiated.telephone_event;
        Ok((self.describe(negotiated.direction), negotiated))
    }

    /// Reads the answer to the offer we made with `offered` as our wish.
    pub fn read_answer(
        &mut self,
        remote_answer: &str,
        offered: Direction,
    ) -> Result<Negotiated, MediaError> {
        let negotiated = read(remote_answer, offered)?;
        self.opus_pt = negotiated.payload_type;
        self.dtmf_pt = negotiated.telephone_event;
        Ok(negotiated)
    }

    fn describe(&mut self, direction: Direction) -> String {
        self.version += 1;
        describe(
            self.local,
            self.session_id,
            self.version,
            self.opus_pt,
            self.dtmf_pt,
            direction,
        )
    }
}

fn describe(
    local: SocketAddr,
    session_id: u64,
    version: u64,
    opus_pt: u8,
    dtmf_pt: Option<u8>,
    direction: Direction,
) -> String {
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
            protos: vec!["RTP".into(), "AVP".into()],
            formats: vec![],
        },
        ..Default::default()
    }
    .with_codec(
        opus_pt,
        "opus".into(),
        48_000,
        2,
        "minptime=10;useinbandfec=1".into(),
    );
    if let Some(pt) = dtmf_pt {
        media = media.with_codec(pt, "telephone-event".into(), 8_000, 0, "0-16".into());
    }
    let media = media
        .with_value_attribute("ptime".into(), "20".into())
        .with_property_attribute(direction.attribute().into());
    sd.with_media(media).marshal()
}

/// Reads a remote description; `wish` is our side's direction for the stream.
fn read(body: &str, wish: Direction) -> Result<Negotiated, MediaError> {
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
    // Formats are listed in the offerer's order of preference; Opus is what we speak.
    let payload_type = media
        .media_name
        .formats
        .iter()
        .filter_map(|f| f.parse::<u8>().ok())
        .find(|pt| {
            codecs
                .get(pt)
                .is_some_and(|c| c.name.eq_ignore_ascii_case("opus") && c.clock_rate == 48_000)
        })
        .ok_or(MediaError::NoCommonCodec)?;
    let telephone_event = codecs
        .values()
        .filter(|c| c.name.eq_ignore_ascii_case("telephone-event") && c.clock_rate == 8_000)
        .map(|c| c.payload_type)
        .min();
    let mut remote_direction = stream_direction(&sd, media);
    // RFC 2543 hold, still sent by old equipment: "send nothing to me" as c=0.0.0.0.
    if ip.is_unspecified() {
        remote_direction = remote_direction.and(Direction::SendOnly);
    }
    Ok(Negotiated {
        remote: SocketAddr::new(ip, port),
        payload_type,
        telephone_event,
        direction: wish.and(remote_direction.reversed()),
        remote_direction,
    })
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
        assert_eq!(n.remote, "127.0.0.1:40000".parse().expect("addr"));
        assert_eq!((n.payload_type, n.telephone_event), (96, Some(101)));
        assert!(body.contains("m=audio 50000 RTP/AVP 96 101\r\n"), "{body}");
        assert!(body.contains("a=rtpmap:96 opus/48000/2"), "{body}");
        // Our own answer reads back as the same stream.
        assert_eq!(
            read(&body, Direction::SendRecv)
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
        )
        .expect("parses");
        assert_eq!(n.remote, local);
        assert_eq!(
            (n.payload_type, n.telephone_event),
            (OPUS_PT, Some(TELEPHONE_EVENT_PT))
        );
    }

    #[test]
    fn no_opus_or_no_address_is_refused_clearly() {
        let pcmu_only = BARESIP_OFFER
            .replace("RTP/AVP 0 96 101", "RTP/AVP 0")
            .replace("a=rtpmap:96 opus/48000/2\r\n", "");
        assert!(matches!(
            LocalSdp::new("127.0.0.1:1".parse().expect("a"))
                .answer(&pcmu_only, Direction::SendRecv),
            Err(MediaError::NoCommonCodec)
        ));
        let no_c = BARESIP_OFFER.replace("c=IN IP4 127.0.0.1\r\n", "");
        assert!(matches!(
            read(&no_c, Direction::SendRecv),
            Err(MediaError::Sdp(_))
        ));
        assert!(read("garbage", Direction::SendRecv).is_err());
        assert!(read("", Direction::SendRecv).is_err());
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
    /// a panic, and an accepted one always names a usable address and an Opus payload type.
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
            if let Ok(n) = read(&text, Direction::SendRecv) {
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
