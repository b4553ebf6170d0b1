//! The receive jitter buffer, sans-IO: packets go in with the instant they arrived, and once per
//! 20 ms the driver asks what to play. No clock, no socket, no lock.
//!
//! Playout starts `target` after the first packet; from then on one packet is due per frame
//! interval, in sequence order. A packet that is due but absent is reported lost (to be
//! concealed); one that arrives after its turn is late and dropped. The delay is fixed for now;
//! an adaptive target learned from arrival statistics replaces it with the audio-engine work.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::seq::{SeqExtender, SeqNo};

#[derive(Debug, Clone, Copy)]
pub struct JitterConfig {
    /// Delay between the first arrival and the first playout.
    pub target: Duration,
    /// Packets held at most; beyond that the oldest are dropped (a stalled reader, a burst).
    pub capacity: usize,
    /// A jump in sequence numbers larger than this restarts the stream (a new source, a resume
    /// after hold) rather than being counted as loss.
    pub max_gap: u64,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            target: Duration::from_millis(60),
            capacity: 50,
            max_gap: 100,
        }
    }
}

/// What to play for one frame interval.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Nothing received yet, or still filling: play silence.
    Waiting,
    /// The due packet's payload.
    Packet(&'a [u8]),
    /// The due packet is missing; `next` is the following packet if it is at hand (Opus FEC).
    Lost { next: Option<&'a [u8]> },
}

/// Counters in the spirit of baresip's `jbuf_stat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub played: u64,
    pub lost: u64,
    pub late: u64,
    pub duplicate: u64,
    pub overflow: u64,
    pub restarts: u64,
}

pub struct JitterBuffer {
    config: JitterConfig,
    seq: SeqExtender,
    packets: BTreeMap<SeqNo, Vec<u8>>,
    /// The next sequence number to play, once playout has begun.
    next: Option<SeqNo>,
    /// When playout may begin (first arrival + target).
    start_at: Option<Instant>,
    /// The payload handed out by the last `pop`, kept so `Playout` can borrow it.
    current: Vec<u8>,
    stats: JitterStats,
}

