//! How long audio waits between the sound device and the network, on our side: from the
//! capture callback to the packet sent, and from the jitter buffer's playout to the playback
//! callback. Sans-IO: queue depths and processing times are inputs.

use std::time::Duration;

use crate::format::SAMPLE_RATE;

#[derive(Debug, Default, Clone, Copy)]
pub struct DeviceLatency {
    capture: Mean,
    playback: Mean,
}

#[derive(Debug, Default, Clone, Copy)]
struct Mean {
    sum_ms: f64,
    count: u64,
}

impl Mean {
    fn add(&mut self, ms: f64) {
        self.sum_ms += ms;
        self.count += 1;
    }

    fn get(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ms / self.count as f64)
    }
}

fn samples_ms(samples: usize) -> f64 {
    samples as f64 * 1000.0 / f64::from(SAMPLE_RATE)
}

impl DeviceLatency {
    /// A frame of `frame` samples was read with `queued` samples in the ring (the frame's
    /// among them) and sent `processing` later. Its samples waited, on average, for what
    /// was captured after the middle of the frame.
    pub fn captured(&mut self, queued: usize, frame: usize, processing: Duration) {
        let waited = queued.saturating_sub(frame / 2);
        self.capture
            .add(samples_ms(waited) + processing.as_secs_f64() * 1000.0);
    }

    /// A part of `part` samples left the jitter buffer `processing` before it was queued
    /// for the speaker, behind `queued` samples (itself included).
    pub fn played(&mut self, queued: usize, part: usize, processing: Duration) {
        let waits = queued.saturating_sub(part / 2);
        self.playback
            .add(samples_ms(waits) + processing.as_secs_f64() * 1000.0);
    }

    pub fn capture_to_packet_ms(&self) -> Option<f64> {
        self.capture.get()
    }

    pub fn packet_to_speaker_ms(&self) -> Option<f64> {
        self.playback.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_is_counted_from_the_middle_of_each_frame() {
        let mut latency = DeviceLatency::default();
        assert_eq!(latency.capture_to_packet_ms(), None, "no device, no figure");
        // 30 ms queued, a 20 ms frame read: its samples waited 20 ms on average, plus 1 ms.
        latency.captured(1440, 960, Duration::from_millis(1));
        latency.captured(1440, 960, Duration::from_millis(1));
        assert_eq!(latency.capture_to_packet_ms(), Some(21.0));
        // A 10 ms part behind 10 ms already queued: 15 ms on average.
        latency.played(960, 480, Duration::ZERO);
        assert_eq!(latency.packet_to_speaker_ms(), Some(15.0));
    }
}
