//! SDP offer/answer for one audio stream (RFC 3264), over the sans-IO `rtc-sdp` syntax.
//! The session layer carries these bodies as opaque text; only this module reads them.

use std::io::Cursor;
use std::net::{IpAddr, SocketAddr};

use rtc_sdp::description::common::{Address, ConnectionInformation};
use rtc_sdp::description::media::{MediaName, RangedPort};
use rtc_sdp::{MediaDescription, SessionDescription};

use crate::error::MediaError;

/// Our dynamic payload types when we make the offer; in an answer the offerer's numbers win.
const OPUS_PT: u8 = 111;
const TELEPHONE_EVENT_PT: u8 = 101;

/// What offer/answer settled for the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP.
    pub remote: SocketAddr,
    /// Opus payload type, in both directions.
    pub payload_type: u8,
    /// RFC 4733 telephone-event payload type, when the peer supports it.
    pub telephone_event: Option<u8>,
}

/// An offer for Opus and telephone-events, receiving at `local`.
pub fn offer(local: SocketAddr) -> String {
    describe(local, OPUS_PT, Some(TELEPHONE_EVENT_PT))
}

/// Answers a remote offer: picks Opus (the offerer's payload type) or refuses.
pub fn answer(remote_offer: &str, local: SocketAddr) -> Result<(String, Negotiated), MediaError> {
    let negotiated = read(remote_offer)?;
    Ok((
        describe(local, negotiated.payload_type, negotiated.telephone_event),
        negotiated,
    ))
}

/// Reads the answer to our offer.
pub fn read_answer(remote_answer: &str) -> Result<Negotiated, MediaError> {
    read(remote_answer)
}

fn describe(local: SocketAddr, opus_pt: u8, dtmf_pt: Option<u8>) -> String {
    let ip = local.ip();
    let address_type = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut sd = SessionDescription::new_jsep_session_description(false);
    sd.origin.username = "switchboard".into();
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
        .with_property_attribute("sendrecv".into());
    sd.with_media(media).marshal()
}

fn read(body: &str) -> Result<Negotiated, MediaError> {
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
    Ok(Negotiated {
        remote: SocketAddr::new(ip, port),
        payload_type,
        telephone_event,
    })
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
        let (body, n) = answer(BARESIP_OFFER, local).expect("opus offered");
        assert_eq!(n.remote, "127.0.0.1:40000".parse().expect("addr"));
        assert_eq!((n.payload_type, n.telephone_event), (96, Some(101)));
        assert!(body.contains("m=audio 50000 RTP/AVP 96 101\r\n"), "{body}");
        assert!(body.contains("a=rtpmap:96 opus/48000/2"), "{body}");
        // Our own answer reads back as the same stream.
        assert_eq!(read_answer(&body).expect("parses").payload_type, 96);
    }

    #[test]
    fn offer_reads_back_and_high_ports_survive() {
        let local: SocketAddr = "127.0.0.1:61234".parse().expect("addr");
        let n = read_answer(&offer(local)).expect("parses");
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
            answer(&pcmu_only, "127.0.0.1:1".parse().expect("a")),
            Err(MediaError::NoCommonCodec)
        ));
        let no_c = BARESIP_OFFER.replace("c=IN IP4 127.0.0.1\r\n", "");
        assert!(matches!(read_answer(&no_c), Err(MediaError::Sdp(_))));
        assert!(read_answer("garbage").is_err());
        assert!(read_answer("").is_err());
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
            if let Ok(n) = read_answer(&text) {
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
