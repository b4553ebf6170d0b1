//! Test speech and what a recording holds.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Synthesises `text` with espeak-ng into a 48 kHz WAV with `channels` channels.
pub fn speech(dir: &Path, name: &str, text: &str, channels: u16) -> PathBuf {
    speech_at(dir, name, text, 48_000, channels)
}

/// As [`speech`], at `rate` Hz (baresip 1.0 plays files only at its codec's rate).
pub fn speech_at(dir: &Path, name: &str, text: &str, rate: u32, channels: u16) -> PathBuf {
    crate::require("espeak-ng", "espeak-ng");
    crate::require("sox", "sox");
    let raw = dir.join(format!("{name}.espeak.wav"));
    let out = dir.join(format!("{name}.wav"));
    let ok = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&raw)
        .arg(text)
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "espeak-ng failed");
    let ok = Command::new("sox")
        .arg(&raw)
        .args([
            "-r",
            &rate.to_string(),
            "-b",
            "16",
            "-c",
            &channels.to_string(),
        ])
        .arg(&out)
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "sox failed");
    out
}

/// `secs` seconds of a quiet room (white noise some 60 dB below full scale, far under what
/// [`active_windows`] counts as sound) as a 48 kHz WAV with `channels` channels. Not digital
/// zero: in our runs baresip 1.0 did not start its receive path on a stream of pure silence.
pub fn room_tone(dir: &Path, name: &str, secs: u32, channels: u16) -> PathBuf {
    synth(dir, name, secs, channels, &["whitenoise", "vol", "0.001"])
}

/// `secs` seconds of a sine at `hz`, a third of full scale, as a 48 kHz WAV: a signal whose
/// pitch a recording can be checked for.
pub fn sine(dir: &Path, name: &str, hz: u32, secs: u32, channels: u16) -> PathBuf {
    synth(
        dir,
        name,
        secs,
        channels,
        &["sine", &hz.to_string(), "vol", "0.33"],
    )
}

fn synth(dir: &Path, name: &str, secs: u32, channels: u16, what: &[&str]) -> PathBuf {
    crate::require("sox", "sox");
    let out = dir.join(format!("{name}.wav"));
    let ok = Command::new("sox")
        .args(["-n", "-r", "48000", "-b", "16", "-c", &channels.to_string()])
        .arg(&out)
        .args(["synth", &secs.to_string()])
        .args(what)
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "sox failed");
    out
}

/// The pitch of the loud part of a recording: the median over 200 ms windows louder than
/// `threshold` of their rising zero crossings per second (`None` when no window is loud).
pub fn tone_frequency(samples: &[i16], rate: u32, threshold: f64) -> Option<f64> {
    let window = rate as usize / 5;
    let mut found: Vec<f64> = samples
        .chunks_exact(window)
        .filter(|w| rms(w) > threshold)
        .map(|w| {
            let rising = w.windows(2).filter(|p| p[0] < 0 && p[1] >= 0).count();
            rising as f64 * 5.0
        })
        .collect();
    found.sort_by(f64::total_cmp);
    found.get(found.len() / 2).copied()
}

/// Mono samples of a WAV file (first channel).
pub fn read_mono(path: &Path) -> (Vec<i16>, u32) {
    let mut reader =
        hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap_or(0)).collect();
    let mono = samples
        .iter()
        .step_by(usize::from(spec.channels.max(1)))
        .copied()
        .collect();
    (mono, spec.sample_rate)
}

/// RMS level over 20 ms windows: how many windows carry sound above `threshold`.
/// Root mean square of a run of samples (0 for none): the media crate's own.
pub use switchboard_media::format::rms;

pub fn active_windows(samples: &[i16], rate: u32, threshold: f64) -> usize {
    let window = (rate / 50) as usize;
    samples
        .chunks(window.max(1))
        .filter(|w| rms(w) > threshold)
        .count()
}

/// Peak normalised cross-correlation of two signals' short-time energy envelopes (10 ms hops),
/// searched over lags up to `max_lag_ms`. Speech that went through a codec keeps its envelope;
/// silence or noise does not correlate.
pub fn envelope_correlation(
    a: &[i16],
    a_rate: u32,
    b: &[i16],
    b_rate: u32,
    max_lag_ms: usize,
) -> f64 {
    let ea = envelope(a, a_rate);
    let eb = envelope(b, b_rate);
    let max_lag = max_lag_ms / 10;
    let mut best = 0.0f64;
    // `b` usually lags `a`; it leads when the start of `a` was buffered before `b` began
    // recording (a phone that sends before the other end listens), so both ways are tried.
    for lag in 0..=max_lag {
        for (x, y) in [(&ea, &eb), (&eb, &ea)] {
            let n = x.len().min(y.len().saturating_sub(lag));
            if n >= 50 {
                best = best.max(pearson(&x[..n], &y[lag..lag + n]));
            }
        }
    }
    best
}

fn envelope(samples: &[i16], rate: u32) -> Vec<f64> {
    let hop = (rate / 100) as usize;
    samples
        .chunks(hop.max(1))
        .map(|w| (w.iter().map(|&s| f64::from(s).abs()).sum::<f64>() / w.len() as f64).ln_1p())
        .collect()
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma).powi(2);
        vb += (y - mb).powi(2);
    }
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va.sqrt() * vb.sqrt())
    }
}
