//! Audio codecs: Opus (preferred), and G.711 µ-law and A-law for trunks and gateways that speak
//! nothing else. Every codec is seen through 48 kHz frames; the narrowband ones convert inside.

pub mod g711;
pub mod narrowband;
pub mod opus;

use crate::error::MediaError;
use crate::format::Frame;
use g711::{G711Decoder, G711Encoder, Law};
use opus::{OpusDecoder, OpusEncoder};

/// Most samples one received packet may decode to: 120 ms at 48 kHz, Opus's longest packet.
pub const MAX_DECODED: usize = 5_760;

/// A codec we can negotiate, in our order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Opus,
    Pcmu,
    Pcma,
}

impl Codec {
    pub const PREFERENCE: [Codec; 3] = [Codec::Opus, Codec::Pcmu, Codec::Pcma];

    /// The encoding name in `a=rtpmap`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Opus => "opus",
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    /// The RTP clock rate.
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Pcmu | Codec::Pcma => 8_000,
        }
    }

    /// The channel count written in `a=rtpmap` (RFC 7587 always writes 2 for Opus).
    pub fn rtpmap_channels(self) -> u16 {
        match self {
            Codec::Opus => 2,
            Codec::Pcmu | Codec::Pcma => 0,
        }
    }

    /// The payload type RFC 3551 assigns, for the codecs that have one.
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            Codec::Opus => None,
            Codec::Pcmu => Some(0),
            Codec::Pcma => Some(8),
        }
    }

    /// RTP clock units in one 20 ms frame.
    pub fn frame_units(self) -> u32 {
        self.clock_rate() / 50
    }

    /// The codec an `a=rtpmap` names, if we speak it.
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Option<Codec> {
        Self::PREFERENCE
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(name) && c.clock_rate() == clock_rate)
    }

    /// The codec a setting names: "opus", "pcmu" or "pcma", in any case.
    pub fn from_name(name: &str) -> Option<Codec> {
        Self::PREFERENCE
            .into_iter()
            .find(|c| c.encoding_name().eq_ignore_ascii_case(name))
    }

    /// The codec a static payload type means when no `a=rtpmap` redefines it.
    pub fn from_static(payload_type: u8) -> Option<Codec> {
        Self::PREFERENCE
            .into_iter()
            .find(|c| c.static_payload_type() == Some(payload_type))
    }
}

/// The sending half of the negotiated codec.
pub enum Encoder {
    Opus(OpusEncoder),
    /// Boxed: the resampling filter's state is large next to Opus's handle.
    G711(Box<G711Encoder>),
}

impl Encoder {
    pub fn new(codec: Codec) -> Result<Self, MediaError> {
        Ok(match codec {
            Codec::Opus => Encoder::Opus(OpusEncoder::new()?),
            Codec::Pcmu => Encoder::G711(Box::new(G711Encoder::new(Law::Mu))),
            Codec::Pcma => Encoder::G711(Box::new(G711Encoder::new(Law::A))),
        })
    }

    /// Encodes one 20 ms frame into `out`, returning the payload length.
    pub fn encode(&mut self, frame: &Frame, out: &mut [u8]) -> Result<usize, MediaError> {
        match self {
            Encoder::Opus(e) => e.encode(frame, out),
            Encoder::G711(e) => Ok(e.encode(frame, out)),
        }
    }

    /// Tells the encoder how much of what it sends is lost, as the peer's reports say; Opus
    /// spends bits on in-band FEC only when that helps.
    pub fn set_expected_loss(&mut self, percent: u8) {
        if let Encoder::Opus(e) = self {
            e.set_expected_loss(percent);
        }
    }
}

/// The receiving half of the negotiated codec.
pub enum Decoder {
    Opus(OpusDecoder),
    G711(Box<G711Decoder>),
}

impl Decoder {
    pub fn new(codec: Codec) -> Result<Self, MediaError> {
        Ok(match codec {
            Codec::Opus => Decoder::Opus(OpusDecoder::new()?),
            Codec::Pcmu => Decoder::G711(Box::new(G711Decoder::new(Law::Mu))),
            Codec::Pcma => Decoder::G711(Box::new(G711Decoder::new(Law::A))),
        })
    }

    /// Decodes one packet into `out` (at least [`MAX_DECODED`] long), returning the samples.
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, MediaError> {
        match self {
            Decoder::Opus(d) => d.decode(payload, out),
            Decoder::G711(d) => d.decode(payload, out),
        }
    }

    /// Fills `out` (its length is the lost duration) for a lost packet, from `next`'s in-band
    /// FEC when at hand. `Ok(false)`: this codec has no concealment, the caller must conceal.
    pub fn conceal(&mut self, next: Option<&[u8]>, out: &mut [i16]) -> Result<bool, MediaError> {
        match self {
            Decoder::Opus(d) => d.conceal(next, out).map(|()| true),
            Decoder::G711(_) => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{rms, FRAME_SAMPLES};

    fn tone(frame: usize) -> Frame {
        crate::testing::tone(700.0, 8000.0, frame)
    }

    #[test]
    fn every_codec_carries_a_tone_at_its_level_and_frame_size() {
        for codec in Codec::PREFERENCE {
            let mut enc = Encoder::new(codec).expect("encoder");
            let mut dec = Decoder::new(codec).expect("decoder");
            let mut payload = [0u8; 1500];
            let mut out = [0i16; MAX_DECODED];
            let mut n = 0;
            for frame in 0..10 {
                let len = enc.encode(&tone(frame), &mut payload).expect("encode");
                if codec != Codec::Opus {
                    assert_eq!(len, 160, "{codec:?}");
                }
                n = dec.decode(&payload[..len], &mut out).expect("decode");
            }
            assert_eq!(n, FRAME_SAMPLES, "{codec:?}");
            let level = rms(&out[..n]);
            assert!(
                (5000.0..6200.0).contains(&level),
                "{codec:?} decoded at {level}"
            );
        }
    }

    #[test]
    fn names_and_static_types_map_both_ways() {
        assert_eq!(Codec::from_rtpmap("pcmu", 8000), Some(Codec::Pcmu));
        assert_eq!(Codec::from_rtpmap("OPUS", 48000), Some(Codec::Opus));
        assert_eq!(Codec::from_rtpmap("opus", 16000), None);
        assert_eq!(Codec::from_static(8), Some(Codec::Pcma));
        assert_eq!(Codec::from_static(9), None);
        let mut dec = Decoder::new(Codec::Pcma).expect("decoder");
        let mut short = [0i16; 100];
        assert!(
            dec.decode(&[0xd5; 160], &mut short).is_err(),
            "too long for out"
        );
    }
}
