//! Rate conversion between a device and the engine's 48 kHz, for a device that offers no 48 kHz
//! (ALSA hardware at 44.1 kHz, say; a sound server converts by itself). It runs on the media
//! thread, between the device's ring and the engine, never in a device callback: its buffers are
//! made once, so converting allocates nothing.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use crate::error::MediaError;
use crate::format::SAMPLE_RATE;

/// A sinc short enough for speech (the engine's band ends well below either Nyquist), with
/// linear interpolation between its points (its cost: the `frame_cost` bench).
fn parameters() -> SincInterpolationParameters {
    SincInterpolationParameters {
        sinc_len: 64,
        f_cutoff: None,
        oversampling_factor: 128,
        interpolation: SincInterpolationType::Linear,
        window: WindowFunction::BlackmanHarris2,
    }
}

/// One direction's converter, mono.
pub struct RateConverter {
    inner: Async<f32>,
    input: Vec<f32>,
    output: Vec<f32>,
    /// Engine-side samples per device-side sample.
    ratio: f64,
}

impl RateConverter {
    /// Captured audio at `device_rate` to 48 kHz, `chunk` samples out at a time.
    pub fn to_engine(device_rate: u32, chunk: usize) -> Result<Self, MediaError> {
        let ratio = f64::from(SAMPLE_RATE) / f64::from(device_rate);
        Self::new(ratio, chunk, FixedAsync::Output)
    }

    /// The engine's 48 kHz to `device_rate` for playback, `chunk` samples in at a time.
    pub fn from_engine(device_rate: u32, chunk: usize) -> Result<Self, MediaError> {
        let ratio = f64::from(device_rate) / f64::from(SAMPLE_RATE);
        Self::new(ratio, chunk, FixedAsync::Input)
    }

    fn new(ratio: f64, chunk: usize, fixed: FixedAsync) -> Result<Self, MediaError> {
        let inner = Async::<f32>::new_sinc(ratio, 1.0, &parameters(), chunk, 1, fixed)
            .map_err(|e| MediaError::Device(format!("resampler: {e}")))?;
        let input = vec![0.0; inner.input_frames_max()];
        let output = vec![0.0; inner.output_frames_max()];
        let engine_per_device = match fixed {
            FixedAsync::Output => ratio,
            FixedAsync::Input => 1.0 / ratio,
        };
        Ok(Self {
            inner,
            input,
            output,
            ratio: engine_per_device,
        })
    }

    /// Input samples the next [`convert`](Self::convert) takes.
    pub fn input_needed(&self) -> usize {
        self.inner.input_frames_next()
    }

    /// Engine-side duration of `device_samples`, in 48 kHz samples.
    pub fn to_engine_samples(&self, device_samples: usize) -> usize {
        (device_samples as f64 * self.ratio).round() as usize
    }

    /// Device-side count for `engine_samples` at 48 kHz.
    pub fn to_device_samples(&self, engine_samples: usize) -> usize {
        (engine_samples as f64 / self.ratio).round() as usize
    }

    /// Converts exactly [`input_needed`](Self::input_needed) samples from `input` and returns
    /// the converted samples (borrowed until the next call); empty if `input` is short.
    pub fn convert(&mut self, input: impl IntoIterator<Item = i16>) -> &[f32] {
        let needed = self.inner.input_frames_next();
        let mut taken = 0;
        for (slot, s) in self.input.iter_mut().zip(input).take(needed) {
            *slot = f32::from(s) / 32_768.0;
            taken += 1;
        }
        if taken < needed {
            return &[];
        }
        let room = self.output.len();
        let made = match (
            InterleavedSlice::new(&self.input[..needed], 1, needed),
            InterleavedSlice::new_mut(&mut self.output[..], 1, room),
        ) {
            (Ok(input), Ok(mut output)) => self
                .inner
                .process_into_buffer(&input, &mut output, None)
                .map(|(_, written)| written)
                .unwrap_or(0),
            _ => 0,
        };
        &self.output[..made]
    }
}

