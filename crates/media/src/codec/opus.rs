//! Opus at 48 kHz mono, as RFC 7587 carries it (`opus/48000/2` in SDP, mono in practice).

use crate::error::MediaError;
use crate::format::Frame;

/// Speech at a wideband-plus bitrate: well above the ~16 kbit/s where Opus speech stops gaining,
/// small next to any link an agent's desk has.
const DEFAULT_BITRATE: i32 = 64_000;
/// Largest Opus packet for a 20 ms frame; RFC 6716 caps a frame at 1275 bytes.
pub const MAX_PACKET: usize = 1275;

pub struct OpusEncoder {
    inner: opus::Encoder,
    expected_loss: u8,
}

/// The loss assumed before the peer has reported any.
const ASSUMED_LOSS_PERCENT: u8 = 5;

impl OpusEncoder {
    pub fn new() -> Result<Self, MediaError> {
        let mut inner = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
            .map_err(MediaError::codec)?;
        inner
            .set_bitrate(opus::Bitrate::Bits(DEFAULT_BITRATE))
            .map_err(MediaError::codec)?;
        // In-band FEC costs bits that speech could use, so it follows the loss the peer
        // reports (`set_expected_loss`); until its first report (seconds into the call) we
        // assume some, so the first words of a call on a lossy link are protected too.
        // DTX sends almost nothing while the agent is silent.
        inner.set_inband_fec(true).map_err(MediaError::codec)?;
        inner
            .set_packet_loss_perc(i32::from(ASSUMED_LOSS_PERCENT))
            .map_err(MediaError::codec)?;
        inner.set_dtx(true).map_err(MediaError::codec)?;
        Ok(Self {
            inner,
            expected_loss: ASSUMED_LOSS_PERCENT,
        })
    }

    /// The loss the peer reports, in percent: FEC on (sized to it) above 1 %, off below.
    pub fn set_expected_loss(&mut self, percent: u8) {
        let percent = percent.min(30);
        if percent == self.expected_loss {
            return;
        }
        self.expected_loss = percent;
        let fec = percent >= 1;
        if let Err(e) = self
            .inner
            .set_inband_fec(fec)
            .and_then(|()| self.inner.set_packet_loss_perc(i32::from(percent)))
        {
            tracing::debug!("opus loss settings: {e}");
        }
    }

    /// Encodes one frame into `out`, returning the packet length.
    pub fn encode(&mut self, frame: &Frame, out: &mut [u8]) -> Result<usize, MediaError> {
        self.inner.encode(frame, out).map_err(MediaError::codec)
    }
}

pub struct OpusDecoder {
    inner: opus::Decoder,
}

impl OpusDecoder {
    pub fn new() -> Result<Self, MediaError> {
        let inner = opus::Decoder::new(48_000, opus::Channels::Mono).map_err(MediaError::codec)?;
        Ok(Self { inner })
    }

    /// Decodes one packet into a frame. A packet from the network may be garbage: that is an error
    /// the caller conceals, never a panic.
    /// Returns the samples decoded: a packet may hold 2.5 to 120 ms.
    pub fn decode(&mut self, packet: &[u8], out: &mut [i16]) -> Result<usize, MediaError> {
        self.inner
            .decode(packet, out, false)
            .map_err(MediaError::codec)
    }

    /// Fills a frame for a lost packet: from the next packet's in-band FEC when it is at hand,
    /// otherwise from Opus's own loss concealment. `out`'s length is the lost duration (a
    /// multiple of 2.5 ms).
    pub fn conceal(&mut self, next: Option<&[u8]>, out: &mut [i16]) -> Result<(), MediaError> {
        let result = match next {
            Some(packet) => self.inner.decode(packet, out, true),
            None => self.inner.decode(&[], out, false),
        };
        result.map(|_| ()).map_err(MediaError::codec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{rms, FRAME_SAMPLES};

    fn tone(frame_index: usize) -> Frame {
        crate::testing::tone(440.0, 8000.0, frame_index)
    }

    #[test]
    fn tone_survives_encode_and_decode() {
        let mut enc = OpusEncoder::new().expect("encoder");
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut packet = [0u8; MAX_PACKET];
        let mut out = [0i16; FRAME_SAMPLES];
        for i in 0..10 {
            let n = enc.encode(&tone(i), &mut packet).expect("encode");
            assert!(n > 10 && n < 400, "packet of {n} bytes");
            dec.decode(&packet[..n], &mut out).expect("decode");
        }
        let level = rms(&out);
        assert!(level > 3000.0 && level < 8000.0, "decoded level {level}");
    }

    /// Frames alternating between a low and a high tone.
    fn alternating(frame_index: usize) -> Frame {
        let hz = if frame_index.is_multiple_of(2) {
            300.0
        } else {
            900.0
        };
        crate::testing::tone(hz, 8000.0, frame_index)
    }

    fn zero_crossings(samples: &[i16]) -> usize {
        samples
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count()
    }

    /// How a lost high-tone frame comes back from the packet after it: with that packet's FEC
    /// it is the high tone again; without, concealment carries on the low tone before it.
    fn recovered_crossings(enc: &mut OpusEncoder) -> usize {
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut packets = Vec::new();
        for i in 0..12 {
            let mut packet = [0u8; MAX_PACKET];
            let n = enc.encode(&alternating(i), &mut packet).expect("encode");
            packets.push(packet[..n].to_vec());
        }
        let mut out = [0i16; FRAME_SAMPLES];
        for packet in &packets[..9] {
            dec.decode(packet, &mut out).expect("decode");
        }
        // Frame 9 (high) is lost; frame 10 carries its FEC, if any.
        dec.conceal(Some(&packets[10]), &mut out).expect("conceal");
        zero_crossings(&out)
    }

    #[test]
    fn fec_protects_a_call_from_its_start_until_the_peer_reports_no_loss() {
        let mut fresh = OpusEncoder::new().expect("encoder");
        let with_fec = recovered_crossings(&mut fresh);
        let mut told_clean = OpusEncoder::new().expect("encoder");
        told_clean.set_expected_loss(0);
        let without = recovered_crossings(&mut told_clean);
        // 900 Hz has 36 crossings in 20 ms, 300 Hz 12. Concealment carries on the low tone; the
        // FEC copy (coarser, and later by the codec's delay) brings part of the high one back.
        assert!(without <= 13, "concealment alone made {without} crossings");
        assert!(
            with_fec >= without + 4,
            "FEC did not restore the lost frame: {with_fec} crossings against {without}"
        );
    }

    #[test]
    fn garbage_packet_is_an_error_not_a_panic() {
        let mut dec = OpusDecoder::new().expect("decoder");
        let mut out = [0i16; FRAME_SAMPLES];
        // TOC byte announcing code 3 with zero frames: invalid.
        assert!(dec.decode(&[0xff, 0x00], &mut out).is_err());
        dec.conceal(None, &mut out)
            .expect("concealment always works");
    }
}
