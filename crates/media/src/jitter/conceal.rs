//! Concealment for codecs that have none of their own (G.711), in the manner of G.711 Appendix I:
//! the last pitch period heard is repeated, fading out after the first 10 ms, down to comfort
//! noise at the level of the background. When real audio comes back, it is cross-faded in.
//!
//! Comfort noise is also what silence sounds like: a dead line worries a caller ("are you still
//! there?"), so gaps the sender left on purpose are filled with it too.

use super::stretch::{pitch, MAX_PERIOD};
use crate::random::XorShift;

/// History kept: enough for the pitch search.
pub const HISTORY: usize = 2 * MAX_PERIOD;
/// Full-level repetition lasts this long, then fades out over `FADE` (48 kHz samples).
const HOLD: usize = 480;
const FADE: usize = 2_400;
/// The cross-fade back into real audio after a concealment.
pub const MERGE: usize = 120;
/// Comfort noise never louder than this (about -40 dBFS), whatever the background measured.
const MAX_NOISE_RMS: f32 = 300.0;

pub struct Concealer {
    /// The last samples played, oldest first.
    history: [i16; HISTORY],
    /// While concealing: the period repeated, how far into it we are, samples made so far.
    period: usize,
    phase: usize,
    made: usize,
    /// A slowly rising, quickly falling estimate of the background level (RMS); none before
    /// any audio was heard.
    background: Option<f32>,
    noise: XorShift,
}

impl Default for Concealer {
    fn default() -> Self {
        Self {
            history: [0; HISTORY],
            period: 0,
            phase: 0,
            made: 0,
            background: None,
            noise: XorShift::new(0x2545_f491),
        }
    }
}

impl Concealer {
    /// Real audio went out: remember it, and follow the background level.
    pub fn on_audio(&mut self, samples: &[i16]) {
        let keep = samples.len().min(HISTORY);
        self.history.copy_within(keep.., 0);
        self.history[HISTORY - keep..].copy_from_slice(&samples[samples.len() - keep..]);
        if !samples.is_empty() {
            let level = (samples.iter().map(|&s| f32::from(s).powi(2)).sum::<f32>()
                / samples.len() as f32)
                .sqrt();
            // Minimum tracking: down at once, up by 1 % per block.
            self.background = Some(match self.background {
                Some(b) if level >= b => b * 1.01 + 0.01,
                _ => level,
            });
        }
        self.made = 0;
    }

    /// Whether the last output was concealment (real audio coming next must be merged in).
    pub fn concealing(&self) -> bool {
        self.made > 0
    }

    /// Fills `out` with concealment continuing from what was played last.
    pub fn conceal(&mut self, out: &mut [i16]) {
        if self.made == 0 || self.period == 0 {
            self.period = match pitch(&self.history) {
                Some((p, c)) if c > 0.5 => p,
                _ => MAX_PERIOD,
            };
            self.phase = 0;
        }
        let start = HISTORY - self.period;
        for o in out.iter_mut() {
            let gain = if self.made < HOLD {
                1.0
            } else {
                1.0 - ((self.made - HOLD) as f32 / FADE as f32).min(1.0)
            };
            let repeated = f32::from(self.history[start + self.phase]) * gain;
            let noise = self.noise() * (1.0 - gain);
            *o = (repeated + noise).round() as i16;
            self.phase = (self.phase + 1) % self.period;
            self.made += 1;
        }
    }

    /// Fills `out` with comfort noise at the background level (a pause, not a loss).
    pub fn comfort_noise(&mut self, out: &mut [i16]) {
        for o in out.iter_mut() {
            *o = self.noise().round() as i16;
        }
        self.made = self.made.max(HOLD + FADE);
    }

    /// Cross-fades the start of `block` (real audio after a concealment) from the concealment.
    pub fn merge(&mut self, block: &mut [i16]) {
        let n = MERGE.min(block.len());
        let mut tail = [0i16; MERGE];
        self.conceal(&mut tail[..n]);
        for (i, (b, t)) in block[..n].iter_mut().zip(tail).enumerate() {
            let w = (i as f32 + 0.5) / n as f32;
            *b = (f32::from(t) * (1.0 - w) + f32::from(*b) * w).round() as i16;
        }
    }

    fn noise(&mut self) -> f32 {
        // Uniform in [-1, 1) has an RMS of 1/sqrt(3).
        let uniform = self.noise.unit() as f32 * 2.0 - 1.0;
        uniform * 3f32.sqrt() * self.background.unwrap_or(0.0).min(MAX_NOISE_RMS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::rms;

    fn voiced(len: usize, offset: usize) -> Vec<i16> {
        (offset..offset + len)
            .map(|i| {
                (6000.0 * (2.0 * std::f64::consts::PI * 200.0 * i as f64 / 48_000.0).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn a_loss_is_bridged_by_the_voice_then_fades_to_the_background() {
        let mut c = Concealer::default();
        for k in 0..5 {
            c.on_audio(&voiced(960, k * 960));
        }
        let mut out = [0i16; 960];
        c.conceal(&mut out);
        // The first 20 ms continue the tone at nearly full level...
        assert!(rms(&out[..480]) > 3500.0, "{}", rms(&out[..480]));
        // ...and 100 ms on it is gone.
        for _ in 0..4 {
            c.conceal(&mut out);
        }
        assert!(rms(&out) < 400.0, "{}", rms(&out));
        assert!(c.concealing());
        let mut back = voiced(960, 10 * 960);
        c.merge(&mut back);
        c.on_audio(&back);
        assert!(!c.concealing());
    }

    #[test]
    fn comfort_noise_follows_the_quiet_background_not_the_speech() {
        let mut c = Concealer::default();
        let hiss: Vec<i16> = (0..960)
            .map(|i| if i % 2 == 0 { 40 } else { -40 })
            .collect();
        for _ in 0..20 {
            c.on_audio(&hiss);
        }
        c.on_audio(&voiced(960, 0));
        let mut out = [0i16; 960];
        c.comfort_noise(&mut out);
        let level = rms(&out);
        assert!((25.0..70.0).contains(&level), "comfort noise at {level}");
    }
}
