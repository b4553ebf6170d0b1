//! A seeded model of a bad link: random or bursty (Gilbert) loss, jitter, delay spikes and a
//! drifting sender clock. Sans-IO: it decides, per packet, whether it is dropped and how late it
//! arrives. The jitter-buffer tests and benchmarks replay traces from it in virtual time, and the
//! impairment relay of the quality benchmark applies the same decisions to real datagrams, so
//! both see the same network for the same seed.

use std::time::Duration;

use crate::random::XorShift;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// Share of packets lost, 0..1.
    pub loss: f64,
    /// Mean length of a loss burst in packets; 1 means independent (random) losses.
    pub burst: f64,
    /// Extra delay per packet, uniform in 0..=2×`jitter` (mean `jitter`); reorders packets
    /// whenever it exceeds the packet interval.
    pub jitter: Duration,
    /// Every `spike_every` packets, a spike of `spike` that drains at the link rate (the
    /// packets queued behind it arrive back to back).
    pub spike_every: u64,
    pub spike: Duration,
    /// Sender clock error in parts per million (+: the sender runs fast).
    pub drift_ppm: f64,
}

impl Impairment {
    pub const CLEAN: Impairment = Impairment {
        loss: 0.0,
        burst: 1.0,
        jitter: Duration::ZERO,
        spike_every: 0,
        spike: Duration::ZERO,
        drift_ppm: 0.0,
    };

    /// Parses `loss=0.05,burst=3,jitter=40ms,spike=200ms/400,drift=300` (every part optional).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut m = Self::CLEAN;
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected key=value"))?;
            let number = |v: &str| {
                v.trim_end_matches("ms")
                    .parse::<f64>()
                    .map_err(|_| format!("{part:?}: {v:?} is not a number"))
            };
            match key {
                "loss" => m.loss = number(value)?.clamp(0.0, 1.0),
                "burst" => m.burst = number(value)?.max(1.0),
                "jitter" => m.jitter = Duration::from_secs_f64(number(value)?.max(0.0) / 1000.0),
                "spike" => {
                    let (size, every) = value
                        .split_once('/')
                        .ok_or_else(|| format!("{part:?}: expected spike=MS/PACKETS"))?;
                    m.spike = Duration::from_secs_f64(number(size)?.max(0.0) / 1000.0);
                    m.spike_every = number(every)? as u64;
                }
                "drift" => m.drift_ppm = number(value)?,
                _ => return Err(format!("{part:?}: unknown impairment {key:?}")),
            }
        }
        Ok(m)
    }
}

/// The per-packet decisions of one seeded run.
pub struct Link {
    model: Impairment,
    rng: XorShift,
    bad: bool,
    index: u64,
    spike_left: Duration,
}

impl Link {
    pub fn new(model: Impairment, seed: u64) -> Self {
        Self {
            model,
            rng: XorShift::new(seed),
            bad: false,
            index: 0,
            spike_left: Duration::ZERO,
        }
    }

    /// `None`: the packet is lost; else the delay the link adds to it.
    pub fn next(&mut self, interval: Duration) -> Option<Duration> {
        let m = self.model;
        self.index += 1;
        // Gilbert's two states: losses come in bursts of mean length `burst`, averaging `loss`.
        let leave = 1.0 / m.burst;
        let enter = if m.loss >= 1.0 {
            1.0
        } else {
            m.loss * leave / (1.0 - m.loss)
        };
        self.bad = if self.bad {
            self.uniform() >= leave
        } else {
            self.uniform() < enter
        };
        let lost = self.bad;
        if self.index.checked_rem(m.spike_every) == Some(0) {
            self.spike_left = m.spike;
        }
        let spike = self.spike_left;
        self.spike_left = self.spike_left.saturating_sub(interval);
        let jitter = m.jitter.mul_f64(2.0 * self.uniform());
        (!lost).then_some(spike + jitter)
    }

    /// When packet `index` leaves a sender whose clock drifts, in true time since the first.
    pub fn send_time(&self, index: u64, interval: Duration) -> Duration {
        interval.mul_f64(index as f64 / (1.0 + self.model.drift_ppm / 1e6))
    }

    fn uniform(&mut self) -> f64 {
        self.rng.unit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Duration = Duration::from_millis(20);

    fn losses(model: Impairment) -> (f64, f64) {
        let mut link = Link::new(model, 7);
        let outcomes: Vec<bool> = (0..200_000).map(|_| link.next(T).is_none()).collect();
        let lost = outcomes.iter().filter(|&&l| l).count() as f64;
        let bursts = outcomes.windows(2).filter(|w| !w[0] && w[1]).count() as f64;
        (lost / outcomes.len() as f64, lost / bursts.max(1.0))
    }

    #[test]
    fn loss_rate_and_burst_length_are_what_was_asked() {
        let (rate, burst) = losses(Impairment::parse("loss=0.03").expect("parses"));
        assert!((rate - 0.03).abs() < 0.003 && burst < 1.1, "{rate} {burst}");
        let (rate, burst) = losses(Impairment::parse("loss=0.1,burst=3").expect("parses"));
        assert!(
            (rate - 0.1).abs() < 0.01 && (burst - 3.0).abs() < 0.3,
            "{rate} {burst}"
        );
    }

    #[test]
    fn jitter_spikes_and_parse_errors() {
        let m = Impairment::parse("jitter=40ms, spike=200ms/100").expect("parses");
        let mut link = Link::new(m, 1);
        let delays: Vec<Duration> = (0..1000).filter_map(|_| link.next(T)).collect();
        let mean = delays.iter().sum::<Duration>() / delays.len() as u32;
        assert!(
            mean > Duration::from_millis(40) && mean < Duration::from_millis(55),
            "{mean:?}"
        );
        assert!(delays.iter().any(|d| *d >= Duration::from_millis(200)));
        assert!(Impairment::parse("loss").is_err());
        assert!(Impairment::parse("los=1").is_err());
        assert!(Impairment::parse("jitter=x").is_err());
    }
}