impl JitterBuffer {
    pub fn new(config: JitterConfig) -> Self {
        Self {
            config,
            seq: SeqExtender::default(),
            packets: BTreeMap::new(),
            next: None,
            start_at: None,
            current: Vec::new(),
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Holds a received packet.
    pub fn push(&mut self, now: Instant, seq: u16, payload: &[u8]) {
        let seq = self.seq.extend(seq);
        if let Some(next) = self.next {
            if seq < next {
                self.stats.late += 1;
                return;
            }
            if seq.0 - next.0 > self.config.max_gap {
                self.restart();
            }
        }
        if self.start_at.is_none() {
            self.start_at = Some(now + self.config.target);
        }
        if self.packets.contains_key(&seq) {
            self.stats.duplicate += 1;
            return;
        }
        self.packets.insert(seq, payload.to_vec());
        while self.packets.len() > self.config.capacity {
            let Some((dropped, _)) = self.packets.pop_first() else {
                break;
            };
            self.stats.overflow += 1;
            // Playout skips what overflow threw away rather than reporting it lost again.
            if self.next.is_some_and(|n| dropped >= n) {
                self.next = Some(SeqNo(dropped.0 + 1));
            }
        }
    }

    /// What to play for the frame interval starting at `now`.
    pub fn pop(&mut self, now: Instant) -> Playout<'_> {
        match self.start_at {
            Some(at) if now >= at => {}
            _ => return Playout::Waiting,
        }
        let next = match self.next {
            Some(n) => n,
            None => match self.packets.first_key_value() {
                Some((first, _)) => *first,
                None => return Playout::Waiting,
            },
        };
        self.next = Some(SeqNo(next.0 + 1));
        if let Some(payload) = self.packets.remove(&next) {
            self.stats.played += 1;
            self.current = payload;
            return Playout::Packet(&self.current);
        }
        if self.packets.is_empty() {
            // The far end paused (silence suppression, hold) or the stream ended: do not count
            // an empty buffer as a run of losses; wait for the stream to resume.
            self.next = Some(next);
            return Playout::Waiting;
        }
        self.stats.lost += 1;
        Playout::Lost {
            next: self.packets.get(&SeqNo(next.0 + 1)).map(Vec::as_slice),
        }
    }

    fn restart(&mut self) {
        self.packets.clear();
        self.next = None;
        self.start_at = None;
        self.stats.restarts += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(20);

    fn buffer() -> JitterBuffer {
        JitterBuffer::new(JitterConfig::default())
    }

    fn owned(p: Playout<'_>) -> Option<Vec<u8>> {
        match p {
            Playout::Packet(b) => Some(b.to_vec()),
            _ => None,
        }
    }

    #[test]
    fn waits_for_the_target_delay_then_plays_in_order_despite_reordering() {
        let t0 = Instant::now();
        let mut jb = buffer();
        jb.push(t0, 10, b"a");
        jb.push(t0 + Duration::from_millis(5), 12, b"c");
        jb.push(t0 + Duration::from_millis(6), 11, b"b");
        assert_eq!(jb.pop(t0 + Duration::from_millis(40)), Playout::Waiting);
        let t = t0 + Duration::from_millis(60);
        assert_eq!(owned(jb.pop(t)).as_deref(), Some(&b"a"[..]));
        assert_eq!(owned(jb.pop(t + FRAME)).as_deref(), Some(&b"b"[..]));
        assert_eq!(owned(jb.pop(t + FRAME * 2)).as_deref(), Some(&b"c"[..]));
        assert_eq!(jb.stats().played, 3);
    }

    #[test]
    fn a_gap_is_lost_with_the_next_packet_offered_for_fec_and_late_arrivals_dropped() {
        let t0 = Instant::now();
        let mut jb = buffer();
        jb.push(t0, 1, b"1");
        jb.push(t0, 3, b"3");
        let t = t0 + Duration::from_millis(60);
        assert!(owned(jb.pop(t)).is_some());
        assert_eq!(
            jb.pop(t + FRAME),
            Playout::Lost {
                next: Some(&b"3"[..])
            }
        );
        jb.push(t + FRAME, 2, b"2");
        assert_eq!(jb.stats().late, 1);
        assert_eq!(owned(jb.pop(t + FRAME * 2)).as_deref(), Some(&b"3"[..]));
        assert_eq!(jb.stats().lost, 1);
    }

    #[test]
    fn empty_buffer_is_a_pause_not_a_loss_and_duplicates_are_counted() {
        let t0 = Instant::now();
        let mut jb = buffer();
        jb.push(t0, 100, b"x");
        jb.push(t0, 100, b"x");
        let t = t0 + Duration::from_millis(60);
        assert!(owned(jb.pop(t)).is_some());
        for i in 1..10 {
            assert_eq!(jb.pop(t + FRAME * i), Playout::Waiting);
        }
        jb.push(t + FRAME * 10, 101, b"y");
        assert_eq!(owned(jb.pop(t + FRAME * 11)).as_deref(), Some(&b"y"[..]));
        let s = jb.stats();
        assert_eq!((s.lost, s.duplicate), (0, 1));
    }

    #[test]
    fn a_large_jump_restarts_and_capacity_bounds_memory() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(JitterConfig {
            capacity: 4,
            ..JitterConfig::default()
        });
        for s in 0..10u16 {
            jb.push(t0, s, &[s as u8]);
        }
        assert_eq!(jb.stats().overflow, 6);
        let t = t0 + Duration::from_millis(60);
        assert_eq!(owned(jb.pop(t)), Some(vec![6]));
        jb.push(t, 5000, b"new");
        assert_eq!(jb.stats().restarts, 1);
        assert_eq!(jb.pop(t + FRAME), Playout::Waiting);
        assert_eq!(
            owned(jb.pop(t + Duration::from_millis(60))).as_deref(),
            Some(&b"new"[..])
        );
    }
}
