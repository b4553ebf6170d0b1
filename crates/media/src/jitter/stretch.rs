//! Time stretching without audible jumps: a block of decoded speech is shortened or lengthened by
//! exactly one pitch period, cross-faded, the way NetEQ's accelerate and preemptive expand do.
//! Voiced speech repeats itself every period, so removing or repeating one is inaudible; silence
//! can be cut freely. Unvoiced, loud sound is left alone.

/// Pitch periods searched: 2.5 to 10 ms at 48 kHz (400 Hz down to 100 Hz voices).
pub const MIN_PERIOD: usize = 120;
pub const MAX_PERIOD: usize = 480;
/// The search runs at 12 kHz first, then is refined at 48 kHz.
const DECIMATE: usize = 4;
/// Below this normalised correlation a block is not periodic enough to stretch.
const VOICED: f32 = 0.85;
/// RMS under which a block is silence, stretchable at any period (about -50 dBFS).
const QUIET_RMS: f64 = 100.0;

/// The period that best repeats in `x`, with its normalised correlation (1 is a perfect repeat).
pub fn pitch(x: &[i16]) -> Option<(usize, f32)> {
    if x.len() < 2 * MAX_PERIOD {
        return None;
    }
    // Coarse: 4-sample averages, lags MIN..MAX over a window that fits the block.
    let mut coarse = [0f32; 2 * MAX_PERIOD / DECIMATE];
    for (c, chunk) in coarse.iter_mut().zip(x.chunks_exact(DECIMATE)) {
        *c = chunk.iter().map(|&s| f32::from(s)).sum::<f32>() / DECIMATE as f32;
    }
    let window = coarse.len() - MAX_PERIOD / DECIMATE;
    let (lag, _) = best_lag(
        &coarse,
        window,
        MIN_PERIOD / DECIMATE..=MAX_PERIOD / DECIMATE,
    )?;
    // Fine: within one coarse step of it, on the full-rate samples.
    let full: &[i16] = &x[..2 * MAX_PERIOD];
    let mut f = [0f32; 2 * MAX_PERIOD];
    for (o, &s) in f.iter_mut().zip(full) {
        *o = f32::from(s);
    }
    let centre = lag * DECIMATE;
    let range =
        centre.saturating_sub(DECIMATE).max(MIN_PERIOD)..=(centre + DECIMATE).min(MAX_PERIOD);
    best_lag(&f, 2 * MAX_PERIOD - MAX_PERIOD, range)
}

fn best_lag(
    x: &[f32],
    window: usize,
    lags: std::ops::RangeInclusive<usize>,
) -> Option<(usize, f32)> {
    let mut best: Option<(usize, f32)> = None;
    let head = &x[..window];
    let e0: f32 = head.iter().map(|v| v * v).sum();
    for lag in lags {
        let tail = x.get(lag..lag + window)?;
        let (mut dot, mut e1) = (0f32, 0f32);
        for (a, b) in head.iter().zip(tail) {
            dot += a * b;
            e1 += b * b;
        }
        let c = if e0 > 0.0 && e1 > 0.0 {
            dot / (e0 * e1).sqrt()
        } else {
            0.0
        };
        if best.is_none_or(|(_, bc)| c > bc) {
            best = Some((lag, c));
        }
    }
    best
}

/// Whether `x` is a pause (silence or background), where stretching cannot be heard.
pub fn is_quiet(x: &[i16]) -> bool {
    crate::format::rms(x) < QUIET_RMS
}

/// The period to stretch `x` by, if it may be stretched at all.
fn stretchable(x: &[i16]) -> Option<usize> {
    if x.len() < 2 * MAX_PERIOD {
        return None;
    }
    if is_quiet(x) {
        // Silence: a long cut is as inaudible as a short one.
        return Some(MAX_PERIOD);
    }
    match pitch(x) {
        Some((period, c)) if c >= VOICED => Some(period),
        _ => None,
    }
}

