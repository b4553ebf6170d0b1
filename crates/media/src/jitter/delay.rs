//! The target delay, learned from arrivals the way WebRTC's NetEQ learns it: each packet's
//! delay relative to the fastest packet of the last two seconds goes into a histogram whose old
//! weight decays, and the target is a high quantile of it. Sans-IO: arrival instants and RTP
//! timestamps are inputs.
//!
//! Relative to the fastest recent packet, not to the first: clock drift between the peers then
//! moves the reference along instead of piling up as false delay.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Histogram resolution.
const BUCKET_MS: u32 = 2;
/// Delays beyond this land in the last bucket: two seconds is already a broken link.
const BUCKETS: usize = 1000;
/// How far back the fastest packet is looked for.
const REFERENCE_WINDOW: Duration = Duration::from_secs(2);
/// Bound on the reference window's memory, whatever the packet rate.
const REFERENCE_CAPACITY: usize = 512;

#[derive(Debug, Clone, Copy)]
pub struct DelayConfig {
    /// The share of packets the target must cover: 0.97 plays 97 % of those in the histogram's
    /// memory in time; the late loss that results is well under 1 % (losses cluster in bursts
    /// the target then follows).
    pub quantile: f64,
    /// Weight kept per packet; 0.998 forgets with a time constant of 500 packets (10 s at 20 ms).
    pub forget: f64,
    /// The target never goes below this (one packet of audio must be at hand).
    pub min_target: Duration,
    /// Nor above this, whatever the link does: beyond it conversation breaks down anyway.
    pub max_target: Duration,
    /// The target before the first packets have said anything about the link. Low: a call's
    /// first words played after a long start-up delay are then sped up, which drags the
    /// whole conversation by the difference for no reason on a good link.
    pub initial_target: Duration,
}

impl Default for DelayConfig {
    fn default() -> Self {
        Self {
            quantile: 0.99,
            forget: 0.998,
            min_target: Duration::from_millis(15),
            max_target: Duration::from_millis(500),
            initial_target: Duration::from_millis(20),
        }
    }
}

#[derive(Debug)]
pub struct DelayEstimator {
    config: DelayConfig,
    clock_rate: u32,
    /// Decaying weights; their sum is 1 once the first packet is in.
    histogram: [f64; BUCKETS],
    packets: u64,
    /// Origin for "transit": the first arrival, and an extended-timestamp base.
    origin: Option<(Instant, u64)>,
    /// (arrival, transit in ms) of recent packets, for the windowed minimum.
    recent: VecDeque<(Instant, f64)>,
    /// The smallest transit in the window, in ms from the origin.
    fastest: f64,
    target: Duration,
}

impl DelayEstimator {
    pub fn new(config: DelayConfig, clock_rate: u32) -> Self {
        Self {
            config,
            clock_rate,
            histogram: [0.0; BUCKETS],
            packets: 0,
            origin: None,
            recent: VecDeque::with_capacity(REFERENCE_CAPACITY),
            fastest: 0.0,
            target: config.initial_target,
        }
    }

    /// The delay the buffer should hold, on top of the fastest packets.
    pub fn target(&self) -> Duration {
        self.target
    }

    /// The stream restarted (new timestamps): what was learned about the network is kept.
    pub fn restart(&mut self) {
        self.origin = None;
        self.recent.clear();
    }

    /// A packet arrived at `now` with (extended) RTP timestamp `timestamp`.
    pub fn on_packet(&mut self, now: Instant, timestamp: u64) {
        let (t0, ts0) = *self.origin.get_or_insert((now, timestamp));
        let elapsed_ms = now.saturating_duration_since(t0).as_secs_f64() * 1000.0;
        let media_ms = (timestamp as f64 - ts0 as f64) * 1000.0 / f64::from(self.clock_rate);
        let transit = elapsed_ms - media_ms;

        while self.recent.front().is_some_and(|&(at, _)| {
            now.saturating_duration_since(at) > REFERENCE_WINDOW
                || self.recent.len() >= REFERENCE_CAPACITY
        }) {
            self.recent.pop_front();
        }
        self.recent.push_back((now, transit));
        let fastest = self
            .recent
            .iter()
            .map(|&(_, t)| t)
            .fold(f64::INFINITY, f64::min);
        self.fastest = fastest;
        self.add((transit - fastest).max(0.0));
    }

