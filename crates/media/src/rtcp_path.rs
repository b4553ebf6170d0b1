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
use crate::srtp::{self, SrtpContexts, SrtpKeys};

pub struct RtcpPath {
    socket: UdpSocket,
    arrivals: Option<Receiver<(Instant, Vec<u8>)>>,
    stop_reader: Arc<AtomicBool>,
    target: SocketAddr,
    mux: bool,
    /// SRTCP, with contexts of its own (the RTP ones live on the media thread).
    srtp_keys: Option<SrtpKeys>,
    srtcp: Option<SrtpContexts>,
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
        let srtcp = negotiated
            .srtp
            .as_ref()
            .map(SrtpContexts::new)
            .transpose()?;
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
            srtp_keys: negotiated.srtp.clone(),
            srtcp,
            state: Rtcp::new(ssrc, &cname, Instant::now(), SystemTime::now(), seed),
            malformed: 0,
            rejected: 0,
        })
    }

    pub fn renegotiated(&mut self, negotiated: &Negotiated) {
        self.target = negotiated.rtcp;
        self.mux = negotiated.rtcp_mux;
        if negotiated.srtp != self.srtp_keys {
            match negotiated.srtp.as_ref().map(SrtpContexts::new).transpose() {
                Ok(srtcp) => {
                    self.srtcp = srtcp;
                    self.srtp_keys = negotiated.srtp.clone();
                }
                Err(e) => tracing::warn!("new SRTCP keys refused, keeping the old ones: {e}"),
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
        let arrived: Vec<(Instant, Vec<u8>)> = match &self.arrivals {
            Some(rx) => rx.try_iter().collect(),
            None => return None,
        };
        for (at, datagram) in arrived {
            if let Some(f) = self.on_datagram(at, &datagram) {
                latest = Some(f);
            }
        }
        latest
    }

    /// A report, from either socket.
    pub fn on_datagram(&mut self, now: Instant, datagram: &[u8]) -> Option<Feedback> {
        // Not RTCP at all (a peer's NAT keepalive, say): nothing to authenticate.
        let shaped = matches!(datagram, [first, ..] if first >> 6 == 2)
            && self
                .srtcp
                .as_ref()
                .map_or(datagram.len() >= 8, |s| s.could_be_srtcp(datagram));
        if !shaped {
            self.malformed += 1;
            return None;
        }
        let datagram =
            match srtp::through(self.srtcp.as_mut(), datagram, SrtpContexts::unprotect_rtcp) {
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
        let Some(report) = self.state.poll(now, sent, reception) else {
            return;
        };
        let report = match srtp::through(self.srtcp.as_mut(), &report, SrtpContexts::protect_rtcp) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("srtcp: {e}");
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

fn spawn_reader(
    socket: &UdpSocket,
    stop: Arc<AtomicBool>,
) -> std::io::Result<Receiver<(Instant, Vec<u8>)>> {
    let socket = socket.try_clone()?;
    socket.set_read_timeout(Some(READER_POLL))?;
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("rtcp".into())
        .spawn(move || {
            let mut buf = [0u8; 1500];
            while !stop.load(Ordering::Relaxed) {
                match socket.recv_from(&mut buf) {
                    Ok((n, _)) => {
                        let datagram = buf.get(..n).unwrap_or_default().to_vec();
                        if tx.send((Instant::now(), datagram)).is_err() {
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
