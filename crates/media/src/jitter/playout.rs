//! The adaptive playout: what turns packets arriving at uneven times into a steady 20 ms of
//! audio per tick. Sans-IO, in the shape of WebRTC's NetEQ: `push` a packet with the instant it
//! arrived, `pull` a frame at each tick's instant. No clock, no socket, no lock; tests drive it
//! over generated arrival traces in virtual time.
//!
//! Each time audio runs short, one operation fills it: decode the next packet (normal, or
//! time-stretched when the buffer is above or below its target), conceal a lost packet (Opus
//! FEC from the packet after it, else the codec's or our concealment), wait out an underrun
//! with concealment while the packet may still come (it is then played late, not dropped), or
//! fill a silence the sender left (DTX, talkspurts) with comfort noise.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::conceal::Concealer;
use super::delay::{DelayConfig, DelayEstimator};
use super::packets::{PacketBuffer, Pushed};
use super::seq::SeqNo;
use super::stretch::{self, MAX_PERIOD};
use crate::codec::{Codec, Decoder, MAX_DECODED};
use crate::format::{FRAME_SAMPLES, SAMPLE_RATE};

/// Above this many times the target, the oldest packets are discarded rather than sped
/// through: after a long outage a stale second of speech is worth less than the present.
const FLUSH_FACTOR: u32 = 4;
/// Above the target by more than this, playout is sped up (in a pause; in speech only at
/// three times this).
const BAND_MS: f64 = 10.0;
/// Below the target by more than this, playout is slowed down (in a pause; in speech only at
/// `BAND_MS`).
const EARLY_MARGIN_MS: f64 = 2.0;
/// Concealment while waiting for a late packet goes in steps this long, so that a packet only
/// a little late costs little delay.
const UNDERRUN_STEP: usize = FRAME_SAMPLES / 2;
/// Concealment of a stream that stopped fades out after 60 ms, over 60 ms (48 kHz samples).
const UNDERRUN_FADE_AFTER: u64 = 2_880;
const UNDERRUN_FADE_OVER: u64 = 2_880;
/// Above this share of packets lost recently, a packet more is held so that FEC can be used.
const FEC_WORTH_WAITING_FOR: f64 = 0.01;
/// Weight of each new outcome in the recent loss rate (a memory of about 100 packets).
const LOSS_MEMORY: f64 = 0.01;
/// An Opus payload this small is comfort noise or DTX, not speech.
const OPUS_SILENCE_BYTES: usize = 12;
/// RMS under which decoded audio counts as a pause, not speech (about -45 dBFS).
const QUIET_RMS: f64 = 180.0;

#[derive(Debug, Clone, Copy)]
pub struct PlayoutConfig {
    pub delay: DelayConfig,
    /// Packets held at most.
    pub capacity: usize,
}

impl Default for PlayoutConfig {
    fn default() -> Self {
        Self {
            delay: DelayConfig::default(),
            capacity: 100,
        }
    }
}

/// What the playout did, counted since the stream began (samples are at 48 kHz).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PlayoutStats {
    pub packets_played: u64,
    /// Sequence numbers skipped because their packet never came.
    pub packets_lost: u64,
    /// Arrived after their turn had passed, dropped.
    pub packets_late: u64,
    pub packets_duplicate: u64,
    /// Thrown away to bound the delay (capacity, or far above the target).
    pub packets_discarded: u64,
    pub restarts: u64,
    pub decode_errors: u64,
    /// Concealment of packets lost (or so late they were given up).
    pub concealed_samples: u64,
    /// Concealment while the next packet was late; it was then played.
    pub underrun_samples: u64,
    /// Comfort noise in the sender's pauses.
    pub comfort_noise_samples: u64,
    /// Samples removed (accelerate) and added (preemptive expand) by time stretching.
    pub accelerated_samples: u64,
    pub stretched_samples: u64,
    /// Sum and count of the delay each played packet spent from arrival to the speaker.
    pub delay_sum: Duration,
    pub delay_count: u64,
    /// The latest packet's delay, and the current target.
    pub last_delay: Duration,
    pub target: Duration,
}

impl PlayoutStats {
    /// Mean time from arrival to playout.
    pub fn mean_delay(&self) -> Duration {
        match u32::try_from(self.delay_count) {
            Ok(n) if n > 0 => self.delay_sum / n,
            _ => Duration::ZERO,
        }
    }

