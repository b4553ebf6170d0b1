//! The one internal audio format: 48 kHz mono 16-bit PCM in 20 ms frames. Devices and files are
//! converted at the edge so that codecs, the jitter buffer and mixing never see anything else.

use std::time::Duration;

pub const SAMPLE_RATE: u32 = 48_000;
pub const FRAME_DURATION: Duration = Duration::from_millis(20);
/// Samples in one 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 960;

/// One 20 ms frame of mono PCM.
pub type Frame = [i16; FRAME_SAMPLES];

pub const SILENCE: Frame = [0; FRAME_SAMPLES];

/// Root-mean-square level of a block of samples, in sample units (0 for silence).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / samples.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_is_twenty_milliseconds() {
        assert_eq!(
            FRAME_SAMPLES as u128,
            u128::from(SAMPLE_RATE) * FRAME_DURATION.as_millis() / 1000
        );
    }

    #[test]
    fn rms_of_square_wave_is_its_amplitude() {
        assert_eq!(rms(&[1000, -1000, 1000, -1000]), 1000.0);
        assert_eq!(rms(&[]), 0.0);
    }
}