/// A converted sample back to 16 bits.
pub fn to_i16(sample: f32) -> i16 {
    (sample * 32_768.0).clamp(-32_768.0, 32_767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::rms;

    fn sine(hz: f64, rate: u32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(rate);
                (8_000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
            })
            .collect()
    }

    /// Rising zero crossings per second: the tone's frequency.
    fn frequency(samples: &[i16], rate: u32) -> f64 {
        let rising = samples.windows(2).filter(|w| w[0] < 0 && w[1] >= 0).count();
        rising as f64 * f64::from(rate) / samples.len() as f64
    }

    /// Runs `source` through `converter` whole, as the media thread does chunk by chunk.
    fn run(converter: &mut RateConverter, source: &[i16]) -> Vec<i16> {
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let needed = converter.input_needed();
            if at + needed > source.len() {
                return out;
            }
            let converted = converter.convert(source[at..at + needed].iter().copied());
            assert!(!converted.is_empty(), "a full input was not converted");
            out.extend(converted.iter().map(|s| to_i16(*s)));
            at += needed;
        }
    }

    /// A 44.1 kHz microphone: a 1 kHz tone comes out at 1 kHz, 48 000 samples a second, at the
    /// level it went in.
    #[test]
    fn a_44_1_khz_capture_becomes_48_khz_at_the_same_pitch_and_level() {
        let mut converter = RateConverter::to_engine(44_100, 960).expect("converter");
        let source = sine(1_000.0, 44_100, 44_100 * 2);
        let out = run(&mut converter, &source);
        let expected = 96_000.0;
        assert!(
            (out.len() as f64 - expected).abs() < 2_000.0,
            "{} samples from 2 s",
            out.len()
        );
        // Past the filter's start-up.
        let settled = &out[4_800..];
        let hz = frequency(settled, SAMPLE_RATE);
        assert!((hz - 1_000.0).abs() < 5.0, "tone came out at {hz:.1} Hz");
        let level = 20.0 * (rms(settled) / rms(&source)).log10();
        assert!(level.abs() < 0.5, "level changed by {level:.2} dB");
    }

    /// A 44.1 kHz speaker: 480 engine samples in become about 441 device samples out, and a tone
    /// near the top of speech's band keeps its pitch and level.
    #[test]
    fn playback_at_44_1_khz_keeps_pitch_and_level() {
        let mut converter = RateConverter::from_engine(44_100, 480).expect("converter");
        assert_eq!(converter.input_needed(), 480);
        let source = sine(3_400.0, SAMPLE_RATE, 96_000);
        let out = run(&mut converter, &source);
        assert!(
            (out.len() as f64 - 88_200.0).abs() < 2_000.0,
            "{} samples from 2 s",
            out.len()
        );
        let settled = &out[4_410..];
        let hz = frequency(settled, 44_100);
        assert!((hz - 3_400.0).abs() < 10.0, "tone came out at {hz:.1} Hz");
        let level = 20.0 * (rms(settled) / rms(&source)).log10();
        assert!(level.abs() < 0.5, "level changed by {level:.2} dB");
    }

    /// Durations convert both ways: what the delay bounds and the latency figures count in.
    #[test]
    fn device_and_engine_durations_convert_both_ways() {
        let capture = RateConverter::to_engine(44_100, 960).expect("converter");
        assert_eq!(capture.to_engine_samples(441), 480);
        assert_eq!(capture.to_device_samples(480), 441);
        let playback = RateConverter::from_engine(16_000, 480).expect("converter");
        assert_eq!(playback.to_engine_samples(160), 480);
        assert_eq!(playback.to_device_samples(960), 320);
    }

    /// Short input converts nothing rather than inventing samples.
    #[test]
    fn a_short_input_converts_nothing() {
        let mut converter = RateConverter::to_engine(44_100, 960).expect("converter");
        let needed = converter.input_needed();
        assert!(converter.convert(vec![0i16; needed - 1]).is_empty());
    }
}
