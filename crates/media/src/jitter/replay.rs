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
    /// The same oracle held to our ticks: a packet must be in by the pull that plays its
    /// first sample, as it must for any player pulled every 10 ms.
    pub tick_oracle_delay: Duration,
}

impl ReplayReport {
    pub fn ratio(&self) -> f64 {
        self.buffer_delay.as_secs_f64() / self.oracle_delay.as_secs_f64().max(1e-6)
    }

    pub fn tick_ratio(&self) -> f64 {
        self.buffer_delay.as_secs_f64() / self.tick_oracle_delay.as_secs_f64().max(1e-6)
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
    let sent_and_arrived: Vec<(Duration, Duration)> = arrivals.iter().map(|a| (a.1, a.0)).collect();
    Ok(ReplayReport {
        sent: frames,
        arrived,
        late_rate,
        concealment_rate: stats.concealed_total() as f64
            / (stats.packets_played.max(1) * FRAME_SAMPLES as u64) as f64,
        buffer_delay: stats.mean_delay(),
        oracle_delay: oracle(&transit, late_rate),
        tick_oracle_delay: oracle_on_ticks(&sent_and_arrived, late_rate, TICK_PHASE, pull_every),
        stats,
    })
}

/// [`oracle`] for a player pulled at `phase + k * period`: packets sent at `sent` play at
/// `sent + fixed`, but must have arrived by the pull that plays their first sample, so each
/// needs `fixed` to reach from its send to the first pull after its arrival.
pub fn oracle_on_ticks(
    packets: &[(Duration, Duration)],
    late_rate: f64,
    phase: Duration,
    period: Duration,
) -> Duration {
    if packets.is_empty() || period.is_zero() {
        return Duration::ZERO;
    }
    let first_pull_after = |arrival: Duration| {
        let since = arrival.saturating_sub(phase).as_nanos();
        let period = period.as_nanos();
        let k = since.div_ceil(period) as u32;
        phase + period_times(period, k)
    };
    let mut needs: Vec<(Duration, Duration)> = packets
        .iter()
        .map(|&(sent, arrival)| {
            (
                first_pull_after(arrival).saturating_sub(sent),
                arrival - sent,
            )
        })
        .collect();
    needs.sort();
    let late = ((late_rate * needs.len() as f64).floor() as usize).min(needs.len() - 1);
    let fixed = needs[needs.len() - 1 - late].0;
    let on_time = &needs[..needs.len() - late];
    on_time
        .iter()
        .map(|&(_, transit)| fixed.saturating_sub(transit))
        .sum::<Duration>()
        / on_time.len() as u32
}

fn period_times(period_nanos: u128, k: u32) -> Duration {
    Duration::from_nanos((period_nanos * u128::from(k)) as u64)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn the_oracle_held_to_ticks_waits_for_the_first_pull_after_each_arrival() {
        // Every 20 ms, 10 ms in transit: free to play on arrival, the oracle waits nothing; held
        // to pulls at 7, 17, 27 ms..., each packet waits 7 ms for the pull after it lands.
        let packets: Vec<(Duration, Duration)> =
            (0..50).map(|i| (ms(20 * i), ms(20 * i + 10))).collect();
        let transit: Vec<Duration> = packets.iter().map(|p| p.1 - p.0).collect();
        assert_eq!(oracle(&transit, 0.0), Duration::ZERO);
        assert_eq!(oracle_on_ticks(&packets, 0.0, ms(7), ms(10)), ms(7));
        // One packet 25 ms late: either everyone waits for it, or (at 2 % late) no one does.
        let mut late = packets.clone();
        late[10].1 += ms(25);
        // Held to 37 ms, the others wait 27 ms and it 2 ms: 26.5 ms on average.
        let all = oracle_on_ticks(&late, 0.0, ms(7), ms(10));
        assert_eq!(all, Duration::from_micros(26_500));
        assert_eq!(oracle_on_ticks(&late, 0.02, ms(7), ms(10)), ms(7));
    }
}
