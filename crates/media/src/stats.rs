//! Per-stream RTP statistics as RFC 3550 defines them: packets, cumulative loss from the extended
//! sequence range, and interarrival jitter (A.8). Sans-IO: arrival instants are inputs.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::jitter::{SeqExtender, SeqNo};

/// What a call reports about its media when it ends (and, later, live).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "ipc", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct MediaStats {
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub packets_sent: u64,
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub packets_received: u64,
    /// Packets expected from the sequence range but never received.
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub packets_lost: u64,
    /// `packets_lost` over packets expected, 0..=1.
    pub loss_fraction: f64,
    /// RFC 3550 interarrival jitter, in milliseconds.
    pub jitter_ms: f64,
    /// Frames concealed because their packet was missing when due.
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub frames_concealed: u64,
    /// Packets that arrived after their playout time.
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub packets_late: u64,
    /// The codec the call's audio was received in ("opus", "PCMU", "PCMA").
    pub codec: &'static str,
    /// Mean time a packet waited in the jitter buffer, from arrival to the speaker.
    pub jitter_buffer_ms: f64,
    /// Time the listener heard concealment instead of the far end (losses, late packets).
    pub concealed_ms: f64,
    /// Round-trip time from RTCP (our sender report echoed back), when the peer sends reports.
    pub rtt_ms: Option<f64>,
    /// The loss the peer last reported on what we send, 0..=1 (RTCP).
    pub remote_loss_fraction: Option<f64>,
    /// Audio removed or added by time stretching, as the jitter buffer followed the link.
    pub stretched_ms: f64,
    /// ITU-T G.107 E-model estimate of the listener's mean opinion score, 1 to 4.5.
    pub mos: f64,
    /// Mean time from the capture callback to the packet sent, on a microphone.
    pub capture_to_packet_ms: Option<f64>,
    /// Mean time from the jitter buffer's playout to the playback callback, on a speaker.
    pub packet_to_speaker_ms: Option<f64>,
    /// The media ran over SRTP.
    pub encrypted: bool,
    /// Packets dropped because they failed SRTP authentication or were replays.
    #[cfg_attr(feature = "ipc", ts(type = "number"))]
    pub packets_rejected: u64,
}

#[derive(Debug)]
pub struct ReceiveStats {
    clock_rate: u32,
    seq: SeqExtender,
    first: Option<SeqNo>,
    highest: Option<SeqNo>,
    received: u64,
    /// Last (arrival in RTP units, RTP timestamp) for the jitter estimate.
    last_transit: Option<i64>,
    origin: Option<Instant>,
    /// Jitter estimate in RTP timestamp units, scaled by 16 as A.8 does to keep precision.
    jitter_x16: i64,
    /// The sender's SSRC, as its latest packet gave it.
    ssrc: Option<u32>,
}

impl ReceiveStats {
    pub fn new(clock_rate: u32) -> Self {
        Self {
            clock_rate,
            seq: SeqExtender::default(),
            first: None,
            highest: None,
            received: 0,
            last_transit: None,
            origin: None,
            jitter_x16: 0,
            ssrc: None,
        }
    }

    pub fn on_packet(&mut self, arrival: Instant, ssrc: u32, seq: u16, rtp_timestamp: u32) {
        self.ssrc = Some(ssrc);
        let seq = self.seq.extend(seq);
        self.received += 1;
        self.first = Some(self.first.map_or(seq, |f| f.min(seq)));
        self.highest = Some(self.highest.map_or(seq, |h| h.max(seq)));

        let origin = *self.origin.get_or_insert(arrival);
        let arrival_units =
            arrival.saturating_duration_since(origin).as_secs_f64() * f64::from(self.clock_rate);
        let transit = arrival_units as i64 - i64::from(rtp_timestamp);
        if let Some(last) = self.last_transit {
            // The RTP timestamp wraps; a difference larger than half the range is a wrap.
            let d = i64::from((transit - last) as i32).abs();
            self.jitter_x16 += d - ((self.jitter_x16 + 8) >> 4);
        }
        self.last_transit = Some(transit);
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn expected(&self) -> u64 {
        match (self.first, self.highest) {
            (Some(f), Some(h)) => h.0 - f.0 + 1,
            _ => 0,
        }
    }

    pub fn lost(&self) -> u64 {
        self.expected().saturating_sub(self.received)
    }

    /// The sender's SSRC, the extended highest sequence number (RFC 3550 truncates it to 32
    /// bits) and the jitter in RTP units: what an RTCP report block says about the stream.
    pub fn report(&self) -> Option<(u32, u32, u32)> {
        let highest = self.highest?.0 as u32;
        Some((self.ssrc?, highest, (self.jitter_x16 >> 4).max(0) as u32))
    }

    pub fn jitter(&self) -> Duration {
        let units = (self.jitter_x16 >> 4).max(0) as f64;
        Duration::from_secs_f64(units / f64::from(self.clock_rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_stream_has_no_loss_and_no_jitter() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(48_000);
        for i in 0..100u32 {
            s.on_packet(
                t0 + Duration::from_millis(20 * u64::from(i)),
                7,
                i as u16,
                i * 960,
            );
        }
        assert_eq!((s.received(), s.lost()), (100, 0));
        assert!(s.jitter() < Duration::from_micros(100), "{:?}", s.jitter());
    }

    #[test]
    fn gaps_count_as_loss_and_alternating_delay_shows_as_jitter() {
        let t0 = Instant::now();
        let mut s = ReceiveStats::new(48_000);
        for i in 0..200u32 {
            if i % 10 == 5 {
                continue;
            }
            let wobble = if i % 2 == 0 { 0 } else { 10 };
            let at = t0 + Duration::from_millis(20 * u64::from(i) + wobble);
            s.on_packet(
                at,
                7,
                (i as u16).wrapping_add(65500),
                i.wrapping_mul(960).wrapping_add(u32::MAX - 5000),
            );
        }
        assert_eq!(s.lost(), 20);
        let j = s.jitter().as_secs_f64() * 1000.0;
        assert!((8.0..=11.0).contains(&j), "jitter {j} ms");
    }
}
