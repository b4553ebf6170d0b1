//! RTP packets on the wire (RFC 3550). We write the plain fixed header ourselves; received
//! packets, which may carry CSRCs, extensions and padding, are read by the sans-IO `rtc-rtp`
//! codec.

use bytes::Bytes;
use rtc_rtp::Packet;
use rtc_shared::marshal::Unmarshal;

/// The fixed header: version, flags, payload type, sequence number, timestamp, SSRC.
const HEADER_LEN: usize = 12;

/// The sending side of one RTP stream: numbering and timestamps.
pub struct RtpSender {
    ssrc: u32,
    payload_type: u8,
    seq: u16,
    timestamp: u32,
    first: bool,
}

impl RtpSender {
    /// `seed` supplies the random SSRC, first sequence number and first timestamp RFC 3550 asks for.
    pub fn new(payload_type: u8, seed: u64) -> Self {
        Self {
            ssrc: seed as u32,
            payload_type,
            seq: (seed >> 32) as u16,
            timestamp: (seed >> 16) as u32,
            first: true,
        }
    }

    /// Writes one packet carrying `payload` into `out`, returning its length, and advances the
    /// clock by `samples` (RTP clock units).
    pub fn packetize(&mut self, payload: &[u8], samples: u32, out: &mut [u8]) -> Option<usize> {
        let n =
            self.packetize_other(self.payload_type, self.first, self.timestamp, payload, out)?;
        self.first = false;
        self.timestamp = self.timestamp.wrapping_add(samples);
        Some(n)
    }

    /// Writes a packet of another payload type on the same stream (an RFC 4733 event) with its
    /// own timestamp; the audio clock is not advanced (see [`RtpSender::advance`]).
    pub fn packetize_other(
        &mut self,
        payload_type: u8,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
        out: &mut [u8],
    ) -> Option<usize> {
        // A fixed 12-octet header (no CSRC, no extension) written in place: this runs for every
        // packet sent, and needs no allocation.
        let len = HEADER_LEN + payload.len();
        let packet = out.get_mut(..len)?;
        packet[0] = 2 << 6;
        packet[1] = (u8::from(marker) << 7) | (payload_type & 0x7f);
        packet[2..4].copy_from_slice(&self.seq.to_be_bytes());
        packet[4..8].copy_from_slice(&timestamp.to_be_bytes());
        packet[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
        packet[HEADER_LEN..].copy_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        Some(len)
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The timestamp the next audio packet will carry.
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Advances the clock over time in which no audio was sent (hold, events), so that the
    /// receiver sees the gap for what it is. The next audio packet starts a talkspurt.
    pub fn advance(&mut self, samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(samples);
        self.first = true;
    }
}

/// The parts of a received packet the receive path uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub payload_type: u8,
    /// Set on the first packet of a talkspurt.
    pub marker: bool,
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub payload: Bytes,
}

/// Whether a datagram starts like an RTP packet: version 2 and a whole fixed header. What an
/// SRTP packet shows before it is authenticated.
pub fn has_header(datagram: &[u8]) -> bool {
    datagram.len() >= 12 && datagram[0] >> 6 == 2
}

/// Parses a datagram as RTP; anything else (RTCP, STUN, garbage) is `None`.
pub fn parse(datagram: &[u8]) -> Option<Received> {
    // Version 2, and not an RTCP packet type (RFC 5761 4: 200..=204 would be PT 72..=76).
    let first = *datagram.first()?;
    let pt = *datagram.get(1)? & 0x7f;
    if first >> 6 != 2 || (72..=76).contains(&pt) {
        return None;
    }
    let mut buf = datagram;
    let p = Packet::unmarshal(&mut buf).ok()?;
    Some(Received {
        payload_type: p.header.payload_type,
        marker: p.header.marker,
        seq: p.header.sequence_number,
        timestamp: p.header.timestamp,
        ssrc: p.header.ssrc,
        payload: p.payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip_with_advancing_numbers() {
        let mut s = RtpSender::new(111, 0x1234_5678_9abc_def0);
        let mut buf = [0u8; 1500];
        let n = s.packetize(b"hello", 960, &mut buf).expect("fits");
        let a = parse(&buf[..n]).expect("parses");
        let n = s.packetize(b"world", 960, &mut buf).expect("fits");
        let b = parse(&buf[..n]).expect("parses");
        assert_eq!(a.payload_type, 111);
        assert_eq!(&a.payload[..], b"hello");
        assert_eq!(b.seq, a.seq.wrapping_add(1));
        assert_eq!(b.timestamp, a.timestamp.wrapping_add(960));
        assert_eq!(a.ssrc, b.ssrc);
    }

    #[test]
    fn the_first_packet_is_marked_events_keep_their_timestamp_and_small_buffers_refuse() {
        let mut s = RtpSender::new(111, 7);
        let mut buf = [0u8; 64];
        let ts = s.timestamp();
        let n = s.packetize(b"a", 960, &mut buf).expect("fits");
        assert_eq!(buf[1] >> 7, 1, "a talkspurt starts with the marker");
        let first = parse(&buf[..n]).expect("parses");
        let n = s
            .packetize_other(101, true, ts, &[1, 0x80, 0, 160], &mut buf)
            .expect("fits");
        let event = parse(&buf[..n]).expect("parses");
        assert_eq!((event.payload_type, event.timestamp), (101, ts));
        assert_eq!(event.seq, first.seq.wrapping_add(1));
        let n = s.packetize(b"b", 960, &mut buf).expect("fits");
        assert_eq!(buf[1] >> 7, 0, "later packets are not marked");
        assert_eq!(
            parse(&buf[..n]).map(|p| p.timestamp),
            Some(ts.wrapping_add(960))
        );
        assert_eq!(s.packetize(&[0; 60], 960, &mut buf), None);
    }

    #[test]
    fn garbage_and_rtcp_are_not_rtp() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[0x80]), None);
        assert_eq!(parse(b"INVITE sip:x SIP/2.0"), None);
        // An RTCP receiver report header.
        assert_eq!(parse(&[0x80, 201, 0, 1, 0, 0, 0, 1]), None);
        // Version 2 but truncated header.
        assert_eq!(parse(&[0x80, 0x6f, 0, 1, 0]), None);
        // CSRC count claiming more than is there.
        assert_eq!(parse(&[0x8f, 0x6f, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]), None);
    }
}

#[cfg(test)]
mod robustness {
    /// Random datagrams with an RTP-looking first byte: parsing never panics, and whatever it
    /// accepts carries a payload no longer than the datagram.
    #[test]
    fn random_datagrams_never_panic() {
        let mut rng = crate::testing::XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut next = || rng.next_u64();
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(first) = d.first_mut() {
                *first = 0x80 | (*first & 0x3f);
            }
            if let Some(p) = super::parse(&d) {
                assert!(p.payload.len() <= d.len());
            }
        }
    }
}
