//! Where a call's RTCP goes and comes from: its own socket (the RTP port plus one), or the RTP
//! socket when both sides multiplex (RFC 5761). The thin I/O around the sans-IO [`Rtcp`].
//!
//! The RTCP socket is read by a small thread of its own that stamps each report as it lands:
//! a round trip is only as good as the arrival times, and the media thread looks at this
//! socket only once a tick.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How often the reader thread looks at its stop flag.
const READER_POLL: Duration = Duration::from_millis(250);

use crate::error::MediaError;
use crate::rtcp::{Feedback, Reception, Rtcp, Sent};
use crate::sdp::Negotiated;
use crate::srtp::protection::{HandshakeAt, Protection};
use crate::srtp::{dtls, SrtpContexts, SrtpKeys};

pub struct RtcpPath {
    socket: UdpSocket,
    arrivals: Option<Receiver<Arrival>>,
    stop_reader: Arc<AtomicBool>,
    target: SocketAddr,
    mux: bool,
    /// SRTCP, with contexts of its own (the RTP ones live on the media thread), and a DTLS
    /// handshake of its own when RTCP has its own port.
    protection: Protection,
    pub state: Rtcp,
    /// Malformed reports received (counted, never fatal).
    pub malformed: u64,
    /// Reports that failed SRTCP authentication or were replays.
    pub rejected: u64,
}

impl RtcpPath {
    pub fn new(
        socket: UdpSocket,
        negotiated: &Negotiated,
        ssrc: u32,
        seed: u64,
    ) -> Result<Self, MediaError> {
        let protection = Protection::new(
            negotiated.srtp.as_ref(),
            negotiated.dtls.as_ref(),
            handshake_at(&socket, negotiated),
            Instant::now(),
        )?;
        let stop_reader = Arc::new(AtomicBool::new(false));
        let arrivals = match spawn_reader(&socket, stop_reader.clone()) {
            Ok(rx) => Some(rx),
            Err(e) => {
                tracing::warn!("rtcp reader: {e}; reports from the peer are not read");
                None
            }
        };
        let cname = format!("{ssrc:08x}@switchboard");
        Ok(Self {
            socket,
            arrivals,
            stop_reader,
            target: negotiated.rtcp,
            mux: negotiated.rtcp_mux,
            protection,
            state: Rtcp::new(ssrc, &cname, Instant::now(), SystemTime::now(), seed),
            malformed: 0,
            rejected: 0,
        })
    }

    pub fn renegotiated(&mut self, negotiated: &Negotiated) {
        self.target = negotiated.rtcp;
        self.mux = negotiated.rtcp_mux;
        self.protection.renegotiated(
            negotiated.srtp.as_ref(),
            negotiated.dtls.as_ref(),
            handshake_at(&self.socket, negotiated),
            Instant::now(),
        );
    }

    /// Keys from the RTP path's DTLS handshake, when RTCP is multiplexed with RTP.
    pub fn install(&mut self, keys: &SrtpKeys) {
        self.protection.install(keys);
    }

