//! RTCP for one audio stream (RFC 3550 §6), sans-IO: reports built when due and read when they
//! arrive, with time as an input. What it is for here: the round-trip time (from the peer's
//! echo of our sender report, §6.4.1), the loss the peer sees on what we send (which switches
//! Opus FEC on), and a record of our own reception for the peer.
//!
//! Compound packets are written and read by the sans-IO `rtc-rtcp`; a malformed one is an
//! error for the caller to count, never a panic.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rtc_rtcp::goodbye::Goodbye;
use rtc_rtcp::packet::{self, Packet};
use rtc_rtcp::receiver_report::ReceiverReport;
use rtc_rtcp::reception_report::ReceptionReport;
use rtc_rtcp::sender_report::SenderReport;
use rtc_rtcp::source_description::{
    SdesType, SourceDescription, SourceDescriptionChunk, SourceDescriptionItem,
};

use crate::random::XorShift;

/// RFC 3550's minimum interval for a two-party call, before randomisation.
const INTERVAL: Duration = Duration::from_secs(5);
/// Seconds from 1900 (NTP's epoch) to 1970.
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// What we sent, for the sender info of an SR.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    pub rtp_timestamp: u32,
    pub packets: u32,
    pub octets: u32,
}

/// What we received from the peer's source, for a report block.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reception {
    pub ssrc: u32,
    /// Extended highest sequence number received.
    pub highest: u32,
    pub expected: u64,
    pub received: u64,
    /// Interarrival jitter in RTP units.
    pub jitter: u32,
}

/// What one incoming compound packet told us.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Feedback {
    /// A report block about our stream: the peer's loss of it, 0..=1.
    pub loss_reported: Option<f64>,
    /// A new round-trip measurement.
    pub rtt: Option<Duration>,
    /// The peer said goodbye.
    pub bye: bool,
}

pub struct Rtcp {
    ssrc: u32,
    cname: Bytes,
    /// NTP time (32.32) at `origin`, so that later NTP times follow the monotonic clock.
    origin: Instant,
    origin_ntp: u64,
    next_report: Instant,
    rng: XorShift,
    /// The peer's last SR: the middle 32 bits of its NTP time, and when it arrived.
    last_sr: Option<(u32, Instant)>,
    /// Expected and received at the last report, for the fraction lost since (RFC 3550 A.3).
    prior: (u64, u64),
    rtt: Option<Duration>,
    remote_loss: Option<f64>,
}

impl Rtcp {
    /// `seed` randomises the report times (RFC 3550 §6.3.1); `wall` is the wall clock at `now`.
    pub fn new(ssrc: u32, cname: &str, now: Instant, wall: SystemTime, seed: u64) -> Self {
        let since_unix = wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        let seconds = since_unix.as_secs() + NTP_UNIX_OFFSET;
        let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
        let mut rtcp = Self {
            ssrc,
            cname: Bytes::copy_from_slice(cname.as_bytes()),
            origin: now,
            origin_ntp: (seconds << 32) | fraction,
            next_report: now,
            rng: XorShift::new(seed),
            last_sr: None,
            prior: (0, 0),
            rtt: None,
            remote_loss: None,
        };
        // The first report goes out after half an interval, randomised (§6.2, §6.3.1: not at
        // once on joining, and not in step with the peer).
        rtcp.next_report = now + rtcp.randomised_interval() / 2;
        rtcp
    }

    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The loss the peer last reported on our stream, 0..=1.
    pub fn remote_loss(&self) -> Option<f64> {
        self.remote_loss
    }