/// Linear cross-fade from `from` to `to` into `out`.
fn cross_fade(from: &[i16], to: &[i16], out: &mut [i16]) {
    let n = out.len() as f32;
    for (i, ((o, &a), &b)) in out.iter_mut().zip(from).zip(to).enumerate() {
        let w = (i as f32 + 0.5) / n;
        *o = (f32::from(a) * (1.0 - w) + f32::from(b) * w).round() as i16;
    }
}

/// Shortens `block` in place by one pitch period; returns the samples removed (0: left alone).
/// `block` keeps its length; the caller takes `len - removed` samples of it.
pub fn accelerate(block: &mut [i16]) -> usize {
    let Some(p) = stretchable(block) else {
        return 0;
    };
    // y[0..p] fades from x[0..p] into x[p..2p]; what follows x[2p] moves back by p.
    let mut faded = [0i16; MAX_PERIOD];
    cross_fade(&block[..p], &block[p..2 * p], &mut faded[..p]);
    block[..p].copy_from_slice(&faded[..p]);
    block.copy_within(2 * p.., p);
    p
}

/// Lengthens the first `len` samples of `block` by one pitch period, writing the result into
/// `block[..len + p]`; returns p (0: left alone). `block` must have room for `len + MAX_PERIOD`.
pub fn expand(block: &mut [i16], len: usize) -> usize {
    if block.len() < len + MAX_PERIOD {
        return 0;
    }
    let Some(p) = stretchable(&block[..len]) else {
        return 0;
    };
    // y = x[0..p], then a fade from x[p..2p] back into x[0..p], then x[p..]: one period twice.
    let mut faded = [0i16; MAX_PERIOD];
    cross_fade(&block[p..2 * p], &block[..p], &mut faded[..p]);
    block.copy_within(p..len, 2 * p);
    block[p..2 * p].copy_from_slice(&faded[..p]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A vowel-like signal: harmonics of `f0`.
    fn voiced(f0: f64, len: usize) -> Vec<i16> {
        (0..len)
            .map(|i| {
                let t = i as f64 / 48_000.0;
                let v: f64 = (1..6)
                    .map(|h| (2.0 * std::f64::consts::PI * f0 * h as f64 * t).sin() / h as f64)
                    .sum();
                (5000.0 * v) as i16
            })
            .collect()
    }

    /// The largest jump between neighbouring samples: a splice shows up as a jump.
    fn max_step(x: &[i16]) -> i32 {
        x.windows(2)
            .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn finds_the_period_of_a_voice() {
        for f0 in [110.0, 200.0, 350.0] {
            let (p, c) = pitch(&voiced(f0, 960)).expect("pitch");
            let expected = 48_000.0 / f0;
            // A multiple of the period repeats as well; the search may pick one within range.
            let k = (p as f64 / expected).round();
            assert!(
                k >= 1.0 && (p as f64 - k * expected).abs() <= 2.0,
                "{f0} Hz: {p}"
            );
            assert!(c > 0.95, "{f0} Hz: correlation {c}");
        }
    }

    #[test]
    fn accelerate_and_expand_move_by_one_period_without_a_jump() {
        let x = voiced(160.0, 960);
        let smooth = max_step(&x);
        let mut a = x.clone();
        let removed = accelerate(&mut a);
        assert!(removed >= MIN_PERIOD, "removed {removed}");
        assert!(max_step(&a[..960 - removed]) <= smooth + smooth / 4);

        let mut e = x.clone();
        e.resize(960 + MAX_PERIOD, 0);
        let added = expand(&mut e, 960);
        assert!(added >= MIN_PERIOD, "added {added}");
        assert!(max_step(&e[..960 + added]) <= smooth + smooth / 4);
    }

    #[test]
    fn noise_is_left_alone_and_silence_cut_freely() {
        let mut seed = 1u32;
        let mut noise: Vec<i16> = (0..960)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                (seed % 16_000) as i16 - 8_000
            })
            .collect();
        assert_eq!(accelerate(&mut noise), 0);
        let mut quiet = vec![3i16; 960];
        assert_eq!(accelerate(&mut quiet), MAX_PERIOD);
    }
}