    /// Drives this port's own DTLS handshake; says why, once, when it has failed.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<String> {
        let failed = self.protection.handle_timeout(now);
        self.send_dtls();
        failed
    }

    fn send_dtls(&mut self) {
        while let Some((to, record)) = self.protection.poll_transmit() {
            if let Err(e) = self.socket.send_to(&record, to) {
                tracing::trace!("dtls send: {e}");
            }
        }
    }

    /// Multiplexed RTCP follows the RTP latch: it goes where the peer's RTP comes from.
    pub fn rtp_moved(&mut self, to: SocketAddr) {
        if self.mux {
            self.target = to;
        }
    }

    /// Reads the reports that arrived on the RTCP socket since the last look.
    pub fn drain(&mut self) -> Option<Feedback> {
        let mut latest = None;
        let arrived: Vec<Arrival> = match &self.arrivals {
            Some(rx) => rx.try_iter().collect(),
            None => return None,
        };
        for (at, from, datagram) in arrived {
            if dtls::is_dtls(&datagram) {
                let keyed = self.protection.on_dtls(at, from, &datagram).is_some();
                self.send_dtls();
                if keyed {
                    for (at, _, early) in self.protection.take_early() {
                        latest = self.on_datagram(at, &early).or(latest);
                    }
                }
                continue;
            }
            if self.protection.hold_early(at, from, &datagram) {
                continue;
            }
            latest = self.on_datagram(at, &datagram).or(latest);
        }
        latest
    }

    /// A report, from either socket.
    pub fn on_datagram(&mut self, now: Instant, datagram: &[u8]) -> Option<Feedback> {
        // Not RTCP at all (a peer's NAT keepalive, say): nothing to authenticate.
        let shaped = matches!(datagram, [first, ..] if first >> 6 == 2)
            && self
                .protection
                .contexts()
                .map_or(datagram.len() >= 8, |s| s.could_be_srtcp(datagram));
        if !shaped {
            self.malformed += 1;
            return None;
        }
        let datagram = match self
            .protection
            .through(datagram, SrtpContexts::unprotect_rtcp)
        {
            Ok(plain) => plain,
            Err(e) => {
                self.rejected += 1;
                tracing::trace!("srtcp: {e}");
                return None;
            }
        };
        match self.state.on_packet(now, &datagram) {
            Ok(f) => Some(f),
            Err(e) => {
                self.malformed += 1;
                tracing::trace!("rtcp: {e}");
                None
            }
        }
    }

    /// Sends a report if one is due.
    pub fn send_due(
        &mut self,
        now: Instant,
        rtp_socket: &UdpSocket,
        sent: Option<Sent>,
        reception: Option<Reception>,
    ) {
        // Held back, not dropped: the first report goes as soon as the keys are in.
        if self.protection.awaiting_keys() {
            return;
        }
        let Some(report) = self.state.poll(now, sent, reception) else {
            return;
        };
        let report = match self.protection.through(&report, SrtpContexts::protect_rtcp) {
            Ok(r) => r,
            Err(e) => {
                tracing::trace!("srtcp: {e}");
                return;
            }
        };
        let socket = if self.mux { rtp_socket } else { &self.socket };
        if let Err(e) = socket.send_to(&report, self.target) {
            tracing::trace!("rtcp send: {e}");
        }
    }
}

impl Drop for RtcpPath {
    fn drop(&mut self) {
        self.stop_reader.store(true, Ordering::Relaxed);
    }
}

/// A datagram on the RTCP port: when it landed, and whence.
type Arrival = (Instant, SocketAddr, Vec<u8>);

/// Where RTCP runs a DTLS handshake of its own: only on a port of its own (RFC 5764 §4.1.1).
fn handshake_at(socket: &UdpSocket, negotiated: &Negotiated) -> Option<HandshakeAt> {
    if negotiated.rtcp_mux {
        return None;
    }
    let local = socket.local_addr().ok()?;
    Some(HandshakeAt {
        local,
        remote: negotiated.rtcp,
    })
}

fn spawn_reader(socket: &UdpSocket, stop: Arc<AtomicBool>) -> std::io::Result<Receiver<Arrival>> {
    let socket = socket.try_clone()?;
    socket.set_read_timeout(Some(READER_POLL))?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("rtcp".into())
        .spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::Relaxed) {
                match socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        let datagram = buf.get(..n).unwrap_or_default().to_vec();
                        if tx.send((Instant::now(), from, datagram)).is_err() {
                            return;
                        }
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::WouldBlock
                                | ErrorKind::TimedOut
                                | ErrorKind::ConnectionRefused
                        ) => {}
                    Err(e) => {
                        tracing::debug!("rtcp receive: {e}");
                        return;
                    }
                }
            }
        })?;
    Ok(rx)
}

/// Whether a datagram on the RTP port is RTCP (RFC 5761 §4: packet types 200 to 204 sit where
/// RTP would carry payload types 72 to 76, which no one assigns).
pub fn is_rtcp(datagram: &[u8]) -> bool {
    matches!(datagram, [first, pt, ..] if first >> 6 == 2 && (200..=204).contains(pt))
}
