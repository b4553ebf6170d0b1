//! 48 kHz to 8 kHz and back, for the narrowband codecs (G.711). A fixed 6:1 ratio, so one
//! windowed-sinc low-pass serves both ways as a polyphase filter: decimation computes only the
//! kept outputs, interpolation only the non-zero taps. Coefficients are computed once, when a
//! call's codec is set up; the per-frame work allocates nothing.

use crate::format::FRAME_SAMPLES;

/// The ratio between the internal rate and the codec's.
pub const RATIO: usize = 6;
/// Samples in one 20 ms frame at 8 kHz.
pub const NARROW_FRAME: usize = FRAME_SAMPLES / RATIO;
/// Filter length: 32 taps per phase, 2 ms of group delay at 48 kHz each way.
const TAPS: usize = RATIO * 32;
/// Cutoff at 3.8 kHz: the telephone band (to 3.4 kHz) flat, little left at 4 kHz, the Nyquist
/// limit of 8 kHz.
const CUTOFF_HZ: f32 = 3_800.0;

fn low_pass() -> [f32; TAPS] {
    let mut h = [0f32; TAPS];
    let fc = CUTOFF_HZ / 48_000.0;
    let centre = (TAPS - 1) as f32 / 2.0;
    for (i, tap) in h.iter_mut().enumerate() {
        let x = i as f32 - centre;
        let sinc = if x == 0.0 {
            2.0 * fc
        } else {
            (2.0 * std::f32::consts::PI * fc * x).sin() / (std::f32::consts::PI * x)
        };
        // Blackman window: about 75 dB of stopband, enough for 8-bit G.711.
        let w = 2.0 * std::f32::consts::PI * i as f32 / (TAPS - 1) as f32;
        *tap = sinc * (0.42 - 0.5 * w.cos() + 0.08 * (2.0 * w).cos());
    }
    let sum: f32 = h.iter().sum();
    h.iter_mut().for_each(|t| *t /= sum);
    h
}

fn saturate(x: f32) -> i16 {
    x.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

/// 48 kHz in, 8 kHz out, one 20 ms frame at a time; the filter state carries across frames.
pub struct Decimator {
    h: [f32; TAPS],
    /// The last `TAPS` input samples, oldest first.
    history: [f32; TAPS],
}

impl Default for Decimator {
    fn default() -> Self {
        Self {
            h: low_pass(),
            history: [0.0; TAPS],
        }
    }
}

impl Decimator {
    pub fn process(&mut self, input: &[i16; FRAME_SAMPLES], out: &mut [i16; NARROW_FRAME]) {
        for (k, o) in out.iter_mut().enumerate() {
            self.history.copy_within(RATIO.., 0);
            for (j, s) in input[k * RATIO..(k + 1) * RATIO].iter().enumerate() {
                self.history[TAPS - RATIO + j] = f32::from(*s);
            }
            let acc: f32 = self
                .h
                .iter()
                .rev()
                .zip(self.history.iter())
                .map(|(h, x)| h * x)
                .sum();
            *o = saturate(acc);
        }
    }
}

/// 8 kHz in, 48 kHz out.
pub struct Interpolator {
    h: [f32; TAPS],
    /// The last `TAPS / RATIO` narrowband samples, oldest first.
    history: [f32; TAPS / RATIO],
}

impl Default for Interpolator {
    fn default() -> Self {
        Self {
            h: low_pass(),
            history: [0.0; TAPS / RATIO],
        }
    }
}

impl Interpolator {
    pub fn process(&mut self, input: &[i16], out: &mut [i16]) {
        let per_phase = TAPS / RATIO;
        for (k, s) in input.iter().enumerate() {
            self.history.copy_within(1.., 0);
            self.history[per_phase - 1] = f32::from(*s);
            for phase in 0..RATIO {
                // Output sample k*RATIO+phase sees the zero-stuffed input through taps
                // phase, phase+RATIO, ...; the gain of RATIO restores the level zero-stuffing lost.
                let acc: f32 = (0..per_phase)
                    .map(|m| self.h[phase + m * RATIO] * self.history[per_phase - 1 - m])
                    .sum();
                if let Some(o) = out.get_mut(k * RATIO + phase) {
                    *o = saturate(acc * RATIO as f32);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::rms;

    fn tone(hz: f64, frame: usize) -> [i16; FRAME_SAMPLES] {
        let mut f = [0i16; FRAME_SAMPLES];
        for (i, s) in f.iter_mut().enumerate() {
            let t = (frame * FRAME_SAMPLES + i) as f64 / 48_000.0;
            *s = (10_000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16;
        }
        f
    }

    fn through(hz: f64) -> f64 {
        let (mut down, mut up) = (Decimator::default(), Interpolator::default());
        let mut narrow = [0i16; NARROW_FRAME];
        let mut wide = [0i16; FRAME_SAMPLES];
        for frame in 0..10 {
            down.process(&tone(hz, frame), &mut narrow);
            up.process(&narrow, &mut wide);
        }
        rms(&wide)
    }

    #[test]
    fn the_telephone_band_passes_and_what_8_khz_cannot_carry_is_removed() {
        let full = 10_000.0 / 2f64.sqrt();
        for hz in [300.0, 1000.0, 3000.0] {
            let level = through(hz);
            assert!(
                (level / full - 1.0).abs() < 0.05,
                "{hz} Hz came out at {level}"
            );
        }
        // 6 kHz would alias to 2 kHz at 8 kHz without the filter.
        assert!(
            through(6000.0) < full * 0.01,
            "6 kHz leaked: {}",
            through(6000.0)
        );
    }
}
