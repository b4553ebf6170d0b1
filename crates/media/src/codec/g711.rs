//! G.711 (ITU-T G.711, 1988): µ-law and A-law, one octet per 8 kHz sample. The fallback every
//! trunk and PSTN gateway speaks when Opus is not offered. Written out here rather than as a
//! dependency: each law is a handful of lines. The values are those of Sun's g711.c, which
//! most stacks carry. Checked once by hand against CPython's `audioop` (not a test: CI has no
//! such reference): A-law and both decoders agree on every value; the µ-law encoder differs
//! by one step on 381 of the 32768 negative inputs, where audioop shifts to 14 bits before
//! taking the magnitude (rounding towards minus infinity) and we keep the law symmetric.

use super::narrowband::{Decimator, Interpolator, NARROW_FRAME, RATIO};
use crate::error::MediaError;
use crate::format::{Frame, FRAME_SAMPLES};

/// µ-law bias: added before the segment search so that the segments align (G.711 §3.2).
const ULAW_BIAS: i32 = 0x84;
/// The largest magnitude µ-law encodes (after the bias it fits 15 bits).
const ULAW_CLIP: i32 = 32635;

/// Encodes one 16-bit linear sample as µ-law.
pub fn ulaw_encode(sample: i16) -> u8 {
    let sign = if sample < 0 { 0x80 } else { 0 };
    let magnitude = (i32::from(sample).abs().min(ULAW_CLIP)) + ULAW_BIAS;
    let exponent = segment(magnitude >> 7);
    let mantissa = (magnitude >> (exponent + 3)) & 0x0f;
    // Sent inverted, so that silence is not a run of zeros on the line.
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// Decodes one µ-law octet to a 16-bit linear sample.
pub fn ulaw_decode(code: u8) -> i16 {
    let code = !code;
    let exponent = i32::from((code >> 4) & 0x07);
    let mantissa = i32::from(code & 0x0f);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    let value = if code & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    };
    value as i16
}

/// Encodes one 16-bit linear sample as A-law.
pub fn alaw_encode(sample: i16) -> u8 {
    // A-law works on 13 bits; the sign bit is set for positive values.
    let (sign, magnitude) = if sample >= 0 {
        (0x80, i32::from(sample) >> 3)
    } else {
        (0x00, (-i32::from(sample) - 1) >> 3)
    };
    let code = if magnitude < 32 {
        (magnitude >> 1) as u8
    } else {
        let exponent = segment(magnitude >> 5) + 1;
        let mantissa = (magnitude >> exponent) & 0x0f;
        ((exponent << 4) as u8) | mantissa as u8
    };
    // Even bits inverted, as the line wants (G.711 §3.4).
    (sign | code) ^ 0x55
}

/// Decodes one A-law octet to a 16-bit linear sample.
pub fn alaw_decode(code: u8) -> i16 {
    let code = code ^ 0x55;
    let exponent = i32::from((code >> 4) & 0x07);
    let mantissa = i32::from(code & 0x0f);
    let magnitude = match exponent {
        0 => (mantissa << 4) + 8,
        e => ((mantissa << 4) + 0x108) << (e - 1),
    };
    let value = if code & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    };
    value as i16
}

/// Which of the two laws a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    Mu,
    A,
}

impl Law {
    fn encode(self, sample: i16) -> u8 {
        match self {
            Law::Mu => ulaw_encode(sample),
            Law::A => alaw_encode(sample),
        }
    }

    fn decode(self, code: u8) -> i16 {
        match self {
            Law::Mu => ulaw_decode(code),
            Law::A => alaw_decode(code),
        }
    }
}

/// 48 kHz frames in, 160-octet G.711 payloads out.
pub struct G711Encoder {
    law: Law,
    down: Decimator,
    narrow: [i16; NARROW_FRAME],
}

impl G711Encoder {
    pub fn new(law: Law) -> Self {
        Self {
            law,
            down: Decimator::default(),
            narrow: [0; NARROW_FRAME],
        }
    }

