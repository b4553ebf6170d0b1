//! The ring an incoming call makes, on a device of its own choosing (the laptop's speaker, so
//! an agent with the headset off still hears it). A small thread feeds the device until the
//! ringer is dropped.

use std::f64::consts::TAU;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::catalog::Catalog;
use super::device::Playback;
use crate::format::{Frame, FRAME_DURATION, FRAME_SAMPLES, SAMPLE_RATE};

/// The North American ring: 440 and 480 Hz together, two seconds on, four off.
const TONES_HZ: [f64; 2] = [440.0, 480.0];
const ON: Duration = Duration::from_secs(2);
const CYCLE: Duration = Duration::from_secs(6);
/// Each tone at -20 dBFS: clearly heard, never startling.
const AMPLITUDE: f64 = 3_277.0;

pub struct Ringer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ringer {
    /// Starts ringing on the output `device` (the default when `None` or not present). A
    /// device that cannot be opened is logged, and the ring is silent: the call still shows.
    pub fn start(device: Option<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("ringer".into())
            .spawn(move || ring(device.as_deref(), &flag))
            .inspect_err(|e| tracing::warn!("ringer thread: {e}"))
            .ok();
        Self { stop, thread }
    }
}

impl Drop for Ringer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn ring(device: Option<&str>, stop: &AtomicBool) {
    let mut playback = match Playback::open(&Catalog::new(), device) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!("the ringer's device is unavailable: {e}");
            return;
        }
    };
    let start = Instant::now();
    let mut frame: Frame = [0; FRAME_SAMPLES];
    let mut sample = 0u64;
    let mut deadline = start;
    while !stop.load(Ordering::Relaxed) {
        fill(&mut frame, &mut sample);
        playback.write(&frame);
        deadline += FRAME_DURATION;
        if let Some(wait) = deadline.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
}

/// One frame of the cadence, from sample `*at` on.
fn fill(frame: &mut Frame, at: &mut u64) {
    let rate = f64::from(SAMPLE_RATE);
    let cycle = (CYCLE.as_secs_f64() * rate) as u64;
    let on = (ON.as_secs_f64() * rate) as u64;
    for out in frame.iter_mut() {
        let t = *at as f64 / rate;
        let sounding = *at % cycle < on;
        let value: f64 = TONES_HZ.iter().map(|f| (TAU * f * t).sin()).sum();
        *out = if sounding {
            (value * AMPLITUDE) as i16
        } else {
            0
        };
        *at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::rms;

    #[test]
    fn the_cadence_rings_two_seconds_in_six_at_a_moderate_level() {
        let mut at = 0;
        let mut frame: Frame = [0; FRAME_SAMPLES];
        let levels: Vec<f64> = (0..300)
            .map(|_| {
                fill(&mut frame, &mut at);
                rms(&frame)
            })
            .collect();
        let ringing = levels.iter().filter(|&&l| l > 1000.0).count();
        assert_eq!(ringing, 100, "2 s of 6 s ring, in 20 ms frames");
        assert!(levels[..100].iter().all(|&l| l > 1000.0 && l < 6000.0));
        assert!(levels[100..].iter().all(|&l| l == 0.0));
    }
}
