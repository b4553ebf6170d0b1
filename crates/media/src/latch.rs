//! Symmetric RTP (RFC 4961) with a guard: media is sent to where the peer's media really comes
//! from, which behind a NAT is not where its SDP says. Anyone can send a datagram to our port,
//! though, so a new source is believed only after a run of in-sequence packets from one SSRC
//! (the "strict RTP" learning of Asterisk and FreeSWITCH), and only once the source we have
//! has gone quiet; until then its packets are not played.
//! Sans-IO: packets' sources are inputs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// In-sequence packets a new source must send before media moves to it.
const LEARN: u32 = 4;
/// And the source we have must have gone quiet this long: a peer that is still sending is
/// not replaced by whoever else sends a run of packets in between.
const QUIET: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// From the source we play and send to.
    Accept,
    /// From a source being learned, or a stranger: not played.
    Ignore,
    /// The source is now this one: play it, and send there from now on.
    Moved(SocketAddr),
}

#[derive(Debug, Clone)]
pub struct Latch {
    current: SocketAddr,
    /// When a packet from `current` was last seen (never: the SDP address stands unproven).
    last_heard: Option<Instant>,
    /// A source being learned: its address, SSRC, last sequence number, packets in a row.
    candidate: Option<(SocketAddr, u32, u16, u32)>,
}

impl Latch {
    /// Starts with the address the peer's SDP gave.
    pub fn new(signalled: SocketAddr) -> Self {
        Self {
            current: signalled,
            last_heard: None,
            candidate: None,
        }
    }

    /// Where media goes.
    pub fn target(&self) -> SocketAddr {
        self.current
    }

    /// A new offer/answer named a new address: start again from it.
    pub fn reset(&mut self, signalled: SocketAddr) {
        if signalled != self.current {
            *self = Self::new(signalled);
        }
    }

    /// An RTP packet of our stream's payload type arrived from `from`.
    pub fn on_packet(&mut self, now: Instant, from: SocketAddr, ssrc: u32, seq: u16) -> Verdict {
        if from == self.current {
            self.last_heard = Some(now);
            self.candidate = None;
            return Verdict::Accept;
        }
        let run = match self.candidate {
            Some((addr, s, last, run))
                if addr == from && s == ssrc && seq == last.wrapping_add(1) =>
            {
                run + 1
            }
            _ => 1,
        };
        let current_quiet = self
            .last_heard
            .is_none_or(|at| now.saturating_duration_since(at) >= QUIET);
        if run >= LEARN && current_quiet {
            self.current = from;
            self.last_heard = Some(now);
            self.candidate = None;
            return Verdict::Moved(from);
        }
        self.candidate = Some((from, ssrc, seq, run));
        Verdict::Ignore
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("addr")
    }

    #[test]
    fn media_from_the_signalled_address_is_played_at_once() {
        let mut l = Latch::new(addr("127.0.0.1:4000"));
        assert_eq!(
            l.on_packet(Instant::now(), addr("127.0.0.1:4000"), 1, 10),
            Verdict::Accept
        );
    }

    #[test]
    fn a_peer_behind_nat_is_learned_after_a_run_and_then_sent_to() {
        let mut l = Latch::new(addr("127.0.0.1:4000"));
        let nat = addr("127.0.0.5:61000");
        let t = Instant::now();
        for seq in 100..103 {
            assert_eq!(l.on_packet(t, nat, 9, seq), Verdict::Ignore);
        }
        assert_eq!(l.on_packet(t, nat, 9, 103), Verdict::Moved(nat));
        assert_eq!(l.target(), nat);
        assert_eq!(l.on_packet(t, nat, 9, 104), Verdict::Accept);
    }

    #[test]
    fn a_stranger_spraying_packets_cannot_take_the_call_over() {
        let mut l = Latch::new(addr("127.0.0.1:4000"));
        let peer = addr("127.0.0.1:4000");
        let stranger = addr("127.0.0.66:5000");
        let t0 = Instant::now();
        for i in 0..100u16 {
            let t = t0 + Duration::from_millis(20 * u64::from(i));
            assert_eq!(l.on_packet(t, peer, 1, i), Verdict::Accept);
            // Random sequence numbers: never learned.
            assert_eq!(
                l.on_packet(t, stranger, 2, i.wrapping_mul(7919)),
                Verdict::Ignore
            );
            // A good run squeezed in while the peer still talks: not taken either.
            for k in 0..5 {
                assert_eq!(l.on_packet(t, stranger, 3, i * 5 + k), Verdict::Ignore);
            }
        }
        assert_eq!(l.target(), peer);
        // The peer goes quiet (its address changed): a run from the new place is followed.
        let later = t0 + Duration::from_secs(3);
        let moved = addr("127.0.0.1:4010");
        for seq in 0..3 {
            assert_eq!(l.on_packet(later, moved, 1, seq), Verdict::Ignore);
        }
        assert_eq!(l.on_packet(later, moved, 1, 3), Verdict::Moved(moved));
        l.reset(addr("127.0.0.2:4002"));
        assert_eq!(l.target(), addr("127.0.0.2:4002"));
    }
}