    pub fn encode(&mut self, frame: &Frame, out: &mut [u8]) -> usize {
        self.down.process(frame, &mut self.narrow);
        for (o, s) in out.iter_mut().zip(self.narrow.iter()) {
            *o = self.law.encode(*s);
        }
        NARROW_FRAME.min(out.len())
    }
}

/// G.711 payloads of any length in, 48 kHz samples out. G.711 has no concealment of its own:
/// the playout conceals for it.
pub struct G711Decoder {
    law: Law,
    up: Interpolator,
    narrow: [i16; NARROW_FRAME],
}

impl G711Decoder {
    pub fn new(law: Law) -> Self {
        Self {
            law,
            up: Interpolator::default(),
            narrow: [0; NARROW_FRAME],
        }
    }

    /// Decodes into `out`, returning the samples written; a payload longer than `out` can hold
    /// is refused rather than cut.
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, MediaError> {
        let samples = payload.len() * RATIO;
        if samples > out.len() {
            return Err(MediaError::Codec(format!(
                "G.711 packet of {} ms is longer than the {} ms we accept",
                payload.len() / 8,
                out.len() / 48
            )));
        }
        for (chunk, wide) in payload
            .chunks(NARROW_FRAME)
            .zip(out.chunks_mut(FRAME_SAMPLES))
        {
            for (n, code) in self.narrow.iter_mut().zip(chunk) {
                *n = self.law.decode(*code);
            }
            self.up.process(&self.narrow[..chunk.len()], wide);
        }
        Ok(samples)
    }
}

/// The segment (0-7) of a magnitude already shifted to the first segment's size.
fn segment(shifted: i32) -> i32 {
    let mut segment = 0;
    let mut rest = shifted;
    while rest > 1 && segment < 7 {
        rest >>= 1;
        segment += 1;
    }
    segment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_matches_the_reference_values() {
        // Silence, the smallest steps, and the extremes, as the reference code gives them.
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(ulaw_encode(-1), 0x7f);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        assert_eq!(ulaw_decode(0xfe), 8);
        assert_eq!(ulaw_decode(0x7e), -8);
    }

    #[test]
    fn alaw_matches_the_reference_values() {
        assert_eq!(alaw_encode(0), 0xd5);
        assert_eq!(alaw_encode(-1), 0x55);
        assert_eq!(alaw_encode(i16::MAX), 0xaa);
        assert_eq!(alaw_encode(i16::MIN), 0x2a);
        assert_eq!(alaw_decode(0xd5), 8);
        assert_eq!(alaw_decode(0x55), -8);
        assert_eq!(alaw_decode(0xaa), 32256);
        assert_eq!(alaw_decode(0x2a), -32256);
    }

    #[test]
    fn every_code_decodes_to_a_value_that_encodes_back_to_it() {
        for code in 0..=255u8 {
            let u = ulaw_decode(code);
            // µ-law has two codes for zero (+0 and -0); both decode to 0, which encodes as +0.
            if code != 0x7f {
                assert_eq!(ulaw_encode(u), code, "µ-law {code:#04x} -> {u}");
            }
            let a = alaw_decode(code);
            assert_eq!(alaw_encode(a), code, "A-law {code:#04x} -> {a}");
        }
    }

    #[test]
    fn quantisation_error_stays_within_half_a_step() {
        // Each law's step doubles per segment; the error is at most half the step, which is
        // at most 1/32 of the magnitude above the first segments (a 5 % bound covers both).
        for sample in (i16::MIN..=i16::MAX).step_by(7) {
            let x = i32::from(sample);
            for (law, decoded) in [
                ("µ-law", i32::from(ulaw_decode(ulaw_encode(sample)))),
                ("A-law", i32::from(alaw_decode(alaw_encode(sample)))),
            ] {
                let error = (decoded - x).abs();
                let bound = (x.abs() / 20).max(64);
                // Both laws clip near full scale (32124 and 32256).
                if x.abs() < 32000 {
                    assert!(error <= bound, "{law}: {sample} came back as {decoded}");
                }
            }
        }
    }
}