    /// Samples that were not the peer's audio (concealment of losses and underruns).
    pub fn concealed_total(&self) -> u64 {
        self.concealed_samples + self.underrun_samples
    }
}

/// What `pull` produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    /// Nothing received yet, or still filling to the target: silence.
    Waiting,
    Audio,
}

pub struct Playout {
    codec: Codec,
    decoder: Decoder,
    packets: PacketBuffer,
    delay: DelayEstimator,
    concealer: Concealer,
    /// Decoded audio not yet played: `sync[read..]`.
    sync: Vec<i16>,
    read: usize,
    /// Where a decode, a stretch or a concealment is built.
    scratch: Box<[i16]>,
    /// The next packet to play, and the media time (codec units) of the next sample to make.
    next: Option<SeqNo>,
    position: u64,
    /// The last packet's duration in codec units.
    packet_units: u64,
    first_arrival: Option<Instant>,
    /// How far behind the fastest packets playout runs, in ms, smoothed over decodes.
    filtered_delay: f64,
    /// Underrun concealment since the last decode, not yet known to be loss or lateness.
    pending_underrun: u64,
    /// The last decoded audio was a pause (quiet, or an Opus DTX frame).
    in_pause: bool,
    /// Share of recent packets that were lost (moving average).
    recent_loss: f64,
    /// (index of a packet's first sample in the output, its arrival), for the delay statistics.
    marks: VecDeque<(u64, Instant)>,
    produced: u64,
    played: u64,
    stats: PlayoutStats,
}

impl Playout {
    pub fn new(codec: Codec, decoder: Decoder, config: PlayoutConfig) -> Self {
        Self {
            codec,
            decoder,
            packets: PacketBuffer::new(config.capacity),
            delay: DelayEstimator::new(config.delay, codec.clock_rate()),
            concealer: Concealer::default(),
            sync: Vec::with_capacity(4 * MAX_DECODED),
            read: 0,
            scratch: vec![0; MAX_DECODED + MAX_PERIOD].into_boxed_slice(),
            next: None,
            position: 0,
            packet_units: u64::from(codec.frame_units()),
            first_arrival: None,
            filtered_delay: 0.0,
            pending_underrun: 0,
            in_pause: true,
            recent_loss: 0.0,
            marks: VecDeque::with_capacity(64),
            produced: 0,
            played: 0,
            stats: PlayoutStats::default(),
        }
    }

    pub fn stats(&self) -> PlayoutStats {
        PlayoutStats {
            packets_discarded: self.stats.packets_discarded + self.packets.overflow,
            target: self.target(),
            ..self.stats
        }
    }

    /// Holds a received packet of the stream's codec.
    pub fn push(&mut self, now: Instant, seq: u16, timestamp: u32, marker: bool, payload: &[u8]) {
        match self.packets.push(now, seq, timestamp, marker, payload) {
            Pushed::Stored(_, ts) => self.delay.on_packet(now, ts),
            Pushed::Restarted(_, ts) => {
                self.stats.restarts += 1;
                self.next = None;
                self.first_arrival = None;
                self.delay.restart();
                self.delay.on_packet(now, ts);
            }
            Pushed::Duplicate => self.stats.packets_duplicate += 1,
            Pushed::Late => self.stats.packets_late += 1,
        }
        self.first_arrival.get_or_insert(now);
    }

    /// Fills `out` (at most a frame; the smaller the pulls, the later each decision can be
    /// taken) with the audio due from `now`.
    pub fn pull(&mut self, now: Instant, out: &mut [i16]) -> Pull {
        let n = out.len().min(FRAME_SAMPLES);
        if self.next.is_none() && !self.begin(now) {
            out.fill(0);
            return Pull::Waiting;
        }
        while self.sync.len() - self.read < n {
            self.produce(now);
        }
        out[..n].copy_from_slice(&self.sync[self.read..self.read + n]);
        self.read += n;
        self.note_delays(now, n);
        self.played += n as u64;
        Pull::Audio
    }

    /// Starts playout once the target's worth is buffered, or the target has passed since the
    /// first packet (a slow start must not hold the first words back for ever).
    fn begin(&mut self, now: Instant) -> bool {
        let (Some(first), Some((seq, packet))) = (self.first_arrival, self.packets.first()) else {
            return false;
        };
        let target = self.target();
        let filled = self.level() >= target;
        if !filled && now < first + target {
            return false;
        }
        // Packets that queued up before anyone was reading (the far end starts sending on the
        // 200, before our media is up) are played, not dropped: they hold the caller's first
        // words. The delay they add is sped away, in the first pause if it is small.
        self.next = Some(seq);
        self.position = packet.timestamp;
        self.filtered_delay = ms(self.target());
        true
    }

