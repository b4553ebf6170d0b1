//! Helpers for this crate's tests.

use crate::format::{Frame, FRAME_SAMPLES, SAMPLE_RATE};

/// Frame `index` of a continuous sine at `hz` with peak `amplitude`.
pub fn tone(hz: f64, amplitude: f64, index: usize) -> Frame {
    let mut f = [0i16; FRAME_SAMPLES];
    for (i, s) in f.iter_mut().enumerate() {
        let t = (index * FRAME_SAMPLES + i) as f64 / f64::from(SAMPLE_RATE);
        *s = (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16;
    }
    f
}

pub use crate::random::XorShift;
