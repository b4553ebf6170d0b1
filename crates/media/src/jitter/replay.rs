//! Replays a seeded link ([`crate::impair`]) through the playout in virtual time, and scores it
//! against the oracle: the best fixed delay that, knowing every arrival in advance, would have
//! lost no more packets to lateness. Used by the playout's tests and the jitter-buffer benchmark.

use std::time::{Duration, Instant};

use super::playout::{Playout, PlayoutConfig, PlayoutStats};
use crate::codec::{Codec, Decoder, Encoder};
use crate::error::MediaError;
use crate::format::{Frame, FRAME_DURATION, FRAME_SAMPLES};
use crate::impair::{Impairment, Link};

/// The network's own delay, before any impairment.
const BASE_DELAY: Duration = Duration::from_millis(10);
/// Where the playout's ticks fall between packet sends: not on them.
const TICK_PHASE: Duration = Duration::from_millis(7);

#[derive(Debug, Clone)]
pub struct ReplayReport {
    pub sent: u64,
    pub arrived: u64,
    pub stats: PlayoutStats,
    /// Packets that arrived but were not played in time (played late after an underrun,
    /// dropped as late, or discarded), over packets arrived.
    pub late_rate: f64,
    /// Frames of concealment (losses and underruns) over frames played.
    pub concealment_rate: f64,
    /// Mean time from a packet's arrival to its playout.
    pub buffer_delay: Duration,
    /// The oracle's mean time from arrival to playout at the same late rate.
    pub oracle_delay: Duration,
}

impl ReplayReport {
    pub fn ratio(&self) -> f64 {
        self.buffer_delay.as_secs_f64() / self.oracle_delay.as_secs_f64().max(1e-6)
    }
}

/// Something like speech: voiced stretches with a gliding pitch, separated by pauses.
pub fn speechlike(frame: u64) -> Frame {
    let mut f = [0i16; FRAME_SAMPLES];
    let in_cycle = frame % 100; // 2 s: 1.5 s of talk, 0.5 s of pause
    if in_cycle >= 75 {
        return f;
    }
    for (i, s) in f.iter_mut().enumerate() {
        let t = (frame as f64 * FRAME_SAMPLES as f64 + i as f64) / 48_000.0;
        let f0 = 140.0 + 60.0 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
        let phase = 2.0 * std::f64::consts::PI * f0 * t;
        let v: f64 = (1..8).map(|h| (phase * h as f64).sin() / h as f64).sum();
        *s = (4000.0 * v) as i16;
    }
    f
}

/// Sends `seconds` of [`speechlike`] audio in `codec` over the link and plays it out.
pub fn replay(
    codec: Codec,
    model: Impairment,
    seed: u64,
    seconds: u64,
    config: PlayoutConfig,
) -> Result<ReplayReport, MediaError> {
    let t0 = Instant::now();
    let frames = seconds * 50;
    let mut link = Link::new(model, seed);
    let mut encoder = Encoder::new(codec)?;
    let mut payload = [0u8; 1500];
    // (arrival, seq, timestamp, payload) of every packet that gets through.
    let mut arrivals = Vec::new();
    for i in 0..frames {
        let n = encoder.encode(&speechlike(i), &mut payload)?;
        let sent = link.send_time(i, FRAME_DURATION);
        if let Some(extra) = link.next(FRAME_DURATION) {
            let ts = (i as u32).wrapping_mul(codec.frame_units());
            arrivals.push((
                sent + BASE_DELAY + extra,
                sent,
                i as u16,
                ts,
                payload[..n].to_vec(),
            ));
        }
    }
    arrivals.sort_by_key(|a| a.0);

    let decoder = Decoder::new(codec)?;
    let mut playout = Playout::new(codec, decoder, config);
    // Half-frame pulls, as the media thread makes them.
    let mut out = [0i16; FRAME_SAMPLES / 2];
    let pull_every = FRAME_DURATION / 2;
    let mut next = arrivals.iter().peekable();
    let end = FRAME_DURATION * (frames as u32 + 50);
    let mut tick = TICK_PHASE;
    while tick < end {
        while let Some((at, _, seq, ts, p)) = next.next_if(|a| a.0 <= tick) {
            playout.push(t0 + *at, *seq, *ts, false, p);
        }
        playout.pull(t0 + tick, &mut out);
        tick += pull_every;
    }
    let stats = playout.stats();
    let arrived = arrivals.len() as u64;
    let late = stats.underrun_samples / FRAME_SAMPLES as u64
        + stats.packets_late
        + stats.packets_discarded;
    let late_rate = late as f64 / arrived.max(1) as f64;
    let transit: Vec<Duration> = arrivals.iter().map(|a| a.0 - a.1).collect();
    Ok(ReplayReport {
        sent: frames,
        arrived,
        late_rate,
        concealment_rate: stats.concealed_total() as f64
            / (stats.packets_played.max(1) * FRAME_SAMPLES as u64) as f64,
        buffer_delay: stats.mean_delay(),
        oracle_delay: oracle(&transit, late_rate),
        stats,
    })
}

/// The mean wait of on-time packets under the fixed delay that leaves `late_rate` of them late.
pub fn oracle(transit: &[Duration], late_rate: f64) -> Duration {
    if transit.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = transit.to_vec();
    sorted.sort();
    let late = ((late_rate * sorted.len() as f64).floor() as usize).min(sorted.len() - 1);
    let fixed = sorted[sorted.len() - 1 - late];
    let on_time = &sorted[..sorted.len() - late];
    on_time.iter().map(|d| fixed - *d).sum::<Duration>() / on_time.len() as u32
}