    /// Audio at hand: decoded and not played, plus the packets waiting.
    fn level(&self) -> Duration {
        let samples = (self.sync.len() - self.read) as u64
            + self.packets.len() as u64 * self.units_to_samples(self.packet_units);
        Duration::from_micros(samples * 1_000_000 / u64::from(SAMPLE_RATE))
    }

    fn units_to_samples(&self, units: u64) -> u64 {
        units * u64::from(SAMPLE_RATE) / u64::from(self.codec.clock_rate())
    }

    fn samples_to_units(&self, samples: u64) -> u64 {
        samples * u64::from(self.codec.clock_rate()) / u64::from(SAMPLE_RATE)
    }

    /// Adds one block of audio to the sync buffer.
    fn produce(&mut self, now: Instant) {
        self.flush_if_far_behind();
        let Some(next) = self.next else {
            self.fill_pause();
            return;
        };
        if let Some(packet) = self.packets.get(next) {
            if packet.timestamp > self.position && !self.gap_is_rounding(packet.timestamp) {
                // The sender left a gap in media time (DTX, the end of a talkspurt): silence.
                self.settle_underrun(true);
                self.fill_pause();
                return;
            }
            let marker = packet.marker;
            self.settle_underrun(marker);
            self.decode_next(now, next);
            return;
        }
        match self.packets.first().map(|(s, p)| (s, p.timestamp)) {
            Some((later, timestamp)) if timestamp <= self.position => {
                // Concealment has already covered where `later` starts: what was missing is lost.
                self.stats.packets_lost += later.0 - next.0;
                self.skip_to(later);
            }
            Some(_) if self.decision_delay(now, self.position) < ms(self.target()) => {
                // Missing, but not yet later than the target allows: most likely reordered and
                // on its way. Wait a step rather than give it up.
                self.conceal_underrun();
            }
            Some((later, timestamp)) => {
                let gap = timestamp - self.position;
                let fec = (later.0 == next.0 + 1).then_some(later);
                self.conceal_loss(gap.min(self.packet_units), fec);
                if self.position >= timestamp {
                    self.stats.packets_lost += later.0 - next.0;
                    self.skip_to(later);
                }
            }
            None if self.in_pause => self.fill_pause(),
            None => self.conceal_underrun(),
        }
    }

    /// Whether a timestamp gap before the next packet is really a pause: gaps shorter than a
    /// packet are rounding in the sender's clock and are played through.
    fn gap_is_rounding(&self, timestamp: u64) -> bool {
        timestamp - self.position < self.packet_units / 2
    }

    /// The packet after an underrun is here: if it starts a talkspurt or leaves a gap in media
    /// time, the "underrun" was the sender pausing, and counts as comfort noise.
    fn settle_underrun(&mut self, was_pause: bool) {
        if was_pause {
            self.stats.comfort_noise_samples += self.pending_underrun;
            self.stats.underrun_samples -= self.pending_underrun;
        }
        self.pending_underrun = 0;
    }

    fn skip_to(&mut self, seq: SeqNo) {
        // Concealment while waiting turned out to cover packets that never came: loss.
        self.stats.concealed_samples += self.pending_underrun;
        self.stats.underrun_samples -= self.pending_underrun;
        self.pending_underrun = 0;
        self.packets.advance_to(seq);
        self.next = Some(seq);
    }

    /// The delay held: what the arrivals say, plus one packet while the stream is losing
    /// packets and the codec can rebuild a lost one from the next (Opus FEC): only then is
    /// the next packet at hand when one is missing.
    fn target(&self) -> Duration {
        let learned = self.delay.target();
        if self.codec == Codec::Opus && self.recent_loss > FEC_WORTH_WAITING_FOR {
            learned
                + Duration::from_micros(
                    self.units_to_samples(self.packet_units) * 1_000_000 / u64::from(SAMPLE_RATE),
                )
        } else {
            learned
        }
    }

    /// How long after a packet as fast as the fastest recent ones would have come, the packet
    /// with `timestamp` is being decoded: any packet slower than that by more would have
    /// missed its turn. This, not the packet count, is what the target is held to.
    fn decision_delay(&self, now: Instant, timestamp: u64) -> f64 {
        match self.delay.expected_arrival(timestamp) {
            Some(reference) if now >= reference => ms(now - reference),
            Some(reference) => -ms(reference - now),
            None => ms(self.target()),
        }
    }