    fn ntp(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.origin);
        let units = (elapsed.as_nanos() << 32) / 1_000_000_000;
        self.origin_ntp.wrapping_add(units as u64)
    }

    /// The compact 16.16 form of an NTP time that LSR and round trips use.
    fn middle(ntp: u64) -> u32 {
        (ntp >> 16) as u32
    }

    /// A compound report (SR when we are sending, else RR, then SDES CNAME) if one is due.
    pub fn poll(
        &mut self,
        now: Instant,
        sent: Option<Sent>,
        reception: Option<Reception>,
    ) -> Option<Vec<u8>> {
        if now < self.next_report {
            return None;
        }
        self.next_report = now + self.randomised_interval();
        let reports: Vec<ReceptionReport> = reception
            .map(|r| self.report_block(now, r))
            .into_iter()
            .collect();
        let first: Box<dyn Packet> = match sent {
            Some(s) => Box::new(SenderReport {
                ssrc: self.ssrc,
                ntp_time: self.ntp(now),
                rtp_time: s.rtp_timestamp,
                packet_count: s.packets,
                octet_count: s.octets,
                reports,
                profile_extensions: Bytes::new(),
            }),
            None => Box::new(ReceiverReport {
                ssrc: self.ssrc,
                reports,
                profile_extensions: Bytes::new(),
            }),
        };
        let sdes: Box<dyn Packet> = Box::new(SourceDescription {
            chunks: vec![SourceDescriptionChunk {
                source: self.ssrc,
                items: vec![SourceDescriptionItem {
                    sdes_type: SdesType::SdesCname,
                    text: self.cname.clone(),
                }],
            }],
        });
        match packet::marshal(&[first, sdes]) {
            Ok(bytes) => Some(bytes.to_vec()),
            Err(e) => {
                tracing::debug!("rtcp marshal: {e}");
                None
            }
        }
    }

    fn report_block(&mut self, now: Instant, r: Reception) -> ReceptionReport {
        let (expected_prior, received_prior) = self.prior;
        self.prior = (r.expected, r.received);
        let expected = r.expected.saturating_sub(expected_prior);
        let received = r.received.saturating_sub(received_prior);
        let lost = expected.saturating_sub(received);
        let fraction_lost = (lost << 8)
            .checked_div(expected)
            .map_or(0, |f| f.min(255) as u8);
        let cumulative = r.expected.saturating_sub(r.received).min(0x7f_ffff) as u32;
        let (lsr, dlsr) = match self.last_sr {
            Some((lsr, at)) => {
                let delay = now.saturating_duration_since(at);
                (lsr, ((delay.as_micros() << 16) / 1_000_000) as u32)
            }
            None => (0, 0),
        };
        ReceptionReport {
            ssrc: r.ssrc,
            fraction_lost,
            total_lost: cumulative,
            last_sequence_number: r.highest,
            jitter: r.jitter,
            last_sender_report: lsr,
            delay: dlsr,
        }
    }

    /// Reads a compound packet from the peer.
    pub fn on_packet(&mut self, now: Instant, datagram: &[u8]) -> Result<Feedback, String> {
        let mut buf = datagram;
        let packets = packet::unmarshal(&mut buf).map_err(|e| e.to_string())?;
        let mut feedback = Feedback::default();
        for p in &packets {
            let any = p.as_any();
            let blocks = if let Some(sr) = any.downcast_ref::<SenderReport>() {
                self.last_sr = Some((Self::middle(sr.ntp_time), now));
                &sr.reports
            } else if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
                &rr.reports
            } else {
                if any.downcast_ref::<Goodbye>().is_some() {
                    feedback.bye = true;
                }
                continue;
            };
            let ours = self.ssrc;
            for block in blocks.iter().filter(|b| b.ssrc == ours) {
                self.read_block(now, block, &mut feedback);
            }
        }
        Ok(feedback)
    }

    fn read_block(&mut self, now: Instant, block: &ReceptionReport, feedback: &mut Feedback) {
        let loss = f64::from(block.fraction_lost) / 256.0;
        self.remote_loss = Some(loss);
        feedback.loss_reported = Some(loss);
        if block.last_sender_report == 0 {
            return;
        }
        // RTT = arrival - LSR - DLSR, all in 1/65536 s (§6.4.1). A peer's clock cannot make
        // this negative; a broken or hostile one can, and is ignored.
        let arrival = Self::middle(self.ntp(now));
        let rtt = arrival
            .wrapping_sub(block.last_sender_report)
            .wrapping_sub(block.delay);
        if rtt < 0x8000_0000 {
            let rtt = Duration::from_micros((u64::from(rtt) * 1_000_000) >> 16);
            if rtt < Duration::from_secs(10) {
                self.rtt = Some(rtt);
                feedback.rtt = Some(rtt);
            }
        }
    }

    /// 0.5 to 1.5 times the interval (RFC 3550 §6.3.1), so that reports do not synchronise.
    fn randomised_interval(&mut self) -> Duration {
        INTERVAL.mul_f64(0.5 + self.rng.unit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(now: Instant) -> (Rtcp, Rtcp) {
        let wall = SystemTime::now();
        (
            Rtcp::new(0xaaaa, "a@switchboard", now, wall, 1),
            Rtcp::new(0xbbbb, "b@peer", now, wall + Duration::from_secs(3600), 2),
        )
    }

    fn reception(ssrc: u32, expected: u64, received: u64) -> Reception {
        Reception {
            ssrc,
            highest: expected as u32,
            expected,
            received,
            jitter: 48,
        }
    }

    #[test]
    fn a_sender_report_echoed_back_gives_the_round_trip_whatever_the_clocks_say() {
        let t0 = Instant::now();
        let (mut a, mut b) = pair(t0);
        // a's SR reaches b 30 ms later; b answers 200 ms after that; it takes 30 ms back.
        let t = t0 + INTERVAL * 2;
        let sr = a
            .poll(t, Some(Sent::default()), Some(reception(0xbbbb, 0, 0)))
            .expect("due");
        b.on_packet(t + Duration::from_millis(30), &sr)
            .expect("parses");
        b.next_report = t;
        let rr = b
            .poll(
                t + Duration::from_millis(230),
                None,
                Some(reception(0xaaaa, 100, 95)),
            )
            .expect("due");
        let fb = a
            .on_packet(t + Duration::from_millis(260), &rr)
            .expect("parses");
        let rtt = fb.rtt.expect("measured");
        assert!(
            rtt.abs_diff(Duration::from_millis(60)) < Duration::from_millis(1),
            "{rtt:?}"
        );
        // 5 of 100 lost since the last report: fraction 12/256.
        let loss = fb.loss_reported.expect("reported");
        assert!((loss - 0.047).abs() < 0.001, "{loss}");
        assert_eq!(a.rtt(), Some(rtt));
    }

    #[test]
    fn reports_come_every_few_seconds_and_garbage_is_an_error() {
        let t0 = Instant::now();
        let (mut a, _) = pair(t0);
        assert!(a.poll(t0, None, None).is_none(), "not at once on joining");
        let mut sent_at = Vec::new();
        let mut t = t0;
        while t < t0 + Duration::from_secs(120) {
            if a.poll(t, None, None).is_some() {
                sent_at.push(t);
            }
            t += Duration::from_millis(10);
        }
        // 2.5 to 7.5 s apart: between 16 and 48 reports in two minutes.
        assert!((16..=48).contains(&sent_at.len()), "{}", sent_at.len());
        for bad in [&b""[..], &[0x80, 200, 0, 50][..], b"not rtcp at all"] {
            assert!(a.on_packet(t, bad).is_err());
        }
    }

    #[test]
    fn a_report_about_another_source_or_without_lsr_gives_no_round_trip() {
        let t0 = Instant::now();
        let (mut a, mut b) = pair(t0);
        b.next_report = t0;
        let rr = b
            .poll(t0, None, Some(reception(0xaaaa, 10, 10)))
            .expect("due");
        let fb = a.on_packet(t0, &rr).expect("parses");
        assert_eq!(fb.rtt, None, "no SR was ever echoed");
        assert_eq!(fb.loss_reported, Some(0.0));
        let other = b
            .poll(t0 + INTERVAL * 2, None, Some(reception(0x1234, 10, 5)))
            .expect("due");
        assert_eq!(a.on_packet(t0, &other).expect("parses").loss_reported, None);
    }
}