    /// When a packet with `timestamp` would arrive if it were as fast as the fastest recent
    /// ones: the reference the playout delay is measured from.
    pub fn expected_arrival(&self, timestamp: u64) -> Option<Instant> {
        let (t0, ts0) = self.origin?;
        let media_ms = (timestamp as f64 - ts0 as f64) * 1000.0 / f64::from(self.clock_rate);
        let offset = media_ms + self.fastest;
        if offset >= 0.0 {
            t0.checked_add(Duration::from_secs_f64(offset / 1000.0))
        } else {
            t0.checked_sub(Duration::from_secs_f64(-offset / 1000.0))
        }
    }

    fn add(&mut self, relative_ms: f64) {
        self.packets += 1;
        // Early on, weigh each packet as an average would, so that the first seconds are not
        // ruled by the starting guess; then settle to the configured memory.
        let forget = self.config.forget.min(1.0 - 1.0 / self.packets as f64);
        let bucket = ((relative_ms / f64::from(BUCKET_MS)) as usize).min(BUCKETS - 1);
        for w in self.histogram.iter_mut() {
            *w *= forget;
        }
        self.histogram[bucket] += 1.0 - forget;
        self.target = self.quantile_delay();
    }

    fn quantile_delay(&self) -> Duration {
        // The weights sum to 1: the first packet gets all of it (forget 0), and every later
        // one takes (1 - forget) from the rest.
        let mut acc = 0.0;
        let mut bucket = BUCKETS - 1;
        for (i, w) in self.histogram.iter().enumerate() {
            acc += w;
            if acc >= self.config.quantile {
                bucket = i;
                break;
            }
        }
        // The bucket's upper edge: a packet that is `d` slower than the fastest is in time when
        // the playout runs at least `d` behind them.
        let ms = (bucket as u64 + 1) * u64::from(BUCKET_MS);
        Duration::from_millis(ms).clamp(self.config.min_target, self.config.max_target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default, but free to go down to 5 ms, so that the tests see the estimate itself.
    fn fine() -> DelayConfig {
        DelayConfig {
            min_target: Duration::from_millis(5),
            ..DelayConfig::default()
        }
    }

    fn feed(est: &mut DelayEstimator, t0: Instant, delays_ms: impl Iterator<Item = (u64, u64)>) {
        for (i, d) in delays_ms {
            est.on_packet(t0 + Duration::from_millis(20 * i + d), i * 960);
        }
    }

    #[test]
    fn a_steady_stream_needs_one_packet() {
        let mut est = DelayEstimator::new(fine(), 48_000);
        feed(&mut est, Instant::now(), (0..500).map(|i| (i, 3)));
        assert_eq!(est.target(), Duration::from_millis(5));
    }

    #[test]
    fn the_target_covers_the_quantile_and_forgets_a_burst_of_jitter() {
        let mut est = DelayEstimator::new(fine(), 48_000);
        let t0 = Instant::now();
        // Every tenth packet 60 ms late: 10 % of packets, above the 1 % the target leaves out.
        feed(
            &mut est,
            t0,
            (0..1000).map(|i| (i, if i % 10 == 0 { 60 } else { 0 })),
        );
        let during = est.target();
        assert!(during >= Duration::from_millis(60), "{during:?}");
        // A calm minute after: the target comes back down.
        feed(&mut est, t0, (1000..4000).map(|i| (i, 0)));
        assert!(
            est.target() <= Duration::from_millis(10),
            "{:?}",
            est.target()
        );
    }

    #[test]
    fn a_rare_spike_does_not_raise_the_target_and_drift_is_not_delay() {
        let mut est = DelayEstimator::new(fine(), 48_000);
        let t0 = Instant::now();
        feed(
            &mut est,
            t0,
            (0..2000).map(|i| (i, if i % 400 == 0 { 200 } else { 0 })),
        );
        assert!(
            est.target() <= Duration::from_millis(10),
            "{:?}",
            est.target()
        );
        // The sender's clock runs 0.5 % slow: over 60 s, 300 ms of "delay" that is not.
        let mut est = DelayEstimator::new(fine(), 48_000);
        for i in 0..3000u64 {
            est.on_packet(t0 + Duration::from_micros(20_100 * i), i * 960);
        }
        // Within the 2 s window the drift is 10 ms, all the reference can leave.
        assert!(
            est.target() <= Duration::from_millis(12),
            "{:?}",
            est.target()
        );
    }
}