    fn decode_next(&mut self, now: Instant, seq: SeqNo) {
        let Some(packet) = self.packets.take(seq) else {
            return;
        };
        self.next = Some(SeqNo(seq.0 + 1));
        let mut n = match self
            .decoder
            .decode(&packet.payload, &mut self.scratch[..MAX_DECODED])
        {
            Ok(n) if n > 0 => n,
            Ok(_) | Err(_) => {
                self.stats.decode_errors += 1;
                self.packets.recycle(packet.payload);
                self.conceal_loss(self.packet_units, None);
                return;
            }
        };
        self.in_pause = self.is_pause(&packet.payload, n);
        if self.concealer.concealing() {
            self.concealer.merge(&mut self.scratch[..n]);
        }
        self.packet_units = self.samples_to_units(n as u64);
        let packet_timestamp = packet.timestamp;
        self.position = packet.timestamp + self.packet_units;
        self.stats.packets_played += 1;
        self.recent_loss *= 1.0 - LOSS_MEMORY;
        self.marks.push_back((self.produced, packet.arrival));
        if self.marks.len() > 64 {
            self.marks.pop_front();
        }
        self.packets.recycle(packet.payload);

        let delay = self.decision_delay(now, packet_timestamp);
        self.filtered_delay += (delay - self.filtered_delay) / 8.0;
        n = self.stretch(n, delay);
        self.append_decoded(n);
    }

    fn is_pause(&self, payload: &[u8], n: usize) -> bool {
        if self.codec == Codec::Opus && payload.len() <= OPUS_SILENCE_BYTES {
            return true;
        }
        crate::format::rms(&self.scratch[..n]) < QUIET_RMS
    }

    /// Expands when playout runs so early that slow packets would miss their turn, accelerates
    /// when it runs later than the target needs; by one pitch period each time. A small
    /// correction waits for a pause in the speech, where it cannot be heard; only a large one
    /// is made in the middle of a word.
    fn stretch(&mut self, n: usize, delay_ms: f64) -> usize {
        let target = ms(self.target());
        let per_ms = f64::from(SAMPLE_RATE) / 1000.0;
        let quiet = stretch::is_quiet(&self.scratch[..n]);
        let late_by = self.filtered_delay - target;
        if late_by >= BAND_MS && delay_ms > target && (quiet || late_by >= 3.0 * BAND_MS) {
            let removed = stretch::accelerate(&mut self.scratch[..n]);
            self.stats.accelerated_samples += removed as u64;
            self.filtered_delay -= removed as f64 / per_ms;
            return n - removed;
        }
        let early_by = target - delay_ms;
        if early_by > EARLY_MARGIN_MS && (quiet || early_by >= BAND_MS) {
            let added = stretch::expand(&mut self.scratch, n);
            self.stats.stretched_samples += added as u64;
            self.filtered_delay += added as f64 / per_ms;
            return n + added;
        }
        n
    }

    fn append_decoded(&mut self, n: usize) {
        self.concealer.on_audio(&self.scratch[..n]);
        self.append(n);
    }

    fn append(&mut self, n: usize) {
        if self.read > 0 && self.sync.len() + n > self.sync.capacity() {
            self.sync.drain(..self.read);
            self.read = 0;
        }
        self.sync.extend_from_slice(&self.scratch[..n]);
        self.produced += n as u64;
    }

    /// Conceals `units` of a lost packet, from FEC in the packet after it when at hand.
    fn conceal_loss(&mut self, units: u64, fec: Option<SeqNo>) {
        let n = self.units_to_samples(units.max(1)) as usize;
        let n = n.min(MAX_DECODED);
        let next_payload = fec
            .and_then(|s| self.packets.get(s))
            .map(|p| p.payload.as_slice());
        conceal_into(
            &mut self.decoder,
            &mut self.concealer,
            &mut self.scratch[..n],
            next_payload,
        );
        self.stats.concealed_samples += n as u64;
        self.recent_loss = self.recent_loss * (1.0 - LOSS_MEMORY) + LOSS_MEMORY;
        self.position += units;
        self.append(n);
    }

    /// Conceals a step while the next packet is late; it is played if it comes.
    fn conceal_underrun(&mut self) {
        let n = UNDERRUN_STEP;
        conceal_into(
            &mut self.decoder,
            &mut self.concealer,
            &mut self.scratch[..n],
            None,
        );
        // A stream that stopped (a hold without a re-INVITE, a dead link) must not buzz on in
        // concealment: after a while it fades to silence until packets come back.
        for (i, sample) in self.scratch[..n].iter_mut().enumerate() {
            let at = self.pending_underrun + i as u64;
            if at > UNDERRUN_FADE_AFTER {
                let faded = (at - UNDERRUN_FADE_AFTER) as f32 / UNDERRUN_FADE_OVER as f32;
                *sample = (f32::from(*sample) * (1.0 - faded.min(1.0))) as i16;
            }
        }
        self.stats.underrun_samples += n as u64;
        self.pending_underrun += n as u64;
        self.position += self.samples_to_units(n as u64);
        self.append(n);
    }

    /// A pause: comfort noise (Opus makes its own from the last DTX frame).
    fn fill_pause(&mut self) {
        let n = FRAME_SAMPLES;
        let from_codec = self.codec == Codec::Opus
            && matches!(self.decoder.conceal(None, &mut self.scratch[..n]), Ok(true));
        if !from_codec {
            self.concealer.comfort_noise(&mut self.scratch[..n]);
        }
        self.stats.comfort_noise_samples += n as u64;
        self.position += self.samples_to_units(n as u64);
        self.append(n);
    }

    /// After an outage the buffer can hold far more than the target: drop the oldest packets.
    fn flush_if_far_behind(&mut self) {
        let target = self.target();
        let limit = (target * FLUSH_FACTOR).max(target + Duration::from_millis(200));
        while self.level() > limit && self.packets.len() > 1 {
            let Some((seq, _)) = self.packets.first() else {
                break;
            };
            let _ = self.packets.take(seq);
            self.stats.packets_discarded += 1;
            if let Some((after, packet)) = self.packets.first() {
                self.next = Some(after);
                self.position = packet.timestamp;
            }
        }
    }

    fn note_delays(&mut self, now: Instant, n: usize) {
        let end = self.played + n as u64;
        while let Some(&(at, arrival)) = self.marks.front() {
            if at >= end {
                break;
            }
            self.marks.pop_front();
            let offset = Duration::from_micros(
                at.saturating_sub(self.played) * 1_000_000 / u64::from(SAMPLE_RATE),
            );
            let delay = (now + offset).saturating_duration_since(arrival);
            self.stats.delay_sum += delay;
            self.stats.delay_count += 1;
            self.stats.last_delay = delay;
        }
    }
}

/// The codec's concealment, or ours for a codec without one.
fn conceal_into(
    decoder: &mut Decoder,
    concealer: &mut Concealer,
    out: &mut [i16],
    fec: Option<&[u8]>,
) {
    let done = match decoder.conceal(fec, out) {
        Ok(done) => done,
        Err(e) => {
            tracing::trace!("concealment: {e}");
            false
        }
    };
    if !done {
        concealer.conceal(out);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impair::Impairment;
    use crate::jitter::replay::{replay, ReplayReport};

    fn run(codec: Codec, spec: &str, seconds: u64) -> ReplayReport {
        let model = Impairment::parse(spec).expect("spec");
        replay(codec, model, 11, seconds, PlayoutConfig::default()).expect("replay")
    }

    #[test]
    fn a_clean_link_plays_everything_at_a_small_delay() {
        let r = run(Codec::Pcmu, "", 60);
        assert_eq!(r.stats.packets_played, r.sent, "{r:?}");
        assert_eq!(r.stats.concealed_total(), 0, "{r:?}");
        assert!(r.buffer_delay < Duration::from_millis(20), "{r:?}");
    }

    #[test]
    fn jitter_with_reordering_costs_little_delay_over_the_oracle_and_under_1_percent_late() {
        let r = run(Codec::Pcmu, "jitter=40ms", 120);
        assert!(r.late_rate < 0.01, "{r:?}");
        assert!(r.ratio() < 1.35, "{} {r:?}", r.ratio());
        // Nothing was lost on the link: whatever was given up turned up, late.
        assert!(r.stats.packets_lost <= r.stats.packets_late, "{r:?}");
    }

    #[test]
    fn losses_are_concealed_one_for_one_and_not_mistaken_for_lateness() {
        let r = run(Codec::Pcmu, "loss=0.05,jitter=20ms", 120);
        let lost = r.sent - r.arrived;
        let concealed = r.stats.concealed_samples / FRAME_SAMPLES as u64;
        // A loss in a pause of the speech is covered by comfort noise, not concealment.
        assert!(
            concealed <= lost + lost / 20 && concealed >= lost * 85 / 100,
            "{concealed} for {lost}: {r:?}"
        );
        assert!(r.late_rate < 0.01, "{r:?}");
    }

    #[test]
    fn a_delay_spike_is_absorbed_then_the_delay_comes_back_down() {
        let r = run(Codec::Pcmu, "jitter=5ms,spike=250ms/1500", 120);
        assert!(r.late_rate < 0.01, "{r:?}");
        assert!(r.stats.accelerated_samples > 0, "{r:?}");
        // Between spikes the delay returns to near what 5 ms of jitter needs.
        assert!(r.stats.last_delay < Duration::from_millis(40), "{r:?}");
    }

    #[test]
    fn clock_drift_either_way_is_absorbed() {
        // 500 ppm over 120 s: 60 ms to remove (sender fast) or to add (sender slow).
        let fast = run(Codec::Pcmu, "jitter=5ms,drift=500", 120);
        assert!(fast.stats.accelerated_samples >= 48 * 50, "{fast:?}");
        assert!(
            fast.stats.last_delay < Duration::from_millis(40),
            "{fast:?}"
        );
        // A slow sender is waited for in the pauses of speech (expanded, or comfort noise
        // while the buffer is empty), not with concealment in the middle of words.
        let slow = run(Codec::Pcmu, "jitter=5ms,drift=-500", 120);
        assert!(slow.late_rate < 0.01, "{slow:?}");
        assert!(slow.concealment_rate < 0.002, "{slow:?}");
    }

    #[test]
    fn opus_losses_are_concealed_by_the_codec() {
        let r = run(Codec::Opus, "loss=0.05,jitter=10ms", 60);
        assert_eq!(r.stats.decode_errors, 0, "{r:?}");
        assert!(r.stats.concealed_samples > 0 && r.late_rate < 0.01, "{r:?}");
    }

    fn pcmu(level: i16) -> Vec<u8> {
        vec![crate::codec::g711::ulaw_encode(level); 160]
    }

    #[test]
    fn a_pause_the_sender_leaves_is_comfort_noise_not_concealment() {
        let t0 = Instant::now();
        let mut p = Playout::new(
            Codec::Pcmu,
            Decoder::new(Codec::Pcmu).expect("decoder"),
            PlayoutConfig::default(),
        );
        let mut out = [0i16; FRAME_SAMPLES];
        let ms20 = Duration::from_millis(20);
        let mut tick = t0;
        // 1 s of talk, 1 s in which the sender sends nothing, then a talkspurt (marker set).
        let mut seq = 0u16;
        for i in 0..150u32 {
            let talking = !(50..100).contains(&i);
            if talking {
                // Sequence numbers count packets sent; timestamps count time.
                p.push(t0 + ms20 * i, seq, i * 160, i == 100, &pcmu(3000));
                seq += 1;
            }
            p.pull(tick, &mut out);
            tick += ms20;
        }
        let s = p.stats();
        assert!(
            s.comfort_noise_samples >= 40 * FRAME_SAMPLES as u64,
            "{s:?}"
        );
        assert_eq!(s.concealed_samples, 0, "{s:?}");
        assert!(s.underrun_samples <= FRAME_SAMPLES as u64, "{s:?}");
        // The last packet may still be waiting its turn.
        assert!(s.packets_played >= 99, "{s:?}");
    }

    #[test]
    fn duplicates_late_and_garbage_packets_are_counted_and_survived() {
        let t0 = Instant::now();
        let mut p = Playout::new(
            Codec::Opus,
            Decoder::new(Codec::Opus).expect("decoder"),
            PlayoutConfig::default(),
        );
        let mut out = [0i16; FRAME_SAMPLES];
        let ms20 = Duration::from_millis(20);
        for i in 0..50u32 {
            let at = t0 + ms20 * i;
            // Code 3 with no frames: not a valid Opus packet.
            p.push(at, i as u16, i * 960, false, &[0xff, 0x00]);
            p.push(at, i as u16, i * 960, false, &[0xff, 0x00]);
            p.pull(at, &mut out);
        }
        p.push(t0 + ms20 * 50, 1, 960, false, &[0xff, 0x00]);
        let s = p.stats();
        assert_eq!(s.packets_duplicate, 50, "{s:?}");
        assert_eq!(s.packets_late, 1, "{s:?}");
        assert!(s.decode_errors > 0, "{s:?}");
    }
}
